"""When a portal submission's status is checked: at 25/50/75/100% of the payer's turnaround
(hours, calendar days, business days), never sooner than 15 minutes after the last check, once a
business day past the due date, at the inquiry interval with no turnaround known.

2026-11-20 is a Friday; 2026-11-23 a Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Status,
)
from precert.domain.status_checks import MIN_GAP, next_status_check, stated_decision_due

UTC = dt.UTC
FRIDAY = dt.datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
INQUIRY = dt.timedelta(minutes=60)
NPI = "1234567893"


def checks(
    submitted: dt.datetime,
    due: dt.datetime | None,
    *,
    count: int,
    late: dt.timedelta = dt.timedelta(),
) -> list[dt.datetime]:
    """The schedule as the service walks it: each check happens when due (plus `late`) and
    computes the next one."""
    found: list[dt.datetime] = []
    now, last = submitted, submitted  # the submission is the first look at the request
    for _ in range(count):
        upcoming = next_status_check(submitted, due, last, now, unknown_every=INQUIRY)
        found.append(upcoming)
        now = last = upcoming + late
    return found


def test_a_turnaround_in_hours_is_checked_at_its_quarters_then_daily() -> None:
    submitted = MONDAY
    due = submitted + 72 * HOUR
    assert checks(submitted, due, count=5) == [
        submitted + 18 * HOUR,
        submitted + 36 * HOUR,
        submitted + 54 * HOUR,
        due,  # Thursday 09:00
        dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC),  # past due: the next business day
    ]


def test_a_turnaround_in_calendar_days_is_checked_at_its_quarters() -> None:
    submitted = MONDAY
    due = submitted + dt.timedelta(days=14)
    assert checks(submitted, due, count=4) == [
        submitted + dt.timedelta(days=3, hours=12),
        submitted + dt.timedelta(days=7),
        submitted + dt.timedelta(days=10, hours=12),
        due,
    ]


def test_a_turnaround_in_business_days_runs_from_the_request_over_the_weekend() -> None:
    # Friday 15:00 + 2 business days = Tuesday 15:00: the quarters fall on the calendar between.
    request = make_request(turnaround={"standard": "2 business days"})
    due = stated_decision_due(request)
    assert due == dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert checks(FRIDAY, due, count=5) == [
        dt.datetime(2026, 11, 21, 15, 0, tzinfo=UTC),  # 25% of the 4 calendar days
        dt.datetime(2026, 11, 22, 15, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
        due,
        dt.datetime(2026, 11, 25, 15, 0, tzinfo=UTC),  # past due: Wednesday
    ]


def test_past_the_due_date_a_check_is_made_once_a_business_day_skipping_the_weekend() -> None:
    due = dt.datetime(2026, 11, 19, 9, 0, tzinfo=UTC)  # Thursday
    checked_friday = next_status_check(MONDAY - dt.timedelta(days=7), due, FRIDAY, FRIDAY,
                                       unknown_every=INQUIRY)  # fmt: skip
    assert checked_friday == dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday, not Saturday


def test_never_sooner_than_fifteen_minutes_after_the_last_check() -> None:
    # One hour: the quarters are 15 minutes apart; a check 5 minutes late pushes the next one.
    submitted = MONDAY
    due = submitted + HOUR
    late = dt.timedelta(minutes=5)
    minute = dt.timedelta(minutes=1)
    assert checks(submitted, due, count=4, late=late) == [
        submitted + 15 * minute,  # the first quarter
        submitted + 35 * minute,  # the half (30) is 10 minutes after the check made at 20
        submitted + 55 * minute,  # the same at 45
        due + dt.timedelta(days=1),  # checked at 60, the due time: the next business day
    ]
    # 40 minutes: the 10-minute quarter is too soon after the submission.
    assert next_status_check(submitted, submitted + 40 * dt.timedelta(minutes=1), submitted,
                             submitted, unknown_every=INQUIRY) == submitted + MIN_GAP  # fmt: skip


def test_a_late_check_skips_the_points_it_missed() -> None:
    submitted = MONDAY
    due = submitted + dt.timedelta(days=4)
    two_days_late = submitted + dt.timedelta(days=2, hours=1)  # past 25% and 50%
    assert next_status_check(submitted, due, two_days_late, two_days_late,
                             unknown_every=INQUIRY) == submitted + dt.timedelta(days=3)  # fmt: skip


def test_with_no_turnaround_known_the_inquiry_interval_applies() -> None:
    request = make_request(turnaround={})
    assert stated_decision_due(request) is None
    now = MONDAY + dt.timedelta(minutes=7)
    assert next_status_check(MONDAY, None, MONDAY, now, unknown_every=INQUIRY) == now + INQUIRY


@pytest.mark.parametrize(
    ("plan", "turnaround", "due"),
    [
        # A CMS-0057-F plan: the regulation states 7 days even when the payer says nothing.
        ("medicare-advantage", {}, FRIDAY + dt.timedelta(days=7)),
        # ... and caps a longer turnaround.
        ("medicaid", {"standard": "14 calendar days"}, FRIDAY + dt.timedelta(days=7)),
        ("commercial", {"standard": "14 calendar days"}, FRIDAY + dt.timedelta(days=14)),
        ("commercial", {"standard": "72 hours"}, FRIDAY + 72 * HOUR),
        ("commercial", {"expedited": "24 hours"}, None),  # not this request's urgency
    ],
)
def test_the_due_date_is_what_the_payer_or_cms_states(
    plan: str, turnaround: dict[str, str], due: dt.datetime | None
) -> None:
    assert stated_decision_due(make_request(plan=plan, turnaround=turnaround)) == due


def test_a_request_no_longer_awaiting_has_no_due_date() -> None:
    decided = make_request(turnaround={"standard": "72 hours"}, status=Status.APPROVED)
    assert stated_decision_due(decided) is None
    unsent = make_request(turnaround={"standard": "72 hours"}, awaiting_since=None)
    assert stated_decision_due(unsent) is None


def make_request(
    *, plan: str = "commercial", turnaround: dict[str, str] | None = None, **changes: Any
) -> AuthorizationRequest:
    answer = {"code": "70551", "decision": "required", "turnaround": turnaround or {}}
    request = AuthorizationRequest(
        id="req-1",
        organization_id="org-1",
        patient=Patient("Testpatient", "Gamma", dt.date(1990, 1, 1), "ZZ-CANARY-789"),
        coverage=Coverage("acme", plan, "ZZ-CANARY-789"),
        ordering_npi=NPI,
        rendering_npi=NPI,
        lines=(ServiceLine("70551", 10, dt.date(2027, 1, 15), dt.date(2027, 3, 31), "22"),),
        created_at=FRIDAY,
        updated_at=FRIDAY,
        requirement=(answer,),
        status=Status.SUBMITTED,
        awaiting_since=FRIDAY,
    )
    return replace(request, **changes)
