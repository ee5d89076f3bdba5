"""Authorization request use cases: create (with the requirement check), list (a page at a time),
view, change status, mark ready (checklist or a person's override), record the payer's decision,
appeal, cancel.

Each use case is one unit of work: the request row, its timeline event, its next follow-up time
(`next_action_at`, the sweep's source of truth) and the audit event commit together or not at all.
Payloads are the issue-3 API bodies; every problem is reported at once with its location.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from precert.domain.authorizations import (
    AuthorizationRequest,
    Event,
    Status,
    TimelineEvent,
    apply,
)
from precert.domain.determinations import (
    Determination,
    event_for,
    standing_determination,
    validate_determination,
)
from precert.domain.followups import SERVICE_SOON_DAYS, decision_due, work_items
from precert.errors import Conflict, InvalidInput, InvalidTransition, Issue, PermissionDenied
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.services.accounts import Role
from precert.services.audit import record
from precert.services.context import Context
from precert.services.notifications import notify_decision
from precert.services.request_payloads import (
    ParsedRequest,
    parse_determination,
    parse_request,
)
from precert.store.documents import Document, DocumentRepository
from precert.store.requests import KeyedRequest, NewRequest, RequestRepository
from precert.store.uow import UnitOfWork

ENTITY = "authorization_request"
CHANGERS = (Role.ADMIN, Role.SPECIALIST)
PAGE_DEFAULT = 50
PAGE_MAX = 200
MAX_IDEMPOTENCY_KEY = 64  # the column's width
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


@dataclass(frozen=True, slots=True)
class Created:
    """What a create did: the request, and whether it was made now or by an earlier call with
    the same idempotency key (a replay)."""

    request: AuthorizationRequest
    replayed: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the queue, newest first; `next_cursor` fetches the next page (None: the last)."""

    requests: list[AuthorizationRequest]
    next_cursor: str | None


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
    require_changer(actor, "create requests")
    at = now or ctx.now()
    parsed = parse_request(ctx, payload, organization_id=actor.organization_id, at=at)
    return _create(ctx, actor, parsed, idempotency_key, at).request


