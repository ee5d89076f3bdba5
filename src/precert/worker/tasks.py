"""The background tasks: a periodic sweep that enqueues a follow-up for every due request, an
inquiry for every electronic submission due to be asked about (a portal's as a status run on the
portal queue, worker/portal.py), every queued portal run that no consumer has taken (the fallback
when nothing dispatched it), and an attempt for every due notification delivery; the per-request
follow-up, the per-request inquiry, and the per-delivery attempt. Each is a thin call into one
service with plain ids; the database, not the queue, says what is due, so a lost or repeated
message never loses or repeats work.

`register` binds the tasks to any Huey (tests use their own queue); the module attributes `huey`,
`sweep_task`, `follow_up_task` and `deliver_task` are the process-wide ones, built from the
environment on first use, which is what the consumer loads (`precert.worker.tasks:huey`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import Huey, crontab
from huey.exceptions import TaskLockedException

from precert.config import Settings, load_settings
from precert.notify.errors import NotifyError
from precert.services import exports, notifications, payer_exchanges, portal_runs
from precert.services.context import Context
from precert.services.payer_exchanges import PORTAL
from precert.services.sweep import follow_up, sweep
from precert.worker.huey import make_huey
from precert.worker.portal import lazy_context, portal_jobs

log = logging.getLogger(__name__)

FOLLOW_UP_RETRIES = 3
FOLLOW_UP_RETRY_DELAY = 10  # seconds; also how long a locked follow-up waits before trying again
# The sweep hands a queued portal run to the portal queue only once it has been due this long: a
# run just dispatched (or just put back, busy, with its own retry scheduled) is not sent twice.
PORTAL_FALLBACK_AFTER = dt.timedelta(minutes=2)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Jobs:
    """A Huey instance with precert's tasks registered on it."""

    huey: Huey
    sweep_task: Any  # huey's task wrappers are untyped
    follow_up_task: Any
    deliver_task: Any
    sheets_task: Any
    inquire_task: Any


def register(
    huey: Huey,
    context: Callable[[], Context],
    clock: Clock | None = None,
    *,
    portal_run: Callable[[str], object] | None = None,
) -> Jobs:
    """Define the tasks on `huey`; `context` gives the services context when a task runs.
    `portal_run` enqueues a portal run on the portal queue (default: the context's
    `dispatch_portal_run`; with neither, queued runs wait for a sweep that has one)."""
    now = clock or _utc_now

    # Decorators applied as calls: huey is untyped, and mypy strict refuses untyped decorators.
    def deliver_task(delivery_id: str) -> str:
        # One attempt; a failure is logged on the delivery (with its next attempt's time), never
        # raised. A delivery already being attempted elsewhere is left to that run.
        try:
            with huey.lock_task(f"deliver-{delivery_id}"):
                return notifications.deliver(context(), delivery_id, now=now()).status
        except TaskLockedException:
            return "locked"

    deliver_job = huey.task()(deliver_task)

    def follow_up_task(organization_id: str, request_id: str) -> None:
        # Two consumers never follow up one request at once: a locked run raises and is retried.
        with huey.lock_task(f"follow-up-{request_id}"):
            done = follow_up(context(), organization_id, request_id, now=now())
        for delivery_id in done.deliveries:  # committed: now the notices may go
            deliver_job(delivery_id)

    follow_up_job = huey.task(retries=FOLLOW_UP_RETRIES, retry_delay=FOLLOW_UP_RETRY_DELAY)(
        follow_up_task
    )

    def inquire_task(organization_id: str, request_id: str) -> None:
        # Ask the payer about one electronic submission; two consumers never ask at once.
        try:
            with huey.lock_task(f"inquire-{request_id}"):
                payer_exchanges.inquire(context(), organization_id, request_id, now=now())
        except TaskLockedException:
            return  # being asked already; the exchange says when to ask next

    inquire_job = huey.task()(inquire_task)

    def sweep_task() -> int:
        # sweep() has closed its transaction before anything is enqueued.
        at = now()
        ctx = context()
        due = sweep(ctx, now=at)
        for item in due:
            follow_up_job(item.organization_id, item.request_id)
        for inquiry in payer_exchanges.inquiries_due(ctx, now=at):
            if inquiry.channel == PORTAL:  # a browser run: queued, dispatched by start_status
                portal_runs.start_status(ctx, inquiry.organization_id, inquiry.request_id)
            else:
                inquire_job(inquiry.organization_id, inquiry.request_id)
        dispatch = portal_run or ctx.dispatch_portal_run
        if dispatch is not None:  # a run nothing took (its dispatch lost, or none was set)
            for run_id in portal_runs.queued_due(ctx, now=at - PORTAL_FALLBACK_AFTER):
                dispatch(run_id)
        # Deliveries due now: retries whose backoff has passed, decisions recorded by the web
        # app (which cannot enqueue), and any whose job was lost.
        for delivery_id in notifications.due_deliveries(ctx, now=at):
            deliver_job(delivery_id)
        return len(due)

    sweep_job = huey.periodic_task(crontab())(sweep_task)  # every minute

    def sheets_task() -> int:
        # Only when a spreadsheet is configured; a failed push waits for the next hour's.
        try:
            return exports.push_queue_to_sheet(context())
        except NotifyError as failed:
            log.warning("Google Sheets push failed: %s", failed.message)
            return 0

    sheets_job = huey.periodic_task(crontab(minute="0"))(sheets_task)  # hourly
    return Jobs(huey, sweep_job, follow_up_job, deliver_job, sheets_job, inquire_job)


_process: dict[str, Jobs] = {}
_guard = threading.Lock()


def jobs(settings: Settings | None = None) -> Jobs:
    """This process's Huey and tasks, built once (from `settings` or the environment)."""
    with _guard:
        if "jobs" not in _process:
            chosen = settings or load_settings()
            _process["jobs"] = register(
                make_huey(chosen),
                lazy_context(chosen),
                portal_run=lambda run_id: portal_jobs(chosen).run_task(run_id),
            )
        return _process["jobs"]


def __getattr__(name: str) -> Any:
    # Lazy module attributes: importing this module must not read settings or open a queue.
    if name in (
        "huey",
        "sweep_task",
        "follow_up_task",
        "deliver_task",
        "sheets_task",
        "inquire_task",
    ):
        return getattr(jobs(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
