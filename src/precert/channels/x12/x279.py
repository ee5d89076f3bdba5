"""005010X279A1 as data for `implementation.check_set`: X270, the 270 eligibility inquiry (the HL
loops 2000A-2000D, the segments precert writes (tx270.py) and those a provider system commonly
adds), and X271, the 271 eligibility response, whole (2000A-2000D, 2110C/D benefits with 2115C/D
and the LS/2120C/LE related entities), so a payer's answer or our simulator's can be checked.

tx271.py reads a 271 leniently; X271 says what the TR3 allows. Code lists are subsets in our own
words (AAA03 per loop); check a code against the TR3 before adding it.
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
    private_date_check,
    rd8_check,
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
        # private_date_check: a birth date is PHI, the message must not repeat it
        _e(2, "birth date", "R", 8, min_length=8, check=private_date_check, echo=False),
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


# -- 271 -----------------------------------------------------------------------------------------

# EB03: the service type codes of the 005010X279A1 271, copied from
# shared/refdata/service_type_codes.csv (the linuxforhealth-x12 271 enum; see its SOURCES.md).
SERVICE_TYPES = frozenset(
    """
    1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 30 32 33 34 35 36
    37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67
    68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98
    99 A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AQ AR B1 B2 B3
    BA BB BC BD BE BF BG BH BI BJ BK BL BM BN BP BQ BR BS BT BU BV BW BX BY BZ C1 CA CB CC CD CE
    CF CG CH CI CJ CK CL CM CN CO CP CQ DG DM DS GF GN GY IC MH NI ON PT PU RN RT TC TN UC
    """.split()
)
# EB01: 1-8 coverage statuses, A-Y benefit kinds, CB coverage basis, MC managed care coordinator.
EB01_CODES = frozenset(
    "1 2 3 4 5 6 7 8 A B C CB D E F G H I J K L M MC N O P Q R S T U V W X Y".split()
)
# EB02: who the benefit covers.
COVERAGE_LEVELS = frozenset("CHD DEP ECH EMP ESP FAM IND SPC SPO TWO".split())
# EB06: the period an amount or quantity is for (27 visit, 23 calendar year, 29 remaining...).
TIME_PERIODS = frozenset("6 7 13 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36".split())
# AAA03 per loop, and AAA04 (follow-up) for all of them.
AAA_SOURCE = frozenset({"04", "41", "42", "79", "80", "T4"})  # 2000A, 2100A
AAA_RECEIVER = frozenset(
    {"15", "41", "43", "44", "45", "46", "47", "48", "50", "51", "79", "97", "T4"}
)
AAA_PERSON = frozenset(  # 2100C, 2100D
    """15 35 42 43 45 47 48 49 51 52 56 57 58 60 61 62 63 64 65 66 67 68 71 72 73 74 75 76 77
    78""".split()
)
AAA_BENEFIT = frozenset(  # 2110C, 2110D
    """15 33 52 53 54 55 56 57 60 61 62 63 69 70 98 AA AE AF AG AO CI E8 IA MA""".split()
)
AAA_FOLLOW_UP = frozenset({"C", "N", "P", "R", "S", "W", "X", "Y"})
RESPONSE_RECEIVER_QUALIFIERS = frozenset({"24", "34", "FI", "PI", "PP", "SV", "XV", "XX"})
RESPONSE_SOURCE_QUALIFIERS = frozenset({"24", "46", "FI", "NI", "PI", "XV", "XX"})
RELATED_ENTITIES = frozenset(  # 2120C/D NM101
    """13 1I 1P 2B 36 73 7C 80 FA GP GW I3 IL LR P3 P4 P5 PR PRP SEP TTP VER VN VY X3 Y2""".split()
)
RELATED_QUALIFIERS = frozenset(
    {"24", "34", "46", "FA", "FI", "II", "MI", "NI", "PI", "PP", "SV", "XV", "XX"}
)
RECEIVER_REF = frozenset("0B 1C 1D 1J 4A CT EL EO HPI JD N5 N7 Q4 SY TJ".split())
PERSON_REF = frozenset("18 1L 1W 3H 6P CT EA EJ F6 GH HJ IG N6 NQ SY Y4".split())
BENEFIT_REF = frozenset("18 1L 1W 49 6P 9F ALS CLI F6 FO G1 IG M7 N6 NQ".split())
PERSON_DATES = frozenset(
    """096 102 152 291 307 318 340 341 342 343 346 347 356 357 382 435 442 458 472 539 540 636
    771""".split()
)
BENEFIT_DATES = frozenset(
    "096 193 194 198 290 291 292 295 304 307 318 346 348 349 356 357 435 472 636 771".split()
)
DEPENDENT_RELATIONSHIPS = frozenset({"01", "19", "20", "21", "39", "40", "53", "G8"})


def _aaa(reasons: frozenset[str]) -> SegmentRule:
    """AAA: AAA01 Y/N (the request was valid or not), AAA03 why, AAA04 what to do next."""
    return SegmentRule(
        "AAA",
        "request validation",
        "S",
        9,
        (
            _e(1, "valid request indicator", "R", 1, codes=frozenset({"Y", "N"})),
            _e(3, "reject reason", "R", 2, min_length=2, codes=reasons),
            _e(4, "follow-up action", "R", 1, codes=AAA_FOLLOW_UP),
        ),
    )


def _ref(qualifiers: frozenset[str]) -> SegmentRule:
    return SegmentRule(
        "REF",
        "reference",
        "S",
        9,
        (
            _e(1, "reference qualifier", "R", 3, min_length=2, codes=qualifiers),
            _e(2, "reference", "R", 50, echo=False),
        ),
    )


def _dtp(qualifiers: frozenset[str], max_use: int) -> SegmentRule:
    return SegmentRule(
        "DTP",
        "date",
        "S",
        max_use,
        (
            _e(1, "date qualifier", "R", 3, min_length=3, codes=qualifiers),
            _e(2, "date format", "R", 3, min_length=2, codes=frozenset({"D8", "RD8"})),
            _e(3, "date", "R", 35, min_length=8),
            _e(3, "date", "R", 8, min_length=8, check=date_check, when=(2, frozenset({"D8"}))),
            _e(3, "date range", "R", 17, check=rd8_check, when=(2, frozenset({"RD8"}))),
        ),
    )


def _name(
    entities: frozenset[str],
    qualifiers: frozenset[str] | None,
    *,
    types: frozenset[str] = frozenset({"1", "2"}),
    id_required: bool = False,
) -> SegmentRule:
    """NM1 of a 271 loop: NM108/NM109 required where the TR3 says so (source and receiver)."""
    required = "R" if id_required else "S"
    return SegmentRule(
        "NM1",
        "name",
        "R",
        1,
        (
            _e(1, "entity identifier code", "R", 3, min_length=2, codes=entities),
            _e(2, "entity type", "R", 1, codes=types),
            _e(3, "last or organization name", "S", 60, echo=False),
            _e(4, "first name", "S", 35, echo=False),
            _e(8, "identification code qualifier", required, 2, codes=qualifiers),
            _e(9, "identification code", required, 80, min_length=2, echo=False),
            _e(9, "NPI", "S", 10, check=npi_check, when=(8, frozenset({"XX"}))),
        ),
        (1, entities),
    )


RESPONSE_BHT = SegmentRule(
    "BHT",
    "beginning of hierarchical transaction",
    "R",
    1,
    (
        _e(1, "structure code", "R", 4, min_length=4, codes=frozenset({"0022"})),
        _e(2, "purpose", "R", 2, min_length=2, codes=frozenset({"06", "11"})),
        _e(3, "reference", "R", 50),
        _e(4, "date", "R", 8, min_length=8, check=date_check),
        _e(5, "time", "R", 8, min_length=4, check=time_check),
    ),
)
# TRN in 2000C/D: 2 echoes the 270's trace, 1 is a trace the information source adds.
RESPONSE_TRN = SegmentRule(
    "TRN",
    "trace number",
    "S",
    3,
    (
        _e(1, "trace type", "R", 2, codes=frozenset({"1", "2"})),
        _e(2, "trace number", "R", 50),
        _e(3, "originator", "R", 10, min_length=10),
    ),
)
PER = SegmentRule("PER", "contact", "S", 3, (_e(1, "contact function", "R", 2),))
MPI = SegmentRule("MPI", "military personnel", "S", 1, (_e(1, "information status", "R", 1),))
HSD = SegmentRule("HSD", "health care services delivery", "S", 9)
MSG = SegmentRule("MSG", "message text", "S", 10, (_e(1, "free-form text", "R", 264),))
RESPONSE_III = SegmentRule(
    "III",
    "additional information",
    "R",
    1,
    (
        _e(1, "code list qualifier", "R", 3, min_length=2, codes=frozenset({"GR", "NI", "ZZ"})),
        _e(2, "industry code", "R", 30),
    ),
)
LS = SegmentRule(
    "LS", "loop header", "S", 1, (_e(1, "loop identifier", "R", 4, codes=frozenset({"2120"})),)
)
LE = SegmentRule(
    "LE", "loop trailer", "S", 1, (_e(1, "loop identifier", "R", 4, codes=frozenset({"2120"})),)
)
EB = SegmentRule(
    "EB",
    "eligibility or benefit information",
    "R",
    1,
    (
        _e(1, "eligibility or benefit information", "R", 2, codes=EB01_CODES),
        _e(2, "coverage level", "S", 3, min_length=3, codes=COVERAGE_LEVELS),
        ElementRule(3, "service type", "S", 1, 2, SERVICE_TYPES, repeats=99),
        _e(4, "insurance type", "S", 3),
        _e(5, "plan coverage description", "S", 50),
        _e(6, "time period", "S", 2, codes=TIME_PERIODS),
        _e(7, "monetary amount", "S", 18),
        _e(8, "percent", "S", 10),
        _e(9, "quantity qualifier", "S", 2, min_length=2),
        _e(10, "quantity", "S", 15),
        _e(11, "authorization or certification indicator", "S", 1, codes=frozenset("YNU")),
        _e(12, "in plan network indicator", "S", 1, codes=frozenset("YNW")),
    ),
)


def _person(relationship: SegmentRule, suffix: str) -> tuple[SegmentRule | SubLoop, ...]:
    """The segments of 2100C/2100D after the NM1, then 2110C/D (EB, its details, 2115, 2120)."""
    related = SubLoop(
        f"2120{suffix}",
        "benefit related entity",
        (
            _name(RELATED_ENTITIES, RELATED_QUALIFIERS),
            N3,
            N4,
            PER,
            SegmentRule("PRV", "provider information", "S", 1, (_e(1, "provider code", "R", 3),)),
        ),
        "S",
        23,
    )
    benefit = SubLoop(
        f"2110{suffix}",
        "eligibility or benefit information",
        (
            EB,
            HSD,
            _ref(BENEFIT_REF),
            _dtp(BENEFIT_DATES, 20),
            _aaa(AAA_BENEFIT),
            MSG,
            SubLoop(f"2115{suffix}", "additional information", (RESPONSE_III,), "S", 10),
            LS,
            related,
            LE,
        ),
        "S",
        99999,  # the TR3 puts no limit on the EB loops
    )
    return (
        _ref(PERSON_REF),
        N3,
        N4,
        _aaa(AAA_PERSON),
        PRV,
        DMG,
        relationship,
        HI,
        _dtp(PERSON_DATES, 9),
        MPI,
        benefit,
    )


SUBSCRIBER_INS = SegmentRule(
    "INS",
    "relationship",
    "S",
    1,
    (
        _e(1, "subscriber indicator", "R", 1, codes=frozenset({"Y"})),
        _e(2, "relationship", "R", 2, codes=frozenset({"18"})),
    ),
)
DEPENDENT_INS = SegmentRule(
    "INS",
    "relationship",
    "S",
    1,
    (
        _e(1, "subscriber indicator", "R", 1, codes=frozenset({"N"})),
        _e(2, "relationship", "R", 2, codes=DEPENDENT_RELATIONSHIPS),
    ),
)

X271 = Implementation(
    "271",
    VERSION,
    (RESPONSE_BHT,),
    (
        LoopRule(
            "2000A",
            "information source",
            "20",
            frozenset(),
            (
                _aaa(AAA_SOURCE),
                SubLoop(
                    "2100A",
                    "information source name",
                    (
                        _name(SOURCE_ENTITIES, RESPONSE_SOURCE_QUALIFIERS, id_required=True),
                        PER,
                        _aaa(AAA_SOURCE),
                    ),
                    "R",
                ),
            ),
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
                    (
                        _name(RECEIVER_ENTITIES, RESPONSE_RECEIVER_QUALIFIERS, id_required=True),
                        _ref(RECEIVER_REF),
                        N3,
                        N4,
                        _aaa(AAA_RECEIVER),
                        PRV,
                    ),
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
                RESPONSE_TRN,
                SubLoop(
                    "2100C",
                    "subscriber name",
                    (
                        _name(frozenset({"IL"}), frozenset({"II", "MI"})),
                        *_person(SUBSCRIBER_INS, "C"),
                    ),
                    "R",
                ),
            ),
        ),
        LoopRule(
            "2000D",
            "dependent",
            "23",
            frozenset({"22"}),
            (
                RESPONSE_TRN,
                SubLoop(
                    "2100D",
                    "dependent name",
                    (
                        _name(frozenset({"03"}), None, types=frozenset({"1"})),
                        *_person(DEPENDENT_INS, "D"),
                    ),
                    "R",
                ),
            ),
            usage="S",
        ),
    ),
    # An AAA in 2000A/2100A/2100B (either AAA01) means the source or receiver was refused: the
    # subscriber loops are not sent.
    stops_at=("AAA", frozenset({"Y", "N"})),
)
