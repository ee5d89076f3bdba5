"""`precert requests import FILE.csv --as EMAIL`: summary as a table or JSON, nothing created twice,
exit 1 for invalid rows, exit 2 for a file or user that cannot be used."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
HEADER = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi,appointment_id"
)
NPI = "1234567893"


def _row(last: str, member: str, code: str, pos: str, days: int, appointment: str) -> str:
    # The command runs with the real date, so service dates are relative to it.
    when = (dt.date.today() + dt.timedelta(days=days)).isoformat()
    return (
        f"Testpatient,{last},1980-02-01,{member},medicare,medicare-ffs,TX,{code},1,{pos},"
        f"H02.831,{when},{NPI},{NPI},{appointment}"
    )


@pytest.fixture
def specialist(clinic: Precert) -> Precert:
    """A copy of the session's clinic: the organization and its specialist s@example.org."""
    return clinic


@pytest.fixture
def schedule(tmp_path: Path) -> Path:
    rows = [
        HEADER,
        _row("Alpha", "TEST-0001-A", "15823", "22", 3, "APPT-1"),  # needs approval, due soon
        _row("Bravo", "TEST-0002-B", "15823", "22", 30, "APPT-2"),  # needs approval, later
        _row("Charlie", "TEST-0003-C", "99213", "11", 2, "APPT-3"),  # not required
    ]
    path = tmp_path / "schedule.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_prints_the_summary_and_a_second_import_creates_nothing(
    specialist: Precert, schedule: Path
) -> None:
    first = specialist("requests", "import", schedule, "--as", "s@example.org", "--json")
    assert first.code == 0, first
    summary = json.loads(first.out)
    assert (summary["rows_read"], summary["created"], summary["not_required"]) == (3, 2, 1)
    assert [item["row"] for item in summary["due_soon"]] == [2]

    second = specialist("requests", "import", schedule, "--as", "s@example.org", "--json")
    assert second.code == 0, second
    again = json.loads(second.out)
    assert (again["created"], again["already_imported"]) == (0, 2)


def test_the_table_names_every_count_and_the_services_due_soon(
    specialist: Precert, schedule: Path
) -> None:
    result = specialist("requests", "import", schedule, "--as", "s@example.org")
    assert result.code == 0, result
    for label in ("rows read", "created", "already imported", "not required", "due soon"):
        assert label in result.out
    assert "Due soon without an approval" in result.out
    assert "Alpha" not in result.out + result.err


def test_invalid_rows_exit_1_located_without_patient_values_and_good_rows_imported(
    specialist: Precert, schedule: Path
) -> None:
    bad = _row("Canaryname", "", "15823", "22", 4, "APPT-9").replace("1980-02-01", "01/02/1980")
    schedule.write_text(schedule.read_text() + bad + "\n", encoding="utf-8")

    result = specialist("requests", "import", schedule, "--as", "s@example.org", "--json")

    assert result.code == 1, result
    assert json.loads(result.out)["created"] == 2
    assert "row 5: birth_date: expected a date written YYYY-MM-DD." in result.err
    assert "row 5: member_id: this field is required." in result.err
    assert "Canaryname" not in result.out + result.err
    assert "01/02/1980" not in result.out + result.err


def test_a_missing_file_or_missing_columns_or_unknown_user_exit_2(
    specialist: Precert, tmp_path: Path, schedule: Path
) -> None:
    missing = specialist("requests", "import", tmp_path / "nope.csv", "--as", "s@example.org")
    assert missing.code == 2, missing
    assert "cannot read the file" in missing.err

    short = tmp_path / "short.csv"
    short.write_text("patient_first_name,patient_last_name,payer_id,code,units,pos,diagnoses\n")
    columns = specialist("requests", "import", short, "--as", "s@example.org")
    assert columns.code == 2, columns
    assert "missing the columns birth_date, member_id, plan, state, service_date" in columns.err

    nobody = specialist("requests", "import", schedule, "--as", "nobody@example.org")
    assert nobody.code == 2, nobody
    assert "--as: no user has the email nobody@example.org" in nobody.err
