"""Notifications wired end to end, on SQLite and PostgreSQL: the follow-up sweep (Huey tasks in
immediate mode) delivers a work item's notice to a real Slack-style receiver, a signed webhook
receiver and an SMTP server on 127.0.0.1, logs each delivery, never notifies twice, retries with
the same delivery id, gives up on a permanent failure without raising, and never sends PHI.
"""

from __future__ import annotations

import copy
import datetime as dt
import email
import email.policy
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from huey import MemoryHuey
from tests.conftest import TODAY
from tests.integration.notify.receivers import HttpReceiver, Inbox, http_receiver, smtp_receiver

from precert.config import Settings
from precert.domain.authorizations import Event
from precert.domain.followups import WorkItem, WorkKind
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.context import Context, build_context
from precert.services.notifications import deliveries_of, plan_work_item
from precert.store.deliveries import DELIVERED, FAILED, PENDING
from precert.worker.tasks import Jobs, register

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
OVERDUE = NOW + dt.timedelta(days=7, hours=1)  # the standard decision was due 2026-11-30 15:00
SECRET = "whsec-notify-test-0123456789"
BASE_URL = "https://precert.example.test"
CANARY_NAME = "Canarynotice"
CANARY_MEMBER = "CANARY-NOTICE-77"
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": CANARY_NAME,
        "last_name": "Phiprobe",
        "birth_date": "1980-02-01",
        "member_id": CANARY_MEMBER,
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


@dataclass
class Clock:
    at: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.at


@dataclass
class Outlets:
    slack: HttpReceiver
    webhook: HttpReceiver
    inbox: Inbox
    smtp_port: int


def notify_settings(base: Settings, **outlets: Any) -> Settings:
    """`base` (a test database) plus notification outlets, built and validated like production."""
    return Settings(
        database_url=base.database_url, data_dir=base.data_dir, base_url=BASE_URL, **outlets
    )


def context_for(settings: Settings) -> Iterator[Context]:
    context = build_context(settings, today=lambda: TODAY)
    yield context
    context.engine.dispose()


def submitted(ctx: Context) -> tuple[Actor, str]:
    org = create_organization(ctx, "Notify Clinic")
    actor = Actor("user-notify", org, "specialist@notify.example.org", Role.SPECIALIST)
    request_id = requests.create_request(ctx, actor, copy.deepcopy(BODY), now=NOW).id
    requests.apply_event(ctx, actor, request_id, Event.OVERRIDE_READY, "faxed notes", now=NOW)
    requests.apply_event(ctx, actor, request_id, Event.SUBMIT, now=NOW)
    return actor, request_id


def jobs_for(ctx: Context, clock: Clock) -> Jobs:
    return register(MemoryHuey("notify-immediate", immediate=True), lambda: ctx, clock)


@pytest.fixture
def outlets() -> Iterator[Outlets]:
    with (
        http_receiver(200) as slack,
        http_receiver(200) as webhook,
        smtp_receiver() as (inbox, port),
    ):
        yield Outlets(slack, webhook, inbox, port)


@pytest.fixture
def all_ctx(any_settings: Settings, outlets: Outlets) -> Iterator[Context]:
    settings = notify_settings(
        any_settings,
        slack_webhook_url=outlets.slack.url,
        webhooks=[{"url": outlets.webhook.url, "secret": SECRET}],
        smtp_host="127.0.0.1",
        smtp_port=outlets.smtp_port,
        smtp_from="precert@notify.example.org",
        smtp_starttls=False,
        notify_email_to="team@notify.example.org,lead@notify.example.org",
    )
    yield from context_for(settings)


def mail_text(envelope: Any) -> str:
    """The decoded headers and parts of a received email (the parts are quoted-printable)."""
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    return "\n".join([str(message["Subject"]), *parts])


def sent_bodies(outlets: Outlets) -> list[bytes]:
    bodies = [r.body for r in (*outlets.slack.requests, *outlets.webhook.requests)]
    mails = [e.content for e in outlets.inbox.envelopes]
    return [*bodies, *mails, *(mail_text(e).encode() for e in outlets.inbox.envelopes)]


