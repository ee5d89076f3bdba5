"""The authorization-request API under /api/v1/requests: create, list, view with the timeline,
submit (recorded by a person until electronic channels exist), record the decision, cancel,
upload and download documents and see the documentation checklist.

Every route needs a bearer token. Bodies are Pydantic models so /docs shows them; they check shape
only (unknown keys, types) and the services say what a value means, with every problem located.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable, Coroutine, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from precert.domain.authorizations import AuthorizationRequest, Event
from precert.errors import InvalidInput, Issue
from precert.services import authorization_requests as service
from precert.services import documents
from precert.store.documents import Document
from precert.web.api.schemas import ErrorOut
from precert.web.auth import ActorDep
from precert.web.deps import ContextDep
from precert.web.validation import json_path

_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


class PatientIn(BaseModel):
    model_config = _STRICT
    first_name: str
    last_name: str
    birth_date: str = Field(json_schema_extra={"format": "date"})
    member_id: str


class ServiceLineIn(BaseModel):
    model_config = _STRICT
    code: str = Field(description="CPT or HCPCS code, e.g. 15823.")
    units: int = 1
    pos: str | None = Field(None, description="Two-digit place of service, e.g. 22.")
    diagnoses: list[str] = Field(default_factory=list, description='e.g. ["H02.831"]')
    from_: str = Field(alias="from", json_schema_extra={"format": "date"})
    to: str | None = Field(None, json_schema_extra={"format": "date"})


class RequestIn(BaseModel):
    """A new authorization request; it starts as a draft with the requirement answer captured."""

    model_config = _STRICT
    payer_id: str
    plan: str
    state: str | None = None
    urgency: str = Field("standard", description="standard or expedited")
    patient: PatientIn
    ordering_npi: str
    rendering_npi: str
    facility_npi: str | None = None
    group_number: str | None = None
    retro: bool = Field(False, description="A retro-authorization (an emergency already done).")
    services: list[ServiceLineIn]


class SubmitMethod(StrEnum):
    PHONE = "phone"
    FAX = "fax"
    PORTAL = "portal"


class SubmissionIn(BaseModel):
    """How a person sent the request to the payer (the manual channel)."""

    model_config = _STRICT
    method: SubmitMethod | None = None
    reference: str | None = Field(None, max_length=200, description="Call or fax confirmation.")
    note: str | None = Field(None, max_length=2000)


class LineDecisionIn(BaseModel):
    model_config = _STRICT
    code: str
    approved_units: int = 0
    status: str | None = Field(None, description="approved (default), denied, ...")
    approved_code: str | None = None


class DeterminationIn(BaseModel):
    """The payer's decision and how it was obtained."""

    model_config = _STRICT
    outcome: str = Field(description="approved, partially_approved, denied, not_required, pended")
    method: str = Field(description="portal, x12, fhir, fax or phone")
    decision_date: str | None = Field(None, json_schema_extra={"format": "date"})
    authorization_number: str | None = None
    valid_from: str | None = Field(None, json_schema_extra={"format": "date"})
    valid_to: str | None = Field(None, json_schema_extra={"format": "date"})
    provider_npi: str | None = None
    facility_npi: str | None = None
    reason_codes: list[str] | None = None
    reference: str | None = None
    rep_name: str | None = None
    letter_document_id: str | None = None
    lines: list[LineDecisionIn] | None = None
    note: str | None = Field(None, max_length=2000, description="Kept on the timeline.")


class NoteIn(BaseModel):
    model_config = _STRICT
    note: str | None = Field(None, max_length=2000)


