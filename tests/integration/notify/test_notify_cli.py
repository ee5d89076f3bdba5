"""`precert requests export FILE --as EMAIL`, run as the installed command in a subprocess: the
queue written to a CSV file (XLSX alike) readable by its owner only, and clear errors for a bad
suffix or an unknown user.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

from tests.e2e.cli.conftest import runner
from tests.integration.notify.test_notify_api import BODY

from precert.config import Settings
from precert.services import authorization_requests as requests
from precert.services.context import build_context
from precert.services.exports import exporter_by_email


def test_the_queue_exports_to_a_private_csv_file_from_the_command_line(tmp_path: Path) -> None:
    precert = runner(tmp_path)
    assert precert("db", "upgrade").code == 0
    assert precert("orgs", "create", "Cli Export Clinic").code == 0
    for role in ("specialist", "viewer"):
        email = f"{role}@cli-export.example.org"
        made = precert(
            "users", "create", "--org", "Cli Export Clinic", "--email", email, "--role", role
        )
        assert made.code == 0, made
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path / "var")
    ctx = build_context(settings)
    try:
        actor = exporter_by_email(ctx, "specialist@cli-export.example.org")
        request_id = requests.create_request(ctx, actor, copy.deepcopy(BODY)).id
    finally:
        ctx.engine.dispose()

    done = precert("requests", "export", "queue.csv", "--as", "viewer@cli-export.example.org")
    assert done.code == 0, done
    assert "Wrote 1 request(s) to queue.csv" in done.out
    written = tmp_path / "queue.csv"
    assert written.stat().st_mode & 0o777 == 0o600
    [row] = list(csv.DictReader(written.open(encoding="utf-8")))
    assert (row["request"], row["status"], row["patient"]) == (
        request_id,
        "draft",
        f"Phiprobe, {BODY['patient']['first_name']}",
    )

    wrong = precert("requests", "export", "q.pdf", "--as", "viewer@cli-export.example.org")
    assert (wrong.code, wrong.err.strip()) == (
        2,
        "FILE: name a .csv or .xlsx file; its suffix is the format.",
    )
    nobody = precert("requests", "export", "q.csv", "--as", "nobody@cli-export.example.org")
    assert nobody.code == 2
    assert (
        "--as: no user has the email nobody@cli-export.example.org; create one first." in nobody.err
    )
