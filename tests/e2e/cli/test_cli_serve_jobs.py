"""`precert serve` runs the job consumer in its own process on the embedded default: a request
that falls due is followed up (flagged for a person) with no `precert worker` running, and a
SIGTERM stops server and consumer cleanly. With Redis or --no-worker it leaves jobs alone."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from tests.e2e.cli.conftest import Precert
from tests.e2e.cli.serve_process import serving

from precert.config import Settings
from precert.services.accounts import actor_for
from precert.services.authorization_requests import get_request
from precert.services.context import build_context
from precert.store.accounts import UserRepository

FLAG_POLLS = 1800  # 0.1 s apart; the follow-up runs right after start, this only bounds a hang
HEADER = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi"
)


def _setup(precert: Precert, home: Path) -> None:
    """A specialist, and a draft whose service is in 3 days without approval: due at once."""
    for args in (
        ("db", "upgrade"),
        ("orgs", "create", "Clinic Jobs"),
        ("users", "create", "--org", "Clinic Jobs", "--email", "s@example.org", "--role",
         "specialist"),
    ):  # fmt: skip
        result = precert(*args)
        assert result.code == 0, result
    when = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    row = (
        f"Testpatient,Jobs,1980-02-01,TEST-0042-J,medicare,medicare-ffs,TX,15823,1,22,H02.831,"
        f"{when},1234567893,1234567893"
    )
    (home / "soon.csv").write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    result = precert("requests", "import", home / "soon.csv", "--as", "s@example.org", "--json")
    assert result.code == 0, result


def _flag(home: Path) -> str | None:
    settings = Settings(database_url=f"sqlite:///{home / 'p.db'}", data_dir=home / "var")
    ctx = build_context(settings, migrate=False)
    try:
        with ctx.uow() as uow:
            user = UserRepository(uow.session).by_email("s@example.org")
            assert user is not None
            actor = actor_for(user)
        from precert.services.authorization_requests import list_requests

        (request,) = list_requests(ctx, actor)
        return get_request(ctx, actor, request.id).request.needs_attention
    finally:
        ctx.engine.dispose()


def test_serve_follows_up_due_requests_itself_and_stops_cleanly_on_sigterm(
    precert: Precert, tmp_path: Path
) -> None:
    _setup(precert, tmp_path)
    assert _flag(tmp_path) is None

    with serving(tmp_path) as served:
        flag = None
        for _ in range(FLAG_POLLS):
            flag = _flag(tmp_path)
            if flag is not None or served.process.poll() is not None:
                break
            time.sleep(0.1)

    assert flag is not None, served.output()
    assert "is not approved yet" in flag
    assert served.exit_code == 0, served.output()
    log = served.output()
    assert "jobs: running here" in log
    assert "embedded job consumer stopped" in log
    assert log.rstrip().endswith("precert stopped")
    assert (tmp_path / "var" / "jobs.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "extra", "said"),
    [
        (("--no-worker",), {}, "jobs: not run here (--no-worker)"),
        ((), {"PRECERT_REDIS_URL": "redis://127.0.0.1:6379/15"}, "run `precert worker`"),
    ],
)
def test_with_no_worker_or_redis_serve_runs_no_consumer(
    precert: Precert, tmp_path: Path, args: tuple[str, ...], extra: dict[str, str], said: str
) -> None:
    assert precert("db", "upgrade").code == 0

    with serving(tmp_path, *args, **extra) as served:
        pass

    log = served.output()
    assert said in log
    assert "embedded job consumer" not in log
    assert "Huey consumer started" not in log
    assert served.exit_code == 0, log
