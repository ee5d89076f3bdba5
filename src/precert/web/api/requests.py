"""The authorization-request API under /api/v1/requests: create (once per Idempotency-Key), list
a page at a time, view with the timeline, mark ready, submit (through a channel, or recorded by a
person), record the decision, appeal, cancel, upload, download and delete documents and see the
documentation checklist.

Every route needs a bearer token. Bodies are Pydantic models so /docs shows them; they check shape
only (unknown keys, types) and the services say what a value means, with every problem located.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable, Coroutine, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from precert.domain.authorizations import AuthorizationRequest
from precert.errors import InvalidInput, Issue
from precert.services import authorization_requests as service
from precert.services import documents, payer_amendments
from precert.services.submission import ManualSubmission, SubmissionResult, submit_request
from precert.store.documents import Document
from precert.web.api.portal_runs import submit_by_portal
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


AUTO = "auto"  # submit through the payer's own preferred channel


class SubmissionIn(BaseModel):
    """Submit through the payer's channel ({"channel": "auto"}) or a named one ({"channel":
    "x12"}), or record what a person did (the manual channel: method, reference, rep_name,
    fax_confirmation, note). An empty body is manual."""

    model_config = _STRICT
    channel: str | None = Field(
        None,
        description=(
            "auto (the payer's first channel precert is set up for), x12, fhir-pas, fax or "
            "manual; leave out to record a submission made by a person."
        ),
    )
    method: SubmitMethod | None = None
    reference: str | None = Field(None, max_length=200, description="Call or fax confirmation.")
    rep_name: str | None = Field(None, max_length=200, description="Who took the call.")
    fax_confirmation: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=2000)

    def manual(self) -> ManualSubmission | None:
        """The person's facts, or None when the body only names an electronic channel."""
        facts = (self.method, self.reference, self.rep_name, self.fax_confirmation, self.note)
        if self.channel is not None and self.channel != "manual" and not any(facts):
            return None
        return ManualSubmission(
            method=self.method.value if self.method else None,
            reference=self.reference,
            rep_name=self.rep_name,
            fax_confirmation=self.fax_confirmation,
            note=self.note or "",
        )


class ReadyIn(BaseModel):
    model_config = _STRICT
    override_reason: str | None = Field(
        None,
        max_length=2000,
        description="Why the request may go without its missing documents (kept on the timeline).",
    )


class ExtensionIn(BaseModel):
    model_config = _STRICT
    to: dt.date | None = Field(None, description="The new last day of service (YYYY-MM-DD).")
    units: dict[str, int] | None = Field(
        None, description='Units asked in all, per procedure code: {"97110": 24}.'
    )
    note: str | None = Field(None, max_length=2000)


class AppealIn(BaseModel):
    model_config = _STRICT
    note: str = Field(max_length=2000, description="The grounds for the appeal.")


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
        409: "Not possible from the request's status (or a reused Idempotency-Key); the "
        "message says why",
        413: "The body is over the size limit",
        422: "Invalid input; each issue names where and why",
        503: "The payer channel is not configured or not reachable; `retryable` says whether "
        "to try again",
    }.items()
}
router = APIRouter(prefix="/api/v1/requests", tags=["requests"], route_class=_LocatedErrors)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique text (a UUID): a retry with the same key and body answers the "
        "first result (200) instead of acting twice.",
    ),
]


@router.post("", status_code=201, summary="Create a draft request", responses=ERRORS)
def create(
    body: RequestIn, actor: ActorDep, ctx: ContextDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    payload = body.model_dump(by_alias=True, exclude_none=True)
    if idempotency_key is None:
        created, status = service.create_request(ctx, actor, payload), 201
    else:
        result = service.create_or_replay(ctx, actor, payload, idempotency_key=idempotency_key)
        created, status = result.request, 200 if result.replayed else 201
    location = f"{router.prefix}/{created.id}"
    return JSONResponse(request_json(created), status_code=status, headers={"Location": location})


@router.get("", summary="The organization's requests, newest first, a page at a time")
def list_all(
    request: Request,
    actor: ActorDep,
    ctx: ContextDep,
    status: str | None = None,
    payer: str | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(description="1 to 200 per page")] = service.PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(description="From the previous page's `next`")] = None,
) -> JSONResponse:
    page = service.list_page(
        ctx, actor, status=status, payer=payer, assignee=assignee, limit=limit, cursor=cursor
    )
    following = None
    if page.next_cursor is not None:
        following = str(request.url.include_query_params(cursor=page.next_cursor))
    body = {"requests": [request_json(r) for r in page.requests], "next": following}
    return JSONResponse(body)


