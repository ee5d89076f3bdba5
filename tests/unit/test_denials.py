"""Denial classification from 835 codes (domain/remittances.py): which authorization problem a
CARC/RARC combination names, when a remark counts, and how a claim's cause is chosen; and that
the code-to-cause tables cover every authorization code in the shipped reference lists."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from precert.channels.x12.tx835_view import code_descriptions
from precert.domain.remittances import (
    AUTHORIZATION_CARCS,
    AUTHORIZATION_PAIRS,
    AUTHORIZATION_RARCS,
    EXCEEDED_RARCS,
    NEUTRAL_RARCS,
    Adjustment,
    AdjustmentGroup,
    DenialCause,
    RemitClaim,
    RemitLine,
    authorization_cause,
    classify,
    classify_line,
    worst,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "precert" / "data" / "reference" / "x12"
SHARED = ROOT.parent / "shared" / "refdata"

ABSENT = DenialCause.AUTHORIZATION_ABSENT
EXCEEDED = DenialCause.AUTHORIZATION_EXCEEDED
DENIED = DenialCause.AUTHORIZATION_DENIED
MISMATCH = DenialCause.AUTHORIZATION_MISMATCH
OTHER = DenialCause.NOT_AUTHORIZATION
PAID = DenialCause.PAID


def _rows(name: str) -> list[dict[str, str]]:
    with (SHIPPED / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def line(
    *cas: tuple[str, str, str],
    charge: str = "100.00",
    paid: str = "0",
    remarks: tuple[str, ...] = (),
) -> RemitLine:
    """A line with CAS triplets given as (group, CARC, amount)."""
    adjustments = tuple(Adjustment(AdjustmentGroup(g), r, Decimal(a)) for g, r, a in cas)
    return RemitLine(
        "99213", Decimal(charge), Decimal(paid), adjustments=adjustments, remarks=remarks
    )


def claim(
    *lines: RemitLine,
    status: str = "1",
    cas: tuple[tuple[str, str, str], ...] = (),
    remarks: tuple[str, ...] = (),
    charge: str | None = None,
    paid: str | None = None,
) -> RemitClaim:
    total = sum((x.charge for x in lines), Decimal("0"))
    got = sum((x.paid for x in lines), Decimal("0"))
    return RemitClaim(
        "SYN-1",
        status,
        Decimal(charge) if charge is not None else total,
        Decimal(paid) if paid is not None else got,
        adjustments=tuple(Adjustment(AdjustmentGroup(g), r, Decimal(a)) for g, r, a in cas),
        remarks=remarks,
        lines=lines,
    )


@pytest.mark.parametrize(
    ("cas", "remarks", "paid", "expected"),
    [
        ((("CO", "197", "100.00"),), (), "0", ABSENT),
        ((("CO", "15", "100.00"),), (), "0", ABSENT),
        ((("CO", "288", "100.00"),), (), "0", ABSENT),  # referral absent
        ((("CO", "243", "100.00"),), (), "0", ABSENT),
        ((("CO", "210", "100.00"),), (), "0", ABSENT),  # not obtained in time
        ((("CO", "198", "40.00"),), (), "60.00", EXCEEDED),  # some units past the approval
        ((("CO", "287", "100.00"),), (), "0", EXCEEDED),
        ((("CO", "39", "100.00"),), (), "0", DENIED),
        ((("CO", "284", "100.00"),), (), "0", MISMATCH),
        ((("CO", "296", "100.00"),), (), "0", MISMATCH),
        ((("CO", "302", "100.00"),), (), "0", MISMATCH),  # expired
        ((("CO", "15", "100.00"),), ("N54",), "0", MISMATCH),  # eMedNY 01155
        ((("CO", "284", "100.00"),), ("N517",), "0", MISMATCH),  # wrong UTN
        ((("CO", "197", "100.00"),), ("N210",), "0", ABSENT),  # UTN not on claim
        ((("CO", "197", "100.00"),), ("N54",), "0", MISMATCH),
        ((("CO", "62", "100.00"),), (), "0", ABSENT),
        ((("CO", "62", "100.00"),), ("N362",), "0", EXCEEDED),
        ((("CO", "16", "100.00"),), ("M62",), "0", ABSENT),
        ((("CO", "16", "100.00"),), ("N54",), "0", MISMATCH),
        ((("CO", "16", "100.00"),), ("N41",), "0", DENIED),
        ((("CO", "16", "100.00"),), ("N351",), "0", MISMATCH),
        ((("CO", "16", "100.00"),), ("N362",), "0", OTHER),  # a limit, no authorization code
        ((("CO", "50", "100.00"),), (), "0", OTHER),
        ((("CO", "50", "100.00"),), ("N210",), "0", OTHER),  # "you may appeal" says no cause
        ((("PI", "197", "100.00"),), (), "0", ABSENT),
        ((("CO", "45", "20.00"),), (), "80.00", PAID),  # contractual write-off
        ((("CO", "45", "20.00"),), ("M62",), "80.00", PAID),  # a remark on a paid line
        ((("PR", "1", "100.00"),), (), "0", PAID),  # deductible: the patient pays, no denial
        ((("CO", "50", "30.00"),), (), "70.00", PAID),  # reduced, not denied
        ((), (), "100.00", PAID),
    ],
)
def test_a_line_is_classified_by_its_adjustment_and_remark_codes(
    cas: tuple[tuple[str, str, str], ...],
    remarks: tuple[str, ...],
    paid: str,
    expected: DenialCause,
) -> None:
    assert classify_line(line(*cas, paid=paid, remarks=remarks)) == expected


def test_a_zero_amount_adjustment_names_no_cause() -> None:
    assert classify_line(line(("CO", "197", "0"), ("CO", "45", "10"), paid="90.00")) == PAID


def test_the_claims_moa_remark_applies_to_each_denied_line() -> None:
    denied = line(("CO", "16", "100.00"))
    paid = line(("CO", "45", "10.00"), paid="90.00")
    remit = claim(denied, paid, remarks=("M62",))
    assert [classify_line(x, remit) for x in remit.lines] == [ABSENT, PAID]
    assert classify(remit) == ABSENT


def test_a_denied_claim_without_codes_is_a_denial_for_another_reason() -> None:
    assert classify(claim(line(paid="0"), status="4")) == OTHER


def test_a_claim_without_lines_is_classified_by_its_own_adjustments() -> None:
    absent = claim(status="4", cas=(("CO", "197", "5000.00"),), charge="5000.00", paid="0")
    assert classify(absent) == ABSENT
    paid = claim(cas=(("CO", "45", "1000.00"),), charge="5000.00", paid="4000.00")
    assert classify(paid) == PAID
    other = claim(cas=(("CO", "96", "5000.00"),), charge="5000.00", paid="0")
    assert classify(other) == OTHER


def test_the_claims_cause_is_the_one_that_decides_recovery() -> None:
    remit = claim(line(("CO", "197", "100.00")), line(("CO", "39", "100.00")), status="4")
    assert classify(remit) == DENIED
    assert worst([ABSENT, EXCEEDED, MISMATCH]) == EXCEEDED
    assert worst([OTHER, ABSENT]) == ABSENT
    assert worst([]) == PAID


def test_a_reversal_denies_nothing() -> None:
    reversed_line = line(("CO", "197", "-100.00"), charge="-100.00")
    assert classify(claim(reversed_line, status="22")) == PAID


def test_every_authorization_carc_in_the_shipped_list_has_a_cause() -> None:
    listed = {r["code"] for r in _rows("carc.csv") if r["pa_relevance"] in ("auth", "referral")}
    assert listed == set(AUTHORIZATION_CARCS)


def test_every_shipped_remark_code_is_a_cause_a_limit_or_neutral() -> None:
    known = set(AUTHORIZATION_RARCS) | EXCEEDED_RARCS | NEUTRAL_RARCS
    listed = {r["code"] for r in _rows("rarc_auth.csv")}
    assert listed == known


def test_every_documented_pair_is_an_authorization_denial() -> None:
    for row in _rows("denial_pairs_pa.csv"):
        pair = (row["carc"], row["rarc"])
        assert pair in AUTHORIZATION_PAIRS
        assert authorization_cause([row["carc"]], [row["rarc"]]) == AUTHORIZATION_PAIRS[pair]


def test_no_authorization_code_means_no_authorization_cause() -> None:
    assert authorization_cause(["45", "16"], ["N130"]) is None


@pytest.mark.parametrize("name", ["carc.csv", "rarc_auth.csv", "denial_pairs_pa.csv"])
def test_the_shipped_code_lists_are_the_collected_reference_data(name: str) -> None:
    assert (SHIPPED / name).read_bytes() == (SHARED / name).read_bytes()


def test_every_code_with_a_cause_has_a_description_people_can_read() -> None:
    texts = code_descriptions()
    for code in [*AUTHORIZATION_CARCS, *AUTHORIZATION_RARCS]:
        assert texts[code].strip(), code
    assert texts["197"] == "Precertification/authorization/notification/pre-treatment absent."
