"""Checking a request's coverage with its payer (X12 270/271) and keeping the answer on the request.

`check_eligibility` loads the request, asks the payer outside any database transaction (a payer
may take a minute), then in one transaction records a "coverage_checked" timeline event, the
audit event and, when the payer says coverage is inactive or its EB11 flag disagrees with our rule
pack for a service type, needs_attention with what to do. The event's data is PHI-free (no names,
birth dates or member ids): coverage, plan and dates, and per service type of the request's lines
the payer's flag next to the rule pack's answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from precert.channels.x12.eligibility import check_coverage
from precert.domain.authorizations import (
    AuthorizationRequest,
    TimelineEvent,
    clear_attention,
    flag_attention,
)
from precert.domain.eligibility import (
    AuthorizationAnswer,
    CoverageCheck,
    authorization_answer,
    service_type_for,
    service_type_label,
)
from precert.domain.rules import Decision
from precert.errors import PayerRejected
from precert.services.audit import record
from precert.services.authorization_requests import (
    ENTITY,
    Requester,
    next_action,
    request_repository,
    require_changer,
)
from precert.services.context import Context
from precert.services.payer_exchanges import payer_name
from precert.store.accounts import OrganizationRepository
from precert.store.uow import UnitOfWork

CHECKED = "coverage_checked"
# needs_attention reasons set here start with this, so a later clean check clears them (and
# never clears another module's reason).
ATTENTION_PREFIX = "Coverage check"
# When lines of one service type have different rule-pack answers, the most demanding wins.
_RULE_ORDER = (
    Decision.REQUIRED,
    Decision.NOTIFICATION,
    Decision.CONDITIONAL,
    Decision.UNKNOWN,
    Decision.NOT_REQUIRED,
)


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """The request after the check, the payer's answer per service type next to the rule pack's,
    and the PHI-free data kept on the timeline (`data`, also the API's answer)."""

    request: AuthorizationRequest
    check: CoverageCheck  # holds the member id: show it only to an authorised caller
    answers: tuple[AuthorizationAnswer, ...]
    data: Mapping[str, Any]
    attention: str | None  # the sentence set on needs_attention, None when all is well


def check_eligibility(ctx: Context, actor: Requester, request_id: str) -> EligibilityResult:
    """Ask the payer whether the request's member is covered and whether its service types need
    authorization; record the answer. The channel's errors (ChannelMisconfigured,
    ChannelUnavailable, PayerRejected) reach the caller; a payer's rejection is audited first,
    since the inquiry (PHI) reached the payer."""
    require_changer(actor, "check coverage")
    request, organization = _load(ctx, actor, request_id)
    try:
        check = check_coverage(
            request,
            settings=ctx.settings,
            clock=ctx.now,
            payer_name=payer_name(ctx, request.coverage.payer_id),
            provider_name=organization,
        )
    except PayerRejected as rejected:
        _audit_only(
            ctx, actor, request_id, f"coverage check rejected by the payer: {rejected.message}"
        )
        raise
    answers = tuple(
        authorization_answer(check, service_type, decision)
        for service_type, decision in rule_answers(request).items()
    )
    data = coverage_data(check, answers, request)
    return _record(ctx, actor, request_id, check, answers, data)


def rule_answers(request: AuthorizationRequest) -> dict[str, Decision | None]:
    """The rule pack's answer per service type of the request's lines (in line order), folded
    from the requirement captured per line; None where no answer was captured."""
    found: dict[str, list[Decision]] = {}
    for index, line in enumerate(request.lines):
        decisions = found.setdefault(service_type_for(line.code, line.pos), [])
        decision = _captured(request.requirement, index, line.code)
        if decision is not None:
            decisions.append(decision)
    return {
        service_type: next((d for d in _RULE_ORDER if d in decisions), None)
        for service_type, decisions in found.items()
    }


def coverage_data(
    check: CoverageCheck, answers: tuple[AuthorizationAnswer, ...], request: AuthorizationRequest
) -> dict[str, Any]:
    """What the timeline keeps (and the API answers): no names, birth dates or member ids."""

    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    services = []
    for answer in answers:
        codes = [
            line.code
            for line in request.lines
            if service_type_for(line.code, line.pos) == answer.service_type
        ]
        coverage = check.for_service(answer.service_type)
        services.append(
            {
                "service_type": answer.service_type,
                "label": service_type_label(answer.service_type),
                "codes": list(dict.fromkeys(codes)),
                "covered": coverage.covered,
                "payer": str(answer.payer),  # EB11: required / not_required / unknown / not_stated
                "rules": None if answer.rules is None else str(answer.rules),
                "agree": answer.agree,
                "disagree": answer.agree is False,
                "from_plan_coverage": coverage.from_plan_coverage,
                "summary": answer.summary,
            }
        )
    return {
        "active": check.active,
        "plan": check.plan or None,
        "plan_begin": day(check.plan_begin),
        "plan_end": day(check.plan_end),
        "eligibility_begin": day(check.eligibility_begin),
        "eligibility_end": day(check.eligibility_end),
        "payer_id": request.coverage.payer_id,
        "services": services,
        "rejects": [
            {"reason": r.reason, "follow_up": r.follow_up, "message": r.issue.message}
            for r in check.rejects
        ],
    }


def attention_for(check: CoverageCheck, answers: tuple[AuthorizationAnswer, ...]) -> str | None:
    """The needs_attention sentence this check calls for: inactive coverage, or the payer and
    the rule pack disagreeing on a service type; None when neither."""
    if check.active is False:
        return (
            f"{ATTENTION_PREFIX}: the payer says the member's coverage is inactive. Confirm the "
            "patient's current insurance and correct the request's coverage before requesting "
            "approval."
        )
    disagreeing = [a for a in answers if a.agree is False]
    if not disagreeing:
        return None
    parts = "; ".join(
        f"service type {a.service_type} ({service_type_label(a.service_type)}): the payer says "
        f"{_flag_words(a)}, the rule pack says {str(a.rules).replace('_', ' ')}"
        for a in disagreeing
    )
    return (
        f"{ATTENTION_PREFIX}: the payer's 271 and the rule pack disagree ({parts}). Call the "
        "payer to confirm whether authorization is required before submitting or skipping it."
    )


def summary(data: Mapping[str, Any]) -> str:
    """One sentence for the timeline note and the page's flash message."""
    active = data.get("active")
    if active is True:
        plan = f" ({data['plan']})" if data.get("plan") else ""
        dates = ""
        if data.get("plan_begin") or data.get("plan_end"):
            dates = f", plan dates {data.get('plan_begin') or '?'} to {data.get('plan_end') or '?'}"
        head = f"Coverage is active{plan}{dates}."
    elif active is False:
        head = "The payer says coverage is inactive."
    else:
        head = "The payer's 271 does not say whether coverage is active."
    parts = [
        f"{s['service_type']}: payer {str(s['payer']).replace('_', ' ')}, rule pack "
        f"{str(s['rules'] or 'no answer').replace('_', ' ')}"
        + (" (disagree)" if s["disagree"] else "")
        for s in data.get("services", [])
    ]
    return head + (f" Authorization by service type: {'; '.join(parts)}." if parts else "")


# -- loading and recording --------------------------------------------------------------------


def _load(ctx: Context, actor: Requester, request_id: str) -> tuple[AuthorizationRequest, str]:
    """The request (404 when not in the actor's organization) and the organization's name."""
    with ctx.uow() as uow:
        request = request_repository(ctx, uow).get(actor.organization_id, request_id)
        organization = OrganizationRepository(uow.session).get(actor.organization_id)
        _audit(
            uow, actor, request_id, ctx.now(), "view", "coverage check: member data read for a 270"
        )
        uow.commit()
    return request, organization.name if organization is not None else ""


def _record(
    ctx: Context,
    actor: Requester,
    request_id: str,
    check: CoverageCheck,
    answers: tuple[AuthorizationAnswer, ...],
    data: dict[str, Any],
) -> EligibilityResult:
    at = ctx.now()
    attention = attention_for(check, answers)
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        request = repo.get(actor.organization_id, request_id)
        status = request.status
        events = [TimelineEvent(at, actor.email, CHECKED, status, status, summary(data), data)]
        changed = request
        previous = request.needs_attention or ""
        if attention is not None and previous != attention:
            changed, flagged = flag_attention(request, attention, at=at, actor=actor.email)
            events.append(flagged)
        elif attention is None and previous.startswith(ATTENTION_PREFIX):
            note = "a later coverage check found nothing to act on"
            changed, cleared = clear_attention(request, at=at, actor=actor.email, note=note)
            events.append(cleared)
        if changed is not request:
            repo.save(changed, next_action_at=next_action(changed, at))
        for event in events:
            repo.add_event(actor.organization_id, request_id, event)
        _audit(uow, actor, request_id, at, "change", "coverage checked with the payer (270/271)")
        uow.commit()
    return EligibilityResult(changed, check, answers, data, attention)


def _audit_only(ctx: Context, actor: Requester, request_id: str, reason: str) -> None:
    with ctx.uow() as uow:
        _audit(uow, actor, request_id, ctx.now(), "change", reason)
        uow.commit()


def _audit(
    uow: UnitOfWork,
    actor: Requester,
    request_id: str,
    at: dt.datetime,
    action: str,
    reason: str,
) -> None:
    record(
        uow,
        actor=actor.email,
        action=action,
        entity=ENTITY,
        entity_id=request_id,
        organization_id=actor.organization_id,
        reason=reason,
        at=at,
    )


def _captured(requirement: tuple[Mapping[str, Any], ...], index: int, code: str) -> Decision | None:
    """The captured decision for line `index` (requirement answers are kept in line order; the
    code is checked so a shorter or reordered list never lends one line's answer to another)."""
    answer = requirement[index] if index < len(requirement) else None
    if answer is None or answer.get("code") != code:
        answer = next((a for a in requirement if a.get("code") == code), None)
    try:
        return Decision(str(answer.get("decision"))) if answer is not None else None
    except ValueError:
        return None


def _flag_words(answer: AuthorizationAnswer) -> str:
    return {
        "required": "authorization is required",
        "not_required": "no authorization is required",
    }.get(str(answer.payer), str(answer.payer).replace("_", " "))
