"""A canary patient never appears in the raw SQLite file or a PostgreSQL dump, while the service
still returns it decrypted."""

from __future__ import annotations

import copy
import datetime as dt
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from precert.config import Settings
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.context import Context, build_context

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
CANARIES = (b"Canarypatient", b"Zzyzx", b"CANARY123456", b"1961-07-04")
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "patient": {
        "first_name": "Canarypatient",
        "last_name": "Zzyzx",
        "birth_date": "1961-07-04",
        "member_id": "CANARY123456",
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [{"code": "15823", "units": 1, "pos": "22", "from": "2026-12-10"}],
}


def _store_canary(ctx: Context) -> str:
    org = create_organization(ctx, "Canary Clinic")
    actor = Actor("user-canary", org, "canary.specialist@example.org", Role.SPECIALIST)
    created = requests.create_request(ctx, actor, copy.deepcopy(BODY), now=NOW)
    requests.cancel_request(ctx, actor, created.id, "test over", now=NOW)
    detail = requests.get_request(ctx, actor, created.id)
    assert detail.request.patient.first_name == "Canarypatient"
    assert detail.request.patient.last_name == "Zzyzx"
    assert detail.request.coverage.member_id == "CANARY123456"
    [found] = requests.list_requests(ctx, actor, member_id="CANARY123456")
    assert found.id == created.id
    return created.id


def _missing(reason: str) -> None:
    # The policy of tests.conftest.missing_service: fail under CI, skip elsewhere.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: services are required)")
    pytest.skip(reason)


def _leaks(raw: bytes) -> list[bytes]:
    return [canary for canary in CANARIES if canary in raw or canary.lower() in raw.lower()]


def test_the_canary_patient_is_not_in_the_raw_sqlite_file(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    ctx = build_context(sqlite_settings, today=lambda: NOW.date())
    _store_canary(ctx)
    ctx.engine.dispose()
    database = tmp_path / "precert.db"
    with sqlite3.connect(database) as connection:  # fold the write-ahead log into the file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    files = [database, *tmp_path.glob("precert.db-*")]
    raw = b"".join(path.read_bytes() for path in files)
    assert b"authorization_requests" in raw  # the right file, with the table in it
    assert _leaks(raw) == []


def test_the_canary_patient_is_not_in_a_postgresql_dump(pg_settings: Settings) -> None:
    pg_dump = "/usr/bin/pg_dump"
    if not os.path.exists(pg_dump):
        _missing(f"{pg_dump} is not installed")
    ctx = build_context(pg_settings, today=lambda: NOW.date())
    request_id = _store_canary(ctx)
    ctx.engine.dispose()
    url = pg_settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run([pg_dump, "--no-owner", url], capture_output=True, check=True).stdout
    assert request_id.encode() in dump  # the request is in the dump, only its PHI is not
    assert _leaks(dump) == []
