"""The simulator's X12 face, without HTTP: one interchange in, one interchange out.

A 278 request is adjudicated by the same rules as a PAS submission (payer id, procedure code,
member id) and answered with a 278 response (HCR01 A1/A2/A6/A3/A4/CT/NA, the authorization
number, REF*NT, DTP*AAH); an unknown member gets AAA*N**75*C on the subscriber. The answer is
kept in the simulator's state under the request key of the trace number (`trace_key`), so the
same request again gets the same answer and never a second authorization. A file that breaks the
envelope or X217 rules is answered with a rejecting 999 (IK3/IK4 at the failing segment).

A 270 eligibility inquiry (ST01 270) is answered with a 271 (channels/x12/tx271_write.py): active
coverage (EB*1, plan coverage 30) for a plan running through the service date's calendar year
(DTP*346/347), then one EB*1 per service type asked (EQ) whose EB11 is Y (authorization required)
unless the rules answer "not-required" for every sample code of that type (`SAMPLE_CODES`; a
type with no samples is asked about with no code, so only code-free rules apply). A member the
rules treat as unknown (an `unknown-member` rule, or an id starting SIM-UNKNOWN) gets AAA*N**75*C
on the subscriber and no benefits. Nothing about a 270 is stored: the same inquiry gets the same
answer because the rules do not change. A 270 whose envelope is broken gets a rejecting 999.

A 278 with UM02 3 (cancel), 4 (extension) or S (revised) refers to a certification by REF*BB and
to the original request by its trace key. The number must be the one the simulator gave that
request, and not cancelled, else AAA*N**AA*C in 2000E (authorization number not found; correct
it and send again). A cancel is answered HCR*C*<number> on the event and every line (the TR3's
"cancelled" action; the certification then counts as gone, so a later extension of it is
refused the same way). An extension or revision is adjudicated by the rules like a new request
but at once (a pend rule's `then`), and what is granted keeps the SAME certification number
(HCR02) with the new dates and units (DTP*AAH covers the new end). Amendments are stored under
the request key, UM02 and a digest of their content: the same one again gets the same answer,
a different one is decided anew, and none issues a new authorization number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import ControlCounter, Party, X12Document, read
from precert.channels.x12.tx215 import is_215
from precert.channels.x12.tx270 import EligibilityInquiry, read_270
from precert.channels.x12.tx271_write import Answer271, BenefitRow, write_271
from precert.channels.x12.tx278 import (
    LineAnswer,
    Request278,
    response_segments,
    trace_key,
    write_278,
)
from precert.channels.x12.tx278_read import check_278, read_requests
from precert.errors import InvalidInput
from precert.payer_sim.pas import GRANTED, VALID_DAYS
from precert.payer_sim.rules import Decision, Kind
from precert.payer_sim.simulator import Simulator, reference_for
from precert.payer_sim.x12_inquiry import answer_inquiry

Clock = Callable[[], dt.datetime]

PLAN_NAME = "SIMULATED PLAN"
UNKNOWN_PREFIX = "SIM-UNKNOWN"
# Codes that stand for a service type when a 270 asks about it (the 270 carries no codes): each
# maps back to its type through domain.eligibility.service_type_for (a test checks that).
SAMPLE_CODES: dict[str, tuple[str, ...]] = {
    "2": ("27447", "29881"),
    "4": ("71046", "73030"),
    "5": ("80053",),
    "6": ("77385",),
    "33": ("98940",),
    "48": ("99223",),
    "62": ("70551", "70553", "72148"),
    "76": ("90960",),
    "86": ("99284",),
    "88": ("J1745", "J0585"),
    "98": ("99213", "99214"),
    "AD": ("97165",),
    "DM": ("E0601", "K0823"),
    "MH": ("90834",),
    "PT": ("97110", "97161"),
}

# UM02 of a request that refers to an earlier certification: 3 cancel, 4 extension, S revised.
AMENDMENT_TYPES = frozenset({"3", "4", "S"})
_LINE_ACTIONS = {
    Kind.APPROVE: "A1",
    Kind.PARTIAL: "A2",
    Kind.MODIFY: "A6",
    Kind.DENY: "A3",
    Kind.PEND: "A4",
    Kind.CONTACT_PAYER: "CT",
    Kind.NOT_REQUIRED: "NA",
}


class X12Payer:
    """Answers X12 interchanges for `simulator`, sharing its rules and state."""

    def __init__(self, simulator: Simulator, next_control: Callable[[], int] | None = None):
        self.simulator = simulator
        self.next_control = next_control or ControlCounter()
        # One adjudication at a time: a retry racing its original must not decide twice.
        self._lock = threading.Lock()

    def answer(self, text: str) -> str:
        """The interchange answering `text`: a 278 response per request, or a rejecting 999.
        InvalidInput when `text` has no readable ISA or holds no 278 request."""
        if _is_270(text):
            return self._answer_270(text)
        if is_215(text):  # a 278 inquiry: the current answer on an earlier request
            return answer_inquiry(self.simulator, text, self.next_control, payer=self)
        document = check_278(text)
        now = self.simulator.clock()
        if document.findings:
            return acknowledge(document, at=now, next_control=self.next_control)
        requests = read_requests(text)
        if not requests:
            raise InvalidInput.field("BHT", "The 278 holds no request (2000E).", "x12.no_request")
        to = _sender_of(document)
        return "".join(self._answer_one(r, to) for r in requests)

    def _answer_270(self, text: str) -> str:
        """The 271 for every subscriber inquiry of a 270 (see the module docstring)."""
        document = read(text)
        now = self.simulator.clock()
        if document.findings:
            return acknowledge(document, at=now, next_control=self.next_control)
        inquiries = read_270(text)
        if not inquiries:
            raise InvalidInput.field("2000C", "The 270 holds no subscriber inquiry.", "x12.270")
        answers = [self.eligibility(inquiry) for inquiry in inquiries]
        reference = _bht_reference(document) or inquiries[0].trace
        first = inquiries[0]
        return write_271(
            answers,
            sender=Party("ZZ", _payer_party(first.payer_id)),
            receiver=_sender_of(document),
            at=now,
            next_control=self.next_control,
            reference=reference,
        )

    def eligibility(self, inquiry: EligibilityInquiry) -> Answer271:
        """What the simulated payer says about one member's coverage."""
        rules, payer, member = self.simulator.rules, inquiry.payer_id, inquiry.member_id
        if member.startswith(UNKNOWN_PREFIX) or any(
            rules.decide(payer, code, member).kind is Kind.UNKNOWN_MEMBER
            for code in _codes_for(inquiry.service_types)
        ):
            # AAA03 75 subscriber not found, AAA04 C correct and resubmit.
            return Answer271(inquiry, reject=("75", "C"))
        year = inquiry.service_date.year if inquiry.service_date != dt.date.min else 2000
        rows = [BenefitRow("1", "30", plan=PLAN_NAME)]
        for service_type in dict.fromkeys(inquiry.service_types):
            if service_type == "30":
                continue  # the plan row answers it
            free = all(
                rules.decide(payer, code, member).kind is Kind.NOT_REQUIRED
                for code in SAMPLE_CODES.get(service_type, ("",))
            )
            rows.append(BenefitRow("1", service_type, authorization="N" if free else "Y"))
        return Answer271(
            inquiry,
            benefits=tuple(rows),
            plan_begin=dt.date(year, 1, 1),
            plan_end=dt.date(year, 12, 31),
        )

    def _answer_one(self, r: Request278, to: Party) -> str:
        if r.certification_type in AMENDMENT_TYPES:
            return self._amend(r, to)
        identifier = "x12:" + trace_key(r.trace)[0]
        state = self.simulator.state
        with self._lock:
            now = self.simulator.clock()
            stored, new = state.add(identifier, {"channel": "x12", "trace": r.trace}, now)
            kept = stored.response
            if not new and kept and not kept.get("rejected"):
                decide_at = kept.get("decide_at")
                if not decide_at or dt.datetime.fromisoformat(str(decide_at)) > now:
                    return str(kept["x12"])  # a resubmission: the same answer, nothing new
            # New, or a corrected resubmission after an AAA rejection: adjudicate what was sent.
            decisions = [
                self.simulator.rules.decide(r.payer_id, line.code, r.member_id) for line in r.lines
            ]
            if kept and kept.get("decide_at"):  # the pend is over: each line gets its `then`
                decisions = [d.then if d.kind is Kind.PEND and d.then else d for d in decisions]
            pended = [d for d in decisions if d.kind is Kind.PEND]
            number = (
                f"SIM{stored.number:08d}"
                if not pended and any(d.kind in GRANTED for d in decisions)
                else None
            )
            segments = _segments(r, decisions, now, number or "", reference_for(stored.number))
            text = write_278(
                r,
                at=now,
                next_control=self.next_control,
                sender=Party("ZZ", _payer_party(r.payer_id)),
                receiver=to,
                segments=segments,
            )
            decide_at = (
                now + dt.timedelta(seconds=max(d.after_seconds for d in pended)) if pended else None
            )
            # decide_at stays in the answer, not the row's column: the PAS decision thread reads
            # that column and knows only Bundles. A pended X12 request is decided when asked again.
            answer = {
                "x12": text,
                "decide_at": decide_at.isoformat() if decide_at else None,
                "rejected": any(d.kind is Kind.UNKNOWN_MEMBER for d in decisions),
            }
            state.answer(stored.number, answer, number, None)
            return text

    def _amend(self, r: Request278, to: Party) -> str:
        """The answer to a cancel, extension or revision (see the module docstring); stored
        under its own content, so the same amendment again gets the same answer."""
        state = self.simulator.state
        with self._lock:
            now = self.simulator.clock()
            record = {"channel": "x12", "trace": r.trace, "refers_to": r.authorization_number}
            stored, new = state.add(_amendment_id(r), record, now)
            if not new and stored.response:
                return str(stored.response["x12"])
            original = state.find("x12:" + trace_key(r.trace)[0])
            known = (
                original is not None
                and original.authorization_number == r.authorization_number
                and not original.response.get("cancelled")
            )
            if not known:
                # AAA03 AA authorization number not found, AAA04 C correct and resubmit.
                segments = response_segments(r, at=now, reject=("EV", "AA", "C"))
            elif r.certification_type == "3":
                segments = _cancelled(r, now)
            else:
                decisions = [
                    self._decide_now(r.payer_id, line.code, r.member_id) for line in r.lines
                ]
                segments = _segments(
                    r, decisions, now, r.authorization_number, reference_for(stored.number)
                )
            text = write_278(
                r,
                at=now,
                next_control=self.next_control,
                sender=Party("ZZ", _payer_party(r.payer_id)),
                receiver=to,
                segments=segments,
            )
            # No authorization number on the amendment's row: it issues none of its own.
            state.answer(stored.number, {"x12": text, "rejected": not known}, None, None)
            if known and original is not None and r.certification_type == "3":
                kept = {**original.response, "cancelled": True}
                state.answer(original.number, kept, original.authorization_number, None)
            return text

    def _decide_now(self, payer: str, code: str, member: str) -> Decision:
        """A line of an extension or revision is decided at once: a pend rule gives its later
        decision (`then`) straight away, as our amendments are not inquired about later."""
        decision = self.simulator.rules.decide(payer, code, member)
        return decision.then if decision.kind is Kind.PEND and decision.then else decision


