"""`precert check --file`: a services CSV answered row by row, row errors located, files whole."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MIXED = FIXTURES / "batch" / "services-mixed.csv"  # rows 3 and 8 invalid, row 9 blank
HEADER = "payer,plan,code,pos,setting,state,date,units,dx,network,age,encounter"


def write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_mixed_file_answers_every_valid_row_and_reports_invalid_rows_by_row_and_field(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer("check", "--file", MIXED, "--json")

    assert result.code == 1, result
    document = json.loads(result.out)
    decisions = {s["row"]: s["decision"] for s in document["services"]}
    assert decisions == {
        2: "required",  # MRI at POS 22
        4: "required",  # J0585, paired with 64612 in row 6 (same encounter, not adjacent)
        5: "unknown",  # a payer with no pack
        6: "unknown",
        7: "required",  # therapy beyond 12 visits
        10: "notification",
    }
    unknown_payer = next(s for s in document["services"] if s["row"] == 5)
    assert unknown_payer["reasons"] == [
        "No rule pack is configured for payer 'no-such-payer': verify with the payer."
    ]
    assert document["errors"] == [
        {
            "row": 3,
            "field": "code",
            "value": "7055",
            "message": "row 3: code: '7055' is not valid; expected a CPT code (5 digits such as "
            "70551, or 4 digits + F/T such as 0042T) or a HCPCS Level II code (a letter A-V and "
            "4 digits such as J0585).",
        },
        {
            "row": 8,
            "field": "state",
            "value": "ZZ",
            "message": "row 8: state: 'ZZ' is not valid; expected a two-letter US state or "
            "territory code such as TX.",
        },
        {
            "row": 8,
            "field": "date",
            "value": "2026-13-01",
            "message": "row 8: date: '2026-13-01' is not valid; expected a date written "
            "YYYY-MM-DD such as 2026-12-01.",
        },
    ]
    assert "row 3: code: '7055' is not valid" in result.err
    assert "Checked 8 rows: 6 answered, 2 invalid." in result.err


def test_out_csv_has_one_line_per_input_row_with_inputs_answer_and_errors(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    out = tmp_path / "results.csv"

    result = with_fixture_payer("check", "--file", MIXED, "--out", out)

    assert result.code == 1, result
    assert f"Results written to {out}." in result.err
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert list(rows[0]) == [
        "row",
        *HEADER.split(","),
        "decision",
        "terms",
        "reviews",
        "documents",
        "channels",
        "turnaround",
        "rule_ids",
        "reasons",
        "errors",
    ]
    assert [r["row"] for r in rows] == ["2", "3", "4", "5", "6", "7", "8", "10"]
    mri = rows[0]
    assert (mri["payer"], mri["code"], mri["pos"], mri["date"]) == (
        "cli-fixture-health",
        "70551",
        "22",
        "2026-12-01",
    )
    assert mri["decision"] == "required"
    assert mri["terms"] == "preauthorization"
    assert mri["reviews"] == "medical_necessity"
    assert mri["documents"] == "Clinical notes from the last 60 days"
    assert mri["channels"] == "portal https://portal.cli-fixture.example/auth; fax +1-555-0151"
    assert mri["turnaround"] == "standard 7 calendar days; expedited 72 hours"
    assert mri["rule_ids"] == "cfh-mri-brain"
    assert mri["reasons"].startswith("Preauthorization required (reviews medical necessity)")
    assert mri["errors"] == ""
    invalid = rows[6]
    assert (invalid["row"], invalid["decision"], invalid["state"]) == ("8", "invalid", "ZZ")
    assert invalid["errors"] == (
        "row 8: state: 'ZZ' is not valid; expected a two-letter US state or territory code such "
        "as TX.; row 8: date: '2026-13-01' is not valid; expected a date written YYYY-MM-DD such "
        "as 2026-12-01."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]  # no temp file left


def test_out_json_holds_the_services_and_the_errors(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"

    result = with_fixture_payer("check", "--file", MIXED, "--out", out)

    assert result.code == 1, result
    document = json.loads(out.read_text("utf-8"))
    assert [s["row"] for s in document["services"]] == [2, 4, 5, 6, 7, 10]
    assert [s["code"] for s in document["services"]] == [
        "70551",
        "J0585",
        "70551",
        "64612",
        "97110",
        "59400",
    ]
    assert [(e["row"], e["field"]) for e in document["errors"]] == [
        (3, "code"),
        (8, "state"),
        (8, "date"),
    ]


def test_a_file_with_only_valid_rows_exits_0_and_prints_a_table(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    services = write(
        tmp_path / "ok.csv",
        "payer,code,pos,date\ncli-fixture-health,70551,22,2026-12-01\n"
        "cli-fixture-health,99213,11,2026-12-01\n",
    )

    result = with_fixture_payer("check", "--file", services)

    assert result.code == 0, result
    rows = {w[0]: w[1:4] for w in map(str.split, result.out.splitlines()) if w and w[0].isdigit()}
    assert rows == {
        "2": ["cli-fixture-health", "70551", "required"],
        "3": ["cli-fixture-health", "99213", "not_required"],
    }
    assert "Checked 2 rows: 2 answered, 0 invalid." in result.err


def test_byte_order_mark_crlf_blank_lines_whitespace_and_dx_are_handled(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    text = (
        "\ufeff Payer , CODE ,pos, Date ,dx\r\n"
        "\r\n"
        "  cli-fixture-health ,  70551 , 22 , 2026-12-01 , G43.909 ; R51.9 \r\n"
        "   \r\n"
        '"cli-fixture-health","J0585","","2026-12-01",""\r\n'
    )
    services = write(tmp_path / "excel.csv", text)

    result = with_fixture_payer("check", "--file", services, "--json")

    assert result.code == 0, result
    document = json.loads(result.out)
    assert [(s["row"], s["code"], s["decision"]) for s in document["services"]] == [
        (3, "70551", "required"),
        (5, "J0585", "conditional"),  # no encounter column: the paired code is not known
    ]
    assert document["errors"] == []


def test_a_value_under_no_column_is_reported_for_its_row(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    services = write(
        tmp_path / "shifted.csv",
        "payer,code\ncli-fixture-health,70551\ncli-fixture-health,70551,brain, with contrast\n",
    )

    result = with_fixture_payer("check", "--file", services, "--json")

    assert result.code == 1
    errors = json.loads(result.out)["errors"]
    assert errors == [
        {
            "row": 3,
            "field": "columns",
            "value": "brain",
            "message": "row 3: column 3 has a value ('brain') but the header names no column "
            "there; check for an unquoted comma in a value",
        }
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; the first row must name the columns"),
        (b"\xef\xbb\xbf\r\n\r\n", "the file is empty"),
        (b"payer,code\r\n", "the file has a header but no rows to check"),
        (
            b"cli-fixture-health,70551\n",
            "row 1 is not a header ('cli-fixture-health,70551'); the first row must name the "
            "columns",
        ),
        (
            b"payer,code,status,comment\ncli-fixture-health,70551,x,y\n",
            "unknown columns 'status', 'comment'; the accepted columns are payer, plan, code, pos",
        ),
        (b"payer,pos\ncli-fixture-health,22\n", "the header has no code column"),
        (b"payer,code,Code\nx,70551,70551\n", "the column 'code' appears twice in the header"),
        (
            "payer,code\ncaf\u00e9,70551\n".encode("latin-1"),
            "the file is not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'",
        ),
    ],
    ids=["empty", "bom-only", "header-only", "no-header", "unknown", "no-code", "twice", "latin1"],
)
def test_unusable_files_exit_2_naming_the_problem_and_write_nothing(
    with_fixture_payer: Precert, tmp_path: Path, content: bytes, message: str
) -> None:
    services = tmp_path / "services.csv"
    services.write_bytes(content)
    out = tmp_path / "results.csv"
    out.write_text("yesterday's results\n")

    result = with_fixture_payer("check", "--file", services, "--out", out)

    assert result.code == 2, result
    assert result.err.startswith(f"{services}: {message}"), result
    assert "Traceback" not in result.err
    assert out.read_text() == "yesterday's results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "services.csv"]


def test_a_missing_file_exits_2(with_fixture_payer: Precert, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"

    result = with_fixture_payer("check", "--file", missing)

    assert result.code == 2
    assert result.err.startswith(f"{missing}: cannot read the file (No such file or directory)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "results.xlsx"], "--out: 'results.xlsx' must end in .csv or .json"),
        (["--out", "no/such/folder/r.csv"], "--out: the folder 'no/such/folder' does not exist"),
        (["--out", "r.csv", "--json"], "--json: with --out the file name decides the format"),
        (["--payer", "cli-fixture-health"], "--payer: a batch takes every value from the CSV"),
    ],
    ids=["suffix", "folder", "json-and-csv", "single-options"],
)
def test_batch_usage_errors_exit_2(
    with_fixture_payer: Precert, args: list[str], message: str
) -> None:
    result = with_fixture_payer("check", "--file", MIXED, *args)

    assert result.code == 2, result
    assert result.err.startswith(message), result


def test_out_must_not_overwrite_the_input(with_fixture_payer: Precert, tmp_path: Path) -> None:
    services = write(tmp_path / "s.csv", "payer,code\ncli-fixture-health,70551\n")

    result = with_fixture_payer("check", "--file", services, "--out", services)

    assert result.code == 2
    assert result.err.startswith("--out: would overwrite the input file")
    assert services.read_text() == "payer,code\ncli-fixture-health,70551\n"


def test_rows_of_one_encounter_pair_wherever_they_sit_in_a_long_file(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    # The drug on row 2 and its paired procedure 1,500 rows later (past the service's chunk size).
    lines = ["payer,code,date,encounter", "cli-fixture-health,J0585,2026-12-01,visit-a"]
    lines += ["cli-fixture-health,99213,2026-12-01,"] * 1500
    lines += [
        "cli-fixture-health,64615,2026-12-01,visit-a",
        "cli-fixture-health,J0586,2026-12-01,b",
    ]
    services = write(tmp_path / "long.csv", "\n".join(lines) + "\n")
    out = tmp_path / "long.json"

    result = with_fixture_payer("check", "--file", services, "--out", out)

    assert result.code == 0, result
    answers = {s["row"]: s["decision"] for s in json.loads(out.read_text())["services"]}
    assert len(answers) == 1503
    assert answers[2] == "required"  # J0585 with 64615 (row 1503)
    assert answers[1504] == "unknown"  # J0586 alone in encounter b: the pairing rule does not apply


def test_an_interactive_terminal_gets_a_progress_bar_on_stderr(tmp_path: Path) -> None:
    # stderr is a pseudo-terminal, as when a person runs the command; stdout is a file.
    out = tmp_path / "results.csv"
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECERT_")}
    env.update(
        PRECERT_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
        PRECERT_DATA_DIR=str(tmp_path / "var"),
        TERM="xterm",
        COLUMNS="120",
    )
    precert = Path(sys.executable).parent / "precert"
    with subprocess.Popen(
        [str(precert), "check", "--file", str(MIXED), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    ) as proc:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closes when the command exits
                break
            if not chunk:
                break
            seen += chunk
        code = proc.wait(timeout=180)
    os.close(leader)

    text = seen.decode("utf-8", "replace")
    assert code == 1
    assert "checking services-mixed.csv" in text  # the progress bar's label
    assert "8/8" in text
    assert "Checked 8 rows: 6 answered, 2 invalid." in text
