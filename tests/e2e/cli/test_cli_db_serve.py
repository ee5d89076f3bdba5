"""`precert db upgrade` on SQLite and PostgreSQL, and settings or a database that cannot be used.

That `precert serve` answers a requirement check as the CLI does (and serves the work queue page)
is checked on the server test_cli_canary_logs.py starts anyway, rather than on one more start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from precert.config import Settings

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
PRECERT = Path(sys.executable).parent / "precert"
PACK = Path(__file__).resolve().parents[2] / "fixtures" / "packs" / "cli-fixture-health.yaml"


def cli_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECERT_")}
    env.update(PRECERT_DATABASE_URL=database_url, PRECERT_DATA_DIR=str(data_dir), COLUMNS="250")
    return env


def tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema_and_prints_the_database(
    precert: Precert, tmp_path: Path
) -> None:
    result = precert("db", "upgrade")

    assert result.code == 0, result
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert result.out.strip() == f"Database {url} is at the current schema."
    assert {"alembic_version", "payer_packs"} <= tables(url)
    assert (tmp_path / "var").is_dir()


@pytest.mark.postgres
def test_db_upgrade_on_postgresql_never_prints_the_password(
    pg_settings: Settings, tmp_path: Path
) -> None:
    # Trust authentication ignores the password, so it can be given (and must not be shown).
    url = pg_settings.database_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    assert "s3cret-pw" in url

    proc = subprocess.run(
        [str(PRECERT), "db", "upgrade"],
        env=cli_env(url, tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr
    assert "postgres:***@127.0.0.1" in proc.stdout
    assert "payer_packs" in tables(pg_settings.database_url)


def test_an_unreadable_setting_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "var")
    env["PRECERT_PORT"] = "eighty"

    proc = subprocess.run(
        [str(PRECERT), "payers", "list"], env=env, capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 2
    assert proc.stderr.startswith("PRECERT_PORT: Input should be a valid integer")


def test_a_database_that_cannot_be_reached_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{free_port()}/precert"

    proc = subprocess.run(
        [str(PRECERT), "payers", "list"],
        env=cli_env(url, tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 1
    assert proc.stderr.startswith("Cannot use the database postgresql+psycopg://postgres:***@")
    assert "Check PRECERT_DATABASE_URL." in proc.stderr
    assert "s3cret-pw" not in proc.stderr
    assert "Traceback" not in proc.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
