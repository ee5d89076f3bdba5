"""The 278 inquiry (005010X215): building it from a request and our trace, reading it back,
checking it against the X215 rules, and reading the payer's X215 response with the X217 reader."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from tests.unit.pas_fixtures import NOW, make_request

from precert.channels.x12.envelope import ControlCounter, Party
from precert.channels.x12.tx215 import (
    build_215,
    check_215,
    inquiry_215,
    is_215,
    read_inquiries,
    read_inquiry_responses,
    relabel,
    write_215,
)
from precert.channels.x12.tx278 import (
    LineAnswer,
    build_278,
    request_278,
    response_segments,
    trace_number,
)
from precert.channels.x12.tx278_read import ResultKind, read_responses
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.domain.determinations import Outcome
from precert.errors import InvalidInput

D = dt.date(2030, 3, 2)
PAYER = Party("ZZ", "ACMEHEALTH")
US = Party("ZZ", "PRECERT")


def _inquiry(request: AuthorizationRequest, attempt: int = 2, number: str = "") -> str:
    return build_215(
        request,
        trace=trace_number(request.id, attempt),
        at=NOW,
        next_control=ControlCounter(),
        certification_number=number,
    )


REQUESTS = {
    "two lines, facility": make_request(),
    "one line, no facility": make_request(
        lines=(ServiceLine("72148", 1, D, D, "22", ("M54.5",)),), facility_npi=None
    ),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_an_inquiry_reads_back_as_the_request_it_asks_about(name: str) -> None:
    request = REQUESTS[name]
    (read,) = read_inquiries(_inquiry(request, attempt=2, number="SIM00000007"))
    sent = request_278(request, at=NOW, attempt=2)
    assert read.request_key == request.id
    assert read.certification_number == "SIM00000007"
    assert read.reference == f"Q{sent.trace}"
    # An inquiry carries no diagnoses; everything else is what the 278 request carried.
    assert read.request == dataclasses.replace(sent, reference=read.reference, diagnoses=())


def test_an_inquiry_without_a_certification_number_has_no_ref_bb() -> None:
    text = _inquiry(make_request())
    assert "REF*BB" not in text
    assert read_inquiries(text)[0].certification_number == ""


def test_an_inquiry_passes_the_x215_rules_and_is_told_apart_from_a_278_request() -> None:
    inquiry = _inquiry(make_request())
    request = build_278(make_request(), at=NOW, next_control=ControlCounter())
    assert check_215(inquiry).findings == []
    assert is_215(inquiry)
    assert not is_215(request)
    assert not is_215("not x12 at all")


def test_a_278_request_checked_as_an_inquiry_names_the_version_to_use() -> None:
    request = build_278(make_request(), at=NOW, next_control=ControlCounter())
    messages = [i.message for i in check_215(request).issues]
    assert "ST03 is '005010X217'; a 278 here must be 005010X215." in messages
    with pytest.raises(InvalidInput, match="The 278 inquiry has 1 problem"):
        read_inquiries(request)


def test_bht02_other_than_13_or_11_is_a_located_finding() -> None:
    text = _inquiry(make_request()).replace("BHT*0007*13*", "BHT*0007*49*")
    (found,) = check_215(text).issues
    assert found.location == "ISA/GS[1]/ST[1]/segment 2 (BHT) element 02"
    assert "'49' is not a valid code here; use one of 11, 13." in found.message


def test_an_inquiry_needs_one_of_our_trace_numbers() -> None:
    with pytest.raises(InvalidInput, match="is not one of our 278 trace numbers") as caught:
        inquiry_215(make_request(), trace="PAYER-REF-1", at=NOW)
    assert caught.value.issues[0].location == "trace"


def test_a_response_to_an_inquiry_reads_as_a_determination() -> None:
    request = make_request()
    sent = request_278(request, at=NOW)
    segments = response_segments(
        sent,
        at=NOW,
        action="A1",
        number="SIM00000003",
        window=(D, D + dt.timedelta(days=89)),
        lines=(LineAnswer("A1", "SIM00000003"), LineAnswer("A1", "SIM00000003")),
    )
    text = write_215(segments, at=NOW, next_control=ControlCounter(), sender=PAYER, receiver=US)
    (result,) = read_inquiry_responses(text, lines=request.lines)
    assert (result.kind, result.action, result.trace) == (ResultKind.DECIDED, "A1", sent.trace)
    assert result.certification_number == "SIM00000003"
    assert result.determination is not None
    assert result.determination.outcome is Outcome.APPROVED
    assert result.determination.valid_to == D + dt.timedelta(days=89)
    # The X217 reader alone refuses the X215 version: this is why the text is relabelled.
    with pytest.raises(InvalidInput) as caught:
        read_responses(text)
    assert "ST03 is '005010X215'" in caught.value.issues[0].message


def test_a_rejection_in_an_inquiry_response_carries_the_payer_reason() -> None:
    sent = request_278(make_request(), at=NOW)
    segments = response_segments(sent, at=NOW, reject=("EV", "AA", "C"))
    text = write_215(segments, at=NOW, next_control=ControlCounter(), sender=PAYER, receiver=US)
    (result,) = read_inquiry_responses(text)
    assert result.kind is ResultKind.REJECTED
    assert result.follow_up == "C"
    assert "authorization number not found (AAA03 AA)" in result.issues[0].message


def test_relabel_changes_only_the_group_and_set_versions() -> None:
    text = _inquiry(make_request(), number="005010X215")
    changed = relabel(text, "005010X215", "005010X217")
    assert "GS*HI*PRECERT*ACMEHEALTH*20300301*0900*2*X*005010X217~" in changed
    assert "ST*278*0003*005010X217~" in changed
    assert "REF*BB*005010X215~" in changed  # data that looks like a version is left alone
    assert len(changed) == len(text)


def test_reading_an_inquiry_response_as_an_inquiry_is_refused() -> None:
    sent = request_278(make_request(), at=NOW)
    segments = response_segments(sent, at=NOW, action="A4")
    text = write_215(segments, at=NOW, next_control=ControlCounter(), sender=PAYER, receiver=US)
    with pytest.raises(InvalidInput, match="BHT02 must be 13"):
        read_inquiries(text)
