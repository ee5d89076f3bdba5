"""The portal queue scaled out: two consumer PROCESSES on one real Redis queue, each launching
Debian's Chromium, submit five requests to mock portal (a) through the ONE portal credential the
organization has, sharing a SQLite database file. Every run succeeds and every request comes back
approved with its authorization number; the portal stores each request once; both processes run
some; and the credential is never used by two runs at once (the runs' [started, finished]
intervals, and the vault's lease/release record, in commit order).

Run as `python -m tests.integration.test_portal_queue_redis <queue>` this module is one of the
consumers (`consume`), configured from PRECERT_* like `precert worker --queue portal`.

Also: without Redis the portal queue is a second queue name in the jobs file in data_dir.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI, Request, Response
from huey import SqliteHuey
from sqlalchemy import text
from tests.integration.web.live_server import WEB_PACK, serving
from tests.support.requests import WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body

from precert.config import Settings
from precert.domain.authorizations import Status
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.services import authorization_requests as requests
from precert.services import credentials, documents, portal_runs
from precert.services.accounts import Actor, Role, create_organization, create_user
from precert.services.catalog import import_pack
from precert.services.context import Context, build_context
from precert.services.portal_runs import PortalRun
from precert.worker.huey import JOBS_FILE, QUEUE, make_huey
from precert.worker.portal import PORTAL_QUEUE, register_portal

REDIS_URL = os.environ.get("PRECERT_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
RUNS = 5
CREDENTIAL = "portal_login"
SUBMIT_PATH = "/wizard/submit"
# Enough for five portal runs one after another on a slow machine; the test fails, never hangs.
DEADLINE_SECONDS = 240.0
# A run put back because the credential is leased is tried again this soon (30 s in production).
BUSY_RETRY_SECONDS = 0.3
# A consumer that just finished a run waits this long before taking another, so that the other
# process's retry (every BUSY_RETRY_SECONDS, moved to the queue by its scheduler every second)
# takes the credential next: without it one process could win every race and the test would not
# show that runs spread over processes. It changes nothing that is asserted about exclusion.
PAUSE_AFTER_RUN_SECONDS = 3.0


def _missing(reason: str) -> None:
    # The policy of tests.conftest.missing_service: fail under CI, skip elsewhere.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: services are required)")
    pytest.skip(reason)


# -- the consumer process --------------------------------------------------------------------------


def consume(queue_name: str) -> None:
    """One portal consumer until SIGINT: the settings from PRECERT_*, the test's queue name, a
    short busy retry, one worker thread whose runs launch Chromium themselves (the runner's
    default, /usr/bin/chromium), and the pause after each run."""
    from huey.consumer import Consumer

    portal_runs.BUSY_RETRY_SECONDS = float(os.environ["TEST_BUSY_RETRY_SECONDS"])  # type: ignore[assignment]
    pause = float(os.environ["TEST_PAUSE_AFTER_RUN_SECONDS"])
    settings = Settings()
    huey = make_huey(settings, name=queue_name)
    ctx = build_context(settings, migrate=False)  # the test migrated the database
    register_portal(huey, lambda: ctx)

    def pause_after(task: object, task_value: object, exc: BaseException | None) -> None:
        if task_value == "done":
            time.sleep(pause)

    huey.post_execute()(pause_after)
    # Short polls: an idle worker finds a retried run within a fraction of a second.
    consumer = Consumer(
        huey, workers=1, worker_type="thread", periodic=False, initial_delay=0.05, max_delay=0.2
    )
    consumer.run()
    ctx.engine.dispose()


# -- the test --------------------------------------------------------------------------------------


@dataclass
class MockPortal:
    url: str
    state_dir: Path
    submit_posts: list[str] = field(default_factory=list)

    def stored(self) -> list[tuple[str, str]]:
        """(your reference, authorization number) of every request the portal stored."""
        with sqlite3.connect(self.state_dir / "modern-portal.db") as db:
            rows = db.execute("SELECT your_reference, authorization_number FROM requests")
            return [(str(mine), str(number or "")) for mine, number in rows.fetchall()]


@pytest.fixture
def mock_portal(tmp_path: Path) -> Iterator[MockPortal]:
    state_dir = tmp_path / "modern-portal"
    state_dir.mkdir()
    app = create_modern_portal(state_dir)  # the wall clock: it checks authenticator codes
    found = MockPortal("", state_dir)
    _counting(app, found.submit_posts)
    with serving(app) as url:
        found.url = url
        yield found


def _counting(app: FastAPI, posts: list[str]) -> None:
    """Remember every POST of the portal's submit button (a refused duplicate too)."""

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], object]) -> Response:
        if request.method == "POST" and request.url.path == SUBMIT_PATH:
            posts.append(request.url.path)
        response: Response = await call_next(request)  # type: ignore[misc]
        return response


