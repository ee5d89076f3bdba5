"""Submitting a request to its payer through a channel, never twice.

The order is what makes it safe: check the request may be submitted; write a durable
"submission_started" timeline event (the channel, the attempt, its idempotency key); call the
channel outside any database transaction; then record `submitted` with the receipt. The key is
"<request id>-<attempt>" and an attempt only advances after a recorded failure, so a retry after a
crash reuses the key and the channel (the fax outbox refuses a reference it has) returns the first
receipt instead of sending again. A failure goes on the timeline and flags needs_attention.

A portal run gets the vault's credentials (leased for the run) and a `before_irreversible` that
writes "portal_submit_clicking" in its own transaction right before the one submit click. When the
timeline holds such a record and the request was not recorded as submitted (a failure after the
click, or a crash), the click may have reached the portal: the next submit first asks the portal
(the status SOP, `channel.check`) and records the answer it has instead of submitting again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from precert.channels.base import Channel, Destination, Receipt, Submission, SubmittedDocument
from precert.channels.manual import ManualSubmission, manual_note
from precert.channels.portal.channel import PortalHandOver
from precert.channels.portal.record import RunObserver
from precert.channels.registry import channel_named, choose
from precert.domain.authorizations import (
    AuthorizationRequest,
    Event,
    TimelineEvent,
    apply,
    clear_attention,
    flag_attention,
)
from precert.errors import PrecertError
from precert.services import documents
from precert.services.audit import record
from precert.services.authorization_requests import (
    ENTITY,
    Requester,
    next_action,
    request_repository,
    require_changer,
)
from precert.services.context import Context
from precert.services.notifications import notify_decision
from precert.services.payer_exchanges import (
    answer_events,
    ensure_subscription,
    payer_name,
    record_exchange,
)
from precert.services.portal_access import portal_access
from precert.store.accounts import OrganizationRepository
from precert.store.uow import UnitOfWork

STARTED = "submission_started"
FAILED = "submission_failed"
CLICKING = "portal_submit_clicking"  # written right before a portal's submit click
# needs_attention reasons this module sets start with this, so a later success clears them.
ATTENTION_PREFIX = "Submission failed"

__all__ = ["ManualSubmission", "SubmissionResult", "submit_request"]


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """The request after submitting, the channel's receipt, and whether this call only found an
    earlier success (a retry: nothing was sent again)."""

    request: AuthorizationRequest
    receipt: Receipt
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class _Plan:
    request: AuthorizationRequest
    channel: Channel
    submission: Submission
    attempt: int
    # A click recorded earlier with no submission recorded after it: ask the portal first.
    in_doubt: bool = False
    # Set once this attempt recorded CLICKING (the click may have happened).
    clicking: list[dt.datetime] = field(default_factory=list)


def submit_request(
    ctx: Context,
    actor: Requester,
    request_id: str,
    *,
    channel: str | None = None,
    details: ManualSubmission | None = None,
    idempotency_key: str | None = None,
    observer: RunObserver | None = None,
    holder: str | None = None,
) -> SubmissionResult:
    """Send a ready request through `channel` (the payer's first supported one when None;
    `manual` when a person gives `details`) and record it as submitted with the receipt.

    `idempotency_key` is the caller's: a repeat with the same key after a success answers the
    first result and sends nothing. `observer` follows a portal run (services/portal_runs.py) and
    `holder` is the run's credential-lease holder.
    """
    require_changer(actor, "change requests")
    earlier = _earlier_success(ctx, actor, request_id, idempotency_key)
    if earlier is not None:
        return earlier
    name = "manual" if details is not None and channel is None else channel
    plan = _prepare(ctx, actor, request_id, name, details, idempotency_key)
    with _portal_run(ctx, actor, plan, observer, holder) as run:
        try:
            receipt = _settled(ctx, run) if run.in_doubt else None
            if receipt is None:
                receipt = run.channel.submit(run.submission)
        except PrecertError as failure:
            _record_failure(ctx, actor, run, failure)
            raise
    return _record_success(ctx, actor, run, receipt, idempotency_key)


@contextmanager
def _portal_run(
    ctx: Context,
    actor: Requester,
    plan: _Plan,
    observer: RunObserver | None,
    holder: str | None,
) -> Iterator[_Plan]:
    """For the portal channel: the plan with the vault's credentials (released after the run)
    and the durable before-the-click callback; any other channel's plan as it is."""
    if plan.channel.name != "portal":
        yield plan
        return
    with portal_access(ctx, actor.organization_id, holder) as access:
        submission = replace(
            plan.submission,
            access=access,
            before_irreversible=_clicking(ctx, actor, plan),
            observer=observer,
        )
        yield replace(plan, submission=submission)


