"""Envelopes: reading interchanges -> functional groups -> transaction sets, and writing them.

Reading (`read`) never stops at the first problem: it keeps every segment it can place and
records a Finding for each envelope problem (control numbers ISA13/IEA02, GS06/GE02, ST02/SE02
that differ; counts IEA01, GE01, SE01 that are wrong; missing trailers; a cut-off file; segments
outside any set; segment IDs that are not IDs, usually a sign of mixed delimiters). `parse` is the
strict form: InvalidInput with every located issue. Nothing here knows a transaction's loops:
278/270/271 validation builds on the TransactionSet segments.

Writing (`write_interchange`) wraps transaction bodies in ST/SE, GS/GE and ISA/IEA with control
numbers from the caller's counter, correct counts and a fixed-width ISA.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from precert.channels.x12.errors import Finding, Level, issue, locate
from precert.channels.x12.tokens import ISA_WIDTHS, Delimiters, Segment, encode_segments, tokenize
from precert.errors import InvalidInput, Issue

_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


@dataclass
class TransactionSet:
    """ST ... SE: `segments` holds every segment of the set, ST first and SE last if present."""

    header: Segment
    position: int  # 1-based within its functional group
    segments: list[Segment] = field(default_factory=list)
    trailer: Segment | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def code(self) -> str:
        """ST01, the transaction set identifier ("278", "837"...)."""
        return self.header.element(1)

    @property
    def control_number(self) -> str:
        return self.header.element(2)

    @property
    def implementation(self) -> str:
        """ST03, the implementation guide ("005010X217")."""
        return self.header.element(3)

    @property
    def body(self) -> list[Segment]:
        """The segments between ST and SE."""
        end = -1 if self.trailer is not None else len(self.segments)
        return self.segments[1:end]


@dataclass
class FunctionalGroup:
    """GS ... GE."""

    header: Segment
    position: int
    sets: list[TransactionSet] = field(default_factory=list)
    trailer: Segment | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        """GS01 ("HI" for 278, "HS"/"HB" for 270/271, "HC" for 837, "FA" for 999)."""
        return self.header.element(1)

    @property
    def control_number(self) -> str:
        return self.header.element(6)

    @property
    def version(self) -> str:
        """GS08 ("005010X217")."""
        return self.header.element(8)


@dataclass
class Interchange:
    """ISA ... IEA."""

    header: Segment
    position: int
    groups: list[FunctionalGroup] = field(default_factory=list)
    trailer: Segment | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def delimiters(self) -> Delimiters:
        return self.header.delimiters

    @property
    def control_number(self) -> str:
        return self.header.element(13)

    def element(self, position: int) -> str:
        """ISA element without its fixed-width padding."""
        return self.header.element(position).strip()


@dataclass
class X12Document:
    """Everything read from one file, and every problem found, in file order."""

    interchanges: list[Interchange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        return [f.issue for f in self.findings]

    @property
    def ok(self) -> bool:
        return not self.findings

    def groups(self) -> Iterator[FunctionalGroup]:
        for interchange in self.interchanges:
            yield from interchange.groups


def read(text: str) -> X12Document:
    """Every envelope in `text`, with a Finding for each problem. InvalidInput only when the text
    does not start with a readable ISA (then there is nothing to acknowledge)."""
    reader = _Reader(text)
    last: Segment | None = None
    for segment in tokenize(text):
        reader.feed(segment)
        last = segment
    reader.finish(last)
    return reader.document


def parse(text: str) -> X12Document:
    """`read`, refusing any problem: InvalidInput carries every located issue."""
    document = read(text)
    if document.findings:
        count = len(document.findings)
        raise InvalidInput(
            f"The X12 file has {count} envelope problem{'s' if count > 1 else ''}.",
            document.issues,
        )
    return document


class _Reader:
    """The envelope state machine: one open interchange, group and set at most."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.document = X12Document()
        self.interchange: Interchange | None = None
        self.group: FunctionalGroup | None = None
        self.set: TransactionSet | None = None
        self.set_controls: set[str] = set()
        self.group_controls: set[str] = set()
        self.good_tags: set[str] = set()
        self.breaks: dict[str, bool] = {}

    def _stray_breaks(self, terminator: str) -> bool:
        """Whether the text has line breaks other than right after a terminator (so that each
        segment must be looked at for them); counted once per terminator, for speed."""
        if terminator not in self.breaks:
            count = self.text.count
            if terminator == "\n":
                lf, cr = 0, count("\r") - count("\r\n")
            elif terminator == "\r":
                lf, cr = count("\n") - count("\r\n"), 0
            else:
                t = terminator
                lf = count("\n") - count(t + "\n") - count(t + "\r\n")
                cr = count("\r") - count(t + "\r")
            self.breaks[terminator] = lf > 0 or cr > 0
        return self.breaks[terminator]

    # -- where things are -------------------------------------------------------------------

    def _n(self) -> int:
        return self.interchange.position if self.interchange else len(self.document.interchanges)

    def _add(
        self,
        level: Level,
        code: str,
        ack_code: str,
        message: str,
        *,
        segment: Segment | None = None,
        position: int | None = None,
        element: int | None = None,
        value: str = "",
        group: FunctionalGroup | None = None,
        transaction: TransactionSet | None = None,
        where: str | None = None,
    ) -> None:
        """Record a Finding; `where` replaces the computed location (trailers, ISA elements)."""
        group = group or self.group
        transaction = transaction or self.set
        g = group.position if group else None
        t = transaction.position if transaction else None
        tag = segment.tag[:3] if segment else ""
        where = where or locate(
            max(self._n(), 1),
            g,
            t,
            segment=position,
            tag=tag,
            element=element,
            file_segment=segment.number if segment is not None and position is None else None,
        )
        finding = Finding(
            issue(code, message, where),
            level,
            ack_code,
            max(self._n(), 1),
            g,
            t,
            position,
            tag,
            element,
            value,
        )
        self.document.findings.append(finding)
        if level in ("set", "segment", "element") and transaction is not None:
            transaction.findings.append(finding)
        elif level == "group" and group is not None:
            group.findings.append(finding)
        elif self.interchange is not None:
            self.interchange.findings.append(finding)

    # -- the state machine ------------------------------------------------------------------

    def feed(self, segment: Segment) -> None:
        tag = segment.tag
        if self.set is not None:
            if tag not in _ENVELOPE_TAGS:
                self.set.segments.append(segment)
                if tag not in self.good_tags:
                    if not _TAG.fullmatch(tag):
                        self._bad_tag(segment, len(self.set.segments))
                        return
                    self.good_tags.add(tag)
                if self._stray_breaks(segment.delimiters.segment) and any(
                    "\n" in e or "\r" in e for e in segment.elements
                ):
                    self._line_break(segment, len(self.set.segments))
                return
            if tag == "SE":
                self.set.segments.append(segment)
                self._close_set(segment)
                return
            self._close_set(None)
        if self.group is not None:
            if tag == "ST":
                self._open_set(segment)
                return
            if tag == "GE":
                self._close_group(segment)
                return
            if tag not in ("GS", "ISA", "IEA"):
                self._outside(segment, "a transaction set (between ST and SE)")
                return
            self._close_group(None)
        if self.interchange is not None:
            if tag == "GS":
                self._open_group(segment)
                return
            if tag == "IEA":
                self._close_interchange(segment)
                return
            if tag != "ISA":
                self._outside(segment, "a functional group (between GS and GE)")
                return
            self._close_interchange(None)
        if tag == "ISA":
            self._open_interchange(segment)
            return
        self._outside(segment, "an interchange (between ISA and IEA)")

    def finish(self, last: Segment | None) -> None:
        if last is not None and not self._terminated(last):
            self._add(
                "interchange",
                "x12.truncated",
                "023",
                "The file is cut off: its last segment has no segment terminator "
                f"'{last.delimiters.segment}'. Ask the sender for the complete file.",
                segment=last,
                position=len(self.set.segments) if self.set is not None else None,
            )
        if self.set is not None:
            self._close_set(None)
        if self.group is not None:
            self._close_group(None)
        if self.interchange is not None:
            self._close_interchange(None)

    def _terminated(self, last: Segment) -> bool:
        terminator = last.delimiters.segment
        return self.text.rstrip("\r\n \t".replace(terminator, "")).endswith(terminator)

    def _bad_tag(self, segment: Segment, position: int) -> None:
        if segment.tag == "":
            message = (
                "This segment is empty (two segment terminators in a row); remove the extra "
                f"'{segment.delimiters.segment}'."
            )
        else:
            shown = segment.tag[:4]
            message = (
                f"'{shown}' is not a segment ID (2 or 3 capital letters or digits). The "
                f"interchange declares '{segment.delimiters.element}' as element separator and "
                f"'{segment.delimiters.segment}' as segment terminator in its ISA; check that this "
                "segment uses the same delimiters."
            )
        self._add(
            "segment",
            "x12.segment_id",
            "1",
            message,
            segment=segment,
            position=position,
            value=segment.tag[:3],
        )

    def _line_break(self, segment: Segment, position: int) -> None:
        # A line break inside a segment's data almost always means a terminator was left out
        # and two segments ran together.
        self._add(
            "segment",
            "x12.line_break",
            "8",
            f"This {segment.tag} segment has a line break inside its data: a segment terminator "
            f"'{segment.delimiters.segment}' is probably missing before the line break (X12 data "
            "cannot contain line breaks).",
            segment=segment,
            position=position,
        )

    def _outside(self, segment: Segment, where: str) -> None:
        if segment.tag != "" and not _TAG.fullmatch(segment.tag):
            message = (
                f"'{segment.tag[:4]}' is not a segment ID; check that this segment uses the "
                f"delimiters of its ISA (element '{segment.delimiters.element}', terminator "
                f"'{segment.delimiters.segment}')."
            )
        elif segment.tag == "":
            message = "This segment is empty (two segment terminators in a row)."
        else:
            message = (
                f"The {segment.tag} segment is outside {where}: every segment must be inside one."
            )
        level: Level = "group" if self.group is not None else "interchange"
        code = "x12.segment_id" if "not a segment ID" in message else "x12.outside_envelope"
        self._add(level, code, "024", message, segment=segment)

    # -- interchange ------------------------------------------------------------------------

    def _open_interchange(self, segment: Segment) -> None:
        self.interchange = Interchange(segment, len(self.document.interchanges) + 1)
        self.document.interchanges.append(self.interchange)
        self.group_controls = set()
        where = locate(self.interchange.position)
        try:
            Delimiters.from_isa(self.text, segment.offset, where)
        except InvalidInput as error:
            for found in error.issues:
                self._add(
                    "interchange",
                    found.code,
                    "024",
                    found.message,
                    segment=segment,
                    where=found.location,
                )
            return
        control = segment.element(13)
        if not (len(control) == 9 and control.isdigit()):
            self._element(segment, 13, "ISA13 (interchange control number) must be 9 digits.")
        if segment.element(12) != "00501":
            self._element(
                segment,
                12,
                f"ISA12 is '{_shown(segment.element(12))}'; this engine reads version 00501 "
                "(5010).",
            )
        if segment.element(15) not in ("P", "T"):
            self._element(segment, 15, "ISA15 must be P (production) or T (test).")

    def _element(self, segment: Segment, number: int, message: str) -> None:
        self._add(
            "interchange",
            "x12.isa",
            "024",
            message,
            segment=segment,
            element=number,
            value=segment.element(number),
            where=f"{locate(self._n())} element {number:02d}",
        )

    def _close_interchange(self, trailer: Segment | None) -> None:
        interchange = self.interchange
        assert interchange is not None
        where = locate(interchange.position)
        if trailer is None:
            self._add(
                "interchange",
                "x12.missing_trailer",
                "023",
                f"The interchange {_shown(interchange.control_number.strip())} has no IEA "
                "trailer: the file may be cut off or two files were joined.",
                where=where,
            )
        else:
            interchange.trailer = trailer
            if trailer.element(2) != interchange.control_number:
                self._add(
                    "interchange",
                    "x12.control_number",
                    "001",
                    f"IEA02 is '{_shown(trailer.element(2))}' but the ISA13 it closes is "
                    f"'{_shown(interchange.control_number)}'; they must be the same control "
                    "number.",
                    where=f"{where}/IEA element 02",
                )
            if trailer.element(1) != str(len(interchange.groups)):
                self._add(
                    "interchange",
                    "x12.count",
                    "021",
                    f"IEA01 says {_shown(trailer.element(1)) or 'nothing'} functional groups but "
                    f"the interchange has {len(interchange.groups)}.",
                    where=f"{where}/IEA element 01",
                )
        self.interchange = None
        self.group_controls = set()

    # -- group ------------------------------------------------------------------------------

    def _open_group(self, segment: Segment) -> None:
        assert self.interchange is not None
        self.group = FunctionalGroup(segment, len(self.interchange.groups) + 1)
        self.interchange.groups.append(self.group)
        self.set_controls = set()
        control = segment.element(6)
        if not (control.isdigit() and 1 <= len(control) <= 9):
            self._add(
                "group",
                "x12.control_number",
                "6",
                f"GS06 (group control number) is '{_shown(control)}'; it must be 1 to 9 digits.",
                element=6,
                value=control,
            )
        elif control in self.group_controls:
            self._add(
                "group",
                "x12.duplicate_control_number",
                "19",
                f"GS06 {_shown(control)} is used by an earlier group of this interchange; each "
                "group needs its own control number.",
                element=6,
                value=control,
            )
        self.group_controls.add(control)
        if not segment.element(1) or not segment.element(8):
            self._add(
                "group",
                "x12.gs",
                "1",
                "GS01 (functional identifier code) and GS08 (version, e.g. 005010X217) are "
                "required.",
            )

    def _close_group(self, trailer: Segment | None) -> None:
        group = self.group
        assert group is not None
        label = f"The functional group {_shown(group.control_number)}"
        if trailer is None:
            self._add(
                "group",
                "x12.missing_trailer",
                "3",
                f"{label} has no GE trailer: the file may be cut off.",
            )
        else:
            group.trailer = trailer
            if trailer.element(2) != group.control_number:
                self._add(
                    "group",
                    "x12.control_number",
                    "4",
                    f"GE02 is '{_shown(trailer.element(2))}' but the GS06 it closes is "
                    f"'{_shown(group.control_number)}'; they must be the same control number.",
                    value=trailer.element(2),
                    where=f"{locate(self._n(), group.position)}/GE element 02",
                )
            if trailer.element(1) != str(len(group.sets)):
                self._add(
                    "group",
                    "x12.count",
                    "5",
                    f"GE01 says {_shown(trailer.element(1)) or 'nothing'} transaction sets but "
                    f"the group has {len(group.sets)}.",
                    value=trailer.element(1),
                    where=f"{locate(self._n(), group.position)}/GE element 01",
                )
        self.group = None

    # -- transaction set --------------------------------------------------------------------

    def _open_set(self, segment: Segment) -> None:
        assert self.group is not None
        self.set = TransactionSet(segment, len(self.group.sets) + 1, [segment])
        self.group.sets.append(self.set)
        code, control = segment.element(1), segment.element(2)
        if not (len(code) == 3 and code.isdigit()):
            self._add(
                "set",
                "x12.st",
                "6",
                f"ST01 is '{_shown(code)}'; it must be the 3-digit transaction set code "
                "(e.g. 278).",
                position=1,
                segment=segment,
                element=1,
                value=code,
            )
        if not (4 <= len(control) <= 9 and control.strip() == control and control):
            self._add(
                "set",
                "x12.control_number",
                "7",
                f"ST02 (transaction set control number) is '{_shown(control)}'; it must be 4 to 9 "
                "characters.",
                position=1,
                segment=segment,
                element=2,
                value=control,
            )
        elif control in self.set_controls:
            self._add(
                "set",
                "x12.duplicate_control_number",
                "23",
                f"ST02 {_shown(control)} is used by an earlier set of this group; each "
                "transaction set needs its own control number.",
                position=1,
                segment=segment,
                element=2,
                value=control,
            )
        self.set_controls.add(control)

    def _close_set(self, trailer: Segment | None) -> None:
        transaction = self.set
        assert transaction is not None
        if trailer is None:
            self._add(
                "set",
                "x12.missing_trailer",
                "2",
                f"The transaction set {_shown(transaction.control_number)} "
                f"({_shown(transaction.code)}) has no SE trailer: the file may be cut off or "
                "the SE segment was lost.",
            )
        else:
            transaction.trailer = trailer
            position = len(transaction.segments)
            if trailer.element(2) != transaction.control_number:
                self._add(
                    "set",
                    "x12.control_number",
                    "3",
                    f"SE02 is '{_shown(trailer.element(2))}' but the ST02 it closes is "
                    f"'{_shown(transaction.control_number)}'; they must be the same control "
                    "number.",
                    segment=trailer,
                    position=position,
                    element=2,
                    value=trailer.element(2),
                )
            if trailer.element(1) != str(position):
                self._add(
                    "set",
                    "x12.count",
                    "4",
                    f"SE01 says {_shown(trailer.element(1)) or 'nothing'} segments but the set has "
                    f"{position} (counting ST and SE).",
                    segment=trailer,
                    position=position,
                    element=1,
                    value=trailer.element(1),
                )
        self.set = None


