"""Fuzzing the batch CSV reader: garbage in, only InvalidInput out; every valid row answered.

Files are written to a temporary folder and read by services.batch exactly as the CLI reads them,
against a real (SQLite) context holding the synthetic CLI fixture pack.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.config import Settings
from precert.domain.rules import Decision
from precert.errors import InvalidInput
from precert.services.batch import ACCEPTED_COLUMNS, RowResult, answer_batch, open_batch
from precert.services.catalog import import_pack
from precert.services.context import Context, build_context

TODAY = dt.date(2026, 11, 23)
PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "cli-fixture-health.yaml"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_files = itertools.count()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, Path]]:
    home = tmp_path_factory.mktemp("batch-fuzz")
    context = build_context(
        Settings(database_url=f"sqlite:///{home / 'p.db'}", data_dir=home / "var"),
        today=lambda: TODAY,
    )
    import_pack(context, PACK)
    yield context, home
    context.engine.dispose()


def read_all(context: Context, home: Path, data: bytes) -> list[RowResult]:
    """open_batch + answer_batch on `data` as a file; InvalidInput is the only error allowed."""
    path = home / f"services-{next(_files)}.csv"
    path.write_bytes(data)
    try:
        batch = open_batch(path)
        results = list(answer_batch(context, batch))
        assert len(results) == batch.total_rows
        return results
    finally:
        path.unlink()


# -- arbitrary input ----------------------------------------------------------------------------

CSV_CHARS = st.sampled_from([",", '"', "\r", "\n", " ", "\t", ";", "\ufeff", "\x00", "é"])
CSVISH_TEXT = st.lists(
    st.one_of(
        CSV_CHARS,
        st.sampled_from(ACCEPTED_COLUMNS),
        st.sampled_from(["cli-fixture-health", "70551", "22", "2026-12-01", "TX", "M17.11"]),
        st.text(st.characters(codec="utf-8"), max_size=6),
    ),
    max_size=60,
).map("".join)


@FUZZ
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_raise_nothing_but_invalid_input(
    world: tuple[Context, Path], data: bytes
) -> None:
    try:
        read_all(*world, data)
    except InvalidInput as error:
        assert error.issues and error.message


@FUZZ
@given(text=CSVISH_TEXT, bom=st.booleans())
def test_csv_like_text_raises_nothing_but_invalid_input(
    world: tuple[Context, Path], text: str, bom: bool
) -> None:
    try:
        results = read_all(*world, (("\ufeff" if bom else "") + text).encode("utf-8"))
    except InvalidInput as error:
        assert error.issues and error.message
        return
    for result in results:
        assert (result.requirement is None) == bool(result.errors)
        assert all(
            e.row == result.row and e.message.startswith(f"row {result.row}") for e in result.errors
        )


# -- a mixed file: valid rows among garbage -----------------------------------------------------

COLUMNS = ("payer", "plan", "code", "pos", "setting", "state", "date", "units", "dx", "network",
           "age", "encounter")  # fmt: skip


@st.composite
def valid_rows(draw: st.DrawFn) -> dict[str, str]:
    payer = draw(st.sampled_from(["cli-fixture-health", "cli-fixture-health", "unlisted-payer"]))
    pos = draw(st.sampled_from(["", "11", "21", "22", "24", "2"]))
    row = {
        "payer": payer,
        "plan": draw(st.sampled_from(["", "commercial", "Medicaid"])),
        "code": draw(
            st.sampled_from(["70551", "27447", "J0585", "64612", "97110", "59400", "0042T"])
        ),
        "pos": pos,
        "setting": "" if pos else draw(st.sampled_from(["", "inpatient", "office", "ASC"])),
        "state": draw(st.sampled_from(["", "TX", "ny"])),
        "date": draw(st.dates(dt.date(2019, 1, 1), dt.date(2031, 12, 31))).isoformat(),
        "units": draw(st.sampled_from(["", "1", "13", "40"])),
        "dx": draw(st.sampled_from(["", "M17.11", "G47.33; M17.11", "g4733"])),
        "network": draw(st.sampled_from(["", "in", "OUT"])),
        "age": draw(st.sampled_from(["", "0", "45", "130"])),
        "encounter": draw(st.sampled_from(["", "e1", "e2"])),
    }
    pad = draw(st.sampled_from(["", " ", "  "]))
    return {key: f"{pad}{value}{pad}" if value else value for key, value in row.items()}


@st.composite
def garbage_rows(draw: st.DrawFn) -> dict[str, str]:
    row = draw(valid_rows())
    for key in draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4, unique=True)):
        row[key] = draw(st.text(st.characters(codec="utf-8"), max_size=12))
    return row


@dataclass(frozen=True)
class Line:
    kind: str  # "valid", "garbage" or "blank"
    cells: dict[str, str]


LINES = st.lists(
    st.one_of(
        valid_rows().map(lambda r: Line("valid", r)),
        garbage_rows().map(lambda r: Line("garbage", r)),
        st.just(Line("blank", {})),
    ),
    min_size=1,
    max_size=25,
)


def render(lines: list[Line], *, crlf: bool, bom: bool) -> bytes:
    out = io.StringIO()
    # The writer quotes only characters of its own line terminator: with "\n" lines, a "\r" in a
    # value must be quoted explicitly or it really is a line break (a different file).
    writer = csv.writer(
        out,
        lineterminator="\r\n" if crlf else "\n",
        quoting=csv.QUOTE_MINIMAL if crlf else csv.QUOTE_ALL,
    )
    writer.writerow(COLUMNS)
    for line in lines:
        if line.kind == "blank":
            out.write("\r\n" if crlf else "\n")
        else:
            writer.writerow([line.cells[c] for c in COLUMNS])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


@FUZZ
@given(lines=LINES, crlf=st.booleans(), bom=st.booleans())
def test_every_valid_row_of_a_mixed_file_is_answered_and_every_row_accounted_for(
    world: tuple[Context, Path], lines: list[Line], crlf: bool, bom: bool
) -> None:
    expected = {
        number: line
        for number, line in enumerate(lines, start=2)  # the header is row 1
        if line.kind != "blank" and any(v.strip() for v in line.cells.values())
    }
    if not expected:
        return

    results = read_all(*world, render(lines, crlf=crlf, bom=bom))

    assert [r.row for r in results] == list(expected)
    for result in results:
        line = expected[result.row]
        assert result.values["code"] == line.cells["code"].strip()
        if line.kind == "valid":
            assert result.requirement is not None, result.errors
            assert result.requirement.code == line.cells["code"].strip().upper()
            if line.cells["payer"].strip() == "unlisted-payer":
                assert result.requirement.decision is Decision.UNKNOWN
        else:
            assert (result.requirement is None) == bool(result.errors)
            assert all(e.row == result.row for e in result.errors)
