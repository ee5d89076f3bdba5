"""X12 270 eligibility inquiry (005010X279A1): build one from a request, and read one back.

`inquiry_from_request` takes what a 270 needs from an AuthorizationRequest (member, payer,
provider NPI, the service types of its lines, the earliest date of service); `build_270` writes
it as one enveloped interchange: BHT*0022*13, 2000A information source (NM1*PR), 2000B
information receiver (NM1*1P with the NPI, qualifier XX), 2000C subscriber (TRN trace, NM1*IL
with the member id, DMG birth date, DTP*291 date of service, one EQ per service type).

`read_270` reads the 2000C subscriber inquiries of a 270 (ours or another system's); it exists
so that what we build can be read back and compared, and for the payer simulator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from precert.channels.x12.envelope import (
    GroupSpec,
    Party,
    TransactionBody,
    parse,
    write_interchange,
)
from precert.channels.x12.errors import issue
from precert.channels.x12.tokens import Segment
from precert.domain import codes
from precert.domain.authorizations import AuthorizationRequest
from precert.domain.eligibility import PLAN_COVERAGE, service_type_for
from precert.errors import InvalidInput, Issue

IMPLEMENTATION = "005010X279A1"


@dataclass(frozen=True, slots=True, repr=False)
class EligibilityInquiry:
    """One subscriber's 270 inquiry. Holds PHI (names, birth date, member id): no repr."""

    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    member_id: str
    last_name: str
    first_name: str
    birth_date: dt.date | None
    service_date: dt.date
    service_types: tuple[str, ...]
    trace: str  # TRN02: our reference, returned in the 271's TRN*2
    trace_originator: str = "9000000000"  # TRN03: 10 characters, "9" + our id


def inquiry_from_request(
    request: AuthorizationRequest,
    *,
    payer_name: str,
    provider_name: str,
    trace: str | None = None,
) -> EligibilityInquiry:
    """The 270 inquiry for `request`: its rendering provider asks about its lines' service
    types (one per distinct type, in line order; 30 when no line maps to a specific one)."""
    if not request.lines:
        raise InvalidInput.field(
            "lines", "The request has no service lines to ask the payer about.", "x12.270.eq"
        )
    types: dict[str, None] = {}
    for line in request.lines:
        types.setdefault(service_type_for(line.code, line.pos), None)
    return EligibilityInquiry(
        payer_id=request.coverage.payer_id,
        payer_name=payer_name,
        provider_npi=request.rendering_npi,
        provider_name=provider_name,
        member_id=request.coverage.member_id or request.patient.member_id,
        last_name=request.patient.last_name,
        first_name=request.patient.first_name,
        birth_date=request.patient.birth_date,
        service_date=min(line.from_date for line in request.lines),
        service_types=tuple(types) or (PLAN_COVERAGE,),
        trace=trace or request.id.replace("-", "")[:30],
    )


def inquiry_segments(
    inquiry: EligibilityInquiry, *, reference: str, at: dt.datetime
) -> list[tuple[str, ...]]:
    """The 270 body between ST and SE, each segment as (tag, element 01, ...)."""
    _check(inquiry)
    segments: list[tuple[str, ...]] = [
        ("BHT", "0022", "13", reference, at.strftime("%Y%m%d"), at.strftime("%H%M")),
        ("HL", "1", "", "20", "1"),
        ("NM1", "PR", "2", _clean(inquiry.payer_name), "", "", "", "", "PI", inquiry.payer_id),
        ("HL", "2", "1", "21", "1"),
        (
            "NM1",
            "1P",
            "2",
            _clean(inquiry.provider_name),
            "",
            "",
            "",
            "",
            "XX",
            inquiry.provider_npi,
        ),
        ("HL", "3", "2", "22", "0"),
        ("TRN", "1", inquiry.trace, inquiry.trace_originator),
        (
            "NM1",
            "IL",
            "1",
            _clean(inquiry.last_name),
            _clean(inquiry.first_name),
            "",
            "",
            "",
            "MI",
            inquiry.member_id,
        ),
    ]
    if inquiry.birth_date is not None:
        segments.append(("DMG", "D8", inquiry.birth_date.strftime("%Y%m%d")))
    segments.append(("DTP", "291", "D8", inquiry.service_date.strftime("%Y%m%d")))
    segments.extend(("EQ", service_type) for service_type in inquiry.service_types)
    return segments


