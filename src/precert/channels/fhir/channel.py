"""The Da Vinci PAS channel: a request goes to its payer's FHIR base as `Claim/$submit`, a pended
one is looked up with `Claim/$inquire` or arrives as a Subscription notification, and every PAS
answer becomes a PayerAnswer (a payer's rejection raises PayerRejected).

Every attempt for one request sends the same Bundle (ids and `created` derive from the request),
so a retry after a lost answer is the same Claim identifier and the payer answers it once. The
HTTP and its failures live in client.py; the Bundle and its reading in pas_bundle / pas_response.

`amend` cancels, extends or revises an authorization the payer granted: a PAS Claim Update
(`pas_bundle.update_bundle`) sent by `Claim/$submit`. The same change again is the same update
Claim identifier, so a retry is answered once.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from precert.channels.base import AnswerKind, PayerAnswer, Receipt, Submission
from precert.channels.fhir.client import PAS_TOPIC, PasClient, display_url
from precert.channels.fhir.pas_bundle import (
    PAS,
    REQUEST_ID_SYSTEM,
    build_request_bundle,
    resource_id,
    update_bundle,
)
from precert.channels.fhir.pas_response import PasResult, ResultKind, read_response
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    InvalidInput,
    Issue,
    PayerRejected,
)

__all__ = ["PAS_TOPIC", "PasChannel", "notification_request_id", "pas_channel", "read_notification"]

Clock = Callable[[], dt.datetime]
INQUIRY_BUNDLE_PROFILE = PAS + "profile-pas-inquiry-request-bundle"
CLAIM_INQUIRY_PROFILE = PAS + "profile-claim-inquiry"
INQUIRY_ID_SYSTEM = "urn:precert:pas-inquiry"
# The Claim elements an inquiry leaves out: they point at entries the inquiry does not carry.
_NOT_IN_INQUIRY = ("careTeam", "diagnosis", "facility")
_NOT_IN_INQUIRY_ITEM = ("careTeamSequence", "diagnosisSequence")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PasChannel:
    """Sends requests to the payers listed in PRECERT_PAS_ENDPOINTS; `check` runs `$inquire`."""

    name: ClassVar[str] = "fhir-pas"
    transmits: ClassVar[bool] = True
    inquires: ClassVar[bool] = True

    def __init__(
        self,
        endpoints: Mapping[str, str],
        *,
        token: str | None = None,
        timeout_seconds: float = 30.0,
        clock: Clock = _utc_now,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._endpoints = dict(endpoints)
        self._token = token
        self._timeout = timeout_seconds
        self._clock = clock
        self._transport = transport

    def __repr__(self) -> str:  # no token, no credentials in an address
        shown = {payer: display_url(url) for payer, url in self._endpoints.items()}
        return f"PasChannel({shown!r})"

    def submit(self, submission: Submission) -> Receipt:
        """`Claim/$submit` the request and read the payer's synchronous answer into the Receipt.
        Every attempt (whatever its idempotency key) sends the same Bundle, so after a lost
        answer the payer recognises the Claim identifier and answers it once, not twice."""
        request = submission.request
        client = self._client(request.coverage.payer_id)
        bundle = build_request_bundle(request, created=request.created_at)
        sent_at = self._clock()
        answer = self._read(client.submit(bundle), request.lines, "Claim/$submit")
        payer_reference = answer.reference or (
            answer.determination.authorization_number if answer.determination else ""
        )
        return Receipt(
            channel=self.name,
            reference=payer_reference or request.id,
            sent_at=sent_at,
            details={
                "claim_identifier": request.id,
                "payer_reference": payer_reference,
                "endpoint": client.shown,
            },
            answer=answer,
        )

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        """The payer's current answer, asked by `$inquire` with the submission's Claim
        identifier; PayerRejected when the payer has no such request."""
        request = submission.request
        client = self._client(request.coverage.payer_id)
        bundle = inquiry_bundle(request, at=self._clock())
        return self._read(client.inquire(bundle), request.lines, "Claim/$inquire")

    def amend(
        self,
        submission: Submission,
        receipt: Receipt,
        *,
        kind: str,
        authorization_number: str,
        to_date: dt.date | None = None,
        units: Mapping[str, int] | None = None,
    ) -> PayerAnswer:
        """Cancel (`kind` "cancel"), extend ("extend") or revise ("revise") the authorization
        `authorization_number` granted on `submission` (whose `receipt` says where it went):
        `to_date` the new last day of service, `units` the units now asked per procedure code.
        A confirmed cancel is AnswerKind.CANCELLED (reference: the number withdrawn); an
        extension or revision the payer's Determination, under the same authorization number.
        PayerRejected when the payer refuses or answers something other than what was asked."""
        request = submission.request
        if receipt.channel != self.name:
            raise InvalidInput.field(
                "receipt",
                f"receipt: the request went by {receipt.channel!r}; amend it the same way.",
            )
        client = self._client(request.coverage.payer_id)
        bundle = update_bundle(
            request,
            kind=kind,
            authorization_number=authorization_number,
            to_date=to_date,
            units=units,
            created=self._clock(),
        )
        # The lines as now asked, so the payer's decision on each names the units and dates.
        lines = [_amended(line, to_date, units) for line in request.lines]
        answer = self._read(
            client.submit(bundle), lines, "Claim/$submit", cancel_sent=kind == "cancel"
        )
        if kind == "cancel" and answer.kind is not AnswerKind.CANCELLED:
            message = (
                f"The payer did not confirm the cancellation of {authorization_number} (it "
                f"answered {answer.kind.value}); call the payer to confirm it."
            )
            raise PayerRejected(message, [Issue("pas.not-cancelled", message, "reviewActionCode")])
        return answer

    def subscribe(self, payer_id: str, endpoint_url: str, token: str) -> str:
        """Create a rest-hook Subscription at `payer_id`'s base so decisions on pended requests
        are posted to `endpoint_url` with `Authorization: Bearer <token>` (which our endpoint
        checks); the payer's Subscription id."""
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput.field(
                "endpoint_url", "endpoint_url: the http(s) address the payer posts decisions to."
            )
        if not token.strip():
            raise InvalidInput.field(
                "token", "token: the bearer token the payer must send with each notification."
            )
        return self._client(payer_id).subscribe(endpoint_url, [f"Authorization: Bearer {token}"])

    @staticmethod
    def read_notification(
        body: object,
        lines: Sequence[ServiceLine] | None = None,
        *,
        received_on: dt.date | None = None,
    ) -> tuple[str, PayerAnswer]:
        """See the module function `read_notification`."""
        return read_notification(body, lines, received_on=received_on)

    # -- helpers -------------------------------------------------------------------------------

    def _client(self, payer_id: str) -> PasClient:
        base = self._endpoints.get(payer_id)
        if not base:
            message = (
                f"Payer {payer_id!r} has no PAS endpoint; add "
                f"'{payer_id}=https://<payer>/fhir' to PRECERT_PAS_ENDPOINTS (after registering "
                "with the payer), or send the request another way."
            )
            raise ChannelMisconfigured(
                message, [Issue("no-endpoint", message, "PRECERT_PAS_ENDPOINTS")]
            )
        return PasClient(
            base, token=self._token, timeout_seconds=self._timeout, transport=self._transport
        )

    def _read(
        self,
        response: dict[str, Any],
        lines: Sequence[ServiceLine],
        operation: str,
        *,
        cancel_sent: bool = False,
    ) -> PayerAnswer:
        try:
            result = read_response(response, lines=lines, received_on=self._clock().date())
        except InvalidInput as error:
            # The payer answered, but not in a form we can read: nothing usable came back, and
            # asking again (or resubmitting) gets the same stored answer, so a retry is safe.
            where = error.issues[0].location if error.issues else "the response"
            message = (
                f"The payer's answer to {operation} could not be read as a PAS response (at "
                f"{where}); the payer may have received the request. Submitting again is safe: "
                "the payer answers the same Claim identifier once."
            )
            raise ChannelUnavailable(message, list(error.issues)) from None
        return answer_for(result, cancel_sent=cancel_sent)