class _LocatedErrors(APIRoute):
    """Body errors reworded for these nouns: allowed keys named, patient values never echoed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        annotation = self.body_field.field_info.annotation if self.body_field else None

        async def located(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                found = _issues(error.errors(), _model_in(annotation))
                count = "1 problem" if len(found) == 1 else f"{len(found)} problems"
                raise InvalidInput(f"The body has {count}; correct and try again.", found) from None

        return located


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        401: "No token, or an invalid or revoked one",
        403: "Your role cannot do this",
        404: "No such request in your organization",
        409: "Not possible from the request's status; the message says why",
        422: "Invalid input; each issue names where and why",
    }.items()
}
router = APIRouter(prefix="/api/v1/requests", tags=["requests"], route_class=_LocatedErrors)


@router.post("", status_code=201, summary="Create a draft request", responses=ERRORS)
def create(body: RequestIn, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    payload = body.model_dump(by_alias=True, exclude_none=True)
    created = service.create_request(ctx, actor, payload)
    location = f"{router.prefix}/{created.id}"
    return JSONResponse(request_json(created), status_code=201, headers={"Location": location})


@router.get("", summary="The organization's requests, newest first", responses=ERRORS)
def list_all(
    actor: ActorDep,
    ctx: ContextDep,
    status: str | None = None,
    payer: str | None = None,
    assignee: str | None = None,
) -> JSONResponse:
    found = service.list_requests(ctx, actor, status=status, payer=payer, assignee=assignee)
    return JSONResponse({"requests": [request_json(r) for r in found]})


@router.get("/{request_id}", summary="One request with its timeline", responses=ERRORS)
def get_one(request_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    detail = service.get_request(ctx, actor, request_id)
    body = request_json(detail.request)
    body["next_action_at"] = _iso(detail.next_action_at)
    body["timeline"] = [event.as_dict() for event in detail.timeline]
    return JSONResponse(body)


@router.post(
    "/{request_id}/submit", summary="Record a submission made by a person", responses=ERRORS
)
def submit(
    request_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    body: Annotated[SubmissionIn | None, Body()] = None,
) -> JSONResponse:
    note = submission_note(body or SubmissionIn())
    changed = service.apply_event(ctx, actor, request_id, Event.SUBMIT, note)
    return JSONResponse(request_json(changed))


@router.post("/{request_id}/determination", summary="Record the payer's decision", responses=ERRORS)
def determination(
    request_id: str, body: DeterminationIn, actor: ActorDep, ctx: ContextDep
) -> JSONResponse:
    payload = body.model_dump(exclude_none=True, exclude={"note"})
    changed = service.record_determination(ctx, actor, request_id, payload, body.note or "")
    return JSONResponse(request_json(changed))


@router.post("/{request_id}/cancel", summary="Cancel a request", responses=ERRORS)
def cancel(
    request_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    body: Annotated[NoteIn | None, Body()] = None,
) -> JSONResponse:
    changed = service.cancel_request(ctx, actor, request_id, (body.note or "") if body else "")
    return JSONResponse(request_json(changed))


@router.post(
    "/{request_id}/documents",
    status_code=201,
    summary="Upload a document (PDF, PNG, JPEG or TIFF, at most 20 MB) for a checklist item",
    responses=ERRORS,
)
async def upload_document(
    request_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    kind: Annotated[str, Form(description='The checklist item it answers, or "other".')],
    file: Annotated[UploadFile, File()],
) -> JSONResponse:
    # One byte over the limit is enough to refuse, so a huge body is never held in full.
    data = await file.read(documents.MAX_BYTES + 1)
    upload = await run_in_threadpool(
        documents.upload_document,
        ctx,
        actor,
        request_id,
        kind=kind,
        filename=file.filename or "",
        data=data,
    )
    items = await run_in_threadpool(documents.checklist, ctx, actor, request_id)
    location = f"{router.prefix}/{request_id}/documents/{upload.document.id}"
    body = {
        "document": document_json(upload.document),
        "status": upload.request.status.value,
        "checklist": [checklist_json(item) for item in items],
    }
    return JSONResponse(body, status_code=201, headers={"Location": location})


@router.get("/{request_id}/documents", summary="The documentation checklist", responses=ERRORS)
def list_documents(request_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    items = documents.checklist(ctx, actor, request_id)
    return JSONResponse({"checklist": [checklist_json(item) for item in items]})


@router.get(
    "/{request_id}/documents/{document_id}", summary="Download a document", responses=ERRORS
)
def download_document(
    request_id: str, document_id: str, actor: ActorDep, ctx: ContextDep
) -> Response:
    found = documents.download_document(ctx, actor, request_id, document_id)
    # The original filename may name the patient, so the saved name is the document id.
    disposition = f'attachment; filename="{found.download_name}"'
    return Response(
        found.data,
        media_type=found.document.media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


def document_json(document: Document) -> dict[str, Any]:
    """A document's metadata; the filename is PHI-bearing, so only an authorised caller sees it."""
    return {
        "id": document.id,
        "kind": document.kind,
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": _iso(document.uploaded_at),
    }


