"""The follow-up sweep on SQLite and PostgreSQL: due vs not due, the flag and its timeline event,
next_action_at moving forward, idempotency, the Huey tasks run in immediate mode, and the portal:
a due portal submission is checked by a status run (the portal queue), not an inquiry, and a run
left queued is handed to the portal queue by a later sweep."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from huey import MemoryHuey

from precert.domain.authorizations import ATTENTION_SET, Event
from precert.services import authorization_requests as requests
from precert.services import portal_runs
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import SYSTEM, AuditEntry, events_about
from precert.services.authorization_requests import ENTITY
from precert.services.context import Context
from precert.services.sweep import Due, FollowUp, follow_up, sweep
from precert.store.exchanges import Exchange, ExchangeRepository
from precert.worker.tasks import PORTAL_FALLBACK_AFTER, register

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
SERVICE_SOON = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)  # 7 days before the 2026-12-10 service
DECISION_DUE = NOW + dt.timedelta(days=7)  # the CMS default for a standard request
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": "Testpatient",
        "last_name": "Sweep",
        "birth_date": "1980-02-01",
        "member_id": "TEST-SWEEP-1",
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


def _actor(ctx: Context, name: str) -> Actor:
    org = create_organization(ctx, name)
    return Actor("user-" + name, org, f"{name.lower().replace(' ', '.')}@example.org", Role.ADMIN)


@pytest.fixture
def alice(any_ctx: Context) -> Actor:
    return _actor(any_ctx, "Sweep Clinic A")


def _draft(ctx: Context, actor: Actor) -> str:
    return requests.create_request(ctx, actor, copy.deepcopy(BODY), now=NOW).id


def _submitted(ctx: Context, actor: Actor) -> str:
    request_id = _draft(ctx, actor)
    requests.apply_event(ctx, actor, request_id, Event.OVERRIDE_READY, "faxed notes", now=NOW)
    requests.apply_event(ctx, actor, request_id, Event.SUBMIT, now=NOW)
    return request_id


def _system_audit(ctx: Context, request_id: str) -> list[AuditEntry]:
    return [e for e in events_about(ctx, ENTITY, request_id) if e.actor == SYSTEM]


def test_a_request_is_not_due_before_its_next_action_and_due_from_then(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    assert sweep(any_ctx, now=NOW) == []
    assert sweep(any_ctx, now=SERVICE_SOON - dt.timedelta(seconds=1)) == []
    assert sweep(any_ctx, now=SERVICE_SOON) == [Due(alice.organization_id, request_id)]


def test_the_sweep_finds_due_requests_of_every_organization_soonest_first(
    any_ctx: Context, alice: Actor
) -> None:
    bob = _actor(any_ctx, "Sweep Clinic B")
    draft = _draft(any_ctx, alice)
    submitted = _submitted(any_ctx, bob)
    cancelled = _draft(any_ctx, alice)
    requests.cancel_request(any_ctx, alice, cancelled, "called off", now=NOW)
    found = sweep(any_ctx, now=SERVICE_SOON + dt.timedelta(hours=1))
    assert found == [
        Due(bob.organization_id, submitted),  # its decision was due 2026-11-30
        Due(alice.organization_id, draft),  # its service is within 7 days from 2026-12-03
    ]
    assert sweep(any_ctx, now=SERVICE_SOON, limit=1) == [Due(bob.organization_id, submitted)]


def test_a_follow_up_flags_the_most_urgent_work_item_with_a_timeline_event(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    at = DECISION_DUE + dt.timedelta(hours=1)
    done = follow_up(any_ctx, alice.organization_id, request_id, now=at)
    assert done.event is not None
    assert done.deliveries == ()  # no notification outlet is configured: nothing to send
    detail = requests.get_request(any_ctx, alice, request_id)
    flag = detail.request.needs_attention
    assert flag == (
        "Decision overdue: it was due 2026-11-30 15:00 UTC; call the payer for the status and "
        "record the reference."
    )
    last = detail.timeline[-1]
    assert (last.kind, last.actor, last.note, last.at) == (ATTENTION_SET, SYSTEM, flag, at)
    # Moved past now, to the next thing to watch: the service is within 7 days from 2026-12-03.
    assert detail.next_action_at == SERVICE_SOON
    assert sweep(any_ctx, now=at) == []
    changes = _system_audit(any_ctx, request_id)
    assert [e.reason for e in changes] == ["follow-up: decision_overdue"]


def test_following_up_twice_in_the_same_state_changes_nothing_the_second_time(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    at = DECISION_DUE + dt.timedelta(hours=1)
    assert follow_up(any_ctx, alice.organization_id, request_id, now=at).event is not None
    before = requests.get_request(any_ctx, alice, request_id)
    audit_before = _system_audit(any_ctx, request_id)
    assert follow_up(any_ctx, alice.organization_id, request_id, now=at) == FollowUp()
    after = requests.get_request(any_ctx, alice, request_id)
    assert after.timeline == before.timeline
    assert after.request.updated_at == before.request.updated_at
    assert after.next_action_at == before.next_action_at
    assert _system_audit(any_ctx, request_id) == audit_before


def test_a_new_work_item_replaces_the_flag_and_the_request_moves_forward_again(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    follow_up(any_ctx, alice.organization_id, request_id, now=SERVICE_SOON)
    first = requests.get_request(any_ctx, alice, request_id)
    assert first.request.needs_attention == (
        "The service on 2026-12-10 is in 7 days and is not approved yet (status: draft); "
        "get a decision or reschedule."
    )
    assert first.next_action_at == dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    service_day = dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC)
    follow_up(any_ctx, alice.organization_id, request_id, now=service_day)
    second = requests.get_request(any_ctx, alice, request_id)
    assert second.request.needs_attention is not None
    assert "is today and is not approved yet" in second.request.needs_attention
    assert [e.kind for e in second.timeline].count(ATTENTION_SET) == 2
    assert second.next_action_at is None  # nothing left in the future to watch


def test_the_huey_tasks_sweep_and_follow_up_in_immediate_mode(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _submitted(any_ctx, alice)
    at = DECISION_DUE + dt.timedelta(hours=1)
    jobs = register(MemoryHuey("precert-immediate", immediate=True), lambda: any_ctx, lambda: at)
    assert jobs.sweep_task.call_local() == 1  # the follow-up it enqueued ran at once
    detail = requests.get_request(any_ctx, alice, request_id)
    assert detail.request.needs_attention is not None
    assert detail.request.needs_attention.startswith("Decision overdue")
    assert jobs.sweep_task.call_local() == 0  # followed up: not due again until the service nears


def test_a_due_portal_submission_gets_a_status_run_and_a_run_left_queued_is_handed_over(
    any_ctx: Context, alice: Actor
) -> None:
    org = alice.organization_id
    on_portal, on_x12 = _submitted(any_ctx, alice), _submitted(any_ctx, alice)
    with any_ctx.uow() as uow:
        for request_id, channel in ((on_portal, "portal"), (on_x12, "x12")):
            ExchangeRepository(uow.session).add(
                Exchange(
                    key=f"{request_id}-1", organization_id=org, request_id=request_id,
                    channel=channel, payer_id="medicare", reference=f"REF-{channel}",
                    submitted_at=NOW, receipt={}, next_check_at=NOW + dt.timedelta(minutes=30),
                )
            )  # fmt: skip
        uow.commit()
    moment = [NOW + dt.timedelta(hours=1)]
    any_ctx.now = lambda: moment[0]
    dispatched: list[str] = []  # what the entry point's dispatch_portal_run received
    picked_up: list[str] = []  # what the sweep's fallback handed to the portal queue
    any_ctx.dispatch_portal_run = dispatched.append
    huey = MemoryHuey("precert-sweep-portal")
    jobs = register(huey, lambda: any_ctx, lambda: moment[0], portal_run=picked_up.append)

    jobs.sweep_task.call_local()

    # The X12 submission is asked about on the main queue; the portal one by a status run.
    assert [(task.name, task.args) for task in huey.pending()] == [("inquire_task", (org, on_x12))]
    (run,) = portal_runs.runs_for_request(any_ctx, alice, on_portal)
    assert (run.purpose, run.status) == ("status", "queued")
    assert (dispatched, picked_up) == ([run.id], [])
    assert portal_runs.runs_for_request(any_ctx, alice, on_x12) == []

    # Nothing ran it (its dispatch was lost): a sweep once it has waited too long hands it on,
    # and the still-due check starts no second run while this one is active.
    moment[0] += PORTAL_FALLBACK_AFTER + dt.timedelta(minutes=1)
    jobs.sweep_task.call_local()
    assert [r.id for r in portal_runs.runs_for_request(any_ctx, alice, on_portal)] == [run.id]
    assert (dispatched, picked_up) == ([run.id], [run.id])
