"""A small declarative checker for HL-structured X12 implementation guides (278, 270/271).

A guide is written as data: `Implementation` (header segments, then HL loops told apart by HL03
and their allowed parents), `LoopRule` (its segments and NM1-led sub-loops, in order),
`SegmentRule` (usage R required / S situational, max use, a qualifier that tells apart two rules
with one tag, like NM1*SJ and NM1*FA) and `ElementRule` (required, length, code set, a check such
as the NPI check digit, only when another element has a value, how often it may repeat). A sub-loop
may hold sub-loops of its own (the 271's 2120C inside 2110C inside 2100C).

How a segment finds its rule, in order: the current rule again while its max use allows (REF*BB
then REF*NT in 278 loop 2000E are both the 2000E REF); else the first later rule it can reach:
a rule inside a sub-loop is reachable only from inside that sub-loop or as the sub-loop's first
segment, because a sub-loop starts with its first segment (a REF after the 2000E REF is not the
REF of 2010EA unless an NM1 opened 2010EA); else a repeat of a sub-loop (its first segment again).

`check_set` walks one TransactionSet against a guide and appends located Findings to
`TransactionSet.findings`, so the 999 written from the same set carries IK3 (segment) and IK4
(element) for each problem.

The 999 codes used: IK304 2 unexpected segment, 3 required segment missing, 4 loop over its
maximum, 5 segment over its maximum use, 7 segment out of sequence; IK403 1 required element
missing, 4 too short, 5 too long, 6 invalid character, 7 invalid code value, 8 invalid date,
12 too many repetitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from precert.channels.x12.envelope import TransactionSet, X12Document
from precert.channels.x12.errors import Finding, Level, issue, locate
from precert.channels.x12.tokens import Segment

Usage = Literal["R", "S"]
# A check on one value: None when fine, else (IK403 code, what is wrong in words).
ValueCheck = Callable[[str], tuple[str, str] | None]


@dataclass(frozen=True)
class ElementRule:
    """One element (or one component of a composite, `component` from 1) of a segment."""

    position: int
    name: str
    usage: Usage = "S"
    min_length: int = 1
    max_length: int = 80
    codes: frozenset[str] | None = None
    component: int = 0
    check: ValueCheck | None = None
    when: tuple[int, frozenset[str]] | None = None  # only when element N holds one of these
    echo: bool = True  # False for PHI (names, ids, birth dates): the 999 must not repeat them
    repeats: int = 1  # > 1: a repeating element (EB03), each repeat checked on its own

    @property
    def label(self) -> str:
        suffix = f"-{self.component}" if self.component else ""
        return f"{self.position:02d}{suffix}"


@dataclass(frozen=True)
class SegmentRule:
    tag: str
    name: str
    usage: Usage = "S"
    max_use: int = 1
    elements: tuple[ElementRule, ...] = ()
    qualifier: tuple[int, frozenset[str]] | None = None  # element N must hold one of these

    def matches(self, segment: Segment) -> bool:
        if segment.tag != self.tag:
            return False
        if self.qualifier is None:
            return True
        position, values = self.qualifier
        return segment.element(position) in values


@dataclass(frozen=True)
class SubLoop:
    """A loop inside an HL loop that starts with its first segment (2010EA starts with NM1); it
    may hold sub-loops of its own, but its first part must be a segment."""

    id: str
    name: str
    segments: tuple[SegmentRule | SubLoop, ...]
    usage: Usage = "S"
    max_use: int = 1


@dataclass(frozen=True)
class LoopRule:
    """An HL loop: HL03 `level` ("20", "EV"...) under a parent whose HL03 is in `parents`."""

    id: str
    name: str
    level: str
    parents: frozenset[str]
    parts: tuple[SegmentRule | SubLoop, ...]
    usage: Usage = "R"


@dataclass(frozen=True)
class Implementation:
    code: str  # ST01
    version: str  # ST03
    header: tuple[SegmentRule, ...]
    loops: tuple[LoopRule, ...]
    # A segment (tag, element 01 values) that ends the answer early: after a rejection (AAA*N)
    # the loops below it may be absent, so required loops are not demanded.
    stops_at: tuple[str, str | frozenset[str]] | None = None

    def loop(self, level: str) -> LoopRule | None:
        for rule in self.loops:
            if rule.level == level:
                return rule
        return None


@dataclass
class _Slot:
    """One segment rule of a loop, flattened: `chain` holds its sub-loops, outermost first."""

    rule: SegmentRule
    order: int
    chain: tuple[SubLoop, ...] = ()
    first: bool = False  # the first segment of its innermost sub-loop (it opens that sub-loop)

    @property
    def sub(self) -> SubLoop | None:
        return self.chain[-1] if self.chain else None

    def within(self, sub: SubLoop) -> bool:
        return any(s is sub for s in self.chain)


@dataclass
class _Where:
    """Where findings go: the interchange, group and set positions and the set itself."""

    interchange: int
    group: int
    transaction: TransactionSet
    found: list[Finding] = field(default_factory=list)

    def add(
        self,
        level: Level,
        code: str,
        ack_code: str,
        message: str,
        position: int,
        tag: str,
        element: int | None = None,
        value: str = "",
        label: str | None = None,
    ) -> None:
        where = locate(
            self.interchange,
            self.group,
            self.transaction.position,
            segment=position,
            tag=tag,
            element=element,
        )
        if label is not None and element is not None:
            where = where.rsplit(" element ", 1)[0] + f" element {label}"
        finding = Finding(
            issue(code, message, where),
            level,
            ack_code,
            self.interchange,
            self.group,
            self.transaction.position,
            position,
            tag,
            element,
            value[:20],
        )
        self.found.append(finding)


def check_document(document: X12Document, implementations: Sequence[Implementation]) -> None:
    """Check every set of `document` whose ST01 has an implementation here; findings go to the
    set and to the document. Where two guides share an ST01 (278: X217 and X215) the one whose
    version is the set's ST03 is used, else the first given."""
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                spec = _guide_for(transaction, implementations)
                if spec is None:
                    continue
                found = check_set(spec, transaction, interchange.position, group.position)
                document.findings.extend(found)


