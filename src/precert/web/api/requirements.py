"""POST /api/v1/requirements/check: is approval required for each service in a JSON list?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from precert.services.requirements import check_services
from precert.web.api.schemas import ERROR_RESPONSES, CheckRequest, CheckResponse
from precert.web.deps import ContextDep

router = APIRouter(tags=["requirements"])


def json_location(index: int, name: str) -> str:
    """Where a problem is, as a JSON path into the request body: "[2].code"."""
    return f"[{index}].{name}"


@router.post(
    "/requirements/check",
    summary="Check whether services need approval",
    response_model=None,
    responses={200: {"model": CheckResponse}, **ERROR_RESPONSES},
)
def check_requirements(body: CheckRequest, ctx: ContextDep) -> JSONResponse:
    """Answer every service in order, or refuse the whole list with every problem located.

    An unknown payer id is an error (422) whose message suggests close ids.
    """
    # A plain def: FastAPI runs it in its thread pool, because the rule book may query the
    # database and a list of 1,000 services is CPU work; neither may stall the event loop.
    items = [service.model_dump(exclude_none=True) for service in body.root]
    requirements = check_services(ctx, items, locate=json_location)
    # Requirement.as_dict() is the stable shape; it is returned as is, not re-validated.
    return JSONResponse({"services": [r.as_dict() for r in requirements]})