def _shown(value: str) -> str:
    """An element value as quoted in a message: envelope values are control numbers and codes,
    but a broken file may put anything there, so at most 12 characters are repeated."""
    return value if len(value) <= 12 else value[:12] + "..."


# -- writing ---------------------------------------------------------------------------------


class ControlCounter:
    """Control numbers 1, 2, 3...: `next_number()` is the default counter for `write_interchange`.

    A caller that must never reuse numbers (a clearinghouse rejects duplicates) passes its own
    callable backed by the database instead.
    """

    def __init__(self, start: int = 1) -> None:
        self._numbers = itertools.count(start)

    def __call__(self) -> int:
        return next(self._numbers)


@dataclass(frozen=True)
class Party:
    """An interchange sender or receiver: ISA05/ISA07 qualifier ("ZZ", "30"...) and id."""

    qualifier: str
    id: str


@dataclass(frozen=True)
class TransactionBody:
    """The segments of one transaction set between ST and SE, each (tag, element 01, ...)."""

    code: str  # ST01, e.g. "278"
    implementation: str  # ST03, e.g. "005010X217"
    segments: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class GroupSpec:
    """One functional group to write: GS01, GS02/GS03 application codes, GS08 version."""

    functional_id: str
    sender_code: str
    receiver_code: str
    version: str
    sets: Sequence[TransactionBody]


