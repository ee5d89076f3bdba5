"""The authorization request and its status machine: values, the transition table, the timeline.

`transition(status, event)` is a pure table look-up that refuses an impossible change with a
sentence a specialist understands; `apply` returns the changed request and the TimelineEvent that
records it. Pure: no I/O and no clock (`at` is always given, timezone-aware).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, NoReturn

from precert.domain import codes
from precert.errors import InvalidInput, InvalidTransition, Issue


class Status(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    SUBMITTED = "submitted"
    PENDED = "pended"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    NOT_REQUIRED = "not_required"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    APPEALED = "appealed"


class Urgency(StrEnum):
    STANDARD = "standard"
    EXPEDITED = "expedited"


class Event(StrEnum):
    """What happened to a request. A decision on an appeal is an approve/partially_approve/deny
    from `appealed`, so the timeline reads the same for first decisions and appeal decisions."""

    DOCUMENTS_COMPLETED = "documents_completed"
    DOCUMENTS_INCOMPLETE = "documents_incomplete"  # a document was removed from a ready request
    OVERRIDE_READY = "override_ready"  # a person marks it ready without the checklist (a reason)
    SUBMIT = "submit"
    PAYER_PENDED = "payer_pended"
    INFO_REQUESTED = "info_requested"
    INFO_SENT = "info_sent"
    APPROVE = "approve"
    PARTIALLY_APPROVE = "partially_approve"
    DENY = "deny"
    PAYER_NOT_REQUIRED = "payer_not_required"
    CANCEL = "cancel"
    EXPIRE = "expire"
    APPEAL = "appeal"


# Timeline kinds that are not status changes.
ATTENTION_SET = "needs_attention_set"
ATTENTION_CLEARED = "needs_attention_cleared"

_DECISIONS: dict[Event, Status] = {
    Event.APPROVE: Status.APPROVED,
    Event.PARTIALLY_APPROVE: Status.PARTIALLY_APPROVED,
    Event.DENY: Status.DENIED,
}
_AWAITING: dict[Event, Status] = {
    **_DECISIONS,
    Event.PAYER_NOT_REQUIRED: Status.NOT_REQUIRED,
    Event.CANCEL: Status.CANCELLED,
}

TRANSITIONS: dict[Status, dict[Event, Status]] = {
    Status.DRAFT: {
        Event.DOCUMENTS_COMPLETED: Status.READY,
        Event.OVERRIDE_READY: Status.READY,
        # A call to the payer before submitting may settle that no approval is needed.
        Event.PAYER_NOT_REQUIRED: Status.NOT_REQUIRED,
        Event.CANCEL: Status.CANCELLED,
    },
    Status.READY: {
        Event.SUBMIT: Status.SUBMITTED,
        Event.DOCUMENTS_INCOMPLETE: Status.DRAFT,
        Event.PAYER_NOT_REQUIRED: Status.NOT_REQUIRED,
        Event.CANCEL: Status.CANCELLED,
    },
    Status.SUBMITTED: {
        Event.PAYER_PENDED: Status.PENDED,
        Event.INFO_REQUESTED: Status.PENDED,
        **_AWAITING,
    },
    Status.PENDED: {
        Event.PAYER_PENDED: Status.PENDED,
        Event.INFO_REQUESTED: Status.PENDED,
        Event.INFO_SENT: Status.PENDED,
        **_AWAITING,
    },
    Status.APPEALED: {
        Event.PAYER_PENDED: Status.APPEALED,
        Event.INFO_REQUESTED: Status.APPEALED,
        Event.INFO_SENT: Status.APPEALED,
        **_DECISIONS,
        Event.CANCEL: Status.CANCELLED,  # the appeal is withdrawn
    },
    Status.APPROVED: {Event.EXPIRE: Status.EXPIRED, Event.CANCEL: Status.CANCELLED},
    Status.PARTIALLY_APPROVED: {
        Event.APPEAL: Status.APPEALED,  # appeal the denied lines
        Event.EXPIRE: Status.EXPIRED,
        Event.CANCEL: Status.CANCELLED,
    },
    Status.DENIED: {Event.APPEAL: Status.APPEALED},
    Status.NOT_REQUIRED: {},
    Status.CANCELLED: {},
    Status.EXPIRED: {},
}

# Statuses where the payer owes a decision: the follow-up clock runs.
AWAITING_DECISION: frozenset[Status] = frozenset({Status.SUBMITTED, Status.PENDED, Status.APPEALED})

_STATUS_WORDS: dict[Status, str] = {
    Status.DRAFT: "A draft request",
    Status.READY: "A ready request",
    Status.SUBMITTED: "A submitted request",
    Status.PENDED: "A pended request",
    Status.APPROVED: "An approved request",
    Status.PARTIALLY_APPROVED: "A partially approved request",
    Status.DENIED: "A denied request",
    Status.NOT_REQUIRED: "A request the payer said needs no authorization",
    Status.CANCELLED: "A cancelled request",
    Status.EXPIRED: "An expired request",
    Status.APPEALED: "An appealed request",
}

_EVENT_WORDS: dict[Event, str] = {
    Event.DOCUMENTS_COMPLETED: "be marked ready with complete documents",
    Event.DOCUMENTS_INCOMPLETE: "go back to draft for missing documents",
    Event.OVERRIDE_READY: "be marked ready by override",
    Event.SUBMIT: "be submitted",
    Event.PAYER_PENDED: "be pended by the payer",
    Event.INFO_REQUESTED: "receive a request for more information",
    Event.INFO_SENT: "record information sent to the payer",
    Event.APPROVE: "be approved",
    Event.PARTIALLY_APPROVE: "be partially approved",
    Event.DENY: "be denied",
    Event.PAYER_NOT_REQUIRED: "be marked as not requiring authorization",
    Event.CANCEL: "be cancelled",
    Event.EXPIRE: "expire",
    Event.APPEAL: "be appealed",
}

# The why, for the refusals a specialist meets most; the rest get the generic sentence.
_WHY: dict[tuple[Status, Event], str] = {
    (Status.DENIED, Event.SUBMIT): (
        "A denied request cannot be submitted again; appeal it or create a new request."
    ),
    (Status.DRAFT, Event.SUBMIT): (
        "A draft request cannot be submitted until its documents are complete; complete the "
        "checklist or mark it ready with a reason."
    ),
    (Status.APPROVED, Event.APPEAL): (
        "An approved request has nothing to appeal; for more units or days ask the payer "
        "for an extension on a new request."
    ),
    (Status.EXPIRED, Event.SUBMIT): (
        "An expired approval cannot be reused; create a new request for the service."
    ),
    (Status.CANCELLED, Event.SUBMIT): (
        "A cancelled request cannot be submitted; create a new request for the service."
    ),
}
for _status in (Status.SUBMITTED, Status.PENDED, Status.APPEALED):
    _WHY[(_status, Event.SUBMIT)] = (
        f"{_STATUS_WORDS[_status]} is already with the payer; submitting again would create a "
        "duplicate. Check its status with the payer instead."
    )
for _status in (Status.DRAFT, Status.READY):
    for _event in (*_DECISIONS, Event.PAYER_PENDED, Event.INFO_REQUESTED):
        _WHY[(_status, _event)] = (
            f"{_STATUS_WORDS[_status]} has not been submitted, so the payer cannot have "
            "decided or pended it; submit it first."
        )


def transition(status: Status, event: Event) -> Status:
    """The status after `event`, or InvalidTransition saying why not and what is possible."""
    target = TRANSITIONS[status].get(event)
    if target is not None:
        return target
    why = _WHY.get((status, event), f"{_STATUS_WORDS[status]} cannot {_EVENT_WORDS[event]}.")
    possible = TRANSITIONS[status]
    if possible:
        options = ", ".join(sorted(e.value for e in possible))
        next_steps = f" From {status.value} the possible actions are: {options}."
    else:
        next_steps = (
            f" {status.value} is a final status; create a new request if the service still "
            "needs approval."
        )
    _refuse(why + next_steps, "status")


def _refuse(message: str, location: str) -> NoReturn:
    raise InvalidTransition(message, [Issue("invalid-transition", message, location)])


@dataclass(frozen=True, slots=True, repr=False)
class Patient:
    """PHI: the repr hides every field so a stray log line or traceback cannot leak it."""

    first_name: str
    last_name: str
    birth_date: dt.date
    member_id: str

    def __repr__(self) -> str:
        return "Patient(<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Coverage:
    """The patient's insurance; the member id is PHI, so the repr shows only payer and plan."""

    payer_id: str
    plan: str
    member_id: str
    group: str = ""

    def __repr__(self) -> str:
        return f"Coverage(payer_id={self.payer_id!r}, plan={self.plan!r}, member_id=<redacted>)"


