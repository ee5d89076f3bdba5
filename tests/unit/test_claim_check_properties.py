"""Properties of the claim check (hypothesis): the units ledger never accepts more than approved,
date windows are exact at both edges, the order of claims changes only which lines exceed, and a
line inside everything is ok.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.domain.claim_check import ANY_CODE, UnitsLedger, check_claims
from precert.domain.claims import (
    AuthorizationRecord,
    AuthorizationStatus,
    Claim,
    ClaimKind,
    ClaimLine,
    ClaimResult,
    FindingKind,
    Setting,
)
from precert.domain.rules import Decision

SUITE = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PAYER = "acme"
MEMBER = "ZZ-SYNTH-001"
NPI = "1234567893"
BASE = dt.date(2027, 1, 1)
KEY = ("AUTH1", ANY_CODE)

codes = st.sampled_from(["70551", "70553", "97110", "J0585", "27447"])


def make_claim(claim_id: str, code: str, units: int, day: dt.date, frequency: str = "1") -> Claim:
    line = ClaimLine(number=1, code=code, units=units, from_date=day, to_date=day)
    return Claim(
        claim_id=claim_id,
        kind=ClaimKind.PROFESSIONAL,
        payer_id=PAYER,
        member_id=MEMBER,
        lines=(line,),
        frequency=frequency,
        billing_npi=NPI,
        authorization_numbers=("AUTH1",),
    )


def make_record(
    *, codes: frozenset[str] = frozenset({"97110"}), total: int | None = None, **dates: dt.date
) -> AuthorizationRecord:
    return AuthorizationRecord(
        number="AUTH1",
        payer_id=PAYER,
        member_id=MEMBER,
        status=AuthorizationStatus.APPROVED,
        codes=codes,
        total_units=total,
        valid_from=dates.get("valid_from", BASE),
        valid_to=dates.get("valid_to", dt.date(2027, 12, 31)),
    )


def run(
    claims: list[Claim],
    records: list[AuthorizationRecord],
    ledger: UnitsLedger,
    today: dt.date = BASE,
) -> list[ClaimResult]:
    return list(
        check_claims(
            claims,
            requirement=lambda c, ln: Decision.REQUIRED,
            authorizations=records,
            ledger=ledger,
            today=today,
        )
    )


# A ledger operation: take units for a claim id, or release a claim id.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("take"), st.sampled_from("ABCD"), st.integers(0, 12)),
        st.tuples(st.just("release"), st.sampled_from("ABCD"), st.just(0)),
    ),
    max_size=40,
)


@SUITE
@given(approved=st.integers(0, 30), seed=st.integers(0, 40), ops=operations)
def test_the_ledger_never_accepts_more_than_approved(
    approved: int, seed: int, ops: list[tuple[str, str, int]]
) -> None:
    ledger = UnitsLedger({KEY: seed})
    accepted: dict[str, int] = {}
    for op, claim_id, units in ops:
        if op == "release":
            assert ledger.release(claim_id) == accepted.pop(claim_id, 0)
            continue
        took = ledger.take(KEY, units, approved=approved, claim_id=claim_id)
        assert took.accepted <= units
        assert took.exceeded == (took.accepted < units)
        accepted[claim_id] = accepted.get(claim_id, 0) + took.accepted
        assert sum(accepted.values()) <= max(0, approved - seed)
        assert ledger.used(KEY) == seed + sum(accepted.values())


@SUITE
@given(
    start=st.integers(0, 300),
    length=st.integers(0, 60),
    offset=st.integers(-10, 70),
)
def test_the_date_window_is_exact_at_both_edges(start: int, length: int, offset: int) -> None:
    valid_from = BASE + dt.timedelta(days=start)
    valid_to = valid_from + dt.timedelta(days=length)
    day = valid_from + dt.timedelta(days=offset)
    record = make_record(valid_from=valid_from, valid_to=valid_to)
    claims = [make_claim("A", "97110", 1, day)]
    # While the window has not ended a late service is outside it; once it has, it is expired.
    [current] = run(claims, [record], UnitsLedger(), today=valid_from)
    [ended] = run(claims, [record], UnitsLedger(), today=valid_to + dt.timedelta(days=1))
    for result, late_kind in (
        (current, FindingKind.OUTSIDE_DATE_WINDOW),
        (ended, FindingKind.AUTHORIZATION_EXPIRED),
    ):
        [finding] = result.lines[0].findings
        if valid_from <= day <= valid_to:
            assert finding.kind is FindingKind.OK
            continue
        early = day < valid_from
        assert finding.kind is (FindingKind.OUTSIDE_DATE_WINDOW if early else late_kind)
        days = (valid_from - day).days if early else (day - valid_to).days
        unit = "1 day" if days == 1 else f"{days} days"
        assert f" {unit} " in finding.message


@SUITE
@given(
    approved=st.integers(0, 40),
    seed=st.integers(0, 20),
    units=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    data=st.data(),
)
def test_permuting_claims_changes_only_which_lines_exceed(
    approved: int, seed: int, units: list[int], data: st.DataObject
) -> None:
    record = make_record(total=approved)
    claims = [make_claim(f"C{i}", "97110", n, BASE) for i, n in enumerate(units)]
    shuffled = data.draw(st.permutations(claims))
    totals = []
    for order in (claims, shuffled):
        ledger = UnitsLedger({KEY: seed})
        results = run(order, [record], ledger)
        totals.append(ledger.used(KEY))
        for result in results:
            [finding] = result.lines[0].findings
            assert finding.kind in (FindingKind.OK, FindingKind.UNITS_EXCEEDED)
    assert totals[0] == totals[1] == max(seed, min(approved, seed + sum(units)))


@SUITE
@given(
    approved_codes=st.frozensets(codes, min_size=1),
    data=st.data(),
    length=st.integers(0, 90),
    setting=st.sampled_from(Setting),
    carried=st.booleans(),
)
def test_a_line_inside_everything_is_ok(
    approved_codes: frozenset[str],
    data: st.DataObject,
    length: int,
    setting: Setting,
    carried: bool,
) -> None:
    code = data.draw(st.sampled_from(sorted(approved_codes)))
    units = data.draw(st.integers(0, 20))
    valid_to = BASE + dt.timedelta(days=length)
    day = BASE + dt.timedelta(days=data.draw(st.integers(0, length)))
    record = AuthorizationRecord(
        number="AUTH1",
        payer_id=PAYER,
        member_id=MEMBER,
        status=data.draw(
            st.sampled_from([AuthorizationStatus.APPROVED, AuthorizationStatus.PARTIALLY_APPROVED])
        ),
        codes=approved_codes,
        units={code: units + data.draw(st.integers(0, 5))},
        valid_from=BASE,
        valid_to=valid_to,
        rendering_npi=NPI,
        facility_npi=NPI,
        setting=setting,
    )
    claim = replace(
        make_claim("A", code, units, day),
        setting=setting,
        authorization_numbers=("AUTH1",) if carried else (),
    )
    [result] = run([claim], [record], UnitsLedger(), today=valid_to + dt.timedelta(days=400))
    kinds = [f.kind for f in result.lines[0].findings]
    assert kinds == ([FindingKind.OK] if carried else [FindingKind.NUMBER_MISSING_ON_CLAIM])
