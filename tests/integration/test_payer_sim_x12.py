"""The payer simulator's `POST /x12` over real HTTP on 127.0.0.1: 278 requests built by our X12
channel, answers read by our 278 response reader (or our 999 reader), the same rules as the PAS
side, resubmissions, amendments (cancel, extension, revision with REF*BB), and a malformed
interchange answered with a located 999 rejection; 270
eligibility inquiries answered with a 271 (coverage, plan dates, EB11 per service type, AAA 75)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.test_payer_sim_pas import INFUSION, RULES, START, Clock, request_for
from tests.integration.web.live_server import serving

from precert.channels.x12.ack999 import read_999
from precert.channels.x12.envelope import ControlCounter, Party, read
from precert.channels.x12.implementation import check_document
from precert.channels.x12.tx270 import build_270, inquiry_from_request
from precert.channels.x12.tx271 import read_271
from precert.channels.x12.tx271_write import Answer271, BenefitRow, write_271
from precert.channels.x12.tx278 import amended_lines, amendment_278, build_278, write_278
from precert.channels.x12.tx278_read import Response278, ResultKind, read_responses
from precert.channels.x12.x279 import X271
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.domain.determinations import Outcome
from precert.domain.eligibility import AuthorizationFlag, service_type_for
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.state import State
from precert.payer_sim.x12 import SAMPLE_CODES

EDI = {"content-type": "application/edi-x12"}


class X12Sim:
    def __init__(self, url: str, clock: Clock, state_dir: Path) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.clock = clock
        self.state_dir = state_dir
        self.controls = ControlCounter()

    def interchange(self, request: AuthorizationRequest, attempt: int = 1) -> str:
        return build_278(request, at=START, next_control=self.controls, attempt=attempt)

    def post(self, text: str) -> httpx.Response:
        response = self.http.post("/x12", content=text.encode(), headers=EDI)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/edi-x12")
        return response

    def decision(self, request: AuthorizationRequest, attempt: int = 1) -> Response278:
        text = self.post(self.interchange(request, attempt)).text
        (result,) = read_responses(text, lines=request.lines)
        return result


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[X12Sim]:
    clock = Clock()
    with serving(create_sim_app(RULES, tmp_path / "sim", clock, interval=0.02)) as url:
        sim = X12Sim(url, clock, tmp_path / "sim")
        yield sim
        sim.http.close()


def authorizations(state_dir: Path) -> int:
    state = State(state_dir)
    try:
        return state.authorization_count()
    finally:
        state.close()


def test_an_approval_carries_an_authorization_number(sim: X12Sim) -> None:
    request = request_for("x12-approve", "OK-1")
    result = sim.decision(request)
    assert result.kind is ResultKind.DECIDED
    assert result.action == "A1"
    assert result.trace == "x12-approve.1"
    assert result.certification_number.startswith("SIM")
    determination = result.determination
    assert determination is not None
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number == result.certification_number
    assert [line.approved_units for line in determination.lines] == [1, 3]


def test_a_denial_carries_its_reason_and_no_number(sim: X12Sim) -> None:
    result = sim.decision(request_for("x12-deny", "DENY-1"))
    assert result.action == "A3"
    assert result.certification_number == ""
    assert result.determination is not None
    assert result.determination.outcome is Outcome.DENIED
    assert result.determination.reason_codes == ("0U",)
    assert authorizations(sim.state_dir) == 0


def test_a_partial_approval_grants_fewer_units(sim: X12Sim) -> None:
    request = request_for("x12-partial", "PART-1", INFUSION)
    result = sim.decision(request)
    assert result.action == "A2"
    assert [(line.action, line.code, line.units) for line in result.lines] == [("A2", "J1745", 1)]
    assert result.determination is not None
    assert result.determination.outcome is Outcome.PARTIALLY_APPROVED
    assert result.determination.authorization_number.startswith("SIM")


def test_a_modified_approval_names_the_code_granted_instead(sim: X12Sim) -> None:
    asked = ServiceLine("70553", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
    result = sim.decision(request_for("x12-modify", "OK-2", asked))
    assert result.action == "A6"
    assert [(line.action, line.code) for line in result.lines] == [("A6", "70551")]
    assert result.determination is not None
    assert result.determination.lines[0].covered_code == "70551"
    assert result.certification_number.startswith("SIM")


def test_contact_payer_and_not_required(sim: X12Sim) -> None:
    call = sim.decision(request_for("x12-call", "CALL-1"))
    assert (call.kind, call.action) == (ResultKind.CONTACT_PAYER, "CT")
    assert call.reference.startswith("SIMREF")
    visit = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
    free = sim.decision(request_for("x12-free", "OK-3", visit))
    assert free.action == "NA"
    assert free.determination is not None
    assert free.determination.outcome is Outcome.NOT_REQUIRED


def test_mixed_lines_are_certified_in_part_and_not_required_lines_do_not_count(
    sim: X12Sim,
) -> None:
    visit = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
    mri = request_for("x12-mixed", "OK-7").lines[0]
    free = sim.decision(request_for("x12-mixed", "OK-7", mri, visit))
    assert free.action == "A1"
    assert [line.action for line in free.lines] == ["A1", "NA"]
    infusion = ServiceLine("J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("K50.90",))
    mixed = sim.decision(request_for("x12-mixed-2", "PART-2", mri, infusion))
    assert mixed.action == "A2"
    assert [line.action for line in mixed.lines] == ["A1", "A2"]
    assert mixed.certification_number.startswith("SIM")


def test_a_pended_request_is_decided_when_asked_again_after_its_delay(sim: X12Sim) -> None:
    request = request_for("x12-pend", "PEND-1")
    first = sim.decision(request)
    assert (first.kind, first.action) == (ResultKind.PENDED, "A4")
    assert first.reference.startswith("SIMREF")
    assert sim.decision(request).action == "A4"  # still pended: the same answer
    sim.clock.now = START + dt.timedelta(seconds=61)
    later = sim.decision(request, attempt=2)
    assert later.action == "A1"
    assert later.certification_number.startswith("SIM")
    assert later.reference == ""


def test_an_unknown_member_is_rejected_on_the_subscriber(sim: X12Sim) -> None:
    result = sim.decision(request_for("x12-unknown", "UNK-1"))
    assert result.kind is ResultKind.REJECTED
    assert result.follow_up == "C"
    (issue,) = result.issues
    assert "AAA03 75" in issue.message
    assert issue.location.endswith("(AAA) loop 2000C")
    text = sim.post(sim.interchange(request_for("x12-unknown-2", "UNK-2"))).text
    assert "AAA*N**75*C" in text


def test_a_corrected_request_after_a_rejection_is_adjudicated_anew(sim: X12Sim) -> None:
    assert sim.decision(request_for("x12-fixed", "UNK-3")).kind is ResultKind.REJECTED

    corrected = sim.decision(request_for("x12-fixed", "OK-3"), attempt=2)  # member id fixed

    assert corrected.kind is ResultKind.DECIDED
    assert corrected.certification_number.startswith("SIM")
    again = sim.decision(request_for("x12-fixed", "OK-3"), attempt=3)
    assert again.certification_number == corrected.certification_number
    assert authorizations(sim.state_dir) == 1


def test_the_same_trace_again_gets_the_same_answer_and_one_authorization(sim: X12Sim) -> None:
    request = request_for("x12-twice", "OK-4")
    first = sim.post(sim.interchange(request)).text
    again = sim.post(sim.interchange(request)).text  # a retry: new ISA control number
    (one,), (two,) = read_responses(first), read_responses(again)
    assert one.certification_number and one.certification_number == two.certification_number
    assert first == again  # the stored answer, byte for byte
    assert authorizations(sim.state_dir) == 1
    other = sim.decision(request_for("x12-other", "OK-5"))
    assert other.certification_number != one.certification_number
    assert authorizations(sim.state_dir) == 2


def test_a_malformed_interchange_gets_a_rejecting_999_with_a_located_ik3(sim: X12Sim) -> None:
    text = sim.interchange(request_for("x12-bad", "OK-6"))
    broken = text.replace("DMG*D8*19700101", "DMG*D8*19701399")
    assert broken != text
    answer = sim.post(broken).text
    assert answer.startswith("ISA")
    (group,) = read_999(answer)
    (transaction,) = group.sets
    assert transaction.code == "278"
    assert not transaction.accepted
    assert transaction.errors, "the 999 names the failing segment"
    error = transaction.errors[0]
    assert error.tag == "DMG"
    assert int(error.position) > 0
    assert authorizations(sim.state_dir) == 0


def test_a_body_that_is_not_x12_is_a_400_saying_what_to_send(sim: X12Sim) -> None:
    response = sim.http.post("/x12", content=b"hello", headers=EDI)
    assert response.status_code == 400
    assert "ISA" in response.text


# -- 270 eligibility inquiries answered with a 271 -------------------------------------------


def inquiry_text(request: AuthorizationRequest, controls: ControlCounter) -> str:
    inquiry = inquiry_from_request(request, payer_name="Acme Health", provider_name="Clinic")
    return build_270(
        inquiry,
        sender=Party("ZZ", "PRECERT"),
        receiver=Party("ZZ", "ACME"),
        at=START,
        next_control=controls,
    )


def test_a_270_gets_active_coverage_plan_dates_and_eb11_per_service_type(sim: X12Sim) -> None:
    visit = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
    request = request_for("x12-270", "OK-270", *request_for("x", "OK").lines, visit)
    answer = sim.post(inquiry_text(request, sim.controls)).text
    assert "ST*271*" in answer
    assert _guide_findings(answer) == []  # the 271 keeps 005010X279A1
    check = read_271(answer).coverage_check()  # strict: the envelope is right
    assert check.active is True
    assert check.plan == "SIMULATED PLAN"
    assert (check.plan_begin, check.plan_end) == (dt.date(2030, 1, 1), dt.date(2030, 12, 31))
    assert check.trace_numbers == ("x12270",)  # our TRN02 echoed
    assert check.service_types == ("30", "62", "88", "98")
    assert check.for_service("62").authorization is AuthorizationFlag.REQUIRED  # MRI: approve
    assert check.for_service("88").authorization is AuthorizationFlag.REQUIRED  # a drug
    assert check.for_service("98").authorization is AuthorizationFlag.NOT_REQUIRED  # 9921*
    assert check.for_service("62").covered is True
    assert authorizations(sim.state_dir) == 0


def test_a_270_for_an_unknown_member_gets_aaa_75_on_the_subscriber(sim: X12Sim) -> None:
    for member in ("UNK-270", "SIM-UNKNOWN-1"):  # an unknown-member rule, and the fixed prefix
        answer = sim.post(inquiry_text(request_for("x12-270-unk", member), sim.controls)).text
        assert "AAA*N**75*C" in answer
        assert _guide_findings(answer) == []
        reading = read_271(answer)
        check = reading.coverage_check()
        assert check.active is None
        assert check.benefits == ()
        (reject,) = check.rejects
        assert (reject.reason, reject.follow_up) == ("75", "C")
        assert "loop 2100C" in reject.issue.location


def test_a_270_with_a_broken_envelope_gets_a_rejecting_999(sim: X12Sim) -> None:
    text = inquiry_text(request_for("x12-270-bad", "OK-271"), sim.controls)
    broken = text.replace("SE*", "SE*99", 1)  # a wrong segment count
    assert broken != text
    (group,) = read_999(sim.post(broken).text)
    assert group.functional_id == "HS"
    assert not group.sets[0].accepted


def test_every_sample_code_stands_for_its_service_type() -> None:
    for service_type, codes in SAMPLE_CODES.items():
        for code in codes:
            assert service_type_for(code) == service_type, code


def test_the_271_writer_reads_back_through_our_271_reader() -> None:
    request = request_for("x12-271-write", "OK-272")
    inquiry = inquiry_from_request(request, payer_name="Acme Health", provider_name="Clinic")
    answer = Answer271(
        inquiry,
        benefits=(
            BenefitRow("1", "30", plan="Gold Plan"),
            BenefitRow("1", "62", authorization="Y", in_network="Y", message="Call for MRI"),
            BenefitRow("6", "AL"),
        ),
        plan_begin=dt.date(2030, 1, 1),
        plan_end=dt.date(2030, 6, 30),
    )
    text = write_271(
        [answer],
        sender=Party("ZZ", "ACME"),
        receiver=Party("ZZ", "PRECERT"),
        at=START,
        next_control=ControlCounter(),
    )
    check = read_271(text).coverage_check()
    assert check.member_id == "OK-272"
    assert check.payer_id == "acme-health"
    assert (check.active, check.plan, check.plan_end) == (True, "GOLD PLAN", dt.date(2030, 6, 30))
    mri = check.for_service("62")
    assert mri.authorization is AuthorizationFlag.REQUIRED
    assert mri.messages == ("CALL FOR MRI",)
    assert [b.in_network for b in check.benefits] == [None, True, None]
    assert check.for_service("AL").covered is False
    rejected = write_271(
        [Answer271(inquiry, reject=("72", "C"))],
        sender=Party("ZZ", "ACME"),
        receiver=Party("ZZ", "PRECERT"),
        at=START,
        next_control=ControlCounter(),
    )
    (reject,) = read_271(rejected).rejects
    assert (reject.reason, reject.follow_up, reject.can_resubmit) == ("72", "C", True)


# -- amendments: UM02 3 cancel, 4 extension, S revised, with REF*BB -----------------------------


def amendment(
    sim: X12Sim, request: AuthorizationRequest, kind: str, number: str, **options: object
) -> str:
    amended = amendment_278(
        request,
        kind=kind,
        authorization_number=number,
        attempt=1,
        at=START,
        **options,  # type: ignore[arg-type]
    )
    return sim.post(write_278(amended, at=START, next_control=sim.controls)).text


def test_a_cancel_of_a_known_certification_is_answered_cancelled_with_its_number(
    sim: X12Sim,
) -> None:
    request = request_for("x12-cancel", "OK-20")
    number = sim.decision(request).certification_number
    text = amendment(sim, request, "cancel", number)
    (result,) = read_responses(text, lines=request.lines)
    assert result.kind is ResultKind.CANCELLED
    assert result.action == "C"
    assert result.certification_number == number
    assert [(line.action, line.number) for line in result.lines] == [("C", number)] * 2
    assert result.trace == "x12-cancel.1"  # the original request's trace
    assert amendment(sim, request, "cancel", number) == text  # a retry: the stored answer
    assert authorizations(sim.state_dir) == 1  # a cancel issues no number
    # The certification is gone: extending it now is refused like an unknown number.
    (late,) = read_responses(amendment(sim, request, "extend", number, units={"J1745": 5}))
    assert late.kind is ResultKind.REJECTED
    assert late.issues[0].message.startswith("The payer rejected the request: authorization")


def test_an_extension_is_approved_under_the_same_number_with_the_new_dates_and_units(
    sim: X12Sim,
) -> None:
    request = request_for("x12-extend", "OK-21")
    first = sim.decision(request)
    assert first.determination is not None and first.determination.valid_to is not None
    new_end = first.determination.valid_to + dt.timedelta(days=30)
    text = amendment(
        sim, request, "extend", first.certification_number, to_date=new_end, units={"J1745": 6}
    )
    lines = amended_lines(request, kind="extend", to_date=new_end, units={"J1745": 6})
    (result,) = read_responses(text, lines=lines)
    assert result.action == "A1"
    assert result.certification_number == first.certification_number
    determination = result.determination
    assert determination is not None and determination.outcome is Outcome.APPROVED
    assert determination.valid_to == new_end
    assert [(d.code, d.approved_units) for d in determination.lines] == [
        ("70551", 1),
        ("J1745", 6),
    ]
    assert authorizations(sim.state_dir) == 1
    # A second, different extension is decided anew; the first again is the stored answer.
    again = amendment(sim, request, "extend", first.certification_number, units={"J1745": 8})
    (second,) = read_responses(again)
    assert second.certification_number == first.certification_number
    assert [line.units for line in second.lines] == [1, 8]
    assert (
        amendment(
            sim, request, "extend", first.certification_number, to_date=new_end, units={"J1745": 6}
        )
        == text
    )


def test_an_extension_is_decided_by_the_rules(sim: X12Sim) -> None:
    request = request_for("x12-extend-part", "PART-22", INFUSION)
    first = sim.decision(request)
    assert first.action == "A2"
    text = amendment(sim, request, "extend", first.certification_number, units={"J1745": 4})
    (result,) = read_responses(text)
    assert result.action == "A2"  # the partial rule grants 1 unit, as for a new request
    assert result.certification_number == first.certification_number
    assert [line.units for line in result.lines] == [1]


def test_an_unknown_certification_number_is_rejected_with_what_to_do(sim: X12Sim) -> None:
    request = request_for("x12-unknown-cert", "OK-23")
    number = sim.decision(request).certification_number
    for kind, options in (("cancel", {}), ("revise", {"units": {"J1745": 2}})):
        text = amendment(sim, request, kind, "SIM99999999", **options)
        assert "AAA*N**AA*C~" in text.replace("\n", "")
        (result,) = read_responses(text)
        assert result.kind is ResultKind.REJECTED
        assert result.follow_up == "C"
        assert "authorization number not found (AAA03 AA)" in result.issues[0].message
    # A number for a request the payer never saw is as unknown.
    other = request_for("x12-never-sent", "OK-24")
    (stranger,) = read_responses(amendment(sim, other, "cancel", number))
    assert stranger.kind is ResultKind.REJECTED
    assert authorizations(sim.state_dir) == 1


def test_an_amendment_without_ref_bb_gets_a_rejecting_999(sim: X12Sim) -> None:
    request = request_for("x12-no-ref", "OK-25")
    sim.decision(request)
    amended = amendment_278(request, kind="cancel", authorization_number="X1", attempt=1, at=START)
    text = write_278(
        dataclasses.replace(amended, authorization_number=""),
        at=START,
        next_control=sim.controls,
    )
    (group,) = read_999(sim.post(text).text)
    (answered,) = group.sets
    assert not answered.accepted
    assert [(e.tag, e.code) for e in answered.errors] == [("REF", "3")]


def _guide_findings(text: str) -> list[str]:
    document = read(text)
    check_document(document, [X271])
    return [finding.issue.message for finding in document.findings]
