"""Write the work queue (rows of plain values, columns in a given order) to CSV and to XLSX.

Files are written atomically (a temp file beside the target, then rename), so a reader never
sees half an export. Exports may hold PHI (the queue shows patients), so the file is created
readable by its owner only. Text a spreadsheet would run as a formula stays text
(CSV: a leading quote; XLSX: a string cell).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Row = Mapping[str, object]
# Spreadsheets run cells starting with these as formulas (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success it replaces `target`, on error it is gone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600: an export is as private as the data it holds.
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: object) -> str:
    """One CSV cell: ISO dates, empty for None, formula-looking text prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _safe_text(value)
    return str(value)


def write_csv(rows: Sequence[Row], columns: Sequence[str], path: Path) -> Path:
    """Write `rows` as UTF-8 CSV with a header of `columns`; keys not in `columns` are left out."""
    with atomic_path(path) as temp, temp.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(column)) for column in columns])
    return path


def xlsx_cell(value: object) -> object:
    """One XLSX value: dates stay dates (timezone-aware times in UTC, which Excel cannot hold)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if value is None or isinstance(value, str | int | float | dt.date):
        return value
    return str(value)


def write_xlsx(
    rows: Sequence[Row], columns: Sequence[str], path: Path, *, title: str = "Work queue"
) -> Path:
    """Write `rows` to one sheet: bold header, frozen first row, filter, widths fit to content."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]  # Excel's limit for sheet names
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(column) for column in columns]
    for row in rows:
        sheet.append([xlsx_cell(row.get(column)) for column in columns])
        for index, cell in enumerate(sheet[sheet.max_row]):
            _format_cell(cell)
            widths[index] = max(widths[index], _display_width(cell.value))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, width + 2)
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions
    with atomic_path(path) as temp:
        workbook.save(temp)
    return path


def _format_cell(cell: Cell) -> None:
    if cell.data_type == "f":
        # openpyxl stores text starting with "=" as a formula; queue data is never a formula.
        cell.data_type = "s"
    elif isinstance(cell.value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(cell.value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def _display_width(value: object) -> int:
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    return len(str(value)) if value is not None else 0
