"""The organization's dashboard: where the work stands and what precert saved, as aggregates.

Everything here is counted in the database (GROUP BY, not one row per request loaded), so the page
stays fast with tens of thousands of requests. Nothing here is PHI — counts, payer ids, months —
and the dashboard must stay that way; viewing it still writes an audit event.

Figures:
- counts by status;
- overdue: open requests whose next action is past (`next_action_at` < now) or that need a
  person's attention; at risk: a service within `AT_RISK_DAYS` (today included) with no approval;
- median turnaround by payer: first `submit` event to the first decision event (approved,
  partially approved or denied) of each request, in days;
- decision rates: requests now approved / partially approved / denied, out of those three;
- denials (from imported 835 remittances, services/recovery.py): the denial rate (claims denied
  of claims remitted), the authorization-related share of the denials, dollars at risk (open
  recovery items) and recovered (items done), and recovery items by cause and by payer;
- staff minutes saved, from the CAQH Index: a submission that a channel did for a person (x12,
  fhir-pas, an automated portal run, a fax packet sent from precert) saves the manual work it
  replaced — `PORTAL_MINUTES` when the payer's configured channel is a portal, else
  `MANUAL_MINUTES` (phone/fax). A submission a person recorded (phone, manual fax, their own
  portal session; `channel` "manual" or absent in the event data) saves nothing.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from precert.domain.authorizations import Status
from precert.domain.claims import FindingKind
from precert.domain.requirements import RuleBook
from precert.security.crypto import FieldCipher
from precert.services.accounts import Actor
from precert.services.audit import record
from precert.services.context import Context
from precert.store.claim_scrubs import ClaimScrubRepository, ScrubTotals
from precert.store.recovery import RecoveryRepository, RemittanceFileRecord
from precert.store.requests import AuthorizationRequestRecord, TimelineEventRecord

AT_RISK_DAYS = 7
MANUAL_MINUTES = 24  # CAQH Index: a manual prior authorization by phone or fax
PORTAL_MINUTES = 16  # CAQH Index: a prior authorization through a payer's portal
# The `channel` of a submit event's data when software did the submitting for a person.
AUTOMATED_CHANNELS = ("x12", "fhir-pas", "portal", "fax")
SUBMIT_KIND = "submit"
DECIDED = (Status.APPROVED.value, Status.PARTIALLY_APPROVED.value, Status.DENIED.value)
CLOSED = (Status.CANCELLED.value, Status.EXPIRED.value, Status.NOT_REQUIRED.value)
# A service is not at risk once it is approved (in part), needs no approval or is cancelled.
SETTLED = (
    Status.APPROVED.value,
    Status.PARTIALLY_APPROVED.value,
    Status.NOT_REQUIRED.value,
    Status.CANCELLED.value,
)
STATUS_ORDER = tuple(status.value for status in Status)
SECONDS_PER_DAY = 86_400
CLAIM_FINDINGS_DAYS = 90
# Findings that are not problems: the dashboard's finding charts leave them out.
NOT_PROBLEMS = (FindingKind.OK.value, FindingKind.NOT_REQUIRED.value)


@dataclass(frozen=True, slots=True)
class PayerTurnaround:
    payer_id: str
    payer_name: str
    decided: int
    median_days: float


@dataclass(frozen=True, slots=True)
class DecisionRates:
    approved: int
    partially_approved: int
    denied: int

    @property
    def decided(self) -> int:
        return self.approved + self.partially_approved + self.denied

    def rate(self, count: int) -> float:
        """A share of the decided requests, 0.0 to 1.0 (0.0 when nothing is decided yet)."""
        return count / self.decided if self.decided else 0.0


@dataclass(frozen=True, slots=True)
class PayerSavings:
    payer_id: str
    payer_name: str
    minutes_each: int  # PORTAL_MINUTES or MANUAL_MINUTES, from the payer's configured channel
    automated: int  # submissions a channel did for a person
    recorded: int  # submissions a person did and recorded
    minutes: int


@dataclass(frozen=True, slots=True)
class MonthSavings:
    month: str  # "2026-11"
    automated: int
    minutes: int


@dataclass(frozen=True, slots=True)
class RecoveryGroup:
    """Recovery items of one cause or one payer: how many, and their dollars by status."""

    key: str
    label: str
    items: int
    open_amount: Decimal
    recovered: Decimal


@dataclass(frozen=True, slots=True)
class DenialFigures:
    """What the organization's 835 remittances say: claims remitted and denied, and the
    recovery work the authorization denials became (amounts exact)."""

    claims: int = 0
    denied: int = 0
    authorization_related: int = 0
    at_risk: Decimal = Decimal("0")  # open items
    recovered: Decimal = Decimal("0")  # items done
    dismissed: Decimal = Decimal("0")
    by_cause: list[RecoveryGroup] = field(default_factory=list)
    by_payer: list[RecoveryGroup] = field(default_factory=list)

    @property
    def denial_rate(self) -> float:
        return self.denied / self.claims if self.claims else 0.0

    @property
    def authorization_share(self) -> float:
        return self.authorization_related / self.denied if self.denied else 0.0


@dataclass(frozen=True, slots=True)
class KindCount:
    kind: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class PayerFindings:
    """One payer's findings on claim lines that are not ok, by kind (most first)."""

    payer_id: str
    payer_name: str
    kinds: list[KindCount]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.kinds)


