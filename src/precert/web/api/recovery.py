"""The 835 remittance and recovery-work API: POST /api/v1/remits (upload an 835: the remittance
and the recovery items its authorization denials became), GET /api/v1/recovery?status=open,
POST /api/v1/recovery/{id} (status and note) and GET /api/v1/recovery/{id}/appeal-letter.pdf.

Roles: admins, specialists and billers import and change; viewers read the items (an import or a
change answers them 403). Importing the same file again answers 200 with what the first import
made (201 when new). The letter names the patient (it goes to the payer), so it is audited and
sent with `Cache-Control: no-store`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from precert.errors import InvalidInput, Issue, PayloadTooLarge
from precert.services import recovery as service
from precert.web.api.schemas import ErrorOut
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep
from precert.web.limits import MEGABYTE, UPLOAD_LIMIT

MAX_835_BYTES = UPLOAD_LIMIT
TOO_LARGE = (
    f"file: the 835 is over {MAX_835_BYTES // MEGABYTE} MB; ask the payer or clearinghouse for "
    "smaller files (one per payment)."
)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        401: "No token, or an invalid or revoked one",
        403: "Your role cannot do this (viewers may only read)",
        404: "No such recovery item in your organization",
        413: "The file is over the size limit",
        422: "An empty file, a file with no readable 835 (each issue is located), or a bad status",
    }.items()
}

router = APIRouter(prefix="/api/v1", tags=["recovery"])


@router.post(
    "/remits",
    status_code=201,
    summary="Import an 835: the remittance and the recovery items of its authorization denials",
    responses={**ERRORS, 200: {"description": "The same file was imported before"}},
)
async def import_remit(
    actor: ActorDep,
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description="The 835 file.")],
) -> JSONResponse:
    # One byte over the limit is enough to refuse, so a huge body is never held in full.
    data = await file.read(MAX_835_BYTES + 1)
    if len(data) > MAX_835_BYTES:
        raise PayloadTooLarge(TOO_LARGE, [Issue("too-large", TOO_LARGE, "file")])
    if not data.strip():
        raise InvalidInput.field("file", "file: the 835 is empty; choose the file again.")
    text = data.decode("utf-8", errors="replace")
    # Reading, classifying and linking every denial writes to the database: off the event loop.
    result = await run_in_threadpool(
        service.import_remittance, ctx, actor, text, file.filename or ""
    )
    status = 200 if result.already_imported else 201
    return JSONResponse(result.as_dict(), status_code=status)


@router.get("/recovery", summary="Recovery items, soonest deadline first", responses=ERRORS)
def list_items(actor: ActorDep, ctx: ContextDep, status: str = "open") -> JSONResponse:
    wanted = None if status == "all" else status
    items = service.recovery_page(ctx, actor, wanted)
    return JSONResponse({"items": [service.item_view(item) for item in items]})


@router.post(
    "/recovery/{item_id}", summary="Close (done, dismissed) or reopen an item", responses=ERRORS
)
def change_item(
    item_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    body: Annotated[
        dict[str, Any],
        Body(examples=[{"status": "done", "note": "corrected claim accepted"}]),
    ],
) -> JSONResponse:
    status = body.get("status")
    note = body.get("note") or ""
    if not isinstance(status, str) or not isinstance(note, str):
        raise InvalidInput.field(
            "status", "status: give one of open, done, dismissed (and note as text)."
        )
    item = service.mark(ctx, actor, item_id, status, note)
    return JSONResponse(service.item_view(item))


@router.get(
    "/recovery/{item_id}/appeal-letter.pdf",
    summary="The letter for the payer (appeal, retro-authorization or corrected claim) as a PDF",
    responses={**ERRORS, 200: {"content": {"application/pdf": {}}, "description": "The PDF"}},
)
def letter(item_id: str, actor: ActorDep, ctx: ContextDep) -> Response:
    pdf = service.appeal_letter(ctx, actor, item_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="appeal-{item_id[:8]}.pdf"',
            "Cache-Control": "no-store",
        },
    )
