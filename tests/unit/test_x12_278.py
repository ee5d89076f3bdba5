"""The 278 (005010X217): building requests, reading them back, validating with located findings
and a rejecting 999, reading responses into Determinations, and amendments (UM02 3/4/S, REF*BB)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.pas_fixtures import NOW, make_request

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import ControlCounter, Party
from precert.channels.x12.tx278 import (
    LineAnswer,
    Request278,
    amendment_278,
    build_278,
    category,
    request_278,
    request_segments,
    response_segments,
    trace_key,
    trace_number,
    write_278,
)
from precert.channels.x12.tx278_read import (
    ResultKind,
    check_278,
    read_requests,
    read_responses,
)
from precert.domain.authorizations import AuthorizationRequest, ServiceLine, Urgency
from precert.domain.determinations import LineStatus, Outcome, validate_determination
from precert.errors import InvalidInput

D = dt.date(2030, 3, 2)


def _line(code: str, units: int = 1, pos: str = "11", days: int = 0) -> ServiceLine:
    return ServiceLine(code, units, D, D + dt.timedelta(days=days), pos, ("M17.11",))


REQUESTS: dict[str, AuthorizationRequest] = {
    "two lines, facility": make_request(),
    "one line": make_request(lines=(_line("72148", pos="22"),)),
    "many lines": make_request(
        lines=tuple(
            _line(c, n + 1, days=n)
            for n, c in enumerate(["97110", "97140", "97530", "E0601", "64612", "J0585"])
        )
    ),
    "expedited, no facility": make_request(urgency=Urgency.EXPEDITED, facility_npi=None),
    "inpatient": make_request(lines=(_line("27447", pos="21", days=3),)),
    "specialty visit": make_request(lines=(_line("99204"),), facility_npi=None),
}


def _build(request: AuthorizationRequest, attempt: int = 1) -> str:
    return build_278(request, at=NOW, next_control=ControlCounter(), attempt=attempt)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_every_278_we_build_passes_validation_and_reads_back_identical(name: str) -> None:
    request = REQUESTS[name]
    text = _build(request)
    assert check_278(text).findings == []
    (back,) = read_requests(text)
    assert back == request_278(request, at=NOW)
    assert [line.code for line in back.lines] == [line.code for line in request.lines]
    assert [line.units for line in back.lines] == [line.units for line in request.lines]
    assert back.requester_npi == request.ordering_npi
    assert back.facility_npi == request.facility_npi
    assert back.expedited is (request.urgency is Urgency.EXPEDITED)
    assert (back.from_date, back.to_date) == (
        request.first_service_date,
        request.last_service_date,
    )


def test_the_request_loops_carry_what_the_guide_asks() -> None:
    text = _build(REQUESTS["two lines, facility"])
    segments = text.split("~\n")
    assert "BHT*0007*13*req-pas-1.1*20300301*0900" in segments
    assert "NM1*X3*2*ACME-HEALTH*****PI*acme-health" in segments
    assert "NM1*1P*2******XX*1234567893" in segments
    assert "TRN*1*req-pas-1.1*9PRECERT00" in segments
    assert "UM*HS*I*62*22:B" in segments
    assert "HI*ABK:G43909*ABF:K5090" in segments
    assert "DTP*472*RD8*20300302-20300430" in segments
    assert "NM1*FA*2******XX*1679576722" in segments
    assert "SV1*HC:J1745**UN*3" in segments
    assert sum(s.startswith("HL*") and s.endswith("*SS*0") for s in segments) == 2
    expedited = _build(REQUESTS["expedited, no facility"])
    assert "UM*HS*I*62*22:B**U~" in expedited and "NM1*FA" not in expedited


def test_um01_follows_the_setting() -> None:
    assert category(REQUESTS["inpatient"]) == "AR"
    assert category(REQUESTS["specialty visit"]) == "SC"
    assert category(REQUESTS["one line"]) == "HS"


def test_a_resubmission_has_the_same_trace_key_and_a_new_attempt() -> None:
    first, second = (read_requests(_build(make_request(), a))[0] for a in (1, 2))
    assert first.trace != second.trace
    assert trace_key(first.trace) == ("req-pas-1", 1)
    assert trace_key(second.trace) == ("req-pas-1", 2)
    assert trace_key(second.lines[1].trace) == ("req-pas-1", 2)
    long_id = "x" * 60 + "/weird"
    key, attempt = trace_key(trace_number(long_id, 3))
    assert len(key) == 32 and attempt == 3
    assert key == trace_key(trace_number(long_id, 4))[0]
    with pytest.raises(InvalidInput):
        trace_number("r", 0)


def test_the_request_repr_hides_the_patient() -> None:
    r = request_278(make_request(), at=NOW)
    assert "Synthetic" not in repr(r) and "CANARY" not in repr(r)


# -- malformed 278s ----------------------------------------------------------------------------

GOOD = _build(make_request())

MALFORMED = {
    # name: (old, new, finding code, location ending, 999 lines expected)
    "required segment missing": (
        "UM*HS*I*62*22:B~\n",
        "",
        "x12.required_segment",
        "segment 10 (UM)",
        ["IK3*UM*10**3"],
    ),
    "bad UM01 code": (
        "UM*HS*I*62",
        "UM*XX*I*62",
        "x12.code",
        "segment 12 (UM) element 01",
        ["IK3*UM*12**8", "IK4*1**7*XX"],
    ),
    "bad NPI check digit": (
        "XX*1245319599",
        "XX*1245319598",
        "x12.value",
        "segment 15 (NM1) element 09",
        ["IK3*NM1*15**8", "IK4*9**7*1245319598"],
    ),
    "wrong loop order": (
        "HL*4*3*EV*1",
        "HL*4*2*EV*1",
        "x12.loop_order",
        "segment 10 (HL)",
        ["IK3*HL*10**7"],
    ),
    "segment out of order": (
        "DTP*472*D8*20300302~\nSV1*HC:70551**UN*1~",
        "SV1*HC:70551**UN*1~\nDTP*472*D8*20300302~",
        "x12.sequence",
        "segment 21 (DTP)",
        ["IK3*DTP*21**7"],
    ),
    "too long element": (
        "*Synthetic*",
        "*" + "S" * 61 + "*",
        "x12.too_long",
        "segment 8 (NM1) element 03",
        ["IK3*NM1*8**8", "IK4*3**5~"],
    ),
    "unexpected segment": (
        "DMG*D8*19700101~",
        "DMG*D8*19700101~\nCR1*1~",
        "x12.unexpected_segment",
        "segment 10 (CR1)",
        ["IK3*CR1*10**2"],
    ),
    "bad birth date": (
        "DMG*D8*19700101",
        "DMG*D8*19701301",
        "x12.value",
        "segment 9 (DMG) element 02",
        ["IK4*2**8~"],
    ),
    "range format with one date": (
        "DTP*472*D8*20300302~\nSV1",
        "DTP*472*RD8*20300302~\nSV1",
        "x12.value",
        "segment 20 (DTP) element 03",
        ["IK3*DTP*20**8", "IK4*3**8*20300302~"],
    ),
    "required element missing": (
        "BHT*0007*13*req-pas-1.1",
        "BHT*0007*13*",
        "x12.required_element",
        "segment 2 (BHT) element 03",
        ["IK4*3**1~"],
    ),
}


def _fix_count(text: str) -> str:
    """Keep SE01 right so that only the planted problem is found."""
    body = text.split("ST*278*")[1].split("~\nSE*")[0]
    count = body.count("~\n") + 2
    head, _, tail = text.partition("~\nSE*")
    return head + f"~\nSE*{count}*" + tail.split("*", 1)[1]


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_278_gets_located_findings_and_a_rejecting_999(name: str) -> None:
    old, new, code, where, ack_lines = MALFORMED[name]
    assert old in GOOD
    text = _fix_count(GOOD.replace(old, new, 1))
    document = check_278(text)
    assert [f.issue.code for f in document.findings] == [code], document.issues
    (finding,) = document.findings
    assert finding.issue.location.endswith(where)
    assert finding.issue.message
    ack = acknowledge(document, at=NOW, next_control=ControlCounter())
    for line in ack_lines:
        assert line in ack, ack
    assert "IK5*R*5" in ack and "AK9*R*1*1*0" in ack
    with pytest.raises(InvalidInput) as error:
        read_requests(text)
    assert error.value.issues[0].location.endswith(where)


def test_the_999_never_repeats_patient_data() -> None:
    text = _fix_count(GOOD.replace("*Synthetic*", "*" + "S" * 61 + "*"))
    ack = acknowledge(check_278(text), at=NOW, next_control=ControlCounter())
    assert "SSSS" not in ack
    text = _fix_count(GOOD.replace("DMG*D8*19700101", "DMG*D8*19701301"))
    document = check_278(text)
    assert "19701301" not in acknowledge(document, at=NOW, next_control=ControlCounter())
    assert "19701301" not in document.issues[0].message


def test_a_missing_patient_event_loop_is_reported() -> None:
    lines = GOOD.split("~\n")
    start = lines.index("HL*4*3*EV*1")
    end = next(i for i, s in enumerate(lines) if s.startswith("SE*"))
    kept = [*lines[:start], *lines[end:]]
    document = check_278(_fix_count("~\n".join(kept)))
    assert [f.issue.code for f in document.findings] == ["x12.required_loop"]
    assert "2000E" in document.findings[0].issue.message


# -- responses ---------------------------------------------------------------------------------


def _response(
    hcr: tuple[str, ...] | None,
    *,
    lines: list[tuple[str, ...] | None] | None = None,
    codes: list[str] | None = None,
    units: list[int] | None = None,
    extra: list[tuple[str, ...]] | None = None,
    aaa: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """A synthetic payer answer to make_request()'s 278, written with the same writer."""
    request = request_278(make_request(), at=NOW)
    aaa = aaa or {}
    out: list[tuple[str, ...]] = []
    level = ""
    for segment in request_segments(request):
        tag = segment[0]
        level = segment[3] if tag == "HL" else level
        if level == "EV" and tag in ("DTP", "HI"):
            continue  # a response need not repeat them; REF and DTP*AAH follow HCR here
        if tag == "BHT":
            out.append(("BHT", "0007", "11", segment[3], "20300303", "1015"))
            continue
        if tag == "TRN":
            out.append(("TRN", "2", *segment[2:]))
            continue
        out.append(segment)
        if tag == "HL" and segment[3] in aaa:
            out.append(aaa[segment[3]])
        if tag == "UM" and segment[2] == "I" and hcr is not None:
            out.append(hcr)
            out.extend(extra or [])
    if lines is not None:
        # per-line HCR after each 2000F UM, SV1 code/units replaced when given
        result: list[tuple[str, ...]] = []
        n = -1
        for segment in out:
            if segment[0] == "HL" and segment[3] == "SS":
                n += 1
            if segment[0] == "SV1" and n >= 0:
                code = (codes or [])[n] if codes and codes[n] else segment[1].split(":")[1]
                count = str((units or [])[n]) if units and units[n] else segment[4]
                segment = ("SV1", f"HC:{code}", "", "UN", count)
            result.append(segment)
            if segment[0] == "UM" and segment[2] == "" and n >= 0 and lines[n] is not None:
                line_hcr = lines[n]
                assert line_hcr is not None
                result.append(line_hcr)
        out = result
    return write_278(
        request,
        at=NOW,
        next_control=ControlCounter(),
        sender=Party("ZZ", "ACMEHEALTH"),
        receiver=Party("ZZ", "PRECERT"),
        segments=out,
    )


