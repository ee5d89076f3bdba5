"""The corrected 837: `insert_authorization_numbers(text, fixes)` adds REF*G1 (prior
authorization) segments where a claim or a line lacks its number, and changes nothing else.

Where the REF*G1 goes follows the TR3 segment order (005010X222A1 and 005010X223A2, as in pyx12's
maps): in 2300 after CLM, its DTPs, CL1 (837I), PWK, CN1, AMT and the REFs that come before G1
(4N, F5, EW, 9F; 837I 4N, 9F); in 2400 (837P only: the 837I has no line-level prior
authorization) after SV1, SV5, PWK, CR1, CR3, CRC, DTP, QTY, MEA, CN1 and REF*9B / 9D. The
output keeps the input's delimiters and line breaks byte for byte; only the inserted segments and
SE01 (recounted) differ. An existing different G1 is never replaced: that is for a person. A line
number equal to the claim's is not repeated in 2400 (X12 RFI 2459: only a different one is sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from precert.channels.x12.envelope import FunctionalGroup, TransactionSet, read
from precert.channels.x12.errors import locate
from precert.channels.x12.tokens import Delimiters, Segment
from precert.errors import InvalidInput, Issue

# (claim id, line number or None for the whole claim) -> the authorization number to insert.
FixKey = tuple[str, int | None]

# Segments of 2300 that come before its REF*G1 (TR3 order), and the 2300 REFs before G1.
_CLAIM_BEFORE = frozenset({"DTP", "CL1", "PWK", "CN1", "AMT"})
_CLAIM_REFS_BEFORE = {"837P": frozenset({"4N", "F5", "EW", "9F"}), "837I": frozenset({"4N", "9F"})}
# Segments of 2400 (837P) that come before its REF*G1, and the 2400 REFs before G1.
_LINE_BEFORE = frozenset({"SV5", "PWK", "CR1", "CR3", "CRC", "DTP", "QTY", "MEA", "CN1"})
_LINE_REFS_BEFORE = frozenset({"9B", "9D"})
# What ends the part of a loop where its own REF*G1 may stand (2310/2420 NM1 loops, 2320 SBR,
# 2430 SVD, 2410 LIN, the next line, claim or HL, the set's end).
_LOOP_END = frozenset({"NM1", "SBR", "SVD", "LIN", "LX", "CLM", "HL", "SE"})
REF02_MAX = 50


@dataclass
class _Insert:
    """A REF*G1 to write before the segment at `before` (its index in the set's segments)."""

    before: int
    number: str


def insert_authorization_numbers(text: str, fixes: Mapping[FixKey, str]) -> str:
    """`text` with a REF*G1 for each fix; InvalidInput (located issues) when a fix cannot be
    made: an unknown claim or line, a claim id used twice, a different G1 already there, a
    number X12 cannot carry, an envelope problem, or a line fix on an 837I."""
    try:
        document = read(text)
    except InvalidInput as error:
        raise InvalidInput("The 837 cannot be corrected: " + error.message, error.issues) from None
    if document.findings:
        raise InvalidInput(
            "The 837 has envelope problems; correct them before inserting authorization numbers.",
            document.issues,
        )
    issues: list[Issue] = []
    pending = dict(fixes)
    seen = _claim_ids(document.groups())
    edits: list[tuple[TransactionSet, list[_Insert]]] = []
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                where = (interchange.position, group.position, transaction.position)
                inserts = _plan(transaction, where, pending, seen, issues)
                if inserts:
                    edits.append((transaction, inserts))
    for claim_id, line in pending:
        if claim_id not in seen:
            issues.append(_issue(f"Claim '{claim_id}' is not in this 837.", "CLM01"))
        elif line is not None:
            issues.append(_issue(f"Claim '{claim_id}' has no line {line}.", "LX01"))
    if issues:
        raise InvalidInput("The authorization numbers cannot be inserted.", issues)
    return _write(text, edits)


def _plan(
    transaction: TransactionSet,
    where: tuple[int, int, int],
    pending: dict[FixKey, str],
    seen: dict[str, int],
    issues: list[Issue],
) -> list[_Insert]:
    """The inserts of one set; the fixes it handles are taken out of `pending`."""
    if transaction.code != "837":
        return []
    kind = "837I" if transaction.implementation.startswith("005010X223") else "837P"
    segments = transaction.segments
    inserts: list[_Insert] = []
    claim_id = ""
    claim_numbers: set[str] = set()  # the claim's 2300 G1, there or being inserted
    for index, segment in enumerate(segments):
        if segment.tag == "CLM":
            claim_id = segment.element(1)
            number = pending.pop((claim_id, None), None)
            claim_numbers = {value for _, value in _existing_g1(segments, index + 1)}
            if number is not None:
                claim_numbers.add(number)
                if seen[claim_id] > 1:
                    issues.append(_twice(claim_id, where, index))
                    continue
                _add(inserts, issues, segments, index, number, where, claim_id, None, kind)
        elif segment.tag == "LX" and claim_id and segment.element(1).isdecimal():
            line = int(segment.element(1))
            number = pending.pop((claim_id, line), None)
            if number is None:
                continue
            if kind == "837I":
                issues.append(
                    _issue(
                        f"Claim '{claim_id}' line {line}: an 837I carries the prior authorization "
                        "number on the claim only (2300 REF*G1); give the fix for the claim "
                        "(line None).",
                        locate(*where, segment=index + 1, tag="LX"),
                    )
                )
                continue
            if seen[claim_id] > 1:
                issues.append(_twice(claim_id, where, index))
                continue
            if number in claim_numbers:
                # The claim's number covers the line, and the TR3 forbids repeating it in 2400
                # (X12 RFI 2459): nothing to insert.
                continue
            _add(inserts, issues, segments, index, number, where, claim_id, line, kind)
    return inserts


def _add(
    inserts: list[_Insert],
    issues: list[Issue],
    segments: list[Segment],
    start: int,
    number: str,
    where: tuple[int, int, int],
    claim_id: str,
    line: int | None,
    kind: str,
) -> None:
    """Plan the insert for the loop opening at `segments[start]` (CLM or LX)."""
    if not _check_number(number, claim_id, line, issues, segments[start].delimiters):
        return
    existing = _existing_g1(segments, start + 1)
    what = f"Claim '{claim_id}'" + (f" line {line}" if line is not None else "")
    if existing:
        index, value = existing[0]
        if number in (v for _, v in existing):
            return  # already there: nothing to do
        issues.append(
            _issue(
                f"{what} already carries prior authorization number '{value}', not "
                f"'{number}'; a person must decide which is right (it is not replaced).",
                locate(*where, segment=index + 1, tag="REF", element=2),
            )
        )
        return
    if line is None:
        before, refs = _CLAIM_BEFORE, _CLAIM_REFS_BEFORE[kind]
    else:
        # 2400: the service segment (SV1) comes right after LX and before everything else.
        start += 1
        before, refs = _LINE_BEFORE, _LINE_REFS_BEFORE
    inserts.append(_Insert(_position(segments, start + 1, before, refs), number))


def _position(
    segments: list[Segment], index: int, before: frozenset[str], refs: frozenset[str]
) -> int:
    """The index of the first segment that comes after REF*G1 in TR3 order."""
    while index < len(segments):
        segment = segments[index]
        if segment.tag in before or (segment.tag == "REF" and segment.element(1) in refs):
            index += 1
            continue
        break
    return index


def _existing_g1(segments: list[Segment], index: int) -> list[tuple[int, str]]:
    """The loop's own REF*G1 (index, number): up to the first segment that ends that part."""
    found = []
    while index < len(segments) and segments[index].tag not in _LOOP_END:
        segment = segments[index]
        if segment.tag == "REF" and segment.element(1) == "G1":
            found.append((index, segment.element(2)))
        index += 1
    return found


def _claim_ids(groups: Iterable[FunctionalGroup]) -> dict[str, int]:
    """How many claims use each CLM01 in the file: a fix for a claim id used twice is refused."""
    counts: dict[str, int] = {}
    for group in groups:
        for transaction in group.sets:
            for segment in transaction.segments:
                if segment.tag == "CLM":
                    claim_id = segment.element(1)
                    counts[claim_id] = counts.get(claim_id, 0) + 1
    return counts


def _twice(claim_id: str, where: tuple[int, int, int], index: int) -> Issue:
    return _issue(
        f"Claim id '{claim_id}' is used by more than one claim in this 837, so the fix cannot "
        "say which one it is for; correct it by hand.",
        locate(*where, segment=index + 1, tag="CLM", element=1),
    )


def _check_number(
    number: str, claim_id: str, line: int | None, issues: list[Issue], delimiters: Delimiters
) -> bool:
    """REF02 is 1-50 printable characters; none of the interchange's delimiters may be inside."""
    ok = (
        0 < len(number) <= REF02_MAX
        and number.isprintable()
        and number.isascii()
        and not any(c in number for c in delimiters.as_dict().values())
        and number.strip() == number
    )
    if not ok:
        what = f"claim '{claim_id}'" + (f" line {line}" if line is not None else "")
        issues.append(
            _issue(
                f"The authorization number for {what} must be 1 to {REF02_MAX} printable "
                "characters without outer spaces or the file's delimiters "
                f"({' '.join(delimiters.as_dict().values())}).",
                "REF02",
            )
        )
    return ok


def _issue(message: str, location: str) -> Issue:
    return Issue("x12.837_fix", message, location)


def _write(text: str, edits: list[tuple[TransactionSet, list[_Insert]]]) -> str:
    """The text with each insert placed before its segment, in the input's own style (the
    characters between segments are copied from the segment it is inserted after), and each
    edited set's SE01 recounted."""
    cuts: list[tuple[int, int, str]] = []  # (start, end, replacement) in text order
    for transaction, inserts in edits:
        segments = transaction.segments
        for insert in inserts:
            after, before = segments[insert.before - 1], segments[insert.before]
            d = after.delimiters
            gap = _gap(text, after, before)
            segment = d.element.join(("REF", "G1", insert.number)) + d.segment + gap
            cuts.append((before.offset, before.offset, segment))
        trailer = transaction.trailer
        assert trailer is not None  # read() reports a missing SE, refused above
        count = len(segments) + len(inserts)
        start = trailer.offset + len(trailer.tag) + 1
        cuts.append((start, start + len(trailer.element(1)), str(count)))
    cuts.sort(key=lambda cut: cut[0])
    out = []
    at = 0
    for start, end, replacement in cuts:
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def _gap(text: str, after: Segment, before: Segment) -> str:
    """What stands between the terminator of `after` and the tag of `before` (a line break or
    nothing)."""
    terminator = after.delimiters.segment
    end = text.rfind(terminator, after.offset, before.offset)
    return text[end + len(terminator) : before.offset]