def _guide_for(
    transaction: TransactionSet, implementations: Sequence[Implementation]
) -> Implementation | None:
    same_code = [i for i in implementations if i.code == transaction.code]
    exact = [i for i in same_code if i.version == transaction.implementation]
    chosen = exact or same_code
    return chosen[0] if chosen else None


def check_set(
    spec: Implementation, transaction: TransactionSet, interchange: int = 1, group: int = 1
) -> list[Finding]:
    """Check one set against `spec`; the findings are appended to `transaction.findings` and
    returned."""
    where = _Where(interchange, group, transaction)
    segments = transaction.segments
    end = len(segments) - 1 if transaction.trailer is not None else len(segments)
    if transaction.implementation and transaction.implementation != spec.version:
        where.add(
            "element",
            "x12.version",
            "7",
            f"ST03 is '{transaction.implementation[:12]}'; a {spec.code} here must be "
            f"{spec.version}.",
            1,
            "ST",
            3,
            transaction.implementation,
        )
    # Blocks: the header (before the first HL), then one block per HL.
    blocks: list[tuple[int, int]] = []  # (start, stop) indexes into segments
    start = 1
    for index in range(1, end):
        if segments[index].tag == "HL":
            blocks.append((start, index))
            start = index
    blocks.append((start, end))
    header_start, header_stop = blocks[0]
    _check_block(where, spec.header, segments, header_start, header_stop, "the header")
    levels: dict[str, str] = {}  # HL01 -> HL03
    seen: dict[str, int] = {}
    for start, stop in blocks[1:]:
        hl = segments[start]
        loop = _check_hl(where, spec, hl, start + 1, levels)
        if loop is None:
            continue
        seen[loop.id] = seen.get(loop.id, 0) + 1
        _check_block(where, loop.parts, segments, start + 1, stop, f"loop {loop.id}")
    stopped = _stopped(spec, segments)
    for loop in spec.loops:
        if loop.usage == "R" and loop.id not in seen and not stopped:
            where.add(
                "segment",
                "x12.required_loop",
                "3",
                f"The {loop.name} loop ({loop.id}, an HL with HL03 '{loop.level}') is required "
                "and missing.",
                end + 1 if transaction.trailer is not None else max(end, 1),
                "HL",
            )
    transaction.findings.extend(where.found)
    return where.found


