"""Signed webhook deliveries against a real HTTP receiver on 127.0.0.1.

The receiver records each request; the tests check the body, the headers, that the signature
verifies with the subscriber's secret, and the delivery log for retries (sleep is injected, so
no test waits for a backoff).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.notify.receivers import closed_port_url, http_receiver

from precert.notify.notice import Notice
from precert.notify.webhook import (
    RetryPolicy,
    SignatureError,
    Subscriber,
    WebhookSender,
    sign,
    verify_signature,
)

SECRET = "whsec-test-0123456789"
NOTICE = Notice(
    kind="request.approved",
    title="Request AR-1042 approved",
    text="Acme Health approved 1 of 1 service lines.",
    link="https://precert.example.test/requests/AR-1042",
    fields={"Request": "AR-1042", "Status": "approved", "Payer": "acme"},
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def sender(client: httpx.Client, sleeps: list[float], attempts: int = 5) -> WebhookSender:
    policy = RetryPolicy(max_attempts=attempts, base_delay=2.0, factor=2.0, max_delay=60.0)
    return WebhookSender(client, policy=policy, sleep=sleeps.append)


def test_a_delivery_posts_the_event_json_with_event_delivery_and_signature_headers(
    client: httpx.Client,
) -> None:
    with http_receiver(200) as receiver:
        log = sender(client, []).deliver(
            Subscriber(receiver.url, SECRET), NOTICE.kind, NOTICE.as_dict()
        )
    assert [(r.attempt, r.status_code, r.ok, r.error) for r in log] == [(1, 200, True, "")]
    [request] = receiver.requests
    assert request.path == "/hooks/precert"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-precert-event"] == "request.approved"
    assert request.headers["x-precert-delivery"] == log[0].delivery_id
    body = json.loads(request.body)
    assert body["id"] == log[0].delivery_id
    assert body["event"] == "request.approved"
    assert body["data"] == NOTICE.as_dict()
    verify_signature(SECRET, request.headers["x-precert-signature"], request.body, now=time.time())


def test_the_signature_is_an_hmac_sha256_of_timestamp_dot_body_under_the_secret(
    client: httpx.Client,
) -> None:
    import hashlib
    import hmac

    with http_receiver(204) as receiver:
        sender(client, []).deliver(Subscriber(receiver.url, SECRET), "ping", {})
    [request] = receiver.requests
    stamp, v1 = (
        part.split("=", 1)[1] for part in request.headers["x-precert-signature"].split(",")
    )
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
    assert v1 == expected.hexdigest()


def test_a_receiver_failing_twice_with_500_gets_three_attempts_with_growing_waits(
    client: httpx.Client,
) -> None:
    sleeps: list[float] = []
    with http_receiver(500, 500, 200) as receiver:
        log = sender(client, sleeps).deliver(Subscriber(receiver.url, SECRET), "ping", {"n": 1})
    assert [(r.attempt, r.status_code, r.ok) for r in log] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert log[0].error == "The webhook receiver answered HTTP 500; it will be retried."
    assert log[0].retryable
    assert sleeps == [2.0, 4.0]
    # One delivery id for every attempt, so the receiver can drop a duplicate it already handled.
    ids = {request.headers["x-precert-delivery"] for request in receiver.requests}
    assert ids == {log[0].delivery_id}
    assert len({request.body for request in receiver.requests}) == 1


def test_a_400_answer_is_not_retried_and_the_log_says_retrying_will_not_help(
    client: httpx.Client,
) -> None:
    sleeps: list[float] = []
    with http_receiver(400) as receiver:
        log = sender(client, sleeps).deliver(Subscriber(receiver.url, SECRET), "ping", {})
    assert len(receiver.requests) == 1
    assert sleeps == []
    [record] = log
    assert (record.status_code, record.ok, record.retryable) == (400, False, False)
    assert record.error == (
        "The webhook receiver answered HTTP 400; "
        "check the receiver's URL and configuration; retrying will not help."
    )


def test_a_receiver_that_keeps_failing_gets_the_policy_attempts_and_ends_retryable(
    client: httpx.Client,
) -> None:
    sleeps: list[float] = []
    with http_receiver(503) as receiver:
        log = sender(client, sleeps, attempts=4).deliver(
            Subscriber(receiver.url, SECRET), "ping", {}
        )
    assert [r.status_code for r in log] == [503, 503, 503, 503]
    assert sleeps == [2.0, 4.0, 8.0]
    assert log[-1].retryable and not log[-1].ok


def test_a_retry_after_answer_is_honoured_up_to_the_longest_wait_of_the_policy(
    client: httpx.Client,
) -> None:
    sleeps: list[float] = []
    with http_receiver(429, 503, 200, headers={"Retry-After": "30"}) as receiver:
        sender(client, sleeps).deliver(Subscriber(receiver.url, SECRET), "ping", {})
    assert sleeps == [30.0, 30.0]
    with http_receiver(503, 200, headers={"Retry-After": "3600"}) as receiver:
        sleeps.clear()
        sender(client, sleeps).deliver(Subscriber(receiver.url, SECRET), "ping", {})
    assert sleeps == [60.0]


def test_a_receiver_nobody_listens_on_is_logged_as_unreachable_and_retried(
    client: httpx.Client,
) -> None:
    sleeps: list[float] = []
    log = sender(client, sleeps, attempts=3).deliver(
        Subscriber(closed_port_url(), SECRET), "ping", {}
    )
    assert [(r.attempt, r.status_code) for r in log] == [(1, None), (2, None), (3, None)]
    assert (
        log[0].error == "Could not reach the webhook receiver (ConnectError); it will be retried."
    )
    assert len(sleeps) == 2


def test_a_receiver_too_slow_to_answer_is_logged_as_a_timeout_and_retried() -> None:
    with httpx.Client(timeout=0.2) as slow, http_receiver(200, hold=True) as receiver:
        log = sender(slow, [], attempts=2).deliver(Subscriber(receiver.url, SECRET), "ping", {})
    assert [r.error for r in log] == [
        "The webhook receiver did not answer in time; it will be retried."
    ] * 2


def test_verify_signature_refuses_a_changed_body_a_wrong_secret_and_a_stale_timestamp() -> None:
    body = b'{"event":"ping"}'
    header = sign(SECRET, 1_800_000_000, body)
    verify_signature(SECRET, header, body, now=1_800_000_100)
    with pytest.raises(SignatureError) as changed:
        verify_signature(SECRET, header, body + b" ", now=1_800_000_100)
    assert str(changed.value) == "The signature does not match the body; check the shared secret."
    with pytest.raises(SignatureError):
        verify_signature("another-secret", header, body, now=1_800_000_100)
    with pytest.raises(SignatureError) as stale:
        verify_signature(SECRET, header, body, now=1_800_000_301)
    assert str(stale.value) == (
        "The signature is older than 300 seconds (or from the future); "
        "refusing it as a possible replay. Check the receiver's clock."
    )


def test_verify_signature_accepts_either_secret_during_a_rotation_and_refuses_garbage() -> None:
    body = b"{}"
    old = sign("old-secret", 1_800_000_000, body)
    new_v1 = sign("new-secret", 1_800_000_000, body).split("v1=")[1]
    verify_signature("new-secret", f"{old},v1={new_v1}", body, now=1_800_000_000)
    with pytest.raises(SignatureError) as garbage:
        verify_signature(SECRET, "sha256=abc", body, now=1_800_000_000)
    assert str(garbage.value) == (
        "The signature header is malformed; expected t=<unix ts>,v1=<hex>."
    )


def test_each_attempt_is_signed_at_its_own_time_so_late_retries_are_not_stale(
    client: httpx.Client,
) -> None:
    moments = iter(dt.datetime(2026, 11, 23, 9, 0, s, tzinfo=dt.UTC) for s in (0, 1, 30))
    with http_receiver(500, 200) as receiver:
        sending = WebhookSender(client, sleep=lambda _: None, now=lambda: next(moments))
        log = sending.deliver(Subscriber(receiver.url, SECRET), "ping", {})
    assert [r.at.second for r in log] == [1, 30]
    stamps = [r.headers["x-precert-signature"].split(",")[0] for r in receiver.requests]
    assert stamps == [f"t={int(r.at.timestamp())}" for r in log]


def test_subscriber_and_records_never_show_the_secret_or_url() -> None:
    subscriber = Subscriber("https://hooks.example.test/T0KEN", SECRET)
    assert SECRET not in repr(subscriber)
    assert "T0KEN" not in repr(subscriber)
