"""POST /requests/{id}/eligibility: the request page's "Check coverage" button.

Like the page's other actions (web/ui/request_page.py): Post/Redirect/Get with a flash message
saying what the payer answered; a refusal (no PRECERT_X12_URL, the payer unreachable, an AAA
rejection) re-renders the page with the message. The result panel (templates/_coverage.html)
shows the latest "coverage_checked" timeline event.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precert.services.eligibility import check_eligibility, summary
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.ui.request_page import act_on, form_fields

router = APIRouter(include_in_schema=False)

FORM = "coverage"  # the refused-form name the page knows this action by


@router.post("/requests/{request_id}/eligibility")
async def check_coverage(
    request: Request, request_id: str, ctx: ContextDep, actor: PageActorDep, _csrf: CsrfDep
) -> Response:
    form = await form_fields(request)

    def act() -> str:
        result = check_eligibility(ctx, actor, request_id)
        said = f"Coverage checked. {summary(result.data)}"
        return f"{said} {result.attention}" if result.attention else said

    return await act_on(request, ctx, actor, request_id, FORM, form, act)
