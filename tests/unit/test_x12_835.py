"""The 835 reader (channels/x12/tx835.py): every corpus remittance parses with its payments,
adjustments and remark codes; variants derived from them (CAS*CO*197/198/39, LQ*HE*N54, MOA M62,
CLP02 4) are classified by cause; a malformed claim payment is reported, located, and every other
claim is still read; and the JSON view carries no patient names."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.channels.x12.tx835 import Remittances835, read_remittances
from precert.channels.x12.tx835_view import code_descriptions, remittance_view
from precert.domain.remittances import AdjustmentGroup, DenialCause, classify, classify_line
from precert.errors import InvalidInput

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "lfh-x12-5010-samples"
CORPUS = SAMPLES / "835_005010X221A1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12" / "835"
DENIALS = FIXTURES / "authorization-denials.835"
# The corpus samples carry sample patients' names; our derived variants must not show them.
SAMPLE_NAMES = ("BUDD", "SETTLE", "BURCK", "JONES", "BORDER", "TOWNSEND", "BAKI", "ISLAND")


def corpus(name: str) -> str:
    return (CORPUS / name).read_text()


def recount(text: str) -> str:
    """`text` (one transaction set) with SE01 made right again after a variant added segments."""
    segments = [s.strip() for s in text.split("~") if s.strip()]
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    control = segments[end].split("*")[2]
    segments[end] = f"SE*{end - start + 1}*{control}"
    return "~\n".join(segments) + "~\n"


def synthetic(text: str) -> str:
    """A corpus file with its sample patients' names and member ids replaced."""
    text = re.sub(r"NM1\*QC\*1\*[^*~]*\*[^*~]*", "NM1*QC*1*TESTPATIENT*SYN", text)
    return re.sub(r"(\*MI\*)[^~*]+", r"\1SYNMEMBER", text)


def read_ok(text: str) -> Remittances835:
    result = read_remittances(text)
    assert result.errors == (), result.errors
    return result


# -- the corpus --------------------------------------------------------------------------------


def test_every_corpus_835_parses() -> None:
    files = sorted(CORPUS.glob("*.835"))
    assert len(files) == 5
    for path in files:
        result = read_remittances(path.read_text())
        assert len(result.remittances) == 1, path.name
        assert list(result.claims()), path.name
        # The only error in the corpus is managed-care's BPR16, which pyx12 also refuses.
        expected = ["x12.835.date"] if path.name == "managed-care.835" else []
        assert [e.code for e in result.errors] == expected, path.name


def test_a_managed_care_remittance_gives_payments_adjustments_and_service_periods() -> None:
    result = read_remittances(corpus("managed-care.835"))
    assert result.errors[0].location == "ISA/GS[1]/ST[1]/segment 2 (BPR) element 16"
    assert result.errors[0].message == (
        "BPR16 must be a date as CCYYMMDD, found '20002316'; the value was left out (the claim "
        "payments were still read)."
    )
    (remit,) = result.remittances
    assert (remit.payer_id, remit.payer_name) == ("1935665544", "RUSHMORE LIFE")
    assert remit.payee_npi == "5544667733"
    assert (remit.check_number, remit.payment_method) == ("7170066655", "ACH")
    assert remit.total_paid == Decimal("945.00")
    assert remit.payment_date is None  # the unreadable BPR16
    assert remit.production_date == dt.date(2002, 3, 14)
    first, second = remit.claims
    assert (first.claim_id, first.status, first.payer_claim_number) == (
        "5554555444",
        "1",
        "94060555410000",
    )
    assert (first.charge, first.paid, first.patient_responsibility) == (
        Decimal("800.00"),
        Decimal("450.00"),
        Decimal("300.00"),
    )
    assert first.member_id == "33344555510"
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [
        (AdjustmentGroup.CO, "A2", Decimal("50.00"))
    ]
    (svc,) = first.lines
    assert (svc.qualifier, svc.code, svc.charge, svc.paid) == (
        "HC",
        "99211",
        Decimal("800.00"),
        Decimal("500.00"),
    )
    assert (svc.from_date, svc.to_date) == (dt.date(2002, 3, 1), dt.date(2002, 3, 4))
    assert [a.reason for a in second.lines[0].adjustments] == ["1", "45"]
    assert [classify(c) for c in remit.claims] == [DenialCause.PAID, DenialCause.PAID]


def test_an_institutional_remittance_without_lines_reads_claim_level_codes() -> None:
    (remit,) = read_ok(corpus("medicare-part-a.835")).remittances
    assert remit.payer_id == "999"  # REF*2U of the payer loop
    assert remit.payment_date == dt.date(2002, 9, 13)
    first, second = remit.claims
    assert (first.facility_code, first.frequency, first.lines) == ("11", "1", ())
    assert (first.from_date, first.to_date) == (dt.date(2002, 8, 16), dt.date(2002, 8, 24))
    assert second.remarks == ("MA02",)
    assert [(p.reason, p.reference, p.amount) for p in remit.provider_adjustments] == [
        ("CV", "CP", Decimal("-1.27"))
    ]
    assert classify(first) == DenialCause.PAID  # CO-45 is a contractual write-off


