"""The follow-up sweep: which requests are due (the database says so, through next_action_at), and
following one up — flag it for a person with its most urgent work item, log its notices (in the
same transaction), then move next_action_at to its next future due time. Both are idempotent, so a
lost or repeated job never loses or repeats work: the next sweep finds what is still due, and a
repeated follow-up changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from precert.domain.authorizations import (
    AuthorizationRequest,
    TimelineEvent,
    flag_attention,
)
from precert.domain.determinations import Determination
from precert.domain.followups import work_items
from precert.services.audit import SYSTEM, record
from precert.services.authorization_requests import (
    ENTITY,
    follow_up_moments,
    request_repository,
    standing_decision,
)
from precert.services.context import Context
from precert.services.notifications import plan_work_item
from precert.store.uow import UnitOfWork

# How many due requests one sweep hands out; the rest stay due and the next sweep takes them.
SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class Due:
    """A request the sweep found due: plain ids, ready to become a job's arguments."""

    organization_id: str
    request_id: str


def sweep(ctx: Context, *, now: dt.datetime, limit: int = SWEEP_BATCH) -> list[Due]:
    """Requests of every organization whose next_action_at is at or before `now`, soonest first."""
    with ctx.uow() as uow:
        due = request_repository(ctx, uow).due(now, limit)
        return [Due(org, request_id) for org, request_id in due]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What a follow-up did: the timeline event it added (None when the flag was already there)
    and the notification deliveries it logged, to be sent once its transaction has committed."""

    event: TimelineEvent | None = None
    deliveries: tuple[str, ...] = field(default=())


def follow_up(ctx: Context, organization_id: str, request_id: str, *, now: dt.datetime) -> FollowUp:
    """Flag the request with its most urgent work item (unless already flagged with that message),
    log a notice of it per configured outlet, and move next_action_at past `now`."""
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(organization_id, request_id)
        determination = standing_decision(repo, request, ctx.today())
        items = work_items(request, now=now, determination=determination)
        changed, event = request, None
        if items and request.needs_attention != items[0].message:
            changed, event = flag_attention(request, items[0].message, at=now, actor=SYSTEM)
        following = next_action_after(changed, now, determination)
        if event is None and following == repo.next_action_at(organization_id, request_id):
            return FollowUp()  # already followed up for this state: change nothing
        repo.save(changed, next_action_at=following)
        planned: list[str] = []
        if event is not None:
            repo.add_event(organization_id, request_id, event)
            _audit(uow, request, f"follow-up: {items[0].kind.value}", now)
            planned = plan_work_item(uow.session, ctx.settings, changed, items[0], at=now)
        uow.commit()
    return FollowUp(event, tuple(planned))


def next_action_after(
    request: AuthorizationRequest, now: dt.datetime, determination: Determination | None = None
) -> dt.datetime | None:
    """The soonest follow-up moment strictly after `now` (None when nothing is left to watch).

    Past moments are dropped (unlike authorization_requests.next_action) so that a request
    just followed up is not picked again by the next sweep.
    """
    moments = follow_up_moments(request, now, determination)
    future = [moment for moment in moments if moment > now]
    return min(future) if future else None


def _audit(uow: UnitOfWork, request: AuthorizationRequest, reason: str, at: dt.datetime) -> None:
    record(
        uow,
        actor=SYSTEM,
        action="change",
        entity=ENTITY,
        entity_id=request.id,
        organization_id=request.organization_id,
        reason=reason,
        at=at,
    )
