"""Changing what was sent to an electronic payer: cancelling a request the payer has (so the
payer withdraws it too) and asking to extend an approval (more time or units), through the channel
the request went by (X12 UM02 3/4 with REF*BB; a PAS update Claim).

The payer is asked first, with no transaction open; the request changes only on the payer's
confirmation, so a failed call leaves it as it was and says what to do. A request that never went
electronically (a draft, a fax, a phone call) is cancelled here only, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from precert.channels.base import Amending, AnswerKind, PayerAnswer, Receipt
from precert.channels.registry import channel_named
from precert.domain.authorizations import (
    TRANSITIONS,
    AuthorizationRequest,
    Event,
    Status,
    TimelineEvent,
    apply,
    flag_attention,
)
from precert.domain.determinations import (
    Determination,
    Outcome,
    validate_determination,
)
from precert.errors import ChannelMisconfigured, InvalidInput, Issue, PayerRejected
from precert.services.authorization_requests import (
    Requester,
    audit_change,
    cancel_request,
    next_action,
    request_repository,
    require_changer,
    standing_decision,
)
from precert.services.context import Context
from precert.services.payer_exchanges import submission_for
from precert.store.exchanges import Exchange, ExchangeRepository

EXTENSION_APPROVED = "extension_approved"
EXTENSION_DENIED = "extension_denied"  # in NOT_STANDING: the approval stands as it was
EXTENSION_PENDED = "extension_pended"
_GRANTED = (Status.APPROVED, Status.PARTIALLY_APPROVED)


@dataclass(frozen=True, slots=True)
class _AtPayer:
    """What is needed to amend at the payer: the request, its last electronic exchange, the
    channel it went by and the payer's latest decision on it."""

    request: AuthorizationRequest
    exchange: Exchange | None
    determination: Determination | None


def cancel_with_payer(
    ctx: Context, actor: Requester, request_id: str, note: str = ""
) -> AuthorizationRequest:
    """Cancel the request; when it went to the payer electronically and is still open or
    approved there, the payer is asked to cancel it first and the request is cancelled on its
    confirmation (PayerRejected when the payer does not confirm: nothing changes here)."""
    require_changer(actor, "change requests")
    found = _load(ctx, actor, request_id)
    request, exchange = found.request, found.exchange
    if exchange is None or Event.CANCEL not in TRANSITIONS.get(request.status, {}):
        return cancel_request(ctx, actor, request_id, note)  # nothing electronic to withdraw
    channel = channel_named(exchange.channel, ctx.settings, clock=ctx.now)
    number = _number(found) or exchange.payer_reference
    if not isinstance(channel, Amending) or not number:
        return cancel_request(ctx, actor, request_id, note)
    answer = channel.amend(
        submission_for(ctx, request, exchange),
        Receipt.from_dict(exchange.receipt),
        kind="cancel",
        authorization_number=number,
    )
    if answer.kind is not AnswerKind.CANCELLED:
        message = (
            f"The payer did not confirm the cancellation (it answered {answer.kind.value}); the "
            "request is unchanged. Call the payer to cancel, then cancel here."
        )
        raise PayerRejected(message, [Issue("not-cancelled", message, "cancel")])
    at = ctx.now()
    data = {"source": f"{exchange.channel} cancel", "payer_reference": answer.reference}
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        current = repo.get(actor.organization_id, request_id)
        words = note.strip() or "Cancelled; the payer confirmed the cancellation."
        changed, event = apply(
            current, Event.CANCEL, at=at, actor=actor.email, note=words, data=data
        )
        repo.save(changed, next_action_at=next_action(changed, at))
        repo.add_event(actor.organization_id, request_id, event)
        ExchangeRepository(uow.session).settle(actor.organization_id, request_id, at=at)
        audit_change(
            uow,
            actor=actor.email,
            organization_id=actor.organization_id,
            request_id=request_id,
            at=at,
            reason=f"cancelled at the payer via {exchange.channel}",
        )
        uow.commit()
    return changed


