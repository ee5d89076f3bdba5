"""Documents for a request: upload (type and size checked, encrypted at rest), download, delete,
the documentation checklist — a draft becomes `ready` when its last missing item arrives, and a
ready request goes back to `draft` when a deletion leaves the checklist incomplete — and the
decrypted documents a channel sends.

The bytes go to an encrypted file under <data dir>/documents/<org id>/<document id>; the row,
the timeline event, any status change and the audit event commit in one unit of work, and the
file is removed again if that commit fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from precert.domain.authorizations import (
    AuthorizationRequest,
    Event,
    Status,
    TimelineEvent,
    apply,
)
from precert.errors import InvalidInput, Issue, PermissionDenied
from precert.security.crypto import FieldCipher
from precert.services.accounts import Role
from precert.services.audit import record
from precert.services.authorization_requests import (
    Requester,
    missing_documents,
    next_action,
    request_repository,
    required_documents,
)
from precert.services.context import Context
from precert.store.documents import Document, DocumentRepository
from precert.store.requests import RequestRepository
from precert.store.uow import UnitOfWork

MAX_BYTES = 20 * 1024 * 1024
OTHER = "other"  # a kind for documents that answer no checklist item (e.g. a payer letter)
ENTITY = "document"
UPLOADERS = (Role.ADMIN, Role.SPECIALIST)
ACCEPTED = "a PDF, PNG, JPEG or TIFF"
# Leading bytes of the accepted types, and of common wrong ones so the refusal can name them.
_ACCEPTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a Word or Excel file)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"),
    (b"GIF8", "a GIF image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
)
_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
}


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One required document and what is attached for it (none: it is missing)."""

    name: str
    documents: tuple[Document, ...]

    @property
    def attached(self) -> bool:
        return bool(self.documents)


@dataclass(frozen=True, slots=True)
class Upload:
    """What an upload did: the stored document and the request as it is now."""

    document: Document
    request: AuthorizationRequest


@dataclass(frozen=True, slots=True)
class Download:
    document: Document
    data: bytes = field(repr=False)

    @property
    def download_name(self) -> str:
        """A name for the saved file that never carries the original (it may name the patient)."""
        return f"{self.document.id}.{_EXTENSIONS.get(self.document.media_type, 'bin')}"


def media_type_of(data: bytes) -> str:
    """The accepted media type of `data` by its leading bytes, or InvalidInput saying why not."""
    if not data:
        raise InvalidInput.field("file", f"file: the file is empty; upload {ACCEPTED}.", "empty")
    if len(data) > MAX_BYTES:
        megabytes = len(data) / (1024 * 1024)
        raise InvalidInput.field(
            "file",
            f"file: the file is {megabytes:.1f} MB; the limit is {MAX_BYTES // (1024 * 1024)} MB. "
            "Split it or scan at a lower resolution.",
            "too-large",
        )
    for magic, media_type in _ACCEPTED_MAGIC:
        if data.startswith(magic):
            return media_type
    looks = next((name for magic, name in _KNOWN_OTHERS if data.startswith(magic)), None)
    what = f"this file looks like {looks}" if looks else "this file is none of those"
    raise InvalidInput.field("file", f"file: upload {ACCEPTED}; {what}.", "unsupported-type")


def upload_document(
    ctx: Context,
    actor: Requester,
    request_id: str,
    *,
    kind: str,
    filename: str,
    data: bytes,
    now: dt.datetime | None = None,
) -> Upload:
    """Store a document against a checklist item (or "other"); refused uploads write nothing."""
    _require_uploader(actor)
    media_type = media_type_of(data)
    at = now or ctx.now()
    with ctx.uow() as uow:
        requests, documents = _repositories(ctx, uow)
        request = requests.get(actor.organization_id, request_id)
        document = Document(
            id=str(uuid.uuid4()),
            organization_id=actor.organization_id,
            request_id=request_id,
            kind=_kind(required_documents(request), kind),
            filename=_base_name(filename),
            media_type=media_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=actor.email,
            uploaded_at=at,
        )
        path = _write(ctx, document, data)
        try:
            changed = _record_upload(uow, requests, documents, actor, request, document)
            uow.commit()
        except BaseException:
            path.unlink(missing_ok=True)  # the row never landed, so neither may the file
            raise
    return Upload(document, changed)


def checklist(ctx: Context, actor: Requester, request_id: str) -> list[ChecklistItem]:
    """Each required document (over all the request's services) with what is attached for it."""
    with ctx.uow() as uow:
        requests, documents = _repositories(ctx, uow)
        request = requests.get(actor.organization_id, request_id)
        attached = documents.of_request(actor.organization_id, request_id)
        _audit(uow, actor, "list", request_id, ctx.now(), reason="checklist")
        uow.commit()
    return _items(required_documents(request), attached)


def download_document(
    ctx: Context, actor: Requester, request_id: str, document_id: str
) -> Download:
    """The decrypted bytes of one document of this organization; every download is audited."""
    with ctx.uow() as uow:
        _, documents = _repositories(ctx, uow)
        document = documents.get(actor.organization_id, request_id, document_id)
        data = _read(ctx, document)
        _audit(uow, actor, "view", document_id, ctx.now(), reason=request_id)
        uow.commit()
    return Download(document, data)


def documents_to_send(ctx: Context, actor: Requester, request_id: str) -> list[Download]:
    """Every document of a request, decrypted, for a channel to send; each read is audited."""
    with ctx.uow() as uow:
        _, documents = _repositories(ctx, uow)
        found = documents.of_request(actor.organization_id, request_id)
        out = [Download(document, _read(ctx, document)) for document in found]
        at = ctx.now()
        for document in found:
            _audit(uow, actor, "view", document.id, at, reason=f"submission of {request_id}")
        uow.commit()
    return out


