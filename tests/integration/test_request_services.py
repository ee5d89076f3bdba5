"""Authorization request use cases on SQLite and PostgreSQL: lifecycle, decisions, tenant isolation,
member-id search, refused transitions and invalid payloads."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from precert.domain.authorizations import Event, Status
from precert.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_about
from precert.services.context import Context

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": "Testpatient",
        "last_name": "Alpha",
        "birth_date": "1980-02-01",
        "member_id": "TEST-0001-A",
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [
        {
            "code": "15823",
            "units": 1,
            "pos": "22",
            "diagnoses": ["H02.831"],
            "from": "2026-12-10",
            "to": "2026-12-10",
        }
    ],
}
APPROVAL = {
    "outcome": "approved",
    "authorization_number": "AUTH-778",
    "valid_from": "2026-12-01",
    "valid_to": "2027-02-28",
    "method": "phone",
    "reference": "CALL-42",
    "rep_name": "Rep Testname",
    "lines": [{"code": "15823", "approved_units": 1}],
}


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