def create_or_replay(
    ctx: Context,
    actor: Requester,
    payload: object,
    *,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> Created:
    """Create once per idempotency key (the API's Idempotency-Key header): a replay with the same
    body answers the first request; the same key with a different body is a Conflict (409)."""
    key = _checked_key(idempotency_key)
    require_changer(actor, "create requests")
    at = now or ctx.now()
    parsed = parse_request(ctx, payload, organization_id=actor.organization_id, at=at)
    created = _create(ctx, actor, parsed, key, at)
    if created.replayed and _fingerprint(created.request) != _fingerprint(parsed.draft):
        message = (
            "Idempotency-Key: this key was already used for a different request body; send the "
            "same body to get the request it created, or use a new key for a new request."
        )
        raise Conflict(message, [Issue("idempotency-conflict", message, "Idempotency-Key")])
    return created


def _create(
    ctx: Context,
    actor: Requester,
    parsed: ParsedRequest,
    idempotency_key: str | None,
    at: dt.datetime,
) -> Created:
    request = parsed.build(str(uuid.uuid4()))
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        if idempotency_key is not None:
            earlier = repo.by_idempotency_key(actor.organization_id, idempotency_key)
            if earlier is not None:  # a retried call: answer what the first one created
                _audit(uow, actor, "view", earlier.id, at, reason="repeated idempotency key")
                uow.commit()
                return Created(earlier, replayed=True)
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
    return Created(request, replayed=False)


def list_page(
    ctx: Context,
    actor: Requester,
    *,
    status: Status | str | None = None,
    payer: str | None = None,
    assignee: str | None = None,
    limit: int = PAGE_DEFAULT,
    cursor: str | None = None,
) -> Page:
    """One page of the organization's requests, newest first (keyset on created_at, id), so a
    request created while a client walks the pages never shifts or repeats what it sees."""
    wanted = None if status is None else _status(status)
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput.field(
            "limit", f"limit: ask for 1 to {PAGE_MAX} requests per page (default {PAGE_DEFAULT})."
        )
    after = None if cursor is None else _decode_cursor(cursor)
    with ctx.uow() as uow:
        found, more = request_repository(ctx, uow).search_page(
            actor.organization_id,
            status=wanted,
            payer_id=payer,
            assignee_id=assignee,
            limit=limit,
            after=after,
        )
        _audit(uow, actor, "list", "*", ctx.now(), reason=f"queue page: {len(found)} shown")
        uow.commit()
    next_cursor = _encode_cursor(found[-1]) if more and found else None
    return Page(found, next_cursor)


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
        found = request_repository(ctx, uow).search(
            actor.organization_id,
            status=wanted,
            payer_id=payer,
            assignee_id=assignee,
            member_id=member_id,
        )
        # The reason says a member id was searched for, never which one.
        reason = "search by member id" if member_id is not None else "queue"
        _audit(uow, actor, "list", "*", ctx.now(), reason=f"{reason}: {len(found)} shown")
        uow.commit()
    return found


def get_request(ctx: Context, actor: Requester, request_id: str) -> RequestDetail:
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        detail = RequestDetail(
            request,
            repo.timeline(actor.organization_id, request_id),
            repo.next_action_at(actor.organization_id, request_id),
        )
        _audit(uow, actor, "view", request_id, ctx.now())
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
    data: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Move the request through the status machine; a refused change raises InvalidTransition.
    `data` holds the structured facts of the change (method, reference, rep name...) for the
    timeline event; `note` is what a person wrote."""
    wanted = _event(event)
    at = now or ctx.now()

    def change(request: AuthorizationRequest) -> tuple[AuthorizationRequest, TimelineEvent]:
        return apply(
            request, wanted, at=at, actor=actor.email, note=note, info_due=info_due, data=data
        )

    return _change(ctx, actor, request_id, at, change)


def mark_ready(
    ctx: Context,
    actor: Requester,
    request_id: str,
    *,
    override_reason: str | None = None,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Make a draft ready: at once when its documentation checklist is complete; otherwise only
    with a person's override reason (kept on the timeline and in the audit), else refused (409)
    with the missing documents listed."""
    require_changer(actor, "change requests")
    at = now or ctx.now()
    reason = (override_reason or "").strip()
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        attached = DocumentRepository(uow.session, FieldCipher.from_settings(ctx.settings))
        missing = missing_documents(request, attached.of_request(actor.organization_id, request_id))
        changed, event = _readied(request, actor, at, missing, reason)
        repo.save(changed, next_action_at=next_action(changed, at))
        repo.add_event(actor.organization_id, request_id, event)
        audit_reason = f"override_ready: {reason}" if event.kind == Event.OVERRIDE_READY else None
        _audit(uow, actor, "change", request_id, at, reason=audit_reason or event.kind)
        uow.commit()
    return changed


def appeal_request(
    ctx: Context,
    actor: Requester,
    request_id: str,
    *,
    note: str,
    now: dt.datetime | None = None,
) -> AuthorizationRequest:
    """Appeal a denial (or the denied lines of a partial approval); the note gives the grounds."""
    if not note.strip():
        raise InvalidInput.field(
            "note", "note: say on what grounds the decision is appealed.", code="required"
        )
    return apply_event(ctx, actor, request_id, Event.APPEAL, note.strip(), now=now)


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
    at = now or ctx.now()
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

    changed = _change(ctx, actor, request_id, at, change, lambda: holder[0] if holder else None)
    notify_decision(ctx, changed, at=at)  # logged after the commit; the worker sends them
    return changed


def standing_decision(
    repo: RequestRepository, request: AuthorizationRequest, today: dt.date
) -> Determination | None:
    """The decision in force on the request's timeline, if any (an unreadable old record counts
    as none: callers then work without its approval window)."""
    stored = standing_determination(repo.timeline(request.organization_id, request.id))
    if stored is None:
        return None
    try:
        return parse_determination(stored, today=today)
    except InvalidInput:
        return None


def required_documents(request: AuthorizationRequest) -> list[str]:
    """The union of the captured requirement's documents, in first-seen order."""
    seen: dict[str, str] = {}
    for answer in request.requirement:
        for name in answer.get("documents") or ():
            seen.setdefault(str(name).casefold(), str(name))
    return list(seen.values())


def missing_documents(request: AuthorizationRequest, attached: list[Document]) -> list[str]:
    """The checklist items with nothing attached (matched ignoring case)."""
    kinds = {document.kind.casefold() for document in attached}
    return [name for name in required_documents(request) if name.casefold() not in kinds]


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
    require_changer(actor, "change requests")
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        changed, event = change(request)
        repo.save(changed, next_action_at=next_action(changed, at, determination()))
        repo.add_event(actor.organization_id, request_id, event)
        _audit(uow, actor, "change", request_id, at, reason=event.kind)
        uow.commit()
    return changed


def _readied(
    request: AuthorizationRequest,
    actor: Requester,
    at: dt.datetime,
    missing: list[str],
    reason: str,
) -> tuple[AuthorizationRequest, TimelineEvent]:
    if not missing:
        return apply(request, Event.DOCUMENTS_COMPLETED, at=at, actor=actor.email)
    if reason:
        data = {"override_reason": reason, "missing": missing}
        event = Event.OVERRIDE_READY
        return apply(request, event, at=at, actor=actor.email, note=reason, data=data)
    listed = "; ".join(f'"{name}"' for name in missing)
    message = (
        f"The documentation checklist is not complete: {listed} "
        f"{'is' if len(missing) == 1 else 'are'} missing. Upload "
        f"{'it' if len(missing) == 1 else 'them'}, or mark the request ready with an "
        "override_reason saying why they are not needed."
    )
    issues = [Issue("missing-document", f"missing: {name}", "documents") for name in missing]
    raise InvalidTransition(message, issues)


def _fingerprint(request: AuthorizationRequest) -> tuple[object, ...]:
    """What makes two request bodies the same request (ids and times aside)."""
    return (
        request.patient.first_name,
        request.patient.last_name,
        request.patient.birth_date,
        request.coverage,
        request.ordering_npi,
        request.rendering_npi,
        request.facility_npi,
        request.urgency,
        request.retro,
        request.lines,
    )


def _checked_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable() or not key.isascii():
        raise InvalidInput.field(
            "Idempotency-Key",
            f"Idempotency-Key: use 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters "
            "(a UUID is a good key).",
        )
    return key


def _encode_cursor(request: AuthorizationRequest) -> str:
    raw = json.dumps({"c": request.created_at.isoformat(), "i": request.id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        at = dt.datetime.fromisoformat(value["c"])
        if at.tzinfo is None or not isinstance(value["i"], str):
            raise ValueError("naive time or no id")
        return at, value["i"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput.field(
            "cursor",
            "cursor: not a cursor this API gave out; use the `next` link of the previous page, "
            "or leave cursor out to start at the newest request.",
        ) from None


def require_changer(actor: Requester, action: str) -> None:
    """PermissionDenied unless the actor's role may change requests (admin, specialist)."""
    if actor.role in CHANGERS:
        return
    message = f"{actor.role.value}s cannot {action}; ask an admin or a specialist"
    raise PermissionDenied(message, [Issue("forbidden", message, "role")])


def request_repository(ctx: Context, uow: UnitOfWork) -> RequestRepository:
    """The request repository on this unit of work, with this installation's cipher and blind
    index: every service that reads or writes requests builds it here."""
    settings = ctx.settings
    return RequestRepository(
        uow.session, FieldCipher.from_settings(settings), BlindIndex.from_settings(settings)
    )


def audit_change(
    uow: UnitOfWork,
    *,
    actor: str,
    organization_id: str,
    request_id: str,
    at: dt.datetime,
    reason: str,
) -> None:
    """Audit a change to one request (by a person, or SYSTEM for a payer's answer)."""
    record(
        uow,
        actor=actor,
        action="change",
        entity=ENTITY,
        entity_id=request_id,
        organization_id=organization_id,
        reason=reason,
        at=at,
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


def create_drafts(
    ctx: Context,
    actor: Requester,
    drafts: Sequence[tuple[ParsedRequest, str]],
    *,
    now: dt.datetime,
) -> tuple[dict[str, KeyedRequest], set[str]]:
    """Create many drafts in one unit of work (a schedule import's chunk), each once per
    idempotency key: returns every key's request (id, status, payer, first service date) and
    the keys created now (the rest existed before, or came twice in `drafts`). One bulk look-up
    and three INSERTs, whatever the count.

    No audit event per request: the caller records one for the whole batch (how many created).
    """
    require_changer(actor, "create requests")
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        found = repo.keyed(actor.organization_id, [key for _, key in drafts])
        new: list[NewRequest] = []
        for parsed, key in drafts:
            if key in found:
                continue
            request = parsed.build(str(uuid.uuid4()))
            created = TimelineEvent(now, actor.email, "created", Status.DRAFT, Status.DRAFT)
            new.append(NewRequest(request, parsed.state, next_action(request, now), key, created))
            found[key] = KeyedRequest(
                request.id, request.status, request.coverage.payer_id, request.first_service_date
            )
        repo.add_many(new)
        uow.commit()
    return found, {item.idempotency_key for item in new if item.idempotency_key}
