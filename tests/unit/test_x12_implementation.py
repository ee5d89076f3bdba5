"""The declarative X12 checker (implementation.py): which rule a segment takes when one tag has
rules in a loop and in its sub-loops (issue 4: REF*BB then REF*NT in 278 loop 2000E), sub-loops
inside sub-loops, and repeating elements."""

from __future__ import annotations

from precert.channels.x12.envelope import read
from precert.channels.x12.implementation import (
    ElementRule,
    Implementation,
    LoopRule,
    SegmentRule,
    SubLoop,
    check_document,
)
from precert.channels.x12.x215 import X215
from precert.channels.x12.x217 import X217

HEAD_278 = [
    "BHT*0007*13*REQ1*20300301*0900",
    "HL*1**20*1",
    "NM1*X3*2*ACME*****PI*ACME01",
    "HL*2*1*21*1",
    "NM1*1P*2******XX*1234567893",
    "HL*3*2*22*1",
    "NM1*IL*1*SYNTHETIC*TESTPATIENT****MI*ZZ-CANARY-789",
    "HL*4*3*EV*1",
    "TRN*1*REQ1*9PRECERT00",
    "UM*HS*3*62*22:B",
]


def interchange(code: str, version: str, body: list[str], group: str = "HI") -> str:
    """One interchange holding one set with `body` between ST and SE, counts right."""
    segments = [
        "ISA*00*          *00*          *ZZ*PRECERT        *ZZ*ACMEHEALTH     *300301*0900*^*00501"
        "*000000001*0*T*:",
        f"GS*{group}*PRECERT*ACMEHEALTH*20300301*0900*1*X*{version}",
        f"ST*{code}*0001*{version}",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segments) + "~\n"


def findings(text: str, spec: Implementation) -> list[tuple[str, int, str]]:
    """(issue code, segment position in the set, tag) for each finding."""
    document = read(text)
    assert document.findings == []  # the envelope is right: every finding below is the guide's
    check_document(document, [spec])
    return [(f.issue.code, f.segment, f.tag) for f in document.findings]


def check_278(event: list[str], service: list[str] | None = None) -> list[tuple[str, int, str]]:
    body = [*HEAD_278, *event]
    if service is not None:
        body += ["HL*5*4*SS*0", "TRN*1*REQ1.1*9PRECERT00", "UM*HS**62*22:B", *service]
    return findings(interchange("278", "005010X217", body), X217)


def test_ref_bb_then_ref_nt_in_2000e_is_accepted() -> None:
    event = ["REF*BB*AUTH123", "REF*NT*ADMIN9", "DTP*472*D8*20300302", "HI*ABK:G43909"]
    assert check_278(event) == []


def test_ref_bb_then_ref_nt_in_2000f_is_accepted() -> None:
    event = ["REF*BB*AUTH123", "DTP*472*D8*20300302", "HI*ABK:G43909"]
    service = ["REF*BB*AUTH123", "REF*NT*ADMIN9", "DTP*472*D8*20300302", "SV1*HC:70551**UN*1"]
    assert check_278(event, service) == []


def test_a_ref_after_an_nm1_belongs_to_2010ea() -> None:
    provider = ["NM1*SJ*2******XX*1245319599", "REF*NT*ADMIN9", "N3*1 MAIN ST"]
    # N3 exists only in 2010EA, after its REF: no finding means the REF was taken there.
    assert check_278(["HI*ABK:G43909", *provider]) == []
    # A 2000E DTP after the 2010EA REF is out of order: the REF did not stay in 2000E.
    late = check_278(["HI*ABK:G43909", *provider[:2], "DTP*472*D8*20300302"])
    assert late == [("x12.sequence", 15, "DTP")]


def test_a_ref_cannot_open_2010ea_without_its_nm1() -> None:
    # After MSG the 2000E REF is behind us; the REF of 2010EA needs an NM1 first.
    found = check_278(["HI*ABK:G43909", "MSG*SEE NOTES", "REF*NT*ADMIN9"])
    assert found == [("x12.sequence", 14, "REF")]
    # N3 without NM1: there is no 2000E N3 at all.
    assert check_278(["HI*ABK:G43909", "N3*1 MAIN ST"]) == [("x12.unexpected_segment", 13, "N3")]