def request_extension(
    ctx: Context,
    actor: Requester,
    request_id: str,
    *,
    to_date: dt.date | None = None,
    units: Mapping[str, int] | None = None,
    note: str = "",
) -> tuple[AuthorizationRequest, PayerAnswer]:
    """Ask the payer to extend an approval (a later end date and/or more units per code) through
    the channel the request went by; the payer's answer goes on the timeline: an approved
    extension carries the new determination (its window and units are what the follow-ups and
    the claim check use from then on)."""
    require_changer(actor, "change requests")
    if to_date is None and not units:
        raise InvalidInput.field(
            "to",
            "to: give the new last day of service and/or the units asked per code.",
            "required",
        )
    found = _load(ctx, actor, request_id)
    request, exchange = found.request, found.exchange
    if request.status not in _GRANTED or found.determination is None:
        raise InvalidInput.field(
            "status",
            "status: only an approved request can be extended; submit a new request instead.",
            "invalid_transition",
        )
    channel = channel_named(exchange.channel, ctx.settings, clock=ctx.now) if exchange else None
    if exchange is None or not isinstance(channel, Amending):
        message = (
            "This request did not go to the payer electronically, so precert cannot ask for the "
            "extension; ask the payer by phone or portal and record its new decision."
        )
        raise ChannelMisconfigured(message, [Issue("no-electronic-channel", message, "channel")])
    answer = channel.amend(
        submission_for(ctx, request, exchange),
        Receipt.from_dict(exchange.receipt),
        kind="extend",
        authorization_number=found.determination.authorization_number,
        to_date=to_date,
        units=units,
    )
    changed = _record_extension(ctx, actor, request_id, answer, exchange.channel, note)
    return changed, answer


def _record_extension(
    ctx: Context,
    actor: Requester,
    request_id: str,
    answer: PayerAnswer,
    channel: str,
    note: str,
) -> AuthorizationRequest:
    at = ctx.now()
    data: dict[str, object] = {
        "source": f"{channel} extension",
        "payer_reference": answer.reference,
    }
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        status = request.status
        events: list[TimelineEvent] = []
        determination = answer.determination
        if answer.kind is AnswerKind.DECIDED and determination is not None:
            granted = determination.outcome in (Outcome.APPROVED, Outcome.PARTIALLY_APPROVED)
            problems = validate_determination(request, determination) if granted else []
            kind = EXTENSION_APPROVED if granted and not problems else EXTENSION_DENIED
            data["determination"] = determination.as_dict()
            words = note.strip() or _extension_words(determination, granted, problems)
            events.append(TimelineEvent(at, actor.email, kind, status, status, words, data))
        else:
            words = note.strip() or "The payer has not decided the extension yet."
            events.append(
                TimelineEvent(at, actor.email, EXTENSION_PENDED, status, status, words, data)
            )
            reference = f" (reference {answer.reference})" if answer.reference else ""
            reason = f"The payer pended the extension{reference}; ask the payer for its decision."
            request, flagged = flag_attention(request, reason, at=at, actor=actor.email)
            events.append(flagged)
        latest = determination if events[0].kind == EXTENSION_APPROVED else None
        repo.save(request, next_action_at=next_action(request, at, latest))
        for event in events:
            repo.add_event(actor.organization_id, request_id, event)
        audit_change(
            uow,
            actor=actor.email,
            organization_id=actor.organization_id,
            request_id=request_id,
            at=at,
            reason=f"extension via {channel}: {events[0].kind}",
        )
        uow.commit()
    return request


def _extension_words(determination: Determination, granted: bool, problems: list[Issue]) -> str:
    if not granted:
        reasons = ", ".join(determination.reason_codes) or "no reason given"
        return f"The payer denied the extension ({reasons}); the approval stands as it was."
    if problems:
        return "The payer's answer cannot be recorded as it is: " + problems[0].message
    window = f"{determination.valid_from} to {determination.valid_to}"
    return f"Extension approved under {determination.authorization_number}: valid {window}."


def _load(ctx: Context, actor: Requester, request_id: str) -> _AtPayer:
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        exchange = ExchangeRepository(uow.session).latest(actor.organization_id, request_id)
        determination = standing_decision(repo, request, ctx.today())
    return _AtPayer(request, exchange, determination)


def _number(found: _AtPayer) -> str:
    return found.determination.authorization_number if found.determination else ""
