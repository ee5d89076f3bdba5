"""Signed webhook deliveries: POST a JSON event to a subscriber, retry with backoff, log attempts.

Each attempt carries `X-Precert-Event`, `X-Precert-Delivery` (one id for all attempts of a
delivery, so receivers can drop duplicates) and `X-Precert-Signature: t=<unix ts>,v1=<hex>`, the
HMAC-SHA256 of "<ts>.<body>" under the subscriber's secret. The timestamp is re-signed on every
attempt, so receivers can refuse stale (replayed) requests with `verify_signature`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import httpx

from precert.notify.errors import NotifyError, error_for_status, error_for_transport

CHANNEL = "webhook"
EVENT_HEADER = "X-Precert-Event"
DELIVERY_HEADER = "X-Precert-Delivery"
SIGNATURE_HEADER = "X-Precert-Signature"
DEFAULT_TOLERANCE = 300  # seconds; the same window Stripe and Slack give their receivers


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Where to deliver and the shared secret to sign with (kept out of the repr)."""

    url: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts in all, and the exponential backoff between them (in seconds)."""

    max_attempts: int = 5
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0

    def delay_after(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * self.factor ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt in the delivery log: the receiver's status code, or the error, and when."""

    delivery_id: str
    event: str
    attempt: int
    at: dt.datetime
    status_code: int | None = None
    error: str = ""
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class SignatureError(NotifyError):
    """A received webhook's signature is missing, malformed, stale or does not match."""


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float, tolerance: int = DEFAULT_TOLERANCE
) -> None:
    """For receivers: raise SignatureError unless `header` signs the raw `body` recently enough.

    Several v1 values are accepted so a sender can sign with an old and a new secret while
    rotating. `now` is unix seconds (pass `time.time()`).
    """
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in parts if key.strip() == "t"]
    candidates = [value.strip() for key, value in parts if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not candidates:
        raise SignatureError("The signature header is malformed; expected t=<unix ts>,v1=<hex>.")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"The signature is older than {tolerance} seconds (or from the future); "
            "refusing it as a possible replay. Check the receiver's clock."
        )
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("The signature does not match the body; check the shared secret.")


def event_body(event: str, delivery_id: str, data: Mapping[str, object], at: dt.datetime) -> bytes:
    """The JSON every receiver gets: the event name, the delivery id, when, and the data."""
    document = {"id": delivery_id, "event": event, "created_at": at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class WebhookSender:
    """Delivers events to subscribers through an injected httpx client, sleep and clock."""

    client: httpx.Client
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = _utc_now

    def deliver(
        self,
        subscriber: Subscriber,
        event: str,
        data: Mapping[str, object],
        *,
        delivery_id: str | None = None,
        created_at: dt.datetime | None = None,
    ) -> list[DeliveryRecord]:
        """Try until the receiver answers 2xx, answers 4xx, or the attempts run out.

        Returns every attempt; the last one says how it ended (`ok`, or `retryable` for a
        delivery worth scheduling again later). The data must already be free of PHI. A caller
        that retries later itself (a job queue) passes the `delivery_id` and `created_at` of the
        first attempt, so that every attempt carries the same id and the same body.
        """
        delivery_id = delivery_id or uuid.uuid4().hex
        body = event_body(event, delivery_id, data, created_at or self.now())
        log: list[DeliveryRecord] = []
        for attempt in range(1, self.policy.max_attempts + 1):
            record, retry_after = self._attempt(subscriber, event, delivery_id, body, attempt)
            log.append(record)
            if record.ok or not record.retryable or attempt == self.policy.max_attempts:
                break
            # A receiver's Retry-After is honoured, but never beyond the policy's longest wait.
            wait = max(self.policy.delay_after(attempt), min(retry_after, self.policy.max_delay))
            self.sleep(wait)
        return log

    def _attempt(
        self, subscriber: Subscriber, event: str, delivery_id: str, body: bytes, attempt: int
    ) -> tuple[DeliveryRecord, float]:
        at = self.now()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "precert-webhooks/1",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            SIGNATURE_HEADER: sign(subscriber.secret, int(at.timestamp()), body),
        }
        record = DeliveryRecord(delivery_id, event, attempt, at)
        try:
            response = self.client.post(subscriber.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = error_for_transport(CHANNEL, exc)
            return replace(record, error=error.message, retryable=error.retryable), 0.0
        record = replace(record, status_code=response.status_code)
        if response.is_success:
            return record, 0.0
        error = error_for_status(CHANNEL, response.status_code)
        failed = replace(record, error=error.message, retryable=error.retryable)
        return failed, _retry_after(response)


def _retry_after(response: httpx.Response) -> float:
    """A receiver's Retry-After in seconds (429/503 answers), when given as a number."""
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else 0.0