def build_270(
    inquiry: EligibilityInquiry,
    *,
    sender: Party,
    receiver: Party,
    at: dt.datetime,
    next_control: Callable[[], int],
    usage: str = "P",
    reference: str | None = None,
) -> str:
    """One interchange (GS01 HS) holding the 270 for `inquiry`."""
    body = TransactionBody(
        "270",
        IMPLEMENTATION,
        inquiry_segments(inquiry, reference=reference or inquiry.trace, at=at),
    )
    group = GroupSpec("HS", sender.id, receiver.id, IMPLEMENTATION, [body])
    return write_interchange(
        [group], sender=sender, receiver=receiver, at=at, next_control=next_control, usage=usage
    )


def _check(inquiry: EligibilityInquiry) -> None:
    found: list[Issue] = []

    def need(value: str, where: str, what: str) -> None:
        if not value.strip():
            found.append(issue("x12.270.required", f"{what} is required for a 270.", where))

    need(inquiry.payer_id, "payer_id", "The payer id (NM109 of 2100A)")
    need(inquiry.payer_name, "payer_name", "The payer name (NM103 of 2100A)")
    need(inquiry.provider_name, "provider_name", "The provider name (NM103 of 2100B)")
    need(inquiry.member_id, "member_id", "The member id (NM109 of 2100C)")
    need(inquiry.trace, "trace", "A trace number (TRN02)")
    try:
        codes.npi(inquiry.provider_npi, "provider_npi")
    except InvalidInput as error:
        found.extend(error.issues)
    if len(inquiry.trace_originator) != 10:
        found.append(
            issue(
                "x12.270.trace",
                "TRN03 (the trace originator) must be exactly 10 characters.",
                "trace_originator",
            )
        )
    if not inquiry.service_types:
        found.append(issue("x12.270.eq", "Ask about at least one service type.", "service_types"))
    if found:
        raise InvalidInput("The eligibility inquiry cannot be written as a 270.", found)


def _clean(value: str) -> str:
    """Names go into elements: delimiter characters would break the segment."""
    return "".join(c for c in value if c.isalnum() or c in " .-'&,/").strip().upper()


def read_270(text: str) -> list[EligibilityInquiry]:
    """The subscriber inquiries (2000C) of every 270 in `text`; InvalidInput with located
    issues when the envelopes are broken or a set is not a 270."""
    document = parse(text)
    inquiries: list[EligibilityInquiry] = []
    for group in document.groups():
        for transaction in group.sets:
            if transaction.code != "270":
                raise InvalidInput.field(
                    f"ST[{transaction.position}]",
                    f"Transaction set {transaction.position} is a {transaction.code}, not a 270.",
                    "x12.270.not_270",
                )
            inquiries.extend(_inquiries(transaction.body))
    return inquiries


@dataclass
class _Subscriber:
    """A 2000C loop while it is read."""

    member_id: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: dt.date | None = None
    service_date: dt.date | None = None
    trace: str = ""
    originator: str = ""
    service_types: list[str] = field(default_factory=list)


def _inquiries(body: list[Segment]) -> list[EligibilityInquiry]:
    payer_id = payer_name = npi = provider = ""
    current: _Subscriber | None = None
    found: list[_Subscriber] = []
    level = ""
    for segment in body:
        tag = segment.tag
        if tag == "HL":
            level = segment.element(3)
            if level == "22":
                current = _Subscriber()
                found.append(current)
        elif tag == "NM1":
            qualifier = segment.element(1)
            if qualifier == "PR":
                payer_name, payer_id = segment.element(3), segment.element(9)
            elif qualifier == "1P":
                provider, npi = segment.element(3), segment.element(9)
            elif qualifier == "IL" and current is not None:
                current.last_name, current.first_name = segment.element(3), segment.element(4)
                current.member_id = segment.element(9)
        elif current is None:
            continue
        # A dependent's (2000D) trace, dates and EQs stay on its subscriber's inquiry.
        elif tag == "TRN" and not current.trace:
            current.trace, current.originator = segment.element(2), segment.element(3)
        elif tag == "DMG" and level == "22":
            current.birth_date = _date(segment.element(2))
        elif tag == "DTP" and segment.element(1) == "291":
            current.service_date = _date(segment.element(3)[:8])
        elif tag == "EQ":
            current.service_types.extend(segment.repetitions(1))
    return [
        EligibilityInquiry(
            payer_id=payer_id,
            payer_name=payer_name,
            provider_npi=npi,
            provider_name=provider,
            member_id=item.member_id,
            last_name=item.last_name,
            first_name=item.first_name,
            birth_date=item.birth_date,
            service_date=item.service_date or dt.date.min,
            service_types=tuple(item.service_types),
            trace=item.trace,
            trace_originator=item.originator,
        )
        for item in found
    ]


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
