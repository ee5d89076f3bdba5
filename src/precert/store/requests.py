"""Authorization requests at rest: tables, and the tenant-scoped repository that maps them.

The repository is the one place that knows which columns hold PHI: it encrypts patient and
coverage fields on the way in (context "<table>.<column>:<organization id>") and decrypts them on
the way out, and it stores a blind index of the member id for exact search. Every method takes the
organization id and filters by it, so another organization's request is simply NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Status,
    TimelineEvent,
    Urgency,
)
from precert.errors import NotFound
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base

REQUESTS_TABLE = "authorization_requests"
# The encrypted columns; the context binds each value to its column and organization.
PHI_COLUMNS = (
    "patient_first_name",
    "patient_last_name",
    "patient_birth_date",
    "member_id",
    "group_number",
)


class AuthorizationRequestRecord(Base):
    """One authorization request; PHI columns hold ciphertext, never plain text."""

    __tablename__ = REQUESTS_TABLE
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key", name="uq_requests_idempotency"),
        Index("ix_requests_org_status", "organization_id", "status"),
        Index("ix_requests_org_service_date", "organization_id", "service_date"),
        Index("ix_requests_org_assignee", "organization_id", "assignee_id"),
        # The work queue's indexes (store/queue.py, migration 0005).
        Index(
            "ix_requests_attention",
            "organization_id",
            "status",
            postgresql_include=[
                "urgency",
                "service_date",
                "next_action_at",
                "payer_id",
                "assignee_id",
                "id",
            ],
            postgresql_where=text("needs_attention IS NOT NULL"),
            sqlite_where=text("needs_attention IS NOT NULL"),
        ),
        Index(
            "ix_requests_due",
            "organization_id",
            "next_action_at",
            postgresql_include=[
                "status",
                "urgency",
                "service_date",
                "needs_attention",
                "payer_id",
                "assignee_id",
                "id",
            ],
        ),
        Index(
            "ix_requests_urgency_order",
            "organization_id",
            "urgency",
            "service_date",
            "next_action_at",
            "id",
            postgresql_include=["status", "needs_attention", "payer_id", "assignee_id"],
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    plan: Mapped[str] = mapped_column(String(80), nullable=False)
    state: Mapped[str | None] = mapped_column(String(2), nullable=True)
    retro: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    needs_attention: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("users.id"), nullable=True
    )
    ordering_npi: Mapped[str] = mapped_column(String(10), nullable=False)
    rendering_npi: Mapped[str] = mapped_column(String(10), nullable=False)
    facility_npi: Mapped[str | None] = mapped_column(String(10), nullable=True)
    patient_first_name: Mapped[str] = mapped_column(Text, nullable=False)
    patient_last_name: Mapped[str] = mapped_column(Text, nullable=False)
    patient_birth_date: Mapped[str] = mapped_column(Text, nullable=False)
    member_id: Mapped[str] = mapped_column(Text, nullable=False)
    group_number: Mapped[str | None] = mapped_column(Text, nullable=True)
    member_id_index: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    requirement: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    awaiting_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    info_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_action_at: Mapped[dt.datetime | None] = mapped_column(
        UtcDateTime, nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The earliest from-date of the lines: the queue sorts and filters by it (migration 0005).
    service_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    def __repr__(self) -> str:  # never the PHI columns, even encrypted
        return f"AuthorizationRequestRecord(id={self.id!r}, status={self.status!r})"


class ServiceLineRecord(Base):
    __tablename__ = "service_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey(f"{REQUESTS_TABLE}.id"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False)
    units: Mapped[int] = mapped_column(Integer, nullable=False)
    pos: Mapped[str] = mapped_column(String(2), nullable=False, default="")
    diagnoses: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    from_date: Mapped[dt.date] = mapped_column(nullable=False)
    to_date: Mapped[dt.date] = mapped_column(nullable=False)


class TimelineEventRecord(Base):
    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey(f"{REQUESTS_TABLE}.id"), nullable=False, index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str] = mapped_column(String(32), nullable=False)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class RequestRepository:
    """Tenant-scoped access to requests. Repositories never commit; the unit of work does."""

    def __init__(self, session: Session, cipher: FieldCipher, index: BlindIndex) -> None:
        self.session = session
        self._cipher = cipher
        self._index = index

    def add(
        self,
        request: AuthorizationRequest,
        *,
        state: str | None = None,
        next_action_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Store a new request; `state` is the one its requirement was checked for."""
        record = AuthorizationRequestRecord(
            id=request.id,
            organization_id=request.organization_id,
            payer_id=request.coverage.payer_id,
            plan=request.coverage.plan,
            state=state,
            ordering_npi=request.ordering_npi,
            rendering_npi=request.rendering_npi,
            facility_npi=request.facility_npi,
            member_id_index=self._index.member_id(
                request.coverage.member_id, organization_id=request.organization_id
            ),
            requirement=[dict(answer) for answer in request.requirement],
            created_at=request.created_at,
            idempotency_key=idempotency_key,
        )
        self._seal(record, request)
        _copy_changes(record, request, next_action_at)
        self.session.add(record)
        self.session.flush()  # the lines' foreign key needs the request row first
        for position, line in enumerate(request.lines):
            self.session.add(_line_record(request.id, position, line))

    def save(self, request: AuthorizationRequest, *, next_action_at: dt.datetime | None) -> None:
        """Write the mutable fields of a request loaded from this organization."""
        record = self._record(request.organization_id, request.id)
        _copy_changes(record, request, next_action_at)

    def get(self, organization_id: str, request_id: str) -> AuthorizationRequest:
        record = self._record(organization_id, request_id)
        return self._to_domain(record, self._lines(record.id))

    def by_idempotency_key(self, organization_id: str, key: str) -> AuthorizationRequest | None:
        record = self.session.scalars(
            select(AuthorizationRequestRecord).where(
                AuthorizationRequestRecord.organization_id == organization_id,
                AuthorizationRequestRecord.idempotency_key == key,
            )
        ).first()
        return None if record is None else self._to_domain(record, self._lines(record.id))

    def search(
        self,
        organization_id: str,
        *,
        status: Status | None = None,
        payer_id: str | None = None,
        assignee_id: str | None = None,
        member_id: str | None = None,
    ) -> list[AuthorizationRequest]:
        """Requests of one organization, newest first; member_id is an exact blind-index match."""
        table = AuthorizationRequestRecord
        query = select(table).where(table.organization_id == organization_id)
        if status is not None:
            query = query.where(table.status == status.value)
        if payer_id is not None:
            query = query.where(table.payer_id == payer_id)
        if assignee_id is not None:
            query = query.where(table.assignee_id == assignee_id)
        if member_id is not None:
            digest = self._index.member_id(member_id, organization_id=organization_id)
            query = query.where(table.member_id_index == digest)
        records = list(self.session.scalars(query.order_by(table.created_at.desc(), table.id)))
        lines = self._lines_of([record.id for record in records])
        return [self._to_domain(record, lines.get(record.id, [])) for record in records]

    def search_page(
        self,
        organization_id: str,
        *,
        status: Status | None = None,
        payer_id: str | None = None,
        assignee_id: str | None = None,
        limit: int = 50,
        after: tuple[dt.datetime, str] | None = None,
    ) -> tuple[list[AuthorizationRequest], bool]:
        """One page of requests, newest first by (created_at, id), starting after the (created_at,
        id) of the previous page's last request; True when more follow."""
        table = AuthorizationRequestRecord
        query = select(table).where(table.organization_id == organization_id)
        if status is not None:
            query = query.where(table.status == status.value)
        if payer_id is not None:
            query = query.where(table.payer_id == payer_id)
        if assignee_id is not None:
            query = query.where(table.assignee_id == assignee_id)
        if after is not None:
            at, last_id = after
            query = query.where(
                or_(table.created_at < at, and_(table.created_at == at, table.id < last_id))
            )
        query = query.order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)
        records = list(self.session.scalars(query))
        more = len(records) > limit
        records = records[:limit]
        lines = self._lines_of([record.id for record in records])
        return [self._to_domain(record, lines.get(record.id, [])) for record in records], more

    def due(self, now: dt.datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(organization id, request id) of requests whose next_action_at has come, soonest first.

        The one query across organizations, used only by the follow-up sweep (a system job, not a
        person): it returns ids, never request contents.
        """
        table = AuthorizationRequestRecord
        query = (
            select(table.organization_id, table.id)
            .where(table.next_action_at.is_not(None), table.next_action_at <= now)
            .order_by(table.next_action_at, table.id)
            .limit(limit)
        )
        return [(org, request_id) for org, request_id in self.session.execute(query)]

    def next_action_at(self, organization_id: str, request_id: str) -> dt.datetime | None:
        return self._record(organization_id, request_id).next_action_at

    def add_event(self, organization_id: str, request_id: str, event: TimelineEvent) -> None:
        self._record(organization_id, request_id)  # refuses another organization's request
        self.session.add(
            TimelineEventRecord(
                request_id=request_id,
                at=event.at,
                actor=event.actor,
                kind=event.kind,
                from_status=event.from_status.value,
                to_status=event.to_status.value,
                note=event.note,
                data=dict(event.data),
            )
        )

    def timeline(self, organization_id: str, request_id: str) -> list[TimelineEvent]:
        self._record(organization_id, request_id)
        query = select(TimelineEventRecord).where(TimelineEventRecord.request_id == request_id)
        rows = self.session.scalars(query.order_by(TimelineEventRecord.id))
        return [
            TimelineEvent(
                row.at,
                row.actor,
                row.kind,
                Status(row.from_status),
                Status(row.to_status),
                row.note,
                row.data,
            )
            for row in rows
        ]

    def add_many(self, new: Sequence[NewRequest]) -> None:
        """Store many new requests with their lines and first timeline events in three
        multi-row INSERTs (a schedule import's chunk): the same rows `add` + `add_event` write."""
        if not new:
            return
        requests, lines, events = [], [], []
        for item in new:
            request = item.request
            requests.append(self._new_values(item))
            for position, line in enumerate(request.lines):
                lines.append(_line_values(request.id, position, line))
            events.append(_event_values(request.id, item.created))
        # Core INSERTs on the tables (executemany): the ORM's per-object bookkeeping is what
        # made one request per flush slow, and these rows are never read back in this session.
        tables: tuple[tuple[Any, list[dict[str, Any]]], ...] = (
            (AuthorizationRequestRecord.__table__, requests),
            (ServiceLineRecord.__table__, lines),
            (TimelineEventRecord.__table__, events),
        )
        for table, values in tables:
            self.session.execute(insert(table), values)

    def _new_values(self, item: NewRequest) -> dict[str, Any]:
        """The row `add` writes for a new request, as column values (PHI sealed)."""
        request, organization_id = item.request, item.request.organization_id
        values: dict[str, Any] = {
            "id": request.id,
            "organization_id": organization_id,
            "payer_id": request.coverage.payer_id,
            "plan": request.coverage.plan,
            "state": item.state,
            "ordering_npi": request.ordering_npi,
            "rendering_npi": request.rendering_npi,
            "facility_npi": request.facility_npi,
            "member_id_index": self._index.member_id(
                request.coverage.member_id, organization_id=organization_id
            ),
            "requirement": [dict(answer) for answer in request.requirement],
            "created_at": request.created_at,
            "idempotency_key": item.idempotency_key,
            "status": request.status.value,
            "urgency": request.urgency.value,
            "retro": request.retro,
            "needs_attention": request.needs_attention,
            "assignee_id": request.assignee,
            "awaiting_since": request.awaiting_since,
            "info_due": request.info_due,
            "updated_at": request.updated_at,
            "next_action_at": item.next_action_at,
            "service_date": min((line.from_date for line in request.lines), default=None),
        }
        for column, value in _phi_values(request).items():
            values[column] = (
                None
                if value is None
                else self._cipher.encrypt(value, context=_context(column, organization_id))
            )
        return values

    def keyed(self, organization_id: str, keys: Sequence[str]) -> dict[str, KeyedRequest]:
        """The requests created with any of `keys`, by key, in one query and without opening
        their PHI: what an import needs to know about the rows it has seen before."""
        if not keys:
            return {}
        table = AuthorizationRequestRecord
        query = select(
            table.idempotency_key, table.id, table.status, table.payer_id, table.service_date
        ).where(table.organization_id == organization_id, table.idempotency_key.in_(set(keys)))
        return {
            str(key): KeyedRequest(request_id, Status(status), payer_id, service_date)
            for key, request_id, status, payer_id, service_date in self.session.execute(query)
        }

    def _record(self, organization_id: str, request_id: str) -> AuthorizationRequestRecord:
        record = self.session.scalars(
            select(AuthorizationRequestRecord).where(
                AuthorizationRequestRecord.id == request_id,
                AuthorizationRequestRecord.organization_id == organization_id,
            )
        ).first()
        if record is None:
            # The same answer whether it does not exist or belongs to another organization.
            raise NotFound(
                f"No authorization request {request_id} in your organization; check the id "
                "or search the queue."
            )
        return record

    def _lines(self, request_id: str) -> list[ServiceLineRecord]:
        return self._lines_of([request_id]).get(request_id, [])

    def _lines_of(self, request_ids: list[str]) -> dict[str, list[ServiceLineRecord]]:
        if not request_ids:
            return {}
        query = select(ServiceLineRecord).where(ServiceLineRecord.request_id.in_(request_ids))
        grouped: dict[str, list[ServiceLineRecord]] = {}
        for line in self.session.scalars(query.order_by(ServiceLineRecord.position)):
            grouped.setdefault(line.request_id, []).append(line)
        return grouped

    def _seal(self, record: AuthorizationRequestRecord, request: AuthorizationRequest) -> None:
        values = _phi_values(request)
        for column in PHI_COLUMNS:
            value = values[column]
            sealed = None if value is None else self._seal_one(record, column, value)
            setattr(record, column, sealed)

    def _seal_one(self, record: AuthorizationRequestRecord, column: str, value: str) -> str:
        return self._cipher.encrypt(value, context=_context(column, record.organization_id))

    def _open(self, record: AuthorizationRequestRecord, column: str) -> str | None:
        token: str | None = getattr(record, column)
        if token is None:
            return None
        return self._cipher.decrypt(token, context=_context(column, record.organization_id))

    def _to_domain(
        self, record: AuthorizationRequestRecord, lines: list[ServiceLineRecord]
    ) -> AuthorizationRequest:
        member_id = self._open(record, "member_id") or ""
        patient = Patient(
            first_name=self._open(record, "patient_first_name") or "",
            last_name=self._open(record, "patient_last_name") or "",
            birth_date=dt.date.fromisoformat(self._open(record, "patient_birth_date") or ""),
            member_id=member_id,
        )
        coverage = Coverage(
            record.payer_id, record.plan, member_id, self._open(record, "group_number") or ""
        )
        return AuthorizationRequest(
            id=record.id,
            organization_id=record.organization_id,
            patient=patient,
            coverage=coverage,
            ordering_npi=record.ordering_npi,
            rendering_npi=record.rendering_npi,
            lines=tuple(_line_value(line) for line in lines),
            created_at=record.created_at,
            updated_at=record.updated_at,
            facility_npi=record.facility_npi,
            urgency=Urgency(record.urgency),
            requirement=tuple(record.requirement),
            assignee=record.assignee_id,
            status=Status(record.status),
            needs_attention=record.needs_attention,
            retro=record.retro,
            awaiting_since=record.awaiting_since,
            info_due=record.info_due,
        )


def _context(column: str, organization_id: str) -> str:
    return f"{REQUESTS_TABLE}.{column}:{organization_id}"


def _phi_values(request: AuthorizationRequest) -> dict[str, str | None]:
    return {
        "patient_first_name": request.patient.first_name,
        "patient_last_name": request.patient.last_name,
        "patient_birth_date": request.patient.birth_date.isoformat(),
        "member_id": request.coverage.member_id,
        "group_number": request.coverage.group or None,
    }


def _copy_changes(
    record: AuthorizationRequestRecord,
    request: AuthorizationRequest,
    next_action_at: dt.datetime | None,
) -> None:
    record.status = request.status.value
    record.urgency = request.urgency.value
    record.retro = request.retro
    record.needs_attention = request.needs_attention
    record.assignee_id = request.assignee
    record.awaiting_since = request.awaiting_since
    record.info_due = request.info_due
    record.updated_at = request.updated_at
    record.next_action_at = next_action_at
    record.service_date = min((line.from_date for line in request.lines), default=None)


def _line_record(request_id: str, position: int, line: ServiceLine) -> ServiceLineRecord:
    return ServiceLineRecord(
        request_id=request_id,
        position=position,
        code=line.code,
        units=line.units,
        pos=line.pos,
        diagnoses=list(line.diagnoses),
        from_date=line.from_date,
        to_date=line.to_date,
    )


def _line_value(record: ServiceLineRecord) -> ServiceLine:
    return ServiceLine(
        code=record.code,
        units=record.units,
        from_date=record.from_date,
        to_date=record.to_date,
        pos=record.pos,
        diagnoses=tuple(record.diagnoses),
    )


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A stored request found by its idempotency key, without its PHI."""

    id: str
    status: Status
    payer_id: str
    service_date: dt.date | None


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A request to store with `add_many`: its checked state, first follow-up, key and first
    timeline event."""

    request: AuthorizationRequest
    state: str | None
    next_action_at: dt.datetime | None
    idempotency_key: str | None
    created: TimelineEvent


def _line_values(request_id: str, position: int, line: ServiceLine) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "position": position,
        "code": line.code,
        "units": line.units,
        "pos": line.pos,
        "diagnoses": list(line.diagnoses),
        "from_date": line.from_date,
        "to_date": line.to_date,
    }


def _event_values(request_id: str, event: TimelineEvent) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind,
        "from_status": event.from_status.value,
        "to_status": event.to_status.value,
        "note": event.note,
        "data": dict(event.data),
    }
