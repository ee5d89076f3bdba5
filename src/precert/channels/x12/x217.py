"""005010X217, the 278 health care services review (request and response), as data for
`implementation.check_set`: the HL loops 2000A-2000F, the segments precert writes and reads, and
the code values we check.

Only the parts precert uses are described; a segment the guide allows and we do not know is
reported as unexpected. Code lists are small subsets in our own words (X12 owns the full lists):
check a code a payer sends against the TR3 before adding it here. `check_situational` adds the
rules that span segments, which the declarative checker cannot say (a request that cancels,
extends or revises must name the certification in REF*BB).
"""

from __future__ import annotations

from precert.channels.x12.envelope import TransactionSet, X12Document
from precert.channels.x12.errors import Finding, issue, locate
from precert.channels.x12.implementation import (
    ElementRule,
    Implementation,
    LoopRule,
    SegmentRule,
    SubLoop,
    ValueCheck,
    d8_check,
    digits_check,
    private_date_check,
    rd8_check,
    time_check,
)
from precert.channels.x12.tokens import Segment
from precert.domain import codes
from precert.errors import InvalidInput

VERSION = "005010X217"

# HCR01, element 306: what the reviewer decided.
HCR01_ACTIONS: dict[str, str] = {
    "A1": "certified in total",
    "A2": "certified in part",
    "A3": "not certified",
    "A4": "pended",
    "A6": "modified",
    "C": "cancelled",
    "CT": "contact the payer",
    "NA": "no action required",
}
UM01_CATEGORIES: dict[str, str] = {
    "AR": "admission review",
    "HS": "health services review",
    "SC": "specialty care review",
}
UM02_CERTIFICATION_TYPES: dict[str, str] = {
    "I": "initial",
    "R": "renewal",
    "S": "revised",
    "3": "cancel",
    "4": "extension",
    "1": "appeal, immediate",
    "2": "appeal, standard",
}
# UM02 values that refer back to a certification the payer gave: REF*BB must name it.
UM02_REFERRING = frozenset({"3", "4", "S"})
UM06_LEVELS = frozenset({"03", "E", "U"})  # emergency, elective, urgent
# AAA04, what the submitter should do next.
AAA04_FOLLOW_UPS: dict[str, str] = {
    "C": "correct the request and send it again",
    "N": "do not send it again",
    "P": "send the original request again",
    "R": "it may be sent again",
    "S": "do not send it again; the payer is asking a third party",
    "W": "wait 30 days and send it again",
    "X": "wait 10 days and send it again",
    "Y": "do not send it again; the payer will answer",
}
# AAA03, why the request was rejected: the reasons a submitter meets most.
AAA03_REASONS: dict[str, str] = {
    "15": "required data is missing",
    "33": "input errors",
    "35": "out of network",
    "41": "authorization or access restrictions",
    "42": "the payer cannot answer now",
    "43": "provider identification missing or invalid",
    "44": "provider name missing or invalid",
    "51": "provider not on file",
    "57": "service dates missing or invalid",
    "58": "birth date missing or invalid",
    "64": "patient id missing or invalid",
    "65": "patient name missing or invalid",
    "67": "patient not found",
    "71": "birth date does not match the payer's",
    "72": "member id missing or invalid",
    "73": "subscriber name missing or invalid",
    "75": "subscriber not found",
    "76": "duplicate member id",
    "78": "subscriber not in the plan",
    "AA": "authorization number not found",
    "AF": "diagnosis codes missing or invalid",
    "AG": "procedure codes missing or invalid",
}
NM1_ENTITIES: dict[str, str] = {
    "X3": "utilization management organization",
    "PR": "payer",
    "2B": "third-party administrator",
    "1P": "provider",
    "FA": "facility",
    "80": "hospital",
    "IL": "subscriber",
    "QC": "patient",
    "SJ": "service provider",
    "DK": "ordering physician",
    "DN": "referring provider",
    "71": "attending physician",
    "72": "operating physician",
    "77": "service location",
}
HL_LEVELS = {
    "20": "2000A",
    "21": "2000B",
    "22": "2000C",
    "23": "2000D",
    "EV": "2000E",
    "SS": "2000F",
}
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "ABJ", "ABN", "BK", "BF"})
DTP_QUALIFIERS = frozenset({"472", "AAH", "AAM", "AAG", "382", "435", "096", "439", "036"})
REF_QUALIFIERS = frozenset({"NT", "BB", "9F", "G1", "EJ", "6P"})
PWK_TRANSMISSION = frozenset({"AA", "BM", "EL", "EM", "FT", "FX"})
ID_QUALIFIERS = frozenset({"XX", "PI", "MI", "24", "34", "46", "SV", "II"})


