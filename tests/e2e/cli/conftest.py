"""Running the real installed `precert` command in a subprocess, on a temporary SQLite database.

Every test gets its own database and data folder (PRECERT_DATABASE_URL, PRECERT_DATA_DIR) and a
wide terminal (COLUMNS) so Rich does not wrap the sentences the tests look for.

Each command is a process start (about a second, more under load), so an installation that many
tests begin from is built once per session as a template (`clinic_template`, `migrated_template`)
and each test gets its own copy of it (`copy_of`): the commands that build it are still run for
real, once, and no test sees another's changes.
"""

from __future__ import annotations

import os
import shutil
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
def with_fixture_payer(
    fixture_payer_template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Precert:
    """One installation per test module with the synthetic fixture pack imported, for tests that
    only read (each command costs a process start, so they share it)."""
    return copy_of(fixture_payer_template, tmp_path_factory.mktemp("precert-cli"))


SPECIALIST = "s@example.org"
CLINIC = "Clinic CLI"


@dataclass(frozen=True)
class Template:
    """An installation built once (`home`) and the API token made for its specialist."""

    home: Path
    token: str = ""


def copy_of(template: Template, home: Path) -> Precert:
    """precert(*args) on a copy of the template's database and data folder, placed in `home`."""
    shutil.copytree(template.home, home, dirs_exist_ok=True)
    return runner(home)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """An installation whose database is at the current schema and holds nothing else."""
    home = tmp_path_factory.mktemp("migrated-template")
    result = runner(home)("db", "upgrade")
    assert result.code == 0, result
    return Template(home)


@pytest.fixture(scope="session")
def clinic_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """An installation with the synthetic fixture pack imported, the organization CLINIC, its
    specialist SPECIALIST (no password) and an API token for the specialist; the commands that
    make them are tested in test_cli_accounts.py and test_cli_payers.py."""
    home = tmp_path_factory.mktemp("clinic-template")
    run = runner(home)
    for args in (
        ("db", "upgrade"),
        ("payers", "import", FIXTURE_PACK),
        ("orgs", "create", CLINIC),
        ("users", "create", "--org", CLINIC, "--email", SPECIALIST, "--role", "specialist"),
    ):
        result = run(*args)
        assert result.code == 0, result
    token = run("tokens", "create", "--email", SPECIALIST)
    assert token.code == 0, token
    return Template(home, token.out.strip())


@pytest.fixture(scope="session")
def fixture_payer_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """An installation with the synthetic fixture pack (FIXTURE_PACK) imported."""
    home = tmp_path_factory.mktemp("fixture-payer-template")
    result = runner(home)("payers", "import", FIXTURE_PACK)
    assert result.code == 0, result
    return Template(home)


@pytest.fixture
def fixture_payer(fixture_payer_template: Template, tmp_path: Path) -> Precert:
    """An installation of its own with the synthetic fixture pack imported, for tests that change
    what is configured."""
    return copy_of(fixture_payer_template, tmp_path)


@pytest.fixture
def migrated(migrated_template: Template, tmp_path: Path) -> Precert:
    """An installation of its own at the current schema, with nothing in it."""
    return copy_of(migrated_template, tmp_path)


@pytest.fixture
def clinic(clinic_template: Template, tmp_path: Path) -> Precert:
    """An installation of its own with CLINIC and its specialist (see clinic_template)."""
    return copy_of(clinic_template, tmp_path)
