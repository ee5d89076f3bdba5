"""X12 271 eligibility response (005010X279A1) -> CoverageCheck values (domain/eligibility.py).

Loops read: 2000A/2100A information source (NM1*PR, AAA), 2000B/2100B receiver (AAA), 2000C/2100C
subscriber and 2000D/2100D dependent (TRN, NM1*IL / NM1*03, DTP plan dates, AAA, MSG), 2110C/D
benefits (EB with its DTP, MSG, AAA), and 2120C/D related entities between LS and LE (skipped:
an NM1*PR there is another payer, not this one).

One CoverageCheck per member loop: the subscriber, or the dependent when a 2000D follows (the
dependent is then the patient; a subscriber loop with no benefits of its own is not reported
separately, and the dependent inherits its member id). AAA rejects become `Reject`s with located
issues, both on the check of their loop and on `Reading271.rejects`; a source- or receiver-level
reject (2100A/B) has no member loop at all, and `coverage_check()` then returns a check with
`active=None` that carries it.

Envelope problems (wrong counts, SE02 that differs from ST02...) are refused by default:
InvalidInput with every located issue. With `lenient=True` the content is still read and the
problems are kept on `Reading271.issues`, because a payer's answer with a miscounted trailer
still says what coverage the member has; the caller decides whether to trust it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from precert.channels.x12.envelope import TransactionSet, X12Document, read
from precert.channels.x12.errors import issue, locate
from precert.channels.x12.tokens import Segment
from precert.domain.eligibility import (
    ACTIVE_CODES,
    INACTIVE_CODES,
    AuthorizationFlag,
    Benefit,
    CoverageCheck,
    Reject,
    in_network_from_eb12,
)
from precert.errors import InvalidInput, Issue

# AAA03 reject reasons (005010X279A1), in our words.
REJECT_REASONS: dict[str, str] = {
    "04": "the authorized quantity is exceeded",
    "15": "required application data is missing",
    "41": "authorization or access restrictions",
    "42": "the payer cannot respond at this time",
    "43": "the provider identification is invalid or missing",
    "44": "the provider name is invalid or missing",
    "45": "the provider specialty is invalid or missing",
    "47": "the provider state is invalid or missing",
    "48": "the referring provider identification is invalid or missing",
    "49": "the provider is not the primary care physician",
    "50": "the provider is not eligible for inquiries",
    "51": "the provider is not on file",
    "52": "the service dates are not within the provider's plan enrollment",
    "53": "the inquired benefit is inconsistent with the provider type",
    "54": "the service type qualifier is inappropriate",
    "55": "the service type is inappropriate",
    "56": "the date is inappropriate",
    "57": "the date of service is invalid or missing",
    "58": "the date of birth is invalid or missing",
    "60": "the date of birth follows the date of service",
    "61": "the date of death precedes the date of service",
    "62": "the date of service is not within the allowable inquiry period",
    "63": "the date of service is in the future",
    "64": "the patient id is invalid or missing",
    "65": "the patient name is invalid or missing",
    "66": "the patient gender is invalid or missing",
    "67": "the patient was not found",
    "68": "the patient id is a duplicate",
    "71": "the birth date does not match the payer's records",
    "72": "the member id is invalid or missing",
    "73": "the subscriber name is invalid or missing",
    "74": "the subscriber gender is invalid or missing",
    "75": "the subscriber was not found",
    "76": "the subscriber id is a duplicate",
    "77": "the subscriber was found but the patient was not",
    "78": "the subscriber is not in the group or plan identified",
    "79": "the participant identification is invalid",
    "80": "no response was received; the transaction was terminated",
    "97": "the provider address is invalid or missing",
    "T4": "the payer name or identifier is missing",
}
# AAA04 follow-up actions, in our words.
FOLLOW_UPS: dict[str, str] = {
    "C": "correct the inquiry and resubmit",
    "N": "do not resubmit",
    "P": "resubmit the original inquiry",
    "R": "resubmission is allowed",
    "S": "do not resubmit; the payer has asked a third party",
    "W": "wait 30 days and resubmit",
    "X": "wait 10 days and resubmit",
    "Y": "do not resubmit; the payer will send the response",
}
_LOOPS = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}
_DATE_FIELDS = {
    "346": "plan_begin",
    "347": "plan_end",
    "356": "eligibility_begin",
    "357": "eligibility_end",
}


@dataclass(frozen=True, slots=True)
class Reading271:
    """Everything read from one 271 file."""

    checks: tuple[CoverageCheck, ...]
    rejects: tuple[Reject, ...] = ()  # every AAA of the file, source and receiver levels too
    issues: tuple[Issue, ...] = ()  # envelope problems, kept when read leniently

    def coverage_check(self) -> CoverageCheck:
        """The one member's check (the first when there are several); when the payer answered
        with no member loop (a 2100A/B reject), a check with `active=None` carrying the rejects."""
        if self.checks:
            return self.checks[0]
        return CoverageCheck(
            member="subscriber",
            member_id="",
            payer_id="",
            payer_name="",
            active=None,
            rejects=self.rejects,
        )


def read_271(text: str, *, lenient: bool = False) -> Reading271:
    """The coverage checks of every 271 in `text`; see the module docstring for `lenient`."""
    return read_271_document(read(text), lenient=lenient)


def read_271_document(document: X12Document, *, lenient: bool = False) -> Reading271:
    problems = list(document.issues)
    checks: list[CoverageCheck] = []
    rejects: list[Reject] = []
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                where = locate(interchange.position, group.position, transaction.position)
                if transaction.code != "271":
                    problems.append(
                        issue(
                            "x12.271.not_271",
                            f"This transaction set is a {transaction.code or 'nothing'}, not a "
                            "271 eligibility response.",
                            where,
                        )
                    )
                    continue
                reader = _SetReader(transaction, interchange.position, group.position)
                reader.run()
                checks.extend(reader.checks())
                rejects.extend(reader.rejects)
    if not any(True for _ in document.groups()) and not problems:
        problems.append(issue("x12.271.empty", "The file holds no transaction set.", "ISA"))
    if problems and not lenient:
        count = len(problems)
        raise InvalidInput(f"The 271 file has {count} problem{'s' if count > 1 else ''}.", problems)
    return Reading271(tuple(checks), tuple(rejects), tuple(problems))


@dataclass
class _Member:
    """A 2000C/D loop while it is read."""

    level: str
    member_id: str = ""
    payer_id: str = ""
    payer_name: str = ""
    dates: dict[str, dt.date] = field(default_factory=dict)
    benefits: list[Benefit] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    has_dependent: bool = False


class _SetReader:
    """Walks one 271 transaction set, segment by segment."""

    def __init__(self, transaction: TransactionSet, interchange: int, group: int) -> None:
        self.transaction = transaction
        self.interchange = interchange
        self.group = group
        self.level = ""
        self.payer_id = ""
        self.payer_name = ""
        self.members: list[_Member] = []
        self.member: _Member | None = None
        self.benefit: Benefit | None = None
        self.in_2120 = False
        self.rejects: list[Reject] = []

    def where(self, position: int, tag: str, element: int | None = None) -> str:
        return locate(
            self.interchange,
            self.group,
            self.transaction.position,
            segment=position,
            tag=tag,
            element=element,
        )

    def run(self) -> None:
        # segments[0] is ST: positions count from 1 at ST, as located issues do.
        for position, segment in enumerate(self.transaction.segments[1:], start=2):
            self.feed(segment, position)
        self.close_benefit()

    def feed(self, segment: Segment, position: int) -> None:
        tag = segment.tag
        if tag == "LS":
            self.in_2120 = True
            return
        if tag == "LE":
            self.in_2120 = False
            return
        if self.in_2120:
            return  # 2120 related entity (PCP, other payer): not this member's coverage
        if tag == "HL":
            self.close_benefit()
            self.level = segment.element(3)
            if self.level in ("22", "23"):
                parent = self.member
                self.member = _Member(self.level, payer_id=self.payer_id)
                self.member.payer_name = self.payer_name
                if self.level == "23" and parent is not None:
                    parent.has_dependent = True
                    self.member.member_id = parent.member_id
                self.members.append(self.member)
            else:
                self.member = None
        elif tag == "NM1":
            self.name(segment)
        elif tag == "TRN" and self.member is not None:
            self.member.traces.append(segment.element(2))
        elif tag == "EB" and self.member is not None:
            self.close_benefit()
            self.benefit = _benefit(segment, self.where(position, "EB"))
        elif tag == "DTP" and self.member is not None:
            self.date(segment)
        elif tag == "MSG" and self.member is not None:
            text = segment.element(1).strip()
            if self.benefit is not None:
                self.benefit = replace(self.benefit, messages=(*self.benefit.messages, text))
            else:
                self.member.messages.append(text)
        elif tag == "AAA":
            self.reject(segment, position)

    def name(self, segment: Segment) -> None:
        qualifier = segment.element(1)
        if qualifier == "PR" and self.level == "20":
            self.payer_name, self.payer_id = segment.element(3), segment.element(9)
        elif qualifier in ("IL", "03") and self.member is not None and segment.element(9):
            self.member.member_id = segment.element(9)

    def date(self, segment: Segment) -> None:
        assert self.member is not None
        begin, end = _period(segment.element(2), segment.element(3))
        if begin is None or end is None:
            return  # an unreadable date says nothing; the validator reports it
        qualifier = segment.element(1)
        if self.benefit is not None:
            dates = (*self.benefit.dates, (qualifier, begin, end))
            self.benefit = replace(self.benefit, dates=dates)
        elif qualifier in _DATE_FIELDS:
            self.member.dates[_DATE_FIELDS[qualifier]] = begin
        elif qualifier in ("291", "292", "307"):  # plan / benefit / eligibility period (RD8)
            prefix = "eligibility" if qualifier == "307" else "plan"
            self.member.dates.setdefault(f"{prefix}_begin", begin)
            self.member.dates.setdefault(f"{prefix}_end", end)

    def reject(self, segment: Segment, position: int) -> None:
        reason, follow_up = segment.element(3), segment.element(4)
        loop = _LOOPS.get(self.level, "")
        if self.benefit is not None:
            loop = loop.replace("2100", "2110")
        what = REJECT_REASONS.get(reason, f"reject reason {reason or '(none given)'}")
        then = FOLLOW_UPS.get(follow_up, f"follow-up action {follow_up or '(none given)'}")
        message = (
            f"The payer could not answer the inquiry: {what} (AAA03 {reason}); next step: "
            f"{then} (AAA04 {follow_up})."
        )
        where = self.where(position, "AAA", 3) + (f" in loop {loop}" if loop else "")
        found = Reject(reason, follow_up, issue(f"x12.271.aaa.{reason}", message, where))
        self.rejects.append(found)
        if self.member is not None:
            self.member.rejects.append(found)

    def close_benefit(self) -> None:
        if self.benefit is not None and self.member is not None:
            self.member.benefits.append(self.benefit)
        self.benefit = None

    def checks(self) -> list[CoverageCheck]:
        result = []
        for member in self.members:
            if member.has_dependent and not member.benefits and not member.rejects:
                continue  # the subscriber only identifies the dependent, who is the patient
            result.append(_check(member))
        return result


def _check(member: _Member) -> CoverageCheck:
    infos = [b.info for b in member.benefits]
    active: bool | None = None
    if any(info in ACTIVE_CODES for info in infos):
        active = True
    elif any(info in INACTIVE_CODES for info in infos):
        active = False
    plan = next(
        (b.plan for b in member.benefits if b.info in ACTIVE_CODES and b.plan),
        next((b.plan for b in member.benefits if b.plan), ""),
    )
    dates = member.dates
    return CoverageCheck(
        member="dependent" if member.level == "23" else "subscriber",
        member_id=member.member_id,
        payer_id=member.payer_id,
        payer_name=member.payer_name,
        active=active,
        plan=plan,
        plan_begin=dates.get("plan_begin"),
        plan_end=dates.get("plan_end"),
        eligibility_begin=dates.get("eligibility_begin"),
        eligibility_end=dates.get("eligibility_end"),
        benefits=tuple(member.benefits),
        rejects=tuple(member.rejects),
        messages=tuple(member.messages),
        trace_numbers=tuple(member.traces),
    )


_EB_WIDTH = 12


def _benefit(segment: Segment, where: str) -> Benefit:
    # One padded tuple instead of twelve element() calls: EB rows are most of a 271.
    e = segment.elements
    if len(e) < _EB_WIDTH:
        e = e + ("",) * (_EB_WIDTH - len(e))
    types = e[2]
    return Benefit(
        info=e[0],
        coverage_level=e[1],
        service_types=tuple(t for t in types.split(segment.delimiters.repetition) if t)
        if types
        else (),
        insurance_type=e[3],
        plan=e[4],
        time_period=e[5],
        amount=e[6],
        percent=e[7],
        quantity_qualifier=e[8],
        quantity=e[9],
        authorization=AuthorizationFlag.from_eb11(e[10]),
        in_network=in_network_from_eb12(e[11]),
        location=where,
    )


def _period(form: str, value: str) -> tuple[dt.date | None, dt.date | None]:
    """DTP02/DTP03: D8 one date (begin = end), RD8 "CCYYMMDD-CCYYMMDD"."""
    if form == "D8":
        day = _date(value)
        return day, day
    if form == "RD8" and value.count("-") == 1:
        first, last = value.split("-")
        return _date(first), _date(last)
    return None, None


def _date(value: str) -> dt.date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def check_view(check: CoverageCheck) -> dict[str, object]:
    """A coverage check as JSON (the CLI's --json). No names: the member id is the one PHI."""

    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    services = {}
    for service_type in check.service_types:
        coverage = check.for_service(service_type)
        services[service_type] = {
            "covered": coverage.covered,
            "authorization": str(coverage.authorization),
            "in_network_rows": coverage.in_network_rows,
            "out_of_network_rows": coverage.out_of_network_rows,
            "messages": list(coverage.messages),
        }
    return {
        "member": check.member,
        "member_id": check.member_id,
        "payer": {"id": check.payer_id, "name": check.payer_name},
        "active": check.active,
        "plan": check.plan,
        "plan_begin": day(check.plan_begin),
        "plan_end": day(check.plan_end),
        "eligibility_begin": day(check.eligibility_begin),
        "eligibility_end": day(check.eligibility_end),
        "services": services,
        "benefits": [
            {
                "info": b.info,
                "meaning": b.meaning,
                "coverage_level": b.coverage_level,
                "service_types": list(b.service_types),
                "insurance_type": b.insurance_type,
                "plan": b.plan,
                "time_period": b.time_period,
                "amount": b.amount,
                "percent": b.percent,
                "quantity": b.quantity,
                "authorization": str(b.authorization),
                "in_network": b.in_network,
                "dates": [
                    {"qualifier": q, "begin": s.isoformat(), "end": e.isoformat()}
                    for q, s, e in b.dates
                ],
                "messages": list(b.messages),
                "location": b.location,
            }
            for b in check.benefits
        ],
        "rejects": [reject_view(r) for r in check.rejects],
        "messages": list(check.messages),
        "trace_numbers": list(check.trace_numbers),
    }


def reject_view(reject: Reject) -> dict[str, object]:
    return {
        "reason": reject.reason,
        "follow_up": reject.follow_up,
        "can_resubmit": reject.can_resubmit,
        **reject.issue.as_dict(),
    }


def reading_view(reading: Reading271) -> dict[str, object]:
    return {
        "checks": [check_view(c) for c in reading.checks],
        "rejects": [reject_view(r) for r in reading.rejects],
        "issues": [i.as_dict() for i in reading.issues],
    }
