"""POST /api/v1/requests/assign: (bulk) assignment of requests to a person of the organization.

All or nothing: an unknown id or assignee refuses the whole call and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from precert.services.queue import MAX_ASSIGN, assign
from precert.web.api.requests import ERRORS
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])


class AssignmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"request_ids": ["<request id>"], "assignee": "ana@clinic.example.org"}]
        },
    )
    request_ids: list[str] = Field(
        min_length=1, max_length=MAX_ASSIGN, description="The requests to assign."
    )
    assignee: str | None = Field(
        description="A user of your organization (id or email); null unassigns the requests."
    )


class AssignmentOut(BaseModel):
    changed: list[str] = Field(description="The ids whose assignee changed (others already were).")
    assignee: str | None


@router.post(
    "/assign",
    summary="Assign requests to a person (or unassign them)",
    response_model=AssignmentOut,
    responses=ERRORS,
)
async def assign_requests(body: AssignmentIn, ctx: ContextDep, actor: ActorDep) -> AssignmentOut:
    changed = await run_in_threadpool(assign, ctx, actor, body.request_ids, body.assignee)
    return AssignmentOut(changed=changed, assignee=body.assignee)
