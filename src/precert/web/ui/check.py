"""GET /: the "Check a service" page, answering from the same service as the CLI and the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precert.domain.requirements import Requirement, RuleBook
from precert.domain.rules import PLAN_TYPES, PayerPack
from precert.errors import InvalidInput
from precert.services.requirements import check_services
from precert.web.deps import ContextDep
from precert.web.templating import templates
from precert.web.ui.form import CheckForm, form_location
from precert.web.ui.present import place_choices, setting_choices

router = APIRouter(include_in_schema=False)


@router.get("/")
def check_page(request: Request, ctx: ContextDep) -> Response:
    form = CheckForm.from_query(request.query_params, today=ctx.today())
    results: list[Requirement] = []
    if form.submitted:
        try:
            results = check_services(ctx, form.services(), locate=form_location)
        except InvalidInput as exc:
            form.add_issues(exc.issues)
    context = {"form": form, "results": results, **_choices(ctx.rulebook())}
    status = 422 if form.errors else 200
    return templates.TemplateResponse(request, "check.html", context, status_code=status)


def _payer_label(pack: PayerPack) -> str:
    # Synthetic packs must never pass for a real payer's list on the page.
    marked = pack.synthetic and not any(w in pack.name.lower() for w in ("demo", "synthetic"))
    return f"{pack.name} (demo)" if marked else pack.name


def _choices(book: RuleBook) -> dict[str, object]:
    """The options of the form's selects, from the payers this installation has configured."""
    offered = {plan for pack in book.packs for plan in pack.plans}
    return {
        "payers": [(p.id, _payer_label(p)) for p in book.packs],
        "payer_names": {p.id: p.name for p in book.packs},
        "plans": [(plan, plan) for plan in PLAN_TYPES if plan in offered],
        "places": place_choices(),
        "settings": setting_choices(),
        "networks": [("in", "In network"), ("out", "Out of network")],
    }
