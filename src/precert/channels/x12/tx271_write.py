"""Writing a 271 eligibility response (005010X279A1), for the payer simulator and for tests:
what a payer sends back for one subscriber inquiry of a 270. tx271.read_271 reads it back.

The shape written: BHT*0022*11 (our 270's BHT03 echoed), 2000A/2100A information source
(NM1*PR), 2000B/2100B receiver (NM1*1P), 2000C/2100C subscriber (TRN*2 echoing the inquiry's
trace, NM1*IL, DMG, then either AAA*N (the subscriber could not be answered: no benefits follow)
or DTP*346/347 plan begin and end), and one 2110C EB per `BenefitRow` (EB01 information, EB02
coverage level, EB03 service type, EB05 plan description, EB11 authorization indicator, EB12
in-plan network) with its MSG.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from precert.channels.x12.envelope import GroupSpec, Party, TransactionBody, write_interchange
from precert.channels.x12.tx270 import IMPLEMENTATION, EligibilityInquiry


@dataclass(frozen=True, slots=True)
class BenefitRow:
    """One EB: `authorization` is EB11 (Y required, N not, U unknown, "" not stated)."""

    info: str  # EB01: 1 active coverage, 6 inactive, ...
    service_type: str = ""  # EB03
    coverage_level: str = "IND"  # EB02
    plan: str = ""  # EB05
    authorization: str = ""  # EB11
    in_network: str = ""  # EB12: Y, N, W (not applicable)
    message: str = ""  # MSG01 after the EB


@dataclass(frozen=True, slots=True, repr=False)
class Answer271:
    """The payer's answer to one inquiry (PHI inside through `inquiry`: no repr)."""

    inquiry: EligibilityInquiry
    benefits: tuple[BenefitRow, ...] = ()
    plan_begin: dt.date | None = None
    plan_end: dt.date | None = None
    reject: tuple[str, str] | None = None  # (AAA03 reason, AAA04 follow-up) on the subscriber


def answer_segments(answer: Answer271, *, reference: str, at: dt.datetime) -> list[tuple[str, ...]]:
    """The 271 body between ST and SE."""
    q = answer.inquiry
    segments: list[tuple[str, ...]] = [
        ("BHT", "0022", "11", reference, f"{at:%Y%m%d}", f"{at:%H%M}"),
        ("HL", "1", "", "20", "1"),
        ("NM1", "PR", "2", _clean(q.payer_name) or "PAYER", "", "", "", "", "PI", q.payer_id),
        ("HL", "2", "1", "21", "1"),
        ("NM1", "1P", "2", _clean(q.provider_name), "", "", "", "", "XX", q.provider_npi),
        ("HL", "3", "2", "22", "0"),
        ("TRN", "2", q.trace, q.trace_originator),
        (
            "NM1",
            "IL",
            "1",
            _clean(q.last_name),
            _clean(q.first_name),
            "",
            "",
            "",
            "MI",
            q.member_id,
        ),
    ]
    if answer.reject is not None:
        # AAA01 N: the request is not valid for this subscriber; nothing about benefits follows.
        segments.append(("AAA", "N", "", *answer.reject))
    if q.birth_date is not None:
        segments.append(("DMG", "D8", f"{q.birth_date:%Y%m%d}"))
    if answer.reject is not None:
        return segments
    if answer.plan_begin is not None:
        segments.append(("DTP", "346", "D8", f"{answer.plan_begin:%Y%m%d}"))
    if answer.plan_end is not None:
        segments.append(("DTP", "347", "D8", f"{answer.plan_end:%Y%m%d}"))
    for row in answer.benefits:
        segments.append(_eb(row))
        if row.message:
            segments.append(("MSG", _clean(row.message)[:264]))
    return segments


def write_271(
    answers: Sequence[Answer271],
    *,
    sender: Party,
    receiver: Party,
    at: dt.datetime,
    next_control: Callable[[], int],
    reference: str = "",
    usage: str = "P",
) -> str:
    """One interchange (GS01 HB) holding one 271 per answer."""
    bodies = [
        TransactionBody(
            "271",
            IMPLEMENTATION,
            answer_segments(answer, reference=reference or answer.inquiry.trace, at=at),
        )
        for answer in answers
    ]
    group = GroupSpec("HB", sender.id, receiver.id, IMPLEMENTATION, bodies)
    return write_interchange(
        [group], sender=sender, receiver=receiver, at=at, next_control=next_control, usage=usage
    )


def _eb(row: BenefitRow) -> tuple[str, ...]:
    elements = [
        "EB",
        row.info,
        row.coverage_level,
        row.service_type,
        "",
        _clean(row.plan),
        "",
        "",
        "",
        "",
        "",
        row.authorization,
        row.in_network,
    ]
    while len(elements) > 2 and elements[-1] == "":
        elements.pop()  # X12 sends no trailing empty elements
    return tuple(elements)


def _clean(value: str) -> str:
    """Text goes into elements: delimiter characters would break the segment."""
    return "".join(c for c in value if c.isalnum() or c in " .-'&,/").strip().upper()
