"""Authorization records at rest: the ones a team imports from a spreadsheet or another system
(`imported_authorizations`), the units earlier claim files billed against them
(`authorization_usage`), and a bulk, read-only view of our own requests' decisions for the claim
check.

Like the requests table, the imported member id is PHI: it is encrypted (context
"imported_authorizations.member_id:<organization id>") and found through its blind index. Every
method takes the organization id and filters by it. Repositories never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.domain.authorizations import Status, TimelineEvent
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base
from precert.store.requests import (
    REQUESTS_TABLE,
    AuthorizationRequestRecord,
    ServiceLineRecord,
    TimelineEventRecord,
)

IMPORTED_TABLE = "imported_authorizations"
USAGE_TABLE = "authorization_usage"
ALL_CODES = "*"  # a usage row for an authorization whose units are counted across all its codes
# Ids per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


class ImportedAuthorizationRecord(Base):
    """One imported authorization; `member_id` holds ciphertext, never plain text."""

    __tablename__ = IMPORTED_TABLE
    __table_args__ = (
        # A re-import of the same number for the same payer and member replaces the row.
        UniqueConstraint(
            "organization_id",
            "payer_id",
            "member_id_index",
            "authorization_number",
            name="uq_imported_authorizations_key",
        ),
        Index("ix_imported_authorizations_member", "organization_id", "member_id_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    authorization_number: Mapped[str] = mapped_column(String(80), nullable=False)
    payer_id: Mapped[str] = mapped_column(String(80), nullable=False)
    member_id: Mapped[str] = mapped_column(Text, nullable=False)
    member_id_index: Mapped[str] = mapped_column(String(64), nullable=False)
    codes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    rendering_npi: Mapped[str | None] = mapped_column(String(10), nullable=True)
    facility_npi: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    def __repr__(self) -> str:  # never the member id, even encrypted
        return f"ImportedAuthorizationRecord(id={self.id!r}, status={self.status!r})"


class AuthorizationUsageRecord(Base):
    """Units one claim line billed against an authorization, so a later file's scrub counts them.
    One row per claim line: recording the same line again replaces its units."""

    __tablename__ = USAGE_TABLE
    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "authorization_number",
            "claim_id",
            "line_number",
            name="uq_authorization_usage_line",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    authorization_number: Mapped[str] = mapped_column(String(80), nullable=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False)
    claim_id: Mapped[str] = mapped_column(String(80), nullable=False)
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    units: Mapped[int] = mapped_column(Integer, nullable=False)
    file_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Units a claim line billed under an authorization number (`code` "*" = all its codes)."""

    authorization_number: str
    code: str
    claim_id: str
    line_number: int
    units: int
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestLineView:
    code: str
    units: int
    pos: str
    from_date: dt.date
    to_date: dt.date


