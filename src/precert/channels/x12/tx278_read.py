"""Reading 278s: `check_278` (envelopes + the X217 rules), `read_requests` (a 278 request back
into Request278, for our round trip and for the payer simulator) and `read_responses` (a 278
response into one Response278 per patient event: a Determination, a pended or information
request, contact payer, cancelled, or a rejection with located issues).

Responses: HCR01 is the action (A1 certified, A2 partly, A3 not certified, A4 pended, A6
modified, C cancelled, CT contact payer, NA no authorization required), HCR02 the certification
number, HCR03 the reason; REF*NT the payer's administrative reference; DTP*AAH (or 382) the
certification window and DTP*AAM the issue date; a 2000F HCR decides its own line (partial
approvals); AAA at any level rejects the request (reason + follow-up); MSG is text for a person;
PWK asks for documents. Every problem is InvalidInput with located issues, never another error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from precert.channels.x12.envelope import TransactionSet, X12Document, read
from precert.channels.x12.errors import locate
from precert.channels.x12.implementation import check_document
from precert.channels.x12.tokens import Segment
from precert.channels.x12.tx278 import Line278, Request278, trace_key
from precert.channels.x12.x217 import AAA03_REASONS, AAA04_FOLLOW_UPS, X217, check_situational
from precert.domain.authorizations import ServiceLine
from precert.domain.determinations import (
    Determination,
    LineDecision,
    LineStatus,
    Method,
    Outcome,
)
from precert.errors import InvalidInput, Issue


def check_278(text: str) -> X12Document:
    """Envelopes and X217 rules: every finding located, in `document.findings` and in each
    set's `findings` (so `ack999.acknowledge` rejects with IK3/IK4)."""
    document = read(text)
    check_document(document, [X217])
    check_situational(document)  # rules across segments (UM02 3/4/S needs REF*BB)
    return document


def _strict(text: str) -> list[tuple[int, int, TransactionSet]]:
    document = check_278(text)
    if document.findings:
        count = len(document.findings)
        raise InvalidInput(
            f"The 278 has {count} problem{'s' if count > 1 else ''}.", document.issues
        )
    sets = [
        (i.position, g.position, s)
        for i in document.interchanges
        for g in i.groups
        for s in g.sets
        if s.code == "278"
    ]
    if not sets:
        raise InvalidInput.field("ST01", "The file holds no 278 transaction set.", "x12.no_278")
    return sets


@dataclass(frozen=True)
class _At:
    """Where a set is in its file, for locating what its content says."""

    interchange: int
    group: int
    transaction: TransactionSet


@dataclass
class _Loop:
    level: str
    segments: list[Segment]
    position: int  # of its HL in the set
    children: list[_Loop] = field(default_factory=list)

    def first(self, tag: str, qualifier: str | None = None) -> Segment | None:
        return next(self.all(tag, qualifier), None)

    def all(self, tag: str, qualifier: str | None = None) -> Iterator[Segment]:
        for s in self.segments:
            if s.tag == tag and (qualifier is None or s.element(1) == qualifier):
                yield s


def _loops(transaction: TransactionSet) -> tuple[Segment, list[_Loop]]:
    """BHT and the HL loops as a tree (roots: the 2000A loops)."""
    bht = transaction.segments[1]
    by_id: dict[str, _Loop] = {}
    roots: list[_Loop] = []
    current: _Loop | None = None
    for index, segment in enumerate(transaction.body, start=2):
        if segment.tag == "HL":
            current = _Loop(segment.element(3), [], index)
            by_id[segment.element(1)] = current
            parent = by_id.get(segment.element(2))
            (parent.children if parent is not None else roots).append(current)
        elif current is not None:
            current.segments.append(segment)
    return bht, roots


def _walk(loops: list[_Loop], level: str) -> Iterator[tuple[list[_Loop], _Loop]]:
    """Every loop of `level` with the chain of loops above it."""

    def go(chain: list[_Loop], loop: _Loop) -> Iterator[tuple[list[_Loop], _Loop]]:
        if loop.level == level:
            yield chain, loop
        for child in loop.children:
            yield from go([*chain, loop], child)

    for root in loops:
        yield from go([], root)


def _date(value: str) -> dt.date:
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def _period(segment: Segment | None) -> tuple[dt.date | None, dt.date | None]:
    if segment is None:
        return None, None
    value = segment.element(3)
    if segment.element(2) == "RD8":
        start, _, end = value.partition("-")
        return _date(start), _date(end)
    return _date(value), _date(value)


