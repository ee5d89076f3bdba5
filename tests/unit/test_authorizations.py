"""The authorization status machine: every allowed change, every refusal and its words, timeline.

The allowed table is written out here independently of the module's table, so a change to the
machine must change this specification too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from precert.domain.authorizations import (
    ATTENTION_CLEARED,
    ATTENTION_SET,
    AuthorizationRequest,
    Coverage,
    Event,
    Patient,
    ServiceLine,
    Status,
    apply,
    clear_attention,
    flag_attention,
    mark_retro,
    request_issues,
    transition,
    validate_request,
)
from precert.errors import InvalidInput, InvalidTransition

S, E = Status, Event
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NPI = "1234567893"

ALLOWED: dict[tuple[Status, Event], Status] = {
    (S.DRAFT, E.DOCUMENTS_COMPLETED): S.READY,
    (S.DRAFT, E.OVERRIDE_READY): S.READY,
    (S.DRAFT, E.PAYER_NOT_REQUIRED): S.NOT_REQUIRED,
    (S.DRAFT, E.CANCEL): S.CANCELLED,
    (S.READY, E.SUBMIT): S.SUBMITTED,
    (S.READY, E.DOCUMENTS_INCOMPLETE): S.DRAFT,
    (S.READY, E.PAYER_NOT_REQUIRED): S.NOT_REQUIRED,
    (S.READY, E.CANCEL): S.CANCELLED,
    (S.SUBMITTED, E.PAYER_PENDED): S.PENDED,
    (S.SUBMITTED, E.INFO_REQUESTED): S.PENDED,
    (S.SUBMITTED, E.APPROVE): S.APPROVED,
    (S.SUBMITTED, E.PARTIALLY_APPROVE): S.PARTIALLY_APPROVED,
    (S.SUBMITTED, E.DENY): S.DENIED,
    (S.SUBMITTED, E.PAYER_NOT_REQUIRED): S.NOT_REQUIRED,
    (S.SUBMITTED, E.CANCEL): S.CANCELLED,
    (S.PENDED, E.PAYER_PENDED): S.PENDED,
    (S.PENDED, E.INFO_REQUESTED): S.PENDED,
    (S.PENDED, E.INFO_SENT): S.PENDED,
    (S.PENDED, E.APPROVE): S.APPROVED,
    (S.PENDED, E.PARTIALLY_APPROVE): S.PARTIALLY_APPROVED,
    (S.PENDED, E.DENY): S.DENIED,
    (S.PENDED, E.PAYER_NOT_REQUIRED): S.NOT_REQUIRED,
    (S.PENDED, E.CANCEL): S.CANCELLED,
    (S.APPROVED, E.EXPIRE): S.EXPIRED,
    (S.APPROVED, E.CANCEL): S.CANCELLED,
    (S.PARTIALLY_APPROVED, E.APPEAL): S.APPEALED,
    (S.PARTIALLY_APPROVED, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_APPROVED, E.CANCEL): S.CANCELLED,
    (S.DENIED, E.APPEAL): S.APPEALED,
    (S.APPEALED, E.PAYER_PENDED): S.APPEALED,
    (S.APPEALED, E.INFO_REQUESTED): S.APPEALED,
    (S.APPEALED, E.INFO_SENT): S.APPEALED,
    (S.APPEALED, E.APPROVE): S.APPROVED,
    (S.APPEALED, E.PARTIALLY_APPROVE): S.PARTIALLY_APPROVED,
    (S.APPEALED, E.DENY): S.DENIED,
    (S.APPEALED, E.CANCEL): S.CANCELLED,
}
REFUSED = [(s, e) for s in Status for e in Event if (s, e) not in ALLOWED]


def make_request(**changes: object) -> AuthorizationRequest:
    request = AuthorizationRequest(
        id="req-1",
        organization_id="org-1",
        patient=Patient("Testpatient", "Alpha", dt.date(1980, 2, 1), "ZZ-CANARY-123"),
        coverage=Coverage("acme", "commercial", "ZZ-CANARY-123", "G-1"),
        ordering_npi=NPI,
        rendering_npi=NPI,
        lines=(
            ServiceLine(
                "15823", 1, dt.date(2026, 12, 10), dt.date(2026, 12, 10), "22", ("H02.831",)
            ),
        ),
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


# -- the table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "event"), list(ALLOWED), ids=lambda v: str(v))
def test_every_allowed_transition_reaches_its_status(status: Status, event: Event) -> None:
    assert transition(status, event) is ALLOWED[(status, event)]


@pytest.mark.parametrize(("status", "event"), REFUSED, ids=lambda v: str(v))
def test_every_other_transition_is_refused_and_lists_what_is_possible(
    status: Status, event: Event
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(status, event)

    possible = sorted(e.value for (s, e) in ALLOWED if s is status)
    message = refused.value.message
    if possible:
        assert message.endswith(
            f"From {status.value} the possible actions are: {', '.join(possible)}."
        )
    else:
        assert message.endswith(
            "is a final status; create a new request if the service still needs approval."
        )
    assert refused.value.issues[0].code == "invalid-transition"


def test_a_denied_request_cannot_be_submitted_again() -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(S.DENIED, E.SUBMIT)

    assert str(refused.value) == (
        "A denied request cannot be submitted again; appeal it or create a new request. "
        "From denied the possible actions are: appeal."
    )


def test_a_draft_cannot_be_submitted_before_its_documents_are_complete() -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(S.DRAFT, E.SUBMIT)

    assert str(refused.value) == (
        "A draft request cannot be submitted until its documents are complete; complete the "
        "checklist or mark it ready with a reason. From draft the possible actions are: "
        "cancel, documents_completed, override_ready, payer_not_required."
    )


def test_a_pended_request_is_not_submitted_twice() -> None:
    with pytest.raises(InvalidTransition, match=r"^A pended request is already with the payer; "):
        transition(S.PENDED, E.SUBMIT)


def test_a_ready_request_cannot_be_approved_before_it_is_submitted() -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(S.READY, E.APPROVE)

    assert str(refused.value).startswith(
        "A ready request has not been submitted, so the payer cannot have decided or pended it; "
        "submit it first."
    )


def test_a_cancelled_request_is_final() -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(S.CANCELLED, E.APPEAL)

    assert str(refused.value) == (
        "A cancelled request cannot be appealed. cancelled is a final status; create a new "
        "request if the service still needs approval."
    )


def test_an_approved_request_has_nothing_to_appeal() -> None:
    with pytest.raises(InvalidTransition, match=r"^An approved request has nothing to appeal;"):
        transition(S.APPROVED, E.APPEAL)


# -- apply and the timeline -----------------------------------------------------------------------


def test_applying_an_event_returns_the_changed_request_and_its_timeline_event() -> None:
    request = make_request()
    later = NOW + dt.timedelta(hours=1)

    ready, event = apply(request, E.DOCUMENTS_COMPLETED, at=later, actor="user-7", note="all in")

    assert (ready.status, ready.updated_at) == (S.READY, later)
    assert request.status is S.DRAFT  # the original is untouched
    assert event.as_dict() == {
        "at": "2026-11-23T10:00:00+00:00",
        "actor": "user-7",
        "kind": "documents_completed",
        "from_status": "draft",
        "to_status": "ready",
        "note": "all in",
        "data": {},
    }


def test_a_whole_lifecycle_leaves_one_timeline_event_per_change() -> None:
    request = make_request()
    timeline = []
    steps = [E.DOCUMENTS_COMPLETED, E.SUBMIT, E.PAYER_PENDED, E.DENY, E.APPEAL, E.APPROVE, E.EXPIRE]
    for hour, step in enumerate(steps, start=1):
        request, event = apply(request, step, at=NOW + dt.timedelta(hours=hour), actor="system")
        timeline.append(event)

    assert request.status is S.EXPIRED
    assert [(e.from_status.value, e.to_status.value) for e in timeline] == [
        ("draft", "ready"),
        ("ready", "submitted"),
        ("submitted", "pended"),
        ("pended", "denied"),
        ("denied", "appealed"),
        ("appealed", "approved"),
        ("approved", "expired"),
    ]


def test_submitting_and_appealing_start_the_decision_clock_and_a_decision_stops_it() -> None:
    submitted, _ = apply(make_request(status=S.READY), E.SUBMIT, at=NOW, actor="u")
    assert submitted.awaiting_since == NOW

    denied, _ = apply(submitted, E.DENY, at=NOW + dt.timedelta(days=2), actor="u")
    assert denied.awaiting_since is None

    appealed, _ = apply(denied, E.APPEAL, at=NOW + dt.timedelta(days=3), actor="u")
    assert appealed.awaiting_since == NOW + dt.timedelta(days=3)


def test_an_information_request_records_its_deadline_until_the_information_is_sent() -> None:
    submitted = make_request(status=S.SUBMITTED, awaiting_since=NOW)
    deadline = NOW + dt.timedelta(days=5)

    pended, event = apply(submitted, E.INFO_REQUESTED, at=NOW, actor="payer", info_due=deadline)
    assert (pended.status, pended.info_due, pended.awaiting_since) == (S.PENDED, deadline, NOW)
    assert event.data == {"info_due": "2026-11-28T09:00:00+00:00"}

    sent, _ = apply(pended, E.INFO_SENT, at=NOW + dt.timedelta(days=1), actor="u")
    assert (sent.status, sent.info_due) == (S.PENDED, None)


def test_marking_ready_by_override_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        apply(make_request(), E.OVERRIDE_READY, at=NOW, actor="u", note="  ")

    assert refused.value.issues[0].location == "note"
    assert str(refused.value) == (
        "note: marking a request ready without a complete checklist needs a reason; "
        "say why the missing documents are not needed."
    )
    ready, event = apply(make_request(), E.OVERRIDE_READY, at=NOW, actor="u", note="on file")
    assert (ready.status, event.note) == (S.READY, "on file")


def test_a_request_cannot_be_submitted_after_its_service_date_unless_it_is_retro() -> None:
    late = dt.datetime(2026, 12, 11, 8, 0, tzinfo=dt.UTC)
    ready = make_request(status=S.READY)

    with pytest.raises(InvalidTransition) as refused:
        apply(ready, E.SUBMIT, at=late, actor="u")
    assert str(refused.value).startswith(
        "The date of service has passed, so this request cannot be submitted as a prior "
        "authorization. If the service was an emergency, mark it as a retro-authorization"
    )

    retro, event = mark_retro(ready, at=late, actor="u", note="emergency admission")
    assert retro.retro and event.kind == "retro_marked"
    submitted, _ = apply(retro, E.SUBMIT, at=late, actor="u")
    assert submitted.status is S.SUBMITTED


def test_a_request_can_be_submitted_on_the_day_of_service() -> None:
    same_day = dt.datetime(2026, 12, 10, 7, 0, tzinfo=dt.UTC)
    submitted, _ = apply(make_request(status=S.READY), E.SUBMIT, at=same_day, actor="u")
    assert submitted.status is S.SUBMITTED


def test_only_a_request_not_yet_sent_can_become_retro_and_it_needs_a_reason() -> None:
    with pytest.raises(InvalidTransition, match=r"^A submitted request has already gone to the"):
        mark_retro(make_request(status=S.SUBMITTED), at=NOW, actor="u", note="emergency")
    with pytest.raises(InvalidInput, match="retro-authorization"):
        mark_retro(make_request(), at=NOW, actor="u", note="")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(make_request(), E.CANCEL, at=dt.datetime(2026, 11, 23, 9), actor="u")


# -- needs attention ------------------------------------------------------------------------------


def test_needs_attention_is_set_and_cleared_with_its_reason_on_the_timeline() -> None:
    request = make_request(status=S.SUBMITTED)
    reason = "The portal rejected the login; update the portal credential."

    flagged, set_event = flag_attention(request, reason, at=NOW, actor="worker")
    assert flagged.needs_attention == reason and flagged.status is S.SUBMITTED
    assert (set_event.kind, set_event.note, set_event.to_status) == (
        ATTENTION_SET,
        reason,
        S.SUBMITTED,
    )

    cleared, clear_event = clear_attention(flagged, at=NOW, actor="user-7", note="password reset")
    assert cleared.needs_attention is None
    assert clear_event.kind == ATTENTION_CLEARED
    assert clear_event.data == {"reason": reason}


def test_clearing_attention_that_was_never_set_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="not flagged for attention"):
        clear_attention(make_request(), at=NOW, actor="u")


def test_flagging_attention_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match=r"^reason: say what failed"):
        flag_attention(make_request(), " ", at=NOW, actor="u")


# -- values and PHI -------------------------------------------------------------------------------


def test_the_repr_of_a_request_never_shows_the_patient_or_member_id() -> None:
    text = repr(make_request())

    assert "Testpatient" not in text and "Alpha" not in text
    assert "ZZ-CANARY-123" not in text and "1980" not in text
    assert "Patient(<redacted>)" in text


def test_a_valid_request_passes_validation() -> None:
    request = make_request(facility_npi=NPI)
    assert validate_request(request) is request


def test_validation_names_every_bad_field_by_its_place_in_the_request() -> None:
    bad_line = ServiceLine(
        "ABC", 0, dt.date(2026, 12, 10), dt.date(2026, 12, 9), "98", ("Q99.999",)
    )
    request = make_request(ordering_npi="1234567890", lines=(bad_line,))

    issues = request_issues(request)

    assert [i.location for i in issues] == [
        "ordering_npi",
        "services[0].code",
        "services[0].units",
        "services[0].pos",
        "services[0].diagnoses[0]",
        "services[0].to",
    ]
    assert issues[-1].message == (
        "services[0].to: the last date of service is before the first; check the dates."
    )
    with pytest.raises(
        InvalidInput, match=r"^The request has 6 problems; correct and try again\.$"
    ):
        validate_request(request)


def test_a_request_without_services_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_request(make_request(lines=()))
    assert refused.value.issues[0].message == "services: a request needs at least one service line."
