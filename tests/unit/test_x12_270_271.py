"""X12 270 built from a request reads back identical; every corpus 271 reads; EB11 per service
type, plan dates, AAA rejects located; malformed 271s give InvalidInput or findings only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.pas_fixtures import RENDERING, make_request
from typer.testing import CliRunner

from precert.channels.x12.envelope import ControlCounter, Party, parse, read
from precert.channels.x12.implementation import check_document
from precert.channels.x12.tokens import tokenize
from precert.channels.x12.tx270 import build_270, inquiry_from_request, read_270
from precert.channels.x12.tx271 import read_271
from precert.channels.x12.tx271_write import Answer271, BenefitRow, write_271
from precert.channels.x12.x279 import X270, X271
from precert.cli.main import app
from precert.domain.eligibility import AuthorizationFlag
from precert.errors import InvalidInput

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "lfh-x12-5010-samples"
CORPUS_271 = sorted((SAMPLES / "271_005010X279A1").glob("*.271"))
CORPUS_270 = sorted((SAMPLES / "270_005010X279A1").glob("*.270"))
ERROR_271 = "subscriber-health-benefit-check-error.271"
AT = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)
SENDER = Party("ZZ", "PRECERT")
RECEIVER = Party("ZZ", "ACMEHEALTH")


def build(**changes: object) -> str:
    inquiry = inquiry_from_request(
        make_request(**changes), payer_name="Acme Health", provider_name="Synthetic Clinic"
    )
    return build_270(
        inquiry, sender=SENDER, receiver=RECEIVER, at=AT, next_control=ControlCounter(7)
    )


def eb(first: str, eb11: str, eb12: str) -> str:
    """An EB segment: EB01-EB03 as given, EB04-EB10 empty, then EB11 and EB12."""
    return f"EB*{first}{'*' * 8}{eb11}*{eb12}"


def synthetic_271(benefits: list[str], *, subscriber_extra: str = "", trace: str = "REQ1") -> str:
    """A 271 for a synthetic member with the given EB... segments, envelope counts right."""
    body = [
        "BHT*0022*11*REQ1*20300301*0930",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH*****PI*ACME01",
        "HL*2*1*21*1",
        "NM1*1P*2*SYNTHETIC CLINIC*****XX*" + RENDERING,
        "HL*3*2*22*0",
        f"TRN*2*{trace}*9000000000",
        "NM1*IL*1*SYNTHETIC*TESTPATIENT****MI*ZZ-CANARY-789",
        *([subscriber_extra] if subscriber_extra else []),
        "DTP*346*D8*20300101",
        "DTP*347*D8*20301231",
        *benefits,
    ]
    segments = [
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*PRECERT        *300301*0930*^*00501"
        "*000000001*0*T*:",
        "GS*HB*ACMEHEALTH*PRECERT*20300301*0930*1*X*005010X279A1",
        "ST*271*0001*005010X279A1",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segments) + "~\n"


# -- 270 -------------------------------------------------------------------------------------


def test_built_270_tokenizes_and_its_envelope_checks_out() -> None:
    text = build()
    document = parse(text)  # raises on any envelope problem
    (group,) = list(document.groups())
    assert group.functional_id == "HS" and group.version == "005010X279A1"
    (transaction,) = group.sets
    assert transaction.code == "270" and transaction.implementation == "005010X279A1"
    tags = [s.tag for s in tokenize(text)]
    assert tags[:5] == ["ISA", "GS", "ST", "BHT", "HL"]
    assert "EQ" in tags and tags[-1] == "IEA"
    bht = next(s for s in tokenize(text) if s.tag == "BHT")
    assert bht.elements[:2] == ("0022", "13")


def test_built_270_reads_back_identical() -> None:
    request = make_request()
    inquiry = inquiry_from_request(
        request, payer_name="Acme Health", provider_name="Synthetic Clinic", trace="TRACE123"
    )
    text = build_270(
        inquiry, sender=SENDER, receiver=RECEIVER, at=AT, next_control=ControlCounter()
    )
    (back,) = read_270(text)
    for name in (
        "payer_id",
        "provider_npi",
        "member_id",
        "birth_date",
        "service_date",
        "service_types",
        "trace",
        "trace_originator",
    ):
        assert getattr(back, name) == getattr(inquiry, name), name
    assert back.last_name == "SYNTHETIC" and back.first_name == "TESTPATIENT"
    assert back.payer_name == "ACME HEALTH" and back.provider_name == "SYNTHETIC CLINIC"


def test_270_maps_line_codes_to_service_types_and_segments() -> None:
    segments = {s.tag: s for s in tokenize(build())}
    # 70551 (MRI brain) -> 62, J1745 (infliximab) -> 88 pharmacy: one EQ each, in line order.
    eqs = [s.element(1) for s in tokenize(build()) if s.tag == "EQ"]
    assert eqs == ["62", "88"]
    assert segments["DTP"].elements == ("291", "D8", "20300302")
    assert segments["DMG"].elements == ("D8", "19700101")
    names = [s for s in tokenize(build()) if s.tag == "NM1"]
    assert [n.element(1) for n in names] == ["PR", "1P", "IL"]
    assert names[1].element(8) == "XX" and names[1].element(9) == RENDERING
    assert names[2].element(8) == "MI" and names[2].element(9) == "ZZ-CANARY-789"
    assert segments["TRN"].element(1) == "1"


def test_270_without_a_mapped_code_asks_for_plan_coverage() -> None:
    from precert.domain.authorizations import ServiceLine

    line = ServiceLine("G0999", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11")
    eqs = [s.element(1) for s in tokenize(build(lines=(line,))) if s.tag == "EQ"]
    assert eqs == ["30"]


def test_270_refuses_a_bad_npi_with_a_located_issue() -> None:
    with pytest.raises(InvalidInput) as caught:
        build(rendering_npi="1234567890")
    assert [i.location for i in caught.value.issues] == ["provider_npi"]


def validate_270(text: str) -> list[tuple[str, str]]:
    document = read(text)
    check_document(document, [X270])
    return [(i.location, i.message) for i in document.issues]


def test_built_270_and_corpus_270s_pass_the_005010x279a1_rules() -> None:
    assert validate_270(build()) == []
    for path in CORPUS_270:
        assert validate_270(path.read_text()) == [], path.name


def test_270_rules_locate_a_bad_npi_date_and_segment() -> None:
    text = (
        build()
        .replace("XX*" + RENDERING, "XX*1245319590")
        .replace("DTP*291*D8*20300302", "DTP*291*D8*20301302")
        .replace("EQ*62~", "EQ*62~FOO*1~")
    )
    found = dict(validate_270(text))
    assert "fails the NPI check digit" in found["ISA/GS[1]/ST[1]/segment 6 (NM1) element 09"]
    assert "is not a date" in found["ISA/GS[1]/ST[1]/segment 11 (DTP) element 03"]
    assert "not expected in loop 2000C" in found["ISA/GS[1]/ST[1]/segment 13 (FOO)"]


@pytest.mark.parametrize("path", CORPUS_270, ids=lambda p: p.name)
def test_corpus_270s_read(path: Path) -> None:
    (inquiry,) = read_270(path.read_text())
    assert inquiry.payer_id == "842610001"
    assert inquiry.member_id == "11122333301"
    assert inquiry.service_types == ("30",)
    assert inquiry.service_date == dt.date(2006, 5, 1)
    assert inquiry.trace == "93175-012547"


# -- 271 corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [p for p in CORPUS_271 if p.name != ERROR_271], ids=lambda p: p.name
)
def test_corpus_271s_read(path: Path) -> None:
    reading = read_271(path.read_text())
    assert reading.issues == () and reading.rejects == ()
    check = reading.coverage_check()
    assert check.member == ("dependent" if "dependent" in path.name else "subscriber")
    assert check.member_id == "123456789"  # the dependent inherits the subscriber's id
    assert check.active is True
    assert check.plan == "GOLD 123 PLAN"
    assert check.plan_begin == dt.date(2006, 1, 1) and check.plan_end is None
    assert check.payer_id == "841610001"
    assert check.trace_numbers == ("93175-012547",)
    # EB03 repetitions: one row names ten service types.
    assert set(check.service_types) >= {"1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"}
    copay = [b for b in check.benefits if b.info == "B"]
    assert [b.in_network for b in copay] == [True, False]
    assert [b.time_period for b in copay] == ["27", "27"]
    assert [b.amount for b in copay] == ["10.00", "30.00"]
    coverage = check.for_service("98")
    assert coverage.covered is True and coverage.authorization is AuthorizationFlag.NOT_STATED
    assert coverage.in_network_rows and coverage.out_of_network_rows


def test_corpus_271_with_wrong_se02_is_refused_strictly_and_read_leniently() -> None:
    text = (SAMPLES / "271_005010X279A1" / ERROR_271).read_text()
    with pytest.raises(InvalidInput) as caught:
        read_271(text)
    (problem,) = caught.value.issues
    assert problem.location == "ISA/GS[1]/ST[1]/segment 8 (SE) element 02"
    assert "4323" in problem.message and "4321" in problem.message
    reading = read_271(text, lenient=True)
    assert reading.issues == (problem,)
    (reject,) = reading.rejects
    assert (reject.reason, reject.follow_up, reject.can_resubmit) == ("50", "N", False)
    assert reject.issue.location.endswith("segment 7 (AAA) element 03 in loop 2100B")
    assert "not eligible for inquiries" in reject.issue.message
    check = reading.coverage_check()
    assert check.active is None and check.rejects == (reject,)


# -- 271 synthetic ---------------------------------------------------------------------------


def test_eb11_y_n_u_per_service_type() -> None:
    text = synthetic_271(
        [
            "EB*1*IND*30**SYNTHETIC PPO",
            eb("1*IND*2^62", "Y", "Y"),
            "MSG*PRIOR AUTHORIZATION REQUIRED FOR IMAGING AND SURGERY",
            eb("1*IND*98", "N", "Y"),
            eb("1*IND*PT", "U", "W"),
        ]
    )
    check = read_271(text).coverage_check()
    assert check.plan == "SYNTHETIC PPO"
    assert (check.plan_begin, check.plan_end) == (dt.date(2030, 1, 1), dt.date(2030, 12, 31))
    flags = {t: check.for_service(t).authorization for t in ("2", "62", "98", "PT")}
    assert flags == {
        "2": AuthorizationFlag.REQUIRED,
        "62": AuthorizationFlag.REQUIRED,
        "98": AuthorizationFlag.NOT_REQUIRED,
        "PT": AuthorizationFlag.UNKNOWN,
    }
    assert check.for_service("62").messages == (
        "PRIOR AUTHORIZATION REQUIRED FOR IMAGING AND SURGERY",
    )
    assert check.for_service("PT").in_network_rows is False  # EB12 W: network not applicable
    assert check.for_service("62").from_plan_coverage is False
    # A type no row names falls back to the plan rows (30), which do not state EB11.
    unnamed = check.for_service("5")
    assert unnamed.from_plan_coverage and unnamed.authorization is AuthorizationFlag.NOT_STATED


def test_inactive_coverage_and_benefit_dates() -> None:
    text = synthetic_271(["EB*6**30", "DTP*292*RD8*20290101-20291231", "MSG*COVERAGE TERMINATED"])
    check = read_271(text).coverage_check()
    assert check.active is False
    (benefit,) = check.benefits
    assert benefit.dates == (("292", dt.date(2029, 1, 1), dt.date(2029, 12, 31)),)
    assert benefit.messages == ("COVERAGE TERMINATED",)
    assert check.for_service("30").covered is False


@pytest.mark.parametrize(
    ("reason", "follow_up", "words"),
    [("72", "C", "member id is invalid"), ("75", "N", "subscriber was not found")],
)
def test_aaa_rejects_in_the_subscriber_loop_are_located(
    reason: str, follow_up: str, words: str
) -> None:
    text = synthetic_271([], subscriber_extra=f"AAA*N**{reason}*{follow_up}")
    reading = read_271(text)
    check = reading.coverage_check()
    (reject,) = check.rejects
    assert reading.rejects == (reject,)
    assert (reject.reason, reject.follow_up) == (reason, follow_up)
    assert reject.can_resubmit is (follow_up == "C")
    assert words in reject.issue.message
    assert reject.issue.location == "ISA/GS[1]/ST[1]/segment 10 (AAA) element 03 in loop 2100C"
    assert check.active is None
    assert "ZZ-CANARY" not in reject.issue.message  # no member id in messages


def test_related_entity_loop_does_not_replace_the_payer() -> None:
    text = synthetic_271(
        ["EB*1**30", "EB*R", "LS*2120", "NM1*PR*2*OTHER PAYER*****PI*OTHER9", "LE*2120"]
    )
    check = read_271(text).coverage_check()
    assert check.payer_id == "ACME01"


def test_a_270_is_not_read_as_a_271() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_271(CORPUS_270[0].read_text())
    assert caught.value.issues[0].code == "x12.271.not_271"


# -- CLI -------------------------------------------------------------------------------------


def test_cli_read_271_json_and_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.271"
    good.write_text(synthetic_271([eb("1*IND*62", "Y", "Y")]))
    runner = CliRunner()
    result = runner.invoke(app, ["x12", "read-271", str(good), "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["checks"][0]["services"]["62"]["authorization"] == "required"
    text_result = runner.invoke(app, ["x12", "read-271", str(good)])
    assert "service type 62: covered, authorization required" in text_result.stdout
    bad = SAMPLES / "271_005010X279A1" / ERROR_271
    result = runner.invoke(app, ["x12", "read-271", str(bad)])
    assert result.exit_code == 1
    assert "segment 8 (SE) element 02" in result.stderr
    assert "AAA03 50" in result.stdout


# -- malformed input -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from([p.read_text() for p in CORPUS_271]),
    cut=st.integers(min_value=0, max_value=2000),
    junk=st.text(alphabet="*^:~\nEBAQDTPMSGHL0123456789YNU", max_size=30),
    lenient=st.booleans(),
)
def test_mutated_271s_raise_only_invalid_input(
    base: str, cut: int, junk: str, lenient: bool
) -> None:
    at = cut % (len(base) + 1)
    text = base[:at] + junk + base[at:]
    try:
        reading = read_271(text, lenient=lenient)
    except InvalidInput as error:
        assert error.issues or error.message
        return
    for check in reading.checks:
        for service_type in check.service_types:
            check.for_service(service_type)


# -- 271 rules (X271) ------------------------------------------------------------------------


def validate_271(text: str) -> list[tuple[str, str, str]]:
    """(issue code, location, message) for each X271 finding; the envelope must be right."""
    document = read(text)
    assert document.findings == []
    check_document(document, [X271])
    return [(i.code, i.location, i.message) for i in document.issues]


def test_corpus_271s_pass_the_005010x279a1_271_rules() -> None:
    for path in CORPUS_271:
        document = read(path.read_text())
        envelope = list(document.findings)
        check_document(document, [X271])
        # The error sample's only problem is its SE02 (an envelope finding, not a guide one).
        assert document.findings == envelope, path.name
        assert len(envelope) == (1 if path.name == ERROR_271 else 0), path.name


def test_synthetic_and_written_271s_pass_the_271_rules() -> None:
    texts = [
        synthetic_271(
            [
                "EB*1*IND*30**SYNTHETIC PPO",
                eb("1*IND*2^62", "Y", "Y"),
                "MSG*PRIOR AUTHORIZATION REQUIRED FOR IMAGING AND SURGERY",
                eb("1*IND*PT", "U", "W"),
            ]
        ),
        synthetic_271(["EB*6**30", "DTP*292*RD8*20290101-20291231", "MSG*COVERAGE TERMINATED"]),
        synthetic_271([], subscriber_extra="AAA*N**75*C"),
        synthetic_271(
            ["EB*1**30", "EB*R", "LS*2120", "NM1*PR*2*OTHER PAYER*****PI*OTHER9", "LE*2120"]
        ),
    ]
    inquiry = inquiry_from_request(
        make_request(), payer_name="Acme Health", provider_name="Synthetic Clinic"
    )
    for answer in (
        Answer271(
            inquiry,
            benefits=(
                BenefitRow("1", "30", plan="Gold Plan"),
                BenefitRow("1", "62", authorization="Y", in_network="Y", message="Call for MRI"),
                BenefitRow("6", "AL"),
            ),
            plan_begin=dt.date(2030, 1, 1),
            plan_end=dt.date(2030, 6, 30),
        ),
        Answer271(inquiry, reject=("75", "C")),
    ):
        texts.append(
            write_271(
                [answer], sender=RECEIVER, receiver=SENDER, at=AT, next_control=ControlCounter()
            )
        )
    for text in texts:
        assert validate_271(text) == []


def test_271_rules_locate_bad_codes_and_misplaced_segments() -> None:
    text = synthetic_271(
        [
            "EB*1*IND*62^ZZ",  # ZZ is no service type
            eb("1*IND*98", "X", "Y"),  # EB11 is Y, N or U
            "LS*2120",
            "NM1*P3*1*DOE*JANE",
            "NM1*P3*1*ROE*JOHN",  # a second 2120C in the same LS/LE: allowed
            "LE*2120",
            "INS*Y*18",  # a 2100C segment after the benefits
        ],
        subscriber_extra="AAA*N**50*C",  # 50 (provider ineligible) belongs to 2100B, not 2100C
    )
    found = {(code, location) for code, location, _ in validate_271(text)}
    at = "ISA/GS[1]/ST[1]/segment"
    assert found == {
        ("x12.code", f"{at} 10 (AAA) element 03"),
        ("x12.code", f"{at} 13 (EB) element 03"),
        ("x12.code", f"{at} 14 (EB) element 11"),
        ("x12.sequence", f"{at} 19 (INS)"),
    }


def test_the_subscriber_loop_is_required_unless_a_higher_loop_was_refused() -> None:
    body = synthetic_271([]).split("~\n")
    head = body[: body.index("HL*3*2*22*0")]
    tail = ["SE*7*0001", "GE*1*1", "IEA*1*000000001"]
    no_subscriber = "~\n".join([*head, *tail]) + "~\n"
    (missing,) = validate_271(no_subscriber)
    assert missing[0] == "x12.required_loop" and "2000C" in missing[1] + missing[2]
    refused = "~\n".join([*head, "AAA*Y**50*N", "SE*8*0001", *tail[1:]]) + "~\n"
    assert validate_271(refused) == []
