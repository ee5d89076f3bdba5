"""X12 text into segments: the delimiters an ISA declares, and a fast streaming tokenizer.

Any X12 transaction (270/271, 278, 835, 837, 999...) goes through here; nothing in this module
knows a transaction's structure. The ISA segment is fixed width (106 characters) and declares the
four delimiters: the element separator is its 4th character, the repetition separator is ISA11,
the component separator is ISA16 and the segment terminator is the character right after ISA16.
Line breaks (CR, LF or CRLF) after segment terminators are tolerated and not part of segments.

Speed matters (issue 4: at least 3x pyx12's tokenizer), so the tokenizer splits with `str.split`
on the terminator and the element separator and never loops over characters. `split_segments`
gives the same segments as plain field lists for readers of whole files (the 837 reader), where
a NamedTuple per segment would cost as much as the splitting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from precert.channels.x12.errors import issue
from precert.errors import InvalidInput

ISA_LENGTH = 106
# Width of ISA01..ISA16: the ISA is fixed width so that a reader can find the delimiters.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_LINE_BREAKS = "\r\n"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators of one interchange (5010 defaults: `*`, `:`, `^`, `~`)."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    @classmethod
    def from_isa(cls, text: str, start: int = 0, location: str = "ISA") -> Delimiters:
        """Delimiters declared by the ISA at `text[start:]`; InvalidInput says what is wrong."""
        head = text[start : start + ISA_LENGTH]
        if not head.startswith("ISA"):
            shown = head[:3].strip() or "nothing"
            raise InvalidInput(
                "This is not an X12 interchange.",
                [
                    issue(
                        "x12.no_isa",
                        f"An X12 file must start with an ISA segment; it starts with '{shown}'.",
                        location,
                    )
                ],
            )
        if len(head) < 4:
            raise _isa_error("The ISA segment is cut off before its first element.", location)
        element = head[3]
        # Check each element's width so the message can name the element that is too long/short.
        parts = head.split(element, 16)
        for number, width in enumerate(ISA_WIDTHS, start=1):
            if number >= len(parts) or (number == len(parts) - 1 and len(head) < ISA_LENGTH):
                raise _isa_error(
                    f"The ISA segment is cut off at element ISA{number:02d} "
                    f"(an ISA has 16 elements and is exactly {ISA_LENGTH} characters long).",
                    location,
                )
            value = parts[number] if number < 16 else parts[16][:1]
            if number < 16 and len(value) != width:
                raise _isa_error(
                    f"ISA{number:02d} must be exactly {width} characters (pad with spaces), "
                    f"found {len(value)}: the ISA is fixed width, so its delimiters cannot "
                    "be read.",
                    f"{location} element {number:02d}",
                )
        if len(head) < ISA_LENGTH:
            raise _isa_error(
                "The ISA segment is cut off after ISA16: the segment terminator is missing.",
                location,
            )
        delimiters = cls(element, head[104], head[82], head[105])
        delimiters.check(location)
        return delimiters

    def check(self, location: str = "ISA") -> None:
        """The four delimiters must be four different characters that cannot occur in data."""
        chosen = {
            "element separator": self.element,
            "component separator (ISA16)": self.component,
            "repetition separator (ISA11)": self.repetition,
            "segment terminator": self.segment,
        }
        for name, char in chosen.items():
            if len(char) != 1 or char.isalnum() or char == " ":
                raise _isa_error(
                    f"The {name} is '{char}'; delimiters must be single characters that are "
                    "not letters, digits or spaces.",
                    location,
                )
        if len(set(chosen.values())) != 4:
            listed = ", ".join(f"{name} '{char}'" for name, char in chosen.items())
            raise _isa_error(
                f"The ISA declares the same character for two delimiters ({listed}); "
                "each delimiter must be different.",
                location,
            )

    def as_dict(self) -> dict[str, str]:
        return {
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment": self.segment,
        }


def _isa_error(message: str, location: str) -> InvalidInput:
    return InvalidInput(message, [issue("x12.isa", message, location)])


class Segment(NamedTuple):
    """One segment: its tag, its elements (element 01 first), and where it is in the text.

    `number` is the 1-based position among the file's segments, `offset` the character offset of
    the tag in the text (0-based). A NamedTuple because the tokenizer makes millions of them.
    """

    tag: str
    elements: tuple[str, ...]
    number: int
    offset: int
    delimiters: Delimiters

    def element(self, position: int) -> str:
        """Element `position` (1-based, as in NM109); "" when the segment is shorter."""
        if 0 < position <= len(self.elements):
            return self.elements[position - 1]
        return ""

    def components(self, position: int) -> tuple[str, ...]:
        """The components of a composite element (e.g. SV101 "HC:99213:25" -> 3 parts)."""
        return tuple(self.element(position).split(self.delimiters.component))

    def repetitions(self, position: int) -> tuple[str, ...]:
        """The repeats of a repeating element (e.g. HI01 with `^`); () when it is empty."""
        value = self.element(position)
        return tuple(value.split(self.delimiters.repetition)) if value else ()

    def encode(self, delimiters: Delimiters | None = None) -> str:
        """The segment as text with its terminator (no line break)."""
        d = delimiters or self.delimiters
        return d.element.join((self.tag, *self.elements)) + d.segment


def tokenize(text: str) -> Iterator[Segment]:
    """Segments of `text`, in order, with the delimiters of the ISA they belong to.

    Raises InvalidInput when the text does not start with a readable ISA. A later ISA may declare
    other delimiters (each interchange has its own); the rest of the text is read with them. A
    trailing piece without a terminator is still yielded: the envelope reader reports the file
    as cut off. Empty segments ("~~") are yielded with tag "" for the same reason.
    """
    start = len(text) - len(text.lstrip(_LINE_BREAKS + " \t\ufeff"))
    yield from _tokenize_from(text, start, 1, Delimiters.from_isa(text, start))


def _tokenize_from(text: str, start: int, number: int, delimiters: Delimiters) -> Iterator[Segment]:
    """Segments from `start` (an ISA), numbered from `number`, read with `delimiters`."""
    element = delimiters.element
    terminator = delimiters.segment
    # The per-segment work is kept to what the text needs: no stripping without line breaks, no
    # ISA check without a later "ISA", no right strip unless CRLF ends segments terminated by LF.
    breaks = "\n" in text or "\r" in text
    strip = _LINE_BREAKS.replace(terminator, "") if breaks else ""
    trailing = terminator == "\n" and "\r" in text
    later_isa = text.find("ISA", start + 3) != -1
    step = len(terminator)
    pieces = text[start:].split(terminator) if start else text.split(terminator)
    tail = pieces.pop()  # after the last terminator: line breaks, or a cut-off segment
    if tail.strip(_LINE_BREAKS + " \t"):
        pieces.append(tail)
    offset = start
    make = Segment._make  # tuple.__new__, without NamedTuple's Python-level __new__
    for piece in pieces:
        raw = piece.lstrip(strip) if strip else piece
        at = offset + len(piece) - len(raw)
        offset += len(piece) + step
        if trailing:
            raw = raw.rstrip(strip)
        if not raw:
            yield make(("", (), number, at, delimiters))
            number += 1
            continue
        fields = raw.split(element)
        tag = fields[0]
        if later_isa and number > 1 and tag.startswith("ISA"):
            declared = _declared_delimiters(text, at, delimiters)
            if declared != delimiters:
                yield from _tokenize_from(text, at, number, declared)
                return
        yield make((tag, tuple(fields[1:]), number, at, delimiters))
        number += 1


def _declared_delimiters(text: str, at: int, current: Delimiters) -> Delimiters:
    """The delimiters of a later ISA; the current ones if that ISA is unreadable (the envelope
    reader reports it)."""
    try:
        return Delimiters.from_isa(text, at)
    except InvalidInput:
        return current


def encode_segments(segments: list[tuple[str, ...]], delimiters: Delimiters, newline: str) -> str:
    """Segments given as (tag, element 01, ...) tuples as X12 text, each followed by `newline`."""
    end = delimiters.segment + newline
    join = delimiters.element.join
    return "".join(join(fields) + end for fields in segments)


# One run of split_segments: the delimiters, then the run's segments as [tag, element 01, ...].
SegmentRun = tuple[Delimiters, Iterator[list[str]]]


def split_segments(text: str) -> Iterator[SegmentRun]:
    """The segments of `text` as `tokenize` reads them, without a Segment per segment.

    For readers that stream a whole file (the 837 reader): each run is the delimiters and an
    iterator of field lists `[tag, element 01, ...]`; a later ISA that declares other delimiters
    starts a new run. A segment's number (tokenize's `number`) is its index among all runs' segments
    plus 1; offsets are not computed. The splitting and stripping is all `str.split`/`str.strip`
    mapped in C, so a segment costs no Python-level step here. Raises InvalidInput as tokenize does,
    when called (not when iterated).
    """
    start = len(text) - len(text.lstrip(_LINE_BREAKS + " \t\ufeff"))
    delimiters = Delimiters.from_isa(text, start)
    return _split_runs(text, start, delimiters)


def _split_runs(text: str, start: int, delimiters: Delimiters) -> Iterator[SegmentRun]:
    """The runs from `start` (a readable ISA) on; see split_segments."""
    breaks = "\n" in text or "\r" in text
    while True:
        terminator = delimiters.segment
        strip = _LINE_BREAKS.replace(terminator, "") if breaks else ""
        # Where the next run starts: a later ISA (at a segment start) declaring other delimiters.
        end, declared = _next_interchange(text, start, terminator, strip, delimiters)
        chunk = text[start:end] if start or end < len(text) else text
        pieces = _pieces(chunk, terminator, strip, terminator == "\n" and "\r" in text)
        if end == len(text):
            tail = pieces.pop()  # after the last terminator: line breaks, or a cut-off segment
            if tail.strip(_LINE_BREAKS + " \t"):
                pieces.append(tail)
        else:
            pieces.pop()  # "" or line breaks: the next run's ISA starts after them
        yield delimiters, map(str.split, pieces, repeat(delimiters.element))
        if declared is None:
            return
        start, delimiters = end, declared


def _pieces(chunk: str, terminator: str, strip: str, trailing: bool) -> list[str]:
    """`chunk` split at its terminators, each piece stripped as tokenize strips a segment: line
    breaks (`strip`) before it, and after it too when `trailing` (LF ends segments but CRs are in
    the text: CRLF line ends)."""
    if not strip:
        return chunk.split(terminator)
    if trailing:
        return list(map(str.strip, chunk.split(terminator), repeat(strip)))
    # The usual file has one line break after each terminator and none elsewhere: then dropping
    # those (one C pass) strips every piece, and no piece is stripped one by one.
    line_break = strip.replace("\r", "") if "\r" not in chunk else strip
    ended = terminator + line_break
    if len(line_break) == 1 and chunk.count(line_break) == chunk.count(ended):
        return chunk.replace(ended, terminator).split(terminator)
    return list(map(str.lstrip, chunk.split(terminator), repeat(strip)))


def _next_interchange(
    text: str, start: int, terminator: str, strip: str, current: Delimiters
) -> tuple[int, Delimiters | None]:
    """The offset of the first ISA after the one at `start` that begins a segment and declares
    delimiters other than `current` (and those delimiters); (len(text), None) when there is none.
    An ISA begins a segment when only stripped line breaks stand between it and a terminator."""
    at = text.find("ISA", start + 3)
    while at != -1:
        before = at
        while before > start and text[before - 1] in strip:
            before -= 1
        if before > start and text[before - 1] == terminator:
            declared = _declared_delimiters(text, at, current)
            if declared != current:
                return at, declared
        at = text.find("ISA", at + 3)
    return len(text), None
