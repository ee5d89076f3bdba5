"""Portal runs at rest: the `portal_runs` table and its repository.

A portal run is one submit or status task on a payer portal (services/portal_runs.py). The row is
its whole record: who asked, when it may start, which worker claimed it, the steps so far (JSON),
the names of its encrypted screenshots and traces, the question it is waiting on and the answer's
who/what/when. Two columns are FieldCipher ciphertext bound to the run: `answer_text` (what a
person typed for the portal, cleared once the run took it) and `values` (what the run read off
the portal). Nothing else here holds PHI: the messages are precert's own.

Claiming is one conditional UPDATE (status queued and due -> running): on PostgreSQL the row lock
makes a concurrent UPDATE re-check the condition, on SQLite writes are serialised, so two
consumers never both run one run.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base

TABLE = "portal_runs"
QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting_for_person"
ACTIVE = (QUEUED, RUNNING, WAITING)


def new_run_id() -> str:
    return uuid.uuid4().hex


class PortalRunRecord(Base):
    """One portal run; `answer_text` and `values` are ciphertext (see the module docstring)."""

    __tablename__ = TABLE

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False, index=True
    )
    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("authorization_requests.id"), nullable=False, index=True
    )
    purpose: Mapped[str] = mapped_column(String(10), nullable=False)
    sop: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    actor_email: Mapped[str] = mapped_column(String(320), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    # Last write by the run (a step, an artifact, a lease renewal): its heartbeat.
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    steps: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    screenshots: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    traces: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    # none_as_null: None is SQL NULL (not the JSON text null), so "no answer yet" is IS NULL.
    question: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    answer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    values: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:  # the default repr would print the ciphertext
        return f"PortalRunRecord(id={self.id!r}, status={self.status!r})"


class PortalRunRepository:
    """Tenant-scoped runs (claiming and the due list are not: a worker serves every tenant).
    Repositories never commit; the unit of work does."""

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session = session
        self._cipher = cipher

    def add(self, record: PortalRunRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def get(self, organization_id: str, run_id: str) -> PortalRunRecord | None:
        record = self.session.get(PortalRunRecord, run_id, populate_existing=True)
        if record is None or record.organization_id != organization_id:
            return None
        return record

    def get_any(self, run_id: str) -> PortalRunRecord | None:
        """For the worker, which learns only the run id."""
        return self.session.get(PortalRunRecord, run_id, populate_existing=True)

    def for_request(self, organization_id: str, request_id: str) -> list[PortalRunRecord]:
        query = (
            select(PortalRunRecord)
            .where(
                PortalRunRecord.organization_id == organization_id,
                PortalRunRecord.request_id == request_id,
            )
            .order_by(PortalRunRecord.created_at.desc(), PortalRunRecord.id.desc())
        )
        return list(self.session.scalars(query))

    def waiting_for(self, organization_id: str, request_ids: list[str]) -> dict[str, str]:
        """request id -> id of its run waiting for a person, in one query (newest wins)."""
        query = (
            select(PortalRunRecord.request_id, PortalRunRecord.id)
            .where(
                PortalRunRecord.organization_id == organization_id,
                PortalRunRecord.request_id.in_(request_ids),
                PortalRunRecord.status == WAITING,
            )
            .order_by(PortalRunRecord.created_at)
        )
        return {request_id: run_id for request_id, run_id in self.session.execute(query)}

    def active(self, organization_id: str, request_id: str, purpose: str) -> PortalRunRecord | None:
        query = (
            select(PortalRunRecord)
            .where(
                PortalRunRecord.organization_id == organization_id,
                PortalRunRecord.request_id == request_id,
                PortalRunRecord.purpose == purpose,
                PortalRunRecord.status.in_(ACTIVE),
            )
            .order_by(PortalRunRecord.created_at)
        )
        return self.session.scalars(query).first()

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        query = (
            select(PortalRunRecord.id)
            .where(PortalRunRecord.status == QUEUED, PortalRunRecord.not_before <= now)
            .order_by(PortalRunRecord.not_before, PortalRunRecord.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def running_since(self, before: dt.datetime) -> list[PortalRunRecord]:
        """Runs running or waiting whose last write is older than `before`."""
        query = (
            select(PortalRunRecord)
            .where(
                PortalRunRecord.status.in_((RUNNING, WAITING)),
                PortalRunRecord.updated_at < before,
            )
            .order_by(PortalRunRecord.updated_at)
        )
        return list(self.session.scalars(query))

    # -- state changes in one statement -----------------------------------------------------------

    def claim(self, run_id: str, *, now: dt.datetime, worker: str) -> bool:
        """queued and due -> running, for exactly one caller."""
        run = PortalRunRecord
        statement = (
            update(run)
            .where(run.id == run_id, run.status == QUEUED, run.not_before <= now)
            .values(
                status=RUNNING,
                started_at=now,
                updated_at=now,
                worker=worker,
                attempts=run.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def change(self, run_id: str, **values: Any) -> None:
        """Set columns of one run with an UPDATE naming only them (the run's thread and a person
        answering write the same row at once; neither may overwrite the other's columns)."""
        statement = (
            update(PortalRunRecord)
            .where(PortalRunRecord.id == run_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(statement)

    def answer_if_waiting(
        self, run_id: str, answer: dict[str, Any], text: str | None, organization_id: str
    ) -> bool:
        """Store a person's answer unless the run stopped waiting or was answered already."""
        run = PortalRunRecord
        statement = (
            update(run)
            .where(run.id == run_id, run.status == WAITING, run.answer.is_(None))
            .values(answer=answer, answer_text=self._seal_text(organization_id, run_id, text))
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    # -- encryption -------------------------------------------------------------------------------

    def answer_text(self, record: PortalRunRecord) -> str:
        if record.answer_text is None:
            return ""
        context = _context("answer_text", record.organization_id, record.id)
        return self._cipher.decrypt(record.answer_text, context=context)

    def sealed_values(self, organization_id: str, run_id: str, values: dict[str, Any]) -> str:
        context = _context("values", organization_id, run_id)
        return self._cipher.encrypt(json.dumps(values, sort_keys=True), context=context)

    def values(self, record: PortalRunRecord) -> dict[str, Any]:
        if record.values is None:
            return {}
        context = _context("values", record.organization_id, record.id)
        found = json.loads(self._cipher.decrypt(record.values, context=context))
        return found if isinstance(found, dict) else {}

    def _seal_text(self, organization_id: str, run_id: str, text: str | None) -> str | None:
        if not text:
            return None
        context = _context("answer_text", organization_id, run_id)
        return self._cipher.encrypt(text, context=context)


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def _context(name: str, organization_id: str, run_id: str) -> str:
    return f"{TABLE}.{name}:{organization_id}:{run_id}"