@dataclass(frozen=True, slots=True)
class ServiceLine:
    code: str
    units: int
    from_date: dt.date
    to_date: dt.date
    pos: str = ""
    diagnoses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One change on a request: who, when, what, from which status to which, and why."""

    at: dt.datetime
    actor: str
    kind: str
    from_status: Status
    to_status: Status
    note: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "kind": self.kind,
            "from_status": self.from_status.value,
            "to_status": self.to_status.value,
            "note": self.note,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A request for one encounter's services, from draft to decision.

    `requirement` holds the engine's answer per line (Requirement.as_dict()) captured at creation,
    so later rule changes never rewrite why the request exists. `retro` marks a retro-authorization:
    an emergency service already delivered, which may be submitted after the date of service.
    `awaiting_since` starts the decision clock (submission or appeal); `info_due` is the payer's
    deadline for requested information.
    """

    id: str
    organization_id: str
    patient: Patient
    coverage: Coverage
    ordering_npi: str
    rendering_npi: str
    lines: tuple[ServiceLine, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    facility_npi: str | None = None
    urgency: Urgency = Urgency.STANDARD
    requirement: tuple[Mapping[str, Any], ...] = ()
    assignee: str | None = None
    status: Status = Status.DRAFT
    needs_attention: str | None = None
    retro: bool = False
    awaiting_since: dt.datetime | None = None
    info_due: dt.datetime | None = None

    @property
    def first_service_date(self) -> dt.date:
        return min(line.from_date for line in self.lines)

    @property
    def last_service_date(self) -> dt.date:
        return max(line.to_date for line in self.lines)


def request_issues(request: AuthorizationRequest) -> list[Issue]:
    """Every problem with a request's providers and service lines (locations match the API body)."""
    found: list[Issue] = []
    npis = {"ordering_npi": request.ordering_npi, "rendering_npi": request.rendering_npi}
    if request.facility_npi is not None:
        npis["facility_npi"] = request.facility_npi
    for location, value in npis.items():
        _collect(found, codes.npi, value, location)
    if not request.lines:
        message = "services: a request needs at least one service line."
        found.append(Issue("required", message, "services"))
    for i, line in enumerate(request.lines):
        found.extend(_line_issues(line, f"services[{i}]"))
    return found


def _line_issues(line: ServiceLine, at: str) -> list[Issue]:
    found: list[Issue] = []
    _collect(found, codes.procedure_code, line.code, f"{at}.code")
    _collect(found, codes.units, line.units, f"{at}.units")
    if line.pos:
        _collect(found, codes.place_of_service, line.pos, f"{at}.pos")
    for j, diagnosis in enumerate(line.diagnoses):
        _collect(found, codes.diagnosis_code, diagnosis, f"{at}.diagnoses[{j}]")
    if line.to_date < line.from_date:
        message = f"{at}.to: the last date of service is before the first; check the dates."
        found.append(Issue("invalid", message, f"{at}.to"))
    return found


def _collect(found: list[Issue], parse: Any, value: object, location: str) -> None:
    try:
        parse(value, location)
    except InvalidInput as error:
        found.extend(error.issues)


def validate_request(request: AuthorizationRequest) -> AuthorizationRequest:
    """The request unchanged, or InvalidInput naming every field that is wrong."""
    found = request_issues(request)
    if found:
        raise InvalidInput(f"The request has {_count(found)}; correct and try again.", found)
    return request


def _count(found: list[Issue]) -> str:
    return "1 problem" if len(found) == 1 else f"{len(found)} problems"


def apply(
    request: AuthorizationRequest,
    event: Event,
    *,
    at: dt.datetime,
    actor: str,
    note: str = "",
    info_due: dt.datetime | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[AuthorizationRequest, TimelineEvent]:
    """Apply `event` to `request`: the changed request and the TimelineEvent that records it.

    Beyond the table: an override needs its reason in `note`; a request that is not a
    retro-authorization cannot be submitted after its date of service; `info_due` is the
    payer's deadline when it asks for information.
    """
    _require_aware(at)
    target = transition(request.status, event)
    _guard(request, event, at=at, note=note)
    awaiting_since, due = _clocks(request, event, at, info_due)
    changed = replace(
        request, status=target, updated_at=at, awaiting_since=awaiting_since, info_due=due
    )
    payload = dict(data or {})
    if info_due is not None:
        payload["info_due"] = info_due.isoformat()
    return changed, TimelineEvent(at, actor, event.value, request.status, target, note, payload)


def _guard(request: AuthorizationRequest, event: Event, *, at: dt.datetime, note: str) -> None:
    if event is Event.OVERRIDE_READY and not note.strip():
        raise InvalidInput.field(
            "note",
            "note: marking a request ready without a complete checklist needs a reason; "
            "say why the missing documents are not needed.",
            code="required",
        )
    if event is Event.SUBMIT and not request.retro and at.date() > request.first_service_date:
        _refuse(
            "The date of service has passed, so this request cannot be submitted as a prior "
            "authorization. If the service was an emergency, mark it as a retro-authorization "
            "and submit it again; otherwise cancel it.",
            "retro",
        )


def _clocks(
    request: AuthorizationRequest, event: Event, at: dt.datetime, info_due: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(awaiting_since, info_due) after the event: how the decision clock and deadline move."""
    if event in (Event.SUBMIT, Event.APPEAL):
        return at, None
    if event is Event.INFO_REQUESTED:
        if info_due is not None:
            _require_aware(info_due)
        return request.awaiting_since, info_due
    if event is Event.INFO_SENT:
        return request.awaiting_since, None
    if event in _AWAITING or event is Event.EXPIRE:
        return None, None
    return request.awaiting_since, request.info_due


def mark_retro(
    request: AuthorizationRequest, *, at: dt.datetime, actor: str, note: str
) -> tuple[AuthorizationRequest, TimelineEvent]:
    """Mark a request as a retro-authorization (an emergency already delivered), with the reason."""
    _require_aware(at)
    if request.status not in (Status.DRAFT, Status.READY):
        _refuse(
            f"{_STATUS_WORDS[request.status]} has already gone to the payer; only a draft or "
            "ready request can become a retro-authorization.",
            "retro",
        )
    if not note.strip():
        raise InvalidInput.field(
            "note", "note: say why this is a retro-authorization (the emergency).", "required"
        )
    changed = replace(request, retro=True, updated_at=at)
    return changed, TimelineEvent(at, actor, "retro_marked", request.status, request.status, note)


def flag_attention(
    request: AuthorizationRequest, reason: str, *, at: dt.datetime, actor: str
) -> tuple[AuthorizationRequest, TimelineEvent]:
    """Set needs_attention (something failed and a person must act), the reason on the timeline."""
    _require_aware(at)
    if not reason.strip():
        raise InvalidInput.field(
            "reason", "reason: say what failed and what a person must do.", "required"
        )
    changed = replace(request, needs_attention=reason, updated_at=at)
    status = request.status
    return changed, TimelineEvent(at, actor, ATTENTION_SET, status, status, reason)


def clear_attention(
    request: AuthorizationRequest, *, at: dt.datetime, actor: str, note: str = ""
) -> tuple[AuthorizationRequest, TimelineEvent]:
    """Clear needs_attention; the timeline keeps the reason that was cleared."""
    _require_aware(at)
    if request.needs_attention is None:
        _refuse("This request is not flagged for attention; there is nothing to clear.", "flag")
    previous = {"reason": request.needs_attention}
    changed = replace(request, needs_attention=None, updated_at=at)
    status = request.status
    return changed, TimelineEvent(at, actor, ATTENTION_CLEARED, status, status, note, previous)


def _require_aware(moment: dt.datetime) -> None:
    # A naive time would compare wrongly against the UTC times the store keeps.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times given to the domain must be timezone-aware")