def npi_check(value: str) -> tuple[str, str] | None:
    if not (len(value) == 10 and value.isdigit()):
        return "7", f"'{value[:12]}' is not an NPI: an NPI is exactly 10 digits."
    try:
        codes.npi(value)
    except InvalidInput:
        return "7", f"'{value}' fails the NPI check digit; re-check the number (NPPES registry)."
    return None


def _quantity(value: str) -> tuple[str, str] | None:
    whole, _, decimals = value.partition(".")
    ok = value.isascii() and (whole + decimals).isdigit() and len(whole) <= 12 and float(value) > 0
    return None if ok else ("6", f"'{value[:12]}' is not a positive quantity.")


def _e(
    position: int,
    name: str,
    usage: str = "S",
    max_length: int = 80,
    *,
    min_length: int = 1,
    codes: frozenset[str] | set[str] | dict[str, str] | None = None,
    component: int = 0,
    check: ValueCheck | None = None,
    when: tuple[int, frozenset[str]] | None = None,
    echo: bool = True,
) -> ElementRule:
    return ElementRule(
        position,
        name,
        "R" if usage == "R" else "S",
        min_length,
        max_length,
        frozenset(codes) if codes is not None else None,
        component,
        check,
        when,
        echo,
    )


def _nm1(entities: set[str]) -> SegmentRule:
    return SegmentRule(
        "NM1",
        "name",
        "R",
        1,
        (
            _e(1, "entity identifier code", "R", 3, min_length=2, codes=entities),
            _e(2, "entity type", "R", 1, codes={"1", "2"}),
            _e(3, "last or organization name", "S", 60, echo=False),
            _e(4, "first name", "S", 35, echo=False),
            _e(8, "identification code qualifier", "S", 2, codes=ID_QUALIFIERS),
            _e(9, "identification code", "S", 80, min_length=2, echo=False),
            _e(9, "NPI", "S", 10, check=npi_check, when=(8, frozenset({"XX"}))),
        ),
        (1, frozenset(entities)),
    )


