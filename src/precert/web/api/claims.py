"""The claim scrub API under /api/v1/claims: scrub an uploaded 837 (and keep the result), list
the organization's kept scrubs and open one.

Roles: admins, specialists and billers scrub (a scrub writes: the units a file bills are
remembered for the next file, and the scrub is kept); viewers may list and open kept scrubs but
a scrub answers them 403. Another organization's scrub answers 404, the same as one that does
not exist. A file in which no claim could be read answers 422 with every located problem; a file
with some unreadable claims is still scrubbed and kept, its unreadable claims under `errors`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from precert.errors import Issue, PayloadTooLarge
from precert.services import claims_scrub as service
from precert.services.accounts import Actor, Role, require_role
from precert.web.api.schemas import ErrorOut
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep
from precert.web.limits import MEGABYTE, UPLOAD_LIMIT

# An 837 may be as large as a document upload: the multipart body limit (web/limits.py).
MAX_837_BYTES = UPLOAD_LIMIT
SCRUB_ROLES = (Role.ADMIN, Role.SPECIALIST, Role.BILLER)
TOO_LARGE = (
    f"file: the 837 is over {MAX_837_BYTES // MEGABYTE} MB; split it into smaller files "
    "(for example one per batch) and scrub each."
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        401: "No token, or an invalid or revoked one",
        403: "Your role cannot scrub claims (viewers may only read kept scrubs)",
        404: "No such scrub in your organization",
        413: "The file is over the size limit",
        422: "An empty file, a file in which no claim could be read (each issue is located), or "
        "an unknown payer",
    }.items()
}

router = APIRouter(prefix="/api/v1/claims", tags=["claims"])


def require_scrubber(actor: Actor) -> None:
    """Viewers read kept scrubs; scrubbing is for the people who bill or get approvals."""
    require_role(actor, *SCRUB_ROLES, action="scrub claims")


@router.post(
    "/scrub",
    status_code=201,
    summary="Scrub an 837P or 837I: every claim line checked against its authorization",
    responses=ERRORS,
)
async def scrub_file(
    actor: ActorDep,
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description="The 837 file (at most 25 MB).")],
    payer: Annotated[
        str | None,
        Form(description="Our payer id for every claim; else each claim's X12 payer id is used."),
    ] = None,
    fix: Annotated[
        bool, Form(description="Also return the 837 with the missing numbers added.")
    ] = False,
) -> JSONResponse:
    require_scrubber(actor)
    # One byte over the limit is enough to refuse, so a huge body is never held in full.
    data = await file.read(MAX_837_BYTES + 1)
    if len(data) > MAX_837_BYTES:
        raise PayloadTooLarge(TOO_LARGE, [Issue("too-large", TOO_LARGE, "file")])
    # The scrub reads every claim and writes usage and the kept scrub: off the event loop.
    scrub_id, report = await run_in_threadpool(
        service.scrub_upload,
        ctx,
        actor,
        file.filename or "",
        data,
        payer_id=(payer or "").strip() or None,
        fix=fix,
    )
    body: dict[str, Any] = {"id": scrub_id, **service.result_json(report)}
    if fix:
        body["corrected_837"] = report.corrected  # None: no line lacked only its number
    location = f"{router.prefix}/scrubs/{scrub_id}"
    return JSONResponse(body, status_code=201, headers={"Location": location})


@router.get("/scrubs", summary="The organization's kept scrubs, newest first", responses=ERRORS)
def list_scrubs(actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    scrubs = service.scrubs_page(ctx, actor)
    return JSONResponse({"scrubs": [service.scrub_json(s) for s in scrubs]})


@router.get(
    "/scrubs/{scrub_id}",
    summary="One kept scrub: its counts, the result and the corrected 837 when one was made",
    responses=ERRORS,
)
def get_scrub(scrub_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    return JSONResponse(service.scrub_detail(ctx, actor, scrub_id))
