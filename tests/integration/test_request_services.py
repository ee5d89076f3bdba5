"""Authorization request use cases on SQLite and PostgreSQL: lifecycle, decisions, tenant isolation,
member-id search, refused transitions and invalid payloads, marking ready (checklist or override),
appeals, idempotent creation and the injected clock."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from tests.support.requests import NOW, approval_body, denial_body, request_body

from precert.domain.authorizations import Event, Status
from precert.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_about
from precert.services.context import Context

BODY: dict[str, Any] = request_body()
APPROVAL = approval_body()


def _actor(ctx: Context, name: str, role: Role = Role.SPECIALIST) -> Actor:
    org = create_organization(ctx, name)
    return Actor("user-" + name, org, f"{name.lower().replace(' ', '.')}@example.org", role)


@pytest.fixture
def alice(any_ctx: Context) -> Actor:
    return _actor(any_ctx, "Clinic A")


@pytest.fixture
def bob(any_ctx: Context) -> Actor:
    return _actor(any_ctx, "Clinic B")


def _submitted(ctx: Context, actor: Actor) -> str:
    request = requests.create_request(ctx, actor, BODY, now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.OVERRIDE_READY, "faxed notes", now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.SUBMIT, now=NOW)
    return request.id


def test_a_created_request_is_a_draft_with_its_requirement_and_decrypted_patient(
    any_ctx: Context, alice: Actor
) -> None:
    created = requests.create_request(any_ctx, alice, BODY, now=NOW)
    detail = requests.get_request(any_ctx, alice, created.id)
    assert detail.request.status is Status.DRAFT
    assert detail.request.patient.last_name == "Alpha"
    assert detail.request.patient.birth_date == dt.date(1980, 2, 1)
    assert detail.request.coverage.member_id == "TEST-0001-A"
    assert detail.request.requirement[0]["decision"] == "required"
    assert [event.kind for event in detail.timeline] == ["created"]
    # Not approved yet: the sweep looks again 7 days before the service.
    assert detail.next_action_at == dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def test_a_request_goes_from_draft_to_approved_with_a_timeline_event_for_each_change(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    submitted = requests.get_request(any_ctx, alice, request_id)
    assert submitted.next_action_at == NOW + dt.timedelta(days=7)  # CMS default follow-up
    approved = requests.record_determination(any_ctx, alice, request_id, APPROVAL, now=NOW)
    assert approved.status is Status.APPROVED
    detail = requests.get_request(any_ctx, alice, request_id)
    kinds = [event.kind for event in detail.timeline]
    assert kinds == ["created", "override_ready", "submit", "approve"]
    decision = detail.timeline[-1].data["determination"]
    assert decision["authorization_number"] == "AUTH-778"
    assert decision["rep_name"] == "Rep Testname"
    assert detail.next_action_at is None  # approved for the whole service: nothing to chase


def test_a_cancelled_request_has_nothing_left_to_follow_up(any_ctx: Context, alice: Actor) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    cancelled = requests.cancel_request(any_ctx, alice, request.id, "surgery called off", now=NOW)
    assert cancelled.status is Status.CANCELLED
    detail = requests.get_request(any_ctx, alice, request.id)
    assert detail.timeline[-1].note == "surgery called off"
    assert detail.next_action_at is None


def test_an_impossible_transition_is_refused_with_the_reason_and_nothing_changes(
    any_ctx: Context, alice: Actor
) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    with pytest.raises(InvalidTransition) as refused:
        requests.apply_event(any_ctx, alice, request.id, "submit", now=NOW)
    assert refused.value.message.startswith(
        "A draft request cannot be submitted until its documents are complete"
    )
    detail = requests.get_request(any_ctx, alice, request.id)
    assert detail.request.status is Status.DRAFT
    assert len(detail.timeline) == 1


def test_a_phone_decision_without_the_representative_is_refused_and_not_recorded(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    incomplete = {**APPROVAL, "rep_name": "", "authorization_number": ""}
    with pytest.raises(InvalidInput) as refused:
        requests.record_determination(any_ctx, alice, request_id, incomplete, now=NOW)
    locations = {issue.location for issue in refused.value.issues}
    assert locations == {"rep_name", "authorization_number"}
    assert requests.get_request(any_ctx, alice, request_id).request.status is Status.SUBMITTED


def test_another_organization_can_neither_see_nor_change_a_request(
    any_ctx: Context, alice: Actor, bob: Actor
) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    with pytest.raises(NotFound):
        requests.get_request(any_ctx, bob, request.id)
    with pytest.raises(NotFound):
        requests.cancel_request(any_ctx, bob, request.id, now=NOW)
    with pytest.raises(NotFound):
        requests.record_determination(any_ctx, bob, request.id, APPROVAL, now=NOW)
    assert requests.list_requests(any_ctx, bob) == []
    assert requests.list_requests(any_ctx, bob, member_id="TEST-0001-A") == []
    assert requests.get_request(any_ctx, alice, request.id).request.status is Status.DRAFT


def test_member_id_search_finds_the_request_however_the_id_is_written(
    any_ctx: Context, alice: Actor
) -> None:
    wanted = requests.create_request(any_ctx, alice, BODY, now=NOW)
    other = copy.deepcopy(BODY)
    other["patient"]["member_id"] = "TEST-0002-B"
    requests.create_request(any_ctx, alice, other, now=NOW)
    found = requests.list_requests(any_ctx, alice, member_id="test 0001 a")
    assert [request.id for request in found] == [wanted.id]
    assert len(requests.list_requests(any_ctx, alice, status="draft", payer="medicare")) == 2
    assert requests.list_requests(any_ctx, alice, status=Status.SUBMITTED) == []


def test_every_invalid_field_is_reported_at_once_and_nothing_is_saved(
    any_ctx: Context, alice: Actor
) -> None:
    bad = copy.deepcopy(BODY)
    bad["urgency"] = "whenever"
    bad["ordering_npi"] = "1234567890"
    bad["patient"]["birth_date"] = "1980-13-45"
    bad["services"][0]["code"] = "ZZZZZ"
    bad["services"][0]["from"] = "someday"
    bad["colour"] = "blue"
    with pytest.raises(InvalidInput) as refused:
        requests.create_request(any_ctx, alice, bad, now=NOW)
    locations = {issue.location for issue in refused.value.issues}
    assert {
        "urgency",
        "ordering_npi",
        "patient.birth_date",
        "services[0].code",
        "services[0].from",
        "colour",
    } <= locations
    assert refused.value.message.startswith("The request has ")
    assert "1980" not in " ".join(issue.message for issue in refused.value.issues)
    assert requests.list_requests(any_ctx, alice) == []


def test_a_viewer_cannot_change_a_request(any_ctx: Context, alice: Actor) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    viewer = Actor("viewer-1", alice.organization_id, "viewer@example.org", Role.VIEWER)
    with pytest.raises(PermissionDenied) as refused:
        requests.cancel_request(any_ctx, viewer, request.id, now=NOW)
    assert refused.value.message == "viewers cannot change requests; ask an admin or a specialist"
    assert requests.get_request(any_ctx, viewer, request.id).request.status is Status.DRAFT


def test_viewing_and_changing_a_request_write_audit_events(any_ctx: Context, alice: Actor) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    requests.get_request(any_ctx, alice, request.id)
    requests.cancel_request(any_ctx, alice, request.id, now=NOW)
    events = events_about(any_ctx, "authorization_request", request.id)
    # Views are stamped by the real clock, changes by NOW, so compare without order.
    assert sorted((event.action, event.actor) for event in events) == [
        ("change", alice.email),
        ("create", alice.email),
        ("view", alice.email),
    ]


def test_the_same_idempotency_key_returns_the_first_request(any_ctx: Context, alice: Actor) -> None:
    first = requests.create_request(any_ctx, alice, BODY, idempotency_key="k-1", now=NOW)
    again = requests.create_request(any_ctx, alice, BODY, idempotency_key="k-1", now=NOW)
    assert again.id == first.id
    assert len(requests.list_requests(any_ctx, alice)) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict_and_saves_nothing(
    any_ctx: Context, alice: Actor
) -> None:
    first = requests.create_or_replay(any_ctx, alice, BODY, idempotency_key="k-2", now=NOW)
    replay = requests.create_or_replay(any_ctx, alice, BODY, idempotency_key="k-2", now=NOW)
    assert not first.replayed and replay.replayed
    assert replay.request.id == first.request.id
    other = request_body(member_id="TEST-0009-Z")
    with pytest.raises(Conflict) as refused:
        requests.create_or_replay(any_ctx, alice, other, idempotency_key="k-2", now=NOW)
    assert refused.value.message.startswith(
        "Idempotency-Key: this key was already used for a different request body"
    )
    assert "TEST-0009-Z" not in refused.value.message
    assert len(requests.list_requests(any_ctx, alice)) == 1


def test_an_unusable_idempotency_key_is_refused_with_what_to_send(
    any_ctx: Context, alice: Actor
) -> None:
    with pytest.raises(InvalidInput) as refused:
        requests.create_or_replay(any_ctx, alice, BODY, idempotency_key="x" * 65, now=NOW)
    assert refused.value.issues[0].location == "Idempotency-Key"
    assert "1 to 64 printable ASCII characters" in refused.value.message


def test_times_come_from_the_contexts_clock(any_ctx: Context, alice: Actor) -> None:
    any_ctx.now = lambda: NOW
    created = requests.create_request(any_ctx, alice, BODY)
    requests.mark_ready(any_ctx, alice, created.id, override_reason="records sent by mail")
    detail = requests.get_request(any_ctx, alice, created.id)
    assert created.created_at == NOW
    assert [event.at for event in detail.timeline] == [NOW, NOW]
    assert {event.at for event in events_about(any_ctx, "authorization_request", created.id)} == {
        NOW
    }


def test_a_request_whose_checklist_is_empty_is_marked_ready_without_a_reason(
    any_ctx: Context, alice: Actor
) -> None:
    # An office visit is on no Medicare list: nothing to document.
    body = request_body()
    body["services"][0].update(code="99213", pos="11", diagnoses=["M17.11"])
    created = requests.create_request(any_ctx, alice, body, now=NOW)
    ready = requests.mark_ready(any_ctx, alice, created.id, now=NOW)
    assert ready.status is Status.READY
    assert requests.get_request(any_ctx, alice, created.id).timeline[-1].kind == (
        "documents_completed"
    )


@pytest.mark.parametrize("reason", [None, "   "])
def test_marking_ready_with_missing_documents_is_refused_with_the_list_of_them(
    any_ctx: Context, alice: Actor, reason: str | None
) -> None:
    created = requests.create_request(any_ctx, alice, BODY, now=NOW)
    with pytest.raises(InvalidTransition) as refused:
        requests.mark_ready(any_ctx, alice, created.id, override_reason=reason, now=NOW)
    assert refused.value.message == (
        'The documentation checklist is not complete: "medical records supporting medical '
        'necessity" is missing. Upload it, or mark the request ready with an override_reason '
        "saying why they are not needed."
    )
    assert [i.code for i in refused.value.issues] == ["missing-document"]
    detail = requests.get_request(any_ctx, alice, created.id)
    assert detail.request.status is Status.DRAFT
    assert len(detail.timeline) == 1


def test_an_override_reason_makes_it_ready_and_is_kept_on_the_timeline_and_in_the_audit(
    any_ctx: Context, alice: Actor
) -> None:
    created = requests.create_request(any_ctx, alice, BODY, now=NOW)
    reason = "payer confirmed by phone that notes follow by mail"
    ready = requests.mark_ready(any_ctx, alice, created.id, override_reason=reason, now=NOW)
    assert ready.status is Status.READY
    event = requests.get_request(any_ctx, alice, created.id).timeline[-1]
    assert (event.kind, event.note) == ("override_ready", reason)
    assert event.data == {
        "override_reason": reason,
        "missing": ["medical records supporting medical necessity"],
    }
    reasons = [e.reason for e in events_about(any_ctx, "authorization_request", created.id)]
    assert f"override_ready: {reason}" in reasons


def test_a_denial_can_be_appealed_with_its_grounds_and_the_decision_clock_restarts(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    requests.record_determination(any_ctx, alice, request_id, denial_body(), now=NOW)
    later = NOW + dt.timedelta(days=3)
    with pytest.raises(InvalidInput) as refused:
        requests.appeal_request(any_ctx, alice, request_id, note="  ", now=later)
    assert refused.value.issues[0].location == "note"
    appealed = requests.appeal_request(
        any_ctx, alice, request_id, note="records show failed therapy", now=later
    )
    assert appealed.status is Status.APPEALED
    assert appealed.awaiting_since == later
    event = requests.get_request(any_ctx, alice, request_id).timeline[-1]
    assert (event.kind, event.note) == ("appeal", "records show failed therapy")


def test_an_approved_request_cannot_be_appealed(any_ctx: Context, alice: Actor) -> None:
    request_id = _submitted(any_ctx, alice)
    requests.record_determination(any_ctx, alice, request_id, APPROVAL, now=NOW)
    with pytest.raises(InvalidTransition) as refused:
        requests.appeal_request(any_ctx, alice, request_id, note="more units", now=NOW)
    assert refused.value.message.startswith("An approved request has nothing to appeal")


def test_structured_facts_of_a_change_go_into_the_timeline_events_data(
    any_ctx: Context, alice: Actor
) -> None:
    request = requests.create_request(any_ctx, alice, BODY, now=NOW)
    data = {"method": "phone", "reference": "CALL-9", "rep_name": "Rep Testname"}
    requests.apply_event(
        any_ctx, alice, request.id, Event.PAYER_NOT_REQUIRED, "called UM", data=data, now=NOW
    )
    event = requests.get_request(any_ctx, alice, request.id).timeline[-1]
    assert event.note == "called UM"
    assert event.data == data
