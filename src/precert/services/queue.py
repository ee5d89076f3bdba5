"""The team's work queue: one page of requests sorted by urgency, and (bulk) assignment.

Viewing the queue shows patient names, so it writes one audit event per page viewed. Assignment
is a change to each request: a timeline event "assigned" and an audit event per request, all in
one unit of work, so a bulk assignment lands completely or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from precert.domain.authorizations import AuthorizationRequest, Status, TimelineEvent
from precert.errors import InvalidInput, Issue, NotFound
from precert.security.crypto import FieldCipher
from precert.services.accounts import Actor, Role
from precert.services.audit import record
from precert.services.authorization_requests import ENTITY, request_repository, require_changer
from precert.services.context import Context
from precert.store.accounts import UserRecord, UserRepository
from precert.store.queue import PAGE_SIZE, Due, QueueFilter, QueueRepository, QueueRow
from precert.store.requests import RequestRepository
from precert.store.uow import UnitOfWork

MAX_ASSIGN = 500
UNASSIGNED = "unassigned"
ME = "me"
# Statuses that are finished: the queue hides them unless asked for by status.
CLOSED = frozenset({Status.CANCELLED.value, Status.EXPIRED.value, Status.NOT_REQUIRED.value})
OPEN_STATUSES = tuple(s.value for s in Status if s.value not in CLOSED)

# What the next action on a request is, by status, when nothing needs a person's attention.
NEXT_STEP: dict[str, str] = {
    Status.DRAFT.value: "Attach the missing documents, then mark it ready",
    Status.READY.value: "Submit it to the payer",
    Status.SUBMITTED.value: "Follow up: the payer's decision is due",
    Status.PENDED.value: "Follow up with the payer: pended",
    Status.APPEALED.value: "Follow up: the appeal decision is due",
    Status.APPROVED.value: "Check the approval still covers the service",
    Status.PARTIALLY_APPROVED.value: "Decide whether to appeal the denied lines",
    Status.DENIED.value: "Decide whether to appeal",
    Status.NOT_REQUIRED.value: "Nothing: the payer said no authorization is needed",
    Status.CANCELLED.value: "Nothing: cancelled",
    Status.EXPIRED.value: "Create a new request if the service is still planned",
}


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The queue's filters as a person chose them: statuses ("open" when empty), a payer id, an
    assignee (a user id, "me" or "unassigned") and a due window."""

    statuses: tuple[str, ...] = ()
    payer: str | None = None
    assignee: str | None = None
    due: str | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A queue row as a page shows it: the stored row plus the next step in words."""

    row: QueueRow
    why: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    pages: int
    page_size: int


def queue_page(ctx: Context, actor: Actor, filters: QueueFilters, page: int = 1) -> QueuePage:
    """One page (from 1) of the organization's queue; InvalidInput for an unknown filter value."""
    wanted = _filter(actor, filters)
    if page < 1:
        raise InvalidInput.field("page", "page: pages are numbered from 1.")
    now = ctx.now()
    with ctx.uow() as uow:
        repo = QueueRepository(uow.session, FieldCipher.from_settings(ctx.settings))
        found = repo.page(
            actor.organization_id, wanted, now=now, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        record(
            uow,
            actor=actor.email,
            action="list",
            entity=ENTITY,
            entity_id="*",
            organization_id=actor.organization_id,
            reason=f"queue page {page}: {len(found.rows)} shown",
            at=now,
        )
        uow.commit()
    items = [_item(row, now) for row in found.rows]
    pages = max(1, -(-found.total // PAGE_SIZE))
    return QueuePage(items, found.total, page, pages, PAGE_SIZE)


def assign(ctx: Context, actor: Actor, request_ids: list[str], assignee: str | None) -> list[str]:
    """Assign requests to a user of the organization (id or email; None unassigns them).

    Returns the ids that changed (already assigned to that person: unchanged, no event). Any
    unknown id refuses the whole assignment, naming the ids, and nothing is changed.
    """
    require_changer(actor, "assign requests")
    ids = _request_ids(request_ids)
    now = ctx.now()
    with ctx.uow() as uow:
        user = None if assignee is None else _assignee(uow, actor, assignee)
        repo = request_repository(ctx, uow)
        loaded = _load_all(repo, actor, ids)
        changed: list[str] = []
        for request in loaded:
            target = None if user is None else user.id
            if request.assignee == target:
                continue
            _assign_one(uow, repo, actor, request, user, now)
            changed.append(request.id)
        uow.commit()
    return changed


@dataclass(frozen=True, slots=True)
class Assignee:
    """Someone requests can be assigned to (admins and specialists who are not disabled)."""

    id: str
    email: str


def assignable_users(ctx: Context, actor: Actor) -> list[Assignee]:
    """The people of the actor's organization who can work requests, by email."""
    with ctx.uow() as uow:
        users = UserRepository(uow.session).in_organization(actor.organization_id)
        return sorted(
            (
                Assignee(user.id, user.email)
                for user in users
                if not user.disabled and user.role in (Role.ADMIN.value, Role.SPECIALIST.value)
            ),
            key=lambda user: user.email,
        )


def _assign_one(
    uow: UnitOfWork,
    repo: RequestRepository,
    actor: Actor,
    request: AuthorizationRequest,
    user: UserRecord | None,
    now: dt.datetime,
) -> None:
    target = None if user is None else user.id
    changed = replace(request, assignee=target, updated_at=now)
    repo.save(changed, next_action_at=repo.next_action_at(actor.organization_id, request.id))
    note = "unassigned" if user is None else f"assigned to {user.email}"
    data = {"assignee_id": target, "previous_assignee_id": request.assignee}
    event = TimelineEvent(now, actor.email, "assigned", request.status, request.status, note, data)
    repo.add_event(actor.organization_id, request.id, event)
    record(
        uow,
        actor=actor.email,
        action="change",
        entity=ENTITY,
        entity_id=request.id,
        organization_id=actor.organization_id,
        reason="assigned",
        at=now,
    )


def _load_all(repo: RequestRepository, actor: Actor, ids: list[str]) -> list[AuthorizationRequest]:
    loaded: list[AuthorizationRequest] = []
    missing: list[str] = []
    for request_id in ids:
        try:
            loaded.append(repo.get(actor.organization_id, request_id))
        except NotFound:
            missing.append(request_id)
    if missing:
        message = (
            f"No authorization request {', '.join(missing)} in your organization; nothing was "
            "assigned. Check the ids and try again."
        )
        raise NotFound(message, [Issue("not-found", message, "request_ids")])
    return loaded


def _request_ids(request_ids: list[str]) -> list[str]:
    ids = list(dict.fromkeys(i.strip() for i in request_ids if i and i.strip()))
    if not ids:
        raise InvalidInput.field(
            "request_ids", "request_ids: choose at least one request to assign.", "required"
        )
    if len(ids) > MAX_ASSIGN:
        raise InvalidInput.field(
            "request_ids",
            f"request_ids: at most {MAX_ASSIGN} requests at once; you sent {len(ids)}.",
            "too-many",
        )
    return ids


def _assignee(uow: UnitOfWork, actor: Actor, assignee: str) -> UserRecord:
    """The user `assignee` names (id or email) in the organization, if they can work requests."""
    users = UserRepository(uow.session)
    value = assignee.strip()
    user = users.by_email(value.lower()) if "@" in value else users.get(value)
    if user is None or user.organization_id != actor.organization_id:
        message = (
            f"assignee: nobody in your organization is {value!r}; choose a user of your "
            "organization (their email or id)."
        )
        raise InvalidInput.field("assignee", message, "unknown-user")
    if user.disabled or Role(user.role) not in (Role.ADMIN, Role.SPECIALIST):
        why = "is disabled" if user.disabled else f"is a {user.role}"
        message = (
            f"assignee: {user.email} {why} and cannot work requests; choose an admin or a "
            "specialist."
        )
        raise InvalidInput.field("assignee", message, "cannot-work")
    return user


def _filter(actor: Actor, filters: QueueFilters) -> QueueFilter:
    statuses = tuple(dict.fromkeys(s for s in filters.statuses if s))
    for status in statuses:
        if status not in {s.value for s in Status}:
            options = ", ".join(s.value for s in Status)
            raise InvalidInput.field(
                "status", f"status: {status!r} is not a status; use one of {options}."
            )
    due = None
    if filters.due:
        try:
            due = Due(filters.due)
        except ValueError:
            options = ", ".join(d.value for d in Due)
            raise InvalidInput.field(
                "due", f"due: {filters.due!r} is not a due window; use one of {options}."
            ) from None
    assignee = (filters.assignee or "").strip() or None
    return QueueFilter(
        statuses=statuses or OPEN_STATUSES,
        payer_id=(filters.payer or "").strip() or None,
        assignee=actor.user_id if assignee == ME else None if assignee == UNASSIGNED else assignee,
        unassigned=assignee == UNASSIGNED,
        due=due,
    )


def _item(row: QueueRow, now: dt.datetime) -> QueueItem:
    overdue = row.next_action_at is not None and row.next_action_at <= now
    why = row.needs_attention or NEXT_STEP.get(row.status, "")
    return QueueItem(row, why, overdue)


__all__ = [
    "MAX_ASSIGN",
    "ME",
    "NEXT_STEP",
    "UNASSIGNED",
    "Assignee",
    "Due",
    "QueueFilters",
    "QueueItem",
    "QueuePage",
    "assign",
    "assignable_users",
    "queue_page",
]
