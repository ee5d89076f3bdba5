"""Jobs on a real queue: a real Huey consumer against the real Redis at 127.0.0.1:6379 follows up a
due request in a SQLite database; and without PRECERT_REDIS_URL the queue is SQLite in data_dir."""

from __future__ import annotations

import copy
import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer

from precert.config import Settings
from precert.domain.authorizations import Event
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.context import Context, build_context
from precert.worker.huey import JOBS_FILE, QUEUE, make_huey
from precert.worker.tasks import register

REDIS_URL = os.environ.get("PRECERT_TEST_REDIS", "redis://127.0.0.1:6379/0")
DEADLINE_SECONDS = 30.0


def _missing(reason: str) -> None:
    # The policy of tests.conftest.missing_service: fail under CI, skip elsewhere.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: services are required)")
    pytest.skip(reason)


@pytest.fixture
def redis_settings(tmp_path: Path) -> Settings:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'precert.db'}",
        data_dir=tmp_path / "var",
        redis_url=REDIS_URL,
    )


@pytest.fixture
def queue(redis_settings: Settings) -> Iterator[RedisHuey]:
    """A queue of this test's own name on the shared Redis, emptied (only it) afterwards."""
    huey = make_huey(redis_settings, name=f"precert-test-{uuid.uuid4().hex[:12]}")
    assert isinstance(huey, RedisHuey)
    yield huey
    huey.storage.flush_all()
    huey.flush_locks()


def _overdue_request(ctx: Context) -> tuple[Actor, str]:
    """A request submitted 10 days ago (real time), so its decision is overdue now."""
    today = dt.date.today()
    service = (today + dt.timedelta(days=60)).isoformat()
    body: dict[str, Any] = {
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "urgency": "standard",
        "patient": {
            "first_name": "Testpatient",
            "last_name": "Redis",
            "birth_date": "1980-02-01",
            "member_id": "TEST-REDIS-1",
        },
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {"code": "15823", "units": 1, "pos": "22", "diagnoses": ["H02.831"]}
            | {"from": service, "to": service}
        ],
    }
    org = create_organization(ctx, "Redis Clinic")
    actor = Actor("user-redis", org, "redis.specialist@example.org", Role.SPECIALIST)
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    request_id = requests.create_request(ctx, actor, copy.deepcopy(body), now=then).id
    requests.apply_event(ctx, actor, request_id, Event.OVERRIDE_READY, "faxed notes", now=then)
    requests.apply_event(ctx, actor, request_id, Event.SUBMIT, now=then)
    return actor, request_id


def _wait_for_flag(ctx: Context, actor: Actor, request_id: str) -> str | None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        flag = requests.get_request(ctx, actor, request_id).request.needs_attention
        if flag is not None:
            return flag
        time.sleep(0.1)
    return None


def test_a_real_consumer_on_redis_follows_up_a_due_request(
    redis_settings: Settings, queue: RedisHuey
) -> None:
    ctx = build_context(redis_settings)
    jobs = register(queue, lambda: ctx)
    actor, request_id = _overdue_request(ctx)
    consumer = Consumer(queue, workers=2, worker_type="thread", periodic=False)
    # Consumer.start installs signal handlers for a foreground process; give pytest's back.
    handlers = {
        sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    consumer.start()
    try:
        jobs.follow_up_task(actor.organization_id, request_id)
        jobs.follow_up_task(actor.organization_id, request_id)  # a duplicated message
        flag = _wait_for_flag(ctx, actor, request_id)
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        ctx.engine.dispose()
    assert flag is not None and flag.startswith("Decision overdue: it was due ")
    ctx = build_context(redis_settings)
    timeline = requests.get_request(ctx, actor, request_id).timeline
    ctx.engine.dispose()
    assert [e.kind for e in timeline].count("needs_attention_set") == 1
    assert len(queue) == 0


def test_without_a_redis_url_jobs_queue_in_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'precert.db'}", data_dir=tmp_path / "d"
    )
    huey = make_huey(settings)
    assert isinstance(huey, SqliteHuey)
    assert huey.name == QUEUE
    assert huey.storage.filename == str(tmp_path / "d" / JOBS_FILE)
    assert (tmp_path / "d" / JOBS_FILE).exists()
