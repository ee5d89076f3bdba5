"""GET/POST /requests/new: the intake form for one authorization request, typed by a person.

The form's field names are the API's issue locations (`patient.member_id`, `services[0].code`), so
every problem the request service finds lands next to its field with nothing else to map. Each
rendered form carries a one-time key used as the request's idempotency key: a double click or a
resubmitted POST never creates a second request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from precert.domain.authorizations import Urgency
from precert.domain.rules import PLAN_TYPES
from precert.errors import InvalidInput
from precert.services import authorization_requests as service
from precert.services.context import Context
from precert.web.deps import ContextDep
from precert.web.session import CsrfDep, PageActorDep
from precert.web.templating import templates
from precert.web.ui.present import place_choices

router = APIRouter(include_in_schema=False)

LINES = 4  # service lines offered on the form; blank ones are ignored
TOP_FIELDS = (
    "payer_id",
    "plan",
    "state",
    "urgency",
    "ordering_npi",
    "rendering_npi",
    "facility_npi",
    "group_number",
)
PATIENT_FIELDS = ("first_name", "last_name", "birth_date", "member_id")
LINE_FIELDS = ("code", "units", "pos", "diagnoses", "from", "to")
FORM_KEY = "form_key"


@dataclass
class RequestForm:
    """What the person typed (kept on every re-render) and the problems found, by field name."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def blank(cls) -> RequestForm:
        form = cls({"urgency": Urgency.STANDARD.value, FORM_KEY: uuid.uuid4().hex})
        for index in range(LINES):
            form.values[f"services[{index}].units"] = "1"
        return form

    @classmethod
    def from_form(cls, data: FormData) -> RequestForm:
        return cls({key: value.strip() for key, value in data.items() if isinstance(value, str)})

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def payload(self) -> dict[str, Any]:
        """The API's request body from the typed values; shape only, the service checks meaning."""
        body: dict[str, Any] = {
            name: self.value(name) for name in TOP_FIELDS if self.value(name) or name == "plan"
        }
        if self.value("retro"):
            body["retro"] = True
        body["patient"] = {name: self.value(f"patient.{name}") for name in PATIENT_FIELDS}
        body["services"] = [line for line in self._lines() if line]
        return body

    def _lines(self) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for index in range(LINES):
            typed = {name: self.value(f"services[{index}].{name}") for name in LINE_FIELDS}
            if not typed["code"]:  # an empty row (units keep their default of 1)
                lines.append({})
                continue
            line: dict[str, Any] = {
                "code": typed["code"],
                "units": _number(typed["units"] or "1"),
                "diagnoses": [d.strip() for d in typed["diagnoses"].split(",") if d.strip()],
                "from": typed["from"],
                "to": typed["to"] or typed["from"],
            }
            if typed["pos"]:
                line["pos"] = typed["pos"]
            lines.append(line)
        return lines

    def add_issues(self, error: InvalidInput) -> None:
        # The service numbers lines among those sent; map them back to the rows they came from.
        rows = [index for index, line in enumerate(self._lines()) if line]

        def row_of(match: re.Match[str]) -> str:
            sent = int(match.group(1))
            return f"services[{rows[sent] if sent < len(rows) else sent}]"

        for issue in error.issues:
            where = _LINE.sub(row_of, issue.location or "form")
            if where == "services":  # no line at all: point at the first code
                where = "services[0].code"
            name = where if self._known(where) else "form"
            self.errors.setdefault(name, []).append(_beside_field(issue.message, name))

    def _known(self, name: str) -> bool:
        if name in TOP_FIELDS or name in {f"patient.{p}" for p in PATIENT_FIELDS}:
            return True
        return any(name == f"services[{i}].{f}" for i in range(LINES) for f in LINE_FIELDS)


_LINE = re.compile(r"^services\[(\d+)\]")
_LOCATION = re.compile(r"[a-z_]+(\[\d+\])?(\.[a-z_]+)*")


def _beside_field(message: str, name: str) -> str:
    """Next to its field a message needs no "services[0].code: " prefix; the form banner does."""
    head, colon, rest = message.partition(": ")
    if name == "form" or not colon or not _LOCATION.fullmatch(head):
        return message
    return rest[:1].upper() + rest[1:]


def _number(text: str) -> int | str:
    # Left as text when it is not a whole number, so the service names the field and the problem.
    return int(text) if text.isdigit() else text


@router.get("/requests/new")
def new_request_page(request: Request, actor: PageActorDep, ctx: ContextDep) -> Response:
    return _render(request, ctx, RequestForm.blank())


@router.post("/requests/new")
async def create_from_form(
    request: Request, actor: PageActorDep, ctx: ContextDep, _csrf: CsrfDep
) -> Response:
    form = RequestForm.from_form(await request.form())
    key = form.value(FORM_KEY) or uuid.uuid4().hex
    try:
        created = await run_in_threadpool(
            service.create_or_replay, ctx, actor, form.payload(), idempotency_key=key
        )
    except InvalidInput as problem:
        form.add_issues(problem)
        return _render(request, ctx, form, status_code=422)
    return RedirectResponse(f"/requests/{created.request.id}", status_code=303)


def _render(
    request: Request, ctx: Context, form: RequestForm, *, status_code: int = 200
) -> Response:
    book = ctx.rulebook()
    offered = {plan for pack in book.packs for plan in pack.plans}
    context: Mapping[str, Any] = {
        "form": form,
        "lines": range(LINES),
        "payers": [(pack.id, pack.name) for pack in book.packs],
        "plans": [(plan, plan) for plan in PLAN_TYPES if plan in offered],
        "places": place_choices(),
        "urgencies": [(u.value, u.value.capitalize()) for u in Urgency],
        "form_key": FORM_KEY,
    }
    return templates.TemplateResponse(
        request, "new_request.html", dict(context), status_code=status_code
    )
