"""Follow-up due dates and the work items a request raises: what a specialist must do, and by when.

A decision is due after the payer's turnaround (hours, calendar days or business days) or the
CMS-0057-F limit for the plans it covers, whichever comes first. `work_items` lists what a request
needs now. Pure: `now` is always a parameter; public holidays are not modelled (weekends only).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from precert.domain.authorizations import (
    AWAITING_DECISION,
    AuthorizationRequest,
    Status,
    Urgency,
)
from precert.domain.determinations import Determination, LineStatus
from precert.domain.rules import Duration

# CMS-0057-F decision timeframes for impacted payers, from 2026-01-01 (Medicare Advantage,
# Medicaid fee-for-service and managed care, CHIP).
CMS_0057_PLANS: frozenset[str] = frozenset(
    {"medicare-advantage", "medicaid", "medicaid-managed-care", "chip"}
)
CMS_0057_FROM = dt.date(2026, 1, 1)
CMS_0057_LIMIT: dict[Urgency, Duration] = {
    Urgency.EXPEDITED: Duration(72, "hours"),
    Urgency.STANDARD: Duration(7, "calendar_days"),
}
SERVICE_SOON_DAYS = 7
# Payers extend an approval only while it is still valid, so the extension is asked for this
# many days before the window closes (or at once when the decision leaves less time).
EXTENSION_LEAD_DAYS = 14
UNITS_NEARLY_USED = 0.8

_DURATION = re.compile(r"^(\d+) (hours?|calendar days?|business days?)$")
_UNIT = {"hour": "hours", "calendar day": "calendar_days", "business day": "business_days"}


class WorkKind(StrEnum):
    PENDED_PAST_TURNAROUND = "pended_past_turnaround"
    INFO_REQUESTED = "info_requested"
    APPROVAL_EXPIRES_BEFORE_SERVICE = "approval_expires_before_service"
    UNITS_NEARLY_USED = "units_nearly_used"
    SERVICE_SOON_WITHOUT_APPROVAL = "service_soon_without_approval"
    DECISION_OVERDUE = "decision_overdue"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """Something a person must do on a request, by when, in words they act on (never PHI)."""

    kind: WorkKind
    due_at: dt.datetime
    message: str


def parse_duration(text: str) -> Duration | None:
    """Read back a turnaround as the engine writes it ('72 hours', '1 business day')."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        return None
    unit = match.group(2).removesuffix("s")
    return Duration(int(match.group(1)), _UNIT[unit])


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """`days` weekdays after `start`, at the same time of day: Friday + 1 is Monday.

    A request received on a weekend counts from that day, so Saturday + 1 is also Monday.
    """
    moment = start
    remaining = days
    while remaining > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def add_duration(start: dt.datetime, duration: Duration) -> dt.datetime:
    if duration.unit == "hours":
        return start + dt.timedelta(hours=duration.amount)
    if duration.unit == "business_days":
        return add_business_days(start, duration.amount)
    return start + dt.timedelta(days=duration.amount)


def payer_due(request: AuthorizationRequest, start: dt.datetime) -> dt.datetime | None:
    """When the payer's stated turnaround ends, from the requirement captured on the request.

    Lines may carry different turnarounds; the decision covers them all, so the latest wins.
    """
    dues = []
    for answer in request.requirement:
        turnaround = answer.get("turnaround") or {}
        text = turnaround.get(request.urgency.value) if isinstance(turnaround, Mapping) else None
        duration = parse_duration(text) if isinstance(text, str) else None
        if duration is not None:
            dues.append(add_duration(start, duration))
    return max(dues) if dues else None


def decision_due(request: AuthorizationRequest) -> dt.datetime | None:
    """When the payer's decision is due, or None when no decision is awaited.

    The earlier of the payer's turnaround and CMS-0057-F for impacted plans. With neither known,
    the CMS timeframes are used as the follow-up default so that no request waits unwatched.
    """
    start = request.awaiting_since
    if start is None or request.status not in AWAITING_DECISION:
        return None
    limit = add_duration(start, CMS_0057_LIMIT[request.urgency])
    payer = payer_due(request, start)
    if payer is None:
        return limit
    if request.coverage.plan in CMS_0057_PLANS and start.date() >= CMS_0057_FROM:
        return min(payer, limit)
    return payer