@dataclass(frozen=True, slots=True)
class RequestDecisionView:
    """What the claim check needs of one of our requests: no patient name or birth date."""

    request_id: str
    payer_id: str
    member_id: str
    status: Status
    rendering_npi: str | None
    facility_npi: str | None
    lines: list[RequestLineView] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ImportedAuthorizationRepository:
    """Tenant-scoped imported authorizations, sealed on the way in and opened on the way out."""

    def __init__(self, session: Session, cipher: FieldCipher, index: BlindIndex) -> None:
        self.session = session
        self._cipher = cipher
        self._index = index

    def replace(
        self, organization_id: str, records: Sequence[AuthorizationRecord], at: dt.datetime
    ) -> int:
        """Store `records`, each replacing the row with the same payer, member and number;
        returns how many rows were replaced. Later records win over earlier ones with the key."""
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        for record in records:
            row = self._values(organization_id, record, at)
            rows[(row["payer_id"], row["member_id_index"], row["authorization_number"])] = row
        replaced = self._delete_keys(organization_id, list(rows))
        for chunk in _chunks(list(rows.values())):
            self.session.execute(insert(ImportedAuthorizationRecord), list(chunk))
        return replaced

    def _delete_keys(self, organization_id: str, keys: list[tuple[str, str, str]]) -> int:
        table = ImportedAuthorizationRecord
        wanted = set(keys)
        doomed: list[int] = []
        numbers = sorted({number for _, _, number in keys})
        for chunk in _chunks(numbers):
            query = select(
                table.id, table.payer_id, table.member_id_index, table.authorization_number
            ).where(
                table.organization_id == organization_id,
                table.authorization_number.in_(chunk),
            )
            for row_id, payer, digest, number in self.session.execute(query):
                if (payer, digest, number) in wanted:
                    doomed.append(row_id)
        for id_chunk in _chunks(doomed):
            self.session.execute(delete(table).where(table.id.in_(id_chunk)))
        return len(doomed)

    def search(
        self,
        organization_id: str,
        *,
        payer_ids: Iterable[str] | None = None,
        member_ids: Iterable[str] | None = None,
    ) -> list[AuthorizationRecord]:
        """Imported authorizations of one organization by number; member ids match exactly
        through the blind index (after the usual normalising)."""
        table = ImportedAuthorizationRecord
        query = select(table).where(table.organization_id == organization_id)
        if payer_ids is not None:
            query = query.where(table.payer_id.in_(sorted(set(payer_ids))))
        found: list[ImportedAuthorizationRecord] = []
        if member_ids is None:
            found.extend(self.session.scalars(query))
        else:
            digests = self._digests(organization_id, member_ids)
            for chunk in _chunks(digests):
                found.extend(self.session.scalars(query.where(table.member_id_index.in_(chunk))))
        found.sort(key=lambda row: (row.authorization_number, row.id))
        return [self._to_domain(row) for row in found]

    def _digests(self, organization_id: str, member_ids: Iterable[str]) -> list[str]:
        # An empty member id can match nothing; the blind index refuses it, so skip it here.
        return sorted(
            {
                self._index.member_id(member, organization_id=organization_id)
                for member in member_ids
                if member.strip(" -")
            }
        )

    def _values(
        self, organization_id: str, record: AuthorizationRecord, at: dt.datetime
    ) -> dict[str, Any]:
        return {
            "organization_id": organization_id,
            "authorization_number": record.number,
            "payer_id": record.payer_id,
            "member_id": self._cipher.encrypt(
                record.member_id, context=_context("member_id", organization_id)
            ),
            "member_id_index": self._index.member_id(
                record.member_id, organization_id=organization_id
            ),
            "codes": sorted(record.codes),
            "units": record.total_units,
            "valid_from": record.valid_from,
            "valid_to": record.valid_to,
            "rendering_npi": record.rendering_npi,
            "facility_npi": record.facility_npi,
            "status": record.status.value,
            "imported_at": at,
        }

    def _to_domain(self, row: ImportedAuthorizationRecord) -> AuthorizationRecord:
        member_id = self._cipher.decrypt(
            row.member_id, context=_context("member_id", row.organization_id)
        )
        return AuthorizationRecord(
            number=row.authorization_number,
            payer_id=row.payer_id,
            member_id=member_id,
            status=AuthorizationStatus(row.status),
            codes=frozenset(row.codes),
            total_units=row.units,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            rendering_npi=row.rendering_npi,
            facility_npi=row.facility_npi,
            source="import",
        )


def _context(column: str, organization_id: str) -> str:
    return f"{IMPORTED_TABLE}.{column}:{organization_id}"


