"""The endpoint a payer's Da Vinci PAS Subscription posts to: POST /fhir/pas/notify/{organization}.

When precert submits a request that the payer pends, it subscribes (once per organization and
payer) with a rest-hook whose header carries a bearer token derived from the secret key for that
organization (services/payer_exchanges.py). The payer then posts a full-resource notification when
it decides; the decision lands on the request's timeline like any other payer answer. Machine to
machine: no browser session, no CSRF; a wrong token and an unknown request answer the same 404.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from precert.channels.fhir.operation_outcome import operation_outcome
from precert.errors import InvalidInput, NotFound, PrecertError
from precert.services import payer_exchanges
from precert.services.context import Context

router = APIRouter(tags=["fhir-pas"])
FHIR_JSON = "application/fhir+json"


@router.post(payer_exchanges.NOTIFY_PATH + "/{organization_id}")
async def notification(organization_id: str, request: Request) -> Response:
    """Land one notification; 200 with an informational OperationOutcome once applied."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _outcome(NotFound("No such subscription."), 404)
    raw = await request.body()
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        message = "The notification is not JSON; send a FHIR Bundle (type history)."
        return _outcome(InvalidInput.field("", message), 400)
    ctx: Context = request.app.state.ctx
    try:
        await run_in_threadpool(
            payer_exchanges.receive_notification, ctx, organization_id, token.strip(), body
        )
    except NotFound as missing:
        return _outcome(missing, 404)
    except InvalidInput as invalid:
        return _outcome(invalid, 400)
    except PrecertError as failed:
        return _outcome(failed, 422)
    done = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": "applied"}],
    }
    return JSONResponse(done, media_type=FHIR_JSON)


def _outcome(error: PrecertError, status: int) -> Response:
    return JSONResponse(operation_outcome(error), status_code=status, media_type=FHIR_JSON)