def test_a_secondary_remittance_reads_modifiers_quantities_and_line_dates() -> None:
    result = read_ok(corpus("secondary-payment.835"))
    _, claim = result.remittances[0].claims
    first, second = claim.lines
    assert (first.code, first.modifiers, first.units) == ("12345", ("26",), Decimal("1.00"))
    assert first.from_date == first.to_date == dt.date(2005, 1, 6)
    assert second.revenue_code == "220"
    assert [(a.reason, a.amount, a.quantity) for a in second.adjustments] == [
        ("1", Decimal("150.00"), None),
        ("2", Decimal("70.00"), None),
        ("42", Decimal("85.00"), None),
    ]


def test_a_composite_written_with_another_separator_is_read_with_a_warning() -> None:
    result = read_ok(corpus("cob-contractural-adjustment.835"))
    (line,) = result.remittances[0].claims[0].lines
    assert (line.qualifier, line.code) == ("HC", "55669")
    assert [a.amount for a in line.adjustments] == [Decimal("516.00"), Decimal("-9.00")]
    (warning,) = result.warnings
    assert warning.location == "ISA/GS[1]/ST[1]/segment 19 (SVC) element 01"
    assert "declares ':' (ISA16)" in warning.message


def test_a_line_without_a_procedure_code_is_read_with_a_warning() -> None:
    result = read_ok(corpus("tertiary-payment.835"))
    (line,) = result.remittances[0].claims[0].lines
    assert line.code == ""
    assert [w.code for w in result.warnings] == ["x12.835.no_code"]


# -- denial variants ---------------------------------------------------------------------------


MANAGED_LINE_CAS = "CAS*PR*1*300.00~"  # the first claim's only line adjustment


def managed_care_variant(line_segments: str, *, status: str = "1", moa: str = "") -> str:
    text = synthetic(corpus("managed-care.835"))
    text = text.replace("*20002316~", "*20020316~")  # a readable BPR16 for the variants
    text = text.replace(MANAGED_LINE_CAS, line_segments, 1)
    text = text.replace("CLP*5554555444*1*", f"CLP*5554555444*{status}*", 1)
    if moa:
        text = text.replace("CAS*CO*A2*50.00~", f"CAS*CO*A2*50.00~\n{moa}~", 1)
    return recount(text)


@pytest.mark.parametrize(
    ("line_segments", "status", "moa", "expected"),
    [
        ("CAS*CO*197*300.00~", "1", "", DenialCause.AUTHORIZATION_ABSENT),
        ("CAS*CO*198*300.00*2~", "1", "", DenialCause.AUTHORIZATION_EXCEEDED),
        ("CAS*CO*39*300.00~", "1", "", DenialCause.AUTHORIZATION_DENIED),
        ("CAS*CO*16*300.00~\nLQ*HE*N54~", "4", "", DenialCause.AUTHORIZATION_MISMATCH),
        ("CAS*CO*15*300.00~\nLQ*HE*N54~", "1", "", DenialCause.AUTHORIZATION_MISMATCH),
        ("CAS*CO*16*300.00~", "4", "MOA***M62", DenialCause.AUTHORIZATION_ABSENT),
        ("CAS*CO*50*300.00~", "4", "", DenialCause.NOT_AUTHORIZATION),
        (MANAGED_LINE_CAS, "1", "", DenialCause.PAID),
    ],
)
def test_derived_denials_are_classified_by_cause(
    line_segments: str, status: str, moa: str, expected: DenialCause
) -> None:
    result = read_ok(managed_care_variant(line_segments, status=status, moa=moa))
    first, second = result.remittances[0].claims
    assert classify(first) == expected
    assert classify_line(first.lines[0], first) == expected
    assert classify(second) == DenialCause.PAID


