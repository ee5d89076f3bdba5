"""`precert worker`: the Huey consumer that runs background jobs (the follow-up sweep) until
stopped."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of


def worker(
    ctx: typer.Context,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker threads running jobs at once.", min=1)
    ] = 1,
) -> None:
    """Run background jobs until interrupted (Ctrl-C): the minute sweep and follow-ups."""
    # Imported here so that other commands do not pay for loading the job stack.
    from huey.consumer import Consumer

    from precert.worker.tasks import jobs

    state = state_of(ctx)
    settings = state.settings
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    registered = jobs(settings)
    where = "Redis (PRECERT_REDIS_URL)" if settings.redis_url else str(settings.data_dir)
    stderr.print(f"precert worker: {workers} worker(s), queue in {where} (Ctrl-C stops)")
    # flush_locks: a consumer that died mid-task leaves its per-request lock behind; follow-ups
    # are idempotent, so clearing stale locks at start costs nothing and loses no request.
    consumer = Consumer(registered.huey, workers=workers, worker_type="thread", flush_locks=True)
    consumer.run()
