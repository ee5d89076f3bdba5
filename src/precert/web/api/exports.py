"""The work-queue export under /api/v1/requests/export: the queue as CSV or XLSX for a person.

The file holds patient names, so it needs a bearer token, is audited by the service, and is sent
with `Cache-Control: no-store`. Any role may export (a viewer may view the queue).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from precert.services import exports
from precert.web.api.requests import ERRORS
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])


@router.get(
    "/export",
    summary="The work queue as a CSV or XLSX file (open requests, soonest service first)",
    responses={
        **ERRORS,
        200: {
            "description": "The file",
            "content": {media: {} for media in exports.MEDIA_TYPES.values()},
        },
    },
)
def export(
    actor: ActorDep, ctx: ContextDep, format: str = "csv", status: str | None = None
) -> Response:
    found = exports.export_queue(ctx, actor, format=format, status=status)
    return Response(
        found.data,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "no-store",
            "X-Precert-Rows": str(found.rows),
        },
    )
