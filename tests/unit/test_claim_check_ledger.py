"""What the units ledger reports per line (`line_takes`, the rows the scrub stores per file) and
how the AuthorizationIndex groups records, on the shapes its compact storage treats apart:
claims with many lines, claim ids repeated in a file, members with many records.

Values are synthetic; see test_claim_check.py for the findings themselves.
"""

from __future__ import annotations

import datetime as dt

from precert.domain.claim_check import ANY_CODE, AuthorizationIndex, UnitsLedger, check_claims
from precert.domain.claims import (
    AuthorizationRecord,
    AuthorizationStatus,
    Claim,
    ClaimKind,
    ClaimLine,
    FindingKind,
)
from precert.domain.rules import Decision

PAYER = "acme"
MEMBER = "ZZ-SYNTH-002"
DOS = dt.date(2027, 2, 1)
KEY = ("AUTH1", ANY_CODE)


def therapy(number: str = "AUTH1", total_units: int = 100) -> AuthorizationRecord:
    return AuthorizationRecord(
        number=number,
        payer_id=PAYER,
        member_id=MEMBER,
        status=AuthorizationStatus.APPROVED,
        codes=frozenset({"97110"}),
        total_units=total_units,
        valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31),
    )


def claim(claim_id: str, lines: int, *, units: int = 1, frequency: str = "1") -> Claim:
    return Claim(
        claim_id=claim_id,
        kind=ClaimKind.PROFESSIONAL,
        payer_id=PAYER,
        member_id=MEMBER,
        lines=tuple(
            ClaimLine(number=n, code="97110", units=units, from_date=DOS, to_date=DOS)
            for n in range(1, lines + 1)
        ),
        frequency=frequency,
        authorization_numbers=("AUTH1",),
    )


def run(claims: list[Claim], records: list[AuthorizationRecord], ledger: UnitsLedger) -> None:
    results = check_claims(
        claims,
        requirement=lambda claim, line: Decision.REQUIRED,
        authorizations=records,
        ledger=ledger,
        today=DOS,
    )
    for result in results:
        for line in result.lines:
            assert [f.kind for f in line.findings] == [FindingKind.OK], line.findings


def test_every_line_of_a_long_claim_is_reported_and_a_replacement_gives_them_all_back() -> None:
    ledger = UnitsLedger()
    run([claim("A", 20), claim("B", 2)], [therapy()], ledger)
    takes = ledger.line_takes()
    assert takes == {
        **{("A", n): (KEY, 1) for n in range(1, 21)},
        ("B", 1): (KEY, 1),
        ("B", 2): (KEY, 1),
    }
    run([claim("A", 3, units=2, frequency="7")], [therapy()], ledger)
    assert ledger.line_takes() == {
        ("B", 1): (KEY, 1),
        ("B", 2): (KEY, 1),
        **{("A", n): (KEY, 2) for n in range(1, 4)},
    }
    assert ledger.usage() == {KEY: 2 + 6}


def test_a_void_leaves_no_row_for_its_original() -> None:
    ledger = UnitsLedger()
    run([claim("A", 12), claim("A", 12, frequency="8")], [therapy()], ledger)
    assert ledger.line_takes() == {}
    assert ledger.usage() == {}


def test_a_claim_id_repeated_without_a_replacement_counts_both_and_reports_the_last() -> None:
    ledger = UnitsLedger()
    run([claim("A", 1, units=2), claim("A", 1, units=3)], [therapy()], ledger)
    assert ledger.line_takes() == {("A", 1): (KEY, 3)}
    assert ledger.usage() == {KEY: 5}
    assert ledger.release("A") == 5
    assert ledger.line_takes() == {}


def test_many_takes_under_one_claim_id_all_come_back() -> None:
    ledger = UnitsLedger({KEY: 4})
    for n in range(30):
        ledger.take(KEY, 1, approved=100, claim_id="A", line=n)
    assert ledger.used(KEY) == 34
    assert ledger.release("A") == 30
    assert ledger.used(KEY) == 4


def test_a_member_with_many_records_keeps_them_all_in_order() -> None:
    records = [therapy(f"auth{n:02d}") for n in range(12)]
    repeated = [therapy("AUTH-SAME") for _ in range(11)]
    index = AuthorizationIndex([*records, *repeated])
    assert len(index) == 23
    assert index.for_member(PAYER, MEMBER) == (*records, *repeated)
    assert index.numbered(PAYER, MEMBER, [" AUTH05 "]) == (records[5],)
    assert index.numbered(PAYER, MEMBER, ["auth-same"]) == tuple(repeated)
    assert index.numbered(PAYER, MEMBER, ["AUTH00", "AUTH11"]) == (records[0], records[11])
    assert index.numbered(PAYER, "other", ["AUTH00"]) == ()
