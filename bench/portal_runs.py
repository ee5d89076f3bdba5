"""Portal submissions the way production runs them: requests queued as portal runs
(services.portal_runs.start_submit), taken from the portal queue by TWO consumer processes
(worker/portal.py's task on a Huey queue: Redis with --redis, else the SQLite jobs file), each run
persisted as it happens (steps committed live, screenshots and the Playwright trace encrypted into
the data directory), against mock portal (a) with the shipped SOP modern-wizard-submit.md.

Set-up: mock portal (a) under uvicorn in a process of its own; a precert database (SQLite in a
temporary directory, or with `--database postgresql` a fresh database on the PRECERT_TEST_PG
server, dropped after) with the synthetic web-test-payer pack (tests/fixtures/packs) and ONE
ORGANIZATION PER CONSUMER, each with its own vault credential `portal_login` (a portal user of its
own): the SOP names one credential, a run leases it, so two runs in parallel need two logins — two
organizations (or two payers) is how that happens in practice. --per-consumer approvable requests
per organization are queued, interleaved, once both consumers are up; a run whose login is held
by the other consumer's run goes back to the queue for portal_runs.BUSY_RETRY_SECONDS (30 s,
unchanged here) and is counted as "busy".

The consumers are configured as `precert worker --queue portal` configures its consumer
(settings.portal_workers threads, periodic off), on a queue name of the bench's own. Browser:
`--browser kept` (default) is the worker as it is: each worker thread keeps one Chromium across its
runs (channel.portal.browser.kept_browser; Playwright's sync objects belong to the thread that
made them), each run in a fresh browser context; `--browser per-run` makes each run launch and
close its own Chromium, as the worker did before, for comparison.

Figures, from the runs' rows: seconds from started_at (credentials leased) to finished_at
(median, p95); queue-to-done (created_at to finished_at: all runs are queued at once, so this is
mostly the wait behind other runs); submissions per hour over the wall time from the first run
queued to the last one finished, against the CAQH Index's 16 manual minutes (3.75/hour); the
cost of persistence per run (steps, encrypted screenshot and trace bytes). Checked: every run
succeeded, every request is approved with the authorization number the portal stored, and the
portal stored each request once (its submit button was posted once per request).

Targets (issue 6): median <= 10 s, >= 300 submissions per hour.

    .venv/bin/python bench/portal_runs.py [--per-consumer 20] [--browser kept|per-run]
        [--redis redis://127.0.0.1:6379/0] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal_submit import MANUAL_MINUTES, MANUAL_PER_HOUR, free_port, percentile, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "tests" / "fixtures" / "packs" / "web-test-payer.yaml"
PAYER = "web-test-payer"
DOCUMENTS = ("Clinical notes from the last 60 days", "Prior imaging reports")  # the pack's list
CREDENTIAL = "portal_login"  # the name modern-wizard-submit.md's header gives
SUBMIT_PATH = "/wizard/submit"
CONSUMERS = 2
PG_ADMIN_URL = os.environ.get("PRECERT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEADLINE_SECONDS = 540.0  # the runs must be done by then (the script's budget is ~10 minutes)
STOP_SECONDS = 30.0


def portal_user(n: int) -> tuple[str, str]:
    return f"bench-clinic-{n}", f"Bench-Pa55word-{n}"


# -- the portal, in its own process ----------------------------------------------------------------


def serve_portal(state_dir: str, port: int, users: dict[str, str], posts: str) -> None:
    """Child process: mock portal (a) on 127.0.0.1:port, noting every POST of its submit button
    (a refused duplicate too) as a line in `posts`, until terminated."""
    import uvicorn
    from fastapi import Request, Response

    from precert.portal_sim.modern import create_modern_portal

    app = create_modern_portal(Path(state_dir), users=users)  # DEMO_TOTP_SECRET for every user

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Any]) -> Response:
        if request.method == "POST" and request.url.path == SUBMIT_PATH:
            with open(posts, "a", encoding="utf-8") as out:
                out.write("post\n")
        response: Response = await call_next(request)
        return response

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def portal_stored(state_dir: Path) -> list[tuple[str, str]]:
    """(your reference, authorization number) of every request the portal stored."""
    with sqlite3.connect(state_dir / "modern-portal.db") as db:
        rows = db.execute("SELECT your_reference, authorization_number FROM requests").fetchall()
    return [(str(mine), str(number or "")) for mine, number in rows]


# -- a consumer process ----------------------------------------------------------------------------


def consume(queue: str, browser: str, events: Path) -> None:
    """One portal consumer until SIGINT, set up as cli/worker.py's `_portal_consumer` (the
    settings from PRECERT_*), on the bench's queue; each task's outcome is a JSON line in
    `events`, and `events`.ready appears once the consumer is about to take tasks."""
    from huey.consumer import Consumer

    from precert.config import Settings
    from precert.services.context import build_context
    from precert.worker.huey import make_huey
    from precert.worker.portal import register_portal

    settings = Settings()
    huey = make_huey(settings, name=queue)
    ctx = build_context(settings, migrate=False)  # the bench migrated the database

    def context() -> Any:
        # Called on the worker thread at each run, after the task handed the run its thread's
        # kept Chromium; "per-run" takes it back, so the run launches and closes its own.
        if browser == "per-run":
            from precert.channels.portal import channel

            channel.use_browser(None)
        return ctx

    register_portal(huey, context)

    def note(task: Any, value: object, exc: BaseException | None) -> None:
        line = {"at": time.time(), "outcome": value, "error": type(exc).__name__ if exc else ""}
        with events.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    huey.post_execute()(note)
    consumer = Consumer(
        huey,
        workers=settings.portal_workers,
        worker_type="thread",
        periodic=False,
        flush_locks=True,
    )
    events.with_suffix(".ready").touch()
    consumer.run()
    ctx.engine.dispose()


# -- the bench -------------------------------------------------------------------------------------


@dataclass
class Clinic:
    """One organization: its specialist (who queues the runs) and its requests."""

    actor: Any
    request_ids: list[str]


def set_up(ctx: Any, per_consumer: int, tag: str) -> list[Clinic]:
    """The pack, one organization per consumer with its own `portal_login`, and `per_consumer`
    ready (documents attached) requests in each, with approving synthetic member ids."""
    import reportlab.pdfgen.canvas  # noqa: F401 — fail early when the PDF maker is missing

    from precert.domain.authorizations import Status
    from precert.portal_sim.modern.app import DEMO_TOTP_SECRET
    from precert.services import authorization_requests as requests
    from precert.services import credentials, documents
    from precert.services.accounts import Actor, Role, create_organization, create_user
    from precert.services.catalog import import_pack

    import_pack(ctx, PACK)
    pdf = _pdf("synthetic clinical notes")
    # The portal refuses a date of service in its (wall clock) past.
    service_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    clinics = []
    for n in range(1, CONSUMERS + 1):
        name = f"Bench Portal Clinic {n} {tag}"
        org = create_organization(ctx, name)
        email = f"pat@bench-portal-{n}-{tag}.example.org"
        user_id = create_user(ctx, org=name, email=email, role="specialist", password=None)
        username, password = portal_user(n)
        credentials.add_credential(
            ctx, org, CREDENTIAL, username=username, password=password,
            totp_secret=DEMO_TOTP_SECRET,
        )  # fmt: skip
        actor = Actor(user_id, org, email, Role.SPECIALIST)
        ids = []
        for k in range(per_consumer):
            body = _body(service_day, f"BENCH-{n}-{k:03d}")
            request_id = requests.create_request(ctx, actor, body).id
            for m, kind in enumerate(DOCUMENTS, 1):
                upload = documents.upload_document(
                    ctx, actor, request_id, kind=kind, filename=f"notes {m}.pdf", data=pdf
                )
            if upload.request.status is not Status.READY:
                raise RuntimeError(f"bench request {request_id} is not ready to submit")
            ids.append(request_id)
        clinics.append(Clinic(actor, ids))
    return clinics


def _body(service_day: str, member_id: str) -> dict[str, Any]:
    """A brain MRI for the synthetic web-test-payer (an approving member id on mock portal (a))."""
    patient = {
        "first_name": "Benchpatient",
        "last_name": "Portalcanary",
        "birth_date": "1980-02-01",
        "member_id": member_id,
    }
    line = {"code": "70551", "units": 1, "pos": "22", "diagnoses": ["G43.909"]}
    return {
        "payer_id": PAYER,
        "plan": "commercial",
        "urgency": "standard",
        "patient": patient,
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [{**line, "from": service_day, "to": service_day}],
    }


def _pdf(text: str) -> bytes:
    import io

    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def start_consumers(
    env: Mapping[str, str], queue: str, browser: str, folder: Path
) -> list[subprocess.Popen[bytes]]:
    started = []
    for n in range(1, CONSUMERS + 1):
        log = (folder / f"consumer-{n}.log").open("wb")
        command = [
            sys.executable, __file__, "--consume", queue, "--browser", browser,
            "--events", str(folder / f"consumer-{n}.jsonl"),
        ]  # fmt: skip
        started.append(subprocess.Popen(command, env=dict(env), stdout=log, stderr=log))
    deadline = time.monotonic() + 120
    for n in range(1, CONSUMERS + 1):
        while not (folder / f"consumer-{n}.ready").exists():
            if time.monotonic() > deadline or started[n - 1].poll() is not None:
                said = (folder / f"consumer-{n}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"portal consumer {n} did not start:\n{said}")
            time.sleep(0.05)
    return started


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # huey's graceful stop
    for process in processes:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ended(ctx: Any, runs: list[tuple[Any, str]], folder: Path) -> list[Any]:
    from precert.services import portal_runs

    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        found = [portal_runs.get_run(ctx, actor, run_id) for actor, run_id in runs]
        if not any(run.active for run in found):
            return found
        if time.monotonic() > deadline:
            states = Counter(run.status for run in found)
            said = "\n".join(p.read_text(errors="replace")[-1500:] for p in folder.glob("*.log"))
            raise RuntimeError(
                f"portal runs not done after {DEADLINE_SECONDS:.0f} s: {states}\n{said}"
            )
        time.sleep(0.5)


def check(
    ctx: Any, clinics: list[Clinic], runs: list[Any], state_dir: Path, posts: Path
) -> list[str]:
    """What went wrong: runs that did not succeed, requests not approved with the portal's
    number, requests the portal did not store exactly once."""
    from precert.domain.authorizations import Status
    from precert.services import authorization_requests as requests

    problems = [
        f"run {run.id} ended {run.status} ({run.outcome}): {run.message}"
        for run in runs
        if run.status != "succeeded" or run.outcome != "approved"
    ]
    stored = portal_stored(state_dir)
    references = Counter(mine for mine, _ in stored)
    numbers = dict(stored)
    all_ids = [rid for clinic in clinics for rid in clinic.request_ids]
    for clinic in clinics:
        for request_id in clinic.request_ids:
            if references[request_id] != 1:
                problems.append(f"the portal stored {request_id} {references[request_id]} times")
            detail = requests.get_request(ctx, clinic.actor, request_id)
            if detail.request.status is not Status.APPROVED:
                problems.append(f"{request_id} is {detail.request.status.value}, not approved")
                continue
            decided = next(e for e in reversed(detail.timeline) if e.kind == "approve")
            number = decided.data["determination"]["authorization_number"]
            if not number or number != numbers.get(request_id):
                problems.append(
                    f"{request_id}: authorization number {number!r} is not the portal's"
                )
    if len(stored) != len(all_ids):
        problems.append(f"the portal stored {len(stored)} requests for {len(all_ids)} submitted")
    clicks = len(posts.read_text().splitlines()) if posts.exists() else 0
    if clicks != len(all_ids):
        problems.append(f"the portal's submit button was posted {clicks} times for {len(all_ids)}")
    return problems


def artifact_bytes(ctx: Any, run: Any, names: list[str]) -> int:
    from precert.services.portal_run_observer import artifact_path

    return sum(artifact_path(ctx, run.id, name).stat().st_size for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-consumer", type=int, default=20, help="runs per consumer")
    parser.add_argument("--browser", choices=("kept", "per-run"), default="kept")
    parser.add_argument("--redis", help="Redis URL for the portal queue (default: jobs file)")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="SQLite in a temporary directory, or a fresh PostgreSQL database on the server "
        "PRECERT_TEST_PG names (dropped after)",
    )
    parser.add_argument("--consume", metavar="QUEUE", help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consume(args.consume, args.browser, Path(args.events))
        return
    with tempfile.TemporaryDirectory(prefix="precert-bench-portal-") as tmp:
        if args.database == "postgresql":
            with postgres_database() as url:
                report(args, Path(tmp), url)
        else:
            report(args, Path(tmp), f"sqlite:///{Path(tmp) / 'precert.db'}")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the PRECERT_TEST_PG server for this run, dropped after."""
    import psycopg

    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    name = f"precert_bench_portal_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def report(args: argparse.Namespace, folder: Path, database: str) -> None:
    from precert.config import Settings
    from precert.services import portal_runs
    from precert.services.context import build_context
    from precert.worker.huey import make_huey
    from precert.worker.portal import register_portal

    state_dir, posts = folder / "modern-portal", folder / "submit-posts.txt"
    state_dir.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    users = dict(portal_user(n) for n in range(1, CONSUMERS + 1))
    settings = Settings(
        database_url=database,
        data_dir=folder / "var",
        redis_url=args.redis,
        portals={PAYER: f"modern-wizard@{url}"},
    )
    tag = uuid.uuid4().hex[:8]
    queue = f"precert-portal-bench-{tag}"
    env = {k: v for k, v in os.environ.items() if k != "PRECERT_REDIS_URL"}
    env.update(
        PRECERT_DATABASE_URL=database,
        PRECERT_DATA_DIR=str(settings.data_dir),
        PRECERT_PORTALS=f"{PAYER}=modern-wizard@{url}",
        PRECERT_LOG_LEVEL="WARNING",
    )
    if args.redis:
        env["PRECERT_REDIS_URL"] = args.redis
    portal = mp.get_context("spawn").Process(
        target=serve_portal, args=(str(state_dir), port, users, str(posts)), daemon=True
    )
    portal.start()
    consumers: list[subprocess.Popen[bytes]] = []
    huey = make_huey(settings, name=queue)
    ctx = build_context(settings)
    try:
        wait_until_up(url)
        clinics = set_up(ctx, args.per_consumer, tag)
        ctx.dispatch_portal_run = register_portal(huey, lambda: ctx).run_task
        consumers = start_consumers(env, queue, args.browser, folder)
        queued = []
        for k in range(args.per_consumer):  # interleaved: the two logins alternate in the queue
            for clinic in clinics:
                run = portal_runs.start_submit(ctx, clinic.actor, clinic.request_ids[k])
                queued.append((clinic.actor, run.id))
        runs = wait_until_ended(ctx, queued, folder)
        problems = check(ctx, clinics, runs, state_dir, posts)
        sizes = [
            (len(run.steps), len(run.screenshots), artifact_bytes(ctx, run, run.screenshots),
             artifact_bytes(ctx, run, run.traces))
            for run in runs
        ]  # fmt: skip
    finally:
        stop(consumers)
        if args.redis:
            huey.storage.flush_all()  # the bench's own queue name only
        portal.terminate()
        portal.join(timeout=10)
        ctx.engine.dispose()
    outcomes: Counter[str] = Counter()
    for n in range(1, CONSUMERS + 1):
        path = folder / f"consumer-{n}.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            outcomes[json.loads(line)["outcome"] or "error"] += 1
    print_figures(args, runs, sizes, problems, outcomes)