def write_interchange(
    groups: Sequence[GroupSpec],
    *,
    sender: Party,
    receiver: Party,
    at: dt.datetime,
    next_control: Callable[[], int],
    usage: str = "P",
    ack_requested: bool = False,
    delimiters: Delimiters | None = None,
    newline: str = "\n",
) -> str:
    """One interchange around `groups`: control numbers from `next_control` (ISA13, then each
    GS06 and each ST02 in order), counts in SE01/GE01/IEA01, the ISA padded to fixed width."""
    d = delimiters or Delimiters()
    d.check("delimiters")
    if d.segment in "\r\n":
        newline = ""  # the terminator is a line break already
    interchange_control = next_control()
    isa = (
        "ISA",
        "00",
        "",
        "00",
        "",
        sender.qualifier,
        sender.id,
        receiver.qualifier,
        receiver.id,
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        d.repetition,
        "00501",
        f"{interchange_control:09d}",
        "1" if ack_requested else "0",
        usage,
        d.component,
    )
    segments: list[tuple[str, ...]] = [_pad_isa(isa)]
    for group in groups:
        group_control = str(next_control())
        segments.append(
            (
                "GS",
                group.functional_id,
                group.sender_code,
                group.receiver_code,
                at.strftime("%Y%m%d"),
                at.strftime("%H%M"),
                group_control,
                "X",
                group.version,
            )
        )
        for body in group.sets:
            set_control = f"{next_control():04d}"
            segments.append(("ST", body.code, set_control, body.implementation))
            segments.extend(tuple(s) for s in body.segments)
            segments.append(("SE", str(len(body.segments) + 2), set_control))
        segments.append(("GE", str(len(group.sets)), group_control))
    segments.append(("IEA", str(len(groups)), f"{interchange_control:09d}"))
    return encode_segments(segments, d, newline)


def _pad_isa(isa: tuple[str, ...]) -> tuple[str, ...]:
    padded = [isa[0]]
    for number, (value, width) in enumerate(zip(isa[1:], ISA_WIDTHS, strict=True), start=1):
        if len(value) > width:
            raise InvalidInput.field(
                f"ISA{number:02d}",
                f"ISA{number:02d} '{value}' is longer than its {width} characters.",
                "x12.isa",
            )
        padded.append(value.ljust(width))
    return tuple(padded)
