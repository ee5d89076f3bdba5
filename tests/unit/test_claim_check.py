"""Claim lines against authorizations: one example per finding kind, the choice of the record,
and the units ledger across claims (file order, earlier files, replacements and voids).

Claims are built by hand from the dataclasses; the member ids are synthetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from precert.domain.claim_check import (
    ANY_CODE,
    AuthorizationIndex,
    UnitsLedger,
    check_claims,
)
from precert.domain.claims import (
    AuthorizationRecord,
    AuthorizationStatus,
    Claim,
    ClaimKind,
    ClaimLine,
    ClaimResult,
    Finding,
    FindingKind,
    Setting,
    Severity,
)
from precert.domain.rules import Decision

PAYER = "acme"
MEMBER = "ZZ-SYNTH-001"
DOS = dt.date(2027, 2, 1)
TODAY = dt.date(2027, 2, 10)
RENDERING = "1234567893"
FACILITY = "1215930367"
BILLING = "1093817465"
OTHER_NPI = "1972634501"


def line(number: int = 1, **changes: Any) -> ClaimLine:
    base = ClaimLine(number=number, code="70551", units=1, from_date=DOS, to_date=DOS)
    return replace(base, **changes)


def claim(*lines: ClaimLine, **changes: Any) -> Claim:
    base = Claim(
        claim_id="CLM-1",
        kind=ClaimKind.PROFESSIONAL,
        payer_id=PAYER,
        member_id=MEMBER,
        lines=lines or (line(),),
        billing_npi=BILLING,
        rendering_npi=RENDERING,
        facility_npi=FACILITY,
        authorization_numbers=("AUTH1",),
    )
    return replace(base, **changes)


def record(**changes: Any) -> AuthorizationRecord:
    base = AuthorizationRecord(
        number="AUTH1",
        payer_id=PAYER,
        member_id=MEMBER,
        status=AuthorizationStatus.APPROVED,
        codes=frozenset({"70551"}),
        valid_from=dt.date(2027, 1, 15),
        valid_to=dt.date(2027, 3, 31),
        rendering_npi=RENDERING,
        facility_npi=FACILITY,
    )
    return replace(base, **changes)


def check(
    claims: Iterable[Claim],
    records: Iterable[AuthorizationRecord] = (),
    *,
    decision: Decision | Mapping[str, Decision] = Decision.REQUIRED,
    ledger: UnitsLedger | None = None,
    today: dt.date = TODAY,
) -> list[ClaimResult]:
    def requirement(claim: Claim, line: ClaimLine) -> Decision:
        if isinstance(decision, Decision):
            return decision
        return decision[line.code]

    return list(
        check_claims(
            claims,
            requirement=requirement,
            authorizations=records,
            ledger=ledger if ledger is not None else UnitsLedger(),
            today=today,
        )
    )


def only(
    claims: Iterable[Claim], records: Iterable[AuthorizationRecord] = (), **kw: Any
) -> Finding:
    """The single finding of the single line of the single claim."""
    [result] = check(claims, records, **kw)
    [line_result] = result.lines
    assert len(line_result.findings) == 1, line_result.findings
    return line_result.findings[0]


def kinds(results: list[ClaimResult]) -> list[list[FindingKind]]:
    return [[f.kind for f in lr.findings] for r in results for lr in r.lines]


# --- one example per finding kind -------------------------------------------------------------


def test_a_line_matching_its_authorization_in_every_respect_is_ok() -> None:
    finding = only([claim()], [record()])
    assert finding.kind is FindingKind.OK
    assert finding.severity is Severity.INFO
    assert finding.message == "Matches authorization AUTH1."
    assert finding.authorization_number == "AUTH1"


def test_a_service_the_rules_do_not_require_is_not_checked_against_any_number() -> None:
    finding = only(
        [claim(authorization_numbers=("NOT-ON-FILE",))], [], decision=Decision.NOT_REQUIRED
    )
    assert finding.kind is FindingKind.NOT_REQUIRED
    assert finding.severity is Severity.INFO


def test_a_required_service_without_any_authorization_is_an_error_saying_to_obtain_one() -> None:
    finding = only([claim(authorization_numbers=())], [])
    assert finding.kind is FindingKind.MISSING_AUTHORIZATION
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "The payer requires an authorization for this service and none is on file."
    )
    assert finding.fix.startswith("Obtain the authorization")


def test_a_conditional_or_notification_service_without_authorization_is_a_warning() -> None:
    conditional = only([claim(authorization_numbers=())], [], decision=Decision.CONDITIONAL)
    notification = only([claim(authorization_numbers=())], [], decision=Decision.NOTIFICATION)
    assert (conditional.kind, conditional.severity) == (
        FindingKind.MISSING_AUTHORIZATION,
        Severity.WARNING,
    )
    assert "may require an authorization" in conditional.message
    assert "may require a notification" in notification.message


def test_an_approval_for_another_code_names_the_approved_code_and_asks_for_an_update() -> None:
    finding = only([claim(line(code="70553"))], [record()])
    assert finding.kind is FindingKind.CODE_NOT_AUTHORIZED
    assert finding.severity is Severity.ERROR
    assert finding.message == "Approved 70551, billed 70553 (authorization AUTH1)."
    assert finding.fix == (
        "Request an update of authorization AUTH1 to 70553 before billing, "
        "or correct the code if 70551 was performed."
    )


def test_a_service_after_the_window_says_how_many_days_while_the_approval_is_current() -> None:
    late = line(from_date=dt.date(2027, 4, 2), to_date=dt.date(2027, 4, 2))
    finding = only([claim(late)], [record()], today=dt.date(2027, 3, 20))
    assert finding.kind is FindingKind.OUTSIDE_DATE_WINDOW
    assert finding.message == (
        "Authorization AUTH1 (valid 2027-01-15 to 2027-03-31) ends 2 days before the date of "
        "service (2027-04-02)."
    )


def test_a_service_before_the_window_starts_says_how_many_days() -> None:
    early = line(from_date=dt.date(2027, 1, 14), to_date=dt.date(2027, 1, 14))
    finding = only([claim(early)], [record()])
    assert finding.kind is FindingKind.OUTSIDE_DATE_WINDOW
    assert "starts 1 day after the date of service (2027-01-14)" in finding.message
    assert finding.fix.startswith("Check the date of service")


def test_a_service_after_an_end_date_that_has_passed_is_an_expired_authorization() -> None:
    late = line(from_date=dt.date(2027, 4, 2), to_date=dt.date(2027, 4, 2))
    finding = only([claim(late)], [record()], today=dt.date(2027, 4, 10))
    assert finding.kind is FindingKind.AUTHORIZATION_EXPIRED
    assert finding.message == (
        "Authorization AUTH1 expired on 2027-03-31, 2 days before the date of service (2027-04-02)."
    )
    assert finding.fix.startswith("Request a new authorization")


def test_an_expired_record_still_covers_a_service_inside_its_window() -> None:
    finding = only([claim()], [record(status=AuthorizationStatus.EXPIRED)])
    assert finding.kind is FindingKind.OK


def test_an_expired_record_without_an_end_date_is_expired() -> None:
    expired = record(status=AuthorizationStatus.EXPIRED, valid_to=None)
    finding = only([claim()], [expired])
    assert finding.kind is FindingKind.AUTHORIZATION_EXPIRED


def test_units_beyond_the_approval_name_approved_used_and_this_line() -> None:
    therapy = record(codes=frozenset({"97110"}), units={"97110": 10})
    ledger = UnitsLedger({("AUTH1", "97110"): 8})
    finding = only([claim(line(code="97110", units=4))], [therapy], ledger=ledger)
    assert finding.kind is FindingKind.UNITS_EXCEEDED
    assert finding.message == (
        "Authorization AUTH1 approved 10 units of 97110; 8 were used before this line, "
        "which bills 4."
    )
    assert (
        finding.fix
        == "Request more units (an extension) before billing, or bill the 2 that remain."
    )
    assert ledger.usage() == {("AUTH1", "97110"): 10}


def test_a_different_rendering_provider_is_a_warning_naming_both_npis() -> None:
    finding = only([claim(rendering_npi=OTHER_NPI)], [record()])
    assert finding.kind is FindingKind.PROVIDER_MISMATCH
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        f"Authorization AUTH1 names rendering provider NPI {RENDERING}; "
        f"the claim's rendering provider is NPI {OTHER_NPI}."
    )


def test_without_a_rendering_provider_the_billing_provider_rendered_the_service() -> None:
    finding = only([claim(rendering_npi=None)], [record(rendering_npi=BILLING)])
    assert finding.kind is FindingKind.OK
    mismatch = only([claim(rendering_npi=None)], [record()])
    assert mismatch.kind is FindingKind.PROVIDER_MISMATCH
    assert f"is NPI {BILLING}" in mismatch.message


def test_a_line_rendering_provider_overrides_the_claims() -> None:
    finding = only([claim(line(rendering_npi=OTHER_NPI))], [record(rendering_npi=OTHER_NPI)])
    assert finding.kind is FindingKind.OK


def test_a_different_service_facility_is_a_warning() -> None:
    finding = only([claim(line(facility_npi=OTHER_NPI))], [record()])
    assert finding.kind is FindingKind.FACILITY_MISMATCH
    assert f"names facility NPI {FACILITY}" in finding.message


def test_an_inpatient_precertification_does_not_cover_an_outpatient_claim() -> None:
    finding = only([claim()], [record(setting=Setting.INPATIENT)])
    assert finding.kind is FindingKind.SETTING_MISMATCH
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "Authorization AUTH1 is an inpatient precertification; "
        "this claim is for an outpatient service."
    )
    assert finding.fix == "Request an outpatient preauthorization for the service before billing."


def test_an_outpatient_authorization_does_not_cover_an_inpatient_claim() -> None:
    finding = only([claim(setting=Setting.INPATIENT)], [record(setting=Setting.OUTPATIENT)])
    assert finding.kind is FindingKind.SETTING_MISMATCH
    assert "this claim is inpatient" in finding.message


def test_a_claim_without_the_number_is_fixable_with_the_number_to_insert() -> None:
    finding = only([claim(authorization_numbers=())], [record()])
    assert finding.kind is FindingKind.NUMBER_MISSING_ON_CLAIM
    assert finding.severity is Severity.ERROR
    assert finding.authorization_number == "AUTH1"
    assert finding.fix == "Add REF*G1*AUTH1 to the claim before billing."


def test_a_missing_number_comes_with_the_records_other_problems() -> None:
    [result] = check([claim(line(code="70553"), authorization_numbers=())], [record()])
    assert kinds([result]) == [
        [FindingKind.NUMBER_MISSING_ON_CLAIM, FindingKind.CODE_NOT_AUTHORIZED]
    ]


def test_a_wrong_number_names_the_number_on_file() -> None:
    finding = only([claim(authorization_numbers=("AUTH9",))], [record()])
    assert finding.kind is FindingKind.NUMBER_MISMATCH_ON_CLAIM
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "The claim carries authorization number AUTH9, but authorization AUTH1 is the one on "
        "file for this service."
    )
    assert finding.fix.startswith("Replace AUTH9 with AUTH1")
    assert finding.authorization_number == "AUTH1"


def test_a_number_not_on_file_without_any_candidate_is_a_warning_to_verify() -> None:
    finding = only([claim(authorization_numbers=("AUTH9",))], [])
    assert finding.kind is FindingKind.NUMBER_MISMATCH_ON_CLAIM
    assert finding.severity is Severity.WARNING
    assert finding.authorization_number == "AUTH9"
    assert finding.fix.startswith("Verify the number with the payer")


def test_a_number_on_file_for_another_service_points_to_the_one_that_fits() -> None:
    mri = record(number="AUTH2", codes=frozenset({"70553"}))
    finding = only([claim(line(code="70553"))], [record(), mri])
    assert finding.kind is FindingKind.NUMBER_MISMATCH_ON_CLAIM
    assert finding.fix.startswith("Replace AUTH1 with AUTH2")


def test_a_denied_authorization_is_an_error_saying_to_appeal() -> None:
    finding = only([claim()], [record(status=AuthorizationStatus.DENIED)])
    assert finding.kind is FindingKind.AUTHORIZATION_DENIED
    assert finding.message == "The payer denied authorization AUTH1."
    assert "appeal" in finding.fix


def test_a_code_the_payer_refused_on_a_partial_approval_is_denied() -> None:
    partial = record(
        status=AuthorizationStatus.PARTIALLY_APPROVED,
        codes=frozenset({"70551"}),
        denied_codes=frozenset({"70553"}),
    )
    finding = only([claim(line(code="70553"))], [partial])
    assert finding.kind is FindingKind.AUTHORIZATION_DENIED
    assert finding.message == "The payer refused 70553 on authorization AUTH1."


def test_a_pending_authorization_holds_the_claim() -> None:
    finding = only([claim()], [record(status=AuthorizationStatus.PENDING)])
    assert finding.kind is FindingKind.AUTHORIZATION_PENDING
    assert finding.fix.startswith("Hold the claim until the payer decides")


def test_a_cancelled_authorization_leaves_the_service_without_one() -> None:
    finding = only([claim()], [record(status=AuthorizationStatus.CANCELLED)])
    assert finding.kind is FindingKind.MISSING_AUTHORIZATION
    assert finding.message == "Authorization AUTH1 was cancelled, so nothing covers this service."


def test_unknown_rules_without_any_record_say_verify_with_the_payer() -> None:
    finding = only([claim(authorization_numbers=())], [], decision=Decision.UNKNOWN)
    assert finding.kind is FindingKind.UNKNOWN
    assert finding.severity is Severity.WARNING
    assert finding.fix.startswith("Verify with the payer")


def test_unknown_rules_with_a_matching_record_check_the_record() -> None:
    assert only([claim()], [record()], decision=Decision.UNKNOWN).kind is FindingKind.OK


# --- choosing the record ----------------------------------------------------------------------


def test_records_of_other_members_or_payers_are_not_candidates() -> None:
    others = [record(member_id="ZZ-SYNTH-002"), record(payer_id="other")]
    finding = only([claim(authorization_numbers=())], others)
    assert finding.kind is FindingKind.MISSING_AUTHORIZATION


def test_the_number_on_the_line_wins_over_the_claims() -> None:
    records = [record(), record(number="AUTH2", codes=frozenset({"70553"}))]
    lines = (line(1), line(2, code="70553", authorization_numbers=("AUTH2",)))
    results = check([claim(*lines)], records)
    assert [f.authorization_number for lr in results[0].lines for f in lr.findings] == [
        "AUTH1",
        "AUTH2",
    ]
    assert kinds(results) == [[FindingKind.OK], [FindingKind.OK]]


def test_a_number_typed_in_lower_case_or_with_spaces_is_the_same_number() -> None:
    assert only([claim(authorization_numbers=(" auth1 ",))], [record()]).kind is FindingKind.OK


def test_without_a_number_the_record_for_the_code_wins_over_one_for_the_dates_only() -> None:
    ct = record(number="AUTH0", codes=frozenset({"70450"}))
    finding = only([claim(authorization_numbers=())], [ct, record()])
    assert finding.authorization_number == "AUTH1"


def test_a_record_for_another_code_and_other_dates_is_not_related() -> None:
    old = record(codes=frozenset({"70450"}), valid_to=dt.date(2026, 12, 31))
    finding = only([claim(authorization_numbers=())], [old])
    assert finding.kind is FindingKind.MISSING_AUTHORIZATION


def test_between_equal_records_the_latest_start_then_the_smallest_number_wins() -> None:
    older = record(number="AUTH5", valid_from=dt.date(2027, 1, 1))
    newer = record(number="AUTH7", valid_from=dt.date(2027, 1, 20))
    twin = record(number="AUTH6", valid_from=dt.date(2027, 1, 20))
    for order in ([older, newer, twin], [twin, newer, older]):
        assert only([claim(authorization_numbers=())], order).authorization_number == "AUTH6"


def test_a_record_with_units_left_wins_over_one_used_up() -> None:
    used_up = record(number="AUTH1", total_units=2)
    fresh = record(number="AUTH2", total_units=2, valid_from=dt.date(2027, 1, 1))
    ledger = UnitsLedger({("AUTH1", ANY_CODE): 2})
    finding = only([claim(authorization_numbers=())], [used_up, fresh], ledger=ledger)
    assert finding.authorization_number == "AUTH2"


def test_the_index_can_be_built_once_and_passed_in() -> None:
    index = AuthorizationIndex([record(), record(number="AUTH2")])
    assert len(index) == 2
    results = list(
        check_claims(
            [claim()],
            requirement=lambda c, ln: Decision.REQUIRED,
            authorizations=index,
            ledger=UnitsLedger(),
            today=TODAY,
        )
    )
    assert kinds(results) == [[FindingKind.OK]]


# --- the units ledger across claims -----------------------------------------------------------


def test_units_are_counted_across_claims_in_file_order() -> None:
    therapy = record(codes=frozenset({"97110"}), total_units=5)
    claims = [
        claim(line(code="97110", units=3), claim_id="A"),
        claim(line(code="97110", units=3), claim_id="B"),
        claim(line(code="97110", units=1), claim_id="C"),
    ]
    ledger = UnitsLedger()
    results = check(claims, [therapy], ledger=ledger)
    # B takes the 2 units that remain (and is flagged), so nothing is left for C.
    assert kinds(results) == [
        [FindingKind.OK],
        [FindingKind.UNITS_EXCEEDED],
        [FindingKind.UNITS_EXCEEDED],
    ]
    assert results[1].lines[0].findings[0].message == (
        "Authorization AUTH1 approved 5 units; 3 were used before this line, which bills 3."
    )
    assert "5 were used before this line, which bills 1" in results[2].lines[0].findings[0].message
    assert ledger.usage() == {("AUTH1", ANY_CODE): 5}


def test_a_line_with_nothing_left_is_told_to_hold() -> None:
    therapy = record(codes=frozenset({"97110"}), total_units=2)
    claims = [claim(line(code="97110", units=2), claim_id="A"), claim(line(code="97110"))]
    results = check(claims, [therapy])
    finding = results[1].lines[0].findings[0]
    assert finding.fix == "Request more units (an extension) before billing, or hold the line."


def test_per_code_units_are_counted_per_code_and_the_total_for_the_others() -> None:
    therapy = record(codes=frozenset({"97110", "97112"}), units={"97110": 2}, total_units=3)
    lines = (line(1, code="97110", units=2), line(2, code="97112", units=3))
    ledger = UnitsLedger()
    assert kinds(check([claim(*lines)], [therapy], ledger=ledger)) == [
        [FindingKind.OK],
        [FindingKind.OK],
    ]
    assert ledger.usage() == {("AUTH1", "97110"): 2, ("AUTH1", ANY_CODE): 3}


def test_lines_that_cannot_be_billed_against_the_record_use_no_units() -> None:
    therapy = record(codes=frozenset({"97110"}), total_units=5)
    late = line(code="97110", units=5, from_date=dt.date(2027, 4, 2), to_date=dt.date(2027, 4, 2))
    ledger = UnitsLedger()
    check([claim(late), claim(line(code="97112", units=5))], [therapy], ledger=ledger)
    assert ledger.usage() == {}


def test_a_replacement_replaces_the_units_of_its_original_in_the_same_file() -> None:
    therapy = record(codes=frozenset({"97110"}), total_units=5)
    claims = [
        claim(line(code="97110", units=4), claim_id="A"),
        claim(line(code="97110", units=5), claim_id="A", frequency="7"),
    ]
    ledger = UnitsLedger()
    assert kinds(check(claims, [therapy], ledger=ledger)) == [[FindingKind.OK], [FindingKind.OK]]
    assert ledger.usage() == {("AUTH1", ANY_CODE): 5}


def test_a_void_is_not_checked_and_gives_back_the_units_of_its_original() -> None:
    therapy = record(codes=frozenset({"97110"}), total_units=5)
    claims = [
        claim(line(code="97110", units=4), claim_id="A"),
        claim(line(code="97110", units=4), claim_id="A", frequency="8"),
        claim(line(code="97110", units=5), claim_id="B"),
    ]
    ledger = UnitsLedger()
    results = check(claims, [therapy], ledger=ledger)
    assert kinds(results) == [[FindingKind.OK], [FindingKind.OK], [FindingKind.OK]]
    assert results[1].lines[0].findings[0].message.startswith("Void claim (frequency 8)")
    assert ledger.usage() == {("AUTH1", ANY_CODE): 5}


def test_units_used_in_earlier_files_count_before_this_file() -> None:
    therapy = record(codes=frozenset({"97110"}), units={"97110": 6})
    ledger = UnitsLedger({("AUTH1", "97110"): 6})
    finding = only([claim(line(code="97110", units=1))], [therapy], ledger=ledger)
    assert finding.kind is FindingKind.UNITS_EXCEEDED
    assert "6 were used before this line, which bills 1" in finding.message


def test_no_finding_message_names_the_member() -> None:
    records = [record(status=s) for s in AuthorizationStatus]
    claims = [claim(line(code=code)) for code in ("70551", "70553")]
    for recs in ([], *([r] for r in records)):
        for result in check(claims, recs):
            for lr in result.lines:
                for f in lr.findings:
                    assert MEMBER not in f.message + f.fix
