"""GET /requests/{id}: one request's page (patient, coverage, lines, the requirement answer, the
documentation checklist, the timeline, the decision) and its actions as POST forms.

Every action is Post/Redirect/Get with a flash message. A refusal from a service (409 with the
domain's reason, 422 with located issues) re-renders the page with the message next to the field
of the form that was sent. Viewers see no action forms; the services answer 403 if they post.

"Send to payer" for a payer whose channel is its web portal queues a portal run and goes to the
run's page (web/ui/portal_runs.py); this page lists the request's runs and shows the one going.
A request submitted through the portal and awaiting the payer's answer offers "Check status on
the portal now" (a status run; one already going is shown instead of a second).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from precert.domain.authorizations import Status
from precert.domain.determinations import Method, Outcome, standing_determination
from precert.errors import ChannelError, InvalidInput, InvalidTransition, Issue, http_status_for
from precert.services import authorization_requests as requests
from precert.services import documents, payer_amendments, portal_runs, submission
from precert.services.accounts import Actor
from precert.services.context import Context
from precert.services.queue import assign, assignable_users
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.flash import clear_flash, pop_flash, set_flash
from precert.web.ui.portal_runs import queue_portal_status, queue_portal_submit, runs_panel
from precert.web.ui.queue_present import register

router = APIRouter(include_in_schema=False)
register(templates.env)

Fields = Mapping[str, str]


@dataclass
class FormState:
    """The form a person sent that was refused: its name, its values and the messages by field."""

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Moved:
    """An action's flash message and the page to show next, when that is not the request's own
    (a portal submit goes on in the background: its run page follows it)."""

    message: str
    location: str


@router.get("/requests/{request_id}")
def request_page(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep
) -> Response:
    response = _render(request, ctx, actor, request_id)
    clear_flash(request, response)
    return response


@router.get("/requests/{request_id}/documents/{document_id}")
def download(request_id: str, document_id: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    found = documents.download_document(ctx, actor, request_id, document_id)
    return Response(
        found.data,
        media_type=found.document.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.download_name}"'},
    )


@router.post("/requests/{request_id}/ready")
async def mark_ready(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        reason = form.get("override_reason", "").strip() or None
        requests.mark_ready(ctx, actor, request_id, override_reason=reason)
        return "Marked ready." + (" The override reason is on the timeline." if reason else "")

    return await act_on(request, ctx, actor, request_id, "ready", form, act)


@router.post("/requests/{request_id}/submit")
async def submit(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)
    name = "submit-channel" if form.get("how") == "channel" else "submit"
    return await act_on(
        request, ctx, actor, request_id, name, form,
        lambda: submit_from_form(ctx, actor, request_id, form),
    )  # fmt: skip


@router.post("/requests/{request_id}/portal-status")
async def portal_status(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    """Check the request's status on the payer's portal now: a status run, followed on its page."""
    form = await form_fields(request)
    return await act_on(
        request, ctx, actor, request_id, "portal-status", form,
        lambda: Moved(*queue_portal_status(ctx, actor, request_id)),
    )  # fmt: skip


@router.post("/requests/{request_id}/decision")
async def record_decision(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        detail = requests.get_request(ctx, actor, request_id)
        payload = decision_payload(form, [line.code for line in detail.request.lines])
        changed = requests.record_determination(
            ctx, actor, request_id, payload, form.get("note", "").strip()
        )
        return f"Decision recorded: the request is now {changed.status.value.replace('_', ' ')}."

    return await act_on(request, ctx, actor, request_id, "decision", form, act)


@router.post("/requests/{request_id}/cancel")
async def cancel(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        reason = form.get("reason", "").strip()
        if not reason:
            raise InvalidInput.field(
                "reason", "reason: say why the request is cancelled.", "required"
            )
        payer_amendments.cancel_with_payer(ctx, actor, request_id, reason)
        return "Request cancelled."

    return await act_on(request, ctx, actor, request_id, "cancel", form, act)


@router.post("/requests/{request_id}/extension")
async def extension(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    """Ask the payer to extend the approval: a new last day and/or units per code (fields
    `units_<code>`), through the channel the request went by."""
    form = await form_fields(request)

    def act() -> str:
        to = _optional_date(form.get("to", ""), "to")
        units = {
            key.removeprefix("units_"): _whole(value, key)
            for key, value in form.items()
            if key.startswith("units_") and value.strip()
        }
        _, answer = payer_amendments.request_extension(
            ctx, actor, request_id, to_date=to, units=units or None, note=form.get("note", "")
        )
        return {
            "decided": "The payer answered the extension: see the timeline.",
            "pended": "The payer pended the extension; the request is flagged until it decides.",
        }.get(answer.kind.value, "The payer answered the extension: see the timeline.")

    return await act_on(request, ctx, actor, request_id, "extension", form, act)


def _optional_date(value: str, name: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput.field(name, f"{name}: a date as YYYY-MM-DD.") from None


def _whole(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput.field(name, f"{name}: a whole number of units.") from None


@router.post("/requests/{request_id}/appeal")
async def appeal(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        requests.appeal_request(ctx, actor, request_id, note=form.get("note", ""))
        return "Appeal recorded: follow up for the payer's decision."

    return await act_on(request, ctx, actor, request_id, "appeal", form, act)


@router.post("/requests/{request_id}/assign")
async def assign_one(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        who = form.get("assignee", "").strip() or None
        changed = assign(ctx, actor, [request_id], who)
        if not changed:
            return "Nothing changed: the request was already assigned that way."
        return f"Assigned to {who}." if who else "Unassigned."

    return await act_on(request, ctx, actor, request_id, "assign", form, act)


@router.post("/requests/{request_id}/documents")
async def upload(
    request: Request,
    request_id: str,
    ctx: ContextDep,
    actor: PageActorDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form()] = "",
) -> Response:
    data = await file.read() if file is not None else b""
    filename = (file.filename if file is not None else None) or "document"

    def act() -> str:
        if not kind.strip():
            raise InvalidInput.field(
                "kind", "kind: choose which checklist item this document answers.", "required"
            )
        uploaded = documents.upload_document(
            ctx, actor, request_id, kind=kind, filename=filename, data=data
        )
        ready = (
            " The checklist is complete: the request is ready."
            if (
                uploaded.request.status is Status.READY
                and uploaded.document.kind != documents.OTHER
            )
            else ""
        )
        return f"Document added to “{uploaded.document.kind}”.{ready}"

    return await act_on(request, ctx, actor, request_id, "upload", {"kind": kind}, act)


# -- the page -----------------------------------------------------------------------------------


def _render(
    request: Request,
    ctx: Context,
    actor: Actor,
    request_id: str,
    *,
    refused: FormState | None = None,
    status: int = 200,
) -> Response:
    detail = requests.get_request(ctx, actor, request_id)
    checklist = documents.checklist(ctx, actor, request_id)
    can_change = actor.role.value in ("admin", "specialist")
    context = {
        "active": "queue",
        "detail": detail,
        "req": detail.request,
        "checklist": checklist,
        "determination": _determination(detail.timeline),
        "today": ctx.today(),
        "flash": pop_flash(request) if refused is None else None,
        "refused": refused or FormState(""),
        "can_change": can_change,
        "users": assignable_users(ctx, actor) if can_change else [],
        "assignee_email": _assignee_email(ctx, actor, detail.request.assignee),
        "outcomes": [o.value for o in Outcome if o is not Outcome.PENDED],
        "methods": [m.value for m in Method],
        "actions": _actions(detail.request.status),
        "by_portal": portal_runs.portal_chosen(ctx, detail.request),
        "portal_status": _portal_status_offered(ctx, actor, detail.request.status, request_id),
        **runs_panel(ctx, actor, request_id),
    }
    return templates.TemplateResponse(request, "request.html", context, status_code=status)


def _portal_status_offered(ctx: Context, actor: Actor, status: Status, request_id: str) -> bool:
    """Whether to offer "Check status on the portal now": a submitted or pended request whose
    submission went by the portal and still awaits the payer's answer."""
    if status not in (Status.SUBMITTED, Status.PENDED):
        return False
    return portal_runs.awaits_portal(ctx, actor, request_id)


