"""The 278 inquiry (005010X215): asking a payer where a 278 request of ours stands, reading such
inquiries back (the payer simulator does), and reading the payer's X215 response.

An inquiry names the request by what the payer already has: the UMO, the requester, the
subscriber (NM1*IL, DMG), and in the 2000E our ORIGINAL trace (TRN*1, "<key>.<attempt>", the one
the request went out with), the review category and service type (UM), the certification number
when the payer gave one (REF*BB), the service dates (DTP*472) and the providers; one 2000F per
line with its own trace, UM, DTP*472 and SV1. BHT*0007*13; ST03 and GS08 005010X215. Sources and
where they disagree: the docstring of x215.py.

The response: X215 covers the inquiry AND its response (005010X216 is the 278 notification, not
this). The X215 response carries the same loops and segments as the X217 response that
`tx278_read.read_responses` reads (TRN*2 echo, AAA, UM, HCR, REF*NT, DTP*AAH, MSG, PWK, 2000F
HCR), but `read_responses` checks the set against X217 only (ST03 must be 005010X217), so it
cannot take an X215 text as is. `read_inquiry_responses` checks the text against the X215 rules,
relabels the version (GS08, ST03) and hands it to `read_responses`: one reader of decisions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from precert.channels.x12.envelope import (
    GroupSpec,
    Party,
    TransactionBody,
    X12Document,
    read,
    write_interchange,
)
from precert.channels.x12.implementation import check_document
from precert.channels.x12.tokens import Segment, tokenize
from precert.channels.x12.tx278 import (
    ORIGINATOR_ID,
    SENDER,
    Line278,
    Request278,
    _party_id,
    _trim,
    dates,
    request_278,
    trace_key,
)
from precert.channels.x12.tx278_read import Response278, read_responses
from precert.channels.x12.x215 import VERSION, X215
from precert.channels.x12.x217 import VERSION as X217_VERSION
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Inquiry215:
    """One 278 inquiry: the request it asks about (our trace in `request.trace`; no diagnoses:
    an inquiry does not carry them) and the certification number when known (REF*BB)."""

    reference: str  # BHT03 of the inquiry itself
    created_at: dt.datetime
    request: Request278
    certification_number: str = ""

    def __repr__(self) -> str:
        return f"Inquiry215(reference={self.reference!r}, trace={self.request.trace!r})"

    @property
    def request_key(self) -> str:
        return trace_key(self.request.trace)[0]


def inquiry_215(
    request: AuthorizationRequest,
    *,
    trace: str,
    at: dt.datetime,
    certification_number: str = "",
    payer_name: str | None = None,
) -> Inquiry215:
    """The inquiry about `request` as sent with `trace` (the Receipt's reference)."""
    key, attempt = trace_key(trace)
    if attempt is None or not key:
        raise InvalidInput.field(
            "trace",
            f"trace: '{trace[:60]}' is not one of our 278 trace numbers (<key>.<attempt>); "
            "inquire with the trace the request was sent with.",
        )
    sent = request_278(request, at=at, attempt=attempt, payer_name=payer_name)
    lines = tuple(
        dataclasses.replace(line, trace=f"{trace}.{n}") for n, line in enumerate(sent.lines, 1)
    )
    r = dataclasses.replace(sent, trace=trace, reference=trace, diagnoses=(), lines=lines)
    return Inquiry215(f"Q{trace}"[:50], r.created_at, r, certification_number[:50])


def inquiry_segments(q: Inquiry215) -> list[tuple[str, ...]]:
    """The segments of the inquiry between ST and SE."""
    r, at = q.request, q.created_at
    segments: list[tuple[str, ...]] = [
        ("BHT", "0007", "13", q.reference, f"{at:%Y%m%d}", f"{at:%H%M}"),
        ("HL", "1", "", "20", "1"),
        ("NM1", "X3", "2", r.payer_name, "", "", "", "", "PI", r.payer_id),
        ("HL", "2", "1", "21", "1"),
        ("NM1", "1P", "2", "", "", "", "", "", "XX", r.requester_npi),
        ("HL", "3", "2", "22", "1"),
        ("NM1", "IL", "1", r.last_name, r.first_name, "", "", "", "MI", r.member_id),
        ("DMG", "D8", f"{r.birth_date:%Y%m%d}"),
        ("HL", "4", "3", "EV", "1" if r.lines else "0"),
        ("TRN", "1", r.trace, ORIGINATOR_ID),
        _trim(("UM", r.category, r.certification_type, r.service_type, f"{r.pos}:B")),
    ]
    if q.certification_number:
        segments.append(("REF", "BB", q.certification_number))
    segments.append(("DTP", "472", *dates(r.from_date, r.to_date)))
    segments.append(("NM1", "SJ", "2", "", "", "", "", "", "XX", r.rendering_npi))
    if r.facility_npi:
        segments.append(("NM1", "FA", "2", "", "", "", "", "", "XX", r.facility_npi))
    for n, line in enumerate(r.lines, start=5):
        segments.extend(
            [
                ("HL", str(n), "4", "SS", "0"),
                ("TRN", "1", line.trace, ORIGINATOR_ID),
                ("UM", r.category, "", line.service_type, f"{line.pos}:B"),
                ("DTP", "472", *dates(line.from_date, line.to_date)),
                ("SV1", f"HC:{line.code}", "", "UN", str(line.units)),
            ]
        )
    return segments


def build_215(
    request: AuthorizationRequest,
    *,
    trace: str,
    at: dt.datetime,
    next_control: Callable[[], int],
    certification_number: str = "",
    payer_name: str | None = None,
    sender: Party = SENDER,
    receiver: Party | None = None,
    usage: str = "P",
) -> str:
    """The interchange with one 278 inquiry (GS01 HI, version 005010X215) about `request`."""
    q = inquiry_215(
        request,
        trace=trace,
        at=at,
        certification_number=certification_number,
        payer_name=payer_name,
    )
    to = receiver or Party("ZZ", _party_id(q.request.payer_id))
    segments = inquiry_segments(q)
    return write_215(
        segments, at=at, next_control=next_control, sender=sender, receiver=to, usage=usage
    )


def write_215(
    segments: Sequence[tuple[str, ...]],
    *,
    at: dt.datetime,
    next_control: Callable[[], int],
    sender: Party,
    receiver: Party,
    usage: str = "P",
) -> str:
    """One interchange around one X215 278 body (an inquiry or a response)."""
    body = TransactionBody("278", VERSION, list(segments))
    group = GroupSpec("HI", sender.id, receiver.id, VERSION, [body])
    return write_interchange(
        [group], sender=sender, receiver=receiver, at=at, next_control=next_control, usage=usage
    )


# -- reading -----------------------------------------------------------------------------------


def is_215(text: str) -> bool:
    """Whether the first transaction set of `text` is a 278 of 005010X215 (reads up to its ST:
    the payer simulator's dispatch uses this before choosing a reader)."""
    try:
        for segment in tokenize(text):
            if segment.tag == "ST":
                return segment.element(1) == "278" and segment.element(3) == VERSION
    except InvalidInput:
        return False
    return False


def check_215(text: str) -> X12Document:
    """Envelopes and X215 rules; every finding located (so `ack999.acknowledge` can reject)."""
    document = read(text)
    check_document(document, [X215])
    return document


def _strict(text: str) -> X12Document:
    document = check_215(text)
    if document.findings:
        count = len(document.findings)
        raise InvalidInput(
            f"The 278 inquiry has {count} problem{'s' if count > 1 else ''}.", document.issues
        )
    return document


def read_inquiries(text: str) -> list[Inquiry215]:
    """Every 278 inquiry (BHT02 13) in `text`; InvalidInput when it breaks a rule."""
    found: list[Inquiry215] = []
    for group in _strict(text).groups():
        for transaction in group.sets:
            if transaction.code != "278":
                continue
            bht = transaction.segments[1]
            if bht.element(2) != "13":
                raise InvalidInput.field(
                    "BHT02", "BHT02 must be 13: this is not a 278 inquiry.", "x12.code"
                )
            found.extend(_inquiries(bht, transaction.body[1:]))
    if not found:
        raise InvalidInput.field("ST01", "The file holds no 278 inquiry.", "x12.no_278")
    return found


def _inquiries(bht: Segment, body: list[Segment]) -> list[Inquiry215]:
    """One Inquiry215 per 2000E: the segments above it hold the payer, requester, subscriber."""
    created = dt.datetime.strptime(bht.element(4) + bht.element(5)[:4], "%Y%m%d%H%M")
    created = created.replace(tzinfo=dt.UTC)
    starts = [i for i, s in enumerate(body) if s.tag == "HL" and s.element(3) == "EV"]
    found = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(body)
        above = [s for s in body[:start] if s.tag != "HL"]
        request, number = read_patient_event(above, body[start + 1 : stop])
        request = dataclasses.replace(request, reference=bht.element(3), created_at=created)
        found.append(Inquiry215(bht.element(3), created, request, number))
    return found


def read_patient_event(
    above: Sequence[Segment], event: Sequence[Segment]
) -> tuple[Request278, str]:
    """A Request278 from a 278's 2000A-2000C segments (`above`) and one 2000E with its 2000F
    loops (`event`), and the REF*BB certification number. Reads inquiries, and also the
    payer's own stored X217 responses (TRN*2, no event DTP*472: the lines' dates are used)."""

    def first(segments: Sequence[Segment], tag: str, qualifier: str = "") -> Segment | None:
        return next(
            (s for s in segments if s.tag == tag and (not qualifier or s.element(1) == qualifier)),
            None,
        )

    cut = next((i for i, s in enumerate(event) if s.tag == "HL"), len(event))
    head, rest = event[:cut], event[cut:]
    payer, requester = first(above, "NM1", "X3"), first(above, "NM1", "1P")
    name, dmg = first(above, "NM1", "IL"), first(above, "DMG")
    trn, um = first(head, "TRN"), first(head, "UM")
    if name is None or dmg is None or trn is None or um is None:
        raise InvalidInput.field(
            "2000E", "The 278 lacks its subscriber (NM1*IL, DMG) or event (TRN, UM) data.", "x12"
        )
    lines = _lines(rest)
    start, end = _period(first(head, "DTP", "472"))
    if start is None or end is None:
        if not lines:
            raise InvalidInput.field("2000E", "The 278 has no DTP*472 service dates.", "x12")
        start, end = min(x.from_date for x in lines), max(x.to_date for x in lines)
    sj, fa, bb = first(head, "NM1", "SJ"), first(head, "NM1", "FA"), first(head, "REF", "BB")
    request = Request278(
        reference=trn.element(2),
        created_at=dt.datetime.combine(start, dt.time(), dt.UTC),
        payer_name=payer.element(3) if payer else "",
        payer_id=payer.element(9) if payer else "",
        requester_npi=requester.element(9) if requester else "",
        last_name=name.element(3),
        first_name=name.element(4),
        member_id=name.element(9),
        birth_date=_date(dmg.element(2)),
        trace=trn.element(2),
        category=um.element(1),
        certification_type=um.element(2),
        service_type=um.element(3),
        pos=um.components(4)[0],
        expedited=um.element(6) == "U",
        diagnoses=(),
        from_date=start,
        to_date=end,
        rendering_npi=sj.element(9) if sj else "",
        facility_npi=(fa.element(9) or None) if fa else None,
        lines=tuple(lines),
    )
    return request, bb.element(2) if bb else ""


def _lines(segments: Sequence[Segment]) -> list[Line278]:
    """The 2000F loops: each HL*..*SS with its TRN, UM, DTP*472 and SV1."""
    blocks: list[list[Segment]] = []
    for segment in segments:
        if segment.tag == "HL":
            blocks.append([])
        elif blocks:
            blocks[-1].append(segment)
    lines = []
    for block in blocks:
        by_tag = {s.tag: s for s in reversed(block)}
        trn, um, sv1 = by_tag.get("TRN"), by_tag.get("UM"), by_tag.get("SV1")
        start, end = _period(next((s for s in block if s.tag == "DTP"), None))
        if um is None or sv1 is None or start is None or end is None:
            raise InvalidInput.field("2000F", "A 278 service line lacks UM, SV1 or DTP*472.")
        parts = sv1.components(1)
        lines.append(
            Line278(
                trn.element(2) if trn else "",
                parts[1] if len(parts) > 1 else "",
                int(float(sv1.element(4) or "0")),
                start,
                end,
                um.components(4)[0],
                um.element(3),
            )
        )
    return lines


def _date(value: str) -> dt.date:
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def _period(segment: Segment | None) -> tuple[dt.date | None, dt.date | None]:
    if segment is None or segment.element(1) != "472":
        return None, None
    start, _, end = segment.element(3).partition("-")
    return _date(start), _date(end or start)


def read_inquiry_responses(
    text: str,
    *,
    lines: Sequence[ServiceLine] | None = None,
    received_on: dt.date | None = None,
) -> list[Response278]:
    """The payer's X215 answer as Response278s (see the module docstring): InvalidInput with
    located issues when it breaks an envelope or X215 rule."""
    _strict(text)
    return read_responses(
        relabel(text, VERSION, X217_VERSION), lines=lines, received_on=received_on
    )


def relabel(text: str, old: str, new: str) -> str:
    """`text` with every GS08 and ST03 equal to `old` set to `new`, nothing else touched."""
    pieces: list[str] = []
    done = 0
    for segment in tokenize(text):
        position = {"GS": 8, "ST": 3}.get(segment.tag)
        if position is None or segment.element(position) != old:
            continue
        original = segment.encode()[:-1]  # without its terminator
        if text.startswith(original, segment.offset):
            elements = list(segment.elements)
            elements[position - 1] = new
            pieces.append(text[done : segment.offset])
            pieces.append(segment.delimiters.element.join((segment.tag, *elements)))
            done = segment.offset + len(original)
    pieces.append(text[done:])
    return "".join(pieces)
