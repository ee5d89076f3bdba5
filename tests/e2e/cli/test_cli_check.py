"""`precert check` for one encounter: the JSON, the human table, every error a person makes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
FIXTURE_PAYER = "cli-fixture-health"  # tests/fixtures/packs/cli-fixture-health.yaml
DATE = "2026-12-01"


def check_json(precert: Precert, *args: str) -> list[dict[str, Any]]:
    result = precert("check", "--payer", FIXTURE_PAYER, "--date", DATE, *args, "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert set(document) == {"services"}
    services: list[dict[str, Any]] = document["services"]
    return services


def test_json_answers_each_code_in_order_with_decision_process_and_reasons(
    with_fixture_payer: Precert,
) -> None:
    services = check_json(
        with_fixture_payer, "--code", "70551", "--code", "99213", "--code", "95800", "--pos", "22"
    )

    assert [s["code"] for s in services] == ["70551", "99213", "95800"]
    mri, visit, sleep = services
    assert mri["decision"] == "required"
    assert mri["processes"] == [
        {"term": "preauthorization", "reviews": "medical_necessity", "rule": "cfh-mri-brain"}
    ]
    assert mri["matched_rules"] == [
        {"id": "cfh-mri-brain", "source": "https://cli-fixture.example/lists/imaging"}
    ]
    assert [c["type"] for c in mri["channels"]] == ["portal", "fax"]
    assert mri["turnaround"] == {"standard": "7 calendar days", "expedited": "72 hours"}
    assert mri["documents"] == ["Clinical notes from the last 60 days"]
    assert mri["reasons"] == [
        "Preauthorization required (reviews medical necessity): MRI of the brain [cfh-mri-brain]."
    ]
    assert visit["decision"] == "not_required"
    assert sleep["decision"] == "unknown"
    assert any("it ended on 2026-09-30" in r for r in sleep["reasons"])


def test_codes_of_one_command_are_one_encounter_so_pairing_rules_see_each_other(
    with_fixture_payer: Precert,
) -> None:
    paired = check_json(with_fixture_payer, "--code", "J0585", "--code", "64612")
    alone = check_json(with_fixture_payer, "--code", "J0585")

    assert paired[0]["decision"] == "required"
    assert alone[0]["decision"] == "unknown"
    assert "none is on this request" in " ".join(alone[0]["reasons"])


def test_plan_units_and_network_reach_the_rules(with_fixture_payer: Precert) -> None:
    maternity = check_json(with_fixture_payer, "--code", "59400", "--plan", "medicaid")
    therapy = check_json(with_fixture_payer, "--code", "97110", "--units", "20", "--age", "40")
    few_visits = check_json(with_fixture_payer, "--code", "97110", "--units", "5")

    assert maternity[0]["decision"] == "notification"
    assert therapy[0]["decision"] == "required"
    assert few_visits[0]["decision"] == "unknown"
    assert "this service counts 5" in " ".join(few_visits[0]["reasons"])


def test_human_output_is_a_table_with_the_decision_process_and_reasons_underneath(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer(
        "check", "--payer", FIXTURE_PAYER, "--code", "27447", "--pos", "21", "--date", DATE
    )

    assert result.code == 0, result
    table_row = next(line for line in result.out.splitlines() if line.strip().startswith("27447"))
    assert "required" in table_row
    assert "precertification (coverage and medical necessity)" in table_row
    assert "portal https://portal.cli-fixture.example/auth" in table_row
    assert "standard 2 business days" in table_row
    assert "27447 required on 2026-12-01 for payer cli-fixture-health" in result.out
    assert (
        "- Precertification required (reviews coverage and medical necessity): "
        "Total knee arthroplasty, inpatient stay [cfh-knee-stay]." in result.out
    )
    assert "Documents: Admission order" in result.out


def test_date_defaults_to_today(with_fixture_payer: Precert) -> None:
    result = with_fixture_payer("check", "--payer", FIXTURE_PAYER, "--code", "70551", "--json")

    assert result.code == 0, result
    assert json.loads(result.out)["services"][0]["date"] == dt.date.today().isoformat()


def test_an_unconfigured_payer_exits_2_naming_it_and_suggesting_close_ids(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer("check", "--payer", "cli-fixture-healt", "--code", "70551")

    assert result.code == 2
    assert result.out == ""
    assert result.err.strip().startswith(
        "--payer: no payer 'cli-fixture-healt' is configured. Did you mean cli-fixture-health"
    )
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--code", "7055"],
            "--code: '7055' is not valid; expected a CPT code (5 digits such as 70551",
        ),
        (
            ["--code", "70551", "--pos", "77"],
            "--pos: '77' is not valid; expected a two-digit CMS place-of-service code",
        ),
        (
            ["--code", "70551", "--state", "XX"],
            "--state: 'XX' is not valid; expected a two-letter US state or territory code",
        ),
        (
            ["--code", "70551", "--date", "2026-02-30"],
            "--date: '2026-02-30' is not valid; expected a date written YYYY-MM-DD",
        ),
        (
            ["--code", "70551", "--plan", "medicare-ffs"],
            "--plan: 'medicare-ffs' is not a plan of payer 'cli-fixture-health'; "
            "its plans are commercial, medicaid",
        ),
        (
            ["--code", "70551", "--setting", "garage"],
            "--setting: 'garage' is not a care setting; use inpatient",
        ),
        (
            ["--code", "70551", "--network", "maybe"],
            "--network: 'maybe' is not valid; use in or out",
        ),
        (["--code", "70551", "--dx", "Q99.99X"], "--dx[0]: 'Q99.99X' is not an ICD-10-CM code"),
        ([], "--code: give at least one --code (or --file services.csv for a batch)"),
    ],
    ids=["code", "pos", "state", "date", "plan", "setting", "network", "dx", "no-code"],
)
def test_invalid_input_exits_2_with_a_message_naming_the_field_and_value(
    with_fixture_payer: Precert, args: list[str], message: str
) -> None:
    result = with_fixture_payer("check", "--payer", FIXTURE_PAYER, *args)

    assert result.code == 2, result
    assert result.out == ""
    assert result.err.startswith(message), result
    assert "Traceback" not in result.err


def test_every_problem_is_reported_once_on_its_own_line(with_fixture_payer: Precert) -> None:
    result = with_fixture_payer(
        "check",
        "--payer",
        FIXTURE_PAYER,
        "--code",
        "70551",
        "--code",
        "70552",
        "--state",
        "XX",
        "--date",
        "tomorrow",
    )

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 2, result
    assert lines[0].startswith("--state: 'XX' is not valid")
    assert lines[1].startswith("--date: 'tomorrow' is not valid")


def test_debug_shows_the_traceback(with_fixture_payer: Precert) -> None:
    result = with_fixture_payer("--debug", "check", "--payer", "nobody", "--code", "70551")

    assert result.code != 0
    assert "Traceback" in result.err or "NotFoundInput" in result.err
    assert "no payer 'nobody' is configured" in result.err


def test_batch_options_are_refused_for_a_single_check(with_fixture_payer: Precert) -> None:
    result = with_fixture_payer(
        "check", "--payer", FIXTURE_PAYER, "--code", "70551", "--out", "results.csv"
    )

    assert result.code == 2
    assert result.err.startswith("--out: results files are for batches; add --file")


# -- the shipped Medicare FFS pack ---------------------------------------------------------------


def test_medicare_opd_blepharoplasty_needs_prior_authorization_at_pos_22(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer(
        "check", "--payer", "medicare", "--code", "15823", "--pos", "22", "--date", DATE, "--json"
    )

    assert result.code == 0, result
    service = json.loads(result.out)["services"][0]
    assert service["decision"] == "required"
    assert service["processes"][0]["term"] == "prior authorization"


def test_medicare_opd_blepharoplasty_at_an_asc_is_not_required_because_of_the_pos(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer(
        "check", "--payer", "medicare", "--code", "15823", "--pos", "24", "--date", DATE, "--json"
    )

    assert result.code == 0, result
    service = json.loads(result.out)["services"][0]
    assert service["decision"] == "not_required"
    assert any(
        "applies only at POS 19" in reason and "this service is at POS 24" in reason
        for reason in service["reasons"]
    ), service["reasons"]


def test_medicare_botulinum_toxin_needs_approval_only_with_its_paired_procedure(
    with_fixture_payer: Precert,
) -> None:
    args = ("check", "--payer", "medicare", "--pos", "22", "--date", DATE, "--json")
    precert = with_fixture_payer
    paired = json.loads(precert(*args, "--code", "J0585", "--code", "64612").out)["services"]
    alone = json.loads(precert(*args, "--code", "J0585").out)["services"]

    assert [s["decision"] for s in paired] == ["required", "required"]
    assert alone[0]["decision"] == "not_required"