ASKED = make_request().lines
WINDOW = ("DTP", "AAH", "RD8", "20300302-20300531")


def _read(text: str) -> object:
    assert check_278(text).findings == [], check_278(text).issues
    (result,) = read_responses(text, lines=ASKED)
    return result


def test_an_approval_becomes_a_determination_with_number_window_and_reference() -> None:
    text = _response(("HCR", "A1", "AUTH-778899"), extra=[("REF", "NT", "ADM-1"), WINDOW])
    result = _read(text)
    assert result.kind is ResultKind.DECIDED and result.action == "A1"
    d = result.determination
    assert d is not None and d.outcome is Outcome.APPROVED
    assert d.authorization_number == "AUTH-778899" and d.reference == "ADM-1"
    assert (d.valid_from, d.valid_to) == (dt.date(2030, 3, 2), dt.date(2030, 5, 31))
    assert d.decision_date == dt.date(2030, 3, 3)
    assert d.provider_npi == "1245319599" and d.facility_npi == "1679576722"
    assert [(x.code, x.approved_units, x.status) for x in d.lines] == [
        ("70551", 1, LineStatus.APPROVED),
        ("J1745", 3, LineStatus.APPROVED),
    ]
    assert validate_determination(make_request(), d) == []
    assert result.request_key == "req-pas-1"


