"""The HTTP client for one payer's Da Vinci PAS FHIR base: `Claim/$submit`, `Claim/$inquire` and
`Subscription`, with every transport or HTTP failure translated into the ChannelError family.

What a failure means for a retry is decided here, once: nothing reached the payer (connect error,
5xx) or the payer may have it (the body went out and no answer came back). Either way a retry is
safe, because the payer answers the same Claim identifier once. Bodies hold PHI, so no message
ever quotes a request; the payer's address is shown without its credentials.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from precert.channels.fhir.pas_response import read_response
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    InvalidInput,
    Issue,
    PayerRejected,
)

FHIR_JSON = "application/fhir+json"
# A payer that does not even accept the connection within this is down; the read timeout (the
# payer adjudicating in real time) is the configured PRECERT_PAS_TIMEOUT_SECONDS.
CONNECT_SECONDS = 10.0
# The PAS topic (PAS IG, Subscriptions): a pended request was decided.
PAS_TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
_REJECTING = frozenset({400, 422})
_CREDENTIALS = frozenset({401, 403})


def display_url(url: str) -> str:
    """`url` without user, password, query or fragment: safe for messages, logs and receipts."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def subscription_resource(endpoint_url: str, headers: list[str]) -> dict[str, Any]:
    """An R4 (Subscriptions Backport) rest-hook Subscription to the PAS topic with full-resource
    notifications; `headers` ("Name: value") go with every notification the payer posts."""
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [BACKPORT + "backport-subscription"]},
        "status": "requested",
        "reason": "precert: decisions on pended prior authorization requests",
        "criteria": PAS_TOPIC,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint_url,
            "payload": FHIR_JSON,
            "_payload": {
                "extension": [
                    {"url": BACKPORT + "backport-payload-content", "valueCode": "full-resource"}
                ]
            },
            "header": list(headers),
        },
    }


class PasClient:
    """Posts FHIR JSON to one payer's PAS base URL (e.g. https://payer/fhir).

    `transport` is the I/O seam (tests may pass a local server's address instead); a client per
    call keeps no connection open between a submission and its inquiry hours later.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.shown = display_url(base_url.rstrip("/"))
        # User and password in the address are a gateway's basic auth; a bearer token replaces
        # them (httpx would otherwise overwrite our Authorization header with basic auth).
        self.base_url = self.shown if token else base_url.rstrip("/")
        self._token = token
        self._timeout = httpx.Timeout(
            timeout_seconds, connect=min(CONNECT_SECONDS, timeout_seconds)
        )
        self._transport = transport

    def __repr__(self) -> str:  # never the token
        return f"PasClient({self.shown!r})"

    def submit(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """The payer's answer to a `Claim/$submit` (a response Bundle, usually)."""
        return self._post("Claim/$submit", bundle)

    def inquire(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """The payer's current answer for the request an inquiry Bundle names by identifier."""
        return self._post("Claim/$inquire", bundle)

    def subscribe(self, endpoint_url: str, headers: list[str]) -> str:
        """Register a rest-hook Subscription to the PAS topic; the payer's id for it."""
        created = self._post("Subscription", subscription_resource(endpoint_url, headers))
        ident = created.get("id")
        if not isinstance(ident, str) or not ident:
            raise ChannelUnavailable(
                f"The payer's PAS endpoint ({self.shown}) created the Subscription but did not "
                "say its id; ask the payer to list our subscriptions before creating another.",
                [Issue("no-id", "Subscription.id is missing from the answer.", "Subscription.id")],
            )
        return ident

    # -- one POST, every failure translated ---------------------------------------------------

    def _post(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        content = json.dumps(body).encode("utf-8")
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as http:
                response = http.post(
                    f"{self.base_url}/{operation}", content=content, headers=headers
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise self._unreachable(operation, type(error).__name__) from None
        except httpx.TransportError as error:
            # The body may have gone out (read timeout, connection dropped mid-answer).
            raise self._in_doubt(operation, type(error).__name__) from None
        return self._answer(operation, response)

    def _answer(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:
            parsed = _json(response)
            if not isinstance(parsed, dict):
                raise self._in_doubt(operation, "the answer was not a JSON object")
            return parsed
        if status >= 500:
            raise self._unreachable(operation, f"HTTP {status}")
        if status in _CREDENTIALS:
            message = (
                f"The payer's PAS endpoint ({self.shown}) refused our credentials (HTTP {status}) "
                f"on {operation}; set PRECERT_PAS_TOKEN to the bearer token this payer issued us."
            )
            raise ChannelMisconfigured(
                message, [Issue("credentials", message, "PRECERT_PAS_TOKEN")]
            )
        if status == 429:
            raise self._unreachable(operation, "HTTP 429, too many requests")
        parsed = _json(response)
        outcome = (
            parsed
            if isinstance(parsed, dict) and parsed.get("resourceType") == "OperationOutcome"
            else None
        )
        is_outcome = outcome is not None
        if status == 404 and is_outcome:
            message = _not_found(operation)
            raise PayerRejected(message, [Issue("not-found", message, operation)])
        if status in _REJECTING:
            raise _rejected(operation, outcome, status)
        message = (
            f"The payer's address {self.shown} answered HTTP {status} to {operation}; it does not "
            "look like a PAS FHIR base. Check this payer's entry in PRECERT_PAS_ENDPOINTS."
        )
        raise ChannelMisconfigured(message, [Issue("endpoint", message, "PRECERT_PAS_ENDPOINTS")])

    def _unreachable(self, operation: str, why: str) -> ChannelUnavailable:
        message = (
            f"The payer's PAS endpoint ({self.shown}) did not take {operation} ({why}): nothing "
            "was received. Try again later."
        )
        return ChannelUnavailable(message, [Issue("unavailable", message, operation)])

    def _in_doubt(self, operation: str, why: str) -> ChannelUnavailable:
        message = (
            f"The payer's PAS endpoint ({self.shown}) gave no usable answer to {operation} after "
            f"the request was sent ({why}); the payer may have received it. Submitting again is "
            "safe: the payer answers the same Claim identifier once."
        )
        return ChannelUnavailable(message, [Issue("no-answer", message, operation)])


def _json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _not_found(operation: str) -> str:
    if operation == "Claim/$inquire":
        return (
            "The payer has no request with this Claim identifier: it never received the "
            "submission. Submit the request again."
        )
    return f"The payer answered {operation} with 'not found'; check PRECERT_PAS_ENDPOINTS."


def _rejected(operation: str, outcome: dict[str, Any] | None, status: int) -> PayerRejected:
    """A 400/422: the payer refused the body; its OperationOutcome says where."""
    issues: list[Issue] = []
    if outcome is not None:
        try:
            issues = list(read_response(outcome).issues)
        except InvalidInput:
            issues = []
    if not issues:
        text = f"the payer refused {operation} (HTTP {status}) without saying why."
        issues = [Issue(f"http-{status}", text, operation)]
    message = (
        f"The payer rejected {operation}: {issues[0].message}"
        + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")
        + " Fix the request and submit again."
    )
    return PayerRejected(message, issues)
