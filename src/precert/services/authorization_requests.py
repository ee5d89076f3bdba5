"""Authorization request use cases: create (with the requirement check), list, view, change status,
record the payer's decision, cancel.

Each use case is one unit of work: the request row, its timeline event, its next follow-up time
(`next_action_at`, the sweep's source of truth) and the audit event commit together or not at all.
Payloads are the issue-3 API bodies; every problem is reported at once with its location.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from precert.domain.authorizations import (
    AuthorizationRequest,
    Event,
    Status,
    TimelineEvent,
    apply,
)
from precert.domain.determinations import Determination, event_for, validate_determination
from precert.domain.followups import SERVICE_SOON_DAYS, decision_due, work_items
from precert.errors import InvalidInput, Issue, PermissionDenied
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.services.accounts import Role
from precert.services.audit import record
from precert.services.context import Context
from precert.services.request_payloads import parse_determination, parse_request
from precert.store.requests import RequestRepository
from precert.store.uow import UnitOfWork

ENTITY = "authorization_request"
CHANGERS = (Role.ADMIN, Role.SPECIALIST)
# Statuses where no approval is being sought any more, so "service soon" never fires.
_SETTLED = frozenset(
    {
        Status.APPROVED,
        Status.PARTIALLY_APPROVED,
        Status.NOT_REQUIRED,
        Status.CANCELLED,
        Status.EXPIRED,
    }
)


class Requester(Protocol):
    """Who is asking; services.accounts.Actor is one."""

    @property
    def organization_id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> Role: ...


@dataclass(frozen=True, slots=True)
class RequestDetail:
    """A request as its page shows it: the request, its timeline, and when it is next due."""

    request: AuthorizationRequest
    timeline: list[TimelineEvent]
    next_action_at: dt.datetime | None


def create_request(
    ctx: Context,
    actor: Requester,
    payload: object,
    *,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """A new draft request with the requirement answer captured, or InvalidInput naming every
    problem (nothing saved). The same idempotency key returns the request it created before."""
    _require_changer(actor, "create requests")
    at = now or _now()
    parsed = parse_request(ctx, payload, organization_id=actor.organization_id, at=at)
    request = parsed.build(str(uuid.uuid4()))
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        if idempotency_key is not None:
            earlier = repo.by_idempotency_key(actor.organization_id, idempotency_key)
            if earlier is not None:  # a retried call: answer what the first one created
                _audit(uow, actor, "view", earlier.id, at, reason="repeated idempotency key")
                uow.commit()
                return earlier
        repo.add(
            request,
            state=parsed.state,
            next_action_at=next_action(request, at),
            idempotency_key=idempotency_key,
        )
        created = TimelineEvent(at, actor.email, "created", Status.DRAFT, Status.DRAFT)
        repo.add_event(actor.organization_id, request.id, created)
        _audit(uow, actor, "create", request.id, at)
        uow.commit()
    return request


def list_requests(
    ctx: Context,
    actor: Requester,
    *,
    status: Status | str | None = None,
    payer: str | None = None,
    assignee: str | None = None,
    member_id: str | None = None,
) -> list[AuthorizationRequest]:
    """The organization's requests, newest first; `member_id` is an exact blind-index search."""
    wanted = None if status is None else _status(status)
    with ctx.uow() as uow:
        found = _repository(ctx, uow).search(
            actor.organization_id,
            status=wanted,
            payer_id=payer,
            assignee_id=assignee,
            member_id=member_id,
        )
        # The reason says a member id was searched for, never which one.
        reason = "search by member id" if member_id is not None else "queue"
        _audit(uow, actor, "list", "*", _now(), reason=f"{reason}: {len(found)} shown")
        uow.commit()
    return found


def get_request(ctx: Context, actor: Requester, request_id: str) -> RequestDetail:
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        detail = RequestDetail(
            request,
            repo.timeline(actor.organization_id, request_id),
            repo.next_action_at(actor.organization_id, request_id),
        )
        _audit(uow, actor, "view", request_id, _now())
        uow.commit()
    return detail


