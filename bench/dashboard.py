"""Benchmark: the dashboard's figures (services/dashboard.py) with 50,000 requests in PostgreSQL.

Builds a fresh database `precert_bench_dashboard` on 127.0.0.1:5432 (user postgres) and seeds one
organization with N requests (plus N/10 in another organization, so tenant scoping is real) and
their timelines with plain SQL inserts: statuses in a realistic mix, service dates over three
months, next actions around today, 2% needing attention, four payers; every request past `ready`
has a `submit` event (half of them through a transmitting channel) and every decided one a
decision event 1-10 days later. The PHI columns hold a fixed placeholder, not ciphertext: the
dashboard never reads them. Then times `dashboard(ctx, actor)` (all its queries plus the audit
write), after one warm-up call. The same-run peer is `SELECT 1` through the same engine.

Run: .venv/bin/python bench/dashboard.py [--requests 50000] [--rounds 30] [--sqlite]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text

from precert.config import Settings
from precert.services.accounts import Actor, Role, create_organization
from precert.services.context import Context, build_context
from precert.services.dashboard import dashboard
from precert.store.requests import AuthorizationRequestRecord, TimelineEventRecord

PG_ADMIN = os.environ.get("PRECERT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = "precert_bench_dashboard"
PAYERS = ("medicare", "acme-health", "northwind-health", "coralbay-medicaid")
STATUS_MIX = (
    ("draft", 20),
    ("ready", 8),
    ("submitted", 12),
    ("pended", 10),
    ("approved", 30),
    ("partially_approved", 4),
    ("denied", 6),
    ("cancelled", 4),
    ("not_required", 3),
    ("appealed", 2),
    ("expired", 1),
)
SUBMITTED = {"submitted", "pended", "approved", "partially_approved", "denied", "appealed"}
DECIDED = {"approved", "partially_approved", "denied", "appealed", "expired"}
CHANNELS = ({"channel": "fax"}, {"channel": "x12"}, {"channel": "manual", "method": "phone"}, {})
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="precert-bench-dashboard-"))
    url = f"sqlite:///{folder / 'bench.db'}" if args.sqlite else _fresh_postgres()
    ctx = build_context(Settings(database_url=url, data_dir=folder / "var"))
    ctx.now = lambda: NOW
    ctx.today = lambda: NOW.date()
    started = time.perf_counter()
    actor = _seed(ctx, args.requests)
    seeded = time.perf_counter() - started
    dashboard(ctx, actor)  # warm-up: rule book, connection pool, plans
    times = [_timed(lambda: dashboard(ctx, actor)) for _ in range(args.rounds)]
    peer = [_timed(lambda: _select_one(ctx)) for _ in range(args.rounds)]
    figures = dashboard(ctx, actor)
    result: dict[str, Any] = {
        "benchmark": "dashboard",
        "database": "sqlite" if args.sqlite else "postgresql",
        "requests": args.requests,
        "other_org_requests": args.requests // 10,
        "rounds": args.rounds,
        "seed_seconds": round(seeded, 1),
        "dashboard_ms_p50": _ms(statistics.median(times)),
        "dashboard_ms_p95": _ms(_p95(times)),
        "dashboard_ms_max": _ms(max(times)),
        "peer_select_1_ms_p50": _ms(statistics.median(peer)),
        "total_seen": figures.total,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(
        f"dashboard with {figures.total} requests: p50 {result['dashboard_ms_p50']} ms, "
        f"p95 {result['dashboard_ms_p95']} ms "
        f"(peer SELECT 1 p50 {result['peer_select_1_ms_p50']} ms)"
    )
    print(json.dumps(result))
    ctx.engine.dispose()


def _fresh_postgres() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{DATABASE}"


def _seed(ctx: Context, count: int) -> Actor:
    mine = create_organization(ctx, "Bench Clinic")
    other = create_organization(ctx, "Other Bench Clinic")
    rng = random.Random(7)
    _insert(ctx, mine, count, rng)
    _insert(ctx, other, count // 10, rng)
    with ctx.engine.begin() as conn:
        if ctx.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return Actor(str(uuid.uuid4()), mine, "bench@bench.example", Role.VIEWER)


def _insert(ctx: Context, org: str, count: int, rng: random.Random) -> None:
    statuses = [s for s, weight in STATUS_MIX for _ in range(weight)]
    batch = 5_000
    for start in range(0, count, batch):
        requests: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for _ in range(min(batch, count - start)):
            request_id = str(uuid.uuid4())
            status = rng.choice(statuses)
            created = NOW - dt.timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1440))
            requests.append(_request(org, request_id, status, created, rng))
            events.extend(_events(request_id, status, created, rng))
        with ctx.engine.begin() as conn:
            conn.execute(insert(AuthorizationRequestRecord), requests)
            if events:
                conn.execute(insert(TimelineEventRecord), events)


def _request(
    org: str, request_id: str, status: str, created: dt.datetime, rng: random.Random
) -> dict[str, Any]:
    return {
        "id": request_id,
        "organization_id": org,
        "status": status,
        "urgency": "expedited" if rng.random() < 0.1 else "standard",
        "payer_id": rng.choice(PAYERS),
        "plan": "commercial",
        "state": "TX",
        "retro": False,
        "needs_attention": "Submission failed (bench)" if rng.random() < 0.02 else None,
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "patient_first_name": "bench-placeholder",
        "patient_last_name": "bench-placeholder",
        "patient_birth_date": "bench-placeholder",
        "member_id": "bench-placeholder",
        "member_id_index": "0" * 64,
        "requirement": [],
        "next_action_at": NOW + dt.timedelta(hours=rng.randint(-500, 1500)),
        "created_at": created,
        "updated_at": created,
        "service_date": NOW.date() + dt.timedelta(days=rng.randint(-30, 60)),
    }


def _events(
    request_id: str, status: str, created: dt.datetime, rng: random.Random
) -> list[dict[str, Any]]:
    if status not in SUBMITTED and status not in DECIDED:
        return []
    sent = created + dt.timedelta(hours=rng.randint(1, 72))
    rows = [_event(request_id, sent, "submit", "ready", "submitted", rng.choice(CHANNELS))]
    if status in DECIDED:
        decided = sent + dt.timedelta(hours=rng.randint(24, 240))
        outcome = status if status in {"approved", "partially_approved", "denied"} else "approved"
        kind = {"approved": "approve", "partially_approved": "partially_approve"}.get(
            outcome, "deny"
        )
        rows.append(_event(request_id, decided, kind, "submitted", outcome, {}))
    return rows


def _event(
    request_id: str, at: dt.datetime, kind: str, before: str, after: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "at": at,
        "actor": "bench@bench.example",
        "kind": kind,
        "from_status": before,
        "to_status": after,
        "note": "",
        "data": dict(data),
    }


def _select_one(ctx: Context) -> None:
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


if __name__ == "__main__":
    main()
