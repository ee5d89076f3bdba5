"""005010X279A1, the 270 eligibility inquiry, as data for `implementation.check_set`: the HL loops
2000A-2000D, the segments precert writes (tx270.py) and those a provider system commonly adds.

Only the 270 is described (the 271 is read by tx271.py, which tolerates what it does not know).
Code lists are small subsets in our own words; check a code against the TR3 before adding it.
"""

from __future__ import annotations

from precert.channels.x12.implementation import (
    ElementRule,
    Implementation,
    LoopRule,
    SegmentRule,
    SubLoop,
    ValueCheck,
    date_check,
    time_check,
)
from precert.channels.x12.x217 import npi_check

VERSION = "005010X279A1"

HL_LEVELS = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D"}
SOURCE_ENTITIES = frozenset({"2B", "36", "GP", "P5", "PR"})
RECEIVER_ENTITIES = frozenset({"1P", "2B", "36", "80", "FA", "GP", "P5", "PR"})
ID_QUALIFIERS = frozenset({"24", "34", "46", "FI", "II", "MI", "NI", "PI", "PP", "SV", "XV", "XX"})
DTP_291_QUALIFIERS = frozenset({"291", "102", "307", "435", "472"})


def _e(
    position: int,
    name: str,
    usage: str = "S",
    max_length: int = 80,
    *,
    min_length: int = 1,
    codes: frozenset[str] | None = None,
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
        codes,
        0,
        check,
        when,
        echo,
    )


def _nm1(entities: frozenset[str], usage: str = "R") -> SegmentRule:
    return SegmentRule(
        "NM1",
        "name",
        "R" if usage == "R" else "S",
        1,
        (
            _e(1, "entity identifier code", "R", 3, min_length=2, codes=entities),
            _e(2, "entity type", "R", 1, codes=frozenset({"1", "2"})),
            _e(3, "last or organization name", "S", 60, echo=False),
            _e(4, "first name", "S", 35, echo=False),
            _e(8, "identification code qualifier", "S", 2, codes=ID_QUALIFIERS),
            _e(9, "identification code", "S", 80, min_length=2, echo=False),
            _e(9, "NPI", "S", 10, check=npi_check, when=(8, frozenset({"XX"}))),
        ),
        (1, entities),
    )


BHT = SegmentRule(
    "BHT",
    "beginning of hierarchical transaction",
    "R",
    1,
    (
        _e(1, "structure code", "R", 4, min_length=4, codes=frozenset({"0022"})),
        _e(2, "purpose", "R", 2, min_length=2, codes=frozenset({"01", "13", "36"})),
        _e(3, "reference", "S", 50),
        _e(4, "date", "R", 8, min_length=8, check=date_check),
        _e(5, "time", "R", 8, min_length=4, check=time_check),
    ),
)
TRN = SegmentRule(
    "TRN",
    "trace number",
    "S",
    2,
    (
        _e(1, "trace type", "R", 2, codes=frozenset({"1"})),
        _e(2, "trace number", "R", 50),
        _e(3, "originator", "R", 10, min_length=10),
    ),
)
REF = SegmentRule("REF", "reference", "S", 9, (_e(1, "qualifier", "R", 3, min_length=2),))
N3 = SegmentRule("N3", "address", "S", 1, (_e(1, "address", "R", 55, echo=False),))
N4 = SegmentRule("N4", "city, state, zip", "S", 1, (_e(1, "city", "S", 30, echo=False),))
PRV = SegmentRule("PRV", "provider information", "S", 1, (_e(1, "provider code", "R", 3),))
DMG = SegmentRule(
    "DMG",
    "demographics",
    "S",
    1,
    (
        _e(1, "date format", "R", 3, min_length=2, codes=frozenset({"D8"})),
        _e(2, "birth date", "R", 8, min_length=8, check=date_check, echo=False),
        _e(3, "gender", "S", 1, codes=frozenset({"F", "M", "U"})),
    ),
)
INS = SegmentRule("INS", "relationship", "S", 1, (_e(1, "subscriber indicator", "R", 1),))
HI = SegmentRule("HI", "diagnosis", "S", 1, (_e(1, "diagnosis", "R", 30),))
DTP = SegmentRule(
    "DTP",
    "date",
    "S",
    1,
    (
        _e(1, "date qualifier", "R", 3, min_length=3, codes=DTP_291_QUALIFIERS),
        _e(2, "date format", "R", 3, min_length=2, codes=frozenset({"D8", "RD8"})),
        _e(3, "date", "R", 35, min_length=8),
        _e(3, "date", "R", 8, min_length=8, check=date_check, when=(2, frozenset({"D8"}))),
    ),
)
EQ = SegmentRule(
    "EQ",
    "eligibility inquiry",
    "R",
    1,
    (_e(1, "service type", "S", 2),),
)
III = SegmentRule("III", "place of service", "S", 1, (_e(1, "qualifier", "R", 2),))


def _eq_loop(loop_id: str) -> SubLoop:
    return SubLoop(loop_id, "eligibility inquiry", (EQ, III, REF, DTP), "S", 99)


X270 = Implementation(
    "270",
    VERSION,
    (BHT,),
    (
        LoopRule(
            "2000A",
            "information source",
            "20",
            frozenset(),
            (SubLoop("2100A", "information source name", (_nm1(SOURCE_ENTITIES),), "R"),),
        ),
        LoopRule(
            "2000B",
            "information receiver",
            "21",
            frozenset({"20"}),
            (
                SubLoop(
                    "2100B",
                    "information receiver name",
                    (_nm1(RECEIVER_ENTITIES), REF, N3, N4, PRV),
                    "R",
                ),
            ),
        ),
        LoopRule(
            "2000C",
            "subscriber",
            "22",
            frozenset({"21"}),
            (
                TRN,
                SubLoop(
                    "2100C",
                    "subscriber name",
                    (_nm1(frozenset({"IL"})), REF, N3, N4, PRV, DMG, INS, HI, DTP),
                    "R",
                ),
                _eq_loop("2110C"),
            ),
        ),
        LoopRule(
            "2000D",
            "dependent",
            "23",
            frozenset({"22"}),
            (
                TRN,
                SubLoop(
                    "2100D",
                    "dependent name",
                    (_nm1(frozenset({"03"})), REF, N3, N4, PRV, DMG, INS, HI, DTP),
                    "R",
                ),
                _eq_loop("2110D"),
            ),
            usage="S",
        ),
    ),
)
