"""`precert serve` and the job consumer: with Redis configured or --no-worker it runs no consumer
and leaves jobs to `precert worker`.

That on the embedded default it runs the consumer itself (a request that falls due is followed up
with no `precert worker` running) and that SIGTERM stops server and consumer cleanly is proven by
the second server start in test_cli_canary_logs.py, which starts that same server anyway."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.cli.conftest import Precert
from tests.e2e.cli.serve_process import serving


@pytest.mark.parametrize(
    ("args", "extra", "said"),
    [
        (("--no-worker",), {}, "jobs: not run here (--no-worker)"),
        ((), {"PRECERT_REDIS_URL": "redis://127.0.0.1:6379/15"}, "run `precert worker`"),
    ],
)
def test_with_no_worker_or_redis_serve_runs_no_consumer(
    migrated: Precert, tmp_path: Path, args: tuple[str, ...], extra: dict[str, str], said: str
) -> None:
    # `migrated` is a copy of a database at the current schema, placed in tmp_path.
    with serving(tmp_path, *args, **extra) as served:
        pass

    log = served.output()
    assert said in log
    assert "embedded job consumer" not in log
    assert "Huey consumer started" not in log
    assert served.exit_code == 0, log
