"""Electronic answers landing on requests: what a payer's answer does to a request, whether it
comes back with the submission (X12 real time, PAS $submit), from a scheduled inquiry, or pushed by
the payer's Subscription; and the exchanges that say which submissions still wait for one.

Every path goes through `answer_events`, so an answer means the same wherever it came from, and
applying the same answer twice changes nothing (a notification racing an inquiry, a repeated push):
a decision is recorded only while the payer still owes one.

When to ask next: X12 and PAS every `inquiry_minutes`; a portal (a browser run per check) on the
payer's turnaround (domain/status_checks.py), set at the submission and after every check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from precert.channels.base import (
    AnswerKind,
    Channel,
    Destination,
    PayerAnswer,
    Receipt,
    Submission,
)
from precert.channels.fhir.channel import notification_request_id, read_notification
from precert.channels.portal.record import RunObserver
from precert.channels.registry import channel_named, choose
from precert.config import Settings
from precert.domain.authorizations import (
    TRANSITIONS,
    AuthorizationRequest,
    Event,
    Status,
    TimelineEvent,
    apply,
    flag_attention,
)
from precert.domain.determinations import event_for, validate_determination
from precert.domain.status_checks import next_status_check, stated_decision_due
from precert.errors import ChannelError, NotFound, PayerRejected
from precert.services.audit import SYSTEM
from precert.services.authorization_requests import audit_change, next_action, request_repository
from precert.services.context import Context
from precert.services.notifications import notify_decision
from precert.services.portal_access import portal_access
from precert.store.exchanges import AWAITING, SETTLED, Exchange, ExchangeRepository
from precert.store.uow import UnitOfWork

log = logging.getLogger(__name__)

INQUIRY_BATCH = 200
NOTIFY_PATH = "/fhir/pas/notify"
PORTAL = "portal"  # the portal channel's name: its checks follow the payer's turnaround


@dataclass(frozen=True, slots=True)
class DueInquiry:
    """A submission due to be asked about, and through which channel (a portal's check is a
    browser run on the portal queue, the others a call on the main queue)."""

    organization_id: str
    request_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class Landed:
    """What an answer did: the request after it, the timeline events added, and whether a
    decision was recorded (its notices go out after the commit)."""

    request: AuthorizationRequest
    events: tuple[TimelineEvent, ...]
    decided: bool


def answer_events(
    request: AuthorizationRequest,
    answer: PayerAnswer,
    *,
    at: dt.datetime,
    source: str,
    already_asked: bool = False,
) -> Landed:
    """The request after the payer's `answer` and the events that record it (not saved).

    `source` says how the answer came ("x12 real time", "fhir-pas inquiry", ...), kept in each
    event's data. `already_asked`: the payer's request for information is already on the
    timeline, so a repeat of it adds nothing.
    """
    data = {"source": source, "payer_reference": answer.reference}
    allowed = TRANSITIONS.get(request.status, {})
    if answer.kind is AnswerKind.DECIDED and answer.determination is not None:
        determination = answer.determination
        event = event_for(determination)
        if event not in allowed:
            return Landed(request, (), False)  # decided before (a repeat) or cancelled meanwhile
        found = validate_determination(request, determination)
        if found:
            # Never lose the payer's answer: it goes on the timeline for a person to record.
            reason = (
                "The payer's decision arrived but cannot be recorded as it is ("
                + "; ".join(issue.message for issue in found[:3])
                + "); read it on the timeline and record the decision by hand."
            )
            if request.needs_attention == reason:
                return Landed(request, (), False)
            changed, flagged = flag_attention(request, reason, at=at, actor=SYSTEM)
            kept = TimelineEvent(
                at,
                SYSTEM,
                "payer_answer_unrecorded",
                request.status,
                request.status,
                "",
                {**data, "determination": determination.as_dict()},
            )
            return Landed(changed, (kept, flagged), False)
        note = _decision_note(answer)
        changed, decided = apply(
            request,
            event,
            at=at,
            actor=SYSTEM,
            note=note,
            data={**data, "determination": determination.as_dict()},
        )
        return Landed(changed, (decided,), event is not Event.PAYER_PENDED)
    if answer.kind is AnswerKind.INFO_REQUESTED:
        if already_asked or Event.INFO_REQUESTED not in allowed:
            return Landed(request, (), False)
        note = answer.message or "The payer asks for more information."
        changed, asked = apply(
            request,
            Event.INFO_REQUESTED,
            at=at,
            actor=SYSTEM,
            note=note,
            data={**data, "documents": list(answer.documents)},
        )
        return Landed(changed, (asked,), False)
    if answer.kind is AnswerKind.CANCELLED:
        if Event.CANCEL not in allowed:
            return Landed(request, (), False)  # cancelled here already (we asked the payer to)
        note = answer.message or "The payer confirms the cancellation."
        changed, cancelled = apply(request, Event.CANCEL, at=at, actor=SYSTEM, note=note, data=data)
        return Landed(changed, (cancelled,), False)
    events: list[TimelineEvent] = []
    changed = request
    if request.status is Status.SUBMITTED and Event.PAYER_PENDED in allowed:
        note = f"Pended by the payer (reference {answer.reference})" if answer.reference else ""
        changed, pended = apply(
            request,
            Event.PAYER_PENDED,
            at=at,
            actor=SYSTEM,
            note=note or "Pended by the payer.",
            data=data,
        )
        events.append(pended)
    if answer.kind is AnswerKind.CONTACT_PAYER:
        reason = "The payer asks you to call about this request" + (
            f" (reference {answer.reference})" if answer.reference else ""
        )
        reason += f": {answer.message}" if answer.message else "."
        if changed.needs_attention != reason:
            changed, flagged = flag_attention(changed, reason, at=at, actor=SYSTEM)
            events.append(flagged)
    return Landed(changed, tuple(events), False)


def record_exchange(
    uow: UnitOfWork,
    request: AuthorizationRequest,
    channel: Channel,
    submission: Submission,
    receipt: Receipt,
    *,
    settings: Settings,
    at: dt.datetime,
) -> None:
    """Remember an electronic submission: awaiting (its first check scheduled, see
    `_next_check`) unless its answer already settled it."""
    if not channel.inquires:
        return
    settled = receipt.answer is not None and receipt.answer.kind is AnswerKind.DECIDED
    ExchangeRepository(uow.session).add(
        Exchange(
            key=submission.idempotency_key,
            organization_id=request.organization_id,
            request_id=request.id,
            channel=channel.name,
            payer_id=request.coverage.payer_id,
            reference=receipt.reference,
            submitted_at=receipt.sent_at,
            receipt=receipt.as_dict(),
            status=SETTLED if settled else AWAITING,
            payer_reference=receipt.answer.reference if receipt.answer else "",
            next_check_at=None
            if settled
            else _next_check(settings, request, channel.name, receipt.sent_at, at=at),
        )
    )


def inquiries_due(
    ctx: Context, *, now: dt.datetime, limit: int = INQUIRY_BATCH
) -> list[DueInquiry]:
    """Electronic submissions due to be asked about, soonest first, with their channel."""
    with ctx.uow() as uow:
        exchanges = ExchangeRepository(uow.session)
        due = []
        for organization_id, request_id in exchanges.due(now, limit):
            awaited = exchanges.awaiting(organization_id, request_id)
            if awaited is not None:
                due.append(DueInquiry(organization_id, request_id, awaited.channel))
        return due


def inquire(
    ctx: Context,
    organization_id: str,
    request_id: str,
    *,
    now: dt.datetime,
    observer: RunObserver | None = None,
    holder: str | None = None,
) -> AuthorizationRequest | None:
    """Ask the payer about the request's awaiting submission and land the answer; None when
    nothing is awaited (decided meanwhile) or the payer has no answer yet. The network call runs
    outside any transaction. `observer` follows a portal's status run (services/portal_runs.py),
    `holder` is its credential-lease holder; with an observer a failed check is raised after it
    was rescheduled, so the run can say what went wrong."""
    with ctx.uow() as uow:
        exchange = ExchangeRepository(uow.session).awaiting(organization_id, request_id)
        if exchange is None:
            return None
        request = request_repository(ctx, uow).get(organization_id, request_id)
    channel = channel_named(exchange.channel, ctx.settings, clock=ctx.now)
    submission = submission_for(ctx, request, exchange)
    receipt = Receipt.from_dict(exchange.receipt)
    try:
        with portal_access(ctx, organization_id, holder) as access:  # a status SOP logs in
            asking = replace(submission, access=access, observer=observer)
            answer = channel.check(asking, receipt)
    except PayerRejected as refused:
        return _refused(ctx, request, exchange, refused, now)
    except ChannelError as failed:
        # The payer did not answer: ask again at the next interval (the sweep keeps trying).
        log.warning("inquiry through %s failed: %s", exchange.channel, failed.message)
        upcoming = _next_check(
            ctx.settings, request, exchange.channel, exchange.submitted_at, at=now, failed=True
        )
        with ctx.uow() as uow:
            ExchangeRepository(uow.session).checked(exchange.key, at=now, next_check_at=upcoming)
            uow.commit()
        if observer is not None:
            raise
        return None
    if answer is None:
        upcoming = _next_check(
            ctx.settings, request, exchange.channel, exchange.submitted_at, at=now
        )
        with ctx.uow() as uow:
            ExchangeRepository(uow.session).checked(exchange.key, at=now, next_check_at=upcoming)
            uow.commit()
        return None
    return land(
        ctx,
        organization_id,
        request_id,
        answer,
        source=f"{exchange.channel} inquiry",
        at=now,
        exchange_key=exchange.key,
    )


def land(
    ctx: Context,
    organization_id: str,
    request_id: str,
    answer: PayerAnswer,
    *,
    source: str,
    at: dt.datetime,
    exchange_key: str | None = None,
) -> AuthorizationRequest:
    """Apply `answer` to the request in one transaction, settle or reschedule its exchange, and
    log the decision's notices after the commit."""
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(organization_id, request_id)
        asked = _info_already_requested(repo.timeline(organization_id, request_id), answer)
        landed = answer_events(request, answer, at=at, source=source, already_asked=asked)
        exchanges = ExchangeRepository(uow.session)
        if landed.events:
            repo.save(landed.request, next_action_at=next_action(landed.request, at))
            for event in landed.events:
                repo.add_event(organization_id, request_id, event)
            audit_change(
                uow,
                actor=SYSTEM,
                organization_id=organization_id,
                request_id=request_id,
                at=at,
                reason=f"payer answer ({source}): {answer.kind.value}",
            )
        if landed.decided or landed.request.status not in (Status.SUBMITTED, Status.PENDED):
            exchanges.settle(organization_id, request_id, at=at)
        elif exchange_key is not None:
            checked = next(
                (
                    e
                    for e in exchanges.of_request(organization_id, request_id)
                    if e.key == exchange_key
                ),
                None,
            )
            upcoming = (
                at + _interval(ctx.settings)
                if checked is None
                else _next_check(
                    ctx.settings, landed.request, checked.channel, checked.submitted_at, at=at
                )
            )
            exchanges.checked(
                exchange_key, at=at, next_check_at=upcoming, payer_reference=answer.reference
            )
        uow.commit()
    if landed.decided:
        notify_decision(ctx, landed.request, at=at)
    return landed.request


