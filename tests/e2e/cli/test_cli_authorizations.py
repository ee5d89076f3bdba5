"""`precert authorizations import FILE --org NAME` and `export`: the good rows kept and the bad ones
listed by row and column (exit 1), then the kept rows written out again in the import's columns.
Two process starts in all: they are slow."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.cli.conftest import CLINIC

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
HEADER = (
    "authorization_number,payer_id,member_id,codes,units,valid_from,valid_to,rendering_npi,"
    "facility_npi,status"
)


def test_import_keeps_good_rows_lists_bad_ones_and_export_writes_them_back(
    clinic: Precert, tmp_path: Path
) -> None:
    source = tmp_path / "auths.csv"
    source.write_text(
        "\ufeff"
        + "\n".join(
            [
                HEADER,
                "PA-1,medicare,MBR-CLI-1,70551;70553,2,2026-12-01,2027-02-28,1234567893,,approved",
                "PA-2,medicare,MBR-CLI-2,70551,1,2026-12-01,2027-02-28,1234567890,,approved",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    imported = clinic("authorizations", "import", source, "--org", CLINIC)
    assert imported.code == 1, imported
    assert "Read 2 row(s): kept 1 (0 replaced an earlier import), 1 invalid." in imported.out
    assert "row 3: rendering_npi: '1234567890' fails the NPI check digit" in imported.err
    assert "MBR-CLI" not in imported.err + imported.out  # member ids are never printed

    out = tmp_path / "export.csv"
    exported = clinic("authorizations", "export", "--org", CLINIC, "--out", out)
    assert exported.code == 0, exported
    assert out.stat().st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows == [
        {
            "authorization_number": "PA-1",
            "payer_id": "medicare",
            "member_id": "MBR-CLI-1",
            "codes": "70551;70553",
            "units": "2",
            "valid_from": "2026-12-01",
            "valid_to": "2027-02-28",
            "rendering_npi": "1234567893",
            "facility_npi": "",
            "status": "approved",
        }
    ]
