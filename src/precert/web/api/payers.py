"""GET /api/v1/payers and /api/v1/payers/{payer_id}: the configured payers and their rules."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from precert.domain.rules import PayerRule
from precert.errors import NotFound
from precert.services import payers
from precert.services.catalog import NotFoundInput
from precert.web.api.schemas import ChannelOut, ErrorOut, Turnaround
from precert.web.deps import ContextDep

router = APIRouter(tags=["payers"])


class PayerSummary(BaseModel):
    id: str
    name: str
    plans: list[str]
    version: str
    rule_count: int
    synthetic: bool = Field(description="True for demo payers whose rules are invented")
    origin: str = Field(description="shipped with precert, or imported by this installation")


class RuleOut(BaseModel):
    id: str
    name: str
    outcome: str
    term: str
    reviews: str
    codes: list[str] = Field(description="Exact codes (ranges expanded); ['*'] for every code")
    plans: list[str] | None
    pos: list[str] | None
    settings: list[str] | None
    states: list[str] | None
    effective_from: str | None
    effective_through: str | None
    conditions: dict[str, object]
    documents: list[str]
    channels: list[ChannelOut]
    turnaround: Turnaround
    source: str
    notes: str


class PayerDetail(PayerSummary):
    published: str | None
    source: str
    default_decision: str = Field(description="The answer for a code no rule covers")
    not_listed: str = Field(description="What the payer's answer is for a code on no list")
    x12_payer_ids: list[str]
    contact: list[ChannelOut]
    rules: list[RuleOut]


class PayerList(BaseModel):
    payers: list[PayerSummary]


@router.get("/payers", summary="List the configured payers")
def list_payers(ctx: ContextDep) -> PayerList:
    return PayerList(
        payers=[
            PayerSummary(
                id=p.id,
                name=p.name,
                plans=list(p.plans),
                version=p.version,
                rule_count=p.rules,
                synthetic=p.synthetic,
                origin=p.origin,
            )
            for p in payers.list_payers(ctx)
        ]
    )


@router.get(
    "/payers/{payer_id}",
    summary="One payer's configuration and rules",
    responses={404: {"model": ErrorOut, "description": "No payer with this id is configured"}},
)
def show_payer(payer_id: str, ctx: ContextDep) -> PayerDetail:
    try:
        details = payers.show_payer(ctx, payer_id)
    except NotFoundInput as exc:
        # In a path the payer is the resource itself: not found (404), not invalid input (422).
        raise NotFound(exc.message, exc.issues) from None
    pack = details.pack
    return PayerDetail(
        id=pack.id,
        name=pack.name,
        plans=list(pack.plans),
        version=pack.version,
        rule_count=len(pack.rules),
        synthetic=pack.synthetic,
        origin=pack.origin,
        published=pack.published.isoformat() if pack.published else None,
        source=pack.source,
        default_decision=str(pack.default_decision),
        not_listed=details.not_listed,
        x12_payer_ids=list(pack.x12_payer_ids),
        contact=[ChannelOut(**c.as_dict()) for c in pack.contact],
        rules=[_rule(rule) for rule in pack.rules],
    )


def _rule(rule: PayerRule) -> RuleOut:
    cond = rule.conditions
    conditions: dict[str, object] = {
        "with_codes": sorted(cond.with_codes),
        "diagnoses_any": list(cond.diagnoses_any),
        "diagnoses_none": list(cond.diagnoses_none),
        "units_over": cond.units_over,
        "min_age": cond.min_age,
        "max_age": cond.max_age,
        "network": cond.network,
    }
    return RuleOut(
        id=rule.id,
        name=rule.name,
        outcome=str(rule.outcome),
        term=rule.term,
        reviews=rule.reviews,
        codes=["*"] if rule.all_codes else list(rule.codes),
        plans=_sorted(rule.plans),
        pos=_sorted(rule.pos),
        settings=_sorted(rule.settings),
        states=_sorted(rule.states),
        effective_from=rule.effective_from.isoformat() if rule.effective_from else None,
        effective_through=rule.effective_through.isoformat() if rule.effective_through else None,
        conditions={k: v for k, v in conditions.items() if v not in (None, [])},
        documents=list(rule.documents),
        channels=[ChannelOut(**c.as_dict()) for c in rule.channels],
        turnaround=Turnaround(**rule.turnaround.as_dict()),
        source=rule.source,
        notes=rule.notes,
    )


def _sorted(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)
