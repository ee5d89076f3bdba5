"""999 acknowledgments: written for a good and a bad group, read back into accepted/rejected per
set with their errors; bad 999s are refused with a location."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from precert.channels.x12.ack999 import acknowledge, group_acknowledgment, read_999
from precert.channels.x12.envelope import ControlCounter, parse, read
from precert.channels.x12.errors import Finding
from precert.errors import InvalidInput, Issue

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "lfh-x12-5010-samples"
AT = dt.datetime(2026, 12, 1, 8, 5, tzinfo=dt.UTC)


def sample(relative: str) -> str:
    return (SAMPLES / relative).read_text()


GOOD = sample("837_005010X222A2/demo.example1.837")


def ack(text: str) -> str:
    return acknowledge(read(text), at=AT, next_control=ControlCounter(500))


def test_a_good_group_is_accepted() -> None:
    text = ack(GOOD)
    document = parse(text)  # the 999 has sound envelopes itself
    interchange = document.interchanges[0]
    assert interchange.element(6) == "12345" and interchange.element(8) == "000000005"
    (group,) = interchange.groups
    assert group.functional_id == "FA" and group.version == "005010X231A1"
    assert [tuple((s.tag, *s.elements) for s in t.body) for t in group.sets] == [
        (
            ("AK1", "HC", "1", "005010X222A2"),
            ("AK2", "837", "0021", "005010X222A2"),
            ("IK5", "A"),
            ("AK9", "A", "1", "1", "1"),
        )
    ]
    (answer,) = read_999(text)
    assert (answer.functional_id, answer.control_number, answer.status) == ("HC", "1", "A")
    assert [(s.code, s.control_number, s.accepted) for s in answer.sets] == [("837", "0021", True)]


def test_a_bad_group_is_rejected_with_segment_and_set_codes() -> None:
    start, end = GOOD.index("ST*837"), GOOD.index("GE*")
    second = GOOD[start:end].replace("0021", "0022").replace("NM1*41*2*", "NM1|41|2|", 1)
    third = GOOD[start:end].replace("0021", "0023").replace("SE*40*0023", "SE*41*0023")
    text = GOOD[:end] + second + third + GOOD[end:].replace("GE*1*1", "GE*3*1")
    (answer,) = read_999(ack(text))
    assert answer.status == "P"
    assert (answer.included, answer.received, answer.accepted) == (3, 3, 1)
    first, bad_segment, bad_count = answer.sets
    assert first.accepted and not first.errors
    assert (bad_segment.status, bad_segment.codes) == ("R", ["5"])
    assert [(e.tag, e.position, e.code) for e in bad_segment.errors] == [("NM1", "3", "1")]
    assert (bad_count.status, bad_count.codes) == ("R", ["4"])


def test_a_group_with_a_wrong_trailer_is_rejected_as_a_whole() -> None:
    (answer,) = read_999(ack(GOOD.replace("GE*1*1~", "GE*1*9~")))
    assert (answer.status, answer.codes, answer.accepted) == ("R", ["4"], 0)
    assert answer.sets[0].accepted  # the set itself was fine


def test_a_missing_se_is_code_2() -> None:
    body = group_acknowledgment(read(GOOD.replace("SE*40*0021~\n", "")).interchanges[0].groups[0])
    assert ("IK5", "R", "2") in body.segments
    assert body.segments[-1][:2] == ("AK9", "R")


def test_a_file_without_groups_cannot_be_acknowledged() -> None:
    isa = GOOD[: GOOD.index("GS*")]
    with pytest.raises(InvalidInput, match="no functional group"):
        ack(isa + "IEA*0*000000907~")


@pytest.mark.parametrize(
    ("replace", "words"),
    [
        (("AK1*HC*1*005010X222A2~", ""), "must start with AK1"),
        (("IK5*A~", "IK5*A~ZZ*1~"), "does not belong in a 999"),
        (("AK9*A*1*1*1~", "AK9*A*1*x*1~"), "must be a count"),
        (("ST*999", "ST*998"), "Expected a 999"),
    ],
)
def test_unreadable_999s_are_refused_with_a_location(replace: tuple[str, str], words: str) -> None:
    text = ack(GOOD).replace("\n", "").replace(*replace)
    if replace[1] == "":  # keep SE01 right so only the 999 content is wrong
        text = text.replace("SE*6*", "SE*5*")
    elif replace[1].count("~") == 2:
        text = text.replace("SE*6*", "SE*7*")
    with pytest.raises(InvalidInput) as caught:
        read_999(text)
    assert words in caught.value.issues[0].message
    assert caught.value.issues[0].location.startswith("ISA/GS[1]/ST[1]")


def test_a_999_with_broken_envelopes_is_refused() -> None:
    with pytest.raises(InvalidInput, match="envelope problems"):
        read_999(ack(GOOD).replace("SE*6*", "SE*9*"))


def test_element_errors_from_a_validator_become_ik3_and_ik4() -> None:
    """Transaction validation (278, 270/271) adds element Findings to a set; the 999 carries
    them as IK3 (IK304 8) with one IK4 per element, in segment order."""
    document = read(GOOD)
    (transaction,) = document.interchanges[0].groups[0].sets

    def element_error(segment: int, tag: str, element: int, code: str, value: str) -> Finding:
        problem = Issue("x12.element", "synthetic", f"segment {segment}")
        return Finding(problem, "element", code, 1, 1, 1, segment, tag, element, value)

    transaction.findings += [
        element_error(9, "NM1", 9, "7", "BADNPI"),
        element_error(4, "BHT", 2, "7", "99"),
        element_error(9, "NM1", 8, "1", ""),
    ]
    text = acknowledge(document, at=AT, next_control=ControlCounter())
    assert (
        "IK3*BHT*4**8~\nIK4*2**7*99~\nIK3*NM1*9**8~\nIK4*9**7*BADNPI~\nIK4*8**1~\nIK5*R*5~" in text
    )
    (answer,) = read_999(text)
    (rejected,) = answer.sets
    assert not rejected.accepted and answer.status == "R"
    assert [
        (e.tag, e.position, [(x.position, x.code, x.value) for x in e.elements])
        for e in rejected.errors
    ] == [
        ("BHT", "4", [("2", "7", "99")]),
        ("NM1", "9", [("9", "7", "BADNPI"), ("8", "1", "")]),
    ]


def test_values_copied_into_the_999_are_made_safe() -> None:
    """A broken ST01 (a line break where the code belongs) must not break our own 999 (found by
    bench/fuzz_x12.py)."""
    text = GOOD.replace("ST*837*", "ST*83\n\n7*", 1)
    (answer,) = read_999(ack(text))
    (rejected,) = answer.sets
    assert (rejected.code, rejected.status) == ("837", "R")
