"""`precert orgs create`, `precert users create` (with --password-stdin) and `precert tokens
create`, run as the real installed command on a fresh SQLite database per test."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from precert.config import Settings
from precert.services.accounts import authenticate_token, verify_login
from precert.services.context import build_context

PRECERT = Path(sys.executable).parent / "precert"
PASSWORD = "correct horse battery staple"
EMAIL = "spec.alpha@clinic.example"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass(frozen=True)
class Installation:
    home: Path

    @property
    def settings(self) -> Settings:
        return Settings(database_url=f"sqlite:///{self.home / 'p.db'}", data_dir=self.home / "var")

    def __call__(self, *args: str, stdin: str | None = None) -> Ran:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRECERT_")}
        env.update(
            PRECERT_DATABASE_URL=self.settings.database_url,
            PRECERT_DATA_DIR=str(self.home / "var"),
            COLUMNS="250",
            NO_COLOR="1",
        )
        proc = subprocess.run(
            [str(PRECERT), *args],
            cwd=self.home,
            env=env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=180,
        )
        return Ran(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def precert(tmp_path: Path) -> Installation:
    return Installation(tmp_path)


@pytest.fixture(scope="module")
def org_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installation with the organization Northside Clinic, made once per module (each command
    is a process start); the tests that need it get a copy of their own."""
    template = Installation(tmp_path_factory.mktemp("northside"))
    created = template("orgs", "create", "Northside Clinic")
    assert created.code == 0, created
    return template.home


@pytest.fixture
def with_org(org_template: Path, precert: Installation) -> Installation:
    shutil.copytree(org_template, precert.home, dirs_exist_ok=True)
    return precert


def test_orgs_create_says_what_it_created(precert: Installation) -> None:
    result = precert("orgs", "create", "Northside Clinic")

    assert result.code == 0, result
    assert result.out.startswith("Created organization Northside Clinic (")


def test_orgs_create_twice_exits_2_naming_the_duplicate(with_org: Installation) -> None:
    result = with_org("orgs", "create", "Northside Clinic")

    assert result.code == 2, result
    assert result.err.strip() == (
        "An organization named 'Northside Clinic' already exists; choose another name."
    )
    assert result.out == ""


def test_users_create_with_a_password_on_stdin_can_then_log_in(with_org: Installation) -> None:
    result = with_org(
        "users",
        "create",
        "--org",
        "Northside Clinic",
        "--email",
        EMAIL,
        "--role",
        "specialist",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.code == 0, result
    assert result.out.strip() == f"Created specialist {EMAIL} in Northside Clinic."
    ctx = build_context(with_org.settings, migrate=False)
    try:
        assert (
            verify_login(ctx, EMAIL, PASSWORD, None, now=dt.datetime.now(dt.UTC)).role
            == "specialist"
        )
    finally:
        ctx.engine.dispose()


def test_users_create_without_a_password_warns_that_only_tokens_work(
    with_org: Installation,
) -> None:
    result = with_org(
        "users", "create", "--org", "Northside Clinic", "--email", EMAIL, "--role", "viewer"
    )

    assert result.code == 0, result
    assert "No password set: this user can use API tokens but cannot sign in yet." in result.err


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--org", "Northside Clinic", "--email", EMAIL, "--role", "owner"],
            None,
            "Unknown role 'owner': choose one of admin, specialist, biller, viewer.",
        ),
        (
            ["--org", "Northside Clinic", "--email", "spec.alpha", "--role", "viewer"],
            None,
            "'spec.alpha' is not an email address: write it as name@example.org.",
        ),
        (
            ["--org", "Nowhere", "--email", EMAIL, "--role", "viewer"],
            None,
            "No organization is named 'Nowhere'; create it with `precert orgs create`.",
        ),
        (
            ["--org", "Northside Clinic", "--email", EMAIL, "--role", "viewer", "--password-stdin"],
            "short\n",
            "Choose a password of at least 12 characters; a short phrase of several words works "
            "well.",
        ),
    ],
    ids=["unknown role", "bad email", "unknown org", "short password"],
)
def test_users_create_with_bad_input_exits_2_with_the_reason(
    with_org: Installation, args: list[str], stdin: str | None, message: str
) -> None:
    result = with_org("users", "create", *args, stdin=stdin)

    assert result.code == 2, result
    assert result.err.strip() == message
    assert result.out == ""


def test_tokens_create_prints_only_a_token_that_authenticates(with_org: Installation) -> None:
    made = with_org(
        "users", "create", "--org", "Northside Clinic", "--email", EMAIL, "--role", "biller"
    )
    assert made.code == 0, made

    result = with_org("tokens", "create", "--email", EMAIL.upper())

    assert result.code == 0, result
    token = result.out.strip()
    assert token.startswith("pct_") and len(result.out.splitlines()) == 1
    ctx = build_context(with_org.settings, migrate=False)
    try:
        assert authenticate_token(ctx, token).email == EMAIL
    finally:
        ctx.engine.dispose()


def test_tokens_create_for_an_unknown_email_exits_2(precert: Installation) -> None:
    result = precert("tokens", "create", "--email", "nobody@clinic.example")

    assert result.code == 2, result
    assert result.err.strip() == (
        "No user has the email nobody@clinic.example; create one with `precert users create`."
    )
    assert result.out == ""
