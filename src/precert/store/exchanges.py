"""Electronic exchanges with payers: the `payer_exchanges` and `payer_subscriptions` tables.

An exchange is one electronic submission (X12 278 or PAS $submit) that the payer has not decided
yet: which channel, our reference (278 trace, PAS Claim identifier), the payer's, the receipt, and
when to ask again (`next_check_at`, which the sweep reads). It is settled when the decision lands.
A subscription is the rest-hook Subscription precert holds at a payer for one organization, so a
pended PAS decision is pushed back instead of waited for. Neither holds PHI: ids and references.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.errors import NotFound
from precert.store.db import UtcDateTime
from precert.store.models import Base

AWAITING = "awaiting"
SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One electronic submission and where its decision stands."""

    key: str  # the submission's idempotency key: "<request id>-<attempt>"
    organization_id: str
    request_id: str
    channel: str
    payer_id: str
    reference: str
    submitted_at: dt.datetime
    receipt: dict[str, Any] = field(repr=False)
    status: str = AWAITING
    payer_reference: str = ""
    checks: int = 0
    last_checked_at: dt.datetime | None = None
    next_check_at: dt.datetime | None = None


class ExchangeRecord(Base):
    __tablename__ = "payer_exchanges"
    __table_args__ = (
        Index("ix_exchanges_next_check", "next_check_at"),
        Index("ix_exchanges_request", "organization_id", "request_id"),
    )

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("authorization_requests.id"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    reference: Mapped[str] = mapped_column(String(80), nullable=False)
    payer_reference: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    checks: Mapped[int] = mapped_column(Integer, nullable=False)
    last_checked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_check_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    def __repr__(self) -> str:
        return f"ExchangeRecord(key={self.key!r}, channel={self.channel!r}, status={self.status!r})"


class SubscriptionRecord(Base):
    __tablename__ = "payer_subscriptions"
    __table_args__ = (
        UniqueConstraint("organization_id", "payer_id", name="uq_subscription_payer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    subscription_id: Mapped[str] = mapped_column(String(200), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class ExchangeRepository:
    """Exchanges and subscriptions. The sweep reads due exchanges across organizations (a system
    job); everything else is scoped by organization. Repositories never commit; the unit of work
    does."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, exchange: Exchange) -> None:
        """Record a submission; a repeat of the same key (a replayed submit) changes nothing."""
        if self.session.get(ExchangeRecord, exchange.key) is not None:
            return
        self.session.add(
            ExchangeRecord(
                key=exchange.key,
                organization_id=exchange.organization_id,
                request_id=exchange.request_id,
                channel=exchange.channel,
                payer_id=exchange.payer_id,
                reference=exchange.reference[:80],
                payer_reference=exchange.payer_reference[:80],
                status=exchange.status,
                submitted_at=exchange.submitted_at,
                checks=exchange.checks,
                last_checked_at=exchange.last_checked_at,
                next_check_at=exchange.next_check_at,
                receipt=exchange.receipt,
            )
        )
        self.session.flush()

    def awaiting(self, organization_id: str, request_id: str) -> Exchange | None:
        """The request's newest exchange still waiting for a decision."""
        table = ExchangeRecord
        found = self.session.scalars(
            select(table)
            .where(
                table.organization_id == organization_id,
                table.request_id == request_id,
                table.status == AWAITING,
            )
            .order_by(table.submitted_at.desc(), table.key.desc())
            .limit(1)
        ).first()
        return _exchange(found) if found is not None else None

    def latest(self, organization_id: str, request_id: str) -> Exchange | None:
        """The request's newest electronic submission, awaiting or settled."""
        found = self.of_request(organization_id, request_id)
        return found[-1] if found else None

    def of_request(self, organization_id: str, request_id: str) -> list[Exchange]:
        table = ExchangeRecord
        rows = self.session.scalars(
            select(table)
            .where(table.organization_id == organization_id, table.request_id == request_id)
            .order_by(table.submitted_at, table.key)
        )
        return [_exchange(row) for row in rows]

    def due(self, now: dt.datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(organization id, request id) of exchanges whose next check has come, soonest first."""
        table = ExchangeRecord
        rows = self.session.execute(
            select(table.organization_id, table.request_id)
            .where(
                table.status == AWAITING,
                table.next_check_at.is_not(None),
                table.next_check_at <= now,
            )
            .order_by(table.next_check_at, table.key)
            .limit(limit)
        )
        return [(org, request_id) for org, request_id in rows]

    def checked(
        self,
        key: str,
        *,
        at: dt.datetime,
        next_check_at: dt.datetime | None,
        payer_reference: str = "",
    ) -> None:
        record = self._record(key)
        record.checks += 1
        record.last_checked_at = at
        record.next_check_at = next_check_at
        if payer_reference:
            record.payer_reference = payer_reference[:80]

    def settle(self, organization_id: str, request_id: str, *, at: dt.datetime) -> None:
        """Every awaiting exchange of the request is over: the decision has landed."""
        table = ExchangeRecord
        rows = self.session.scalars(
            select(table).where(
                table.organization_id == organization_id,
                table.request_id == request_id,
                table.status == AWAITING,
            )
        )
        for record in rows:
            record.status = SETTLED
            record.next_check_at = None
            record.last_checked_at = record.last_checked_at or at

    def subscription(self, organization_id: str, payer_id: str) -> str | None:
        table = SubscriptionRecord
        return self.session.scalars(
            select(table.subscription_id).where(
                table.organization_id == organization_id, table.payer_id == payer_id
            )
        ).first()

    def add_subscription(
        self,
        organization_id: str,
        payer_id: str,
        subscription_id: str,
        endpoint: str,
        at: dt.datetime,
    ) -> None:
        self.session.add(
            SubscriptionRecord(
                organization_id=organization_id,
                payer_id=payer_id,
                subscription_id=subscription_id[:200],
                endpoint=endpoint[:500],
                created_at=at,
            )
        )
        self.session.flush()

    def _record(self, key: str) -> ExchangeRecord:
        record = self.session.get(ExchangeRecord, key)
        if record is None:
            raise NotFound("No electronic submission with that key.")
        return record


def _exchange(record: ExchangeRecord) -> Exchange:
    return Exchange(
        key=record.key,
        organization_id=record.organization_id,
        request_id=record.request_id,
        channel=record.channel,
        payer_id=record.payer_id,
        reference=record.reference,
        submitted_at=record.submitted_at,
        receipt=dict(record.receipt),
        status=record.status,
        payer_reference=record.payer_reference,
        checks=record.checks,
        last_checked_at=record.last_checked_at,
        next_check_at=record.next_check_at,
    )
