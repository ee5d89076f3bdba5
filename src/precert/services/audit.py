"""Writing and reading the audit trail. Every service that views or changes PHI calls `record`
inside its own unit of work, so the event commits (or rolls back) with the change it describes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from precert.store.audit import AuditEventRecord, AuditRepository
from precert.store.uow import UnitOfWork

if TYPE_CHECKING:
    from precert.services.context import Context

SYSTEM = "system"  # the actor for work no person asked for (CLI set-up, periodic sweeps)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event as people read it: who did what to which thing, when, and why."""

    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    organization_id: str | None
    reason: str | None


def record(
    target: UnitOfWork | Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    organization_id: str | None,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add an event to the open transaction; it is saved when the caller commits."""
    session = target.session if isinstance(target, UnitOfWork) else target
    AuditRepository(session).add(
        AuditEventRecord(
            organization_id=organization_id,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            reason=reason,
            at=at or dt.datetime.now(dt.UTC),
        )
    )


def events_for(ctx: Context, organization_id: str, *, limit: int = 100) -> list[AuditEntry]:
    """The newest events of one organization first."""
    with ctx.uow() as uow:
        rows = AuditRepository(uow.session).for_organization(organization_id, limit=limit)
        return [_entry(row) for row in rows]


def events_about(ctx: Context, entity: str, entity_id: str) -> list[AuditEntry]:
    """Every event about one thing, oldest first."""
    with ctx.uow() as uow:
        return [_entry(row) for row in AuditRepository(uow.session).for_entity(entity, entity_id)]


def _entry(row: AuditEventRecord) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        organization_id=row.organization_id,
        reason=row.reason,
    )