def _stopped(spec: Implementation, segments: list[Segment]) -> bool:
    if spec.stops_at is None:
        return False
    tag, values = spec.stops_at
    wanted = frozenset({values}) if isinstance(values, str) else values
    return any(s.tag == tag and s.element(1) in wanted for s in segments)


def _check_hl(
    where: _Where, spec: Implementation, hl: Segment, position: int, levels: dict[str, str]
) -> LoopRule | None:
    number, parent, level = hl.element(1), hl.element(2), hl.element(3)
    loop = spec.loop(level)
    if loop is None:
        known = ", ".join(f"{r.level} ({r.id})" for r in spec.loops)
        where.add(
            "element",
            "x12.code",
            "7",
            f"HL03 '{level[:6]}' is not a level of the {spec.code}; use one of {known}.",
            position,
            "HL",
            3,
            level,
        )
        return None
    if number != str(len(levels) + 1):
        where.add(
            "element",
            "x12.hl_number",
            "7",
            f"HL01 is '{number[:12]}' but this is HL number {len(levels) + 1}: HL01 counts the "
            "HL segments from 1.",
            position,
            "HL",
            1,
            number,
        )
    levels[number] = level
    if not loop.parents:
        if parent:
            where.add(
                "element",
                "x12.hl_parent",
                "10",
                f"HL02 must be empty in the {loop.name} loop ({loop.id}): it is the top level.",
                position,
                "HL",
                2,
                parent,
            )
    elif levels.get(parent) not in loop.parents or parent == number:
        wanted = " or ".join(f"{r.name} ({r.id})" for r in spec.loops if r.level in loop.parents)
        where.add(
            "segment",
            "x12.loop_order",
            "7",
            f"The {loop.name} loop ({loop.id}) must come under an earlier {wanted} loop; its "
            f"HL02 '{parent[:12]}' does not point to one.",
            position,
            "HL",
        )
    return loop


_SLOTS: dict[int, tuple[Sequence[SegmentRule | SubLoop], list[_Slot]]] = {}


def _slots(parts: Sequence[SegmentRule | SubLoop]) -> list[_Slot]:
    """The slots of a loop's parts, computed once per guide (keyed by identity; the guide's
    tuples live as long as the module)."""
    known = _SLOTS.get(id(parts))
    if known is not None and known[0] is parts:
        return known[1]
    slots: list[_Slot] = []
    _flatten(parts, (), slots)
    _SLOTS[id(parts)] = (parts, slots)
    return slots


def _flatten(
    parts: Sequence[SegmentRule | SubLoop], chain: tuple[SubLoop, ...], slots: list[_Slot]
) -> None:
    for index, part in enumerate(parts):
        if isinstance(part, SubLoop):
            if not part.segments or isinstance(part.segments[0], SubLoop):
                raise ValueError(f"sub-loop {part.id} must start with a segment")
            _flatten(part.segments, (*chain, part), slots)
        else:
            slots.append(_Slot(part, len(slots), chain, bool(chain) and index == 0))


def _reachable(slot: _Slot, here: _Slot | None) -> bool:
    """Can a segment move forward to `slot` from `here`? Only into sub-loops that are open (hold
    `here`) or that `slot` opens as their first segment."""
    open_subs = here.chain if here is not None else ()
    for depth, sub in enumerate(slot.chain):
        if any(o is sub for o in open_subs):
            continue
        return depth == len(slot.chain) - 1 and slot.first
    return True


def _choose(
    slots: list[_Slot], segment: Segment, current: int, uses: dict[int, int]
) -> tuple[_Slot | None, _Slot | None]:
    """(the slot `segment` takes going forward, or None; the slot it would take as a repeat of
    a sub-loop, else the first it matches at all, or None)."""
    here = slots[current] if current >= 0 else None
    # Repeat the current rule while it has room: REF*BB then REF*NT are both the 2000E REF.
    if here is not None and here.rule.matches(segment) and uses.get(current, 0) < here.rule.max_use:
        return here, here
    forward = next(
        (s for s in slots if s.order > current and s.rule.matches(segment) and _reachable(s, here)),
        None,
    )
    matching = [s for s in slots if s.rule.matches(segment)]
    # A sub-loop repeating: the innermost one open here (a second NM1*IL between LS and LE in a
    # 271 is 2120C again, not a new 2100C).
    repeats = [s for s in matching if s.first and _reachable(s, here)]
    again = max(repeats, key=lambda s: len(s.chain), default=None)
    return forward, again or (matching[0] if matching else None)