def _amended(
    line: ServiceLine, to_date: dt.date | None, units: Mapping[str, int] | None
) -> ServiceLine:
    """`line` as an extension or revision asks it (the same rule as pas_bundle.update_bundle)."""
    if units and line.code in units:
        line = dataclasses.replace(line, units=units[line.code])
    if to_date is not None:
        line = dataclasses.replace(line, to_date=max(to_date, line.from_date))
    return line


def answer_for(result: PasResult, *, cancel_sent: bool = False) -> PayerAnswer:
    """The PayerAnswer for a read PAS response; PayerRejected for an error, and for a
    cancellation unless we sent one (`cancel_sent`: then it is AnswerKind.CANCELLED).
    As in the X12 channel, only a DECIDED answer carries a Determination to record."""
    reference = result.reference
    quoted = f" (reference {reference})" if reference else ""
    if result.kind is ResultKind.ERROR:
        issues = list(result.issues) or [
            Issue("error", "the payer could not process the request.", "ClaimResponse")
        ]
        message = f"The payer rejected the request: {issues[0].message}"
        if len(issues) > 1:
            message += f" (and {len(issues) - 1} more)"
        raise PayerRejected(message + " Fix the request and submit again.", issues)
    if result.kind is ResultKind.CANCELLED and cancel_sent:
        message = f"The payer confirmed the cancellation{quoted}."
        return PayerAnswer(AnswerKind.CANCELLED, None, reference, message)
    if result.kind is ResultKind.CANCELLED:
        # A cancellation we did not ask for: a person must find out why the payer cancelled.
        message = f"The payer answered the request{quoted} as cancelled (review action C)."
        raise PayerRejected(message, [Issue("pas.cancelled", message, "reviewActionCode")])
    if result.kind is ResultKind.DECIDED:
        return PayerAnswer(AnswerKind.DECIDED, result.determination, reference)
    if result.kind is ResultKind.PENDED:
        message = f"The payer is reviewing the request{quoted}; its decision comes later."
        return PayerAnswer(AnswerKind.PENDED, None, reference, message)
    message = f"The payer asks that someone call them about this request{quoted}."
    return PayerAnswer(AnswerKind.CONTACT_PAYER, None, reference, message)


