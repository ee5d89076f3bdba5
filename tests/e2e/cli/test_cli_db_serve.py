"""`precert db upgrade` on SQLite and PostgreSQL, and `precert serve` answering like the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
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


@pytest.fixture
def served(precert: Precert, tmp_path: Path) -> Iterator[str]:
    """`precert serve` on a free loopback port, with the fixture pack imported; its base URL."""
    assert precert("payers", "import", PACK).code == 0
    port = free_port()
    env = cli_env(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "var")
    server = subprocess.Popen(
        [str(PRECERT), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # polls until the server answers, whatever the machine's speed
            if server.poll() is not None:
                pytest.fail(
                    f"precert serve exited: {server.stdout.read() if server.stdout else ''}"
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_serve_answers_the_api_with_the_same_requirement_as_the_cli(
    served: str, precert: Precert
) -> None:
    service = {"payer": "cli-fixture-health", "code": "70551", "pos": "22", "date": "2026-12-01"}

    response = httpx.post(f"{served}/api/v1/requirements/check", json=[service], timeout=30)
    cli = precert(
        "check", "--payer", "cli-fixture-health", "--code", "70551", "--pos", "22", "--date",
        "2026-12-01", "--json",
    )  # fmt: skip

    assert response.status_code == 200, response.text
    assert response.json()["services"] == json.loads(cli.out)["services"]
    assert response.json()["services"][0]["decision"] == "required"
    page = httpx.get(f"{served}/", timeout=30)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