def _clicking(ctx: Context, actor: Requester, plan: _Plan) -> Callable[[], None]:
    """The callback writing CLICKING in its own transaction; the click waits for its commit."""

    def before_irreversible() -> None:
        at = ctx.now()
        data = {"channel": plan.channel.name, "attempt": plan.attempt}
        data["key"] = plan.submission.idempotency_key
        with ctx.uow() as uow:
            repo = request_repository(ctx, uow)
            status = repo.get(actor.organization_id, plan.request.id).status
            event = TimelineEvent(at, actor.email, CLICKING, status, status, "", data)
            repo.add_event(actor.organization_id, plan.request.id, event)
            uow.commit()
        plan.clicking.append(at)

    return before_irreversible


def _settled(ctx: Context, plan: _Plan) -> Receipt | None:
    """The portal's answer on a submission in doubt (a receipt saying so), or None when the
    portal has no such request and it is safe to submit."""
    at = ctx.now()
    answer = plan.channel.check(plan.submission, Receipt(plan.channel.name, "", at))
    if answer is None:
        return None
    details = {"settled_by": "status check", "outcome": answer.kind.value}
    return Receipt(plan.channel.name, answer.reference, at, details, answer)


def _prepare(
    ctx: Context,
    actor: Requester,
    request_id: str,
    named: str | None,
    details: ManualSubmission | None,
    caller_key: str | None,
) -> _Plan:
    """Check, choose the channel, gather documents and write "about to submit" (one commit)."""
    at = ctx.now()
    facts = details.as_details() if details is not None else {}
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        apply(request, Event.SUBMIT, at=at, actor=actor.email)  # refuses now, before any send
        name, destination = choose(request, named, ctx.settings)
        channel = channel_named(name, ctx.settings, clock=ctx.now)
        timeline = repo.timeline(actor.organization_id, request_id)
        attempt = 1 + sum(1 for event in timeline if event.kind == FAILED)
        in_doubt = _click_in_doubt(timeline)
        key = f"{request_id}-{attempt}"
        if channel.transmits:
            data = {"channel": name, "attempt": attempt, "key": key}
            if caller_key is not None:
                data["idempotency_key"] = caller_key
            status = request.status
            started = TimelineEvent(at, actor.email, STARTED, status, status, "", data)
            repo.add_event(actor.organization_id, request_id, started)
        organization = OrganizationRepository(uow.session).get(actor.organization_id)
        uow.commit()
    sent = documents.documents_to_send(ctx, actor, request_id) if channel.transmits else []
    submission = Submission(
        request=request,
        documents=tuple(
            SubmittedDocument(d.document.kind, d.document.media_type, d.data) for d in sent
        ),
        idempotency_key=key,
        destination=destination if destination.type else Destination(name),
        payer_name=payer_name(ctx, request.coverage.payer_id),
        organization_name=organization.name if organization is not None else "",
        details=facts,
    )
    return _Plan(request, channel, submission, attempt, in_doubt)


def _click_in_doubt(timeline: list[TimelineEvent]) -> bool:
    """Whether a portal click was recorded after the request's last recorded submission."""
    for event in reversed(timeline):
        if event.kind == Event.SUBMIT.value:
            return False
        if event.kind == CLICKING:
            return True
    return False


