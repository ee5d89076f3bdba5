"""The simulator's X12 face, without HTTP: one interchange in, one interchange out.

A 278 request is adjudicated by the same rules as a PAS submission (payer id, procedure code,
member id) and answered with a 278 response (HCR01 A1/A2/A6/A3/A4/CT/NA, the authorization
number, REF*NT, DTP*AAH); an unknown member gets AAA*N**75*C on the subscriber. The answer is
kept in the simulator's state under the request key of the trace number (`trace_key`), so the
same request again gets the same answer and never a second authorization. A file that breaks the
envelope or X217 rules is answered with a rejecting 999 (IK3/IK4 at the failing segment).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import ControlCounter, Party, X12Document
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

Clock = Callable[[], dt.datetime]

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
        document = check_278(text)
        now = self.simulator.clock()
        if document.findings:
            return acknowledge(document, at=now, next_control=self.next_control)
        requests = read_requests(text)
        if not requests:
            raise InvalidInput.field("BHT", "The 278 holds no request (2000E).", "x12.no_request")
        to = _sender_of(document)
        return "".join(self._answer_one(r, to) for r in requests)

    def _answer_one(self, r: Request278, to: Party) -> str:
        identifier = "x12:" + trace_key(r.trace)[0]
        state = self.simulator.state
        with self._lock:
            now = self.simulator.clock()
            stored, new = state.add(identifier, {"channel": "x12", "trace": r.trace}, now)
            kept = stored.response
            if not new and kept:
                decide_at = kept.get("decide_at")
                if not decide_at or dt.datetime.fromisoformat(str(decide_at)) > now:
                    return str(kept["x12"])  # a resubmission: the same answer, nothing new
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
            answer = {"x12": text, "decide_at": decide_at.isoformat() if decide_at else None}
            state.answer(stored.number, answer, number, None)
            return text


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