def test_the_current_rule_repeats_only_up_to_its_max_use() -> None:
    refs = [f"REF*NT*R{n}" for n in range(10)]  # the 2000E REF may occur 9 times
    assert check_278([*refs, "HI*ABK:G43909"]) == [("x12.max_use", 21, "REF")]


# -- nested sub-loops and repeating elements, on a small guide of our own --------------------

ENTITY = SegmentRule("NM1", "entity", "R", 1, (), (1, frozenset({"P3", "IL"})))
TOY = Implementation(
    "999",  # any ST01 the checker is given a guide for
    "TOY",
    (),
    (
        LoopRule(
            "A",
            "top",
            "20",
            frozenset(),
            (
                SubLoop(
                    "A1",
                    "person",
                    (
                        SegmentRule("NM1", "person", "R", 1, (), (1, frozenset({"IL"}))),
                        SubLoop(
                            "A2",
                            "benefit",
                            (
                                SegmentRule(
                                    "EB",
                                    "benefit",
                                    "R",
                                    1,
                                    (
                                        ElementRule(
                                            3, "type", codes=frozenset({"1", "30"}), repeats=3
                                        ),
                                    ),
                                ),
                                SegmentRule("LS", "loop start", "S"),
                                SubLoop(
                                    "A3", "entity", (ENTITY, SegmentRule("N3", "street")), "S", 2
                                ),
                                SegmentRule("LE", "loop end", "S"),
                            ),
                            "S",
                            5,
                        ),
                    ),
                    "R",
                ),
            ),
        ),
    ),
)


def check_toy(body: list[str]) -> list[tuple[str, int, str]]:
    return findings(interchange("999", "TOY", ["HL*1**20*0", "NM1*IL*1", *body]), TOY)


def test_sub_loops_nest_and_repeat_within_their_parent() -> None:
    entity = ["NM1*P3*1", "N3*1 MAIN ST"]
    assert check_toy(["EB*1", "LS*1", *entity, *entity, "LE*1", "EB*1"]) == []
    # NM1*IL inside LS/LE is the inner entity again, not a second person.
    assert check_toy(["EB*1", "LS*1", *entity, "NM1*IL*1", "LE*1"]) == []
    # A third entity in one benefit is over A3's maximum; a new benefit starts the count afresh.
    three = ["EB*1", "LS*1", *entity * 3, "LE*1"]
    assert check_toy(three) == [("x12.loop_max_use", 10, "NM1")]
    assert check_toy(["EB*1", "LS*1", *entity * 2, "LE*1", "EB*1", "LS*1", *entity]) == []


def test_a_nested_segment_needs_its_sub_loop_opened() -> None:
    # N3 belongs to the entity loop: without its NM1 it is not expected.
    assert check_toy(["EB*1", "LS*1", "N3*1 MAIN ST"]) == [("x12.unexpected_segment", 6, "N3")]
    # Entity before any benefit: LS and the entity exist only inside a benefit.
    assert check_toy(["LS*1"]) == [("x12.unexpected_segment", 4, "LS")]


def test_a_repeating_element_is_checked_repeat_by_repeat() -> None:
    assert check_toy(["EB*1**1^30"]) == []
    assert check_toy(["EB*1**1^XX"]) == [("x12.code", 4, "EB")]
    assert check_toy(["EB*1**1^30^1^30"]) == [("x12.too_many_repeats", 4, "EB")]


def test_guides_sharing_an_st01_are_told_apart_by_st03() -> None:
    # The CLI passes X217 and X215 (both 278): each set is checked against its own ST03's guide.
    request = interchange("278", "005010X217", [*HEAD_278, "HI*ABK:G43909"])
    inquiry = request.replace("005010X217", "005010X215")
    for text in (request, inquiry):
        for guides in ([X217, X215], [X215, X217]):
            document = read(text)
            check_document(document, guides)
            assert document.findings == []
    # A version neither guide has is checked against the first one given, and named.
    other = read(request.replace("ST*278*0001*005010X217", "ST*278*0001*005010X999"))
    check_document(other, [X217, X215])
    assert [f.issue.code for f in other.findings] == ["x12.version"]