def inquiry_bundle(request: AuthorizationRequest, *, at: dt.datetime) -> dict[str, Any]:
    """The `Claim/$inquire` body: an inquiry Claim with the submission's identifier and items,
    and the Patient, Coverage, insurer and provider entries it references (PAS inquiry profile)."""
    full = build_request_bundle(request, created=request.created_at)
    first = full["entry"][0]
    claim = copy.deepcopy(first["resource"])
    claim["meta"] = {"profile": [CLAIM_INQUIRY_PROFILE]}
    for key in _NOT_IN_INQUIRY:
        claim.pop(key, None)
    for item in claim["item"]:
        for key in _NOT_IN_INQUIRY_ITEM:
            item.pop(key, None)
        # The requestedService extension points at a DeviceRequest the inquiry does not carry.
        item["extension"] = [e for e in item["extension"] if "valueReference" not in e]
    wanted = {
        claim["patient"]["reference"],
        claim["insurer"]["reference"],
        claim["provider"]["reference"],
        *(entry["coverage"]["reference"] for entry in claim["insurance"]),
    }
    return {
        "resourceType": "Bundle",
        "id": resource_id(request.id, f"inquiry-{at.isoformat()}"),
        "meta": {"profile": [INQUIRY_BUNDLE_PROFILE]},
        "identifier": {
            "system": INQUIRY_ID_SYSTEM,
            "value": f"{request.id}-{at.strftime('%Y%m%dT%H%M%S')}",
        },
        "type": "collection",
        "timestamp": at.isoformat(),
        "entry": [
            {"fullUrl": first["fullUrl"], "resource": claim},
            *(e for e in full["entry"][1:] if e["fullUrl"] in wanted),
        ],
    }


def pas_channel(settings: Settings, clock: Clock) -> PasChannel:
    """The PAS channel on the installation's settings (the registry's factory)."""
    token = settings.pas_token.get_secret_value() if settings.pas_token is not None else None
    return PasChannel(
        settings.pas_endpoints,
        token=token,
        timeout_seconds=settings.pas_timeout_seconds,
        clock=clock,
    )


# -- Subscription notifications ----------------------------------------------------------------

_FOCUS = "Bundle.entry[1].resource"


def read_notification(
    body: object,
    lines: Sequence[ServiceLine] | None = None,
    *,
    received_on: dt.date | None = None,
) -> tuple[str, PayerAnswer]:
    """(our request id, the payer's answer) from a full-resource notification: a `history`
    Bundle, entry[0] the SubscriptionStatus Parameters, entry[1] the PAS response Bundle or
    ClaimResponse. Pass the request's `lines` when known (see `notification_request_id`) so each
    decision names the code asked for. InvalidInput names the failing element; an error response
    raises PayerRejected."""
    focus = _focus(body)
    request_id = _request_id(focus)
    try:
        result = read_response(focus, lines=lines, received_on=received_on)
    except InvalidInput as error:
        raise _within(error, _FOCUS) from None
    return request_id, answer_for(result)


def notification_request_id(body: object) -> str:
    """Our request id (the Claim identifier) a notification is about, read before the rest so
    the caller can load the request (and its lines) first; InvalidInput when it is missing."""
    return _request_id(_focus(body))