class UsageRepository:
    """Units billed per authorization by claim files already scrubbed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, organization_id: str, rows: Sequence[UsageRow], at: dt.datetime) -> None:
        """Store each claim line's units; a line recorded before is replaced (a re-scrubbed
        file counts once)."""
        table = AuthorizationUsageRecord
        latest = {(r.authorization_number, r.claim_id, r.line_number): r for r in rows}
        numbers = sorted({number for number, _, _ in latest})
        doomed: list[int] = []
        for chunk in _chunks(numbers):
            query = select(table.id, table.authorization_number, table.claim_id, table.line_number)
            query = query.where(
                table.organization_id == organization_id, table.authorization_number.in_(chunk)
            )
            for row_id, number, claim_id, line in self.session.execute(query):
                if (number, claim_id, line) in latest:
                    doomed.append(row_id)
        for id_chunk in _chunks(doomed):
            self.session.execute(delete(table).where(table.id.in_(id_chunk)))
        values = [_usage_values(organization_id, row, at) for row in latest.values()]
        for value_chunk in _chunks(values):
            self.session.execute(insert(table), list(value_chunk))

    def totals(
        self,
        organization_id: str,
        numbers: Iterable[str],
        *,
        excluding_file: str | None = None,
        excluding_lines: Collection[tuple[str, int]] = (),
    ) -> dict[tuple[str, str], int]:
        """Units billed so far per (authorization number, code), without `excluding_file`'s and
        without the claim lines in `excluding_lines` ((claim id, line number): the same lines
        billed again, e.g. a corrected claim, replace what they billed before)."""
        table = AuthorizationUsageRecord
        totals: dict[tuple[str, str], int] = {}
        skip = set(excluding_lines)
        for chunk in _chunks(sorted(set(numbers))):
            query = select(
                table.authorization_number,
                table.code,
                table.units,
                table.file_id,
                table.claim_id,
                table.line_number,
            )
            query = query.where(
                table.organization_id == organization_id, table.authorization_number.in_(chunk)
            )
            for number, code, units, file_id, claim_id, line in self.session.execute(query):
                if excluding_file is not None and file_id == excluding_file:
                    continue
                if (claim_id, line) in skip:
                    continue
                totals[(number, code)] = totals.get((number, code), 0) + units
        return totals


def _usage_values(organization_id: str, row: UsageRow, at: dt.datetime) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "authorization_number": row.authorization_number,
        "code": row.code,
        "claim_id": row.claim_id,
        "line_number": row.line_number,
        "units": row.units,
        "file_id": row.file_id,
        "recorded_at": at,
    }


class RequestDecisions:
    """Our own requests with their lines and timelines, in a few queries per CHUNK requests
    instead of one per request: what deriving 50,000 authorization records needs. Read-only;
    only the member id is decrypted (with the requests table's context)."""

    def __init__(self, session: Session, cipher: FieldCipher, index: BlindIndex) -> None:
        self.session = session
        self._cipher = cipher
        self._index = index

    def load(
        self,
        organization_id: str,
        statuses: Iterable[Status],
        *,
        payer_ids: Iterable[str] | None = None,
        member_ids: Iterable[str] | None = None,
    ) -> list[RequestDecisionView]:
        table = AuthorizationRequestRecord
        columns = (
            table.id,
            table.payer_id,
            table.member_id,
            table.status,
            table.rendering_npi,
            table.facility_npi,
        )
        query = select(*columns).where(
            table.organization_id == organization_id,
            table.status.in_(sorted(status.value for status in statuses)),
        )
        if payer_ids is not None:
            query = query.where(table.payer_id.in_(sorted(set(payer_ids))))
        rows: list[Any] = []
        if member_ids is None:
            rows.extend(self.session.execute(query.order_by(table.created_at, table.id)))
        else:
            digests = sorted(
                {
                    self._index.member_id(member, organization_id=organization_id)
                    for member in member_ids
                    if member.strip(" -")
                }
            )
            for chunk in _chunks(digests):
                rows.extend(self.session.execute(query.where(table.member_id_index.in_(chunk))))
        context = f"{REQUESTS_TABLE}.member_id:{organization_id}"
        views = {
            request_id: RequestDecisionView(
                request_id=request_id,
                payer_id=payer_id,
                member_id=self._cipher.decrypt(sealed, context=context),
                status=Status(status),
                rendering_npi=rendering_npi,
                facility_npi=facility_npi,
            )
            for request_id, payer_id, sealed, status, rendering_npi, facility_npi in rows
        }
        for chunk in _chunks(list(views)):
            self._add_lines(views, chunk)
            self._add_events(views, chunk)
        return list(views.values())

    def _add_lines(self, views: dict[str, RequestDecisionView], ids: Sequence[str]) -> None:
        line = ServiceLineRecord
        query = select(
            line.request_id, line.code, line.units, line.pos, line.from_date, line.to_date
        ).where(line.request_id.in_(ids))
        for request_id, code, units, pos, from_date, to_date in self.session.execute(
            query.order_by(line.request_id, line.position)
        ):
            views[request_id].lines.append(RequestLineView(code, units, pos, from_date, to_date))

    def _add_events(self, views: dict[str, RequestDecisionView], ids: Sequence[str]) -> None:
        # Columns, not ORM objects: identity-map bookkeeping for 50,000 events is most of the cost.
        event = TimelineEventRecord
        query = select(
            event.request_id,
            event.at,
            event.actor,
            event.kind,
            event.from_status,
            event.to_status,
            event.data,
        ).where(event.request_id.in_(ids))
        rows = self.session.execute(query.order_by(event.id))
        for request_id, at, actor, kind, from_status, to_status, data in rows:
            views[request_id].timeline.append(
                TimelineEvent(at, actor, kind, Status(from_status), Status(to_status), "", data)
            )