def _icd(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _nm1_id(loop: _Loop, entity: str) -> str:
    segment = loop.first("NM1", entity)
    return segment.element(9) if segment is not None else ""


def read_requests(text: str) -> list[Request278]:
    """Every 278 request (BHT02 13) in `text` as Request278; InvalidInput when it breaks a rule."""
    found: list[Request278] = []
    for _, _, transaction in _strict(text):
        bht, roots = _loops(transaction)
        for chain, event in _walk(roots, "EV"):
            found.append(_request(bht, chain, event))
    return found


def _request(bht: Segment, chain: list[_Loop], event: _Loop) -> Request278:
    umo, requester, subscriber = ([*chain, event, event, event])[:3]
    name = subscriber.first("NM1", "IL")
    dmg = subscriber.first("DMG")
    um = event.first("UM")
    trn = event.first("TRN")
    if name is None or dmg is None or um is None or trn is None:
        raise InvalidInput.field("2000E", "The 278 request lacks its subscriber or event data.")
    payer = umo.first("NM1")
    start, end = _period(event.first("DTP", "472"))
    hi = event.first("HI")
    diagnoses: tuple[str, ...] = ()
    if hi is not None:
        parts = (hi.components(n) for n in range(1, len(hi.elements) + 1))
        diagnoses = tuple(_icd(p[1]) for p in parts if len(p) > 1 and p[1])
    created = dt.datetime.strptime(bht.element(4) + bht.element(5)[:4], "%Y%m%d%H%M")
    lines = []
    for line in event.children:
        sv1, line_um = line.first("SV1"), line.first("UM")
        line_start, line_end = _period(line.first("DTP", "472"))
        line_trn = line.first("TRN")
        if sv1 is None or line_um is None or line_start is None or line_end is None:
            raise InvalidInput.field("2000F", "A 278 service line lacks SV1, UM or DTP*472.")
        lines.append(
            Line278(
                line_trn.element(2) if line_trn else "",
                sv1.components(1)[1] if len(sv1.components(1)) > 1 else "",
                int(float(sv1.element(4) or "0")),
                line_start,
                line_end,
                line_um.components(4)[0],
                line_um.element(3),
            )
        )
    if start is None or end is None:
        raise InvalidInput.field("2000E", "The 278 request has no DTP*472 service dates.")
    facility = _nm1_id(event, "FA")
    previous = event.first("REF", "BB")
    return Request278(
        reference=bht.element(3),
        created_at=created.replace(tzinfo=dt.UTC),
        payer_name=payer.element(3) if payer else "",
        payer_id=payer.element(9) if payer else "",
        requester_npi=_nm1_id(requester, "1P") or _nm1_id(requester, "FA"),
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
        diagnoses=diagnoses,
        from_date=start,
        to_date=end,
        rendering_npi=_nm1_id(event, "SJ"),
        facility_npi=facility or None,
        lines=tuple(lines),
        authorization_number=previous.element(2) if previous is not None else "",
    )


# -- responses ---------------------------------------------------------------------------------


class ResultKind(StrEnum):
    DECIDED = "decided"  # a Determination to record (approved, partial, denied, not required)
    PENDED = "pended"  # the payer is still reviewing
    INFO_REQUESTED = "info_requested"  # pended, and the payer asks for documents (PWK)
    CONTACT_PAYER = "contact_payer"  # a person must call the payer
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # AAA: the payer could not process it; see issues and follow-up


@dataclass(frozen=True, slots=True)
class LineReview:
    """The payer's HCR on one 2000F service line."""

    trace: str
    action: str
    code: str
    units: int
    number: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A PWK: the payer wants a document of `report_type`, sent by `transmission`."""

    report_type: str
    transmission: str
    control: str = ""


@dataclass(frozen=True, slots=True)
class Response278:
    kind: ResultKind
    trace: str  # our TRN02, echoed back (TRN01 2)
    action: str = ""  # HCR01 of the event
    determination: Determination | None = None
    certification_number: str = ""
    reference: str = ""  # REF*NT
    lines: tuple[LineReview, ...] = ()
    messages: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    follow_up: str = ""  # AAA04 of the first rejection
    issues: tuple[Issue, ...] = ()

    @property
    def request_key(self) -> str:
        return trace_key(self.trace)[0]


def read_responses(
    text: str,
    *,
    lines: Sequence[ServiceLine] | None = None,
    received_on: dt.date | None = None,
) -> list[Response278]:
    """One Response278 per patient event (2000E) of every 278 response in `text`; a rejection
    without a 2000E (AAA on the payer, requester or subscriber) gives one rejected result.

    `lines`: the lines we asked for, matched to 2000F by our trace suffix (else in order), so a
    modified line can name the code that was asked for; without them the SV1 code is used."""
    results: list[Response278] = []
    for interchange, group, transaction in _strict(text):
        bht, roots = _loops(transaction)
        if bht.element(2) not in ("11", "13"):
            raise InvalidInput.field("BHT02", "BHT02 must be 11 (response).", "x12.code")
        issued = _date(bht.element(4))
        where = _At(interchange, group, transaction)
        upper = _rejections(roots, where)
        events = list(_walk(roots, "EV"))
        if not events:
            results.append(_rejected("", upper or _no_event(where)))
            continue
        for chain, event in events:
            rejections = [*_rejections_in(chain, where), *_event_rejections(event, where)]
            results.append(_response(event, rejections, issued, lines, received_on))
    return results


def _where(where: _At, loop: _Loop, segment: Segment | None) -> str:
    transaction = where.transaction
    position = loop.position
    if segment is not None:
        for index, s in enumerate(transaction.segments, start=1):
            if s is segment:
                position = index
    loop_id = {
        "20": "2000A",
        "21": "2000B",
        "22": "2000C",
        "23": "2000D",
        "EV": "2000E",
        "SS": "2000F",
    }.get(loop.level, loop.level)
    tag = segment.tag if segment is not None else "HL"
    at = locate(where.interchange, where.group, transaction.position, segment=position, tag=tag)
    return f"{at} loop {loop_id}"


def _aaa(loop: _Loop, where: _At) -> list[tuple[Issue, str]]:
    found = []
    for segment in loop.all("AAA"):
        if segment.element(1) == "Y" and not segment.element(3):
            continue
        reason, follow = segment.element(3), segment.element(4)
        words = AAA03_REASONS.get(reason, "a reason this reader does not know")
        then = AAA04_FOLLOW_UPS.get(follow, "")
        message = f"The payer rejected the request: {words} (AAA03 {reason})"
        message += f"; {then}." if then else "."
        found.append((Issue("x12.rejected", message, _where(where, loop, segment)), follow))
    return found


def _rejections(roots: list[_Loop], where: _At) -> list[tuple[Issue, str]]:
    found: list[tuple[Issue, str]] = []
    for level in ("20", "21", "22", "23"):
        for _, loop in _walk(roots, level):
            found.extend(_aaa(loop, where))
    return found


def _rejections_in(chain: list[_Loop], where: _At) -> list[tuple[Issue, str]]:
    return [found for loop in chain for found in _aaa(loop, where)]


def _event_rejections(event: _Loop, where: _At) -> list[tuple[Issue, str]]:
    return [*_aaa(event, where), *(f for line in event.children for f in _aaa(line, where))]


def _no_event(where: _At) -> list[tuple[Issue, str]]:
    transaction = where.transaction
    message = "The 278 response has no patient event (2000E) and no rejection (AAA) to read."
    return [
        (
            Issue(
                "x12.no_event",
                message,
                locate(where.interchange, where.group, transaction.position),
            ),
            "",
        )
    ]


def _rejected(trace: str, rejections: list[tuple[Issue, str]]) -> Response278:
    return Response278(
        ResultKind.REJECTED,
        trace,
        follow_up=rejections[0][1] if rejections else "",
        issues=tuple(issue for issue, _ in rejections),
    )


def _response(
    event: _Loop,
    rejections: list[tuple[Issue, str]],
    issued: dt.date,
    asked: Sequence[ServiceLine] | None,
    received_on: dt.date | None,
) -> Response278:
    trn = event.first("TRN")
    trace = trn.element(2) if trn is not None else ""
    if rejections:
        return _rejected(trace, rejections)
    hcr = event.first("HCR")
    reviews = tuple(_line_review(line) for line in event.children)
    action = hcr.element(1) if hcr is not None else ""
    if not action and reviews:
        action = reviews[0].action
    number = (hcr.element(2) if hcr is not None else "") or next(
        (r.number for r in reviews if r.number), ""
    )
    ref = event.first("REF", "NT")
    reference = ref.element(2) if ref is not None else ""
    messages = tuple(s.element(1) for s in event.all("MSG"))
    attachments = tuple(
        Attachment(s.element(1), s.element(2), s.element(6)) for s in event.all("PWK")
    )
    base = Response278(
        ResultKind.DECIDED,
        trace,
        action,
        certification_number=number,
        reference=reference,
        lines=reviews,
        messages=messages,
        attachments=attachments,
    )
    window = _period(event.first("DTP", "AAH") or event.first("DTP", "382"))
    if window == (None, None):
        window = next(
            (_period(s) for line in event.children for s in line.all("DTP", "AAH")), window
        )
    issue_dtp = event.first("DTP", "AAM")
    decided = _period(issue_dtp)[0] or issued or received_on
    assert decided is not None
    reasons = tuple(
        dict.fromkeys(r for r in [hcr.element(3) if hcr else "", *(x.reason for x in reviews)] if r)
    )
    npi = _nm1_id(event, "SJ") or None
    facility = _nm1_id(event, "FA") or None

    def determination(outcome: Outcome, decisions: tuple[LineDecision, ...] = ()) -> Determination:
        return Determination(
            outcome,
            Method.X12,
            decided,
            authorization_number=number,
            valid_from=window[0],
            valid_to=window[1],
            provider_npi=npi,
            facility_npi=facility,
            reason_codes=reasons,
            reference=reference,
            lines=decisions,
        )

    from dataclasses import replace

    if action in ("A4", "CT", ""):
        kind = ResultKind.CONTACT_PAYER if action == "CT" else ResultKind.PENDED
        if attachments and action != "CT":
            kind = ResultKind.INFO_REQUESTED
        return replace(base, kind=kind, determination=determination(Outcome.PENDED))
    if action == "C":
        return replace(base, kind=ResultKind.CANCELLED)
    if action == "NA":
        return replace(base, determination=determination(Outcome.NOT_REQUIRED))
    if action == "A3":
        decisions = tuple(
            LineDecision(_asked_code(r, i, asked), 0, LineStatus.DENIED)
            for i, r in enumerate(reviews)
        )
        return replace(base, determination=determination(Outcome.DENIED, decisions))
    decisions = _decisions(action, reviews, asked)
    partial = action in ("A2", "A6") or any(d.status is not LineStatus.APPROVED for d in decisions)
    outcome = Outcome.PARTIALLY_APPROVED if partial else Outcome.APPROVED
    return replace(base, determination=determination(outcome, decisions))


def _line_review(line: _Loop) -> LineReview:
    trn, hcr, sv1, sv2 = line.first("TRN"), line.first("HCR"), line.first("SV1"), line.first("SV2")
    code, units = "", 0
    if sv1 is not None:
        parts = sv1.components(1)
        code = parts[1] if len(parts) > 1 else ""
        units = _units(sv1.element(4))
    elif sv2 is not None:
        parts = sv2.components(2)
        code = parts[1] if len(parts) > 1 else sv2.element(1)
        units = _units(sv2.element(5))
    return LineReview(
        trn.element(2) if trn is not None else "",
        hcr.element(1) if hcr is not None else "",
        code,
        units,
        hcr.element(2) if hcr is not None else "",
        hcr.element(3) if hcr is not None else "",
    )


def _units(value: str) -> int:
    try:
        return int(float(value)) if value else 0
    except ValueError:
        return 0


def _asked(
    review: LineReview, index: int, asked: Sequence[ServiceLine] | None
) -> ServiceLine | None:
    if not asked:
        return None
    _, _, suffix = review.trace.rpartition(".")
    if review.trace.count(".") >= 2 and suffix.isdigit() and 1 <= int(suffix) <= len(asked):
        return asked[int(suffix) - 1]
    return asked[index] if index < len(asked) else None


def _asked_code(review: LineReview, index: int, asked: Sequence[ServiceLine] | None) -> str:
    line = _asked(review, index, asked)
    return line.code if line is not None else review.code


def _decisions(
    action: str, reviews: tuple[LineReview, ...], asked: Sequence[ServiceLine] | None
) -> tuple[LineDecision, ...]:
    if not reviews:
        return tuple(LineDecision(line.code, line.units) for line in asked or ())
    decisions = []
    for index, review in enumerate(reviews):
        line = _asked(review, index, asked)
        code = line.code if line is not None else review.code
        line_action = review.action or action
        if line_action == "A3":
            decisions.append(LineDecision(code, 0, LineStatus.DENIED))
            continue
        units = review.units or (line.units if line is not None else 1)
        changed = review.code and review.code != code
        fewer = line is not None and units < line.units
        if line_action in ("A6", "A2") or changed or fewer:
            decisions.append(
                LineDecision(code, units, LineStatus.MODIFIED, review.code if changed else None)
            )
        else:
            decisions.append(LineDecision(code, units))
    return tuple(decisions)