def _check_block(
    where: _Where,
    parts: Sequence[SegmentRule | SubLoop],
    segments: list[Segment],
    start: int,
    stop: int,
    label: str,
) -> None:
    slots = _slots(parts)
    uses: dict[int, int] = {}
    sub_uses: dict[str, int] = {}
    current = -1
    for index in range(start, stop):
        segment = segments[index]
        position = index + 1
        slot, again = _choose(slots, segment, current, uses)
        if slot is None:
            if again is not None and again.first:
                slot = again  # a sub-loop repeats (a second NM1 of the same kind)
            elif again is not None and again.order < current:
                where.add(
                    "segment",
                    "x12.sequence",
                    "7",
                    f"The {segment.tag} segment ({again.rule.name}) is out of order in {label}: "
                    "it belongs before the segments above it.",
                    position,
                    segment.tag,
                )
                continue
            elif again is not None and again.order == current:
                slot = again
            else:
                where.add(
                    "segment",
                    "x12.unexpected_segment",
                    "2",
                    f"A {segment.tag[:3]} segment is not expected in {label}.",
                    position,
                    segment.tag,
                )
                continue
        if slot.first and slot.sub is not None:
            _open(where, slots, slot, slot.sub, uses, sub_uses, label, position, segment.tag)
        uses[slot.order] = uses.get(slot.order, 0) + 1
        if uses[slot.order] > slot.rule.max_use:
            where.add(
                "segment",
                "x12.max_use",
                "5",
                f"The {slot.rule.name} ({segment.tag}) segment may occur at most "
                f"{slot.rule.max_use} time(s) here.",
                position,
                segment.tag,
            )
        current = slot.order
        _check_elements(where, slot.rule, segment, position)
    # A missing segment is reported at its loop's HL (or at segment 2 for the header).
    missing_at = max(start, 2)
    for slot in slots:
        if slot.rule.usage != "R" or uses.get(slot.order):
            continue
        # Inside an absent sub-loop only its first segment can be missing, and only if the
        # sub-loop itself is required and every sub-loop around it is there.
        absent = [sub for sub in slot.chain if not sub_uses.get(sub.id)]
        if absent and (absent != [slot.chain[-1]] or not slot.first or absent[0].usage != "R"):
            continue
        where.add(
            "segment",
            "x12.required_segment",
            "3",
            f"The {slot.rule.name} ({slot.rule.tag}) segment is required in {label} and missing.",
            missing_at,
            slot.rule.tag,
        )


def _open(
    where: _Where,
    slots: list[_Slot],
    slot: _Slot,
    sub: SubLoop,
    uses: dict[int, int],
    sub_uses: dict[str, int],
    label: str,
    position: int,
    tag: str,
) -> None:
    """`slot` starts another `sub`: count it and start afresh the segments and sub-loops inside
    it (a new 2110C may have its own 2120C loops)."""
    count = sub_uses.get(sub.id, 0) + 1
    for other in slots:
        if other.within(sub):
            uses[other.order] = 0
            for inner in other.chain[other.chain.index(sub) + 1 :]:
                sub_uses[inner.id] = 0
    sub_uses[sub.id] = count
    if count > sub.max_use:
        where.add(
            "segment",
            "x12.loop_max_use",
            "4",
            f"The {sub.name} loop ({sub.id}) may occur at most {sub.max_use} time(s) in {label}.",
            position,
            tag,
        )


def _check_elements(where: _Where, rule: SegmentRule, segment: Segment, position: int) -> None:
    for element in rule.elements:
        if element.when is not None:
            other, values = element.when
            if segment.element(other) not in values:
                continue
        if element.component:
            parts = segment.element(element.position).split(segment.delimiters.component)
            value = parts[element.component - 1] if len(parts) >= element.component else ""
        else:
            value = segment.element(element.position)
        if value and element.repeats > 1:
            _check_repeats(where, element, segment, position)
            continue
        if not value:
            if element.usage == "R":
                _element_finding(
                    where,
                    segment,
                    position,
                    element,
                    value,
                    ("1", "is required and empty.", "x12.required_element"),
                )
            continue
        problem = _problem(element, value)
        if problem is not None:
            _element_finding(where, segment, position, element, value, problem)


