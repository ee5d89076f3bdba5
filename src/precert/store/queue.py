"""The work queue query: one organization's requests, filtered and sorted by urgency, one page.

It selects only the columns a queue row shows and decrypts only the patient names of the rows on
the page (never the rest of the organization's requests). Sort order, most urgent first: a request
that needs attention, then one whose next action is overdue, expedited before standard, then the
earliest service date, then the soonest next action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from precert.domain.authorizations import Urgency
from precert.security.crypto import FieldCipher
from precert.store.accounts import UserRecord
from precert.store.requests import (
    REQUESTS_TABLE,
    AuthorizationRequestRecord,
    ServiceLineRecord,
)

PAGE_SIZE = 50
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


class Due(StrEnum):
    """When a request's next action falls (UTC days), or that a person must act on it."""

    OVERDUE = "overdue"
    TODAY = "today"
    WEEK = "week"
    ATTENTION = "attention"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue shows. `assignee` is a user id; `unassigned` asks for nobody's requests."""

    statuses: tuple[str, ...] = ()
    payer_id: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    due: Due | None = None


@dataclass(frozen=True, slots=True, repr=False)
class QueueRow:
    """One row of the queue; first and last name are decrypted PHI, so the repr hides them."""

    id: str
    first_name: str
    last_name: str
    payer_id: str
    first_code: str
    service_date: dt.date | None
    status: str
    urgency: str
    needs_attention: str | None
    next_action_at: dt.datetime | None
    assignee_id: str | None
    assignee_email: str | None

    def __repr__(self) -> str:
        return f"QueueRow(id={self.id!r}, status={self.status!r}, patient=<redacted>)"


@dataclass(frozen=True, slots=True)
class QueueSlice:
    rows: list[QueueRow]
    total: int
    offset: int
    limit: int
    filters: QueueFilter = field(default_factory=QueueFilter)


_COLUMNS = (
    AuthorizationRequestRecord.id,
    AuthorizationRequestRecord.organization_id,
    AuthorizationRequestRecord.patient_first_name,
    AuthorizationRequestRecord.patient_last_name,
    AuthorizationRequestRecord.payer_id,
    AuthorizationRequestRecord.service_date,
    AuthorizationRequestRecord.status,
    AuthorizationRequestRecord.urgency,
    AuthorizationRequestRecord.needs_attention,
    AuthorizationRequestRecord.next_action_at,
    AuthorizationRequestRecord.assignee_id,
)


