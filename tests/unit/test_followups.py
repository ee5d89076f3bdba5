"""Follow-up due dates (payer turnaround, CMS-0057-F, business days) and each kind of work item.

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
    Urgency,
)
from precert.domain.determinations import Determination, LineDecision, LineStatus, Method, Outcome
from precert.domain.followups import (
    WorkKind,
    add_business_days,
    add_duration,
    decision_due,
    parse_duration,
    work_items,
)
from precert.domain.rules import Duration

UTC = dt.UTC
FRIDAY = dt.datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NPI = "1234567893"


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


def kinds(request: AuthorizationRequest, now: dt.datetime, **facts: Any) -> list[WorkKind]:
    return [item.kind for item in work_items(request, now=now, **facts)]


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("72 hours", Duration(72, "hours")),
        ("1 hour", Duration(1, "hours")),
        ("7 calendar days", Duration(7, "calendar_days")),
        ("1 business day", Duration(1, "business_days")),
        ("15 Business Days", Duration(15, "business_days")),
        ("two weeks", None),
        ("", None),
    ],
)
def test_turnarounds_are_read_back_as_the_engine_writes_them(
    text: str, duration: Duration | None
) -> None:
    assert parse_duration(text) == duration
    if duration is not None:
        assert parse_duration(str(duration)) == duration


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (FRIDAY, 1, dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),  # Friday + 1 = Monday
        (FRIDAY, 5, dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC)),  # a whole week
        (
            dt.datetime(2026, 11, 19, 8, 0, tzinfo=UTC),
            3,
            dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        ),
        (
            dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
            1,
            dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        ),
        (
            dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
            1,
            dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        ),
        (MONDAY, 10, dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),  # two weekends skipped
        (FRIDAY, 0, FRIDAY),
    ],
    ids=["fri+1", "fri+5", "thu+3", "sat+1", "sun+1", "mon+10", "zero"],
)
def test_business_days_skip_weekends(start: dt.datetime, days: int, due: dt.datetime) -> None:
    assert add_business_days(start, days) == due
    assert add_duration(start, Duration(days, "business_days")) == due


def test_hours_and_calendar_days_run_through_weekends() -> None:
    assert add_duration(FRIDAY, Duration(72, "hours")) == dt.datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert add_duration(FRIDAY, Duration(7, "calendar_days")) == dt.datetime(
        2026, 11, 27, 15, tzinfo=UTC
    )


# -- when a decision is due -----------------------------------------------------------------------


def test_a_commercial_decision_is_due_after_the_payers_business_day_turnaround() -> None:
    request = make_request(turnaround={"standard": "5 business days"})
    assert decision_due(request) == dt.datetime(2026, 11, 27, 15, tzinfo=UTC)


def test_a_commercial_payer_slower_than_cms_keeps_its_own_turnaround() -> None:
    request = make_request(turnaround={"standard": "15 calendar days"})
    assert decision_due(request) == dt.datetime(2026, 12, 5, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "plan", ["medicare-advantage", "medicaid", "medicaid-managed-care", "chip"]
)
def test_cms_0057_f_caps_a_slower_payer_at_7_calendar_days_for_impacted_plans(plan: str) -> None:
    request = make_request(plan=plan, turnaround={"standard": "15 calendar days"})
    assert decision_due(request) == dt.datetime(2026, 11, 27, 15, tzinfo=UTC)


def test_cms_0057_f_caps_an_expedited_decision_at_72_hours() -> None:
    request = make_request(
        plan="medicare-advantage",
        urgency=Urgency.EXPEDITED,
        turnaround={"standard": "14 calendar days", "expedited": "3 business days"},
    )
    # 3 business days from Friday would be Wednesday; 72 hours is Monday.
    assert decision_due(request) == dt.datetime(2026, 11, 23, 15, tzinfo=UTC)


def test_a_payer_faster_than_cms_sets_the_due_date() -> None:
    request = make_request(plan="medicaid", turnaround={"standard": "2 business days"})
    assert decision_due(request) == dt.datetime(2026, 11, 24, 15, tzinfo=UTC)


def test_cms_0057_f_does_not_apply_before_2026() -> None:
    start = dt.datetime(2025, 12, 1, 9, tzinfo=UTC)
    request = make_request(
        plan="medicaid", turnaround={"standard": "14 calendar days"}, awaiting_since=start
    )
    assert decision_due(request) == dt.datetime(2025, 12, 15, 9, tzinfo=UTC)


def test_without_a_payer_turnaround_the_cms_timeframe_is_the_follow_up_default() -> None:
    assert decision_due(make_request()) == dt.datetime(2026, 11, 27, 15, tzinfo=UTC)
    expedited = make_request(urgency=Urgency.EXPEDITED)
    assert decision_due(expedited) == dt.datetime(2026, 11, 23, 15, tzinfo=UTC)


def test_the_latest_line_turnaround_sets_the_payers_due_date() -> None:
    lines = (
        {"code": "70551", "turnaround": {"standard": "2 business days"}},
        {"code": "70553", "turnaround": {"standard": "4 business days"}},
    )
    request = make_request(requirement=lines)
    assert decision_due(request) == dt.datetime(2026, 11, 26, 15, tzinfo=UTC)


def test_nothing_is_due_when_no_decision_is_awaited() -> None:
    assert decision_due(make_request(status=Status.DRAFT, awaiting_since=None)) is None
    assert decision_due(make_request(status=Status.APPROVED)) is None


# -- work items -----------------------------------------------------------------------------------


def test_a_request_on_time_with_a_distant_service_raises_no_work() -> None:
    assert work_items(make_request(), now=MONDAY) == []


def test_a_submitted_request_past_its_due_date_is_a_decision_overdue() -> None:
    request = make_request(turnaround={"standard": "1 business day"})

    items = work_items(request, now=dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC))

    assert [(i.kind, i.due_at) for i in items] == [
        (WorkKind.DECISION_OVERDUE, dt.datetime(2026, 11, 23, 15, tzinfo=UTC))
    ]
    assert items[0].message == (
        "Decision overdue: it was due 2026-11-23 15:00 UTC; call the payer for the status and "
        "record the reference."
    )
    assert kinds(request, dt.datetime(2026, 11, 23, 14, 59, tzinfo=UTC)) == []


def test_an_appeal_waiting_past_its_due_date_is_a_decision_overdue() -> None:
    request = make_request(status=Status.APPEALED)
    assert kinds(request, dt.datetime(2026, 11, 28, 9, tzinfo=UTC)) == [WorkKind.DECISION_OVERDUE]


def test_a_pended_request_past_the_turnaround_is_flagged_as_pended_past_turnaround() -> None:
    request = make_request(status=Status.PENDED, turnaround={"standard": "3 business days"})

    items = work_items(request, now=dt.datetime(2026, 11, 26, 9, tzinfo=UTC))

    assert [i.kind for i in items] == [WorkKind.PENDED_PAST_TURNAROUND]
    assert items[0].message == (
        "Pended past the payer's turnaround (a decision was due 2026-11-25 15:00 UTC); ask the "
        "payer what is still needed and record the call reference."
    )


def test_information_requested_with_a_deadline_is_a_work_item_until_it_is_sent() -> None:
    deadline = dt.datetime(2026, 11, 25, 17, tzinfo=UTC)
    request = make_request(status=Status.PENDED, info_due=deadline)

    items = work_items(request, now=MONDAY)

    assert [(i.kind, i.due_at) for i in items] == [(WorkKind.INFO_REQUESTED, deadline)]
    assert items[0].message == (
        "The payer asked for more information; send it by 2026-11-25 17:00 UTC or the request "
        "may be denied."
    )
    assert work_items(replace(request, info_due=None), now=MONDAY) == []


APPROVAL = Determination(
    Outcome.APPROVED,
    Method.PORTAL,
    dt.date(2026, 11, 23),
    authorization_number="A1",
    valid_from=dt.date(2026, 11, 23),
    valid_to=dt.date(2027, 2, 28),
    lines=(LineDecision("70551", 10),),
)


def test_an_approval_ending_before_the_last_service_date_is_due_while_it_can_be_extended() -> None:
    request = make_request(status=Status.APPROVED, awaiting_since=None)

    items = work_items(request, now=MONDAY, determination=APPROVAL)

    # Payers extend only a valid approval: the work is due two weeks before the window closes.
    assert [(i.kind, i.due_at) for i in items] == [
        (WorkKind.APPROVAL_EXPIRES_BEFORE_SERVICE, dt.datetime(2027, 2, 14, tzinfo=UTC))
    ]
    assert items[0].message == (
        "The approval ends 2027-02-28 but the service runs to 2027-03-31; ask the payer for an "
        "extension before it ends, or reschedule."
    )
    covering = replace(APPROVAL, valid_to=dt.date(2027, 3, 31))
    assert work_items(request, now=MONDAY, determination=covering) == []


@pytest.mark.parametrize(("used", "flagged"), [(7, False), (8, True), (10, True)])
def test_units_are_nearly_used_at_eighty_percent(used: int, flagged: bool) -> None:
    request = make_request(status=Status.APPROVED, awaiting_since=None)
    covering = replace(APPROVAL, valid_to=dt.date(2027, 3, 31))

    items = work_items(request, now=MONDAY, determination=covering, units_used={"70551": used})

    assert [i.kind for i in items] == ([WorkKind.UNITS_NEARLY_USED] if flagged else [])
    if flagged:
        assert items[0].message == (
            f"{used} of 10 approved units used for code 70551; ask the payer for more units "
            "before they run out."
        )
        assert items[0].due_at == MONDAY


def test_units_are_counted_against_the_modified_code_and_denied_lines_are_ignored() -> None:
    request = make_request(status=Status.PARTIALLY_APPROVED, awaiting_since=None)
    decision = replace(
        APPROVAL,
        valid_to=dt.date(2027, 3, 31),
        lines=(
            LineDecision("70551", 5, LineStatus.MODIFIED, approved_code="70553"),
            LineDecision("70551", 0, LineStatus.DENIED),
        ),
    )

    used = {"70553": 4, "70551": 9}
    items = work_items(request, now=MONDAY, determination=decision, units_used=used)

    assert [i.message.split(";")[0] for i in items] == ["4 of 5 approved units used for code 70553"]


@pytest.mark.parametrize(("days_away", "when"), [(0, "today"), (1, "tomorrow"), (7, "in 7 days")])
def test_a_service_within_seven_days_without_approval_is_flagged(days_away: int, when: str) -> None:
    service = MONDAY.date() + dt.timedelta(days=days_away)
    line = ServiceLine("70551", 1, service, service, "22")
    request = make_request(status=Status.READY, awaiting_since=None, lines=(line,))

    items = work_items(request, now=MONDAY)

    assert [(i.kind, i.due_at.date()) for i in items] == [
        (WorkKind.SERVICE_SOON_WITHOUT_APPROVAL, service)
    ]
    assert items[0].message == (
        f"The service on {service.isoformat()} is {when} and is not approved yet "
        "(status: ready); get a decision or reschedule."
    )


@pytest.mark.parametrize("status", [Status.APPROVED, Status.NOT_REQUIRED, Status.CANCELLED])
def test_a_service_soon_that_is_settled_raises_nothing(status: Status) -> None:
    service = MONDAY.date() + dt.timedelta(days=2)
    line = ServiceLine("70551", 1, service, service, "22")
    request = make_request(status=status, awaiting_since=None, lines=(line,))
    assert work_items(request, now=MONDAY) == []


def test_a_service_eight_days_away_is_not_yet_flagged() -> None:
    service = MONDAY.date() + dt.timedelta(days=8)
    request = make_request(
        status=Status.DRAFT, awaiting_since=None, lines=(ServiceLine("70551", 1, service, service),)
    )
    assert work_items(request, now=MONDAY) == []


def test_work_items_come_soonest_first_and_never_carry_phi() -> None:
    service = dt.date(2026, 11, 27)
    request = make_request(
        status=Status.PENDED,
        info_due=dt.datetime(2026, 11, 30, 12, tzinfo=UTC),
        lines=(ServiceLine("70551", 1, service, service, "22"),),
    )

    items = work_items(request, now=dt.datetime(2026, 11, 27, 16, tzinfo=UTC))

    assert [i.kind for i in items] == [
        WorkKind.SERVICE_SOON_WITHOUT_APPROVAL,
        WorkKind.PENDED_PAST_TURNAROUND,
        WorkKind.INFO_REQUESTED,
    ]
    text = " ".join(i.message for i in items)
    assert "Testpatient" not in text and "Gamma" not in text and "ZZ-CANARY" not in text
