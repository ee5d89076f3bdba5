"""The 999 implementation acknowledgment (005010X231A1): writing one for each functional group we
receive, and reading the 999s a payer or clearinghouse sends back.

One 999 answers one functional group: AK1 names the group, an AK2 loop per transaction set
carries IK3 (segment error, IK304 code) and IK4 (element error, IK403 code) and ends with IK5
(A accepted / R rejected, with IK502 codes), and AK9 closes with the group's status (A, P
partially accepted, R) and counts. Problems of the interchange itself (its ISA/IEA) belong in a
TA1, not here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from precert.channels.x12.envelope import (
    FunctionalGroup,
    GroupSpec,
    Interchange,
    Party,
    TransactionBody,
    TransactionSet,
    X12Document,
    read,
    write_interchange,
)
from precert.channels.x12.errors import locate
from precert.channels.x12.tokens import Segment
from precert.errors import InvalidInput

IMPLEMENTATION = "005010X231A1"
# AK905.. codes a group can carry (X12 715/999 code list for AK905).
_GROUP_CODES = frozenset({"1", "2", "3", "4", "5", "6", "15", "16", "17", "18", "19", "23"})
_MAX_CODES = 5  # IK502..IK506 and AK905..AK909


def group_acknowledgment(group: FunctionalGroup) -> TransactionBody:
    """The 999 body (between ST and SE) for one received functional group."""
    segments: list[tuple[str, ...]] = [
        _trim(
            ("AK1", _data(group.functional_id), _data(group.control_number), _data(group.version))
        )
    ]
    accepted = 0
    for transaction in group.sets:
        segments.append(
            _trim(
                (
                    "AK2",
                    _data(transaction.code),
                    _data(transaction.control_number),
                    _data(transaction.implementation),
                )
            )
        )
        set_codes: list[str] = []
        flagged: set[int] = set()  # segments with an IK3 already (their IK4s follow it)
        # IK4s must follow their segment's IK3: segment and element findings in segment order.
        ordered = sorted(transaction.findings, key=lambda f: f.segment or 0)
        for finding in ordered:
            if finding.level in ("segment", "element") and finding.segment is not None:
                if finding.level == "segment" or finding.segment not in flagged:
                    ik304 = finding.ack_code if finding.level == "segment" else "8"
                    segments.append(
                        ("IK3", _data(finding.tag) or "ZZZ", str(finding.segment), "", ik304)
                    )
                    flagged.add(finding.segment)
                if finding.level == "element" and finding.element is not None:
                    segments.append(
                        _trim(
                            (
                                "IK4",
                                str(finding.element),
                                "",
                                finding.ack_code,
                                _data(finding.value),
                            )
                        )
                    )
                set_codes.append("5")
            else:
                set_codes.append(finding.ack_code)
        codes = list(dict.fromkeys(set_codes))[:_MAX_CODES]
        if codes:
            segments.append(("IK5", "R", *codes))
        else:
            segments.append(("IK5", "A"))
            accepted += 1
    group_codes = [f.ack_code for f in group.findings if f.ack_code in _GROUP_CODES]
    received = len(group.sets)
    if group.findings or accepted == 0:
        status = "R"
        accepted = 0 if group.findings else accepted
    elif accepted < received:
        status = "P"
    else:
        status = "A"
    codes = list(dict.fromkeys(group_codes))[:_MAX_CODES]
    segments.append(("AK9", status, str(received), str(received), str(accepted), *codes))
    return TransactionBody("999", IMPLEMENTATION, segments)


def acknowledge(
    document: X12Document,
    *,
    at: dt.datetime,
    next_control: Callable[[], int],
    newline: str = "\n",
) -> str:
    """999s for every functional group in `document`: one interchange back per interchange
    received (sender and receiver swapped, same delimiters), one 999 per group in one FA group.
    InvalidInput when the document has no functional group to acknowledge."""
    out: list[str] = []
    for interchange in document.interchanges:
        if not interchange.groups:
            continue
        out.append(_answer(interchange, at, next_control, newline))
    if not out:
        raise InvalidInput.field(
            "ISA",
            "There is no functional group (GS ... GE) in this file to acknowledge with a 999.",
            "x12.no_group",
        )
    return "".join(out)


def _answer(
    interchange: Interchange, at: dt.datetime, next_control: Callable[[], int], newline: str
) -> str:
    first = interchange.groups[0]
    bodies = [group_acknowledgment(group) for group in interchange.groups]
    fa = GroupSpec(
        "FA",
        first.header.element(3)[:15] or "RECEIVER",
        first.header.element(2)[:15] or "SENDER",
        IMPLEMENTATION,
        bodies,
    )
    return write_interchange(
        [fa],
        sender=Party(interchange.element(7)[:2] or "ZZ", interchange.element(8)[:15]),
        receiver=Party(interchange.element(5)[:2] or "ZZ", interchange.element(6)[:15]),
        at=at,
        next_control=next_control,
        usage="T" if interchange.element(15) == "T" else "P",
        delimiters=interchange.delimiters,
        newline=newline,
    )


def _data(value: str, limit: int = 35) -> str:
    """A value copied from the received file into the 999, made safe to write: a broken file can
    hold line breaks or control characters where a code belongs, and the 999 must always read."""
    cleaned = "".join(c for c in value if c >= " " and c != "\x7f").strip()
    return cleaned[:limit]


def _trim(fields: tuple[str, ...]) -> tuple[str, ...]:
    """Drop empty trailing elements (X12 does not write them)."""
    end = len(fields)
    while end > 1 and fields[end - 1] == "":
        end -= 1
    return fields[:end]


# -- reading ---------------------------------------------------------------------------------


@dataclass
class ElementError:
    """IK4: the element (IK401 position, "2" or "2:1"), its IK403 code and the bad value."""

    position: str
    code: str
    value: str = ""


@dataclass
class SegmentError:
    """IK3: the segment (IK301 tag, IK302 position in the set) and its IK304 code."""

    tag: str
    position: str
    code: str
    elements: list[ElementError] = field(default_factory=list)


@dataclass
class SetAcknowledgment:
    """AK2 ... IK5 for one transaction set we sent."""

    code: str
    control_number: str
    status: str = ""
    codes: list[str] = field(default_factory=list)
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass
class GroupAcknowledgment:
    """One 999: the group it answers (AK1), per-set answers and the AK9 summary."""

    functional_id: str
    control_number: str
    version: str
    sets: list[SetAcknowledgment] = field(default_factory=list)
    status: str = ""
    codes: list[str] = field(default_factory=list)
    included: int = 0
    received: int = 0
    accepted: int = 0


def read_999(text: str) -> list[GroupAcknowledgment]:
    """The acknowledgments in a 999 file. InvalidInput (located) when it is not a readable 999."""
    document = read(text)
    if document.findings:
        raise InvalidInput("The 999 file has envelope problems.", document.issues)
    answers: list[GroupAcknowledgment] = []
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                if transaction.code != "999":
                    where = locate(interchange.position, group.position, transaction.position)
                    raise InvalidInput.field(
                        where,
                        f"Expected a 999 acknowledgment, found transaction set "
                        f"{transaction.code or '(none)'}.",
                        "x12.not_999",
                    )
                answers.append(
                    _read_one(transaction.body, interchange.position, group.position, transaction)
                )
    return answers


def _read_one(
    body: list[Segment], interchange: int, group: int, transaction: TransactionSet
) -> GroupAcknowledgment:
    position = transaction.position
    answer: GroupAcknowledgment | None = None
    current: SetAcknowledgment | None = None
    for number, segment in enumerate(body, start=2):
        where = locate(interchange, group, position, segment=number, tag=segment.tag)
        tag = segment.tag
        if tag == "AK1":
            answer = GroupAcknowledgment(segment.element(1), segment.element(2), segment.element(3))
            continue
        if answer is None:
            raise InvalidInput.field(
                where, f"A 999 must start with AK1; found {tag or 'an empty segment'}.", "x12.999"
            )
        if tag == "AK2":
            current = SetAcknowledgment(segment.element(1), segment.element(2))
            answer.sets.append(current)
        elif tag in ("IK3", "IK4", "IK5", "CTX"):
            if current is None:
                raise InvalidInput.field(where, f"{tag} must follow an AK2 segment.", "x12.999")
            if tag == "IK3":
                current.errors.append(
                    SegmentError(segment.element(1), segment.element(2), segment.element(4))
                )
            elif tag == "IK4":
                if not current.errors:
                    raise InvalidInput.field(where, "IK4 must follow an IK3 segment.", "x12.999")
                current.errors[-1].elements.append(
                    ElementError(segment.element(1), segment.element(3), segment.element(4))
                )
            elif tag == "IK5":
                current.status = segment.element(1)
                current.codes = [c for c in segment.elements[1:6] if c]
        elif tag == "AK9":
            answer.status = segment.element(1)
            answer.included = _count(segment, 2, where)
            answer.received = _count(segment, 3, where)
            answer.accepted = _count(segment, 4, where)
            answer.codes = [c for c in segment.elements[4:9] if c]
        else:
            raise InvalidInput.field(
                where, f"{tag or 'An empty segment'} does not belong in a 999.", "x12.999"
            )
    if answer is None:
        raise InvalidInput.field(
            locate(interchange, group, position), "The 999 has no AK1 segment.", "x12.999"
        )
    if not answer.status:
        raise InvalidInput.field(
            locate(interchange, group, position), "The 999 has no AK9 segment.", "x12.999"
        )
    return answer


def _count(segment: Segment, position: int, where: str) -> int:
    value = segment.element(position)
    if not value.isdigit() or len(value) > 6:
        raise InvalidInput.field(
            f"{where} element {position:02d}",
            f"AK9{position:02d} must be a count (digits), found '{value[:12]}'.",
            "x12.999",
        )
    return int(value)