@pytest.fixture
def redis_settings(tmp_path: Path, mock_portal: MockPortal) -> Settings:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    if not CHROMIUM.exists():
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'precert.db'}",
        data_dir=tmp_path / "var",
        redis_url=REDIS_URL,
        portals={"web-test-payer": f"modern-wizard@{mock_portal.url}"},
    )


@pytest.fixture
def queue_name(redis_settings: Settings) -> Iterator[str]:
    """A portal queue of this test's own name on the shared Redis, emptied (only it) after."""
    name = f"precert-portal-test-{uuid.uuid4().hex[:12]}"
    yield name
    huey = make_huey(redis_settings, name=name)
    huey.storage.flush_all()


@dataclass
class Clinic:
    ctx: Context
    actor: Actor


@pytest.fixture
def clinic(redis_settings: Settings, queue_name: str) -> Iterator[Clinic]:
    """The test process's side: the database migrated, the pack, one organization with one user
    and ONE portal credential; runs it starts go to the test's Redis queue (nothing consumes
    here)."""
    ctx = build_context(redis_settings)
    import_pack(ctx, WEB_PACK)
    org = create_organization(ctx, "Clinic Scale")
    email = "pat@clinic-scale.example.org"
    user_id = create_user(ctx, org="Clinic Scale", email=email, role="specialist", password=None)
    credentials.add_credential(
        ctx, org, CREDENTIAL, username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    enqueue = register_portal(make_huey(redis_settings, name=queue_name), lambda: ctx)
    ctx.dispatch_portal_run = enqueue.run_task
    yield Clinic(ctx, Actor(user_id, org, email, Role.SPECIALIST))
    ctx.engine.dispose()


def _ready_request(clinic: Clinic, n: int) -> str:
    # The portal refuses a date of service in its (wall clock) past.
    service_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    body = web_payer_body(last_name="Scalecanary", member_id=f"SCALE-{n}", service_day=service_day)
    request_id = requests.create_request(clinic.ctx, clinic.actor, body).id
    for k, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        upload = documents.upload_document(
            clinic.ctx, clinic.actor, request_id, kind=kind, filename=f"notes {k}.pdf",
            data=pdf_document(f"synthetic document {k}"),
        )  # fmt: skip
    assert upload.request.status is Status.READY
    return request_id


@pytest.fixture
def consumers(redis_settings: Settings, queue_name: str, tmp_path: Path) -> Iterator[list[int]]:
    """Two consumer processes on the test's queue; their process ids. Stopped (SIGINT, huey's
    graceful stop) after the test, killed if they do not stop."""
    env = {
        **os.environ,
        "PRECERT_DATABASE_URL": redis_settings.database_url,
        "PRECERT_DATA_DIR": str(redis_settings.data_dir),
        "PRECERT_REDIS_URL": REDIS_URL,
        "PRECERT_PORTALS": ",".join(f"{k}={v}" for k, v in redis_settings.portals.items()),
        "PRECERT_LOG_LEVEL": "WARNING",
        "TEST_BUSY_RETRY_SECONDS": str(BUSY_RETRY_SECONDS),
        "TEST_PAUSE_AFTER_RUN_SECONDS": str(PAUSE_AFTER_RUN_SECONDS),
    }
    command = [sys.executable, "-m", "tests.integration.test_portal_queue_redis", queue_name]
    started = []
    for n in (1, 2):
        log = (tmp_path / f"consumer-{n}.log").open("wb")
        started.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    try:
        yield [process.pid for process in started]
    finally:
        for process in started:
            process.send_signal(signal.SIGINT)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _runs(clinic: Clinic, ids: list[str]) -> list[PortalRun]:
    return [portal_runs.get_run(clinic.ctx, clinic.actor, run_id) for run_id in ids]


def _wait_until_ended(clinic: Clinic, ids: list[str], logs: Path) -> list[PortalRun]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        runs = _runs(clinic, ids)
        if not any(run.active for run in runs):
            return runs
        time.sleep(0.2)
    said = "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(logs.glob("*.log")))
    states = {run.id: run.status for run in _runs(clinic, ids)}
    pytest.fail(f"portal runs not done after {DEADLINE_SECONDS} s: {states}\n{said}")


def test_two_consumer_processes_share_one_credential_one_run_at_a_time(
    clinic: Clinic, mock_portal: MockPortal, consumers: list[int], tmp_path: Path
) -> None:
    request_ids = [_ready_request(clinic, n) for n in range(1, RUNS + 1)]
    ids = [portal_runs.start_submit(clinic.ctx, clinic.actor, rid).id for rid in request_ids]

    runs = _wait_until_ended(clinic, ids, tmp_path)

    assert [run.status for run in runs] == ["succeeded"] * RUNS, [run.message for run in runs]
    # Every request is approved with the portal's authorization number, stored there once.
    stored = dict(mock_portal.stored())
    assert sorted(stored) == sorted(request_ids)
    assert len(mock_portal.submit_posts) == RUNS
    for request_id in request_ids:
        detail = requests.get_request(clinic.ctx, clinic.actor, request_id)
        assert detail.request.status is Status.APPROVED
        decided = next(e for e in reversed(detail.timeline) if e.kind == "approve")
        number = decided.data["determination"]["authorization_number"]
        assert number and number == stored[request_id]
    # Both processes ran runs (the worker is "host:pid:thread").
    pids = {int(run.worker.split(":")[1]) for run in runs}
    assert pids == set(consumers)
    # One credential: never two runs at once.
    spans = sorted((run.started_at, run.finished_at) for run in runs)
    for (_, finished), (started, _) in itertools.pairwise(spans):
        assert finished <= started, spans
    # The vault's record in commit order: each lease's holder releases before another leases
    # (the same holder leasing again is a renewal).
    with clinic.ctx.engine.connect() as conn:
        events = conn.execute(
            text(
                "SELECT actor, action FROM audit_events WHERE entity = :entity "
                "AND action IN ('lease', 'release') ORDER BY id"
            ),
            {"entity": credentials.ENTITY},
        ).all()
    holder = None
    for actor, action in events:
        if action == "lease":
            assert holder in (None, actor), events
            holder = actor
        else:
            assert holder == actor, events
            holder = None
    assert holder is None
    assert {actor for actor, action in events} == {f"run-{run_id}" for run_id in ids}


def test_without_a_redis_url_the_portal_queue_is_a_second_queue_in_the_jobs_file(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'precert.db'}", data_dir=tmp_path / "d"
    )
    main, portal = make_huey(settings), make_huey(settings, name=PORTAL_QUEUE)
    assert isinstance(main, SqliteHuey) and isinstance(portal, SqliteHuey)
    assert (main.name, portal.name) == (QUEUE, PORTAL_QUEUE)
    assert portal.storage.filename == main.storage.filename == str(tmp_path / "d" / JOBS_FILE)
    # The names keep the queues apart in the one file: a portal run is not a main-queue job.
    jobs = register_portal(portal, lambda: pytest.fail("nothing runs here"))
    jobs.run_task("run-1")
    assert (len(portal), len(main)) == (1, 0)


if __name__ == "__main__":
    consume(sys.argv[1])
