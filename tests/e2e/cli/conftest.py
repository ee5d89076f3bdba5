"""Running the real installed `precert` command in a subprocess, on a temporary SQLite database.

Every test gets its own database and data folder (PRECERT_DATABASE_URL, PRECERT_DATA_DIR) and a
wide terminal (COLUMNS) so Rich does not wrap the sentences the tests look for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PRECERT = Path(sys.executable).parent / "precert"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PACKS = FIXTURES / "packs"
FIXTURE_PAYER = "cli-fixture-health"
FIXTURE_PACK = PACKS / "cli-fixture-health.yaml"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:  # pytest shows it when an assertion message is the Result
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


Precert = Callable[..., Result]


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECERT_")}
    env.update(
        PRECERT_DATABASE_URL=database_url,
        PRECERT_DATA_DIR=str(data_dir),
        COLUMNS="250",
        NO_COLOR="1",
    )
    return env


def runner(home: Path) -> Precert:
    """precert(*args) runs the command in `home` on its own database, returning code and output."""
    env = environment(f"sqlite:///{home / 'p.db'}", home / "var")

    def run(*args: str | Path) -> Result:
        proc = subprocess.run(
            [str(PRECERT), *map(str, args)],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def precert(tmp_path: Path) -> Precert:
    """A fresh installation (empty database) for tests that change what is configured."""
    return runner(tmp_path)


@pytest.fixture(scope="module")
def with_fixture_payer(tmp_path_factory: pytest.TempPathFactory) -> Precert:
    """One installation per test module with the synthetic fixture pack imported, for tests that
    only read (each command costs a process start, so they share it)."""
    run = runner(tmp_path_factory.mktemp("precert-cli"))
    result = run("payers", "import", FIXTURE_PACK)
    assert result.code == 0, result
    return run
