"""`precert worker`: the Huey consumers that run background jobs until stopped: the main queue
(the minute sweep, follow-ups, inquiries, notices) and the portal queue (portal runs, each a
browser), in one process or, with `--queue`, one of them per machine."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of
from precert.config import Settings

if TYPE_CHECKING:
    from huey.consumer import Consumer


class QueueChoice(StrEnum):
    MAIN = "main"
    PORTAL = "portal"
    ALL = "all"


def worker(
    ctx: typer.Context,
    workers: Annotated[
        int,
        typer.Option("--workers", help="Worker threads running main-queue jobs at once.", min=1),
    ] = 1,
    queue: Annotated[
        QueueChoice,
        typer.Option(
            "--queue",
            help=(
                "Which jobs this process runs: 'main' (the minute sweep, follow-ups, "
                "inquiries, notices), 'portal' (portal runs, each driving a browser, "
                "PRECERT_PORTAL_WORKERS at once; for the machines that have Chromium), "
                "or 'all' (both, in one process)."
            ),
            case_sensitive=False,
        ),
    ] = QueueChoice.ALL,
) -> None:
    """Run background jobs until interrupted (Ctrl-C): the minute sweep and follow-ups on the
    main queue, portal runs on the portal queue."""
    # Imported here so that other commands do not pay for loading the job stack.
    from huey.consumer import Consumer

    from precert.worker.tasks import jobs

    state = state_of(ctx)
    settings = state.settings
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    where = "Redis (PRECERT_REDIS_URL)" if settings.redis_url else str(settings.data_dir)
    runs_main = queue in (QueueChoice.MAIN, QueueChoice.ALL)
    runs_portal = queue in (QueueChoice.PORTAL, QueueChoice.ALL)
    said = []
    if runs_main:
        said.append(f"{workers} main worker(s)")
    if runs_portal:
        said.append(f"{settings.portal_workers} portal worker(s)")
    stderr.print(f"precert worker: {', '.join(said)}, queues in {where} (Ctrl-C stops)")
    if queue is QueueChoice.PORTAL:
        _portal_consumer(settings).run()
        return
    # flush_locks: a consumer that died mid-task leaves its per-request lock behind; follow-ups
    # are idempotent, so clearing stale locks at start costs nothing and loses no request.
    main = Consumer(jobs(settings).huey, workers=workers, worker_type="thread", flush_locks=True)
    if queue is QueueChoice.MAIN:
        main.run()
        return
    # Both in one process: the portal consumer runs in the background; the main one owns the
    # signals (it starts last, so its handlers win) and, when it stops, the portal one stops
    # too, a running portal run finishing within huey's shutdown timeout.
    portal = _portal_consumer(settings)
    portal.start()
    try:
        main.run()
    finally:
        portal.stop(graceful=True)


def _portal_consumer(settings: Settings) -> Consumer:
    from huey.consumer import Consumer

    from precert.worker.portal import portal_jobs

    # A run's own lock is named by its id, unknown here: a stale one is not flushed (the run's
    # record, not the lock, says whether it still runs).
    return Consumer(
        portal_jobs(settings).huey,
        workers=settings.portal_workers,
        worker_type="thread",
        periodic=False,  # the minute sweep is the main queue's
        flush_locks=True,
    )
