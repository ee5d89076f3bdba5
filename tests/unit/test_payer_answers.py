"""What an electronic payer's answer does to a request (services.payer_exchanges.answer_events):
a decision becomes the status event with the determination, a pend moves a submitted request once,
an information request is recorded once, contact-payer flags a person, an answer that cannot be
recorded is kept for a person instead of lost, and the same answer twice changes nothing."""

from __future__ import annotations

import datetime as dt

from tests.unit.test_authorizations import NOW, make_request

from precert.channels.base import AnswerKind, PayerAnswer
from precert.domain.authorizations import Status
from precert.domain.determinations import (
    Determination,
    LineDecision,
    LineStatus,
    Method,
    Outcome,
)
from precert.services.payer_exchanges import answer_events

AT = NOW + dt.timedelta(hours=1)
SUBMITTED = make_request(status=Status.SUBMITTED, awaiting_since=NOW)


def approval(units: int = 1, status: LineStatus = LineStatus.APPROVED) -> Determination:
    return Determination(
        outcome=Outcome.APPROVED,
        method=Method.X12,
        decision_date=AT.date(),
        authorization_number="SIM00000042",
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2027, 2, 28),
        lines=(LineDecision("15823", units, status),),
    )


def test_an_approval_becomes_the_approve_event_with_its_determination() -> None:
    answer = PayerAnswer(AnswerKind.DECIDED, approval(), reference="REF-1")

    landed = answer_events(SUBMITTED, answer, at=AT, source="x12 response")

    assert landed.decided
    assert landed.request.status is Status.APPROVED
    [event] = landed.events
    assert event.kind == "approve"
    assert event.note == "Authorization SIM00000042"
    assert event.data["determination"]["authorization_number"] == "SIM00000042"
    assert event.data["source"] == "x12 response"


def test_the_same_decision_again_changes_nothing() -> None:
    answer = PayerAnswer(AnswerKind.DECIDED, approval())
    first = answer_events(SUBMITTED, answer, at=AT, source="fhir-pas subscription")

    again = answer_events(first.request, answer, at=AT, source="fhir-pas inquiry")

    assert again.events == () and not again.decided
    assert again.request is first.request


def test_a_pend_moves_a_submitted_request_once() -> None:
    answer = PayerAnswer(AnswerKind.PENDED, reference="SIMREF00000007")

    landed = answer_events(SUBMITTED, answer, at=AT, source="x12 response")
    again = answer_events(landed.request, answer, at=AT, source="x12 inquiry")

    assert landed.request.status is Status.PENDED
    assert [e.kind for e in landed.events] == ["payer_pended"]
    assert "SIMREF00000007" in landed.events[0].note
    assert again.events == ()


def test_an_information_request_is_recorded_with_the_documents_once() -> None:
    answer = PayerAnswer(
        AnswerKind.INFO_REQUESTED, message="Send the MRI report", documents=("MRI report",)
    )

    landed = answer_events(SUBMITTED, answer, at=AT, source="x12 response")
    repeat = answer_events(landed.request, answer, at=AT, source="x12 inquiry", already_asked=True)

    assert landed.request.status is Status.PENDED
    [event] = landed.events
    assert event.kind == "info_requested" and event.data["documents"] == ["MRI report"]
    assert repeat.events == ()


def test_contact_the_payer_pends_and_flags_the_request_for_a_person() -> None:
    answer = PayerAnswer(AnswerKind.CONTACT_PAYER, reference="SIMREF9", message="call UM")

    landed = answer_events(SUBMITTED, answer, at=AT, source="fhir-pas response")
    again = answer_events(landed.request, answer, at=AT, source="fhir-pas inquiry")

    assert landed.request.status is Status.PENDED
    assert landed.request.needs_attention == (
        "The payer asks you to call about this request (reference SIMREF9): call UM"
    )
    assert again.events == ()


def test_a_decision_that_cannot_be_recorded_is_kept_on_the_timeline_for_a_person() -> None:
    broken = approval(units=0)  # an approved line with no units: not recordable as it is
    answer = PayerAnswer(AnswerKind.DECIDED, broken)

    landed = answer_events(SUBMITTED, answer, at=AT, source="x12 response")

    assert not landed.decided
    assert landed.request.status is Status.SUBMITTED
    kept, flagged = landed.events
    assert kept.kind == "payer_answer_unrecorded"
    assert kept.data["determination"]["lines"][0]["approved_units"] == 0
    assert flagged.kind == "needs_attention_set"
    assert "record the decision by hand" in (landed.request.needs_attention or "")


def test_a_decision_on_a_cancelled_request_changes_nothing() -> None:
    cancelled = make_request(status=Status.CANCELLED)

    landed = answer_events(
        cancelled, PayerAnswer(AnswerKind.DECIDED, approval()), at=AT, source="x12 inquiry"
    )

    assert landed.events == () and landed.request is cancelled


def test_a_cancellation_by_the_payer_cancels_an_open_request_once() -> None:
    answer = PayerAnswer(AnswerKind.CANCELLED, reference="SIMREF3")

    landed = answer_events(SUBMITTED, answer, at=AT, source="x12 inquiry")
    again = answer_events(landed.request, answer, at=AT, source="x12 inquiry")

    assert landed.request.status is Status.CANCELLED
    assert [e.kind for e in landed.events] == ["cancel"]
    assert again.events == ()
