"""The Huey instance factory: an embedded SQLite queue in the data folder by default (no server to
run), Redis when PRECERT_REDIS_URL is set so that many consumers on many machines share one queue.

`embedded_consumer` runs a consumer inside another process (`precert serve` without Redis), so
that `make run` needs one command: worker threads, the periodic sweep, a clean stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

from precert.config import Settings

QUEUE = "precert"
JOBS_FILE = "jobs.sqlite3"
EMBEDDED_WORKERS = 2
# An idle embedded worker polls the queue file at most this far apart (seconds): jobs start
# soon after they are enqueued, and a stop never waits long for a sleeping worker.
EMBEDDED_MAX_POLL = 2.0
STOP_TIMEOUT = 15.0  # seconds a running job gets to finish when the app stops

log = logging.getLogger(__name__)


def make_huey(settings: Settings, *, name: str = QUEUE) -> Huey:
    """A Huey for these settings; `name` separates queues sharing one Redis (tests use theirs)."""
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.data_dir / JOBS_FILE))


@contextmanager
def embedded_consumer(
    huey: Huey,
    *,
    workers: int = EMBEDDED_WORKERS,
    periodic: bool = True,
    on_start: Callable[[], object] | None = None,
) -> Iterator[Any]:
    """Run a Huey consumer (threads; periodic tasks on unless `periodic` is False, as for the
    portal queue, which has none) in this process until the block ends, then stop it, letting a
    running job finish. `on_start` runs once it is up (e.g. enqueue a sweep, so work that fell due
    while nothing ran is picked up now, not at the next minute)."""
    from huey.consumer import Consumer

    consumer = Consumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        max_delay=EMBEDDED_MAX_POLL,
        # A process that died mid-job leaves its per-request lock behind; follow-ups are
        # idempotent, so clearing stale locks at start loses nothing.
        flush_locks=True,
        shutdown_timeout=STOP_TIMEOUT,
    )
    with _signals_kept():  # the host process (uvicorn) owns Ctrl-C and SIGTERM, not huey
        consumer.start()
    log.info("embedded job consumer started (%s, %d worker threads)", huey.name, workers)
    try:
        if on_start is not None:
            on_start()
        yield consumer
    finally:
        consumer.stop(graceful=True)
        log.info("embedded job consumer stopped (%s)", huey.name)


@contextmanager
def _signals_kept() -> Iterator[None]:
    """Restore the signal handlers that Consumer.start replaces (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    kept = {sig: signal.getsignal(sig) for sig in (getattr(signal, n) for n in names)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
