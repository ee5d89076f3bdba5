"""Batch checks from a CSV file: the columns it accepts, reading it safely, answering every row.

A file is read twice. The first pass (`open_batch`) refuses what is not a usable services CSV at all
(unreadable, not UTF-8, empty, no header, unknown columns) before anything is answered, counts the
rows for a progress bar and notes where each encounter ends. The second pass (`answer_batch`)
streams the rows in chunks through `services.requirements.parse_services`, so a 100,000-row file is
never held in memory as results. An invalid row is reported with its spreadsheet row number
(header = row 1) and field while every valid row is still answered; a row naming a payer with no
pack answers `unknown` ("verify with the payer").
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from precert.domain.requirements import Requirement, RuleBook
from precert.errors import InvalidInput, Issue
from precert.services.context import Context
from precert.services.requirements import FIELDS, parse_services

# Short names people write in spreadsheets, mapped to the field they mean.
COLUMN_ALIASES: dict[str, str] = {"dx": "diagnoses"}
ACCEPTED_COLUMNS: tuple[str, ...] = (*FIELDS, *COLUMN_ALIASES)
REQUIRED_COLUMNS: tuple[str, ...] = ("payer", "code")
# Columns appended to the input columns in a results CSV, after `row`.
RESULT_COLUMNS: tuple[str, ...] = (
    "decision",
    "terms",
    "reviews",
    "documents",
    "channels",
    "turnaround",
    "rule_ids",
    "reasons",
    "errors",
)
INVALID = "invalid"  # the decision column of a row that could not be checked
LIST_SEPARATOR = "; "
# Rows parsed and answered together. A chunk only ends where no encounter is still open, so the
# rows of one encounter always see each other (pairing rules), wherever they sit in the file.
CHUNK_ROWS = 500


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row: where a person finds it, the value, and what to do."""

    row: int
    field: str
    value: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "value": self.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: its cells by column (as the header names them), and its answer or errors."""

    row: int
    values: dict[str, str]
    requirement: Requirement | None
    errors: tuple[RowError, ...] = ()


@dataclass(frozen=True)
class BatchFile:
    """A services CSV that passed the first pass, with what the second pass needs to know."""

    path: Path
    columns: tuple[str, ...]  # the header's names as written (stripped), "" for a blank column
    fields: tuple[str, ...]  # the field each column feeds ("dx" -> "diagnoses"), "" for blank
    total_rows: int  # data rows, blank lines not counted
    encounter_ends: Mapping[str, int]  # encounter -> row number of its last row

    @property
    def named_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c)

    def encounter_of(self, cells: list[str]) -> str | None:
        return _encounter(cells, _encounter_index(self.fields))


def _encounter_index(fields: tuple[str, ...]) -> int | None:
    return fields.index("encounter") if "encounter" in fields else None


def _encounter(cells: list[str], index: int | None) -> str | None:
    if index is None or index >= len(cells):
        return None
    return cells[index].strip() or None


def open_batch(path: Path) -> BatchFile:
    """Check that `path` is a usable services CSV (else InvalidInput saying why); survey it."""
    records = _records(path)
    header = next(records, None)
    if header is None:
        raise InvalidInput.field(
            str(path),
            f"{path}: the file is empty; the first row must name the columns ({', '.join(FIELDS)})",
            code="empty",
        )
    columns, fields = _header(header[1], header[0], path)
    index = _encounter_index(fields)
    total = 0
    ends: dict[str, int] = {}
    for number, cells in records:
        total += 1
        encounter = _encounter(cells, index)
        if encounter is not None:
            ends[encounter] = number
    if total == 0:
        raise InvalidInput.field(
            str(path), f"{path}: the file has a header but no rows to check", code="empty"
        )
    return BatchFile(path, columns, fields, total, ends)


def answer_batch(ctx: Context, batch: BatchFile) -> Iterator[RowResult]:
    """Every data row in file order, answered or with its errors."""
    book = ctx.rulebook()
    today = ctx.today()
    records = _records(batch.path)
    next(records)  # the header, checked by open_batch
    chunk: list[tuple[int, list[str]]] = []
    open_until = 0  # the last row of every encounter seen so far
    for number, cells in records:
        chunk.append((number, cells))
        encounter = batch.encounter_of(cells)
        if encounter is not None:
            open_until = max(open_until, batch.encounter_ends.get(encounter, 0))
        if len(chunk) >= CHUNK_ROWS and number >= open_until:
            yield from _answer_chunk(chunk, batch, book, today)
            chunk = []
    if chunk:
        yield from _answer_chunk(chunk, batch, book, today)


def output_columns(batch: BatchFile) -> list[str]:
    """The header of a results CSV: row, the input columns, then the answer."""
    return ["row", *batch.named_columns, *RESULT_COLUMNS]


def result_record(result: RowResult) -> dict[str, str]:
    """One results-CSV line: lists joined with '; ' (the JSON output keeps them as lists)."""
    record = {"row": str(result.row), **result.values}
    req = result.requirement
    if req is None:
        record.update(dict.fromkeys(RESULT_COLUMNS, ""))
        record["decision"] = INVALID
        record["errors"] = LIST_SEPARATOR.join(e.message for e in result.errors)
        return record
    turnaround = [f"{kind} {value}" for kind, value in req.turnaround.items()]
    record.update(
        decision=str(req.decision),
        terms=_join(p["term"] for p in req.processes),
        reviews=_join(p["reviews"] for p in req.processes),
        documents=_join(req.documents),
        channels=_join(" ".join(filter(None, (c["type"], c["address"]))) for c in req.channels),
        turnaround=_join(turnaround),
        rule_ids=_join(m["id"] for m in req.matched_rules),
        reasons=_join(req.reasons),
        errors="",
    )
    return record


def _join(items: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(items)


# -- reading ------------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of each non-blank record; problems become InvalidInput.

    The row number counts records, blank ones included, as a spreadsheet shows them: a value with
    a line break inside quotes is still one row. A byte-order mark is dropped; CRLF is read as-is.
    """
    number = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for cells in csv.reader(handle, strict=False):
                number += 1
                if any(cell.strip() for cell in cells):
                    yield number, cells
    except UnicodeDecodeError:
        raise InvalidInput.field(
            str(path),
            f"{path}: the file is not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'",
            code="encoding",
        ) from None
    except csv.Error as exc:
        where = f"row {number + 1}"
        raise InvalidInput.field(
            where, f"{path}: {where}: not readable as CSV ({exc})", code="csv"
        ) from None
    except OSError as exc:
        raise InvalidInput.field(
            str(path), f"{path}: cannot read the file ({exc.strerror or exc})", code="unreadable"
        ) from None