def _assignee_email(ctx: Context, actor: Actor, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    for user in assignable_users(ctx, actor):
        if user.id == user_id:
            return user.email
    return user_id


def _determination(timeline: list[Any]) -> Mapping[str, Any] | None:
    return standing_determination(timeline)


def _actions(status: Status) -> set[str]:
    """Which action forms the page offers in this status (the services still decide)."""
    offered: set[str] = {"assign"}
    if status is Status.DRAFT:
        offered |= {"ready", "upload"}
    if status is Status.READY:
        offered |= {"submit", "submit-channel", "upload"}
    if status in (Status.SUBMITTED, Status.PENDED, Status.APPEALED):
        offered |= {"decision", "upload"}
    if status in (Status.DENIED, Status.PARTIALLY_APPROVED):
        offered |= {"appeal"}
    if status in (Status.APPROVED, Status.PARTIALLY_APPROVED):
        offered |= {"extension"}
    if status not in (Status.CANCELLED, Status.EXPIRED, Status.NOT_REQUIRED, Status.DENIED):
        offered.add("cancel")
    return offered


# -- acting -------------------------------------------------------------------------------------


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != "csrf_token":
            fields.setdefault(key, value)
    return fields


async def act_on(
    request: Request,
    ctx: Context,
    actor: Actor,
    request_id: str,
    name: str,
    form: Fields,
    act: Callable[[], str | Moved],
) -> Response:
    from fastapi.concurrency import run_in_threadpool

    try:
        done = await run_in_threadpool(act)
    except (InvalidInput, InvalidTransition, ChannelError) as refused:
        state = FormState(name, dict(form), refused.message, _by_field(refused.issues))
        code = http_status_for(refused)
        return await run_in_threadpool(
            _render, request, ctx, actor, request_id, refused=state, status=code
        )
    if isinstance(done, Moved):
        message, location = done.message, done.location
    else:
        message, location = done, f"/requests/{request_id}"
    response = RedirectResponse(location, status_code=303)
    set_flash(response, message)
    return response


def _by_field(issues: list[Issue]) -> dict[str, str]:
    found: dict[str, str] = {}
    for issue in issues:
        location = issue.location or "form"
        found.setdefault(location, issue.message)
    return found


MANUAL_METHODS = ("phone", "fax", "portal")


def submit_from_form(ctx: Context, actor: Actor, request_id: str, form: Fields) -> str | Moved:
    """Submit through the payer's channel ("how" = channel), or record a submission a person made
    by phone, fax or portal: the method, the payer's reference and the representative's name.
    A payer whose channel is the portal gets a queued portal run, followed on its own page."""
    if form.get("how") == "channel":
        queued = queue_portal_submit(ctx, actor, request_id)
        if queued is not None:
            return Moved(*queued)
        result = submission.submit_request(ctx, actor, request_id)
        receipt = result.receipt
        sent = f"Sent through the {receipt.channel} channel (reference {receipt.reference})."
        return f"{sent} {_answer_words(result.request)}".strip()
    method = form.get("method", "").strip()
    found: list[Issue] = []
    if method not in MANUAL_METHODS:
        message = f"method: choose how it was sent: {', '.join(MANUAL_METHODS)}."
        found.append(Issue("required", message, "method"))
    reference = form.get("reference", "").strip()
    if not reference:
        message = "reference: the payer's reference or fax confirmation is needed."
        found.append(Issue("required", message, "reference"))
    rep_name = form.get("rep_name", "").strip()
    if method == "phone" and not rep_name:
        message = "rep_name: a submission by phone needs the representative's name."
        found.append(Issue("required", message, "rep_name"))
    if found:
        raise InvalidInput("The submission is incomplete; fill in the fields marked.", found)
    details = submission.ManualSubmission(
        method=method, reference=reference, rep_name=rep_name or None, note=form.get("note", "")
    )
    submission.submit_request(ctx, actor, request_id, details=details)
    return f"Submission by {method} recorded; the payer's decision is now being watched."


_ANSWERS = {
    "approved": "The payer approved it.",
    "partially_approved": "The payer approved it in part: check the lines before billing.",
    "denied": "The payer denied it: see the reason on the timeline.",
    "not_required": "The payer says no authorization is needed.",
    "pended": "The payer pended it; its decision will come back here.",
}


def _answer_words(request: Any) -> str:
    """What the payer answered at once (X12 real time, PAS), in a sentence; "" when nothing yet."""
    words = _ANSWERS.get(str(request.status), "")
    if request.needs_attention and request.status == "pended":
        words += f" {request.needs_attention}"
    return words


def decision_payload(form: Fields, codes: list[str]) -> dict[str, Any]:
    """The determination body of the API from the decision form (blank fields left out)."""
    payload: dict[str, Any] = {}
    for name in (
        "outcome",
        "authorization_number",
        "valid_from",
        "valid_to",
        "method",
        "reference",
        "rep_name",
    ):
        value = form.get(name, "").strip()
        if value:
            payload[name] = value
    reasons = [r.strip() for r in form.get("reason_codes", "").split(",") if r.strip()]
    if reasons:
        payload["reason_codes"] = reasons
    lines: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        raw = form.get(f"units_{i}", "").strip()
        if raw == "" and payload.get("outcome") not in ("approved", "partially_approved"):
            continue
        units: Any = int(raw) if raw.isdigit() else raw
        line: dict[str, Any] = {"code": code, "approved_units": units}
        if units == 0:
            line["status"] = "denied"
        lines.append(line)
    if lines:
        payload["lines"] = lines
    return payload
