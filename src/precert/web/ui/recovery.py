"""The "Denials" page: open recovery items by deadline (overdue red, due within 7 days amber),
their cause, action and amount, links to the request and the letter; an upload form for an 835;
and closing an item. Every action is Post/Redirect/Get with a flash message.

The services do the work and the checks (services/recovery.py): a viewer sees the page, and an
upload or a change answers the viewer with the refusal as a flash message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from precert.errors import PrecertError
from precert.services import recovery as service
from precert.store.recovery import RecoveryItem
from precert.web.deps import ContextDep
from precert.web.limits import UPLOAD_LIMIT
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.flash import clear_flash, pop_flash, set_flash

router = APIRouter(include_in_schema=False)

SOON_DAYS = 7
PAGE = "/denials"
ACTION_LABELS = {
    "corrected_claim": "Corrected claim",
    "retro_authorization": "Retro-authorization",
    "appeal": "Appeal",
    "review": "Review",
}
CAUSE_LABELS = {
    "authorization_absent": "No authorization on the claim",
    "authorization_exceeded": "Authorized units exceeded",
    "authorization_denied": "Authorization denied",
    "authorization_mismatch": "Does not match the authorization",
}


@router.get("/denials")
def denials_page(
    request: Request, ctx: ContextDep, actor: PageActorDep, status: str = "open"
) -> Response:
    items = service.recovery_page(ctx, actor, None if status == "all" else status)
    today = ctx.today()
    context = {
        "active": "denials",
        "status": status,
        "rows": [_row(item, today) for item in items],
        "flash": pop_flash(request),
        "today": today,
        "soon_days": SOON_DAYS,
        "total": sum((item.amount for item in items), start=Decimal("0")),
    }
    response = templates.TemplateResponse(request, "recovery.html", context)
    clear_flash(request, response)
    return response


@router.post("/denials/upload")
async def upload(
    ctx: ContextDep,
    actor: PageActorDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = await file.read(UPLOAD_LIMIT + 1) if file is not None else b""
    response = RedirectResponse(PAGE, status_code=303)
    if not data.strip():
        set_flash(response, "Choose the 835 file from your payer, then press Import.", kind="error")
        return response
    if len(data) > UPLOAD_LIMIT:
        set_flash(response, "The 835 is too large; import one payment at a time.", kind="error")
        return response
    text = data.decode("utf-8", errors="replace")
    try:
        result = await run_in_threadpool(
            service.import_remittance, ctx, actor, text, (file.filename if file else "") or ""
        )
    except PrecertError as refused:
        set_flash(response, refused.message, kind="error")
        return response
    set_flash(response, _imported_message(result))
    return response


@router.post("/denials/{item_id}")
async def change(
    item_id: str,
    ctx: ContextDep,
    actor: PageActorDep,
    _csrf: CsrfDep,
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    response = RedirectResponse(PAGE, status_code=303)
    try:
        item = await run_in_threadpool(service.mark, ctx, actor, item_id, status, note)
    except PrecertError as refused:
        set_flash(response, refused.message, kind="error")
        return response
    set_flash(response, f"Claim {item.claim_id}: marked {item.status}.")
    return response


@router.get("/denials/{item_id}/letter.pdf")
def letter(item_id: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    pdf = service.appeal_letter(ctx, actor, item_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="appeal-{item_id[:8]}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _imported_message(result: service.ImportedRemit) -> str:
    f = result.file
    if result.already_imported:
        return f"This 835 was imported before: nothing new was created ({f.items} item(s))."
    errors = f" {len(result.read.errors)} part(s) could not be read." if result.read.errors else ""
    return (
        f"Imported the 835: {f.claims} claim(s), {f.denied} denied, {f.authorization_related} "
        f"for authorization reasons; {f.items} recovery item(s) created.{errors}"
    )


def _row(item: RecoveryItem, today: dt.date) -> dict[str, object]:
    urgency = ""
    if item.deadline is not None and item.status == "open":
        if item.deadline < today:
            urgency = "overdue"
        elif (item.deadline - today).days <= SOON_DAYS:
            urgency = "soon"
    return {
        "item": item,
        "urgency": urgency,
        "action": ACTION_LABELS.get(item.action, item.action),
        "cause": CAUSE_LABELS.get(item.cause, item.cause),
        "reason": str(item.evidence.get("reason", "")),
    }