@dataclass(frozen=True, slots=True)
class ClaimFindings:
    """What the organization's claim scrubs of the last `days` days found (no PHI)."""

    days: int = CLAIM_FINDINGS_DAYS
    scrubs: int = 0
    lines: int = 0
    lines_with_findings: int = 0
    by_kind: list[KindCount] = field(default_factory=list)  # problems only, most first
    by_payer: list[PayerFindings] = field(default_factory=list)  # most findings first


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The organization's figures at `at` (no PHI)."""

    at: dt.datetime
    total: int
    by_status: list[tuple[str, int]]  # every status, in the status machine's order
    overdue: int
    needs_attention: int
    at_risk: int
    turnaround: list[PayerTurnaround]
    rates: DecisionRates
    savings_by_payer: list[PayerSavings]
    savings_by_month: list[MonthSavings]
    denials: DenialFigures = field(default_factory=DenialFigures)
    claim_findings: ClaimFindings = field(default_factory=ClaimFindings)

    @property
    def minutes_saved(self) -> int:
        return sum(row.minutes for row in self.savings_by_payer)

    @property
    def automated_submissions(self) -> int:
        return sum(row.automated for row in self.savings_by_payer)

    @property
    def recorded_submissions(self) -> int:
        return sum(row.recorded for row in self.savings_by_payer)


def dashboard(ctx: Context, actor: Actor) -> Dashboard:
    """The figures of the actor's organization (any role may see them: they hold no PHI)."""
    now = ctx.now()
    today = ctx.today()
    book = ctx.rulebook()
    org = actor.organization_id
    with ctx.uow() as uow:
        session = uow.session
        work = _work(session, org, now, today)
        turnaround, savings_by_payer, savings_by_month = _submissions(session, org, book)
        denials = _denials(session, org, book)
        scrubs = ClaimScrubRepository(session, FieldCipher.from_settings(ctx.settings))
        since = now - dt.timedelta(days=CLAIM_FINDINGS_DAYS)
        claim_findings = _claim_findings(scrubs.totals_since(org, since), book)
        record(
            uow,
            actor=actor.email,
            action="view",
            entity="dashboard",
            entity_id=org,
            organization_id=org,
            at=now,
        )
        uow.commit()
    counts = work.by_status
    return Dashboard(
        at=now,
        total=sum(counts.values()),
        by_status=[(status, counts.get(status, 0)) for status in STATUS_ORDER],
        overdue=work.overdue,
        needs_attention=work.needs_attention,
        at_risk=work.at_risk,
        turnaround=turnaround,
        rates=DecisionRates(
            counts.get(Status.APPROVED.value, 0),
            counts.get(Status.PARTIALLY_APPROVED.value, 0),
            counts.get(Status.DENIED.value, 0),
        ),
        savings_by_payer=savings_by_payer,
        savings_by_month=savings_by_month,
        denials=denials,
        claim_findings=claim_findings,
    )


def payer_minutes(book: RuleBook, payer_id: str) -> int:
    """The manual minutes one automated submission to this payer replaced: PORTAL_MINUTES when
    the payer's configured submission channel (the first channel of its rules) is its portal,
    else MANUAL_MINUTES (phone or fax)."""
    channel = _configured_channel(book, payer_id)
    return PORTAL_MINUTES if channel == "portal" else MANUAL_MINUTES


def _configured_channel(book: RuleBook, payer_id: str) -> str | None:
    try:
        pack = book.pack(payer_id)
    except Exception:  # noqa: BLE001 — a payer whose pack was removed keeps its history
        return None
    # The rules' channels are where requests go; `contact` is how to reach the payer at all.
    for rule in pack.rules:
        if rule.channels:
            return rule.channels[0].type
    return pack.contact[0].type if pack.contact else None


def _payer_name(book: RuleBook, payer_id: str) -> str:
    try:
        return book.pack(payer_id).name
    except Exception:  # noqa: BLE001 — a payer whose pack was removed keeps its id
        return payer_id


# -- the queries -----------------------------------------------------------------------------------

_R = AuthorizationRequestRecord
_T = TimelineEventRecord


@dataclass(frozen=True, slots=True)
class _Work:
    by_status: dict[str, int]
    overdue: int
    needs_attention: int
    at_risk: int


