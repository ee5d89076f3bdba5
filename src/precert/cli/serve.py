"""`precert serve`: the web app (work queue, JSON API, OpenAPI at /docs) under uvicorn, and, on
the embedded default (no PRECERT_REDIS_URL), the job consumers in the same process (the main queue
and the portal queue), so that follow-ups, notifications and portal runs go without a second
command. With Redis, run `precert worker`. Either way the web app hands the portal runs it queues
to the portal queue at once (its context's `dispatch_portal_run`)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of
from precert.config import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (PRECERT_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (PRECERT_PORT).", min=1, max=65535),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not run background jobs in this process (run `precert worker` instead).",
        ),
    ] = False,
) -> None:
    """Serve the web app and the API until interrupted (Ctrl-C); jobs run alongside unless
    PRECERT_REDIS_URL is set or --no-worker is given."""
    import uvicorn

    # Imported here so that other commands do not pay for loading the web stack.
    from precert.web.app import create_app

    settings = state_of(ctx).settings
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if level != "DEBUG":  # migration chatter at every start says nothing to a person
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from precert.worker.portal import dispatcher

    app = create_app(settings)
    # A portal run started from the web app starts now, not at the next minute's sweep.
    app.state.ctx.dispatch_portal_run = dispatcher(settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # ours turns SIGTERM into an orderly exit, so the job consumer below is stopped too.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        with _jobs(settings, no_worker) as where:
            stderr.print(
                f"precert serving on http://{bind_host}:{bind_port} ({where}; Ctrl-C stops)"
            )
            uvicorn.run(app, host=bind_host, port=bind_port, log_level=level.lower())
    except (KeyboardInterrupt, _Stopped):
        pass
    stderr.print("precert stopped")


class _Stopped(Exception):
    """SIGTERM arrived: leave the server and the job consumer the way Ctrl-C does."""


def _exit_cleanly(signum: int, frame: object) -> None:
    raise _Stopped


@contextmanager
def _jobs(settings: Settings, no_worker: bool) -> Iterator[str]:
    """Run the embedded consumers (main queue, then portal queue) while the block runs, when
    this process should run jobs; yields what to tell the person about jobs."""
    if settings.redis_url:
        yield "jobs: run `precert worker` (PRECERT_REDIS_URL is set)"
        return
    if no_worker:
        yield "jobs: not run here (--no-worker)"
        return
    from precert.worker.huey import embedded_consumer
    from precert.worker.portal import portal_jobs
    from precert.worker.tasks import jobs

    registered = jobs(settings)
    portal = portal_jobs(settings)
    # The portal consumer first, so the first sweep's portal runs find it running; its threads
    # are the portal workers (a run waiting for a person holds one of them, not a follow-up's).
    with (
        embedded_consumer(portal.huey, workers=settings.portal_workers, periodic=False),
        # Sweep at once: whatever fell due while nothing was running is followed up now.
        embedded_consumer(registered.huey, on_start=registered.sweep_task),
    ):
        yield f"jobs: running here, queues in {settings.data_dir}"
