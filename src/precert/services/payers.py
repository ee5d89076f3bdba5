"""Payer look-ups for people: the configured payers, one payer's rules, and its wall checklist.

Each function reads the rule book and returns plain values ready to show; the wording of a rule's
circumstances ("POS 19, 22", "only with 64612 or 64615") lives here so that the terminal and the
PDF say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from precert.domain.rules import Channel, Decision, Outcome, PayerPack, PayerRule, Turnaround
from precert.reports.checklist_pdf import (
    Checklist,
    ChecklistItem,
    ChecklistSection,
    HowToAsk,
    numbered,
    render_checklist_pdf,
)
from precert.services.catalog import get_pack
from precert.services.context import Context

__all__ = [
    "Checklist",
    "ChecklistItem",
    "ChecklistSection",
    "HowToAsk",
    "PayerDetails",
    "PayerSummary",
    "RuleSummary",
    "checklist_pdf",
    "collapse_codes",
    "describe_channel",
    "describe_reviews",
    "list_payers",
    "numbered",
    "payer_checklist",
    "show_payer",
]

_ANYWHERE = "any setting"
_ALWAYS = "always"
_REVIEWS = {
    "coverage": "coverage",
    "medical_necessity": "medical necessity",
    "both": "coverage and medical necessity",
}


@dataclass(frozen=True, slots=True)
class PayerSummary:
    id: str
    name: str
    plans: tuple[str, ...]
    version: str
    rules: int
    origin: str  # shipped with precert, or imported by this installation
    synthetic: bool


@dataclass(frozen=True, slots=True)
class RuleSummary:
    id: str
    name: str
    codes: str
    where: str
    when: str
    outcome: str
    term: str
    reviews: str


@dataclass(frozen=True)
class PayerDetails:
    pack: PayerPack
    rules: list[RuleSummary]
    not_listed: str


def list_payers(ctx: Context) -> list[PayerSummary]:
    """Every payer in force, by id: shipped packs and this installation's imports."""
    return [
        PayerSummary(p.id, p.name, p.plans, p.version, len(p.rules), p.origin, p.synthetic)
        for p in ctx.rulebook().packs
    ]


def show_payer(ctx: Context, payer_id: str) -> PayerDetails:
    """One payer's pack and every rule in it, in pack order (unknown id: InvalidInput/NotFound)."""
    pack = get_pack(ctx, payer_id.strip().lower())
    rules = [
        RuleSummary(
            id=rule.id,
            name=rule.name,
            codes="any code" if rule.all_codes else collapse_codes(rule.codes),
            where=describe_where(rule, pack),
            when=describe_when(rule),
            outcome=str(rule.outcome),
            term=rule.term if rule.outcome is not Outcome.NOT_REQUIRED else "-",
            reviews=describe_reviews(rule.reviews) if rule.outcome is Outcome.REQUIRED else "-",
        )
        for rule in pack.rules
    ]
    return PayerDetails(pack, rules, _not_listed(pack))


def payer_checklist(ctx: Context, payer_id: str) -> Checklist:
    """The one-page reference: services needing approval or notice, grouped by how to ask.

    A section is one process (the payer's term, what it reviews) asked for one way (channels,
    turnaround, documents); its rules are listed by service. Rules that ended before today are
    left off: the wall shows what is in force or coming.
    """
    pack = get_pack(ctx, payer_id.strip().lower())
    today = ctx.today()
    sections: dict[tuple[str, str, str, HowToAsk], dict[tuple[str, str], _Item]] = {}
    for rule in pack.rules:
        if rule.outcome is Outcome.NOT_REQUIRED or (
            rule.effective_through is not None and rule.effective_through < today
        ):
            continue
        key = (str(rule.outcome), rule.term, rule.reviews, _how_to_ask(rule))
        where_when = _where_when(rule, pack)
        item = sections.setdefault(key, {}).setdefault((rule.name, where_when), _Item(where_when))
        item.add(rule)
    # Approvals before notifications; within each, in the pack's own order.
    ordered = sorted(sections.items(), key=lambda kv: kv[0][0] != "required")
    return Checklist(
        payer_id=pack.id,
        payer_name=pack.name,
        version=pack.version,
        as_of=today,
        synthetic=pack.synthetic,
        source=pack.source,
        sections=tuple(
            ChecklistSection(
                title=_section_title(outcome, term, reviews),
                outcome=outcome,
                how=how,
                items=tuple(
                    ChecklistItem(name, item.codes_text(), item.where_when)
                    for (name, _), item in items.items()
                ),
            )
            for (outcome, term, reviews, how), items in ordered
        ),
        not_listed=_not_listed(pack),
        contact=tuple(describe_channel(c) for c in pack.contact),
    )


def checklist_pdf(ctx: Context, payer_id: str) -> tuple[Checklist, bytes]:
    """The checklist and its PDF rendering; the caller decides where the bytes go."""
    checklist = payer_checklist(ctx, payer_id)
    return checklist, render_checklist_pdf(checklist)


# -- wording shared by the terminal and the PDF ---------------------------------------------------


def describe_reviews(reviews: str) -> str:
    return _REVIEWS.get(reviews, reviews)


def describe_channel(channel: Channel | Mapping[str, str]) -> str:
    """'portal https://…' (with its note in parentheses), for a rule's channel or an answer's."""
    if isinstance(channel, Channel):
        kind, address, note = channel.type, channel.address, channel.note
    else:
        kind, address, note = channel["type"], channel.get("address", ""), channel.get("note", "")
    text = f"{kind} {address}".strip()
    return f"{text} ({note})" if note else text


