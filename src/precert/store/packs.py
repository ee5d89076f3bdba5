"""Repository for imported payer packs. Repositories never commit; the unit of work does."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from precert.store.models import PayerPackRecord


class PayerPackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: PayerPackRecord) -> None:
        """Store `record` as the pack in force for its payer; earlier imports stay as history."""
        self.session.execute(
            update(PayerPackRecord)
            .where(PayerPackRecord.payer_id == record.payer_id, PayerPackRecord.active.is_(True))
            .values(active=False)
        )
        record.active = True
        self.session.add(record)

    def active(self) -> list[PayerPackRecord]:
        query = select(PayerPackRecord).where(PayerPackRecord.active.is_(True))
        return list(self.session.scalars(query.order_by(PayerPackRecord.payer_id)))

    def active_for(self, payer_id: str) -> PayerPackRecord | None:
        query = select(PayerPackRecord).where(
            PayerPackRecord.payer_id == payer_id, PayerPackRecord.active.is_(True)
        )
        return self.session.scalars(query).first()

    def history(self, payer_id: str) -> list[PayerPackRecord]:
        query = select(PayerPackRecord).where(PayerPackRecord.payer_id == payer_id)
        return list(self.session.scalars(query.order_by(PayerPackRecord.id.desc())))