def apply_event(
    ctx: Context,
    actor: Requester,
    request_id: str,
    event: Event | str,
    note: str = "",
    *,
    info_due: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Move the request through the status machine; a refused change raises InvalidTransition."""
    wanted = _event(event)
    at = now or _now()

    def change(request: AuthorizationRequest) -> tuple[AuthorizationRequest, TimelineEvent]:
        return apply(request, wanted, at=at, actor=actor.email, note=note, info_due=info_due)

    return _change(ctx, actor, request_id, at, change)


def cancel_request(
    ctx: Context,
    actor: Requester,
    request_id: str,
    note: str = "",
    *,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    return apply_event(ctx, actor, request_id, Event.CANCEL, note, now=now)


def record_determination(
    ctx: Context,
    actor: Requester,
    request_id: str,
    payload: object,
    note: str = "",
    *,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Record the payer's decision: validated against the request, then the event it causes."""
    at = now or _now()
    holder: list[Determination] = []

    def change(request: AuthorizationRequest) -> tuple[AuthorizationRequest, TimelineEvent]:
        determination = parse_determination(payload, today=ctx.today())
        found = validate_determination(request, determination)
        if found:
            raise InvalidInput(f"The decision has {_count(found)}; correct and try again.", found)
        holder.append(determination)
        data = {"determination": determination.as_dict()}
        event = event_for(determination)
        return apply(request, event, at=at, actor=actor.email, note=note, data=data)

    return _change(ctx, actor, request_id, at, change, lambda: holder[0] if holder else None)


def next_action(
    request: AuthorizationRequest,
    now: dt.datetime,
    determination: Determination | None = None,
) -> dt.datetime | None:
    """When the sweep must next look at this request: the soonest follow-up it can raise
    (a moment already past is kept, so that a changed request is swept at once)."""
    moments = follow_up_moments(request, now, determination)
    return min(moments) if moments else None


def follow_up_moments(
    request: AuthorizationRequest,
    now: dt.datetime,
    determination: Determination | None = None,
) -> list[dt.datetime]:
    """Every moment a follow-up is due: work items, the decision due date, the payer's deadline
    for information, and a week before the service while it is not settled."""
    moments = [item.due_at for item in work_items(request, now=now, determination=determination)]
    due = decision_due(request)
    if due is not None:
        moments.append(due)
    if request.info_due is not None and request.status in (Status.PENDED, Status.APPEALED):
        moments.append(request.info_due)
    if request.status not in _SETTLED:
        soon = request.first_service_date - dt.timedelta(days=SERVICE_SOON_DAYS)
        moments.append(dt.datetime.combine(soon, dt.time.min, tzinfo=dt.UTC))
    return moments


Change = Callable[[AuthorizationRequest], tuple[AuthorizationRequest, TimelineEvent]]


def _change(
    ctx: Context,
    actor: Requester,
    request_id: str,
    at: dt.datetime,
    change: Change,
    determination: Callable[[], Determination | None] = lambda: None,
) -> AuthorizationRequest:
    """Load, change through the domain, save with its timeline event and audit event, commit."""
    _require_changer(actor, "change requests")
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        changed, event = change(request)
        repo.save(changed, next_action_at=next_action(changed, at, determination()))
        repo.add_event(actor.organization_id, request_id, event)
        _audit(uow, actor, "change", request_id, at, reason=event.kind)
        uow.commit()
    return changed


def _require_changer(actor: Requester, action: str) -> None:
    if actor.role in CHANGERS:
        return
    message = f"{actor.role.value}s cannot {action}; ask an admin or a specialist"
    raise PermissionDenied(message, [Issue("forbidden", message, "role")])


def _repository(ctx: Context, uow: UnitOfWork) -> RequestRepository:
    settings = ctx.settings
    return RequestRepository(
        uow.session, FieldCipher.from_settings(settings), BlindIndex.from_settings(settings)
    )


def _audit(
    uow: UnitOfWork,
    actor: Requester,
    action: str,
    entity_id: str,
    at: dt.datetime,
    *,
    reason: str | None = None,
) -> None:
    record(
        uow,
        actor=actor.email,
        action=action,
        entity=ENTITY,
        entity_id=entity_id,
        organization_id=actor.organization_id,
        reason=reason,
        at=at,
    )


def _status(value: Status | str) -> Status:
    try:
        return Status(value)
    except ValueError:
        options = ", ".join(s.value for s in Status)
        raise InvalidInput.field(
            "status", f"status: {value!r} is not a status; use one of {options}."
        ) from None


def _event(value: Event | str) -> Event:
    try:
        return Event(value)
    except ValueError:
        options = ", ".join(e.value for e in Event)
        raise InvalidInput.field(
            "event", f"event: {value!r} is not an action; use one of {options}."
        ) from None


def _count(found: list[Issue]) -> str:
    return "1 problem" if len(found) == 1 else f"{len(found)} problems"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