def describe_turnaround(turnaround: Turnaround | Mapping[str, str]) -> str:
    values = turnaround.as_dict() if isinstance(turnaround, Turnaround) else turnaround
    return ", ".join(f"{kind} {value}" for kind, value in values.items())


def describe_where(rule: PayerRule, pack: PayerPack) -> str:
    """Plans (when not all of the payer's), places of service, settings and states."""
    parts: list[str] = []
    if rule.plans is not None and set(rule.plans) != set(pack.plans):
        parts.append(f"{_or(sorted(rule.plans))} plans")
    if rule.pos is not None:
        parts.append(f"POS {', '.join(sorted(rule.pos))}")
    if rule.settings is not None:
        parts.append(f"{_or(sorted(rule.settings))} setting")
    if rule.states is not None:
        parts.append(f"in {', '.join(sorted(rule.states))}")
    return "; ".join(parts) or _ANYWHERE


def describe_when(rule: PayerRule) -> str:
    """Effective dates and the conditions beyond code and place."""
    parts: list[str] = []
    start, end = rule.effective_from, rule.effective_through
    if start and end:
        parts.append(f"{start.isoformat()} to {end.isoformat()}")
    elif start:
        parts.append(f"from {start.isoformat()}")
    elif end:
        parts.append(f"through {end.isoformat()}")
    cond = rule.conditions
    if cond.with_codes:
        parts.append(f"only with {collapse_codes(cond.with_codes, word='or')}")
    if cond.diagnoses_any:
        parts.append(f"diagnoses {_or([d + '*' for d in cond.diagnoses_any])}")
    if cond.diagnoses_none:
        parts.append(f"not for diagnoses {_or([d + '*' for d in cond.diagnoses_none])}")
    if cond.units_over is not None:
        parts.append(f"beyond {cond.units_over} units or visits a year")
    if cond.min_age is not None or cond.max_age is not None:
        low = cond.min_age if cond.min_age is not None else 0
        parts.append(f"ages {low} to {cond.max_age if cond.max_age is not None else 'any'}")
    if cond.network is not None:
        parts.append(f"{cond.network}-of-network only")
    return "; ".join(parts) or _ALWAYS


_SHAPE = re.compile(r"^([A-Z]?)(\d+)([A-Z]?)$")


def collapse_codes(codes: Iterable[str], *, word: str = "") -> str:
    """'70551-70553, J0585' from the expanded codes: runs of three or more become a range."""
    shaped: dict[tuple[str, int, str], list[int]] = {}
    odd: list[str] = []
    for code in dict.fromkeys(codes):
        match = _SHAPE.match(code)
        if match is None:
            odd.append(code)
            continue
        prefix, digits, suffix = match.groups()
        shaped.setdefault((prefix, len(digits), suffix), []).append(int(digits))
    parts: list[str] = []
    for (prefix, width, suffix), numbers in sorted(shaped.items()):
        for low, high in _runs(sorted(numbers)):
            first, last = f"{prefix}{low:0{width}d}{suffix}", f"{prefix}{high:0{width}d}{suffix}"
            if high - low >= 2:
                parts.append(f"{first}-{last}")
            else:
                parts.extend([first] if low == high else [first, last])
    parts.extend(odd)
    if word and len(parts) > 1:
        return ", ".join(parts[:-1]) + f" {word} {parts[-1]}"
    return ", ".join(parts)


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" or {items[-1]}"


def _not_listed(pack: PayerPack) -> str:
    if pack.default_reason:
        # The pack schema allows only {code} and {payer} here (and {{ }} for a brace).
        return pack.default_reason.format(code="a code", payer=pack.name)
    if pack.default_decision is Decision.NOT_REQUIRED:
        return f"{pack.name} requires no approval for codes on none of these lists."
    return f"Not covered by this pack: verify with {pack.name} before the service."


def _section_title(outcome: str, term: str, reviews: str) -> str:
    name = f"{term[:1].upper()}{term[1:]}"
    if outcome == "notification":
        return f"{name}: tell the payer (notification only, no approval)"
    return f"{name}: approval required; the payer reviews {describe_reviews(reviews)}"


def _how_to_ask(rule: PayerRule) -> HowToAsk:
    return HowToAsk(
        submit=tuple(describe_channel(c) for c in rule.channels),
        turnaround=describe_turnaround(rule.turnaround),
        documents=rule.documents,
    )


def _where_when(rule: PayerRule, pack: PayerPack) -> str:
    parts = [describe_where(rule, pack), describe_when(rule)]
    said = [part for part in parts if part not in (_ANYWHERE, _ALWAYS)]
    return "; ".join(said) or f"{_ANYWHERE}, {_ALWAYS}"


class _Item:
    """Rules that read the same on paper (same name and circumstances): one line, codes merged."""

    def __init__(self, where_when: str) -> None:
        self.where_when = where_when
        self.codes: list[str] = []
        self.any_code = False

    def add(self, rule: PayerRule) -> None:
        self.codes.extend(rule.codes)
        self.any_code = self.any_code or rule.all_codes

    def codes_text(self) -> str:
        codes = collapse_codes(self.codes)
        if self.any_code:
            return f"any code, {codes}" if codes else "any code"
        return codes
