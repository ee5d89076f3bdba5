"""POST /api/v1/requests/{id}/eligibility: check the request's coverage with its payer (X12 270
in real time, the 271 read back) and answer what was recorded on its timeline.

Errors go through the app's handlers: 403 for a viewer, 404 for another organization's request,
422 for the payer's rejection (AAA, 999) with its codes, 503 when PRECERT_X12_URL is not set or the
payer cannot be reached.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from precert.services.eligibility import EligibilityResult, check_eligibility
from precert.web.api.requests import ERRORS
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])


@router.post(
    "/{request_id}/eligibility",
    summary="Check coverage with the payer (X12 270/271) and record it on the request",
    responses=ERRORS,
)
async def check(request_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    # The payer may take up to PRECERT_X12_TIMEOUT_SECONDS: keep the event loop free meanwhile.
    result = await run_in_threadpool(check_eligibility, ctx, actor, request_id)
    return JSONResponse(eligibility_json(result))


def eligibility_json(result: EligibilityResult) -> dict[str, Any]:
    """The recorded coverage data (PHI-free) with the request's status and attention flag."""
    return {
        "request_id": result.request.id,
        "status": result.request.status.value,
        "needs_attention": result.request.needs_attention,
        "coverage": dict(result.data),
    }