class QueueRepository:
    """Tenant-scoped queue reads. Repositories never commit; the unit of work does."""

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session = session
        self._cipher = cipher

    def page(
        self,
        organization_id: str,
        filters: QueueFilter,
        *,
        now: dt.datetime,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> QueueSlice:
        """One page of the queue and the number of requests matching the filters.

        The urgency order has four tiers (needs attention; overdue; expedited; standard), each
        read with its own query that an index serves, so a page reads a few hundred index
        entries instead of sorting every open request of the organization. Then only the shown
        columns of the page's ids are read.
        """
        table = AuthorizationRequestRecord
        counted = select(func.count()).select_from(table)
        total = int(self.session.scalar(_filtered(counted, organization_id, filters, now)) or 0)
        ids: list[str] = []
        skip, wanted = offset, limit
        for where, order in _tiers(now) if total > offset else ():
            tier = _filtered(select(table.id), organization_id, filters, now).where(where)
            got = list(self.session.scalars(tier.order_by(*order).offset(skip).limit(wanted)))
            if not got and skip:
                # This whole tier lies on earlier pages: skip its size, not just zero rows.
                size = _filtered(
                    select(func.count()).select_from(table), organization_id, filters, now
                )
                skip -= min(skip, int(self.session.scalar(size.where(where)) or 0))
                continue
            ids.extend(got)
            skip, wanted = 0, wanted - len(got)
            if wanted == 0:
                break
        shown = (
            {
                row.id: row
                for row in self.session.execute(select(*_COLUMNS).where(table.id.in_(ids)))
            }
            if ids
            else {}
        )
        found = [shown[request_id] for request_id in ids if request_id in shown]
        codes = self._first_codes(ids)
        emails = self._emails({row.assignee_id for row in found if row.assignee_id})
        rows = [self._row(row, codes, emails) for row in found]
        return QueueSlice(rows, total, offset, limit, filters)

    def _row(self, row: Any, codes: dict[str, str], emails: dict[str, str]) -> QueueRow:
        org = row.organization_id
        return QueueRow(
            id=row.id,
            first_name=self._open(row.patient_first_name, "patient_first_name", org),
            last_name=self._open(row.patient_last_name, "patient_last_name", org),
            payer_id=row.payer_id,
            first_code=codes.get(row.id, ""),
            service_date=row.service_date,
            status=row.status,
            urgency=row.urgency,
            needs_attention=row.needs_attention,
            next_action_at=row.next_action_at,
            assignee_id=row.assignee_id,
            assignee_email=emails.get(row.assignee_id) if row.assignee_id else None,
        )

    def _open(self, token: str, column: str, organization_id: str) -> str:
        # The context RequestRepository seals these columns with (table, column, organization).
        return self._cipher.decrypt(token, context=f"{REQUESTS_TABLE}.{column}:{organization_id}")

    def _first_codes(self, request_ids: Sequence[str]) -> dict[str, str]:
        if not request_ids:
            return {}
        lines = ServiceLineRecord
        query = select(lines.request_id, lines.code).where(
            lines.request_id.in_(request_ids), lines.position == 0
        )
        return {request_id: code for request_id, code in self.session.execute(query)}

    def _emails(self, user_ids: set[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        query = select(UserRecord.id, UserRecord.email).where(UserRecord.id.in_(user_ids))
        return {user_id: email for user_id, email in self.session.execute(query)}


def _tiers(now: dt.datetime) -> list[tuple[ColumnElement[bool], list[Any]]]:
    """The queue's urgency order as (tier condition, order within the tier), most urgent first.

    Together the conditions cover every request exactly once (urgency is standard or expedited).
    Indexes (migration 0005): ix_requests_attention for the first tier, ix_requests_due for the
    overdue one, ix_requests_urgency_order for the last two, read in index order.
    """
    table = AuthorizationRequestRecord
    overdue = table.next_action_at.is_not(None) & (table.next_action_at <= now)
    not_overdue = table.next_action_at.is_(None) | (table.next_action_at > now)
    calm = table.needs_attention.is_(None)
    by_date = [
        table.service_date.asc().nulls_last(),
        table.next_action_at.asc().nulls_last(),
        table.id,
    ]
    not_expedited = table.urgency != Urgency.EXPEDITED.value
    # Booleans sort false first: overdue before the rest, expedited before standard.
    return [
        (table.needs_attention.is_not(None), [not_overdue, not_expedited, *by_date]),
        (calm & overdue, [not_expedited, *by_date]),
        (calm & not_overdue & (table.urgency == Urgency.EXPEDITED.value), by_date),
        (calm & not_overdue & (table.urgency == Urgency.STANDARD.value), by_date),
    ]


def _filtered(
    query: _Query, organization_id: str, filters: QueueFilter, now: dt.datetime
) -> _Query:
    table = AuthorizationRequestRecord
    query = query.where(table.organization_id == organization_id)
    if filters.statuses:
        query = query.where(table.status.in_(filters.statuses))
    if filters.payer_id:
        query = query.where(table.payer_id == filters.payer_id)
    if filters.unassigned:
        query = query.where(table.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(table.assignee_id == filters.assignee)
    return _due(query, filters.due, now)


def _due(query: _Query, due: Due | None, now: dt.datetime) -> _Query:
    table = AuthorizationRequestRecord
    if due is None:
        return query
    if due is Due.ATTENTION:
        return query.where(table.needs_attention.is_not(None))
    if due is Due.OVERDUE:
        return query.where(table.next_action_at <= now)
    midnight = dt.datetime.combine(now.date(), dt.time.min, tzinfo=dt.UTC)
    days = 1 if due is Due.TODAY else 7
    # "Today" and "this week" include what is already overdue: it is due by then too.
    return query.where(table.next_action_at < midnight + dt.timedelta(days=days))
