"""GET /queue: the team's work queue page (filters as a GET form, HTMX swaps the table), and
POST /queue/assign: the bulk "Assign to…" action, Post/Redirect/Get with a flash message.

A row whose request has a portal run waiting for a person links to that run ("Answer the
portal's question"): the page's runs are read in one query, not one per row."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from precert.domain.authorizations import Status
from precert.errors import InvalidInput, NotFound
from precert.services.portal_runs import waiting_runs
from precert.services.queue import (
    ME,
    UNASSIGNED,
    QueueFilters,
    QueuePage,
    assign,
    assignable_users,
    queue_page,
)
from precert.store.queue import Due
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.flash import clear_flash, pop_flash, set_flash
from precert.web.ui.queue_present import register, status_label

router = APIRouter(include_in_schema=False)
register(templates.env)

DUE_CHOICES = [
    ("", "Any time"),
    (Due.ATTENTION.value, "Needs attention"),
    (Due.OVERDUE.value, "Overdue"),
    (Due.TODAY.value, "Due today"),
    (Due.WEEK.value, "Due this week"),
]


@router.get("/queue")
def queue(
    request: Request,
    ctx: ContextDep,
    actor: PageActorDep,
) -> Response:
    params = request.query_params
    filters = QueueFilters(
        statuses=tuple(s for s in params.getlist("status") if s),
        payer=params.get("payer") or None,
        assignee=params.get("assignee") or None,
        due=params.get("due") or None,
    )
    error = None
    try:
        page = queue_page(ctx, actor, filters, _page_number(params.get("page")))
    except InvalidInput as exc:
        error = exc.message
        page = queue_page(ctx, actor, QueueFilters(), 1)
    shown = [item.row.id for item in page.items]
    context = {
        "active": "queue",
        "page": page,
        "waiting_runs": waiting_runs(ctx, actor, shown),
        "filters": filters,
        "error": error,
        "today": ctx.today(),
        "flash": pop_flash(request),
        "users": assignable_users(ctx, actor),
        "payers": [(pack.id, pack.name) for pack in ctx.rulebook().packs],
        "statuses": [(s.value, status_label(s.value)) for s in Status],
        "dues": DUE_CHOICES,
        "me": ME,
        "unassigned": UNASSIGNED,
        "can_change": actor.role.value in ("admin", "specialist"),
        "query": _query(filters),
        "filtered": filters != QueueFilters(),
    }
    name = "_queue_rows.html" if request.headers.get("HX-Request") else "queue.html"
    response = templates.TemplateResponse(request, name, context, status_code=422 if error else 200)
    clear_flash(request, response)
    return response


@router.post("/queue/assign")
def assign_from_queue(
    ctx: ContextDep,
    actor: PageActorDep,
    _csrf: CsrfDep,
    request_ids: Annotated[list[str] | None, Form()] = None,
    assignee: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    target = back if back.startswith("?") or not back else ""
    response = RedirectResponse("/queue" + target, status_code=303)
    try:
        changed = assign(ctx, actor, request_ids or [], assignee or None)
    except (InvalidInput, NotFound) as exc:
        set_flash(response, exc.message, kind="error")
        return response
    who = assignee if assignee else "nobody"
    set_flash(response, f"{_requests(len(changed))} assigned to {who}.")
    return response


def _requests(count: int) -> str:
    return "1 request" if count == 1 else f"{count} requests"


def _page_number(value: str | None) -> int:
    if not value:
        return 1
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def _query(filters: QueueFilters) -> str:
    """The filters as a query string, for the pagination links and the redirect after assigning."""
    pairs: list[tuple[str, str]] = [("status", status) for status in filters.statuses]
    for name, value in (
        ("payer", filters.payer),
        ("assignee", filters.assignee),
        ("due", filters.due),
    ):
        if value:
            pairs.append((name, value))
    return urlencode(pairs)


__all__ = ["QueuePage", "router"]
