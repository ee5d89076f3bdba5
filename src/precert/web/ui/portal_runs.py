"""GET /portal-runs/{id}: one portal run's page — its status, the steps it took, its PHI-masked
screenshots and encrypted traces — and, while it waits for a person, the question with the actions
the run offers (POST /portal-runs/{id}/resolve).

What belongs here: the run page, its live part (polled every 3 s by htmx while the run is queued,
running or waiting; a change of stage reloads the whole page so the person's panel appears or
goes), the artifact download, and the resolve form. Starting a run is the request page's "Send to
payer" and "Check status on the portal now" (request_page.py, with the helpers at the end of this
module); what a run does is services/portal_runs.py.

Another organization's run is a 404 (the service says NotFound), as with requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from precert.channels.portal.record import StepRecord
from precert.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    PrecertError,
    http_status_for,
)
from precert.services import authorization_requests as requests
from precert.services import portal_runs
from precert.services.accounts import Actor
from precert.services.context import Context
from precert.services.payer_exchanges import payer_name
from precert.services.portal_runs import PortalRun
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.flash import clear_flash, pop_flash, set_flash

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 3

RUN_LABELS = {
    "queued": "Queued",
    "running": "Running",
    "waiting_for_person": "Waiting for a person",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "handed_over": "Handed over to a person",
    "finished_by_hand": "Finished by hand",
    "stopped": "Stopped",
}
PURPOSES = {"submit": "Submit the request", "status": "Check the request's status"}

# The buttons a person sees for each action a question may offer, in this order.
ACTION_LABELS = {
    "answer": "Send the answer",
    "continue": "The page is fine — continue",
    "retry": "Try the step again",
    "by_hand": "I'll finish this on the portal myself",
    "stop": "Stop the run",
}
BY_HAND_AFTER = "I finished it on the portal by hand"
# Runs that ended without the portal's answer: the person may have finished the task by hand.
ENDED_UNFINISHED = ("handed_over", "failed")

# Step statuses the table marks: a person was asked or answered, the run healed itself or closed
# a pop-up, or something went wrong.
STEP_CLASSES = {
    "failed": "pr-step-failed",
    "healed": "pr-step-healed",
    "handled": "pr-step-handled",
    "asked": "pr-step-asked",
    "resumed": "pr-step-resumed",
    "submitted": "pr-step-submitted",
}
STEP_WORDS = {
    "ok": "done",
    "skipped": "skipped",
    "failed": "failed",
    "healed": "healed (reloaded or signed in again)",
    "handled": "pop-up closed",
    "stopped": "ended the run",
    "submitted": "submitted (the one submit click)",
    "asked": "paused: asked a person",
    "resumed": "resumed after the person's answer",
}


def step_word(step: StepRecord, previous: StepRecord | None) -> str:
    """What happened at a step, in words. The trace's own records (kind "trace") say when it
    paused while a secret was typed and when it recorded again; an Ask step done right after
    its "asked" record used the person's answer."""
    if step.kind == "trace":
        return "trace paused (a secret is typed)" if step.status == "paused" else "trace resumed"
    answered = previous is not None and previous.status == "asked" and previous.line == step.line
    if step.status == "ok" and answered:
        return "done with the person's answer"
    return STEP_WORDS.get(step.status, step.status)


def step_class(step: StepRecord) -> str:
    return "pr-step-trace" if step.kind == "trace" else STEP_CLASSES.get(step.status, "")


@dataclass
class FormState:
    """The resolve form a person sent that was refused: which one, its values, the messages."""

    name: str
    values: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@router.get("/portal-runs/{run_id}")
