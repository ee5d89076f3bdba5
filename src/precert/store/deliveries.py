"""The notification delivery log: the `notification_deliveries` table and its repository.

One row per notice per outlet (a Slack channel, a webhook subscriber, the email recipients). The
row is written before anything is sent (an outbox), keeps the same id for every attempt, and says
when the next attempt is due; the notice it holds carries no PHI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.errors import NotFound
from precert.store.db import UtcDateTime
from precert.store.models import Base

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice to one outlet, and how its delivery went so far."""

    id: str
    organization_id: str
    channel: str
    target: str
    event: str
    request_id: str | None
    dedupe_key: str | None
    notice: dict[str, Any] = field(repr=False)
    created_at: dt.datetime
    status: str = PENDING
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = None
    finished_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None


class DeliveryRecord(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_deliveries_org_created", "organization_id", "created_at"),
        Index("ix_deliveries_next_attempt", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    target: Mapped[str] = mapped_column(String(200), nullable=False)
    event: Mapped[str] = mapped_column(String(60), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    notice: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"DeliveryRecord(id={self.id!r}, channel={self.channel!r}, status={self.status!r})"


class DeliveryRepository:
    """The delivery log. Deliveries are sent by a system job, so look-ups by id are not scoped to
    an organization; listings are. Repositories never commit; the unit of work does."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def has_key(self, dedupe_key: str) -> bool:
        query = select(DeliveryRecord.id).where(DeliveryRecord.dedupe_key == dedupe_key)
        return self.session.scalars(query).first() is not None

    def add(self, delivery: Delivery) -> None:
        self.session.add(
            DeliveryRecord(
                id=delivery.id,
                organization_id=delivery.organization_id,
                channel=delivery.channel,
                target=delivery.target,
                event=delivery.event,
                request_id=delivery.request_id,
                dedupe_key=delivery.dedupe_key,
                status=delivery.status,
                attempts=delivery.attempts,
                response_status=delivery.response_status,
                last_error=delivery.last_error,
                created_at=delivery.created_at,
                finished_at=delivery.finished_at,
                notice=dict(delivery.notice),
                next_attempt_at=delivery.next_attempt_at,
            )
        )

    def get(self, delivery_id: str) -> Delivery:
        record = self.session.get(DeliveryRecord, delivery_id)
        if record is None:
            raise NotFound(f"No notification delivery {delivery_id}; check the id.")
        return _to_domain(record)

    def record_attempt(
        self,
        delivery_id: str,
        *,
        status: str,
        response_status: int | None,
        error: str | None,
        next_attempt_at: dt.datetime | None,
        finished_at: dt.datetime | None,
    ) -> Delivery:
        """Count one attempt and what came of it."""
        record = self.session.get(DeliveryRecord, delivery_id)
        if record is None:
            raise NotFound(f"No notification delivery {delivery_id}; check the id.")
        record.attempts += 1
        record.status = status
        record.response_status = response_status
        record.last_error = error
        record.next_attempt_at = next_attempt_at
        record.finished_at = finished_at
        return _to_domain(record)

    def due(self, now: dt.datetime, limit: int = 500) -> list[str]:
        """Ids of pending deliveries whose next attempt has come, oldest first (for the sweep)."""
        table = DeliveryRecord
        query = (
            select(table.id)
            .where(table.next_attempt_at.is_not(None), table.next_attempt_at <= now)
            .order_by(table.next_attempt_at, table.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def of_organization(
        self, organization_id: str, *, request_id: str | None = None, limit: int = 200
    ) -> list[Delivery]:
        """The organization's deliveries, oldest first (optionally of one request)."""
        table = DeliveryRecord
        query = select(table).where(table.organization_id == organization_id)
        if request_id is not None:
            query = query.where(table.request_id == request_id)
        rows = self.session.scalars(query.order_by(table.created_at, table.id).limit(limit))
        return [_to_domain(row) for row in rows]


def _to_domain(record: DeliveryRecord) -> Delivery:
    return Delivery(
        id=record.id,
        organization_id=record.organization_id,
        channel=record.channel,
        target=record.target,
        event=record.event,
        request_id=record.request_id,
        dedupe_key=record.dedupe_key,
        notice=dict(record.notice),
        created_at=record.created_at,
        status=record.status,
        attempts=record.attempts,
        response_status=record.response_status,
        last_error=record.last_error,
        finished_at=record.finished_at,
        next_attempt_at=record.next_attempt_at,
    )