def test_a_due_work_item_is_sent_once_to_slack_the_webhook_and_email_and_logged(
    all_ctx: Context, outlets: Outlets
) -> None:
    actor, request_id = submitted(all_ctx)
    jobs = jobs_for(all_ctx, Clock(OVERDUE))
    assert jobs.sweep_task.call_local() == 1
    [slack] = outlets.slack.requests
    [hook] = outlets.webhook.requests
    [mail] = outlets.inbox.envelopes
    link = f"{BASE_URL}/requests/{request_id}"
    text = json.loads(slack.body)["text"]
    assert text.startswith(f"Decision overdue: request {request_id[:8]}: Decision overdue: it was")
    event = json.loads(hook.body)
    assert event["event"] == "work_item.decision_overdue"
    assert event["data"]["link"] == link
    assert event["data"]["fields"] == {
        "Request": request_id,
        "Payer": "medicare",
        "Codes": "15823",
        "Status": "submitted",
        "Due": "2026-11-30 15:00 UTC",
    }
    assert sorted(mail.rcpt_tos) == ["lead@notify.example.org", "team@notify.example.org"]
    assert link in mail_text(mail)

    log = deliveries_of(all_ctx, actor.organization_id, request_id=request_id)
    assert sorted((d.channel, d.status, d.attempts) for d in log) == [
        ("email", DELIVERED, 1),
        ("slack", DELIVERED, 1),
        ("webhook", DELIVERED, 1),
    ]
    webhook_row = next(d for d in log if d.channel == "webhook")
    assert hook.headers["x-precert-delivery"] == webhook_row.id
    assert webhook_row.response_status == 200 and webhook_row.finished_at == OVERDUE
    assert all(d.event == "work_item.decision_overdue" for d in log)
    # The log names each outlet without its secret URL.
    assert all(outlets.slack.url not in d.target and "/hooks/" not in d.target for d in log)

    # The same sweep again the same day, and a duplicated follow-up job: nothing new is sent.
    assert jobs.sweep_task.call_local() == 0
    jobs.follow_up_task.call_local(actor.organization_id, request_id)
    assert (len(outlets.slack.requests), len(outlets.webhook.requests)) == (1, 1)
    assert len(outlets.inbox.envelopes) == 1
    assert len(deliveries_of(all_ctx, actor.organization_id)) == 3


def test_the_dedupe_key_keeps_one_notice_per_work_item_outlet_and_day(all_ctx: Context) -> None:
    actor, request_id = submitted(all_ctx)
    detail = requests.get_request(all_ctx, actor, request_id)
    item = WorkItem(WorkKind.DECISION_OVERDUE, OVERDUE, "Decision overdue: call the payer.")
    with all_ctx.uow() as uow:
        first = plan_work_item(uow.session, all_ctx.settings, detail.request, item, at=OVERDUE)
        later = OVERDUE + dt.timedelta(hours=5)
        again = plan_work_item(uow.session, all_ctx.settings, detail.request, item, at=later)
        next_day = OVERDUE + dt.timedelta(days=1)
        tomorrow = plan_work_item(uow.session, all_ctx.settings, detail.request, item, at=next_day)
        uow.commit()
    assert (len(first), len(again), len(tomorrow)) == (3, 0, 3)


def test_no_notice_carries_the_patient_name_or_member_id(
    all_ctx: Context, outlets: Outlets
) -> None:
    actor, request_id = submitted(all_ctx)
    jobs_for(all_ctx, Clock(OVERDUE)).sweep_task.call_local()
    decision = {
        "outcome": "approved",
        "method": "phone",
        "authorization_number": "AUTH-NOTIFY-1",
        "reference": "CALL-7",
        "rep_name": "Rep Testname",
        "valid_from": "2026-12-10",
        "valid_to": "2026-12-10",
        "lines": [{"code": "15823", "approved_units": 1}],
    }
    requests.record_determination(all_ctx, actor, request_id, decision, now=OVERDUE)
    jobs_for(all_ctx, Clock(OVERDUE + dt.timedelta(minutes=1))).sweep_task.call_local()
    bodies = sent_bodies(outlets)
    assert len(bodies) == 8  # the work item and the approval: 2 posts each, an email raw + decoded
    for body in bodies:
        assert CANARY_NAME.encode() not in body
        assert b"Phiprobe" not in body
        assert CANARY_MEMBER.encode() not in body
    stored = [json.dumps(d.notice) for d in deliveries_of(all_ctx, actor.organization_id)]
    assert not any(CANARY_NAME in notice or CANARY_MEMBER in notice for notice in stored)


