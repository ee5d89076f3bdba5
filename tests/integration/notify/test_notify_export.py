"""Work-queue exports written to real files and read back with the csv module and openpyxl."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from openpyxl import load_workbook

from precert.notify.export import write_csv, write_xlsx

COLUMNS = ["request", "patient", "payer", "status", "service_date", "due_at", "units"]
ROWS = [
    {
        "request": "AR-1001",
        "patient": "Testpatient Alpha",
        "payer": "acme",
        "status": "pended",
        "service_date": dt.date(2026, 12, 10),
        "due_at": dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=-6))),
        "units": 2,
        "internal_note": "not an export column",
    },
    {
        "request": "AR-1002",
        "patient": "Testpatient Beta",
        "payer": "medicare",
        "status": "draft",
        "service_date": dt.date(2026, 12, 1),
        "due_at": None,
        "units": 1,
    },
]


def test_csv_has_the_header_in_column_order_and_iso_dates(tmp_path: Path) -> None:
    path = write_csv(ROWS, COLUMNS, tmp_path / "queue.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        COLUMNS,
        ["AR-1001", "Testpatient Alpha", "acme", "pended", "2026-12-10",
         "2026-11-24T15:30:00-06:00", "2"],
        ["AR-1002", "Testpatient Beta", "medicare", "draft", "2026-12-01", "", "1"],
    ]  # fmt: skip


def test_xlsx_has_a_bold_frozen_header_real_dates_and_fitted_widths(tmp_path: Path) -> None:
    path = write_xlsx(ROWS, COLUMNS, tmp_path / "queue.xlsx")
    sheet = load_workbook(path).active
    assert sheet.title == "Work queue"
    assert [cell.value for cell in sheet[1]] == COLUMNS
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:G3"
    first = [cell.value for cell in sheet[2]]
    # Excel holds no time zones: aware times are written in UTC.
    assert first == [
        "AR-1001", "Testpatient Alpha", "acme", "pended",
        dt.datetime(2026, 12, 10), dt.datetime(2026, 11, 24, 21, 30), 2,
    ]  # fmt: skip
    assert sheet["E2"].is_date and sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["F2"].is_date and sheet["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["F3"].value is None
    assert sheet.column_dimensions["B"].width == len("Testpatient Alpha") + 2
    assert sheet.column_dimensions["G"].width == len("units") + 2


def test_text_that_looks_like_a_formula_stays_text_in_both_formats(tmp_path: Path) -> None:
    rows = [{"request": '=HYPERLINK("http://evil.example.test")', "status": "@SUM(A1)"}]
    csv_path = write_csv(rows, ["request", "status"], tmp_path / "q.csv")
    with csv_path.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f))[1] == ['\'=HYPERLINK("http://evil.example.test")', "'@SUM(A1)"]
    sheet = load_workbook(write_xlsx(rows, ["request", "status"], tmp_path / "q.xlsx")).active
    assert sheet["A2"].data_type == "s"
    assert sheet["A2"].value == '=HYPERLINK("http://evil.example.test")'


def test_an_empty_queue_writes_just_the_header(tmp_path: Path) -> None:
    csv_path = write_csv([], COLUMNS, tmp_path / "empty.csv")
    assert csv_path.read_bytes() == (",".join(COLUMNS) + "\r\n").encode()
    sheet = load_workbook(write_xlsx([], COLUMNS, tmp_path / "empty.xlsx")).active
    assert sheet.max_row == 1


def test_a_failed_export_leaves_the_previous_file_and_no_temp_file(tmp_path: Path) -> None:
    path = write_csv(ROWS, COLUMNS, tmp_path / "queue.csv")
    before = path.read_bytes()

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot render")

    with pytest.raises(RuntimeError):
        write_csv([{"request": Unprintable()}], COLUMNS, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["queue.csv"]


def test_exports_replace_an_older_file_and_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "exports" / "queue.xlsx"
    write_xlsx(ROWS, COLUMNS, path)
    write_xlsx(ROWS[:1], COLUMNS, path)
    assert load_workbook(path).active.max_row == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["queue.xlsx"]