def _record_success(
    ctx: Context, actor: Requester, plan: _Plan, receipt: Receipt, caller_key: str | None
) -> SubmissionResult:
    """`submitted` with the receipt and, when the payer answered at once (X12 real time, PAS
    $submit), that answer too, in one transaction; an electronic submission still undecided is
    remembered for the scheduled inquiry (and the payer's Subscription, where configured)."""
    at = ctx.now()
    name = plan.channel.name
    data: dict[str, Any] = {"channel": name, "receipt": receipt.as_dict()}
    data.update(plan.submission.details)
    if plan.channel.transmits:
        data.update(attempt=plan.attempt, key=plan.submission.idempotency_key)
    if caller_key is not None:
        data["idempotency_key"] = caller_key
    note = manual_note(dict(plan.submission.details)) if not plan.channel.transmits else ""
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, plan.request.id)
        events: list[TimelineEvent] = []
        if (request.needs_attention or "").startswith(ATTENTION_PREFIX):
            request, cleared = clear_attention(request, at=at, actor=actor.email, note="submitted")
            events.append(cleared)
        changed, submitted = apply(
            request, Event.SUBMIT, at=at, actor=actor.email, note=note, data=data
        )
        events.append(submitted)
        decided = False
        if receipt.answer is not None:
            landed = answer_events(changed, receipt.answer, at=at, source=f"{name} response")
            changed, decided = landed.request, landed.decided
            events.extend(landed.events)
        repo.save(changed, next_action_at=next_action(changed, at))
        for event in events:
            repo.add_event(actor.organization_id, changed.id, event)
        record_exchange(
            uow, changed, plan.channel, plan.submission, receipt, settings=ctx.settings, at=at
        )
        _audit(uow, actor, changed.id, at, f"submit via {name}")
        uow.commit()
    if decided:
        notify_decision(ctx, changed, at=at)
    elif plan.channel.inquires and plan.submission.destination.pended == "subscription":
        ensure_subscription(ctx, actor.organization_id, changed.coverage.payer_id, plan.channel)
    return SubmissionResult(changed, receipt)


def _record_failure(ctx: Context, actor: Requester, plan: _Plan, failure: PrecertError) -> None:
    """The failure on the timeline and needs_attention set; the request stays ready."""
    at = ctx.now()
    name = plan.channel.name
    data = {
        "channel": name,
        "attempt": plan.attempt,
        "key": plan.submission.idempotency_key,
        "error": type(failure).__name__,
        "retryable": failure.retryable,
    }
    if plan.clicking:  # the next submit asks the portal before submitting again
        data["may_have_submitted"] = True
    what = "try again" if failure.retryable else "fix the cause, then submit again"
    if isinstance(failure, PortalHandOver):  # the SOP stopped for a person: no retry will do
        data["person_must_take_over"] = True
        data["screenshot"] = failure.screenshot or ""
        what = "a person must take over on the portal, then record what happened"
        if failure.by_hand:  # a person chose to finish it on the portal themselves
            data["finished_by_hand"] = True
            what = "a person is finishing it on the portal by hand; record the submission when done"
    reason = f"{ATTENTION_PREFIX} through {name}: {failure.message} ({what})"
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, plan.request.id)
        status = request.status
        failed = TimelineEvent(at, actor.email, FAILED, status, status, failure.message, data)
        flagged, attention = flag_attention(request, reason, at=at, actor=actor.email)
        repo.save(flagged, next_action_at=next_action(flagged, at))
        repo.add_event(actor.organization_id, request.id, failed)
        repo.add_event(actor.organization_id, request.id, attention)
        _audit(uow, actor, request.id, at, f"submission via {name} failed")
        uow.commit()


def _earlier_success(
    ctx: Context, actor: Requester, request_id: str, caller_key: str | None
) -> SubmissionResult | None:
    """The result of an earlier submit with the caller's key, if one succeeded."""
    if caller_key is None:
        return None
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        timeline = repo.timeline(actor.organization_id, request_id)
        found = next(
            (
                Receipt.from_dict(event.data["receipt"])
                for event in reversed(timeline)
                if event.kind == Event.SUBMIT.value
                and event.data.get("idempotency_key") == caller_key
                and isinstance(event.data.get("receipt"), Mapping)
            ),
            None,
        )
        if found is None:
            return None
        record(
            uow,
            actor=actor.email,
            action="view",
            entity=ENTITY,
            entity_id=request_id,
            organization_id=actor.organization_id,
            reason="repeated submit: the first receipt answered",
            at=ctx.now(),
        )
        uow.commit()
    return SubmissionResult(request, found, repeated=True)


def _audit(
    uow: UnitOfWork, actor: Requester, request_id: str, at: dt.datetime, reason: str
) -> None:
    record(
        uow,
        actor=actor.email,
        action="change",
        entity=ENTITY,
        entity_id=request_id,
        organization_id=actor.organization_id,
        reason=reason,
        at=at,
    )