def test_the_denials_fixture_has_one_claim_per_cause() -> None:
    result = read_ok(DENIALS.read_text())
    (remit,) = result.remittances
    assert remit.payer_id == "SYNPAYER01"  # N1*PR N104 with XV wins over REF*2U
    assert remit.payee_npi == "1234567893"
    causes = {c.claim_id: classify(c) for c in remit.claims}
    assert causes == {
        "SYN-ABSENT-1": DenialCause.AUTHORIZATION_ABSENT,
        "SYN-EXCEEDED-2": DenialCause.AUTHORIZATION_EXCEEDED,
        "SYN-DENIED-3": DenialCause.AUTHORIZATION_DENIED,
        "SYN-MISMATCH-4": DenialCause.AUTHORIZATION_MISMATCH,
        "SYN-REMARK-5": DenialCause.AUTHORIZATION_ABSENT,
        "SYN-OTHER-6": DenialCause.NOT_AUTHORIZATION,
        "SYN-PAID-7": DenialCause.PAID,
    }
    by_id = {c.claim_id: c for c in remit.claims}
    assert by_id["SYN-ABSENT-1"].lines[0].control_number == "LINE0001"
    assert by_id["SYN-ABSENT-1"].lines[0].remarks == ("N210",)
    assert by_id["SYN-EXCEEDED-2"].authorization_numbers == ("AUTH22222",)
    assert by_id["SYN-EXCEEDED-2"].lines[0].modifiers == ("GP",)
    assert by_id["SYN-EXCEEDED-2"].lines[0].adjustments[0].quantity == Decimal("2")
    # NM1*IL (the subscriber) is the member when the patient is a dependent.
    assert by_id["SYN-DENIED-3"].member_id == "SYNMEM0003"
    assert by_id["SYN-REMARK-5"].remarks == ("M62",)


def test_pyx12_accepts_the_denials_fixture(tmp_path: Path) -> None:
    from pyx12 import params, x12n_document

    copy = tmp_path / DENIALS.name  # pyx12 writes its 997 beside the file it reads
    copy.write_bytes(DENIALS.read_bytes())
    with copy.open() as source:
        assert x12n_document.x12n_document(params.params(), source, io.StringIO(), None, None)


# -- malformed input ---------------------------------------------------------------------------


def test_a_malformed_claim_payment_is_located_and_the_others_are_still_read() -> None:
    text = DENIALS.read_text().replace("CLP*SYN-DENIED-3*4*2400.00*", "CLP*SYN-DENIED-3*4*24OO.00*")
    result = read_remittances(text)
    (error,) = result.errors
    assert error.code == "x12.835.amount"
    assert error.location == "ISA/GS[1]/ST[1]/segment 28 (CLP) element 03"
    assert error.message == (
        "CLP03 must be an amount like 125.50, found '24OO.00'; this claim payment was not read."
    )
    ids = [c.claim_id for c in result.claims()]
    assert ids == [
        "SYN-ABSENT-1",
        "SYN-EXCEEDED-2",
        "SYN-MISMATCH-4",
        "SYN-REMARK-5",
        "SYN-OTHER-6",
        "SYN-PAID-7",
    ]


@pytest.mark.parametrize(
    ("old", "new", "code", "location"),
    [
        (
            "CAS*CO*198*300.00*2~",
            "CAS*XX*198*300.00*2~",
            "x12.835.cas_group",
            "26 (CAS) element 01",
        ),
        ("CAS*CO*198*300.00*2~", "CAS*CO**300.00~", "x12.835.cas_reason", "26 (CAS) element 02"),
        ("CAS*CO*198*300.00*2~", "CAS*CO*198~", "x12.835.missing", "26 (CAS) element 03"),
        ("DTM*472*20300106~", "DTM*472*20301306~", "x12.835.date", "25 (DTM) element 02"),
        ("CLP*SYN-EXCEEDED-2*1*", "CLP**1*", "x12.835.claim_id", "21 (CLP) element 01"),
        (
            "CLP*SYN-EXCEEDED-2*1*",
            "CLP*SYN-EXCEEDED-2*9*",
            "x12.835.claim_status",
            "21 (CLP) element 02",
        ),
        (
            "SVC*HC:97110:GP*900.00*",
            "SVC*HC:97110:GP*nine*",
            "x12.835.amount",
            "24 (SVC) element 02",
        ),
    ],
)
def test_each_kind_of_malformed_claim_is_reported_where_it_is(
    old: str, new: str, code: str, location: str
) -> None:
    result = read_remittances(DENIALS.read_text().replace(old, new))
    assert [(e.code, e.location) for e in result.errors] == [
        (code, f"ISA/GS[1]/ST[1]/segment {location}")
    ]
    ids = [c.claim_id for c in result.claims()]
    assert "SYN-EXCEEDED-2" not in ids
    assert len(ids) == 6


def test_no_message_carries_patient_data() -> None:
    text = DENIALS.read_text().replace("CLP*SYN-EXCEEDED-2*1*900.00", "CLP*SYN-EXCEEDED-2*1*x")
    result = read_remittances(text)
    for found in (*result.errors, *result.warnings):
        assert "SYNMEM" not in found.message and "TESTPATIENT" not in found.message
        assert "SYN-EXCEEDED" not in found.message  # the patient control number