def _amendment_id(r: Request278) -> str:
    """The state key of an amendment: the request key, UM02 and a digest of what it asks, so a
    retry is recognised and a second, different extension is a new request."""
    asked = [r.trace, r.certification_type, r.authorization_number, r.to_date.isoformat()]
    asked += [f"{line.code}:{line.units}:{line.to_date.isoformat()}" for line in r.lines]
    digest = hashlib.sha256("|".join(asked).encode()).hexdigest()[:16]
    return f"x12:{trace_key(r.trace)[0]}:{r.certification_type}:{digest}"


def _cancelled(r: Request278, now: dt.datetime) -> list[tuple[str, ...]]:
    """HCR*C with the cancelled certification's number, on the event and every line."""
    number = r.authorization_number
    return response_segments(
        r,
        at=now,
        action="C",
        number=number,
        lines=tuple(LineAnswer("C", number) for _ in r.lines),
    )


def _segments(
    r: Request278, decisions: list[Decision], now: dt.datetime, number: str, reference: str
) -> list[tuple[str, ...]]:
    if any(d.kind is Kind.UNKNOWN_MEMBER for d in decisions):
        # AAA03 75 subscriber/insured not found, AAA04 C please correct and resubmit.
        return response_segments(r, at=now, reject=("22", "75", "C"))
    if any(d.kind is Kind.PEND for d in decisions):
        return response_segments(
            r,
            at=now,
            action="A4",
            reference=reference,
            lines=tuple(LineAnswer("A4") for _ in r.lines),
        )
    answers = tuple(
        _line_answer(line.units, d, number) for line, d in zip(r.lines, decisions, strict=True)
    )
    # A line that needs no authorization does not make the rest a partial approval.
    actions = {a.action for a in answers if a.action != "NA"} or {"NA"}
    granted = [line for line, d in zip(r.lines, decisions, strict=True) if d.kind in GRANTED]
    if len(actions) == 1:
        (action,) = actions
    elif granted:
        action = "A2"  # some lines granted, others not: certified in part
    elif "CT" in actions:
        action = "CT"
    else:
        action = "A3"
    reason = next((a.reason for a in answers if a.reason), "") if action == "A3" else ""
    window = None
    if granted:
        start = min(line.from_date for line in granted)
        end = max([start + dt.timedelta(days=VALID_DAYS - 1), *(line.to_date for line in granted)])
        window = (start, end)
    return response_segments(
        r,
        at=now,
        action=action,
        number=number if granted else "",
        reason=reason,
        window=window,
        reference=reference if action in ("CT", "A4") else "",
        lines=answers,
    )