def _seconds(later: dt.datetime | None, earlier: dt.datetime | None) -> float:
    if later is None or earlier is None:
        return float("nan")
    return (later - earlier).total_seconds()


def slowest(runs: list[Any], count: int = 4) -> list[tuple[int, str, float]]:
    """(SOP line, step kind, mean seconds) of the steps that take longest on average."""
    taken: dict[tuple[int, str], list[float]] = {}
    for run in runs:
        for step in run.steps:
            taken.setdefault((step.line, step.kind), []).append(step.seconds)
    means = [(line, kind, statistics.mean(seconds)) for (line, kind), seconds in taken.items()]
    return sorted(means, key=lambda found: -found[2])[:count]


def print_figures(
    args: argparse.Namespace,
    runs: list[Any],
    sizes: list[tuple[int, int, int, int]],
    problems: list[str],
    outcomes: Counter[str],
) -> None:
    from precert.services import portal_runs

    ended = [run for run in runs if run.started_at and run.finished_at]
    per_run = [_seconds(run.finished_at, run.started_at) for run in ended]
    to_done = [_seconds(run.finished_at, run.created_at) for run in ended]
    wall = _seconds(max(r.finished_at for r in ended), min(r.created_at for r in runs))
    done = sum(run.status == "succeeded" for run in runs)
    per_hour = done / wall * 3600
    ratio = per_hour / MANUAL_PER_HOUR
    median, p95 = statistics.median(per_run), percentile(per_run, 0.95)
    by_worker = Counter(run.worker.split(":")[1] for run in runs if run.worker)
    steps, shots, shot_bytes, trace_bytes = (
        statistics.mean(column) for column in zip(*sizes, strict=True)
    )
    where = "Redis" if args.redis else "the SQLite jobs file"
    database = "PostgreSQL" if args.database == "postgresql" else "SQLite"
    browser = (
        "each run launches its own Chromium (the worker before it kept one)"
        if args.browser == "per-run"
        else "one Chromium per worker thread, kept across its runs (the worker as it is)"
    )
    print(
        f"{len(runs)} portal submit runs on mock portal (a), queued with start_submit, taken by "
        f"{CONSUMERS} consumer processes from {where}, persisted in {database}; {browser}"
    )
    print(
        f"{CONSUMERS} organizations, one per consumer, each with its own `portal_login`: the SOP "
        "names one credential and a run leases it, so parallel runs need one login each"
    )
    print(
        f"per run (started_at -> finished_at): median {median:.2f} s, p95 {p95:.2f} s, "
        f"min {min(per_run):.2f} s, max {max(per_run):.2f} s (target median <= 10 s)"
    )
    print(
        f"queue-to-done (created_at -> finished_at, all queued at once): median "
        f"{statistics.median(to_done):.1f} s, max {max(to_done):.1f} s"
    )
    print(
        f"{done} succeeded in {wall:.1f} s = {per_hour:,.0f} submissions/hour (target >= 300), "
        f"{ratio:,.0f}x one person at the CAQH Index's {MANUAL_MINUTES:.0f} manual minutes "
        f"({MANUAL_PER_HOUR:.2f}/hour)"
    )
    print(
        f"runs per consumer process: {sorted(by_worker.values())}; task outcomes "
        f"{dict(sorted(outcomes.items()))} (busy: the login was leased by the other consumer's "
        f"run, retried after {portal_runs.BUSY_RETRY_SECONDS} s)"
    )
    print(
        f"persistence per run: {steps:.1f} steps, {shots:.1f} screenshots = "
        f"{shot_bytes / 1024:.0f} KiB, trace {trace_bytes / 1024:.0f} KiB (encrypted on disk)"
    )
    in_steps = statistics.median(sum(step.seconds for step in run.steps) for run in ended)
    print(
        f"of a run, {in_steps:.2f} s (median) is inside SOP steps; the rest is the browser, the "
        "service (lease, request, answer) and the trace. Slowest steps on average: "
        + "; ".join(f"line {line} {kind} {mean:.2f} s" for line, kind, mean in slowest(ended))
    )
    for problem in problems[:20]:
        print(f"PROBLEM: {problem}")
    met = median <= 10 and per_hour >= 300 and not problems
    print(
        json.dumps(
            {
                "bench": "portal_runs",
                "runs": len(runs),
                "consumers": CONSUMERS,
                "browser": args.browser,
                "queue": "redis" if args.redis else "sqlite",
                "database": database.lower(),
                "median_s": round(median, 2),
                "p95_s": round(p95, 2),
                "queue_to_done_median_s": round(statistics.median(to_done), 1),
                "wall_s": round(wall, 1),
                "submissions_per_hour": round(per_hour),
                "ratio_vs_manual": round(ratio, 1),
                "busy_retries": outcomes.get("busy", 0),
                "steps_per_run": round(steps, 1),
                "screenshot_bytes_per_run": round(shot_bytes),
                "trace_bytes_per_run": round(trace_bytes),
                "problems": len(problems),
                "targets_met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
