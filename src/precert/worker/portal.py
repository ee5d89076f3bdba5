"""The portal queue: portal runs (a browser driving a payer's portal, services/portal_runs.py) on
their own Huey queue, so that a slow run, or one waiting for a person, holds a portal worker and
never a follow-up worker.

`register_portal` binds the run task to any Huey (tests use their own queue); `portal_jobs` is the
process-wide one (`PORTAL_QUEUE`: a second queue name in the SQLite jobs file, or its own queue on
Redis), built on first use. `dispatcher` is what an entry point puts in a Context's
`dispatch_portal_run` so that a queued run starts at once instead of at the next minute's sweep.
Consumers run `settings.portal_workers` threads for this queue (`precert worker --queue portal`
on machines that only run browsers).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import Huey
from huey.exceptions import TaskLockedException

from precert.channels.portal.browser import kept_browser
from precert.channels.portal.channel import use_browser
from precert.config import Settings, load_settings
from precert.services import portal_runs
from precert.services.context import Context, build_context
from precert.worker.huey import make_huey

log = logging.getLogger(__name__)

PORTAL_QUEUE = "precert-portal"


@dataclass(frozen=True)
class PortalJobs:
    """A Huey instance with the portal run task registered on it."""

    huey: Huey
    run_task: Any  # huey's task wrapper is untyped


def register_portal(huey: Huey, context: Callable[[], Context]) -> PortalJobs:
    """Define the portal run task on `huey`; `context` gives the services context when it runs
    (a run takes its times from the context's clock)."""

    def run_task(run_id: str) -> str:
        # One consumer runs a given run: a duplicate message (the sweep's fallback racing the
        # dispatch) finds the lock and leaves the run to its holder.
        try:
            with huey.lock_task(f"portal-run-{run_id}"):
                # The thread's Chromium, kept between its runs (each run a fresh context).
                use_browser(kept_browser())
                outcome = portal_runs.execute(context(), run_id, worker=worker_name())
        except TaskLockedException:
            return "locked"
        if outcome == "busy":
            # The run's credential is leased by another run (one login, one browser at a time):
            # execute() put it back in the queue; ask again once the other may be done.
            # Read at each retry, so a test (or an operator's patch) can shorten it.
            run_job.schedule(args=(run_id,), delay=float(portal_runs.BUSY_RETRY_SECONDS))
        return str(outcome)

    run_job = huey.task()(run_task)  # a call, not a decorator: huey is untyped
    return PortalJobs(huey, run_job)


def worker_name() -> str:
    """Who is running a portal run, as recorded on it: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def dispatcher(settings: Settings) -> Callable[[str], None]:
    """A Context's `dispatch_portal_run` for these settings: enqueue the run on the portal queue
    (the queue is opened on the first run, not here)."""

    def dispatch(run_id: str) -> None:
        portal_jobs(settings).run_task(run_id)

    return dispatch


_process: dict[str, PortalJobs] = {}
_guard = threading.Lock()


def portal_jobs(settings: Settings | None = None) -> PortalJobs:
    """This process's portal queue and its task, built once (from `settings` or the
    environment)."""
    with _guard:
        if "jobs" not in _process:
            chosen = settings or load_settings()
            _process["jobs"] = register_portal(
                make_huey(chosen, name=PORTAL_QUEUE), lazy_context(chosen)
            )
        return _process["jobs"]


def lazy_context(settings: Settings) -> Callable[[], Context]:
    """The services context for tasks, built on first use; it hands the runs it queues (a status
    check from the sweep) to the portal queue."""
    built: list[Context] = []
    lock = threading.Lock()

    def context() -> Context:
        with lock:
            if not built:
                made = build_context(settings)
                made.dispatch_portal_run = dispatcher(settings)
                built.append(made)
            return built[0]

    return context


__all__ = [
    "PORTAL_QUEUE",
    "PortalJobs",
    "dispatcher",
    "lazy_context",
    "portal_jobs",
    "register_portal",
]