AAA = SegmentRule(
    "AAA",
    "request validation",
    "S",
    9,
    (
        _e(1, "valid request indicator", "R", 1, codes={"Y", "N"}),
        _e(3, "reject reason", "S", 2, codes=AAA03_REASONS),
        _e(4, "follow-up action", "S", 1, codes=AAA04_FOLLOW_UPS),
    ),
)
HL = SegmentRule(
    "HL",
    "hierarchical level",
    "R",
    1,
    (
        _e(1, "hierarchical id", "R", 12, check=digits_check),
        _e(3, "level code", "R", 2, codes=HL_LEVELS),
        _e(4, "child code", "S", 1, codes={"0", "1"}),
    ),
)
TRN = SegmentRule(
    "TRN",
    "trace number",
    "S",
    3,
    (
        _e(1, "trace type", "R", 2, codes={"1", "2"}),
        _e(2, "trace number", "R", 50),
        _e(3, "originator", "R", 10, min_length=10),
    ),
)
UM = SegmentRule(
    "UM",
    "review information",
    "R",
    1,
    (
        _e(1, "request category", "R", 2, codes=UM01_CATEGORIES),
        _e(2, "certification type", "S", 1, codes=UM02_CERTIFICATION_TYPES),
        _e(3, "service type", "S", 2),
        _e(4, "place of service", "S", 2, min_length=2, component=1, check=digits_check),
        _e(4, "facility code qualifier", "S", 1, component=2, codes={"A", "B"}),
        _e(6, "level of service", "S", 2, codes=UM06_LEVELS),
    ),
)
HCR = SegmentRule(
    "HCR",
    "review outcome",
    "S",
    1,
    (
        _e(1, "action", "R", 2, codes=HCR01_ACTIONS),
        _e(2, "certification number", "S", 50),
        _e(3, "reason", "S", 30),
    ),
)
REF = SegmentRule(
    "REF",
    "reference",
    "S",
    9,
    (_e(1, "reference qualifier", "R", 3, codes=REF_QUALIFIERS), _e(2, "reference", "R", 50)),
)
DTP = SegmentRule(
    "DTP",
    "date",
    "S",
    9,
    (
        _e(1, "date qualifier", "R", 3, min_length=3, codes=DTP_QUALIFIERS),
        _e(2, "date format", "R", 3, codes={"D8", "RD8"}),
        _e(3, "date", "R", 17, min_length=8),
        _e(3, "date", "S", 8, min_length=8, check=d8_check, when=(2, frozenset({"D8"}))),
        _e(3, "date range", "S", 17, min_length=8, check=rd8_check, when=(2, frozenset({"RD8"}))),
    ),
)
HI = SegmentRule(
    "HI",
    "diagnoses",
    "S",
    1,
    tuple(
        rule
        for n in range(1, 13)
        for rule in (
            _e(
                n,
                "diagnosis type",
                "R" if n == 1 else "S",
                3,
                component=1,
                codes=DIAGNOSIS_QUALIFIERS,
            ),
            _e(n, "diagnosis code", "R" if n == 1 else "S", 30, component=2),
        )
    ),
)
PWK = SegmentRule(
    "PWK",
    "additional documentation",
    "S",
    10,
    (
        _e(1, "report type", "R", 2, min_length=2),
        _e(2, "transmission code", "S", 2, codes=PWK_TRANSMISSION),
    ),
)
MSG = SegmentRule("MSG", "message text", "S", 1, (_e(1, "free-form text", "R", 264),))
SV1 = SegmentRule(
    "SV1",
    "professional service",
    "S",
    1,
    (
        _e(1, "code qualifier", "R", 2, component=1, codes={"HC", "IV", "WK", "ER"}),
        _e(1, "procedure code", "R", 48, component=2),
        _e(3, "unit basis", "S", 2, codes={"UN", "MJ"}),
        _e(4, "quantity", "S", 15, check=_quantity),
    ),
)
SV2 = SegmentRule(
    "SV2",
    "institutional service",
    "S",
    1,
    (
        _e(1, "revenue code", "S", 48, check=digits_check),
        _e(2, "code qualifier", "S", 2, component=1, codes={"HC", "IV", "WK", "ER"}),
        _e(2, "procedure code", "S", 48, component=2),
        _e(4, "unit basis", "S", 2, codes={"UN", "DA"}),
        _e(5, "quantity", "S", 15, check=_quantity),
    ),
)
PRV = SegmentRule("PRV", "provider information", "S", 1, (_e(1, "provider code", "R", 3),))
DMG = SegmentRule(
    "DMG",
    "demographics",
    "S",
    1,
    (
        _e(1, "date format", "R", 3, codes={"D8"}),
        _e(2, "birth date", "R", 8, min_length=8, check=private_date_check, echo=False),
    ),
)
BHT = SegmentRule(
    "BHT",
    "beginning of hierarchical transaction",
    "R",
    1,
    (
        _e(1, "structure code", "R", 4, codes={"0007"}),
        _e(2, "purpose", "R", 2, codes={"13", "11", "01", "36"}),
        _e(3, "reference", "R", 50),
        _e(4, "date", "R", 8, min_length=8, check=d8_check),
        _e(5, "time", "R", 8, min_length=4, check=time_check),
    ),
)
_PERSON = (
    REF,
    SegmentRule("N3", "address", "S"),
    SegmentRule("N4", "city, state, ZIP", "S"),
    SegmentRule("PER", "contact", "S", 3),
    AAA,
    PRV,
    DMG,
)


def _name_loop(
    loop_id: str, name: str, entities: set[str], usage: str, max_use: int = 1
) -> SubLoop:
    return SubLoop(loop_id, name, (_nm1(entities), *_PERSON), "R" if usage == "R" else "S", max_use)


