"""Shared fixtures: real SQLite and PostgreSQL contexts, a fixed clock, the service-missing policy.

With CI=true a test that needs PostgreSQL or Chromium fails when it is missing; elsewhere it is
skipped with the reason shown (`-ra`).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from precert.config import Settings
from precert.services.context import Context, build_context

PG_ADMIN_URL = os.environ.get("PRECERT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TODAY = dt.date(2026, 11, 23)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def missing_service(reason: str) -> None:
    """Fail under CI, skip elsewhere: a missing service must never pass silently in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: services are required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        missing_service(f"../shared not found at {SHARED}")
    return SHARED


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'precert.db'}", data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        missing_service(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
        raise
    name = f"precert_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + "/"
            + name
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_settings(pg_database: str, tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(database_url=pg_database, data_dir=tmp_path / "var")
    yield settings
    from sqlalchemy import text

    from precert.store.db import make_engine

    engine = make_engine(pg_database)
    with engine.begin() as conn:  # each test starts from an empty schema
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """Run the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_settings" if request.param == "sqlite" else "pg_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


@pytest.fixture
def ctx(sqlite_settings: Settings) -> Iterator[Context]:
    context = build_context(sqlite_settings, today=lambda: TODAY)
    yield context
    context.engine.dispose()


@pytest.fixture
def any_ctx(any_settings: Settings) -> Iterator[Context]:
    context = build_context(any_settings, today=lambda: TODAY)
    yield context
    context.engine.dispose()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, ONE per test process: Playwright's sync API keeps its event loop
    running while it is open, so a second `sync_playwright()` in the same thread would fail.
    Every browser test takes this one and opens its own context."""
    if not CHROMIUM.exists():
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
