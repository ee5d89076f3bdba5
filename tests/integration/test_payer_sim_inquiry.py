"""The payer simulator's answer to 278 inquiries (005010X215) over real HTTP on 127.0.0.1: a
request submitted as a 278 and then inquired about gets its current decision, a pend whose delay
is over is decided once, an unknown request gets AAA, a broken envelope a TA1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.test_payer_sim_pas import RULES, START, Clock, request_for
from tests.integration.web.live_server import serving

from precert.channels.x12.ack999 import read_999
from precert.channels.x12.envelope import ControlCounter
from precert.channels.x12.ta1 import read_ta1
from precert.channels.x12.tx215 import build_215, read_inquiry_responses
from precert.channels.x12.tx278 import build_278, trace_number
from precert.channels.x12.tx278_read import Response278, ResultKind, read_responses
from precert.domain.authorizations import AuthorizationRequest
from precert.domain.determinations import Outcome
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.state import State

EDI = {"content-type": "application/edi-x12"}


class InquirySim:
    def __init__(self, url: str, clock: Clock, state_dir: Path) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.clock = clock
        self.state_dir = state_dir
        self.controls = ControlCounter()

    def post(self, text: str) -> str:
        response = self.http.post("/x12", content=text.encode(), headers=EDI)
        assert response.status_code == 200, response.text
        return response.text

    def submit(self, request: AuthorizationRequest) -> Response278:
        text = self.post(build_278(request, at=START, next_control=self.controls))
        (result,) = read_responses(text, lines=request.lines)
        return result

    def inquiry(self, request: AuthorizationRequest, number: str = "") -> str:
        trace = trace_number(request.id, 1)
        return build_215(
            request,
            trace=trace,
            at=self.clock(),
            next_control=self.controls,
            certification_number=number,
        )

    def inquire(self, request: AuthorizationRequest, number: str = "") -> Response278:
        text = self.post(self.inquiry(request, number))
        assert "ST*278*" in text and "*005010X215~" in text
        (result,) = read_inquiry_responses(text, lines=request.lines)
        return result

    def authorizations(self) -> int:
        state = State(self.state_dir)
        try:
            return state.authorization_count()
        finally:
            state.close()


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[InquirySim]:
    clock = Clock()
    with serving(create_sim_app(RULES, tmp_path / "sim", clock, interval=0.02)) as url:
        sim = InquirySim(url, clock, tmp_path / "sim")
        yield sim
        sim.http.close()


def test_an_inquiry_about_an_approved_request_gives_its_authorization(sim: InquirySim) -> None:
    request = request_for("inq-approve", "OK-1")
    submitted = sim.submit(request)
    sim.clock.now = START + dt.timedelta(days=2)
    result = sim.inquire(request, submitted.certification_number)
    assert (result.kind, result.action) == (ResultKind.DECIDED, "A1")
    assert result.trace == "inq-approve.1"
    assert result.certification_number == submitted.certification_number
    assert result.determination is not None
    assert result.determination.outcome is Outcome.APPROVED
    # Decided on the day of the decision, not of the inquiry.
    assert result.determination.decision_date == START.date()
    assert sim.authorizations() == 1


def test_a_pend_is_decided_once_when_inquired_about_after_its_delay(sim: InquirySim) -> None:
    request = request_for("inq-pend", "PEND-1")
    assert sim.submit(request).action == "A4"
    early = sim.inquire(request)
    assert (early.kind, early.action) == (ResultKind.PENDED, "A4")
    assert sim.authorizations() == 0
    sim.clock.now = START + dt.timedelta(seconds=61)
    decided = sim.inquire(request)
    assert (decided.kind, decided.action) == (ResultKind.DECIDED, "A1")
    assert decided.certification_number.startswith("SIM")
    again = sim.inquire(request)
    assert again.certification_number == decided.certification_number
    assert sim.submit(request).certification_number == decided.certification_number
    assert sim.authorizations() == 1


def test_an_inquiry_about_a_request_never_received_is_rejected(sim: InquirySim) -> None:
    result = sim.inquire(request_for("inq-unknown", "OK-2"))
    assert result.kind is ResultKind.REJECTED
    assert result.trace == "inq-unknown.1"
    assert result.follow_up == "C"
    assert result.issues[0].message == (
        "The payer rejected the request: authorization number not found (AAA03 AA); correct "
        "the request and send it again."
    )


def test_an_inquiry_about_a_rejected_request_repeats_the_rejection(sim: InquirySim) -> None:
    request = request_for("inq-unk-member", "UNK-1")
    assert sim.submit(request).kind is ResultKind.REJECTED
    result = sim.inquire(request)
    assert result.kind is ResultKind.REJECTED
    assert "(AAA03 75)" in result.issues[0].message
    assert sim.authorizations() == 0


def test_an_inquiry_with_a_broken_envelope_gets_a_ta1(sim: InquirySim) -> None:
    text = sim.inquiry(request_for("inq-cut", "OK-3")).split("GE*")[0]
    (ack,) = read_ta1(sim.post(text))
    assert (ack.status, ack.note) == ("R", "023")


def test_an_inquiry_that_breaks_an_x215_rule_gets_a_rejecting_999(sim: InquirySim) -> None:
    text = sim.inquiry(request_for("inq-bad", "OK-4")).replace("UM*HS*I*", "UM*ZZ*I*")
    (group,) = read_999(sim.post(text))
    assert not group.accepted
    (answered,) = group.sets
    assert [(e.tag, e.position) for e in answered.errors] == [("UM", "12")]