def work_items(
    request: AuthorizationRequest,
    *,
    now: dt.datetime,
    determination: Determination | None = None,
    units_used: Mapping[str, int] | None = None,
) -> list[WorkItem]:
    """What this request needs from a person, soonest first.

    `determination` is the decision on record (for approval windows and units); `units_used`
    counts units already billed per approved code.
    """
    items = [*_awaiting_items(request, now), *_service_soon(request, now)]
    if determination is not None and request.status in _GRANTED:
        items.extend(_expiring(request, determination, now))
        items.extend(_units(determination, units_used or {}, now))
    return sorted(items, key=lambda item: item.due_at)


_GRANTED = frozenset({Status.APPROVED, Status.PARTIALLY_APPROVED})
_SETTLED = frozenset({*_GRANTED, Status.NOT_REQUIRED, Status.CANCELLED, Status.EXPIRED})


def _awaiting_items(request: AuthorizationRequest, now: dt.datetime) -> list[WorkItem]:
    items: list[WorkItem] = []
    if request.info_due is not None and request.status in (Status.PENDED, Status.APPEALED):
        items.append(
            WorkItem(
                WorkKind.INFO_REQUESTED,
                request.info_due,
                f"The payer asked for more information; send it by {_when(request.info_due)} "
                "or the request may be denied.",
            )
        )
    due = decision_due(request)
    if due is None or now < due:
        return items
    if request.status is Status.PENDED:
        message = (
            f"Pended past the payer's turnaround (a decision was due {_when(due)}); ask the "
            "payer what is still needed and record the call reference."
        )
        items.append(WorkItem(WorkKind.PENDED_PAST_TURNAROUND, due, message))
    else:
        message = (
            f"Decision overdue: it was due {_when(due)}; call the payer for the status and "
            "record the reference."
        )
        items.append(WorkItem(WorkKind.DECISION_OVERDUE, due, message))
    return items


def _service_soon(request: AuthorizationRequest, now: dt.datetime) -> list[WorkItem]:
    if request.status in _SETTLED:
        return []
    date = request.first_service_date
    days = (date - now.date()).days
    if not 0 <= days <= SERVICE_SOON_DAYS:
        return []
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    message = (
        f"The service on {date.isoformat()} is {when} and is not approved yet "
        f"(status: {request.status.value.replace('_', ' ')}); get a decision or reschedule."
    )
    return [WorkItem(WorkKind.SERVICE_SOON_WITHOUT_APPROVAL, _start_of(date, now), message)]


def _expiring(
    request: AuthorizationRequest, determination: Determination, now: dt.datetime
) -> list[WorkItem]:
    valid_to = determination.valid_to
    if valid_to is None or valid_to >= request.last_service_date:
        return []
    message = (
        f"The approval ends {valid_to.isoformat()} but the service runs to "
        f"{request.last_service_date.isoformat()}; ask the payer for an extension before "
        "it ends, or reschedule."
    )
    ask_by = _start_of(valid_to - dt.timedelta(days=EXTENSION_LEAD_DAYS), now)
    return [WorkItem(WorkKind.APPROVAL_EXPIRES_BEFORE_SERVICE, ask_by, message)]


def _units(
    determination: Determination, used: Mapping[str, int], now: dt.datetime
) -> list[WorkItem]:
    items = []
    for line in determination.lines:
        code = line.covered_code
        if line.status is LineStatus.DENIED or line.approved_units < 1:
            continue
        count = used.get(code, 0)
        if count >= UNITS_NEARLY_USED * line.approved_units:
            message = (
                f"{count} of {line.approved_units} approved units used for code {code}; "
                "ask the payer for more units before they run out."
            )
            items.append(WorkItem(WorkKind.UNITS_NEARLY_USED, now, message))
    return items


def _start_of(date: dt.date, now: dt.datetime) -> dt.datetime:
    # Service dates have no time; the day starts in the caller's time zone.
    return dt.datetime.combine(date, dt.time.min, tzinfo=now.tzinfo)


def _when(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".rstrip()