def _focus(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle":
        raise _bad("resourceType", "a notification is a Bundle of type 'history'.")
    if body.get("type") != "history":
        raise _bad("Bundle.type", "a notification Bundle has type 'history'.")
    entries = body.get("entry")
    if not isinstance(entries, list) or len(entries) < 2:
        raise _bad(
            "Bundle.entry",
            "a full-resource notification has two entries: the SubscriptionStatus Parameters, "
            "then the PAS response.",
            "required",
        )
    status = entries[0].get("resource") if isinstance(entries[0], Mapping) else None
    if not isinstance(status, Mapping) or status.get("resourceType") != "Parameters":
        raise _bad(
            "Bundle.entry[0].resource", "the first entry is the SubscriptionStatus Parameters."
        )
    kind = _parameter(status, "type")
    if kind not in (None, "event-notification"):
        raise _bad(
            "Bundle.entry[0].resource.parameter(type)",
            f"a {kind!r} notification carries no decision; only 'event-notification' does.",
        )
    focus = entries[1].get("resource") if isinstance(entries[1], Mapping) else None
    if not isinstance(focus, Mapping) or focus.get("resourceType") not in (
        "Bundle",
        "ClaimResponse",
    ):
        raise _bad(_FOCUS, "the second entry is the PAS response Bundle (or its ClaimResponse).")
    return focus


def _parameter(parameters: Mapping[str, Any], name: str) -> object:
    found = parameters.get("parameter")
    for parameter in found if isinstance(found, list) else []:
        if isinstance(parameter, Mapping) and parameter.get("name") == name:
            return parameter.get("valueCode")
    return None


def _request_id(focus: Mapping[str, Any]) -> str:
    """The Claim identifier the response answers. Our own system wins wherever it appears; else
    the Claim's identifier (ClaimResponse.request.identifier, or the Claim the request reference
    resolves to in the Bundle); else ClaimResponse.identifier, which PAS fills with the Claim's
    trace number (the IG examples and our simulator echo it there)."""
    if focus.get("resourceType") == "Bundle":
        entries = [e for e in focus.get("entry") or [] if isinstance(e, Mapping)]
        first = entries[0].get("resource") if entries else None
        at = f"{_FOCUS}.entry[0].resource"
        if not isinstance(first, Mapping) or first.get("resourceType") != "ClaimResponse":
            raise _bad(at, "the response Bundle's first entry must be the ClaimResponse.")
        response: Mapping[str, Any] = first
    else:
        entries, response, at = [], focus, _FOCUS
    request = response.get("request")
    request = request if isinstance(request, Mapping) else {}
    claim_ids = _identifiers(request.get("identifier")) + _identifiers(
        _claim_for(entries, request.get("reference"))
    )
    own_ids = _identifiers(response.get("identifier"))
    ours = [value for system, value in claim_ids + own_ids if system == REQUEST_ID_SYSTEM]
    found = ours or [value for _, value in claim_ids] or [value for _, value in own_ids]
    if not found:
        raise _bad(
            f"{at}.identifier",
            "the ClaimResponse names no Claim identifier (request.identifier, the Claim it "
            "references, or its own identifier); the request it answers cannot be found.",
            "required",
        )
    return found[0]


def _claim_for(entries: list[Mapping[str, Any]], reference: object) -> object:
    if not isinstance(reference, str):
        return None
    for entry in entries:
        resource = entry.get("resource")
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Claim":
            continue
        url = str(entry.get("fullUrl") or "")
        if reference in (url, f"Claim/{resource.get('id')}") or url.endswith("/" + reference):
            return resource.get("identifier")
    return None


def _identifiers(value: object) -> list[tuple[str, str]]:
    """(system, value) pairs from one Identifier or a list of them."""
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("value"), str) and item["value"]:
            found.append((str(item.get("system") or ""), item["value"].strip()))
    return found


def _within(error: InvalidInput, prefix: str) -> InvalidInput:
    """The reader's issues, located inside the notification instead of inside the response."""
    issues = []
    for issue in error.issues:
        old = issue.location
        if old in ("", "response"):
            new = prefix
        elif old.startswith(("Bundle.", "ClaimResponse.")):
            new = prefix + old[old.index(".") :]
        else:
            new = f"{prefix}.{old}"
        text = issue.message
        text = f"{new}{text[len(old) :]}" if old and text.startswith(old) else text
        issues.append(Issue(issue.code, text, new))
    message = issues[0].message if issues else error.message
    return InvalidInput(message, issues)


def _bad(location: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput.field(location, f"{location}: {message}", code)