@router.get("/{request_id}", summary="One request with its timeline", responses=ERRORS)
def get_one(request_id: str, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    detail = service.get_request(ctx, actor, request_id)
    body = request_json(detail.request)
    body["next_action_at"] = _iso(detail.next_action_at)
    body["timeline"] = [event.as_dict() for event in detail.timeline]
    return JSONResponse(body)


@router.post(
    "/{request_id}/ready",
    summary="Mark ready: the checklist is complete, or a person overrides with a reason",
    responses=ERRORS,
)
def ready(
    request_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    body: Annotated[ReadyIn | None, Body()] = None,
) -> JSONResponse:
    reason = body.override_reason if body else None
    changed = service.mark_ready(ctx, actor, request_id, override_reason=reason)
    return JSONResponse(request_json(changed))


@router.post(
    "/{request_id}/submit",
    summary="Submit through a channel, or record a submission made by a person",
    description=(
        "A payer whose channel is its web portal is submitted by a portal run in the "
        "background: the answer is 202 with the run (its Location is /api/v1/portal-runs/{id}); "
        "follow it there. Every other channel answers 200 with the submission."
    ),
    responses={**ERRORS, 202: {"description": "A portal run was queued; the body is the run"}},
)
def submit(
    request_id: str,
    actor: ActorDep,
    ctx: ContextDep,
    body: Annotated[SubmissionIn | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    given = body or SubmissionIn()
    details = given.manual()
    if details is None:  # a channel, not a person's record: a portal payer's run is queued
        queued = submit_by_portal(ctx, actor, request_id, given.channel)
        if queued is not None:
            return queued
    result = submit_request(
        ctx,
        actor,
        request_id,
        channel=None if given.channel == AUTO else given.channel,
        details=details,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(submission_json(result))


@router.post("/{request_id}/appeal", summary="Appeal a denial", responses=ERRORS)
def appeal(request_id: str, body: AppealIn, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    changed = service.appeal_request(ctx, actor, request_id, note=body.note)
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
    note = (body.note or "") if body else ""
    # Sent electronically: the payer withdraws it first (X12 cancel / PAS cancel Claim).
    changed = payer_amendments.cancel_with_payer(ctx, actor, request_id, note)
    return JSONResponse(request_json(changed))


@router.post(
    "/{request_id}/extension",
    summary="Ask the payer to extend an approval (later end date, more units)",
    responses=ERRORS,
)
def extension(request_id: str, body: ExtensionIn, actor: ActorDep, ctx: ContextDep) -> JSONResponse:
    changed, answer = payer_amendments.request_extension(
        ctx, actor, request_id, to_date=body.to, units=body.units, note=body.note or ""
    )
    return JSONResponse({**request_json(changed), "payer_answer": answer.as_dict()})


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


@router.delete(
    "/{request_id}/documents/{document_id}",
    summary="Delete a document (a ready request whose checklist it leaves incomplete goes back "
    "to draft)",
    responses=ERRORS,
)
def delete_document(
    request_id: str, document_id: str, actor: ActorDep, ctx: ContextDep
) -> JSONResponse:
    changed = documents.delete_document(ctx, actor, request_id, document_id)
    items = documents.checklist(ctx, actor, request_id)
    body = {"status": changed.status.value, "checklist": [checklist_json(i) for i in items]}
    return JSONResponse(body)


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


def submission_json(result: SubmissionResult) -> dict[str, Any]:
    """The request after a submission, with the channel's receipt."""
    body = request_json(result.request)
    body["receipt"] = result.receipt.as_dict()
    body["repeated"] = result.repeated
    return body


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