def _line_answer(asked: int, decision: Decision, number: str) -> LineAnswer:
    action = _LINE_ACTIONS[decision.kind]
    if decision.kind is Kind.DENY:
        return LineAnswer(action, reason=decision.reason)
    if decision.kind not in GRANTED:
        return LineAnswer(action)
    units = min(decision.units, asked) if decision.units is not None else None
    return LineAnswer(action, number=number, code=decision.code, units=units)


def _sender_of(document: X12Document) -> Party:
    """The answer goes back to whoever sent the request (ISA05/ISA06)."""
    interchange = document.interchanges[0]
    return Party(interchange.element(5) or "ZZ", interchange.element(6) or "SUBMITTER")


def _payer_party(payer_id: str) -> str:
    cleaned = "".join(c for c in payer_id.upper() if c.isalnum())
    return (cleaned or "PAYER")[:15]


def _is_270(text: str) -> bool:
    """Whether `text` holds a 270, without reading it all (the 278 path stays one parse): the
    ISA fixes the element separator (position 3) and segment terminator (position 105)."""
    if not text.startswith("ISA") or len(text) < 106:
        return False
    element, terminator = text[3], text[105]
    header = f"ST{element}270{element}"
    return any(f"{terminator}{gap}{header}" in text for gap in ("", "\n", "\r\n"))


def _codes_for(service_types: tuple[str, ...]) -> list[str]:
    codes = [code for t in service_types for code in SAMPLE_CODES.get(t, ())]
    return codes or [""]


def _bht_reference(document: X12Document) -> str:
    for group in document.groups():
        for transaction in group.sets:
            if len(transaction.segments) > 1 and transaction.segments[1].tag == "BHT":
                return transaction.segments[1].element(3)
    return ""
