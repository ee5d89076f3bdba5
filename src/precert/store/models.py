"""Tables, as SQLAlchemy 2 models with portable types only (they run on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from precert.store.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class PayerPackRecord(Base):
    """A payer pack imported by this installation; the newest active one per payer is in force."""

    __tablename__ = "payer_packs"
    __table_args__ = (Index("ix_payer_packs_payer_active", "payer_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    version: Mapped[str] = mapped_column(String(80), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    rule_count: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
