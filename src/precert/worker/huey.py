"""The Huey instance factory: an embedded SQLite queue in the data folder by default (no server to
run), Redis when PRECERT_REDIS_URL is set so that many consumers on many machines share one queue.
"""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from precert.config import Settings

QUEUE = "precert"
JOBS_FILE = "jobs.sqlite3"


def make_huey(settings: Settings, *, name: str = QUEUE) -> Huey:
    """A Huey for these settings; `name` separates queues sharing one Redis (tests use theirs)."""
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.data_dir / JOBS_FILE))