def _header(cells: list[str], number: int, path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The header's column names and the fields they feed, or InvalidInput naming the problem."""
    columns = tuple(cell.strip().lower() for cell in cells)
    accepted = ", ".join(ACCEPTED_COLUMNS)
    if not any(column in ACCEPTED_COLUMNS for column in columns):
        preview = ",".join(cells)[:80]
        raise InvalidInput.field(
            f"row {number}",
            f"{path}: row {number} is not a header ({preview!r}); the first row must name the "
            f"columns, e.g. payer,code,pos,date (accepted: {accepted})",
            code="no-header",
        )
    unknown = [column for column in columns if column and column not in ACCEPTED_COLUMNS]
    if unknown:
        names = ", ".join(repr(column) for column in unknown)
        raise InvalidInput.field(
            f"row {number}",
            f"{path}: unknown column{'s' if len(unknown) > 1 else ''} {names}; "
            f"the accepted columns are {accepted} (dx is short for diagnoses)",
            code="unknown-column",
        )
    fields = tuple(COLUMN_ALIASES.get(column, column) for column in columns)
    named = [field for field in fields if field]
    twice = sorted({field for field in named if named.count(field) > 1})
    if twice:
        raise InvalidInput.field(
            f"row {number}",
            f"{path}: the column {twice[0]!r} appears twice in the header; keep one",
            code="duplicate-column",
        )
    missing = [field for field in REQUIRED_COLUMNS if field not in fields]
    if missing:
        raise InvalidInput.field(
            f"row {number}",
            f"{path}: the header has no {' or '.join(missing)} column; every row needs a payer "
            "and a code",
            code="missing-column",
        )
    return columns, fields


# -- answering ----------------------------------------------------------------------------------


class _Locator:
    """Locations "row 7: code" for parse_services, remembered so issues map back to rows."""

    def __init__(self, numbers: list[int]) -> None:
        self.numbers = numbers
        self.known: dict[str, tuple[int, str]] = {}

    def __call__(self, index: int, name: str) -> str:
        location = f"row {self.numbers[index]}: {name}"
        self.known[location] = (index, name)
        return location

    def find(self, location: str) -> tuple[int, str] | None:
        """(index in chunk, field); 'row 7: diagnoses[1]' is found through 'row 7: diagnoses'."""
        found = self.known.get(location)
        if found is None and location.endswith("]"):
            base = self.known.get(location.rpartition("[")[0])
            if base is not None:
                found = (base[0], location.rpartition(": ")[2])
        return found


def _answer_chunk(
    chunk: list[tuple[int, list[str]]], batch: BatchFile, book: RuleBook, today: dt.date
) -> Iterator[RowResult]:
    values: list[dict[str, str]] = []
    broken: dict[int, RowError] = {}
    items: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, cells in chunk:
        row_values, problem = _cells(number, cells, batch)
        values.append(row_values)
        if problem is not None:
            broken[number] = problem
            continue
        fields = zip(batch.fields, cells, strict=False)
        items.append({field: cell.strip() for field, cell in fields if field and cell.strip()})
        numbers.append(number)
    locate = _Locator(numbers)
    parsed = parse_services(items, book, today=today, strict_payer=False, locate=locate)
    errors = _errors_by_row(parsed.issues, locate, batch, values, chunk)
    answers = iter(parsed.services)
    for (number, _), row_values in zip(chunk, values, strict=True):
        if number in broken:
            yield RowResult(number, row_values, None, (broken[number],))
            continue
        service = next(answers)
        if service is None:
            found = errors.get(number) or [_unlocated(number)]
            yield RowResult(number, row_values, None, tuple(found))
        else:
            yield RowResult(number, row_values, book.requirement_for(service))


def _cells(
    number: int, cells: list[str], batch: BatchFile
) -> tuple[dict[str, str], RowError | None]:
    """The row's values by column name, and a problem when a value sits under no column."""
    named = {
        column: cell.strip() for column, cell in zip(batch.columns, cells, strict=False) if column
    }
    row_values = {column: named.get(column, "") for column in batch.named_columns}
    stray = [
        i + 1
        for i, cell in enumerate(cells)
        if cell.strip() and (i >= len(batch.columns) or not batch.columns[i])
    ]
    if not stray:
        return row_values, None
    message = (
        f"row {number}: column {stray[0]} has a value ({cells[stray[0] - 1].strip()[:40]!r}) but "
        f"the header names no column there; check for an unquoted comma in a value"
    )
    return row_values, RowError(number, "columns", cells[stray[0] - 1].strip(), message)


def _unlocated(number: int) -> RowError:
    # A row parse_services refused without an issue we could place: still reported, never lost.
    return RowError(number, "", "", f"row {number}: this row could not be checked")


def _errors_by_row(
    issues: list[Issue],
    locate: _Locator,
    batch: BatchFile,
    values: list[dict[str, str]],
    chunk: list[tuple[int, list[str]]],
) -> dict[int, list[RowError]]:
    column_of = {field: column for field, column in zip(batch.fields, batch.columns, strict=True)}
    cells_of = {number: row for (number, _), row in zip(chunk, values, strict=True)}
    out: dict[int, list[RowError]] = {}
    for issue in issues:
        found = locate.find(issue.location)
        if found is None:  # cannot happen: every location comes from locate (see _unlocated)
            continue
        index, field = found
        number = locate.numbers[index]
        base = field.partition("[")[0]
        value = cells_of[number].get(column_of.get(base, base), "")
        out.setdefault(number, []).append(RowError(number, field, value, issue.message))
    return out