def delete_document(
    ctx: Context,
    actor: Requester,
    request_id: str,
    document_id: str,
    *,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Remove a document (row, then file); a ready request whose checklist this leaves incomplete
    goes back to draft, with the timeline saying which document went."""
    _require_uploader(actor, "delete")
    at = now or ctx.now()
    org = actor.organization_id
    with ctx.uow() as uow:
        requests, documents = _repositories(ctx, uow)
        request = requests.get(org, request_id)
        document = documents.get(org, request_id, document_id)
        complete_before = not missing_documents(request, documents.of_request(org, request_id))
        documents.remove(document)
        uow.session.flush()
        missing = missing_documents(request, documents.of_request(org, request_id))
        data = {"document_id": document.id, "kind": document.kind}
        status = request.status
        removed = TimelineEvent(at, actor.email, "document_removed", status, status, "", data)
        requests.add_event(org, request_id, removed)
        changed = request
        if request.status is Status.READY and complete_before and missing:
            changed, event = apply(
                request,
                Event.DOCUMENTS_INCOMPLETE,
                at=at,
                actor=actor.email,
                note=f"missing: {'; '.join(missing)}",
                data={"missing": missing, "document_id": document.id},
            )
            requests.save(changed, next_action_at=next_action(changed, at))
            requests.add_event(org, request_id, event)
        _audit(uow, actor, "delete", document.id, at, reason=request_id)
        uow.commit()
    # After the commit: a failed commit must leave the file the row still points to.
    _path(ctx, document.organization_id, document.id).unlink(missing_ok=True)
    return changed


def _record_upload(
    uow: UnitOfWork,
    requests: RequestRepository,
    documents: DocumentRepository,
    actor: Requester,
    request: AuthorizationRequest,
    document: Document,
) -> AuthorizationRequest:
    """Add the row, its timeline event and audit event; make a complete draft ready."""
    at, org = document.uploaded_at, actor.organization_id
    documents.add(document)
    uow.session.flush()
    data = {"document_id": document.id, "kind": document.kind, "media_type": document.media_type}
    added = TimelineEvent(
        at, actor.email, "document_added", request.status, request.status, document.kind, data
    )
    requests.add_event(org, request.id, added)
    _audit(uow, actor, "create", document.id, at, reason=request.id)
    items = _items(required_documents(request), documents.of_request(org, request.id))
    if request.status is not Status.DRAFT or not items or not all(i.attached for i in items):
        return request
    changed, event = apply(request, Event.DOCUMENTS_COMPLETED, at=at, actor=actor.email)
    requests.save(changed, next_action_at=next_action(changed, at))
    requests.add_event(org, request.id, event)
    return changed


def _items(required: list[str], attached: list[Document]) -> list[ChecklistItem]:
    return [
        ChecklistItem(name, tuple(d for d in attached if d.kind.casefold() == name.casefold()))
        for name in required
    ]


def _kind(required: list[str], kind: str) -> str:
    """The checklist item `kind` names (matched ignoring case), "other", or InvalidInput."""
    wanted = " ".join(kind.split()).casefold()
    for name in [*required, OTHER]:
        if name.casefold() == wanted:
            return name
    options = "; ".join(f'"{name}"' for name in [*required, OTHER])
    raise InvalidInput.field(
        "kind", f"kind: {kind.strip()!r} is not on this request's checklist; use one of {options}."
    )


def _base_name(filename: str) -> str:
    # Browsers on Windows may send a full path; keep only the last part, and bound its length.
    name = PureWindowsPath(PurePosixPath(filename).name).name.strip()
    return name[:255] or "document"


def _write(ctx: Context, document: Document, data: bytes) -> Path:
    """Encrypt and write atomically: a reader sees the whole file or no file."""
    path = _path(ctx, document.organization_id, document.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    sealed = FieldCipher.from_settings(ctx.settings).encrypt_bytes(data, context=_context(document))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(sealed)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _read(ctx: Context, document: Document) -> bytes:
    sealed = _path(ctx, document.organization_id, document.id).read_bytes()
    return FieldCipher.from_settings(ctx.settings).decrypt_bytes(sealed, context=_context(document))


def _path(ctx: Context, organization_id: str, document_id: str) -> Path:
    return ctx.settings.data_dir / "documents" / organization_id / document_id


def _context(document: Document) -> str:
    return f"documents:{document.organization_id}:{document.id}"


def _require_uploader(actor: Requester, action: str = "upload") -> None:
    if actor.role in UPLOADERS:
        return
    message = f"{actor.role.value}s cannot {action} documents; ask an admin or a specialist"
    raise PermissionDenied(message, [Issue("forbidden", message, "role")])


def _repositories(ctx: Context, uow: UnitOfWork) -> tuple[RequestRepository, DocumentRepository]:
    cipher = FieldCipher.from_settings(ctx.settings)
    return request_repository(ctx, uow), DocumentRepository(uow.session, cipher)


def _audit(
    uow: UnitOfWork,
    actor: Requester,
    action: str,
    entity_id: str,
    at: dt.datetime,
    *,
    reason: str | None = None,
) -> None:
    record(
        uow,
        actor=actor.email,
        action=action,
        entity=ENTITY,
        entity_id=entity_id,
        organization_id=actor.organization_id,
        reason=reason,
        at=at,
    )
