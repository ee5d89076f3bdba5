"""Documents on SQLite and PostgreSQL: upload against the checklist with the automatic `ready`,
deletion (a ready request whose checklist it breaks goes back to draft), encryption at rest (file
and filename), type/size/empty refusals that write nothing, tenants and roles, and the
bytes-encryption primitive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from tests.support.requests import MEDICARE_NOTES, NOW, request_body

from precert.domain.authorizations import Status
from precert.errors import InvalidInput, NotFound, PermissionDenied
from precert.security.crypto import DecryptionFailed, FieldCipher
from precert.services import authorization_requests as requests
from precert.services import documents
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_about
from precert.services.context import Context
from precert.store.documents import DocumentRecord

NOTES = MEDICARE_NOTES
CANARY = b"CANARY-Testpatient-Alpha-7731"
PDF = b"%PDF-1.7\n" + CANARY + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ZIP = b"PK\x03\x04" + b"\x00" * 32
BODY: dict[str, Any] = request_body()


def _actor(ctx: Context, name: str, role: Role = Role.SPECIALIST) -> Actor:
    org = create_organization(ctx, name)
    return Actor("user-" + name, org, f"{name.lower().replace(' ', '.')}@example.org", role)


@pytest.fixture
def alice(any_ctx: Context) -> Actor:
    return _actor(any_ctx, "Clinic A")


def _draft(ctx: Context, actor: Actor) -> str:
    return requests.create_request(ctx, actor, BODY, now=NOW).id


def _upload(ctx: Context, actor: Actor, request_id: str, **given: Any) -> documents.Upload:
    values: dict[str, Any] = {"kind": NOTES, "filename": "Alpha notes.pdf", "data": PDF}
    values.update(given)
    return documents.upload_document(ctx, actor, request_id, now=NOW, **values)


def _stored_files(ctx: Context) -> list[Path]:
    root = ctx.settings.data_dir / "documents"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _rows(ctx: Context) -> int:
    with ctx.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(DocumentRecord)) or 0


def test_attaching_the_last_missing_document_makes_a_draft_ready(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    before = documents.checklist(any_ctx, alice, request_id)
    assert [(item.name, item.attached) for item in before] == [(NOTES, False)]

    upload = _upload(any_ctx, alice, request_id, kind=NOTES.upper())

    assert upload.request.status is Status.READY
    assert upload.document.kind == NOTES  # the checklist's own wording, whatever the case sent
    assert upload.document.media_type == "application/pdf"
    after = documents.checklist(any_ctx, alice, request_id)
    assert [(item.name, item.attached) for item in after] == [(NOTES, True)]
    assert after[0].documents[0].filename == "Alpha notes.pdf"
    detail = requests.get_request(any_ctx, alice, request_id)
    assert detail.request.status is Status.READY
    kinds = [event.kind for event in detail.timeline]
    assert kinds == ["created", "document_added", "documents_completed"]
    assert detail.timeline[1].data["document_id"] == upload.document.id


def test_a_document_of_kind_other_does_not_complete_the_checklist(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    upload = _upload(any_ctx, alice, request_id, kind="other")
    assert upload.request.status is Status.DRAFT
    assert not documents.checklist(any_ctx, alice, request_id)[0].attached


def test_a_download_returns_the_bytes_and_is_audited(any_ctx: Context, alice: Actor) -> None:
    request_id = _draft(any_ctx, alice)
    upload = _upload(any_ctx, alice, request_id)
    found = documents.download_document(any_ctx, alice, request_id, upload.document.id)
    assert found.data == PDF
    assert found.download_name == f"{upload.document.id}.pdf"
    actions = [event.action for event in events_about(any_ctx, "document", upload.document.id)]
    assert actions == ["create", "view"]


def test_the_file_on_disk_and_the_filename_column_are_ciphertext(
    ctx: Context,
) -> None:
    alice = _actor(ctx, "Clinic A")
    upload = _upload(ctx, alice, _draft(ctx, alice))
    [stored] = _stored_files(ctx)
    assert stored.name == upload.document.id
    assert stored.parent.name == alice.organization_id
    assert CANARY not in stored.read_bytes()
    assert b"Testpatient" not in stored.read_bytes()
    with ctx.uow() as uow:
        column = uow.session.scalar(select(DocumentRecord.filename))
    assert column is not None and column.startswith("v1.")
    assert "Alpha" not in column
    assert "Alpha" not in repr(upload.document)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ZIP, "file: upload a PDF, PNG, JPEG or TIFF; this file looks like a ZIP archive"),
        (
            b"hello, plain text",
            "file: upload a PDF, PNG, JPEG or TIFF; this file is none of those.",
        ),
        (b"", "file: the file is empty; upload a PDF, PNG, JPEG or TIFF."),
        (
            b"%PDF-" + b"\x00" * documents.MAX_BYTES,
            "file: the file is 20.0 MB; the limit is 20 MB. Split it or scan at a lower "
            "resolution.",
        ),
    ],
    ids=["zip", "text", "empty", "too-large"],
)
def test_a_refused_file_says_why_and_writes_nothing(
    ctx: Context, data: bytes, message: str
) -> None:
    alice = _actor(ctx, "Clinic A")
    request_id = _draft(ctx, alice)
    with pytest.raises(InvalidInput) as refused:
        _upload(ctx, alice, request_id, filename="notes.pdf", data=data)
    assert str(refused.value).startswith(message)
    assert refused.value.issues[0].location == "file"
    assert _stored_files(ctx) == []
    assert _rows(ctx) == 0


def test_a_pdf_name_with_png_bytes_is_stored_as_png(ctx: Context) -> None:
    alice = _actor(ctx, "Clinic A")
    upload = _upload(ctx, alice, _draft(ctx, alice), filename="scan.pdf", data=PNG)
    assert upload.document.media_type == "image/png"


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff\xe0" + b"\x00" * 8, b"II*\x00" + b"\x00" * 8, b"MM\x00*" + b"\x00" * 8],
    ids=["jpeg", "tiff-le", "tiff-be"],
)
def test_jpeg_and_tiff_are_accepted(ctx: Context, data: bytes) -> None:
    alice = _actor(ctx, "Clinic A")
    assert _upload(ctx, alice, _draft(ctx, alice), data=data).document.size == len(data)


def test_a_kind_not_on_the_checklist_is_refused_naming_the_items(ctx: Context) -> None:
    alice = _actor(ctx, "Clinic A")
    with pytest.raises(InvalidInput) as refused:
        _upload(ctx, alice, _draft(ctx, alice), kind="x-ray")
    assert str(refused.value) == (
        f'kind: \'x-ray\' is not on this request\'s checklist; use one of "{NOTES}"; "other".'
    )
    assert _stored_files(ctx) == [] and _rows(ctx) == 0


def test_another_organizations_request_and_document_are_not_found(
    any_ctx: Context, alice: Actor
) -> None:
    bob = _actor(any_ctx, "Clinic B")
    request_id = _draft(any_ctx, alice)
    upload = _upload(any_ctx, alice, request_id, kind="other")
    with pytest.raises(NotFound):
        _upload(any_ctx, bob, request_id)
    with pytest.raises(NotFound):
        documents.checklist(any_ctx, bob, request_id)
    with pytest.raises(NotFound) as hidden:
        documents.download_document(any_ctx, bob, request_id, upload.document.id)
    assert str(hidden.value).startswith(f"No document {upload.document.id} on request")
    assert len(_stored_files(any_ctx)) == 1


def test_a_viewer_cannot_upload(ctx: Context) -> None:
    alice = _actor(ctx, "Clinic A")
    viewer = Actor("viewer", alice.organization_id, "viewer@example.org", Role.VIEWER)
    request_id = _draft(ctx, alice)
    with pytest.raises(PermissionDenied) as refused:
        _upload(ctx, viewer, request_id)
    assert str(refused.value) == "viewers cannot upload documents; ask an admin or a specialist"
    assert _stored_files(ctx) == []


def test_the_file_is_removed_when_the_database_refuses_the_row(ctx: Context) -> None:
    alice = _actor(ctx, "Clinic A")
    request_id = _draft(ctx, alice)
    # A real database refusal after the file is written: a trigger that aborts the insert.
    with ctx.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_documents BEFORE INSERT ON documents "
                "BEGIN SELECT RAISE(ABORT, 'documents are refused'); END"
            )
        )
    with pytest.raises(IntegrityError):
        _upload(ctx, alice, request_id)
    assert _stored_files(ctx) == []
    assert requests.get_request(ctx, alice, request_id).request.status is Status.DRAFT


def test_deleting_a_needed_document_sends_a_ready_request_back_to_draft(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    upload = _upload(any_ctx, alice, request_id)
    assert upload.request.status is Status.READY

    changed = documents.delete_document(any_ctx, alice, request_id, upload.document.id, now=NOW)

    assert changed.status is Status.DRAFT
    assert _stored_files(any_ctx) == [] and _rows(any_ctx) == 0
    timeline = requests.get_request(any_ctx, alice, request_id).timeline
    assert [event.kind for event in timeline][-2:] == ["document_removed", "documents_incomplete"]
    assert timeline[-1].note == f"missing: {NOTES}"
    assert timeline[-1].data["missing"] == [NOTES]
    actions = [event.action for event in events_about(any_ctx, "document", upload.document.id)]
    assert actions == ["create", "delete"]
    with pytest.raises(NotFound):
        documents.download_document(any_ctx, alice, request_id, upload.document.id)


def test_deleting_a_spare_document_leaves_a_ready_request_ready(
    any_ctx: Context, alice: Actor
) -> None:
    request_id = _draft(any_ctx, alice)
    _upload(any_ctx, alice, request_id)
    spare = _upload(any_ctx, alice, request_id, filename="second copy.pdf")
    changed = documents.delete_document(any_ctx, alice, request_id, spare.document.id, now=NOW)
    assert changed.status is Status.READY
    kinds = [e.kind for e in requests.get_request(any_ctx, alice, request_id).timeline]
    assert kinds[-1] == "document_removed"
    assert len(_stored_files(any_ctx)) == 1


def test_a_request_made_ready_by_override_stays_ready_when_a_document_goes(
    ctx: Context,
) -> None:
    alice = _actor(ctx, "Clinic A")
    request_id = _draft(ctx, alice)
    other = _upload(ctx, alice, request_id, kind="other")
    requests.mark_ready(ctx, alice, request_id, override_reason="notes follow by mail", now=NOW)
    changed = documents.delete_document(ctx, alice, request_id, other.document.id, now=NOW)
    assert changed.status is Status.READY  # the checklist was never complete: the override stands


def test_a_viewer_or_another_organization_cannot_delete_a_document(
    ctx: Context,
) -> None:
    alice = _actor(ctx, "Clinic A")
    bob = _actor(ctx, "Clinic B")
    viewer = Actor("viewer", alice.organization_id, "viewer@example.org", Role.VIEWER)
    request_id = _draft(ctx, alice)
    upload = _upload(ctx, alice, request_id)
    with pytest.raises(PermissionDenied) as refused:
        documents.delete_document(ctx, viewer, request_id, upload.document.id)
    assert str(refused.value) == "viewers cannot delete documents; ask an admin or a specialist"
    with pytest.raises(NotFound):
        documents.delete_document(ctx, bob, request_id, upload.document.id)
    assert len(_stored_files(ctx)) == 1 and _rows(ctx) == 1


def test_bytes_encryption_round_trips_and_binds_its_context() -> None:
    cipher = FieldCipher({"k1": b"\x01" * 32, "k2": b"\x02" * 32}, "k2")
    sealed = cipher.encrypt_bytes(CANARY, context="documents:org:doc")
    assert sealed.startswith(b"PCB1\x02k2")
    assert CANARY not in sealed
    assert cipher.decrypt_bytes(sealed, context="documents:org:doc") == CANARY
    older = FieldCipher({"k1": b"\x01" * 32, "k2": b"\x02" * 32}, "k1")
    assert older.decrypt_bytes(sealed, context="documents:org:doc") == CANARY
    with pytest.raises(DecryptionFailed, match="failed its integrity check"):
        cipher.decrypt_bytes(sealed, context="documents:org:other")
    with pytest.raises(DecryptionFailed, match="does not start with the PCB1 header"):
        cipher.decrypt_bytes(b"%PDF-1.7", context="documents:org:doc")
