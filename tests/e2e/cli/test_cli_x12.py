"""`precert x12 parse / validate / ack` run as the installed command on corpus samples and on
broken copies of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "lfh-x12-5010-samples"
GOOD = SAMPLES / "837_005010X222A2" / "demo.example1.837"
Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result


def broken_copy(tmp_path: Path) -> Path:
    path = tmp_path / "broken.837"
    path.write_text(GOOD.read_text().replace("SE*40*0021~", "SE*39*0021~"))
    return path


def test_parse_json_prints_the_structure(precert: Precert) -> None:
    result = precert("x12", "parse", GOOD, "--json")
    assert result.code == 0, result
    view = json.loads(result.out)
    assert view["issues"] == []
    (interchange,) = view["interchanges"]
    assert interchange["control_number"] == "000000907"
    assert interchange["delimiters"] == {
        "element": "*",
        "component": ":",
        "repetition": "^",
        "segment": "~",
    }
    (group,) = interchange["groups"]
    (transaction,) = group["sets"]
    assert (transaction["code"], transaction["control_number"]) == ("837", "0021")
    assert transaction["segments"][0] == {
        "position": 1,
        "tag": "ST",
        "elements": ["837", "0021", "005010X222A2"],
    }
    assert len(transaction["segments"]) == 40


def test_parse_without_json_prints_a_summary(precert: Precert) -> None:
    result = precert("x12", "parse", GOOD)
    assert result.code == 0, result
    assert "Set 0021 837 005010X222A2: 40 segments" in result.out


def test_parse_of_a_broken_file_exits_1_with_located_errors(
    precert: Precert, tmp_path: Path
) -> None:
    result = precert("x12", "parse", broken_copy(tmp_path), "--json")
    assert result.code == 1, result
    assert (
        "ISA/GS[1]/ST[1]/segment 40 (SE) element 01: SE01 says 39 segments but the set has 40"
        in result.err
    )


def test_validate_exit_codes(precert: Precert, tmp_path: Path) -> None:
    good = precert("x12", "validate", GOOD)
    assert good.code == 0, good
    assert "Envelopes are valid" in good.out
    bad = precert("x12", "validate", broken_copy(tmp_path))
    assert bad.code == 1, bad
    assert "SE01 says 39" in bad.err
    not_x12 = tmp_path / "letter.txt"
    not_x12.write_text("Dear payer,")
    refused = precert("x12", "validate", not_x12)
    assert refused.code == 1, refused
    assert "must start with an ISA segment" in refused.err
    help_text = precert("x12", "validate", "--help")
    assert "278" in help_text.out


def test_ack_prints_a_999_even_when_it_rejects(precert: Precert, tmp_path: Path) -> None:
    accepted = precert("x12", "ack", GOOD)
    assert accepted.code == 0, accepted
    assert "AK9*A*1*1*1~" in accepted.out and "ST*999*" in accepted.out
    rejected = precert("x12", "ack", broken_copy(tmp_path), "--control-start", "70")
    assert rejected.code == 0, rejected
    assert "IK5*R*4~" in rejected.out and "AK9*R*1*1*0~" in rejected.out
    assert "*000000070*" in rejected.out


def test_ack_of_a_file_without_groups_exits_1(precert: Precert, tmp_path: Path) -> None:
    text = GOOD.read_text()
    empty = tmp_path / "empty.x12"
    empty.write_text(text[: text.index("GS*")] + "IEA*0*000000907~\n")
    result = precert("x12", "ack", empty)
    assert result.code == 1, result
    assert "no functional group" in result.err
    assert result.out == ""


def test_usage_errors_exit_2(precert: Precert, tmp_path: Path) -> None:
    assert precert("x12", "ack", tmp_path / "missing.x12").code == 2
    assert precert("x12", "parse").code == 2