def test_per_line_decisions_make_a_partial_approval() -> None:
    text = _response(
        ("HCR", "A2", "AUTH-1"),
        extra=[WINDOW],
        lines=[("HCR", "A1", "AUTH-1"), ("HCR", "A3", "", "35")],
    )
    d = _read(text).determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    assert [x.status for x in d.lines] == [LineStatus.APPROVED, LineStatus.DENIED]
    assert d.reason_codes == ("35",)
    assert validate_determination(make_request(), d) == []


def test_a_modified_line_names_the_code_and_units_approved() -> None:
    text = _response(
        ("HCR", "A6", "AUTH-2"),
        extra=[WINDOW],
        lines=[("HCR", "A6", "AUTH-2"), ("HCR", "A1", "AUTH-2")],
        codes=["70553", ""],
        units=[0, 2],
    )
    d = _read(text).determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    first, second = d.lines
    assert (first.code, first.status, first.approved_code) == (
        "70551",
        LineStatus.MODIFIED,
        "70553",
    )
    assert (second.code, second.approved_units, second.status) == ("J1745", 2, LineStatus.MODIFIED)


def test_a_denial_carries_its_reason() -> None:
    d = _read(_response(("HCR", "A3", "", "42"), extra=[("MSG", "Not medically necessary")]))
    assert d.determination is not None and d.determination.outcome is Outcome.DENIED
    assert d.determination.reason_codes == ("42",)
    assert d.messages == ("Not medically necessary",)
    assert validate_determination(make_request(), d.determination) == []


