"""Eligibility values: service type mapping, per-type folding of benefit rows, and the payer's
271 answer set against the rule pack's."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from precert.domain.eligibility import (
    SERVICE_TYPES,
    AuthorizationFlag,
    Benefit,
    CoverageCheck,
    authorization_answer,
    service_type_for,
)
from precert.domain.rules import Decision

REFDATA = Path(__file__).resolve().parents[3] / "shared" / "refdata" / "service_type_codes.csv"


def check(*benefits: Benefit, active: bool | None = True) -> CoverageCheck:
    return CoverageCheck(
        member="subscriber",
        member_id="ZZ-CANARY-789",
        payer_id="ACME01",
        payer_name="ACME HEALTH",
        active=active,
        benefits=benefits,
    )


@pytest.mark.parametrize(
    ("code", "pos", "expected"),
    [
        ("70551", "", "62"),  # MRI brain
        ("71046", "", "4"),  # chest X-ray
        ("77385", "", "6"),  # IMRT
        ("27447", "", "2"),  # knee replacement
        ("00400", "", "7"),  # anesthesia
        ("80053", "", "5"),  # lab panel
        ("97110", "", "PT"),
        ("99213", "", "98"),
        ("E0601", "", "DM"),  # CPAP
        ("J1745", "", "88"),
        ("G0999", "21", "48"),  # unknown code, inpatient place of service
        ("G0999", "", "30"),
        ("nonsense", "", "30"),
    ],
)
def test_service_type_for(code: str, pos: str, expected: str) -> None:
    assert service_type_for(code, pos) == expected


@pytest.mark.skipif(not REFDATA.exists(), reason="shared refdata not present")
def test_every_service_type_we_use_is_an_x12_code() -> None:
    with REFDATA.open() as handle:
        known = {row["code"] for row in csv.DictReader(handle)}
    assert set(SERVICE_TYPES) <= known


def test_cautious_fold_any_y_wins_then_u_then_n() -> None:
    c = check(
        Benefit("1", service_types=("62",), authorization=AuthorizationFlag.NOT_REQUIRED),
        Benefit("1", service_types=("62",), authorization=AuthorizationFlag.REQUIRED),
        Benefit("1", service_types=("PT",), authorization=AuthorizationFlag.NOT_REQUIRED),
        Benefit("1", service_types=("PT",), authorization=AuthorizationFlag.UNKNOWN),
    )
    assert c.for_service("62").authorization is AuthorizationFlag.REQUIRED
    assert c.for_service("PT").authorization is AuthorizationFlag.UNKNOWN


def test_network_split_is_kept_and_told() -> None:
    c = check(
        Benefit(
            "1", service_types=("2",), authorization=AuthorizationFlag.REQUIRED, in_network=False
        ),
        Benefit(
            "1", service_types=("2",), authorization=AuthorizationFlag.NOT_REQUIRED, in_network=True
        ),
    )
    coverage = c.for_service("2")
    assert coverage.authorization_by_network == {
        True: AuthorizationFlag.NOT_REQUIRED,
        False: AuthorizationFlag.REQUIRED,
    }
    answer = authorization_answer(c, "2", Decision.REQUIRED)
    assert "in network: not required; out of network: required" in answer.summary


@pytest.mark.parametrize(
    ("flag", "rules", "agree"),
    [
        (AuthorizationFlag.REQUIRED, Decision.REQUIRED, True),
        (AuthorizationFlag.REQUIRED, Decision.NOT_REQUIRED, False),
        (AuthorizationFlag.NOT_REQUIRED, Decision.REQUIRED, False),
        (AuthorizationFlag.NOT_REQUIRED, Decision.NOT_REQUIRED, True),
        (AuthorizationFlag.UNKNOWN, Decision.REQUIRED, None),
        (AuthorizationFlag.REQUIRED, Decision.CONDITIONAL, None),
        (AuthorizationFlag.REQUIRED, None, None),
    ],
)
def test_authorization_answer_compares_payer_and_rules(
    flag: AuthorizationFlag, rules: Decision | None, agree: bool | None
) -> None:
    answer = authorization_answer(
        check(Benefit("1", service_types=("62",), authorization=flag)), "62", rules
    )
    assert answer.payer is flag and answer.agree is agree
    assert answer.summary.startswith("For service type 62 (MRI / CT scan), ")
    assert ("They disagree" in answer.summary) is (agree is False)
    assert answer.as_dict()["payer"] == flag.value


def test_answer_words() -> None:
    c = check(Benefit("1", service_types=("62",), authorization=AuthorizationFlag.REQUIRED))
    answer = authorization_answer(c, "62", Decision.REQUIRED)
    assert answer.summary == (
        "For service type 62 (MRI / CT scan), authorization is required per the payer's 271. "
        "The rule pack says required."
    )
    fallback = authorization_answer(check(Benefit("1")), "62")
    assert "from the plan's general coverage rows" in fallback.summary
    assert fallback.payer is AuthorizationFlag.NOT_STATED


def test_inactive_coverage_is_said() -> None:
    answer = authorization_answer(check(Benefit("6"), active=False), "2")
    assert answer.active is False and "Coverage is inactive" in answer.summary
    assert check(Benefit("6"), active=False).for_service("2").covered is False


def test_eb11_codes() -> None:
    assert AuthorizationFlag.from_eb11("Y") is AuthorizationFlag.REQUIRED
    assert AuthorizationFlag.from_eb11("N") is AuthorizationFlag.NOT_REQUIRED
    assert AuthorizationFlag.from_eb11("U") is AuthorizationFlag.UNKNOWN
    assert AuthorizationFlag.from_eb11("") is AuthorizationFlag.NOT_STATED
    assert AuthorizationFlag.from_eb11("Q") is AuthorizationFlag.NOT_STATED