def _work(session: Session, org: str, now: dt.datetime, today: dt.date) -> _Work:
    """Counts by status, overdue (of which flagged) and at risk: one pass over the requests."""
    flagged = _R.needs_attention.is_not(None)
    open_ = _R.status.not_in(CLOSED)
    overdue = and_(open_, or_(flagged, _R.next_action_at < now))
    # Services from today to AT_RISK_DAYS - 1 days ahead whose request has no approval.
    horizon = today + dt.timedelta(days=AT_RISK_DAYS - 1)
    at_risk = and_(_R.service_date >= today, _R.service_date <= horizon, _R.status.not_in(SETTLED))
    query = (
        select(
            _R.status,
            func.count(),
            _count_if(overdue),
            _count_if(and_(overdue, flagged)),
            _count_if(at_risk),
        )
        .where(_R.organization_id == org)
        .group_by(_R.status)
    )
    rows = session.execute(query).all()
    return _Work(
        by_status={str(row[0]): int(row[1]) for row in rows},
        overdue=sum(int(row[2]) for row in rows),
        needs_attention=sum(int(row[3]) for row in rows),
        at_risk=sum(int(row[4]) for row in rows),
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class _Group:
    """How many requests of one payer were submitted in one month, by a channel or by a person."""

    payer_id: str
    month: str
    automated: bool
    requests: int


def _submissions(
    session: Session, org: str, book: RuleBook
) -> tuple[list[PayerTurnaround], list[PayerSavings], list[MonthSavings]]:
    """Turnaround and savings from one pass over the submit and decision events.

    A request is submitted once (`submitted` never goes back to `ready`), so one row per request
    carries its submission (time, channel) and its first decision.
    """
    channel = _T.data["channel"].as_string()
    per_request = (
        select(
            _R.payer_id.label("payer_id"),
            func.min(case((_T.kind == SUBMIT_KIND, _T.at))).label("sent"),
            func.max(case((_T.kind == SUBMIT_KIND, channel))).label("channel"),
            func.min(case((_T.to_status.in_(DECIDED), _T.at))).label("decided"),
        )
        .join(_T, _T.request_id == _R.id)
        .where(_R.organization_id == org, or_(_T.kind == SUBMIT_KIND, _T.to_status.in_(DECIDED)))
        .group_by(_R.id, _R.payer_id)
        .cte("per_request")
    )
    groups, medians = _groups(session, per_request)
    return _turnaround(medians, book), *_savings(groups, book)


def _groups(
    session: Session, per_request: Any
) -> tuple[list[_Group], dict[str, tuple[int, float]]]:
    """One statement over the per-request rows (computed once): the groups for the savings, then
    the turnaround: each payer's median on PostgreSQL (percentile_cont), the seconds of each
    decided request on SQLite (which has no median aggregate; Python takes it)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    sent, decided = per_request.c.sent, per_request.c.decided
    automated = func.coalesce(per_request.c.channel.in_(AUTOMATED_CHANNELS), False)
    month: ColumnElement[Any]
    seconds: ColumnElement[Any]
    if postgres:
        month = func.to_char(func.timezone("UTC", sent), "YYYY-MM")
        seconds = func.extract("epoch", decided - sent)
    else:  # SQLite keeps UTC timestamps as ISO text
        month = func.strftime("%Y-%m", sent)
        seconds = (func.julianday(decided) - func.julianday(sent)) * SECONDS_PER_DAY
    groups = (
        select(
            literal("g").label("part"),
            per_request.c.payer_id,
            month.label("month"),
            automated.label("automated"),
            func.count().label("n"),
            cast(null(), Float).label("seconds"),
        )
        .where(sent.is_not(None))
        .group_by(per_request.c.payer_id, month, automated)
    )
    complete = and_(sent.is_not(None), decided.is_not(None), decided >= sent)
    blanks = (cast(null(), String), cast(null(), Boolean))
    spans = (
        select(
            literal("m"),
            per_request.c.payer_id,
            *blanks,
            func.count(),
            func.percentile_cont(0.5).within_group(seconds),
        )
        .where(complete)
        .group_by(per_request.c.payer_id)
        if postgres
        else select(literal("d"), per_request.c.payer_id, *blanks, literal(1), seconds).where(
            complete
        )
    )
    found: list[_Group] = []
    medians: dict[str, tuple[int, float]] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    for part, payer_id, when, by_channel, n, value in session.execute(union_all(groups, spans)):
        if part == "g":
            found.append(_Group(str(payer_id), str(when), bool(by_channel), int(n)))
        elif part == "m":
            medians[str(payer_id)] = (int(n), float(value))
        else:
            durations[str(payer_id)].append(float(value))
    for payer_id, values in durations.items():
        medians[payer_id] = (len(values), statistics.median(values))
    return found, medians


def _turnaround(medians: dict[str, tuple[int, float]], book: RuleBook) -> list[PayerTurnaround]:
    return sorted(
        (
            PayerTurnaround(p, _payer_name(book, p), n, round(m / SECONDS_PER_DAY, 2))
            for p, (n, m) in medians.items()
        ),
        key=lambda row: (row.payer_name.casefold(), row.payer_id),
    )


def _savings(groups: list[_Group], book: RuleBook) -> tuple[list[PayerSavings], list[MonthSavings]]:
    payers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for group in groups:
        if group.automated:
            payers[group.payer_id][0] += group.requests
            months[group.month][0] += group.requests
            months[group.month][1] += group.requests * payer_minutes(book, group.payer_id)
        else:
            payers[group.payer_id][1] += group.requests
            months[group.month]  # a month with only recorded submissions still shows, at 0
    by_payer = sorted(
        (
            PayerSavings(
                payer_id,
                _payer_name(book, payer_id),
                payer_minutes(book, payer_id),
                automated,
                recorded,
                automated * payer_minutes(book, payer_id),
            )
            for payer_id, (automated, recorded) in payers.items()
        ),
        key=lambda row: (-row.minutes, row.payer_name.casefold()),
    )
    by_month = [MonthSavings(m, n, minutes) for m, (n, minutes) in sorted(months.items())]
    return by_payer, by_month


# -- denials and recovery --------------------------------------------------------------------------

CAUSE_LABELS = {
    "authorization_absent": "No authorization",
    "authorization_exceeded": "Units exceeded",
    "authorization_denied": "Authorization denied",
    "authorization_mismatch": "Authorization mismatch",
}


def _denials(session: Session, org: str, book: RuleBook) -> DenialFigures:
    """Remitted and denied claims summed in the database; the recovery items' exact amounts
    (decimal strings) summed here, one narrow row per item."""
    f = RemittanceFileRecord
    claims, denied, related = session.execute(
        select(
            func.coalesce(func.sum(f.claims), 0),
            func.coalesce(func.sum(f.denied), 0),
            func.coalesce(func.sum(f.authorization_related), 0),
        ).where(f.organization_id == org)
    ).one()
    rows = RecoveryRepository(session).amounts(org)
    totals = {"open": Decimal("0"), "done": Decimal("0"), "dismissed": Decimal("0")}
    for status, _, _, _, amount in rows:
        totals[status] = totals.get(status, Decimal("0")) + amount
    return DenialFigures(
        claims=int(claims),
        denied=int(denied),
        authorization_related=int(related),
        at_risk=totals["open"],
        recovered=totals["done"],
        dismissed=totals["dismissed"],
        by_cause=_recovery_groups(rows, 2, lambda key: CAUSE_LABELS.get(key, key)),
        by_payer=_recovery_groups(rows, 3, lambda key: _payer_name(book, key)),
    )


def _recovery_groups(
    rows: list[tuple[str, str, str, str, Decimal]], at: int, label: Callable[[str], str]
) -> list[RecoveryGroup]:
    counts: dict[str, int] = defaultdict(int)
    open_amounts: dict[str, Decimal] = defaultdict(Decimal)
    recovered: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        key = str(row[at])
        counts[key] += 1
        if row[0] == "open":
            open_amounts[key] += row[4]
        elif row[0] == "done":
            recovered[key] += row[4]
    return [
        RecoveryGroup(key, label(key), counts[key], open_amounts[key], recovered[key])
        for key in sorted(counts, key=lambda k: (-counts[k], k))
    ]


# -- claim findings --------------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    """A finding kind as people read it ("units_exceeded" -> "Units exceeded")."""
    return kind.replace("_", " ").capitalize()


def _claim_findings(totals: ScrubTotals, book: RuleBook) -> ClaimFindings:
    return ClaimFindings(
        days=CLAIM_FINDINGS_DAYS,
        scrubs=totals.scrubs,
        lines=totals.lines,
        lines_with_findings=totals.lines_with_findings,
        by_kind=_kind_counts(totals.findings.by_kind),
        by_payer=sorted(
            (
                PayerFindings(payer_id, _payer_name(book, payer_id), _kind_counts(kinds))
                for payer_id, kinds in totals.findings.by_payer.items()
            ),
            key=lambda row: (-row.total, row.payer_name.casefold(), row.payer_id),
        ),
    )


def _kind_counts(counts: dict[str, int]) -> list[KindCount]:
    """The problem kinds among `counts`, most first (then by kind, so the order is stable)."""
    problems = [(k, n) for k, n in counts.items() if k not in NOT_PROBLEMS and n > 0]
    return [
        KindCount(k, kind_label(k), n) for k, n in sorted(problems, key=lambda r: (-r[1], r[0]))
    ]
