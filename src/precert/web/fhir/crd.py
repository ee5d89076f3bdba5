"""CDS Hooks for Da Vinci CRD: discovery at GET /cds-services, hooks at POST /cds-services/{id}.

The EHR calls a hook when a clinician signs or selects orders or books an appointment; the answer
(services/crd.py) says per order whether the payer needs prior authorization. Authentication of the
EHR (the CDS Hooks JWT) is not implemented yet: see docs/crd.md. A precert API token
(`Bearer pct_...`), when sent, names the organization whose approved authorizations can answer
"satisfied"; any other Authorization header is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from precert.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from precert.security.tokens import TOKEN_PREFIX
from precert.services import crd
from precert.services.accounts import authenticate_token
from precert.services.context import Context
from precert.web.errors import error_response

router = APIRouter(tags=["crd"])

# Prefetch templates (CDS Hooks): the EHR sends these resources with the call, so the service
# never has to call back into the EHR's FHIR server (which needs the authorization we lack).
_COMMON_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
}
_ENCOUNTER_PREFETCH = {"encounter": "Encounter/{{context.encounterId}}"}
_DESCRIPTION = (
    "Tells whether the patient's payer requires prior authorization for the orders, from "
    "precert's payer rules and the organization's approved authorizations (Da Vinci CRD)."
)
SERVICES: dict[str, dict[str, Any]] = {
    "order-sign-crd": {
        "hook": "order-sign",
        "title": "precert: prior authorization at order signing",
        "prefetch": {**_COMMON_PREFETCH, **_ENCOUNTER_PREFETCH},
    },
    "order-select-crd": {
        "hook": "order-select",
        "title": "precert: prior authorization at order selection",
        "prefetch": {**_COMMON_PREFETCH, **_ENCOUNTER_PREFETCH},
    },
    "appointment-book-crd": {
        "hook": "appointment-book",
        "title": "precert: prior authorization at appointment booking",
        "prefetch": {**_COMMON_PREFETCH, **_ENCOUNTER_PREFETCH},
    },
    "order-dispatch-crd": {
        "hook": "order-dispatch",
        "title": "precert: prior authorization at order dispatch",
        "prefetch": {
            **_COMMON_PREFETCH,
            # The IG's own templates: the dispatched orders themselves, by type.
            "serviceRequests": (
                "ServiceRequest?_id="
                "{{context.dispatchedOrders.resolve().ofType(ServiceRequest).id}}"
            ),
            "deviceRequests": (
                "DeviceRequest?_id={{context.dispatchedOrders.resolve().ofType(DeviceRequest).id}}"
            ),
            "medicationRequests": (
                "MedicationRequest?_id="
                "{{context.dispatchedOrders.resolve().ofType(MedicationRequest).id}}"
            ),
        },
    },
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document."""
    return {
        "services": [
            {"id": sid, "description": _DESCRIPTION, **spec} for sid, spec in SERVICES.items()
        ]
    }


@router.get("/cds-services", summary="CDS Hooks discovery (Da Vinci CRD)")
async def cds_services() -> JSONResponse:
    return JSONResponse(discovery())


@router.post("/cds-services/{service_id}", summary="Answer a CDS hook (Da Vinci CRD)")
async def call_hook(service_id: str, request: Request) -> Response:
    """Cards and coverage-information system actions; a malformed hook request answers 400."""
    spec = SERVICES.get(service_id)
    if spec is None:
        known = ", ".join(SERVICES)
        missing = NotFound(f"No CDS service {service_id!r}; this server offers {known}")
        return error_response(request, missing, 404)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        message = "The request body is not JSON; send a CDS Hooks request (a JSON object)."
        return error_response(request, InvalidInput.field("body", message), 400)
    try:
        checked = crd.validate_hook_request(body, spec["hook"])
    except InvalidInput as invalid:
        return error_response(request, invalid, 400)
    ctx: Context = request.app.state.ctx
    aliases: dict[str, str] = getattr(request.app.state, "crd_payer_aliases", {})
    token = _precert_token(request)
    # A thread: the rule book, the token and the authorization look-up touch the database.
    try:
        answer = await run_in_threadpool(_answer, ctx, checked, spec["hook"], token, aliases)
    except PermissionDenied as refused:
        raise Unauthenticated(refused.message, refused.issues) from None
    return JSONResponse(answer.as_dict())


def _answer(
    ctx: Context, body: dict[str, Any], hook: str, token: str | None, aliases: dict[str, str]
) -> crd.HookAnswer:
    actor = authenticate_token(ctx, token) if token else None
    return crd.answer_hook(ctx, body, hook, actor=actor, payer_aliases=aliases)


def _precert_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(TOKEN_PREFIX):
        return value
    return None
