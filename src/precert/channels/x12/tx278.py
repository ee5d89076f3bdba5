"""Building the 278 request (005010X217) from an AuthorizationRequest.

`request_278` turns our request into `Request278`, exactly what the 278 carries (the reader in
tx278_read gives the same value back from the X12 text), `request_segments` writes it as the
segments between ST and SE, and `build_278` wraps it in an interchange with `write_interchange`.

The loops: 2000A the payer (UMO, NM1*X3), 2000B the requester (NM1*1P, ordering NPI), 2000C the
subscriber (NM1*IL, member id, DMG birth date), 2000E the patient event (TRN trace, UM, HI
diagnoses, DTP*472 service dates, 2010EA rendering SJ and facility FA) and one 2000F per line
(TRN, UM, DTP*472, SV1). The trace number is the request's key and the attempt
("<key>.<attempt>", lines "<key>.<attempt>.<n>"): a payer or our simulator sees a resubmission
of the same request by its key.

`amendment_278` is the 278 that refers back to a certification the payer already gave: UM02 3
cancel, 4 extension, S revised, with REF*BB (the payer's certification number, TR3 "Previous
Review Authorization Number") in 2000E and in every 2000F, under the same trace key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from precert.channels.x12.envelope import (
    GroupSpec,
    Party,
    TransactionBody,
    write_interchange,
)
from precert.channels.x12.x217 import VERSION
from precert.domain.authorizations import AuthorizationRequest, ServiceLine, Urgency
from precert.errors import InvalidInput

# TRN03: "9" + a 9-character id of the trace originator (ours, not a real DUNS or EIN).
ORIGINATOR_ID = "9PRECERT00"
INPATIENT_POS = frozenset({"21", "51", "61"})
_KEY_CHARS = re.compile(r"[^A-Za-z0-9-]")
# UM02 of a 278 that refers back to an earlier certification (005010X217; an RFI answer of X12
# tells 4 from S: 4 extends an approved service, even after some of it was rendered; S changes
# what was certified before anything was rendered).
AMENDMENTS: dict[str, str] = {"cancel": "3", "extend": "4", "revise": "S"}
# REF02 of REF*BB: the payer's number as it gave it, minus what would break the segment.
_NUMBER_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,49}$")


@dataclass(frozen=True, slots=True)
class Line278:
    """One 2000F service loop."""

    trace: str
    code: str
    units: int
    from_date: dt.date
    to_date: dt.date
    pos: str
    service_type: str


@dataclass(frozen=True, slots=True)
class Request278:
    """Everything a 278 request of ours carries, as values (PHI inside: never log it)."""

    reference: str  # BHT03
    created_at: dt.datetime  # BHT04/BHT05, to the minute, UTC
    payer_name: str
    payer_id: str
    requester_npi: str
    last_name: str
    first_name: str
    member_id: str
    birth_date: dt.date
    trace: str
    category: str  # UM01: AR, HS, SC
    certification_type: str  # UM02
    service_type: str  # UM03
    pos: str  # UM04-1
    expedited: bool  # UM06 U
    diagnoses: tuple[str, ...]
    from_date: dt.date
    to_date: dt.date
    rendering_npi: str
    facility_npi: str | None
    lines: tuple[Line278, ...]
    # REF*BB: the certification this 278 refers back to (UM02 3, 4 or S); "" for a new request.
    authorization_number: str = ""

    def __repr__(self) -> str:
        return f"Request278(reference={self.reference!r}, lines={len(self.lines)})"


def trace_number(request_id: str, attempt: int) -> str:
    """The TRN02 of attempt `attempt` of a request: "<key>.<attempt>", the key being the
    request id (letters, digits, hyphens; a hash when the id is longer or has other characters)."""
    if attempt < 1:
        raise InvalidInput.field("attempt", "attempt: attempts count from 1.")
    key = request_id
    if len(key) > 40 or _KEY_CHARS.search(key) or not key:
        key = hashlib.sha256(request_id.encode()).hexdigest()[:32]
    return f"{key}.{attempt}"


def trace_key(trace: str) -> tuple[str, int | None]:
    """The request key and attempt of one of our trace numbers (attempt None if not ours)."""
    key, _, attempt = trace.partition(".")
    attempt = attempt.split(".")[0]
    return key, int(attempt) if attempt.isdigit() else None


def category(request: AuthorizationRequest) -> str:
    """UM01: AR for an admission (inpatient place of service), SC for a specialty referral (only
    office visits), else HS."""
    places = {line.pos for line in request.lines}
    if places & INPATIENT_POS:
        return "AR"
    if all(_office_visit(line.code) for line in request.lines):
        return "SC"
    return "HS"


def _office_visit(code: str) -> bool:
    return code.isdigit() and 99202 <= int(code) <= 99215


def service_type(code: str, pos: str) -> str:
    """UM03, a coarse service type from the code and place of service."""
    if pos in INPATIENT_POS:
        return "48"  # hospital inpatient
    if code.isdigit():
        number = int(code)
        if 70010 <= number <= 76999:
            return "62" if number in range(70450, 70560) or number >= 72125 else "4"
        if 10004 <= number <= 69990:
            return "2"  # surgical
        if 97010 <= number <= 97799:
            return "PT"
        if _office_visit(code):
            return "3"  # consultation
    elif code[:1] in ("E", "K"):
        return "12"  # durable medical equipment
    return "1"  # medical care


def request_278(
    request: AuthorizationRequest,
    *,
    at: dt.datetime,
    attempt: int = 1,
    payer_name: str | None = None,
) -> Request278:
    """What the 278 for attempt `attempt` of `request` carries."""
    if at.tzinfo is None:
        raise InvalidInput.field("at", "at: the time of a 278 must be timezone-aware.")
    if not request.lines:
        raise InvalidInput.field("lines", "lines: a 278 needs at least one service line.")
    trace = trace_number(request.id, attempt)
    first_pos = request.lines[0].pos or "11"
    diagnoses: list[str] = []
    for line in request.lines:
        for code in line.diagnoses:
            if code not in diagnoses:
                diagnoses.append(code)
    if len(diagnoses) > 12:
        raise InvalidInput.field(
            "lines.diagnoses", "lines.diagnoses: a 278 carries at most 12 distinct diagnoses."
        )
    kind = category(request)
    return Request278(
        reference=trace,
        created_at=at.astimezone(dt.UTC).replace(second=0, microsecond=0),
        payer_name=(payer_name or request.coverage.payer_id).upper()[:60],
        payer_id=request.coverage.payer_id[:80],
        requester_npi=request.ordering_npi,
        last_name=request.patient.last_name,
        first_name=request.patient.first_name,
        member_id=request.coverage.member_id or request.patient.member_id,
        birth_date=request.patient.birth_date,
        trace=trace,
        category=kind,
        certification_type="I",
        service_type=service_type(request.lines[0].code, first_pos),
        pos=first_pos,
        expedited=request.urgency is Urgency.EXPEDITED,
        diagnoses=tuple(diagnoses),
        from_date=request.first_service_date,
        to_date=request.last_service_date,
        rendering_npi=request.rendering_npi,
        facility_npi=request.facility_npi,
        lines=tuple(_line(line, f"{trace}.{n}") for n, line in enumerate(request.lines, 1)),
    )


def amendment_278(
    request: AuthorizationRequest,
    *,
    kind: str,
    authorization_number: str,
    attempt: int,
    at: dt.datetime,
    to_date: dt.date | None = None,
    units: Mapping[str, int] | None = None,
    payer_name: str | None = None,
) -> Request278:
    """The 278 that cancels ("cancel"), extends ("extend") or revises ("revise") the
    certification `authorization_number` the payer gave `request`: the request's own content
    with UM02 3/4/S and REF*BB, the lines changed by `amended_lines`, and the trace of `attempt`
    (the same key, so the payer finds the original request)."""
    code = AMENDMENTS.get(kind)
    if code is None:
        raise InvalidInput.field(
            "kind", f"kind: use one of {', '.join(AMENDMENTS)}, not '{kind[:20]}'.", "x12.kind"
        )
    number = authorization_number.strip()
    if not _NUMBER_CHARS.match(number):
        raise InvalidInput.field(
            "authorization_number",
            "authorization_number: give the payer's certification number as it appears on the "
            "approval (1-50 letters, digits, spaces, '.', '/', '-').",
            "x12.authorization_number",
        )
    lines = amended_lines(request, kind=kind, to_date=to_date, units=units)
    base = request_278(
        dataclasses.replace(request, lines=lines), at=at, attempt=attempt, payer_name=payer_name
    )
    return dataclasses.replace(base, certification_type=code, authorization_number=number)


def amended_lines(
    request: AuthorizationRequest,
    *,
    kind: str,
    to_date: dt.date | None = None,
    units: Mapping[str, int] | None = None,
) -> tuple[ServiceLine, ...]:
    """The service lines an amendment asks for: a cancel names the lines as they are; an
    extension moves every line's end to `to_date` (never earlier) and/or sets the units of the
    codes in `units`; a revision sets both as given (it may shorten)."""
    if kind == "cancel":
        if to_date is not None or units:
            raise InvalidInput.field(
                "to_date",
                "to_date, units: a cancellation changes no dates or units; leave them out.",
                "x12.amendment",
            )
        return request.lines
    if kind == "extend" and to_date is None and not units:
        raise InvalidInput.field(
            "to_date",
            "to_date, units: an extension needs a new end date or new units.",
            "x12.amendment",
        )
    wanted = dict(units or {})
    unknown = sorted(set(wanted) - {line.code for line in request.lines})
    if unknown:
        raise InvalidInput.field(
            "units", f"units: {', '.join(unknown)} is not a line of this request.", "x12.amendment"
        )
    if any(value < 1 for value in wanted.values()):
        raise InvalidInput.field("units", "units: give at least 1 unit per code.", "x12.amendment")
    if to_date is not None and to_date < request.first_service_date:
        raise InvalidInput.field(
            "to_date",
            "to_date: the new end date is before the first service date.",
            "x12.amendment",
        )
    if kind == "extend" and to_date is not None and to_date < request.last_service_date:
        raise InvalidInput.field(
            "to_date",
            "to_date: an extension cannot end earlier than the certification; send "
            "a revision to shorten it.",
            "x12.amendment",
        )
    return tuple(_amended(line, kind, to_date, wanted) for line in request.lines)


def _amended(
    line: ServiceLine, kind: str, to_date: dt.date | None, units: dict[str, int]
) -> ServiceLine:
    end = line.to_date
    if to_date is not None:
        # An extension only lengthens; a revision takes the date it is given (not before the
        # line starts, which a revision of a later line would otherwise do).
        end = max(end, to_date) if kind == "extend" else max(line.from_date, to_date)
    return dataclasses.replace(line, to_date=end, units=units.get(line.code, line.units))


def _line(line: ServiceLine, trace: str) -> Line278:
    pos = line.pos or "11"
    return Line278(
        trace,
        line.code,
        line.units,
        line.from_date,
        line.to_date,
        pos,
        service_type(line.code, pos),
    )


def dates(start: dt.date, end: dt.date) -> tuple[str, str]:
    """DTP02/DTP03 for a day (D8) or a period (RD8)."""
    if start == end:
        return "D8", f"{start:%Y%m%d}"
    return "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"


def hi_code(code: str) -> str:
    """ICD-10-CM without its dot, as X12 carries it."""
    return code.replace(".", "")


def request_segments(r: Request278) -> list[tuple[str, ...]]:
    """The segments of the 278 request between ST and SE."""
    level = "U" if r.expedited else ""
    segments: list[tuple[str, ...]] = [
        ("BHT", "0007", "13", r.reference, f"{r.created_at:%Y%m%d}", f"{r.created_at:%H%M}"),
        ("HL", "1", "", "20", "1"),
        ("NM1", "X3", "2", r.payer_name, "", "", "", "", "PI", r.payer_id),
        ("HL", "2", "1", "21", "1"),
        ("NM1", "1P", "2", "", "", "", "", "", "XX", r.requester_npi),
        ("HL", "3", "2", "22", "1"),
        ("NM1", "IL", "1", r.last_name, r.first_name, "", "", "", "MI", r.member_id),
        ("DMG", "D8", f"{r.birth_date:%Y%m%d}"),
        ("HL", "4", "3", "EV", "1"),
        ("TRN", "1", r.trace, ORIGINATOR_ID),
        _trim(("UM", r.category, r.certification_type, r.service_type, f"{r.pos}:B", "", level)),
        *_previous(r),
        ("DTP", "472", *dates(r.from_date, r.to_date)),
    ]
    if r.diagnoses:
        segments.append(
            (
                "HI",
                *(
                    f"{'ABK' if n == 0 else 'ABF'}:{hi_code(code)}"
                    for n, code in enumerate(r.diagnoses)
                ),
            )
        )
    segments.append(("NM1", "SJ", "2", "", "", "", "", "", "XX", r.rendering_npi))
    if r.facility_npi:
        segments.append(("NM1", "FA", "2", "", "", "", "", "", "XX", r.facility_npi))
    for n, line in enumerate(r.lines, start=5):
        segments.extend(
            [
                ("HL", str(n), "4", "SS", "0"),
                ("TRN", "1", line.trace, ORIGINATOR_ID),
                ("UM", r.category, "", line.service_type, f"{line.pos}:B"),
                *_previous(r),
                ("DTP", "472", *dates(line.from_date, line.to_date)),
                ("SV1", f"HC:{line.code}", "", "UN", str(line.units)),
            ]
        )
    return segments


def _previous(r: Request278) -> list[tuple[str, ...]]:
    """REF*BB after UM in 2000E and 2000F (X217 "Previous Review Authorization Number"): the
    payer's number for the certification an amendment refers to; nothing on a new request."""
    return [("REF", "BB", r.authorization_number)] if r.authorization_number else []


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """A payer's answer on one 2000F line: HCR01/02/03, and the code and units approved when
    they differ from what was asked (A6 modified)."""

    action: str
    number: str = ""
    reason: str = ""
    code: str | None = None
    units: int | None = None