def notification_token(settings: Settings, organization_id: str) -> str:
    """The bearer token a payer's Subscription sends back to precert for one organization: derived
    from the secret key, so nothing is stored and a leaked token names one organization only."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"pas-notify:{organization_id}".encode(), hashlib.sha256).hexdigest()


def receive_notification(
    ctx: Context, organization_id: str, token: str, body: object
) -> AuthorizationRequest | None:
    """Land a payer's pushed PAS decision for one organization. NotFound for a wrong token or an
    unknown request (the same answer for both, so a caller learns nothing); InvalidInput, naming
    the element, for a notification that cannot be read."""
    if not hmac.compare_digest(token, notification_token(ctx.settings, organization_id)):
        raise NotFound("No such subscription.")
    at = ctx.now()
    request_id = notification_request_id(body)
    with ctx.uow() as uow:
        try:
            request = request_repository(ctx, uow).get(organization_id, request_id)
        except NotFound:
            raise NotFound("No such subscription.") from None
        exchange = ExchangeRepository(uow.session).awaiting(organization_id, request_id)
    # The request's lines, so each decided item names the code that was asked for.
    _, answer = read_notification(body, request.lines, received_on=at.date())
    return land(
        ctx,
        organization_id,
        request_id,
        answer,
        source="fhir-pas subscription",
        at=at,
        exchange_key=exchange.key if exchange else None,
    )


def ensure_subscription(
    ctx: Context, organization_id: str, payer_id: str, channel: Channel
) -> str | None:
    """The organization's Subscription at the payer, created on first need; None when the channel
    cannot subscribe or the payer refused (the scheduled inquiry still finds the decision)."""
    with ctx.uow() as uow:
        held = ExchangeRepository(uow.session).subscription(organization_id, payer_id)
    if held is not None:
        return held
    subscribe = getattr(channel, "subscribe", None)
    if subscribe is None:
        return None
    endpoint = f"{ctx.settings.base_url.rstrip('/')}{NOTIFY_PATH}/{organization_id}"
    try:
        created = str(
            subscribe(payer_id, endpoint, notification_token(ctx.settings, organization_id))
        )
    except ChannelError as failed:
        log.warning("subscribing at %s failed: %s", payer_id, failed.message)
        return None
    with ctx.uow() as uow:
        exchanges = ExchangeRepository(uow.session)
        if exchanges.subscription(organization_id, payer_id) is None:
            exchanges.add_subscription(organization_id, payer_id, created, endpoint, ctx.now())
            uow.commit()
    return created


def submission_for(ctx: Context, request: AuthorizationRequest, exchange: Exchange) -> Submission:
    """The submission an inquiry or amendment refers to: the same request, key and destination
    (no documents: neither sends any)."""
    try:
        _, destination = choose(request, exchange.channel, ctx.settings)
    except ChannelError:
        destination = Destination(exchange.channel)
    return Submission(
        request=request,
        documents=(),
        idempotency_key=exchange.key,
        destination=destination,
        payer_name=payer_name(ctx, request.coverage.payer_id),
    )


def _refused(
    ctx: Context,
    request: AuthorizationRequest,
    exchange: Exchange,
    refused: PayerRejected,
    now: dt.datetime,
) -> AuthorizationRequest:
    """The payer refused the inquiry (it does not know the request, or rejects it): a person must
    look; the exchange stops being asked about."""
    reason = f"The payer refused an inquiry through {exchange.channel}: {refused.message}"
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        current = repo.get(request.organization_id, request.id)
        ExchangeRepository(uow.session).checked(exchange.key, at=now, next_check_at=None)
        if current.needs_attention != reason:
            current, flagged = flag_attention(current, reason, at=now, actor=SYSTEM)
            repo.save(current, next_action_at=next_action(current, now))
            repo.add_event(current.organization_id, current.id, flagged)
        uow.commit()
    return current


def _info_already_requested(timeline: Sequence[TimelineEvent], answer: PayerAnswer) -> bool:
    if answer.kind is not AnswerKind.INFO_REQUESTED:
        return False
    for event in reversed(timeline):
        if event.kind == Event.INFO_REQUESTED.value:
            return True
        if event.kind in (Event.SUBMIT.value, Event.INFO_SENT.value):
            return False
    return False


def _decision_note(answer: PayerAnswer) -> str:
    determination = answer.determination
    if determination is None:
        return ""
    if determination.authorization_number:
        return f"Authorization {determination.authorization_number}"
    return answer.message


def _interval(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.inquiry_minutes)


def _next_check(
    settings: Settings,
    request: AuthorizationRequest,
    channel: str,
    submitted_at: dt.datetime,
    *,
    at: dt.datetime,
    failed: bool = False,
) -> dt.datetime:
    """When to ask about a submission next, after submitting or checking at `at`: X12 and PAS
    every inquiry interval; a portal on the payer's turnaround. A portal check that failed is
    tried again within the inquiry interval (a transient failure must not wait for the next
    point of a long turnaround), or at the next point if that comes first."""
    interval = _interval(settings)
    if channel != PORTAL:
        return at + interval
    due = stated_decision_due(request)
    upcoming = next_status_check(submitted_at, due, at, at, unknown_every=interval)
    return min(upcoming, at + interval) if failed else upcoming


def payer_name(ctx: Context, payer_id: str) -> str:
    """The payer's name from its pack (the id when the pack is gone)."""
    try:
        return ctx.rulebook().pack(payer_id).name
    except (NotFound, KeyError):
        return payer_id


__all__ = [
    "DueInquiry",
    "Landed",
    "answer_events",
    "ensure_subscription",
    "inquire",
    "inquiries_due",
    "land",
    "notification_token",
    "payer_name",
    "receive_notification",
    "record_exchange",
    "submission_for",
]
