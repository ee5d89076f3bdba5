"""GET/POST /import: upload a scheduling system's CSV and see what the import did.

The page calls the same service as `precert requests import` (services/schedule_import.py): drafts
for the services that need approval, counts for the rest, services due soon without an approval,
and bad rows by row and column (the good rows are still imported). Admins and specialists only.

The upload is PHI. It is written to a private temporary file only for the length of the import
(the service reads a path) and removed at once; its filename is never used or shown.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from precert.errors import InvalidInput, Issue, PayloadTooLarge
from precert.services.accounts import Actor, Role, require_role
from precert.services.context import Context
from precert.services.schedule_import import COLUMNS, DUE_SOON_DAYS, ImportSummary, import_schedule
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates

router = APIRouter(include_in_schema=False)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Multipart framing (boundaries, part headers, the CSRF field) on top of the file itself.
FORM_OVERHEAD_BYTES = 16 * 1024
COPY_CHUNK = 64 * 1024
TOO_LARGE = (
    f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split the schedule into "
    "smaller files (for example one per week) and import each; importing is safe to repeat."
)
NO_FILE = "Choose the CSV file exported from your scheduling system, then press Import."


def _importer(actor: PageActorDep) -> Actor:
    require_role(actor, Role.ADMIN, Role.SPECIALIST, action="import schedules")
    return actor


ImporterDep = Annotated[Actor, Depends(_importer)]


def _size_guard(request: Request) -> None:
    """Refuse an oversized upload by its Content-Length, before the body is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(TOO_LARGE, [Issue("too-large", TOO_LARGE, "file")])


@router.get("/import")
def import_page(request: Request, actor: ImporterDep) -> Response:
    return _page(request)


@router.post("/import", dependencies=[Depends(_size_guard)])
async def import_upload(
    request: Request,
    ctx: ContextDep,
    actor: ImporterDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if file is None:
        return _page(request, error=NO_FILE, status=422)
    with tempfile.TemporaryDirectory(prefix="precert-import-") as folder:
        path = Path(folder) / "schedule.csv"  # never the uploaded name: it may hold PHI
        size = await _save(file, path)
        if size == 0:
            message = "The file you chose is empty. " if file.filename else ""
            return _page(request, error=message + NO_FILE, status=422)
        if size > MAX_UPLOAD_BYTES:
            return _page(request, error=TOO_LARGE, status=413)
        try:
            summary = await _run(ctx, actor, path)
        except InvalidInput as refused:
            return _page(request, error=refused.message, issues=refused.issues, status=422)
    return _page(request, summary=summary)


async def _save(upload: UploadFile, path: Path) -> int:
    """Copy the upload to `path`, stopping one chunk past the limit; returns the bytes seen."""
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(COPY_CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                break
            out.write(chunk)
    return size


async def _run(ctx: Context, actor: Actor, path: Path) -> ImportSummary:
    # The import checks every row and writes to the database: off the event loop.
    return await run_in_threadpool(import_schedule, ctx, actor, path)


def _page(
    request: Request,
    *,
    summary: ImportSummary | None = None,
    error: str | None = None,
    issues: list[Issue] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "active": "import",
        "summary": summary,
        "error": error,
        "issues": [i for i in (issues or []) if i.message != error],
        "columns": COLUMNS,
        "due_soon_days": DUE_SOON_DAYS,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return templates.TemplateResponse(request, "import.html", context, status_code=status)
