"""Benchmark: importing a scheduling system's CSV (`precert requests import`), rows per second.

Generates a synthetic 10,000-row schedule (obviously fake patients, the four shipped payers, a
mix of services that need approval and services that do not, a few invalid rows), imports it on
a fresh SQLite database and on a fresh PostgreSQL database, each timed from reading the file to
the last commit, requirement checks included, and compares with the same run's peer: the plain
requirement check of the same rows through the CSV batch (services/batch.py), which saves nothing.

Target (issue 3): >= 2,000 rows/s. A second import of the same file (all rows already imported)
is timed too.

Run: .venv/bin/python bench/schedule_import.py [--rows N] [--seed N] [--no-postgres] [--profile]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import json
import os
import platform
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from precert.config import Settings
from precert.domain import codes
from precert.services.accounts import Actor, Role, create_organization
from precert.services.batch import answer_batch, open_batch
from precert.services.context import build_context
from precert.services.schedule_import import REQUIRED_COLUMNS, import_schedule

TARGET_ROWS_PER_SECOND = 2_000
PG_ADMIN_URL = os.environ.get("PRECERT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NPI = "1234567893"
# (payer, plan, code, pos, diagnoses): needing approval, not needing it, unknown.
SERVICES = (
    ("medicare", "medicare-ffs", "15823", "22", "H02.831"),  # required (OPD list)
    ("medicare", "medicare-ffs", "64612", "22", "G24.5"),  # required (OPD list)
    ("medicare", "medicare-ffs", "99213", "11", "I10"),  # not required
    ("acme-health", "commercial", "70551", "22", "G43.909"),  # preauthorization
    ("acme-health", "commercial", "27447", "24", "M17.11"),  # preauthorization
    ("acme-health", "commercial", "99214", "11", "E11.9"),  # unknown (no list)
    ("northwind-health", "commercial", "95810", "19", "G47.33"),
    ("northwind-health", "commercial", "97110", "11", "M54.50"),
    ("coralbay-medicaid", "medicaid-managed-care", "27447", "22", "M17.11"),
    ("coralbay-medicaid", "medicaid-managed-care", "99393", "11", "Z00.129"),
)
STATES = ("TX", "OH", "NJ", "AZ", "WA")
# The schedule's columns -> the batch check's (services/batch.py) for the same services.
PEER_COLUMNS = {
    "payer_id": "payer",
    "plan": "plan",
    "state": "state",
    "code": "code",
    "units": "units",
    "pos": "pos",
    "diagnoses": "diagnoses",
    "service_date": "date",
}
INVALID_EVERY = 250  # one row in 250 has a broken date of birth


def schedule_rows(rows: int, seed: int, today: dt.date) -> Iterator[dict[str, str]]:
    """Deterministic schedule rows; patients are 'Benchpatient <n>' with DEMO member ids."""
    rng = random.Random(seed)
    for n in range(rows):
        payer, plan, code, pos, dx = rng.choice(SERVICES)
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25_000))
        yield {
            "patient_first_name": "Benchpatient",
            "patient_last_name": f"Demo{n:05d}",
            "birth_date": "1980-13-45" if n % INVALID_EVERY == 7 else birth.isoformat(),
            "member_id": f"DEMO{n:06d}",
            "payer_id": payer,
            "plan": plan,
            "state": rng.choice(STATES),
            "code": code,
            "units": "1",
            "pos": pos,
            "diagnoses": dx,
            "service_date": (today + dt.timedelta(days=rng.randrange(1, 90))).isoformat(),
            "ordering_npi": NPI,
            "rendering_npi": NPI,
            "appointment_id": f"APPT-{n:06d}",
        }


def write_files(directory: Path, rows: int, seed: int, today: dt.date) -> tuple[Path, Path]:
    """The schedule CSV and the same services as a batch-check CSV (the peer's input)."""
    schedule = directory / "schedule.csv"
    services = directory / "services.csv"
    columns = [*REQUIRED_COLUMNS, "appointment_id"]
    with schedule.open("w", newline="") as a, services.open("w", newline="") as b:
        out = csv.DictWriter(a, columns)
        peer = csv.writer(b)
        out.writeheader()
        peer.writerow(PEER_COLUMNS.values())
        for row in schedule_rows(rows, seed, today):
            out.writerow(row)
            peer.writerow([row[name] for name in PEER_COLUMNS])
    return schedule, services


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    name = f"precert_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def warm_up(ctx: Any) -> None:
    """What any long-running process has done once before its first import: the rule book
    compiled, the ICD-10-CM code set loaded (about 3 s, once per process)."""
    ctx.rulebook()
    codes.diagnosis_code("I10", "warm-up")


def run_import(database_url: str, data_dir: Path, schedule: Path, profile: bool) -> dict[str, Any]:
    ctx = build_context(Settings(database_url=database_url, data_dir=data_dir))
    try:
        org = create_organization(ctx, f"Bench Clinic {uuid.uuid4().hex[:6]}")
        actor = Actor("bench-user", org, "bench@demo.example", Role.SPECIALIST)
        warm_up(ctx)
        profiler = cProfile.Profile() if profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        summary = import_schedule(ctx, actor, schedule)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumtime").print_stats("precert", 30)
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = import_schedule(ctx, actor, schedule)
        second = time.perf_counter() - started
    finally:
        ctx.engine.dispose()
    assert again.created == [] and again.already_imported == len(summary.created)
    return {
        "rows": summary.rows_read,
        "created": len(summary.created),
        "not_required": summary.not_required,
        "unknown": summary.unknown,
        "invalid": summary.invalid,
        "seconds": round(first, 3),
        "rows_per_second": round(summary.rows_read / first),
        # This process's CPU time only: on a shared machine, what the import itself costs.
        "rows_per_cpu_second": round(summary.rows_read / first_cpu),
        "reimport_seconds": round(second, 3),
        "reimport_rows_per_second": round(again.rows_read / second),
    }


def run_peer(services: Path) -> dict[str, Any]:
    """The plain requirement check of the same rows: the CSV batch, answers used and dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(
            Settings(database_url=f"sqlite:///{tmp}/peer.db", data_dir=Path(tmp) / "var")
        )
        warm_up(ctx)
        started = time.perf_counter()
        batch = open_batch(services)
        answered = sum(1 for _ in answer_batch(ctx, batch))
        seconds = time.perf_counter() - started
        ctx.engine.dispose()
    return {
        "rows": answered,
        "seconds": round(seconds, 3),
        "rows_per_second": round(answered / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="cProfile each import")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    figures: dict[str, Any] = {"target_rows_per_second": TARGET_ROWS_PER_SECOND}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        schedule, services = write_files(directory, args.rows, args.seed, dt.date.today())
        figures["peer_batch_check"] = peer = run_peer(services)
        print(f"peer: requirement check of {peer['rows']:,} rows: {peer['rows_per_second']:,}/s")
        url = f"sqlite:///{directory / 'bench.db'}"
        targets = [("sqlite", url)]
        if not args.no_postgres:
            targets.append(("postgresql", ""))
        for name, target in targets:
            if name == "postgresql":
                with postgres_database() as pg_url:
                    result = run_import(pg_url, directory / "var-pg", schedule, args.profile)
            else:
                result = run_import(target, directory / "var", schedule, args.profile)
            result["ratio_to_peer"] = round(result["rows_per_second"] / peer["rows_per_second"], 3)
            result["pass"] = result["rows_per_second"] >= TARGET_ROWS_PER_SECOND
            figures[name] = result
            verdict = "PASS" if result["pass"] else "FAIL"
            print(
                f"{name}: imported {result['rows']:,} rows in {result['seconds']} s = "
                f"{result['rows_per_second']:,} rows/s ({verdict} against "
                f"{TARGET_ROWS_PER_SECOND:,}); {result['created']:,} drafts, "
                f"{result['not_required']:,} not required, {result['unknown']:,} unknown, "
                f"{result['invalid']} invalid; {result['ratio_to_peer']}x the peer; "
                f"re-import {result['reimport_rows_per_second']:,} rows/s; "
                f"{result['rows_per_cpu_second']:,} rows per CPU-second (load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
            )
    print(json.dumps(figures))
    if not all(figures[name]["pass"] for name, _ in targets):
        sys.exit(1)


if __name__ == "__main__":
    main()
