"""How an X12 problem is told: an Issue with a location a billing person can find in the file,
and the Finding behind it that the 999 acknowledgment needs (which group, set, segment, element,
and the X12 error code).

Locations read "ISA/GS[1]/ST[2]/segment 14 (NM1) element 09": the interchange ("ISA", "ISA[2]"
from the second one on), the functional group and the transaction set by their order, the segment
by its position in the set (ST is segment 1, as the 999's IK302 counts) and the element by its
two-digit position. Segments outside any set are counted from the start of the file instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from precert.errors import Issue

Level = Literal["interchange", "group", "set", "segment", "element"]


def issue(code: str, message: str, location: str) -> Issue:
    return Issue(code, message, location)


def locate(
    interchange: int,
    group: int | None = None,
    transaction: int | None = None,
    *,
    segment: int | None = None,
    tag: str = "",
    element: int | None = None,
    file_segment: int | None = None,
) -> str:
    """The location text of a Finding (see the module docstring)."""
    parts = ["ISA" if interchange <= 1 else f"ISA[{interchange}]"]
    if group is not None:
        parts.append(f"GS[{group}]")
    if transaction is not None:
        parts.append(f"ST[{transaction}]")
    where = "/".join(parts)
    named = f" ({tag})" if tag else ""
    if segment is not None:
        where += f"/segment {segment}{named}"
    elif file_segment is not None:
        where += f"/segment {file_segment} of the file{named}"
    if element is not None:
        where += f" element {element:02d}"
    return where


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found while reading envelopes, placed in the envelope tree.

    `ack_code` is the X12 code the acknowledgment carries for it: IK304 (segment), IK403
    (element), IK502 (transaction set), AK905 (functional group) or the TA1 note code
    (interchange), according to `level`.
    """

    issue: Issue
    level: Level
    ack_code: str
    interchange: int
    group: int | None = None
    transaction: int | None = None
    segment: int | None = None
    tag: str = ""
    element: int | None = None
    value: str = ""
