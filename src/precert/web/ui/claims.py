"""The Claims pages: GET/POST /claims (upload an 837 to scrub, and the organization's scrubbed
files with their counts), GET /claims/{id} (one scrub: the tiles, findings by kind as a chart, the
lines to fix worst first, each linked to its request when the finding names one) and
GET /claims/{id}/corrected.837 (the 837 with the missing numbers added, when one was made).

The same services as /api/v1/claims and `precert claims scrub` (services/claims_scrub.py). Every
signed-in role sees the pages; admins, specialists and billers scrub (web/api/claims.py says
why). The upload is PHI: it is held in memory for the scrub only; what is kept is sealed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from precert.errors import InvalidInput, Issue
from precert.services import claims_scrub as service
from precert.services.accounts import Actor
from precert.services.context import Context
from precert.web.api.claims import MAX_837_BYTES, SCRUB_ROLES, TOO_LARGE, require_scrubber
from precert.web.deps import ContextDep
from precert.web.limits import MEGABYTE
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.charts import Chart, horizontal_bars

router = APIRouter(include_in_schema=False)

NO_FILE = "Choose the 837 file your billing system exported, then press Scrub."
ROWS_SHOWN = 500  # a large file can have many thousands of findings: the page shows the worst
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
# Bar colours from the dashboard's palette (static/precert.css): red, amber, green.
SEVERITY_BAR = {"error": "denied", "warning": "submitted", "info": "approved"}


@router.get("/claims")
def claims_page(request: Request, ctx: ContextDep, actor: PageActorDep) -> Response:
    return _list_page(request, ctx, actor)


@router.post("/claims")
async def claims_upload(
    request: Request,
    ctx: ContextDep,
    actor: PageActorDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile | None, File()] = None,
    payer: Annotated[str, Form()] = "",
    fix: Annotated[str, Form()] = "",
) -> Response:
    require_scrubber(actor)
    payer_id = payer.strip() or None
    chosen = {"payer": payer_id or "", "fix": bool(fix)}
    data = await file.read(MAX_837_BYTES + 1) if file is not None else b""
    if not data:
        return _list_page(request, ctx, actor, error=NO_FILE, chosen=chosen, status=422)
    if len(data) > MAX_837_BYTES:
        return _list_page(request, ctx, actor, error=TOO_LARGE, chosen=chosen, status=413)
    try:
        scrub_id, _report = await run_in_threadpool(
            service.scrub_upload,
            ctx,
            actor,
            (file.filename if file is not None else "") or "",
            data,
            payer_id=payer_id,
            fix=bool(fix),
        )
    except InvalidInput as refused:
        return _list_page(
            request,
            ctx,
            actor,
            error=refused.message,
            issues=refused.issues,
            chosen=chosen,
            status=422,
        )
    return RedirectResponse(f"/claims/{scrub_id}", status_code=303)


@router.get("/claims/{scrub_id}")
def scrub_page(request: Request, scrub_id: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    detail = service.scrub_detail(ctx, actor, scrub_id)
    result = detail["result"]
    rows = lines_to_fix(result.get("claims", []))
    context = {
        "active": "claims",
        "scrub": detail,
        "summary": result.get("summary", {}),
        "chart": findings_chart(result.get("claims", [])),
        "rows": rows[:ROWS_SHOWN],
        "rows_total": len(rows),
        "errors": unreadable(result.get("errors", [])),
        "has_corrected": detail["corrected_837"] is not None,
    }
    return templates.TemplateResponse(request, "claim_scrub.html", context)


@router.get("/claims/{scrub_id}/corrected.837")
def corrected_download(scrub_id: str, ctx: ContextDep, actor: PageActorDep) -> Response:
    detail = service.scrub_detail(ctx, actor, scrub_id)
    corrected = detail["corrected_837"]
    if corrected is None:
        message = (
            "This scrub has no corrected 837: scrub the file again with 'Add missing "
            "authorization numbers' ticked (only lines that lack just their number are fixed)."
        )
        raise InvalidInput(message, [Issue("no-corrected-837", message, "fix")])
    # Never the uploaded name in the header: it may name a patient. The scrub id is enough.
    return Response(
        corrected,
        media_type="application/edi-x12",
        headers={
            "Content-Disposition": f'attachment; filename="corrected-{scrub_id[:8]}.837"',
            "Cache-Control": "no-store",
        },
    )


def _list_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    *,
    error: str | None = None,
    issues: Sequence[Issue] = (),
    chosen: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    book = ctx.rulebook()
    context = {
        "active": "claims",
        "scrubs": service.scrubs_page(ctx, actor),
        "can_scrub": actor.role in SCRUB_ROLES,
        "payers": [(pack.id, pack.name) for pack in book.packs],
        "chosen": chosen or {"payer": "", "fix": True},
        "error": error,
        "issues": [i for i in issues if i.message != error],
        "max_mb": MAX_837_BYTES // MEGABYTE,
    }
    return templates.TemplateResponse(request, "claims.html", context, status_code=status)


# -- what the scrub page shows, from the kept result JSON (services.claims_scrub.result_json) ------


def lines_to_fix(claims: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per finding that is not `info`, worst first, then by claim and line."""
    rows = []
    for claim in claims:
        for line in claim.get("lines", []):
            for finding in line.get("findings", []):
                if finding.get("severity") == "info":
                    continue
                rows.append(
                    {
                        "claim_id": claim.get("claim_id", ""),
                        "member_id": claim.get("member_id", ""),
                        "line": line.get("line"),
                        "code": line.get("code", ""),
                        "date": line.get("date", ""),
                        "units": line.get("units"),
                        "kind": str(finding.get("kind", "")),
                        "label": _label(str(finding.get("kind", ""))),
                        "severity": str(finding.get("severity", "")),
                        "message": finding.get("message", ""),
                        "fix": finding.get("fix", ""),
                        "authorization_number": finding.get("authorization_number", ""),
                        "request_id": finding.get("request_id"),
                    }
                )
    rows.sort(key=lambda r: (SEVERITY_RANK.get(r["severity"], 3), r["claim_id"], r["line"] or 0))
    return rows


def findings_chart(claims: Sequence[Mapping[str, Any]]) -> Chart:
    """Findings by kind, most first, each bar coloured by the worst severity of its kind."""
    counts: dict[str, int] = {}
    worst: dict[str, str] = {}
    for claim in claims:
        for line in claim.get("lines", []):
            for finding in line.get("findings", []):
                kind = str(finding.get("kind", ""))
                severity = str(finding.get("severity", "info"))
                counts[kind] = counts.get(kind, 0) + 1
                if SEVERITY_RANK.get(severity, 3) < SEVERITY_RANK.get(worst.get(kind, ""), 3):
                    worst[kind] = severity
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    items = [
        (_label(kind), float(n), str(n), SEVERITY_BAR.get(worst.get(kind, "info"), "approved"))
        for kind, n in ordered
    ]
    total = sum(counts.values())
    description = f"{total} findings on the file's claim lines, by kind: " + ", ".join(
        f"{label} {text}" for label, _, text, _ in items
    )
    return horizontal_bars("Findings by kind", description + ".", items)


def unreadable(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The claims that could not be read, one row per located problem."""
    return [
        {
            "claim_id": str(error.get("claim_id") or "(envelope)"),
            "message": str(issue.get("message", "")),
            "location": str(issue.get("location", "")),
        }
        for error in errors
        for issue in error.get("issues", [])
    ]


def _label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()
