"""When to ask a payer's portal again about a submission it has not decided: from the payer's
turnaround, not a fixed interval, because every portal status check is a browser run.

The payer says by when it decides (the turnaround captured on the request, `followups.payer_due`,
bounded by CMS-0057-F for the plans it covers). The portal is checked at 25%, 50%, 75% and 100% of
the time from submission to that due date, never sooner than `MIN_GAP` after the last check; past
the due date, once a business day; with no turnaround known, at the caller's fixed interval (the
inquiry interval). Pure: every time is a parameter.
"""

from __future__ import annotations

import datetime as dt

from precert.domain.authorizations import AuthorizationRequest
from precert.domain.followups import (
    CMS_0057_FROM,
    CMS_0057_PLANS,
    add_business_days,
    decision_due,
    payer_due,
)

# The points of the turnaround at which the portal is asked, as fractions of it.
FRACTIONS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
# A short turnaround (hours) must not turn into a browser run every few minutes.
MIN_GAP = dt.timedelta(minutes=15)


def stated_decision_due(request: AuthorizationRequest) -> dt.datetime | None:
    """When the payer's decision is due by what the payer (or CMS-0057-F) states; None when
    neither says, where `followups.decision_due` would fall back to a follow-up default that
    the payer never promised (a status schedule built on it would only guess)."""
    start = request.awaiting_since
    if start is None:
        return None
    regulated = request.coverage.plan in CMS_0057_PLANS and start.date() >= CMS_0057_FROM
    if payer_due(request, start) is None and not regulated:
        return None
    return decision_due(request)


def next_status_check(
    submitted_at: dt.datetime,
    decision_due: dt.datetime | None,
    last_check_at: dt.datetime | None,
    now: dt.datetime,
    *,
    unknown_every: dt.timedelta,
) -> dt.datetime:
    """The next time to check a portal submission's status, computed at `now` (the submission or
    a check just made).

    The first of the turnaround's points (`FRACTIONS` of submission → `decision_due`) after
    `now`, but never sooner than `MIN_GAP` after `last_check_at`; past the due date one business
    day after `now`; `now + unknown_every` when `decision_due` is None. A late check skips the
    points it missed instead of catching up on them.
    """
    if decision_due is None:
        return now + unknown_every
    earliest = now if last_check_at is None else max(now, last_check_at + MIN_GAP)
    span = decision_due - submitted_at
    for fraction in FRACTIONS:
        point = submitted_at + span * fraction
        if point > now:
            return max(point, earliest)
    return max(add_business_days(now, 1), earliest)


__all__ = ["FRACTIONS", "MIN_GAP", "next_status_check", "stated_decision_due"]