def checklist_json(item: documents.ChecklistItem) -> dict[str, Any]:
    return {
        "name": item.name,
        "attached": item.attached,
        "documents": [document_json(document) for document in item.documents],
    }


def submission_note(body: SubmissionIn) -> str:
    """The timeline note for a manual submission: how it was sent, its reference, the note."""
    # The service's apply_event keeps a note, not structured data, so method and reference are
    # written into it in a fixed form a person (and a later parser) can read.
    parts = [f"sent by {body.method.value}" if body.method else ""]
    if body.reference:
        parts.append(f"reference {body.reference.strip()}")
    head = ", ".join(part for part in parts if part)
    note = (body.note or "").strip()
    return f"{head}: {note}" if head and note else head or note


def request_json(request: AuthorizationRequest) -> dict[str, Any]:
    """A request as the API returns it; it holds PHI, so it goes only to an authorised caller."""
    patient = request.patient
    return {
        "id": request.id,
        "status": request.status.value,
        "urgency": request.urgency.value,
        "retro": request.retro,
        "needs_attention": request.needs_attention,
        "assignee": request.assignee,
        "payer_id": request.coverage.payer_id,
        "plan": request.coverage.plan,
        "group_number": request.coverage.group or None,
        "patient": {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "birth_date": patient.birth_date.isoformat(),
            "member_id": patient.member_id,
        },
        "ordering_npi": request.ordering_npi,
        "rendering_npi": request.rendering_npi,
        "facility_npi": request.facility_npi,
        "services": [
            {
                "code": line.code,
                "units": line.units,
                "pos": line.pos or None,
                "diagnoses": list(line.diagnoses),
                "from": line.from_date.isoformat(),
                "to": line.to_date.isoformat(),
            }
            for line in request.lines
        ],
        "requirement": [dict(answer) for answer in request.requirement],
        "created_at": _iso(request.created_at),
        "updated_at": _iso(request.updated_at),
        "awaiting_since": _iso(request.awaiting_since),
        "info_due": _iso(request.info_due),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# -- body errors ---------------------------------------------------------------------------------


def _issues(errors: Sequence[Mapping[str, Any]], body: Any) -> list[Issue]:
    found: dict[str, Issue] = {}
    for error in errors:
        where = json_path(error.get("loc", ()))
        found.setdefault(where, _issue(error, where, body))
    return list(found.values())


def _issue(error: Mapping[str, Any], where: str, body: Any) -> Issue:
    kind = str(error.get("type", ""))
    if kind == "json_invalid":
        return Issue("invalid-json", "body: the request body is not valid JSON.", "body")
    if kind == "missing":
        return Issue("required", f"{where}: this field is required.", where)
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed(body, error.get("loc", ())[1:-1]))
        return Issue("unknown-field", f"{where}: unknown field; use {allowed}.", where)
    if where.startswith("patient."):
        # Patient values are PHI: say what is expected, never repeat what was sent.
        return Issue("invalid", f"{where}: expected text in quotes (value not repeated).", where)
    return Issue("invalid", f"{where}: {error.get('msg', 'is not valid')}.", where)


def _allowed(model: Any, path: Sequence[int | str]) -> list[str]:
    """The keys the model at `path` inside `model` accepts (by their JSON names)."""
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        field = next((f for n, f in fields.items() if (f.alias or n) == part), None)
        model = _model_in(field.annotation) if field else None
    fields = getattr(model, "model_fields", {})
    return [field.alias or name for name, field in fields.items()]


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside list[X] or X | None, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
