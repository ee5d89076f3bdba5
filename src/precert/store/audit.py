"""The audit trail: who viewed or changed what, when and why. Rows are only ever added.

Entries name things by id (request id, user email), never by PHI, so the trail itself can be
shown to an auditor without exposing a patient.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.store.db import UtcDateTime
from precert.store.models import Base


class AuditEventRecord(Base):
    """One audit event; `actor` is a user's email or "system"."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_at", "organization_id", "at"),
        Index("ix_audit_events_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor: Mapped[str] = mapped_column(String(320), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: AuditEventRecord) -> None:
        self.session.add(record)

    def for_organization(self, organization_id: str, *, limit: int = 100) -> list[AuditEventRecord]:
        """The newest events of one organization first."""
        query = (
            select(AuditEventRecord)
            .where(AuditEventRecord.organization_id == organization_id)
            .order_by(AuditEventRecord.at.desc(), AuditEventRecord.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def for_entity(self, entity: str, entity_id: str) -> list[AuditEventRecord]:
        """Every event about one thing, oldest first (its history as an auditor reads it)."""
        query = (
            select(AuditEventRecord)
            .where(AuditEventRecord.entity == entity, AuditEventRecord.entity_id == entity_id)
            .order_by(AuditEventRecord.at, AuditEventRecord.id)
        )
        return list(self.session.scalars(query))
