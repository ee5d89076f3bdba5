"""The 837P/837I reader: every corpus sample, our synthetic variants, located errors for bad claims
while the other claims are still read, and a fuzz run that may only ever produce our errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.channels.x12.tx837 import LINE_FIELDS, ClaimError, Claims837, read_claims
from precert.domain.claims import ClaimKind, ClaimLine, Setting
from precert.errors import Issue

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "lfh-x12-5010-samples"
FIXTURES = ROOT / "tests" / "fixtures" / "x12" / "837"
SAMPLES = sorted(CORPUS.glob("837_*/*"))
PROFESSIONAL = FIXTURES / "professional_auth.837"
INSTITUTIONAL = FIXTURES / "institutional_statement.837i"


def _text(path: Path) -> str:
    return path.read_text()


def _replace_segment(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_there_are_837p_and_837i_samples_in_the_corpus() -> None:
    kinds = {path.parent.name for path in SAMPLES}
    assert kinds == {"837_005010X222A2", "837_005010X223A3"}
    assert len(SAMPLES) == 22


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_corpus_sample_reads_without_errors(path: Path) -> None:
    result = read_claims(_text(path))
    assert result.errors == []
    assert result.claims
    institutional = "X223" in path.parent.name
    for claim in result.claims:
        assert claim.kind is (ClaimKind.INSTITUTIONAL if institutional else ClaimKind.PROFESSIONAL)
        assert claim.claim_id and claim.member_id and claim.payer_id
        assert claim.lines and claim.total_charge > 0
        for line in claim.lines:
            assert line.code and line.units >= 0 and line.from_date <= line.to_date
            assert line.position > claim.position
            if institutional:
                assert line.revenue_code.isdigit()


def test_837p_sample_lines_get_their_diagnoses_through_the_sv107_pointers() -> None:
    (claim,) = read_claims(_text(CORPUS / "837_005010X222A2" / "demo.example1.837")).claims
    assert claim.claim_id == "26463774"
    assert claim.diagnoses == ("0340", "V7389")
    assert [(line.code, line.diagnoses) for line in claim.lines] == [
        ("99213", ("0340",)),
        ("87070", ("0340",)),
        ("99214", ("V7389",)),
        ("86663", ("V7389",)),
    ]
    assert claim.lines[2].from_date == dt.date(2006, 10, 10)
    assert claim.lines[0].charge == Decimal("40.00")
    assert claim.billing_npi == "1912301953"
    assert claim.payer_id == "999996666" and claim.payer_name == "KEY INSURANCE COMPANY"


def test_837i_sample_with_two_claims_gives_revenue_codes_and_hcpcs() -> None:
    result = read_claims(_text(CORPUS / "837_005010X223A3" / "two-claims-single-provider.837i"))
    first, second = result.claims
    assert (first.claim_id, second.claim_id) == ("756048Q", "756049Q")
    assert first.bill_type == "131" and first.setting is Setting.OUTPATIENT
    assert [(line.revenue_code, line.code, line.units) for line in first.lines] == [
        ("0305", "85025", 1),
        ("0730", "93005", 3),
    ]
    assert first.attending_npi == "1122334455"
    assert second.member_id != first.member_id


def test_composites_written_with_another_separator_than_isa16_still_read() -> None:
    # The LFH sample declares ':' in ISA16 and writes "13>A>1" and "HC>82270".
    path = CORPUS / "837_005010X223A3" / "out-of-network-repriced-claim.837i"
    (claim,) = read_claims(_text(path)).claims
    assert (claim.facility_code, claim.bill_type, claim.diagnoses) == ("13", "131", ("53081",))
    assert claim.lines[0].code == "82270"


def test_professional_variant_reads_numbers_providers_and_units() -> None:
    first, second = read_claims(_text(PROFESSIONAL)).claims
    assert first.claim_id == "SYN-CLAIM-1"
    assert (first.member_id, first.payer_id) == ("SYNMEM001", "SYNPAYER1")
    # 2330B's REF*G1 (the other payer's number) and NM1*IL/PR must not leak into the claim.
    assert first.authorization_numbers == ("AUTH-0001",)
    assert first.referral_numbers == ("REF-0001",)
    assert (first.billing_npi, first.rendering_npi, first.facility_npi) == (
        "1000000004",
        "1000000012",
        "1000000020",
    )
    one, two, three = first.lines
    assert one.authorization_numbers == () and first.numbers_for(one) == ("AUTH-0001",)
    assert two.authorization_numbers == ("AUTH-LINE-2",)
    assert two.referral_numbers == ("REF-LINE-2",)
    assert (two.code, two.modifiers, two.units) == ("97110", ("GP", "59"), 3)  # 2.5 -> 3
    assert (two.from_date, two.to_date) == (dt.date(2026, 10, 16), dt.date(2026, 10, 18))
    assert two.rendering_npi == "1000000038"  # 2420A overrides 2310B
    assert one.rendering_npi == "1000000012" and one.facility_npi == "1000000020"
    assert one.diagnoses == ("M5450", "G8929") and two.diagnoses == ("M5416",)
    assert (one.pos, three.pos) == ("11", "21")
    assert first.setting is Setting.OUTPATIENT
    assert second.setting is Setting.INPATIENT  # POS 21
    assert (second.member_id, second.payer_id) == ("SYNMEM002", "SYNPAYER2")
    assert second.authorization_numbers == ()
    assert first.transaction == "0001" and first.position == 19


def test_institutional_variant_uses_statement_dates_when_a_line_has_none() -> None:
    (claim,) = read_claims(_text(INSTITUTIONAL)).claims
    assert claim.kind is ClaimKind.INSTITUTIONAL
    assert (claim.bill_type, claim.frequency, claim.setting) == ("111", "1", Setting.INPATIENT)
    assert claim.authorization_numbers == ("PRECERT-0001",)
    assert claim.attending_npi == "1000000053" and claim.rendering_npi == "1000000061"
    assert claim.facility_npi == "1000000079"
    assert claim.diagnoses == ("I214", "R079", "E119", "I10")
    room, cath = claim.lines
    assert (room.revenue_code, room.code, room.units) == ("0120", "99223", 3)
    assert (room.from_date, room.to_date) == (dt.date(2026, 10, 1), dt.date(2026, 10, 4))
    assert (cath.code, cath.modifiers, cath.from_date) == ("93458", ("26",), dt.date(2026, 10, 2))


def test_other_delimiters_and_no_line_breaks_read_the_same_claims() -> None:
    text = _text(PROFESSIONAL)
    other = text.replace("*", "|").replace("~\n", "}").replace(":", "\\")
    # ISA16 is the component separator: it was ':' and became '\\' with the rest.
    assert other[104] == "\\"
    assert read_claims(other).claims == read_claims(text).claims
    assert read_claims(text.replace("\n", "\r\n")).claims == read_claims(text).claims


def test_lines_are_built_in_claim_lines_own_field_order_and_equal_keyword_built_ones() -> None:
    # The reader builds lines positionally in LINE_FIELDS order, setting the slots directly.
    assert tuple(f.name for f in dataclasses.fields(ClaimLine)) == LINE_FIELDS
    lines = [line for claim in read_claims(_text(PROFESSIONAL)).claims for line in claim.lines]
    assert lines
    for line in lines:
        assert type(line) is ClaimLine
        assert line == ClaimLine(**{name: getattr(line, name) for name in LINE_FIELDS})
    with pytest.raises(dataclasses.FrozenInstanceError):
        lines[0].code = "99999"  # type: ignore[misc]


def test_a_second_interchange_with_other_delimiters_and_crlf_is_read_and_located() -> None:
    text = _text(PROFESSIONAL)
    other = text.replace("*", "|").replace("~\n", "}\r\n").replace(":", "\\")
    other = other.replace("SE|59|0001", "SE|12|0001")
    result = read_claims(text + "N3*STRAY~\n" + other)
    assert [c.claim_id for c in result.claims] == [c.claim_id for c in read_claims(text).claims] * 2
    assert [issue.location for error in result.errors for issue in error.issues] == [
        f"ISA/segment {text.count('~') + 1} of the file (N3)",
        "ISA[2]/GS[1]/ST[1]/segment 59 (SE) element 01",
    ]


# -- bad input ---------------------------------------------------------------------------------


def _only(result: Claims837) -> ClaimError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def test_a_claim_without_clm01_is_reported_and_the_other_claim_still_read() -> None:
    text = _replace_segment(_text(PROFESSIONAL), "CLM*SYN-CLAIM-1*1400.00", "CLM**1400.00")
    result = read_claims(text)
    assert [claim.claim_id for claim in result.claims] == ["SYN-CLAIM-2"]
    error = _only(result)
    assert error.claim_id == ""
    assert error.issues == [
        Issue(
            "x12.837",
            "CLM01 (patient control number) is empty.",
            "ISA/GS[1]/ST[1]/segment 19 (CLM) element 01",
        )
    ]


def test_a_line_without_a_code_is_located_at_its_sv1() -> None:
    text = _replace_segment(_text(PROFESSIONAL), "SV1*HC:72148*", "SV1*HC*")
    result = read_claims(text)
    assert [claim.claim_id for claim in result.claims] == ["SYN-CLAIM-2"]
    error = _only(result)
    assert error.claim_id == "SYN-CLAIM-1"
    assert [(i.location, i.message) for i in error.issues] == [
        (
            "ISA/GS[1]/ST[1]/segment 36 (SV1) element 01",
            "This line has no code: SV101-2 (procedure code) is empty.",
        )
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("DTP*472*D8*20261020~", "DTP*472*D8*20261340~"),
        ("DTP*472*D8*20261020~", "DTP*472*RD8*20261021-20261020~"),
        ("DTP*472*D8*20261020~", "DTP*472*D8*2026~"),
    ],
)
def test_a_bad_date_of_service_is_located_at_dtp03(old: str, new: str) -> None:
    result = read_claims(_replace_segment(_text(PROFESSIONAL), old, new))
    assert [claim.claim_id for claim in result.claims] == ["SYN-CLAIM-1"]
    error = _only(result)
    assert error.claim_id == "SYN-CLAIM-2"
    (issue,) = error.issues
    assert issue.location == "ISA/GS[1]/ST[1]/segment 58 (DTP) element 03"
    assert "DTP*472 is not a valid date" in issue.message


def test_a_line_without_any_date_is_reported() -> None:
    text = _replace_segment(_text(PROFESSIONAL), "DTP*472*D8*20261020~\n", "")
    text = text.replace("SE*59*0001", "SE*58*0001")
    error = _only(read_claims(text))
    assert error.claim_id == "SYN-CLAIM-2"
    assert [(i.location, i.message) for i in error.issues] == [
        (
            "ISA/GS[1]/ST[1]/segment 56 (LX)",
            "This line has no date of service (DTP*472).",
        )
    ]


def test_garbage_units_charges_and_pointers_are_each_located() -> None:
    text = _replace_segment(
        _text(PROFESSIONAL), "SV1*HC:27245*250.00*UN*1***1~", "SV1*HC:27245*lots*UN*x***9~"
    )
    error = _only(read_claims(text))
    assert error.claim_id == "SYN-CLAIM-2"
    assert [(i.location, i.message) for i in error.issues] == [
        ("ISA/GS[1]/ST[1]/segment 57 (SV1) element 02", "SV102 must be a number."),
        ("ISA/GS[1]/ST[1]/segment 57 (SV1) element 04", "SV104 must be a number."),
        (
            "ISA/GS[1]/ST[1]/segment 57 (SV1) element 07",
            "Diagnosis pointer 9 points past the claim's 1 diagnosis code(s) in HI.",
        ),
    ]


def test_a_wrong_se_count_is_a_located_envelope_error_and_claims_are_still_read() -> None:
    result = read_claims(_text(PROFESSIONAL).replace("SE*59*0001", "SE*12*0001"))
    assert len(result.claims) == 2
    error = _only(result)
    assert error.claim_id == ""
    assert error.issues[0].location == "ISA/GS[1]/ST[1]/segment 59 (SE) element 01"
    assert error.issues[0].message == "SE01 says 12, but the set has 59 segments (ST to SE)."


def test_a_file_cut_off_in_the_middle_reports_its_envelope_and_keeps_whole_claims() -> None:
    text = _text(PROFESSIONAL)
    cut = text[: text.index("HL*3*1*22*0")]
    result = read_claims(cut)
    assert [claim.claim_id for claim in result.claims] == ["SYN-CLAIM-1"]
    messages = [issue.message for error in result.errors for issue in error.issues]
    assert messages == [
        "This transaction set has no SE trailer.",
        "This functional group has no GE trailer.",
        "This interchange has no IEA trailer.",
    ]


def test_text_that_is_not_x12_is_one_located_error() -> None:
    error = _only(read_claims("hello, this is not an 837"))
    assert error.claim_id == ""
    assert error.issues[0].code == "x12.no_isa"
    assert error.issues[0].location == "ISA"


def test_a_278_inside_the_file_is_reported_not_read_as_claims() -> None:
    text = _text(PROFESSIONAL).replace("ST*837*0001*005010X222A1", "ST*278*0001*005010X217")
    error = _only(read_claims(text))
    assert error.issues[0].location == "ISA/GS[1]/ST[1]/segment 1 (ST) element 01"
    assert "not an 837P (005010X222A1) or 837I" in error.issues[0].message


# -- fuzz --------------------------------------------------------------------------------------

_CORPUS_TEXTS = [_text(path) for path in [*SAMPLES, PROFESSIONAL, INSTITUTIONAL]]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_CORPUS_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "cut", "duplicate"]))
        piece = draw(st.text(alphabet="*:^~>\n0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-²", max_size=8))
        if action == "delete":
            text = text[:at] + text[at + len(piece) + 1 :]
        elif action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        elif action == "cut":
            text = text[:at]
        else:
            end = draw(st.integers(at, min(len(text), at + 200)))
            text = text[:end] + text[at:end] + text[end:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_files_give_our_errors_and_never_another_exception(text: str) -> None:
    result = read_claims(text)
    for error in result.errors:
        assert isinstance(error, ClaimError) and error.issues
        for issue in error.issues:
            assert issue.message and issue.location.startswith("ISA")
    for claim in result.claims:
        assert claim.lines
        for line in claim.lines:
            assert line.code and line.from_date <= line.to_date