def response_segments(
    r: Request278,
    *,
    at: dt.datetime,
    action: str = "",
    number: str = "",
    reason: str = "",
    window: tuple[dt.date, dt.date] | None = None,
    reference: str = "",
    lines: tuple[LineAnswer | None, ...] = (),
    messages: tuple[str, ...] = (),
    attachments: tuple[tuple[str, str], ...] = (),
    reject: tuple[str, str, str] | None = None,
) -> list[tuple[str, ...]]:
    """The segments of a payer's 278 response to `r`, for the payer simulator and tests.

    BHT*0007*11, the request's 2000A-2000C, a 2000E with TRN*2 (our trace echoed), UM, HCR
    (`action`, `number`, `reason`), REF*NT `reference`, DTP*AAH `window`,
    PWK `attachments` (report type, transmission), MSG `messages`, the providers, then per line
    TRN*2, UM, HCR from `lines[n]` (None: no line HCR), DTP*472 and SV1 (the approved code and
    units if given).
    `reject` = (HL03 level, AAA03, AAA04) writes an AAA*N in that loop and nothing below it."""
    request = request_segments(r)
    event = next(i for i, s in enumerate(request) if s[0] == "HL" and s[3] == "EV")
    out: list[tuple[str, ...]] = [("BHT", "0007", "11", r.reference, f"{at:%Y%m%d}", f"{at:%H%M}")]
    for segment in request[1:event]:
        out.append(segment)
        if reject is not None and segment[0] == "HL" and segment[3] == reject[0]:
            out.append(("AAA", "N", "", reject[1], reject[2]))
    if reject is not None and reject[0] != "EV":
        return out
    out.append(request[event])
    out.append(("TRN", "2", r.trace, ORIGINATOR_ID))
    if reject is not None:
        out.append(("AAA", "N", "", reject[1], reject[2]))
    level = "U" if r.expedited else ""
    out.append(
        _trim(("UM", r.category, r.certification_type, r.service_type, f"{r.pos}:B", "", level))
    )
    if reject is None:
        if action:
            out.append(_trim(("HCR", action, number, reason)))
        if reference:
            out.append(("REF", "NT", reference))
        if window is not None:
            out.append(("DTP", "AAH", *dates(*window)))
        out.extend(("PWK", kind, how) for kind, how in attachments)
        out.extend(("MSG", text[:264]) for text in messages[:1])
    out.append(("NM1", "SJ", "2", "", "", "", "", "", "XX", r.rendering_npi))
    if r.facility_npi:
        out.append(("NM1", "FA", "2", "", "", "", "", "", "XX", r.facility_npi))
    if reject is not None:
        return out
    for n, line in enumerate(r.lines):
        answer = lines[n] if n < len(lines) else None
        out.append(("HL", str(n + 5), "4", "SS", "0"))
        out.append(("TRN", "2", line.trace, ORIGINATOR_ID))
        out.append(("UM", r.category, "", line.service_type, f"{line.pos}:B"))
        code, units = line.code, line.units
        if answer is not None:
            out.append(_trim(("HCR", answer.action, answer.number, answer.reason)))
            code, units = answer.code or code, answer.units or units
        out.append(("DTP", "472", *dates(line.from_date, line.to_date)))
        out.append(("SV1", f"HC:{code}", "", "UN", str(units)))
    return out