def test_a_webhook_answering_500_then_200_gets_one_delivery_id_on_both_attempts(
    any_settings: Settings,
) -> None:
    clock = Clock(OVERDUE)
    with http_receiver(500, 200) as receiver:
        settings = notify_settings(any_settings, webhooks=[{"url": receiver.url, "secret": SECRET}])
        for ctx in context_for(settings):
            actor, _ = submitted(ctx)
            jobs = jobs_for(ctx, clock)
            jobs.sweep_task.call_local()
            [first] = deliveries_of(ctx, actor.organization_id)
            assert (first.status, first.attempts, first.response_status) == (PENDING, 1, 500)
            assert first.last_error == "The webhook receiver answered HTTP 500; it will be retried."
            assert first.next_attempt_at == OVERDUE + dt.timedelta(minutes=1)  # the backoff
            clock.at = OVERDUE + dt.timedelta(seconds=30)
            jobs.sweep_task.call_local()  # not due yet: nothing sent
            assert len(receiver.requests) == 1
            clock.at = OVERDUE + dt.timedelta(minutes=1)
            jobs.sweep_task.call_local()
            [done] = deliveries_of(ctx, actor.organization_id)
    assert (done.status, done.attempts, done.response_status, done.last_error) == (
        DELIVERED,
        2,
        200,
        None,
    )
    ids = [r.headers["x-precert-delivery"] for r in receiver.requests]
    assert ids == [done.id, done.id]
    assert receiver.requests[0].body == receiver.requests[1].body
    from precert.notify.webhook import verify_signature

    for attempt in receiver.requests:
        verify_signature(
            SECRET, attempt.headers["x-precert-signature"], attempt.body, now=time.time()
        )


def test_a_permanent_failure_is_logged_and_never_raises_into_the_sweep(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with http_receiver(410) as gone, http_receiver(200) as slack:
        settings = notify_settings(
            sqlite_settings,
            webhooks=[{"url": gone.url, "secret": SECRET}],
            slack_webhook_url=slack.url,
        )
        for ctx in context_for(settings):
            actor, _ = submitted(ctx)
            with caplog.at_level(logging.WARNING, logger="precert.services.notifications"):
                assert jobs_for(ctx, Clock(OVERDUE)).sweep_task.call_local() == 1
            log = {d.channel: d for d in deliveries_of(ctx, actor.organization_id)}
    failed = log["webhook"]
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (FAILED, 1, None)
    assert failed.last_error == (
        "The webhook receiver answered HTTP 410; "
        "check the receiver's URL and configuration; retrying will not help."
    )
    assert log["slack"].status == DELIVERED  # one outlet failing does not stop the others
    [line] = [r.getMessage() for r in caplog.records]
    assert f"notification {failed.id} (webhook, work_item.decision_overdue) failed" in line
    assert gone.url not in line and "127.0.0.1" not in line


def test_an_unreachable_webhook_is_retried_with_growing_waits_then_given_up(
    sqlite_settings: Settings,
) -> None:
    from tests.integration.notify.receivers import closed_port_url

    settings = notify_settings(
        sqlite_settings, webhooks=[{"url": closed_port_url(), "secret": SECRET}]
    )
    clock = Clock(OVERDUE)
    waits = []
    for ctx in context_for(settings):
        actor, _ = submitted(ctx)
        jobs = jobs_for(ctx, clock)
        for _ in range(6):
            jobs.sweep_task.call_local()
            [delivery] = deliveries_of(ctx, actor.organization_id)
            if delivery.next_attempt_at is None:
                break
            waits.append((delivery.next_attempt_at - clock.at).total_seconds())
            clock.at = delivery.next_attempt_at
    assert waits == [60, 120, 240, 480, 960]
    assert (delivery.status, delivery.attempts) == (FAILED, 6)
    assert delivery.last_error == (
        "Could not reach the webhook receiver (ConnectError); it will be retried."
    )


def test_nothing_configured_means_nothing_logged_or_sent(sqlite_settings: Settings) -> None:
    for ctx in context_for(notify_settings(sqlite_settings)):
        actor, request_id = submitted(ctx)
        assert jobs_for(ctx, Clock(OVERDUE)).sweep_task.call_local() == 1
        detail = requests.get_request(ctx, actor, request_id)
        assert detail.request.needs_attention is not None  # the follow-up itself still ran
        assert deliveries_of(ctx, actor.organization_id) == []


def test_only_the_chosen_events_are_notified(sqlite_settings: Settings) -> None:
    with http_receiver(200) as receiver:
        settings = notify_settings(
            sqlite_settings,
            webhooks=[{"url": receiver.url, "secret": SECRET}],
            notify_events="request.approved,request.denied",
        )
        for ctx in context_for(settings):
            actor, request_id = submitted(ctx)
            jobs_for(ctx, Clock(OVERDUE)).sweep_task.call_local()
            assert receiver.requests == []  # a work item is not among the chosen events
            denial = {
                "outcome": "denied",
                "method": "fax",
                "reference": "FAX-9",
                "reason_codes": ["50"],
                "lines": [{"code": "15823", "status": "denied"}],
            }
            requests.record_determination(ctx, actor, request_id, denial, now=OVERDUE)
            jobs_for(ctx, Clock(OVERDUE)).sweep_task.call_local()
    [sent] = receiver.requests
    assert sent.headers["x-precert-event"] == "request.denied"
    assert json.loads(sent.body)["data"]["title"] == f"Request {request_id[:8]} denied"
