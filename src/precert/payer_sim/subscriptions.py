"""Rest-hook Subscriptions: `POST /fhir/Subscription` registers an endpoint, and when a pended
request is decided the endpoint receives a full-resource notification: a `history` Bundle whose
first entry is the SubscriptionStatus Parameters (event number, focus) and whose second entry is
the complete PAS response Bundle, as the PAS IG's notification example has it.

The decision thread (`Notifier`) runs in the simulator process: it decides what has fallen due
and posts the notifications with httpx, a few attempts each; a failed delivery goes to the
received log, never to stdout.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from precert.errors import InvalidInput
from precert.payer_sim.simulator import Decided, Simulator
from precert.payer_sim.state import Subscription

PAS_TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
_ATTEMPTS = 3
log = logging.getLogger(__name__)


def read_subscription(body: object) -> dict[str, Any]:
    """The Subscription to store: a rest-hook with an http(s) endpoint; InvalidInput otherwise.
    Its status becomes `active` (the simulator does no handshake)."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "Subscription":
        raise InvalidInput.field("resourceType", "resourceType: expected a Subscription.")
    channel = body.get("channel")
    if not isinstance(channel, Mapping):
        raise InvalidInput.field(
            "Subscription.channel",
            "Subscription.channel: the rest-hook channel is required.",
            "required",
        )
    if channel.get("type") != "rest-hook":
        raise InvalidInput.field(
            "Subscription.channel.type",
            "Subscription.channel.type: only 'rest-hook' is supported.",
        )
    endpoint = channel.get("endpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput.field(
            "Subscription.channel.endpoint",
            "Subscription.channel.endpoint: an http(s) URL to post notifications to.",
            "required",
        )
    headers = channel.get("header")
    if headers is not None and (
        not isinstance(headers, list) or not all(isinstance(h, str) and ":" in h for h in headers)
    ):
        raise InvalidInput.field(
            "Subscription.channel.header",
            "Subscription.channel.header: a list of 'Name: value' strings.",
        )
    return {**body, "status": "active"}


def notification_bundle(
    subscription: Subscription, event_number: int, response: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """A full-resource event notification carrying `response`."""
    focus = f"urn:uuid:{response['id']}"
    return {
        "resourceType": "Bundle",
        "type": "history",
        "timestamp": now.isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:status-{subscription.id}-{event_number}",
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [
                        {
                            "name": "subscription",
                            "valueReference": {"reference": f"Subscription/{subscription.id}"},
                        },
                        {"name": "topic", "valueCanonical": PAS_TOPIC},
                        {"name": "type", "valueCode": "event-notification"},
                        {
                            "name": "notification-event",
                            "part": [
                                {"name": "event-number", "valueString": str(event_number)},
                                {"name": "timestamp", "valueInstant": now.isoformat()},
                                {"name": "focus", "valueReference": {"reference": focus}},
                            ],
                        },
                    ],
                },
                "request": {"method": "GET", "url": f"Subscription/{subscription.id}/$status"},
                "response": {"status": "200"},
            },
            {
                "fullUrl": focus,
                "resource": response,
                "request": {"method": "POST", "url": "Claim/$submit"},
                "response": {"status": "200"},
            },
        ],
    }


class Notifier:
    """The decision thread: every `interval` seconds, decide what is due and post the
    notifications queued by the simulator (also those decided while answering a request)."""

    def __init__(self, simulator: Simulator, interval: float = 0.05) -> None:
        self.simulator = simulator
        self.interval = interval
        self._queue: queue.Queue[Decided] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        simulator.on_decided = self._queue.put

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="payer-sim-decisions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    self.simulator.decide_due()
                    while not self._queue.empty():
                        self._deliver(client, self._queue.get_nowait())
                except Exception:  # the thread must outlive one bad round
                    log.exception("payer simulator: a decision round failed")
                self._stop.wait(self.interval)

    def _deliver(self, client: httpx.Client, decided: Decided) -> None:
        state = self.simulator.state
        for subscription in state.subscriptions():
            channel = subscription.resource["channel"]
            headers = {"Content-Type": "application/fhir+json"}
            for header in channel.get("header") or []:
                name, _, value = header.partition(":")
                headers[name.strip()] = value.strip()
            number = state.next_event(subscription.id)
            body = notification_bundle(
                subscription, number, decided.response, self.simulator.clock()
            )
            status = 0
            for attempt in range(_ATTEMPTS):
                try:
                    status = client.post(
                        channel["endpoint"], json=body, headers=headers
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                if 200 <= status < 300:
                    break
                self._stop.wait(0.2 * (attempt + 1))
            state.log(
                self.simulator.clock(),
                "notification",
                status,
                {
                    "subscription": subscription.id,
                    "event": number,
                    "request": decided.submission.identifier,
                },
            )