@pytest.mark.parametrize(
    ("hcr", "extra", "kind", "outcome"),
    [
        (("HCR", "A4"), [("REF", "NT", "PEND-9")], ResultKind.PENDED, Outcome.PENDED),
        (("HCR", "A4"), [("PWK", "09", "FX")], ResultKind.INFO_REQUESTED, Outcome.PENDED),
        (("HCR", "CT"), [], ResultKind.CONTACT_PAYER, Outcome.PENDED),
        (("HCR", "NA"), [], ResultKind.DECIDED, Outcome.NOT_REQUIRED),
        (("HCR", "C"), [], ResultKind.CANCELLED, None),
    ],
)
def test_pended_information_contact_not_required_and_cancelled(
    hcr: tuple[str, ...], extra: list[tuple[str, ...]], kind: ResultKind, outcome: Outcome | None
) -> None:
    result = _read(_response(hcr, extra=extra))
    assert result.kind is kind
    got = result.determination.outcome if result.determination else None
    assert got is outcome
    if extra and extra[0][0] == "REF":
        assert result.reference == "PEND-9"
    if extra and extra[0][0] == "PWK":
        assert [(a.report_type, a.transmission) for a in result.attachments] == [("09", "FX")]


def test_a_rejected_subscriber_is_a_located_rejection_with_its_follow_up() -> None:
    text = _response(None, aaa={"22": ("AAA", "N", "", "75", "C")})
    result = _read(text)
    assert result.kind is ResultKind.REJECTED and result.determination is None
    (issue,) = result.issues
    assert "subscriber not found" in issue.message and "correct the request" in issue.message
    assert issue.location.endswith("segment 8 (AAA) loop 2000C")
    assert result.follow_up == "C"


def test_a_bad_action_code_in_a_response_is_located() -> None:
    text = _response(("HCR", "ZZ"))
    document = check_278(text)
    assert [f.issue.code for f in document.findings] == ["x12.code"]
    assert "HCR01" in document.findings[0].issue.message
    with pytest.raises(InvalidInput):
        read_responses(text)


def _answer(**options: object) -> str:
    request = request_278(make_request(), at=NOW)
    segments = response_segments(request, at=NOW + dt.timedelta(days=1), **options)  # type: ignore[arg-type]
    return write_278(
        request,
        at=NOW,
        next_control=ControlCounter(),
        sender=Party("ZZ", "ACMEHEALTH"),
        receiver=Party("ZZ", "PRECERT"),
        segments=segments,
    )