def test_a_wrong_segment_count_is_an_error_but_the_payments_are_kept() -> None:
    text = DENIALS.read_text().replace("SE*59*0001", "SE*50*0001")
    result = read_remittances(text)
    (error,) = result.errors
    assert error.location == "ISA/GS[1]/ST[1]/segment 59 (SE) element 01"
    assert "SE01 says 50 segments but the set has 59" in error.message
    assert len(list(result.claims())) == 7


def test_a_file_cut_off_inside_a_claim_keeps_the_claims_before_it() -> None:
    text = DENIALS.read_text()
    text = text[: text.index("CAS*CO*39*2400.00~")]
    result = read_remittances(text)
    assert [e.code for e in result.errors] == ["x12.835.cut_off", "x12.835.no_se"]
    assert result.errors[0].location == "ISA/GS[1]/ST[1]/segment 28 (CLP)"
    assert [c.claim_id for c in result.claims()] == ["SYN-ABSENT-1", "SYN-EXCEEDED-2"]
    assert [w.code for w in result.warnings] == ["x12.835.no_trailer"]


def test_several_sets_give_several_remittances_and_a_foreign_set_is_skipped() -> None:
    text = DENIALS.read_text()
    start, end = text.index("ST*835*0001~"), text.index("GE*")
    one = text[start:end]
    two = one.replace("ST*835*0001~", "ST*835*0002~").replace("SE*59*0001~", "SE*59*0002~")
    other = "ST*999*0003~\nAK1*HC*1~\nSE*3*0003~\n"
    text = text[:start] + one + two + other + text[end:].replace("GE*1*", "GE*3*")
    result = read_remittances(text)
    assert [r.transaction for r in result.remittances] == ["0001", "0002"]
    assert [(e.code, e.location) for e in result.errors] == [("x12.835.not_835", "ISA/GS[1]/ST[3]")]


def test_text_that_is_not_x12_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        read_remittances("CLP*1*1*10*10~")
    assert raised.value.issues[0].code == "x12.no_isa"


# -- fuzz --------------------------------------------------------------------------------------

BODY_START = DENIALS.read_text().index("BPR*")
BODY_END = DENIALS.read_text().index("SE*59")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.integers(min_value=BODY_START, max_value=BODY_END - 1),
    cut=st.integers(min_value=0, max_value=12),
    junk=st.text(alphabet="0123456789.-ABCXYZ*:~\n ", max_size=12),
)
def test_any_damage_to_the_body_is_reported_never_raised(at: int, cut: int, junk: str) -> None:
    text = DENIALS.read_text()
    damaged = text[:at] + junk + text[at + cut :]
    result = read_remittances(damaged)
    for found in (*result.errors, *result.warnings):
        assert found.location.startswith("ISA"), found
    for claim in result.claims():
        classify(claim)  # every claim that was read can be classified


@settings(max_examples=100, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("-99999999.99"),
        max_value=Decimal("99999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_amounts_are_read_exactly(amount: Decimal) -> None:
    text = DENIALS.read_text().replace("CAS*CO*198*300.00*2~", f"CAS*CO*198*{amount}*2~")
    result = read_ok(text)
    exceeded = next(c for c in result.claims() if c.claim_id == "SYN-EXCEEDED-2")
    assert exceeded.lines[0].adjustments[0].amount == amount


# -- the JSON view -----------------------------------------------------------------------------


def test_the_view_is_json_without_patient_names() -> None:
    (remit,) = read_ok(DENIALS.read_text()).remittances
    view = remittance_view(remit, descriptions=code_descriptions())
    shown = json.dumps(view)
    assert "TESTPATIENT" not in shown and "TESTSUBSCRIBER" not in shown
    assert view["summary"] == {
        "claims": 7,
        "denied": 6,
        "authorization_related": 5,
        "charged": "6850.00",
        "paid": "1210.00",
    }
    claims = view["claims"]
    assert isinstance(claims, list)
    first = claims[0]
    assert first["cause"] == "authorization_absent"
    assert first["lines"][0]["adjustments"][0] == {
        "group": "CO",
        "reason": "197",
        "amount": "1500.00",
        "quantity": None,
        "description": "Precertification/authorization/notification/pre-treatment absent.",
    }
    assert first["lines"][0]["remarks"] == [
        {"code": "N210", "description": "Alert: You may appeal this decision."}
    ]
    assert view["payment"] == {
        "check_number": "SYNCHK0001",
        "method": "CHK",
        "amount": "1200.00",
        "date": "2030-01-15",
        "production_date": "2030-01-14",
    }


def test_the_view_of_corpus_remittances_shows_no_sample_names() -> None:
    for path in sorted(CORPUS.glob("*.835")):
        for remit in read_remittances(path.read_text()).remittances:
            shown = json.dumps(remittance_view(remit))
            assert not any(name in shown for name in SAMPLE_NAMES), path.name