def _check_repeats(where: _Where, element: ElementRule, segment: Segment, position: int) -> None:
    """A repeating element (EB03 "1^33^35"): at most `repeats` values, each checked alone."""
    values = segment.repetitions(element.position)
    if len(values) > element.repeats:
        what = f"repeats {len(values)} times; at most {element.repeats} are allowed."
        _element_finding(
            where, segment, position, element, "", ("12", what, "x12.too_many_repeats")
        )
    for value in values:
        if not value:
            continue  # an empty repeat carries nothing to check
        problem = _problem(element, value)
        if problem is not None:
            _element_finding(where, segment, position, element, value, problem)


def _problem(element: ElementRule, value: str) -> tuple[str, str, str] | None:
    """(IK403 code, what is wrong, issue code) for a non-empty value, or None."""
    if len(value) > element.max_length:
        return (
            "5",
            f"is {len(value)} characters long; at most {element.max_length} are allowed.",
            "x12.too_long",
        )
    if len(value) < element.min_length:
        return (
            "4",
            f"is {len(value)} characters long; at least {element.min_length} are needed.",
            "x12.too_short",
        )
    if element.codes is not None and value not in element.codes:
        allowed = ", ".join(sorted(element.codes))
        return "7", f"'{value[:12]}' is not a valid code here; use one of {allowed}.", "x12.code"
    if element.check is not None:
        found = element.check(value)
        if found is not None:
            return found[0], found[1], "x12.value"
    return None


def _element_finding(
    where: _Where,
    segment: Segment,
    position: int,
    element: ElementRule,
    value: str,
    problem: tuple[str, str, str],
) -> None:
    ack, what, code = problem
    name = f"{segment.tag}{element.label} ({element.name})"
    separator = ": " if code == "x12.value" else " "
    where.add(
        "element",
        code,
        ack,
        f"{name}{separator}{what}",
        position,
        segment.tag,
        element.position,
        value if element.echo else "",
        element.label,
    )


# -- value checks shared by the guides ---------------------------------------------------------


def date_check(value: str) -> tuple[str, str] | None:
    """CCYYMMDD, or a CCYYMMDD-CCYYMMDD range (RD8)."""
    for part in value.split("-") if "-" in value else [value]:
        if not _is_date(part):
            return "8", f"'{value[:20]}' is not a date as CCYYMMDD (or CCYYMMDD-CCYYMMDD)."
    return None


def d8_check(value: str) -> tuple[str, str] | None:
    """One date, CCYYMMDD (DTP02 D8)."""
    return None if _is_date(value) else ("8", f"'{value[:20]}' is not a date as CCYYMMDD.")


def rd8_check(value: str) -> tuple[str, str] | None:
    """A range CCYYMMDD-CCYYMMDD whose end is not before its start (DTP02 RD8)."""
    start, dash, end = value.partition("-")
    if not (dash and _is_date(start) and _is_date(end)):
        return "8", f"'{value[:20]}' is not a date range as CCYYMMDD-CCYYMMDD."
    if end < start:
        return "8", f"the range '{value}' ends before it starts."
    return None


def _is_date(value: str) -> bool:
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return False
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def time_check(value: str) -> tuple[str, str] | None:
    ok = (
        value.isdigit() and len(value) in (4, 6, 8) and int(value[:2]) < 24 and int(value[2:4]) < 60
    )
    return None if ok else ("9", f"'{value[:8]}' is not a time as HHMM.")


def private_date_check(value: str) -> tuple[str, str] | None:
    """`date_check` whose message does not repeat the value (a birth date is PHI)."""
    problem = date_check(value)
    return None if problem is None else ("8", "not a date as CCYYMMDD.")


def digits_check(value: str) -> tuple[str, str] | None:
    return (
        None
        if value.isascii() and value.isdigit()
        else ("6", f"'{value[:12]}' must be digits only.")
    )