def test_response_segments_write_answers_the_reader_understands() -> None:
    text = _answer(
        action="A6",
        number="AUTH-9",
        window=(D, dt.date(2030, 5, 31)),
        reference="ADM-9",
        lines=(LineAnswer("A6", "AUTH-9", code="70553"), LineAnswer("A3", reason="35")),
        messages=("Approved as 70553",),
    )
    result = _read(text)
    d = result.determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    assert d.decision_date == dt.date(2030, 3, 2) and d.reference == "ADM-9"
    assert [(x.code, x.status, x.approved_code) for x in d.lines] == [
        ("70551", LineStatus.MODIFIED, "70553"),
        ("J1745", LineStatus.DENIED, None),
    ]
    assert result.messages == ("Approved as 70553",)
    pended = _read(_answer(action="A4", attachments=(("09", "FX"),), reference="P-1"))
    assert pended.kind is ResultKind.INFO_REQUESTED and pended.reference == "P-1"
    for level in ("20", "21", "22", "EV"):
        rejected = _read(_answer(reject=(level, "75", "C")))
        assert rejected.kind is ResultKind.REJECTED, level
        assert rejected.issues[0].location.endswith(f"(AAA) loop {HL_LOOPS[level]}")


HL_LOOPS = {"20": "2000A", "21": "2000B", "22": "2000C", "EV": "2000E"}


# -- fuzz: only InvalidInput --------------------------------------------------------------------

RESPONSE = _response(("HCR", "A2", "AUTH-1"), extra=[WINDOW], lines=[("HCR", "A1"), ("HCR", "A3")])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([GOOD, RESPONSE]),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2000),
            st.integers(min_value=0, max_value=6),
            st.sampled_from(["", "*", ":", "~", "~\n", "^", "HL*9*9*EV*1~", "A", "9", "\r"]),
        ),
        max_size=4,
    ),
)
def test_fuzzed_278s_raise_only_invalid_input(text: str, edits: list[tuple[int, int, str]]) -> None:
    for at, cut, insert in edits:
        at = 106 + at % max(len(text) - 106, 1)  # keep the ISA readable most of the time
        text = text[:at] + insert + text[at + cut :]
    try:
        document = check_278(text)
        acknowledge(document, at=NOW, next_control=ControlCounter())
    except InvalidInput:
        pass
    for reader in (read_requests, read_responses):
        with contextlib.suppress(InvalidInput):
            reader(text)


def test_request278_fields_are_all_read_back() -> None:
    # A guard that a new Request278 field is written and read, not silently defaulted.
    built = request_278(make_request(), at=NOW)
    back = read_requests(_build(make_request()))[0]
    assert isinstance(back, Request278)
    for field in dataclasses.fields(Request278):
        assert getattr(back, field.name) == getattr(built, field.name), field.name


# -- amendments: cancel, extension, revision (UM02 3/4/S with REF*BB) --------------------------

NUMBER = "SIM00000007"


def _amend(kind: str, request: AuthorizationRequest | None = None, **options: object) -> Request278:
    return amendment_278(
        request or make_request(),
        kind=kind,
        authorization_number=NUMBER,
        attempt=1,
        at=NOW,
        **options,  # type: ignore[arg-type]
    )


def _text(r: Request278) -> str:
    return write_278(r, at=NOW, next_control=ControlCounter())


def _flat(text: str) -> str:
    return text.replace("\n", "")


@pytest.mark.parametrize(
    ("kind", "um02", "options"),
    [
        ("cancel", "3", {}),
        ("extend", "4", {"to_date": dt.date(2030, 6, 30)}),
        ("extend", "4", {"units": {"J1745": 6}}),
        ("revise", "S", {"to_date": dt.date(2030, 4, 1), "units": {"70551": 2}}),
    ],
)
def test_an_amendment_passes_validation_and_reads_back_identical(
    kind: str, um02: str, options: dict[str, object]
) -> None:
    amended = _amend(kind, **options)
    assert (amended.certification_type, amended.authorization_number) == (um02, NUMBER)
    assert amended.trace == request_278(make_request(), at=NOW).trace  # the same request key
    text = _text(amended)
    assert check_278(text).findings == []
    (back,) = read_requests(text)
    assert back == amended
    flat = _flat(text)
    assert f"UM*HS*{um02}*" in flat
    # REF*BB right after UM in 2000E and in every 2000F (X217 previous review authorization).
    assert flat.count(f"REF*BB*{NUMBER}~") == 1 + len(amended.lines)
    for segment in (f"UM*HS*{um02}*", "UM*HS**"):
        assert flat.split(segment, 1)[1].split("~", 2)[1] == f"REF*BB*{NUMBER}"


def test_an_extension_moves_the_end_date_and_sets_the_units_asked() -> None:
    amended = _amend("extend", to_date=dt.date(2030, 6, 30), units={"J1745": 6})
    mri, infusion = amended.lines
    assert (mri.to_date, mri.units) == (dt.date(2030, 6, 30), 1)
    assert (infusion.to_date, infusion.units) == (dt.date(2030, 6, 30), 6)
    assert amended.to_date == dt.date(2030, 6, 30)
    assert amended.from_date == dt.date(2030, 3, 2)


