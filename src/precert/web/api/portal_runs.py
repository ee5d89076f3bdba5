"""The portal-run API under /api/v1/portal-runs: a run as JSON (its steps, the names and links of
its screenshots and traces, the question it waits on), a person's answer to that question, and
the artifacts themselves (decrypted, audited, never cached). POST /api/v1/portal-runs starts a
status check on the portal of a request submitted there (202; the one already going: 200).

Also what a submit does for a payer whose channel is the portal: the run is queued and the call
answers 202 with it (`submit_by_portal`, used by POST /api/v1/requests/{id}/submit), since a
browser run takes longer than an HTTP request should wait.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from precert.services import portal_runs
from precert.services.accounts import Actor
from precert.services.context import Context
from precert.services.portal_runs import PortalRun
from precert.web.api.schemas import ErrorOut
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep

PREFIX = "/api/v1/portal-runs"
PORTAL = "portal"
AUTO = "auto"

# Not web.api.requests' ERRORS: that module imports this one (its submit queues portal runs).
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        401: "No token, or an invalid or revoked one",
        403: "Your role cannot do this",
        404: "No such run (or artifact) in your organization",
        409: "The run is not waiting for that answer (it moved on, or the action is not offered)",
        422: "Invalid input; each issue names where and why",
    }.items()
}
router = APIRouter(prefix=PREFIX, tags=["portal runs"])


class ResolveIn(BaseModel):
    """A person's answer to the question the run waits on: one of the question's `offers`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "answer", "text": "K7PQ2M"}]},
    )
    action: Literal["continue", "retry", "answer", "by_hand", "stop"] = Field(
        description=(
            "continue (the page is fine), retry (try the step again), answer (type `text` "
            "where the SOP asks), by_hand (you finish it on the portal; also after a run that "
            "handed over or failed), stop (end the run; the request stays flagged)"
        )
    )
    text: str = Field("", max_length=200, description="For `answer`: what the page asks for.")


class StartIn(BaseModel):
    """Start a portal run for a request. Only status checks start here: a submit is
    POST /api/v1/requests/{id}/submit (it answers 202 with the run for a portal payer)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"request_id": "5b0c2f4e-0000-4000-8000-000000000000", "purpose": "status"}
            ]
        },
    )
    request_id: str = Field(min_length=1, max_length=36, description="The request to check.")
    purpose: Literal["status"] = Field(
        "status",
        description=(
            "status: check on the payer's portal the request's submission made through it "
            "(it must still await the payer's answer)"
        ),
    )


@router.post(
    "",
    summary="Check a request's status on the payer's portal now (queues a status run)",
    status_code=202,
    responses={
        **ERRORS,
        200: {"description": "A status run of the request is already going: that run"},
        404: {"model": ErrorOut, "description": "No such request in your organization"},
        202: {"description": "The status run, queued; follow it at the Location"},
        422: {
            "model": ErrorOut,
            "description": (
                "Invalid input, or the request has no portal submission awaiting an answer"
            ),
        },
    },
)
async def start(body: StartIn, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    run, started = await run_in_threadpool(
        portal_runs.start_status_for, ctx, actor, body.request_id
    )
    return JSONResponse(
        run_json(run),
        status_code=202 if started else 200,
        headers={"Location": f"{PREFIX}/{run.id}"},
    )


@router.get(
    "/{run_id}", summary="One portal run: status, steps, artifacts, question", responses=ERRORS
)
def get_one(run_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    return JSONResponse(run_json(portal_runs.get_run(ctx, actor, run_id)))


@router.post(
    "/{run_id}/resolve",
    summary="Answer the question a waiting run asks (or say you finished it by hand)",
    responses=ERRORS,
)
async def resolve(run_id: str, body: ResolveIn, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    run = await run_in_threadpool(portal_runs.resolve, ctx, actor, run_id, body.action, body.text)
    return JSONResponse(run_json(run))


@router.get(
    "/{run_id}/artifacts/{name}",
    summary="A run's screenshot (PNG) or trace (ZIP, contains PHI); each download is audited",
    responses=ERRORS,
)
def artifact(run_id: str, name: str, actor: ActorDep, ctx: ContextDep) -> Response:
    data, media_type = portal_runs.artifact(ctx, actor, run_id, name)
    safe = "".join(c for c in name if c.isalnum() or c in "-_.") or "artifact"
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{safe}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=media_type, headers=headers)


def run_json(run: PortalRun) -> dict[str, Any]:
    """The run without its artifacts' bytes: their names and where to fetch them."""

    def link(name: str) -> dict[str, str]:
        return {"name": name, "href": f"{PREFIX}/{run.id}/artifacts/{name}"}

    question = run.question.as_dict() if run.question is not None else None
    if question is not None and question.get("screenshot"):
        question["screenshot"] = link(str(question["screenshot"]))
    return {
        "id": run.id,
        "request_id": run.request_id,
        "purpose": run.purpose,
        "sop": run.sop,
        "status": run.status,
        "active": run.active,
        "actor_email": run.actor_email,
        "created_at": _iso(run.created_at),
        "not_before": _iso(run.not_before),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "attempts": run.attempts,
        "worker": run.worker,
        "outcome": run.outcome,
        "message": run.message,
        "steps": [step.as_dict() for step in run.steps],
        "screenshots": [link(name) for name in run.screenshots],
        "traces": [link(name) for name in run.traces],
        "question": question,
        "answer": run.answer,  # {action, by, at}: the typed text is never kept
        "links": {
            "self": f"{PREFIX}/{run.id}",
            "page": f"/portal-runs/{run.id}",
            "request": f"/api/v1/requests/{run.request_id}",
        },
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())


def submit_by_portal(
    ctx: Context, actor: Actor, request_id: str, channel: str | None
) -> JSONResponse | None:
    """For POST /api/v1/requests/{id}/submit: queue a portal run and answer 202 with it when the
    submit goes by the portal; None for every other channel (submitted as before)."""
    if not portal_runs.goes_by_portal(ctx, actor, request_id, channel):
        return None
    run = portal_runs.start_submit(ctx, actor, request_id)
    return JSONResponse(run_json(run), status_code=202, headers={"Location": f"{PREFIX}/{run.id}"})