X217 = Implementation(
    "278",
    VERSION,
    (BHT,),
    (
        LoopRule(
            "2000A",
            "utilization management organization",
            "20",
            frozenset(),
            (AAA, _name_loop("2010A", "UMO name", {"X3", "PR", "2B", "FA"}, "R")),
        ),
        LoopRule(
            "2000B",
            "requester",
            "21",
            frozenset({"20"}),
            (AAA, _name_loop("2010B", "requester name", {"1P", "FA", "80", "X3"}, "R")),
        ),
        LoopRule(
            "2000C",
            "subscriber",
            "22",
            frozenset({"21"}),
            (AAA, _name_loop("2010C", "subscriber name", {"IL"}, "R")),
        ),
        LoopRule(
            "2000D",
            "dependent",
            "23",
            frozenset({"22"}),
            (AAA, _name_loop("2010D", "dependent name", {"QC"}, "R")),
            usage="S",
        ),
        LoopRule(
            "2000E",
            "patient event",
            "EV",
            frozenset({"22", "23"}),
            (
                TRN,
                AAA,
                UM,
                HCR,
                REF,
                DTP,
                HI,
                SegmentRule("HSD", "service delivery", "S"),
                SegmentRule("CL1", "institutional claim code", "S"),
                PWK,
                MSG,
                _name_loop(
                    "2010EA",
                    "patient event provider name",
                    {"SJ", "FA", "DK", "DN", "71", "72", "77"},
                    "S",
                    12,
                ),
            ),
        ),
        LoopRule(
            "2000F",
            "service",
            "SS",
            frozenset({"EV"}),
            (
                TRN,
                AAA,
                UM,
                HCR,
                REF,
                DTP,
                SV1,
                SV2,
                SegmentRule("HSD", "service delivery", "S"),
                PWK,
                MSG,
                _name_loop(
                    "2010F", "service provider name", {"SJ", "FA", "DK", "71", "72"}, "S", 12
                ),
            ),
            usage="S",
        ),
    ),
    stops_at=("AAA", "N"),
)


# -- rules across segments ----------------------------------------------------------------------


def check_situational(document: X12Document) -> None:
    """The X217 rules that span segments, for every 278 request in `document`: in 2000E, UM02 3
    (cancel), 4 (extension) or S (revised) needs REF*BB, the payer's number for the
    certification it refers to (TR3: required when the request follows one the UMO already
    processed and its number is known, which ours always is); REF*BB at most once per loop.
    Findings go to the set and the document, like `check_document`'s."""
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                if transaction.code != "278" or _purpose(transaction) != "13":
                    continue
                found = _referring(transaction, interchange.position, group.position)
                transaction.findings.extend(found)
                document.findings.extend(found)


def _purpose(transaction: TransactionSet) -> str:
    segments = transaction.segments
    return segments[1].element(2) if len(segments) > 1 and segments[1].tag == "BHT" else ""


def _referring(transaction: TransactionSet, interchange: int, group: int) -> list[Finding]:
    found: list[Finding] = []

    def add(code: str, ack: str, message: str, position: int) -> None:
        where = locate(interchange, group, transaction.position, segment=position, tag="REF")
        finding = Finding(
            issue(code, message, where),
            "segment",
            ack,
            interchange,
            group,
            transaction.position,
            position,
            "REF",
        )
        found.append(finding)

    for level, hl, segments in _hl_blocks(transaction):
        numbers = [(p, s) for p, s in segments if s.tag == "REF" and s.element(1) == "BB"]
        for position, _ in numbers[1:]:
            add(
                "x12.max_use",
                "5",
                f"REF*BB (previous review authorization number) may occur once in loop "
                f"{HL_LEVELS.get(level, level)}; send one certification number.",
                position,
            )
        um = next((s for _, s in segments if s.tag == "UM"), None)
        if level == "EV" and um is not None and um.element(2) in UM02_REFERRING and not numbers:
            kind = UM02_CERTIFICATION_TYPES[um.element(2)]
            add(
                "x12.previous_authorization",
                "3",
                f"UM02 {um.element(2)} ({kind}) refers to an earlier certification: add REF*BB "
                "with the payer's certification number after UM in loop 2000E.",
                hl,
            )
    return found


def _hl_blocks(transaction: TransactionSet) -> list[tuple[str, int, list[tuple[int, Segment]]]]:
    """(HL03, position of the HL, its segments with positions) for each HL of the set."""
    blocks: list[tuple[str, int, list[tuple[int, Segment]]]] = []
    end = len(transaction.segments) - (1 if transaction.trailer is not None else 0)
    for index in range(1, end):
        segment = transaction.segments[index]
        if segment.tag == "HL":
            blocks.append((segment.element(3), index + 1, []))
        elif blocks:
            blocks[-1][2].append((index + 1, segment))
    return blocks