def _trim(segment: tuple[str, ...]) -> tuple[str, ...]:
    """Drop trailing empty elements (X12 does not send them)."""
    end = len(segment)
    while end > 1 and segment[end - 1] == "":
        end -= 1
    return segment[:end]


SENDER = Party("ZZ", "PRECERT")
GS_SENDER = "PRECERT"


def build_278(
    request: AuthorizationRequest,
    *,
    at: dt.datetime,
    next_control: Callable[[], int],
    attempt: int = 1,
    payer_name: str | None = None,
    sender: Party = SENDER,
    receiver: Party | None = None,
    usage: str = "P",
) -> str:
    """The interchange with one 278 request for `request` (GS01 HI, version 005010X217)."""
    r = request_278(request, at=at, attempt=attempt, payer_name=payer_name)
    return write_278(
        r, at=at, next_control=next_control, sender=sender, receiver=receiver, usage=usage
    )


def write_278(
    r: Request278,
    *,
    at: dt.datetime,
    next_control: Callable[[], int],
    sender: Party = SENDER,
    receiver: Party | None = None,
    usage: str = "P",
    segments: list[tuple[str, ...]] | None = None,
) -> str:
    """One interchange around a 278 body (`segments`, by default the request's)."""
    to = receiver or Party("ZZ", _party_id(r.payer_id))
    body = TransactionBody("278", VERSION, segments or request_segments(r))
    group = GroupSpec("HI", sender.id, to.id, VERSION, [body])
    return write_interchange(
        [group], sender=sender, receiver=to, at=at, next_control=next_control, usage=usage
    )


def _party_id(payer_id: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9]", "", payer_id.upper())
    return (cleaned or "PAYER")[:15]
