"""Documents at rest: the `documents` table and its tenant-scoped repository.

Rows hold metadata only; the bytes live encrypted in a file (see services.documents). The original
filename may contain a patient name, so it is ciphertext (context "documents.filename:<org id>").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.errors import NotFound
from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base

DOCUMENTS_TABLE = "documents"


@dataclass(frozen=True, slots=True)
class Document:
    """One uploaded document's metadata; `kind` is the checklist item it answers."""

    id: str
    organization_id: str
    request_id: str
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime

    def __repr__(self) -> str:  # never the filename: it may name the patient
        return f"Document(id={self.id!r}, kind={self.kind!r}, media_type={self.media_type!r})"


class DocumentRecord(Base):
    __tablename__ = DOCUMENTS_TABLE

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False, index=True
    )
    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("authorization_requests.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    filename: Mapped[str] = mapped_column(Text, nullable=False)  # ciphertext
    media_type: Mapped[str] = mapped_column(String(40), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(255), nullable=False)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    def __repr__(self) -> str:
        return f"DocumentRecord(id={self.id!r}, kind={self.kind!r})"


class DocumentRepository:
    """Tenant-scoped access to document rows. Repositories never commit; the unit of work does."""

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session = session
        self._cipher = cipher

    def add(self, document: Document) -> None:
        sealed = self._cipher.encrypt(document.filename, context=_context(document.organization_id))
        self.session.add(
            DocumentRecord(
                id=document.id,
                organization_id=document.organization_id,
                request_id=document.request_id,
                kind=document.kind,
                filename=sealed,
                media_type=document.media_type,
                size=document.size,
                sha256=document.sha256,
                uploaded_by=document.uploaded_by,
                uploaded_at=document.uploaded_at,
            )
        )

    def get(self, organization_id: str, request_id: str, document_id: str) -> Document:
        record = self.session.scalars(
            select(DocumentRecord).where(
                DocumentRecord.id == document_id,
                DocumentRecord.request_id == request_id,
                DocumentRecord.organization_id == organization_id,
            )
        ).first()
        if record is None:
            # The same answer whether it does not exist or belongs to another organization.
            raise NotFound(
                f"No document {document_id} on request {request_id} in your organization; "
                "check the ids."
            )
        return self._to_domain(record)

    def remove(self, document: Document) -> None:
        """Delete one document's row (found through `get`, so it is this organization's)."""
        record = self.session.get(DocumentRecord, document.id)
        if record is not None and record.organization_id == document.organization_id:
            self.session.delete(record)

    def of_request(self, organization_id: str, request_id: str) -> list[Document]:
        query = select(DocumentRecord).where(
            DocumentRecord.organization_id == organization_id,
            DocumentRecord.request_id == request_id,
        )
        rows = self.session.scalars(query.order_by(DocumentRecord.uploaded_at, DocumentRecord.id))
        return [self._to_domain(row) for row in rows]

    def _to_domain(self, record: DocumentRecord) -> Document:
        return Document(
            id=record.id,
            organization_id=record.organization_id,
            request_id=record.request_id,
            kind=record.kind,
            filename=self._cipher.decrypt(
                record.filename, context=_context(record.organization_id)
            ),
            media_type=record.media_type,
            size=record.size,
            sha256=record.sha256,
            uploaded_by=record.uploaded_by,
            uploaded_at=record.uploaded_at,
        )


def _context(organization_id: str) -> str:
    return f"{DOCUMENTS_TABLE}.filename:{organization_id}"