def run_page(request: Request, run_id: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    response = _render(request, ctx, actor, run_id)
    clear_flash(request, response)
    return response


@router.get("/portal-runs/{run_id}/live")
def live_part(
    request: Request,
    run_id: str,
    ctx: ContextDep,
    actor: PageActorDep,
    seen: str = "",
    shown: str = "",
) -> Response:
    """The polled part of the page. When the run reached another stage than the page shows (it
    started waiting for a person, was answered, or ended), ask htmx to reload the whole page;
    when nothing new was recorded since `shown`, answer 204 (htmx keeps the part as it is)."""
    run = portal_runs.get_run(ctx, actor, run_id)
    if seen != stage(run):
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    if shown == progress(run):
        return Response(status_code=204)
    return templates.TemplateResponse(request, "_portal_run_live.html", _context(ctx, run))


@router.get("/portal-runs/{run_id}/artifacts/{name}")
def download(run_id: str, name: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    """A screenshot (shown inline) or a trace (downloaded): decrypted by the service, which
    writes an audit row for every opening. Never cached: they may show PHI."""
    data, media_type = portal_runs.artifact(ctx, actor, run_id, name)
    disposition = "inline" if media_type.startswith("image/") else "attachment"
    return Response(data, media_type=media_type, headers=artifact_headers(name, disposition))


def artifact_headers(name: str, disposition: str) -> dict[str, str]:
    safe = "".join(c for c in name if c.isalnum() or c in "-_.") or "artifact"
    return {
        "Cache-Control": "no-store",
        "Content-Disposition": f'{disposition}; filename="{safe}"',
        "X-Content-Type-Options": "nosniff",
    }


@router.post("/portal-runs/{run_id}/resolve")
async def resolve(
    request: Request, run_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form.pop("csrf_token", None)
    action = form.get("action", "").strip()
    text = form.get("text", "")
    try:
        run = await run_in_threadpool(portal_runs.resolve, ctx, actor, run_id, action, text)
    except (InvalidInput, InvalidTransition, Conflict) as refused:
        state = FormState(f"resolve-{action}", dict(form), refused.message, _by_field(refused))
        code = http_status_for(refused)
        return await run_in_threadpool(
            _render, request, ctx, actor, run_id, refused=state, status=code
        )
    response = RedirectResponse(f"/portal-runs/{run_id}", status_code=303)
    set_flash(response, resolved_message(action, run))
    return response


def resolved_message(action: str, run: PortalRun) -> str:
    if action == "by_hand":
        return (
            "Marked as finished by hand. Record what you did on the portal (the reference) on "
            "the request page."
        )
    if action == "stop":
        return "The run was stopped; the request keeps its exception in the work queue."
    if action == "answer":
        return "Answer sent: the run goes on."
    if action == "retry":
        return "The run tries the step again."
    return "The run goes on."


def _by_field(refused: PrecertError) -> dict[str, str]:
    found: dict[str, str] = {}
    for issue in refused.issues:
        found.setdefault(issue.location or "form", issue.message)
    return found


# -- the page -----------------------------------------------------------------------------------


def stage(run: PortalRun) -> str:
    """What the page shows of the run's progress that needs a full render when it changes: the
    status, and while waiting, which question (a new one after a wrong CAPTCHA, say)."""
    if run.status == "waiting_for_person" and run.question is not None:
        answered = "answered" if run.answer else "open"
        return f"{run.status}-{run.question.line}-{len(run.steps)}-{answered}"
    return run.status


def progress(run: PortalRun) -> str:
    """How much the run has recorded: the live part changes only when this does."""
    return f"{len(run.steps)}-{len(run.screenshots)}-{len(run.traces)}-{run.attempts}"


def _render(
    request: Request,
    ctx: Context,
    actor: Actor,
    run_id: str,
    *,
    refused: FormState | None = None,
    status: int = 200,
) -> Response:
    run = portal_runs.get_run(ctx, actor, run_id)
    context = {
        **_context(ctx, run),
        "active": "queue",
        "flash": pop_flash(request) if refused is None else None,
        "refused": refused or FormState(""),
        "can_change": actor.role.value in ("admin", "specialist"),
    }
    return templates.TemplateResponse(request, "portal_run.html", context, status_code=status)


def _context(ctx: Context, run: PortalRun) -> dict[str, Any]:
    question = run.question
    offers = [a for a in ACTION_LABELS if question is not None and a in question.offers]
    return {
        "run": run,
        "stage": stage(run),
        "progress": progress(run),
        "refresh_seconds": REFRESH_SECONDS,
        "run_label": RUN_LABELS.get(run.status, run.status.replace("_", " ")),
        "purpose": PURPOSES.get(run.purpose, run.purpose),
        "waiting": run.status == "waiting_for_person" and question is not None,
        # Answered, and the run has not taken the answer yet (it looks twice a second).
        "answered": run.status == "waiting_for_person" and run.answer is not None,
        "offers": offers,
        "action_labels": ACTION_LABELS,
        "by_hand_after": run.purpose == "submit" and run.status in ENDED_UNFINISHED,
        "by_hand_label": BY_HAND_AFTER,
        "step_word": step_word,
        "step_class": step_class,
        "labels": RUN_LABELS,
        "artifact_url": lambda name: artifact_url(run.id, name),
    }


def artifact_url(run_id: str, name: str) -> str:
    return f"/portal-runs/{run_id}/artifacts/{name}"


def runs_panel(ctx: Context, actor: Actor, request_id: str) -> Mapping[str, Any]:
    """The request page's "Portal runs" panel: the request's runs, newest first, and the one
    still going (queued, running or waiting for a person), if any."""
    runs = portal_runs.runs_for_request(ctx, actor, request_id)
    runs = sorted(runs, key=lambda r: r.created_at, reverse=True)
    going = next((r for r in runs if r.active), None)
    return {
        "portal_runs": runs,
        "active_run": going,
        "run_labels": RUN_LABELS,
        "purposes": PURPOSES,
    }


def queue_portal_submit(ctx: Context, actor: Actor, request_id: str) -> tuple[str, str] | None:
    """For the request page's "Send to payer": when the payer's channel is the portal, queue the
    submit run and answer (flash message, run page); None for every other channel."""
    detail = requests.get_request(ctx, actor, request_id)
    if not portal_runs.portal_chosen(ctx, detail.request):
        return None
    run = portal_runs.start_submit(ctx, actor, request_id)
    payer = payer_name(ctx, detail.request.coverage.payer_id)
    return f"Queued for the {payer} portal.", f"/portal-runs/{run.id}"


def queue_portal_status(ctx: Context, actor: Actor, request_id: str) -> tuple[str, str]:
    """For the request page's "Check status on the portal now": queue a status run, or find the
    one already going; answer (flash message, run page)."""
    run, started = portal_runs.start_status_for(ctx, actor, request_id)
    if not started:
        message = "A status check on the portal is already going: here it is."
        return message, f"/portal-runs/{run.id}"
    detail = requests.get_request(ctx, actor, request_id)
    payer = payer_name(ctx, detail.request.coverage.payer_id)
    return f"Status check queued on the {payer} portal.", f"/portal-runs/{run.id}"
