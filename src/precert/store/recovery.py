"""Recovery work at rest: each imported 835 file (`remittance_files`) and the recovery items its
authorization denials became (`recovery_items`), with their repository.

No PHI is stored here: no member ids or names, only claim identifiers, codes, amounts and the
evidence (authorization number, request id, timeline kinds and dates, document ids and kinds).
Amounts are exact decimal strings (portable and never floats). Every method takes the
organization id and filters by it. Repositories never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.errors import Issue, NotFound
from precert.store.db import UtcDateTime
from precert.store.models import Base

FILES_TABLE = "remittance_files"
ITEMS_TABLE = "recovery_items"


@dataclass(frozen=True, slots=True)
class RemittanceFile:
    """One imported 835 file: who paid, how much, and what it held (counts, exact totals)."""

    id: str
    organization_id: str
    sha256: str
    received_at: dt.datetime
    payer_id: str  # the payer pack's id when the 835's payer is known, else its X12 id
    payer_name: str
    x12_payer_id: str
    payment_date: dt.date | None
    claims: int
    denied: int
    authorization_related: int
    items: int
    charged: Decimal
    paid: Decimal


@dataclass(frozen=True, slots=True)
class RecoveryItem:
    """One authorization denial to recover: what to do (`action`), by when, and why."""

    id: str
    organization_id: str
    file_id: str
    payer_id: str
    claim_id: str
    payer_claim_number: str
    line_number: int | None  # the remittance line (1-based); None for a claim-level denial
    cause: str
    action: str  # corrected_claim | retro_authorization | appeal | review
    amount: Decimal  # what the payer did not pay
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]
    deadline: dt.date | None
    status: str  # open | done | dismissed
    created_at: dt.datetime
    code: str = ""
    service_date: dt.date | None = None
    authorization_number: str | None = None
    request_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    updated_at: dt.datetime | None = None


class RemittanceFileRecord(Base):
    __tablename__ = FILES_TABLE
    __table_args__ = (
        # The same file imported again is recognised by its content, per organization.
        UniqueConstraint("organization_id", "sha256", name="uq_remittance_files_sha"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    payer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    x12_payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    payment_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    claims: Mapped[int] = mapped_column(Integer, nullable=False)
    denied: Mapped[int] = mapped_column(Integer, nullable=False)
    authorization_related: Mapped[int] = mapped_column(Integer, nullable=False)
    items: Mapped[int] = mapped_column(Integer, nullable=False)
    charged: Mapped[str] = mapped_column(String(32), nullable=False)
    paid: Mapped[str] = mapped_column(String(32), nullable=False)


class RecoveryItemRecord(Base):
    __tablename__ = ITEMS_TABLE
    __table_args__ = (
        Index("ix_recovery_items_org_status_deadline", "organization_id", "status", "deadline"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    file_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("remittance_files.id"), nullable=False
    )
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    claim_id: Mapped[str] = mapped_column(String(80), nullable=False)
    payer_claim_number: Mapped[str] = mapped_column(String(80), nullable=False)
    line_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code: Mapped[str] = mapped_column(String(16), nullable=False)
    service_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    cause: Mapped[str] = mapped_column(String(40), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[str] = mapped_column(String(32), nullable=False)
    carcs: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    rarcs: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    authorization_number: Mapped[str | None] = mapped_column(String(80), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RecoveryRepository:
    """Tenant-scoped remittance files and recovery items."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def file_by_sha(self, organization_id: str, sha256: str) -> RemittanceFile | None:
        query = select(RemittanceFileRecord).where(
            RemittanceFileRecord.organization_id == organization_id,
            RemittanceFileRecord.sha256 == sha256,
        )
        found = self.session.scalars(query).first()
        return None if found is None else _file(found)

    def add_file(self, remittance_file: RemittanceFile) -> None:
        values = {name: getattr(remittance_file, name) for name in _FILE_COLUMNS}
        values["charged"] = str(remittance_file.charged)
        values["paid"] = str(remittance_file.paid)
        self.session.add(RemittanceFileRecord(**values))
        self.session.flush()  # the items refer to it

    def add_items(self, items: Sequence[RecoveryItem]) -> None:
        for item in items:
            values = {name: getattr(item, name) for name in _ITEM_COLUMNS}
            values.update(
                amount=str(item.amount),
                carcs=list(item.carcs),
                rarcs=list(item.rarcs),
                authorization_number=item.authorization_number or None,
            )
            self.session.add(RecoveryItemRecord(**values))

    def items(
        self,
        organization_id: str,
        *,
        status: str | None = None,
        file_id: str | None = None,
    ) -> list[RecoveryItem]:
        """Items soonest deadline first (none last), then in file order."""
        query = select(RecoveryItemRecord).where(
            RecoveryItemRecord.organization_id == organization_id
        )
        if status is not None:
            query = query.where(RecoveryItemRecord.status == status)
        if file_id is not None:
            query = query.where(RecoveryItemRecord.file_id == file_id)
        rows = [_item(row) for row in self.session.scalars(query)]
        far = dt.date.max
        return sorted(rows, key=lambda i: (i.deadline or far, i.created_at, i.claim_id, i.id))

    def get(self, organization_id: str, item_id: str) -> RecoveryItem:
        return _item(self._record(organization_id, item_id))

    def set_status(
        self, organization_id: str, item_id: str, status: str, note: str, at: dt.datetime
    ) -> RecoveryItem:
        record = self._record(organization_id, item_id)
        record.status = status
        record.note = note
        record.updated_at = at
        self.session.flush()
        return _item(record)

    def files(self, organization_id: str) -> list[RemittanceFile]:
        query = (
            select(RemittanceFileRecord)
            .where(RemittanceFileRecord.organization_id == organization_id)
            .order_by(RemittanceFileRecord.received_at)
        )
        return [_file(row) for row in self.session.scalars(query)]

    def amounts(self, organization_id: str) -> list[tuple[str, str, str, str, Decimal]]:
        """(status, action, cause, payer id, amount) of every item: the dashboard's sums."""
        r = RecoveryItemRecord
        query = select(r.status, r.action, r.cause, r.payer_id, r.amount).where(
            r.organization_id == organization_id
        )
        return [(s, a, c, p, Decimal(m)) for s, a, c, p, m in self.session.execute(query)]

    def _record(self, organization_id: str, item_id: str) -> RecoveryItemRecord:
        record = self.session.get(RecoveryItemRecord, item_id)
        if record is None or record.organization_id != organization_id:
            message = f"No recovery item {item_id!r} in this organization; check the id."
            raise NotFound(message, [Issue("not-found", message, "id")])
        return record


_FILE_COLUMNS = (
    "id",
    "organization_id",
    "sha256",
    "received_at",
    "payer_id",
    "payer_name",
    "x12_payer_id",
    "payment_date",
    "claims",
    "denied",
    "authorization_related",
    "items",
)
_ITEM_COLUMNS = (
    "id",
    "organization_id",
    "file_id",
    "payer_id",
    "claim_id",
    "payer_claim_number",
    "line_number",
    "code",
    "service_date",
    "cause",
    "action",
    "deadline",
    "status",
    "request_id",
    "evidence",
    "note",
    "created_at",
    "updated_at",
)


def _file(row: RemittanceFileRecord) -> RemittanceFile:
    return RemittanceFile(
        **{name: getattr(row, name) for name in _FILE_COLUMNS},
        charged=Decimal(row.charged),
        paid=Decimal(row.paid),
    )


def _item(row: RecoveryItemRecord) -> RecoveryItem:
    return RecoveryItem(
        **{name: getattr(row, name) for name in _ITEM_COLUMNS},
        amount=Decimal(row.amount),
        carcs=tuple(row.carcs),
        rarcs=tuple(row.rarcs),
        authorization_number=row.authorization_number,
    )
