"""The simulator's answer to a 278 inquiry (005010X215): where a 278 request stands, from the
simulator's stored state, as an X215 278 response.

The request is found by the key of the inquiry's trace ("x12:<key>", as payer_sim/x12.py
stores it). Its stored X217 answer is sent back as an X215 response (the same loops; BHT03 set
to the inquiry's BHT03, BHT04/BHT05 kept, so the decision keeps its date). A pend whose delay is
over is decided first, by X12Payer with the request rebuilt from the stored answer (the request
itself is not stored; a pended answer echoes its lines' codes, units and dates), exactly as a
repeated 278 would be. A request the simulator never received gets AAA*N**AA*C on the patient
event: authorization not found, correct and send (the request, not another inquiry). A broken
envelope gets a TA1 rejection; a broken inquiry a rejecting 999.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import Party, X12Document, read
from precert.channels.x12.ta1 import needs_ta1, write_ta1
from precert.channels.x12.tx215 import (
    Inquiry215,
    check_215,
    read_inquiries,
    read_patient_event,
    write_215,
)
from precert.channels.x12.tx278 import Request278, response_segments
from precert.errors import InvalidInput
from precert.payer_sim.simulator import Simulator

if TYPE_CHECKING:  # x12.py imports this module to dispatch X215 here: no import cycle at run time
    from precert.payer_sim.x12 import X12Payer

# AAA03 AA authorization number not found; AAA04 C correct and resubmit.
NOT_FOUND = ("EV", "AA", "C")


def answer_inquiry(
    simulator: Simulator,
    text: str,
    next_control: Callable[[], int],
    *,
    payer: X12Payer | None = None,
) -> str:
    """The interchange answering the X215 inquiry `text` (see the module docstring). `payer`:
    the app's X12Payer, so a due pend is decided under the same lock as a repeated 278."""
    document = check_215(text)
    now = simulator.clock()
    if needs_ta1(document):
        return write_ta1(document, at=now, next_control=next_control)
    if document.findings:
        return acknowledge(document, at=now, next_control=next_control)
    to = _sender_of(document)
    if payer is None:
        from precert.payer_sim.x12 import X12Payer

        payer = X12Payer(simulator, next_control)
    return "".join(_answer_one(simulator, payer, q, to, next_control) for q in read_inquiries(text))


def _answer_one(
    simulator: Simulator,
    payer: X12Payer,
    q: Inquiry215,
    to: Party,
    next_control: Callable[[], int],
) -> str:
    now = simulator.clock()
    me = Party("ZZ", _payer_party(q.request.payer_id))
    stored = simulator.state.find("x12:" + q.request_key)
    if stored is None or not stored.response or "x12" not in stored.response:
        segments = response_segments(q.request, at=now, reject=NOT_FOUND)
        segments[0] = _bht(segments[0], q.reference)
        return write_215(segments, at=now, next_control=next_control, sender=me, receiver=to)
    kept = stored.response
    answer = str(kept["x12"])
    decide_at = kept.get("decide_at")
    if decide_at and not kept.get("rejected") and dt.datetime.fromisoformat(decide_at) <= now:
        # The pend is over: the same path as the request sent again (decided once, stored).
        answer = payer._answer_one(_stored_request(answer), to)
    segments = _body(answer)
    segments[0] = _bht(segments[0], q.reference)
    return write_215(segments, at=now, next_control=next_control, sender=me, receiver=to)


def _bht(bht: tuple[str, ...], reference: str) -> tuple[str, ...]:
    """BHT with BHT03 set to the inquiry's reference (what the requester matches on)."""
    return (*bht[:3], reference[:50], *bht[4:])


def _body(x217: str) -> list[tuple[str, ...]]:
    """The segments between ST and SE of the one 278 in a stored X217 answer."""
    document = read(x217)
    for group in document.groups():
        for transaction in group.sets:
            if transaction.code == "278":
                return [(s.tag, *s.elements) for s in transaction.body]
    raise InvalidInput.field("ST", "The stored answer holds no 278.", "x12.no_278")


def _stored_request(x217: str) -> Request278:
    """The request behind a stored X217 response (its 2000A-2000F echo)."""
    document = read(x217)
    transaction = next(s for g in document.groups() for s in g.sets if s.code == "278")
    body = transaction.body
    event = next(i for i, s in enumerate(body) if s.tag == "HL" and s.element(3) == "EV")
    above = [s for s in body[1:event] if s.tag != "HL"]
    request, _ = read_patient_event(above, body[event + 1 :])
    return request


def _sender_of(document: X12Document) -> Party:
    interchange = document.interchanges[0]
    return Party(interchange.element(5) or "ZZ", interchange.element(6) or "SUBMITTER")


def _payer_party(payer_id: str) -> str:
    cleaned = "".join(c for c in payer_id.upper() if c.isalnum())
    return (cleaned or "PAYER")[:15]