def test_a_cancel_names_the_lines_as_certified() -> None:
    amended = _amend("cancel")
    assert amended.lines == request_278(make_request(), at=NOW).lines


def test_a_revision_sets_the_end_but_never_ends_a_line_before_it_starts() -> None:
    later = ServiceLine("J1745", 3, dt.date(2030, 3, 20), dt.date(2030, 4, 30), "11", ("K50.90",))
    request = make_request(lines=(_line("70551", pos="22"), later))
    amended = _amend("revise", request, to_date=dt.date(2030, 3, 10))
    assert [(line.from_date, line.to_date) for line in amended.lines] == [
        (D, dt.date(2030, 3, 10)),
        (dt.date(2030, 3, 20), dt.date(2030, 3, 20)),
    ]


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("renew", {}, "kind: use one of cancel, extend, revise, not 'renew'."),
        ("cancel", {"to_date": D}, "a cancellation changes no dates or units"),
        ("extend", {}, "an extension needs a new end date or new units"),
        ("extend", {"to_date": dt.date(2030, 4, 1)}, "an extension cannot end earlier"),
        ("extend", {"units": {"99999": 2}}, "units: 99999 is not a line of this request."),
        ("revise", {"units": {"J1745": 0}}, "units: give at least 1 unit per code."),
        ("revise", {"to_date": dt.date(2030, 1, 1)}, "before the first service date"),
    ],
)
def test_an_amendment_that_cannot_be_sent_says_what_to_fix(
    kind: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _amend(kind, **options)
    assert message in str(raised.value)


@pytest.mark.parametrize("number", ["", "  ", "A*B", "X" * 51])
def test_the_authorization_number_must_be_one_the_segment_can_carry(number: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        amendment_278(make_request(), kind="cancel", authorization_number=number, attempt=1, at=NOW)
    assert "authorization_number: give the payer's certification number" in str(raised.value)


def test_a_referring_um02_without_ref_bb_is_a_located_finding_and_a_rejecting_999() -> None:
    text = _text(dataclasses.replace(_amend("extend", units={"J1745": 4}), authorization_number=""))
    document = check_278(text)
    (finding,) = document.findings
    assert finding.issue.code == "x12.previous_authorization"
    assert finding.issue.message.startswith("UM02 4 (extension) refers to an earlier")
    assert finding.issue.location == "ISA/GS[1]/ST[1]/segment 10 (REF)"  # the 2000E HL
    ack = _flat(acknowledge(document, at=NOW, next_control=ControlCounter()))
    assert "IK3*REF*10**3~" in ack
    assert "IK5*R*5~" in ack
    with pytest.raises(InvalidInput) as raised:
        read_requests(text)
    assert "add REF*BB" in str(raised.value.issues[0].message)


def test_ref_bb_twice_in_a_loop_is_reported() -> None:
    amended = _amend("cancel")
    segments = request_segments(amended)
    at = segments.index(("REF", "BB", NUMBER))
    segments.insert(at + 1, ("REF", "BB", "OTHER1"))
    text = write_278(amended, at=NOW, next_control=ControlCounter(), segments=segments)
    findings = check_278(text).findings
    # Only the second REF*BB is refused, with its cause named.
    (ours,) = [f for f in findings if f.issue.code == "x12.max_use"]
    assert ours.issue.message.startswith("REF*BB (previous review authorization number) may")
    assert ours.segment == at + 3  # ST is 1, BHT 2: our list starts at BHT


def test_a_new_request_with_um02_i_needs_no_ref_bb() -> None:
    text = _build(make_request())
    assert "REF*BB" not in text
    assert check_278(text).findings == []


def test_the_response_to_a_cancel_is_cancelled_with_the_number() -> None:
    amended = _amend("cancel")
    segments = response_segments(
        amended, at=NOW, action="C", number=NUMBER, lines=(LineAnswer("C", NUMBER),) * 2
    )
    text = write_278(amended, at=NOW, next_control=ControlCounter(), segments=segments)
    assert f"HCR*C*{NUMBER}~" in _flat(text)
    (result,) = read_responses(text)
    assert result.kind is ResultKind.CANCELLED
    assert result.certification_number == NUMBER
    assert result.trace == amended.trace
