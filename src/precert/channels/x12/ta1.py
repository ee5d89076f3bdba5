"""The TA1 interchange acknowledgment: writing one for each interchange we receive whose ISA/IEA
is broken (or for every interchange, when asked), and reading the TA1s a payer or clearinghouse
sends back into Issues with the note code in words.

A TA1 answers the envelope only: TA101 the received ISA13, TA102 its ISA09 (YYMMDD), TA103 its
ISA10 (HHMM), TA104 A accepted / E accepted with errors / R rejected, TA105 the note code (000
no error). It travels alone in an interchange: ISA, TA1 ..., IEA with IEA01 0 (no groups).
Problems inside groups and sets belong in the 999 (ack999.py).

What we relied on (public descriptions; X12's 005010X231A1 TR3 was not read): Microsoft's
"X12 TA1 Acknowledgment" (TA101-TA105 mapped to ISA13/ISA09/ISA10), X12 data element I18 as
listed by doc.chinlinktech.com (codes 000-031, our wording below), EdiFabric's TA1 code table
(which TA104, E or R, an engine gives each note: that split is engine behaviour, the standard
does not tie a note code to a TA104) and X12 RFI 1497 (5010 has no note code for a bad
repetition separator: 022 invalid control structure is the closest). Beware: element I43 (the
TA3 delivery notice) also numbers codes 000-033 with DIFFERENT meanings (005 there is a bad
reported control number, here a bad sender qualifier); TA105 is I18.

Several TA1s may answer one interchange, one per problem (RFI 1497 shows an engine sending
two); we write one per distinct note code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from precert.channels.x12.envelope import Interchange, X12Document
from precert.channels.x12.errors import Finding
from precert.channels.x12.tokens import ISA_WIDTHS, Delimiters, Segment, encode_segments, tokenize
from precert.errors import InvalidInput, Issue, PayerRejected

# TA105, data element I18: what was wrong with the interchange envelope.
NOTE_CODES: dict[str, str] = {
    "000": "no error",
    "001": "the interchange control numbers in the ISA13 header and IEA02 trailer differ",
    "002": "the standard in the control standards identifier is not supported",
    "003": "this version of the interchange controls (ISA12) is not supported",
    "004": "the segment terminator is not valid",
    "005": "the sender's interchange ID qualifier (ISA05) is not valid",
    "006": "the interchange sender ID (ISA06) is not valid",
    "007": "the receiver's interchange ID qualifier (ISA07) is not valid",
    "008": "the interchange receiver ID (ISA08) is not valid",
    "009": "the interchange receiver ID (ISA08) is unknown to the receiver",
    "010": "the authorization information qualifier (ISA01) is not valid",
    "011": "the authorization information (ISA02) is not valid",
    "012": "the security information qualifier (ISA03) is not valid",
    "013": "the security information (ISA04) is not valid",
    "014": "the interchange date (ISA09) is not valid",
    "015": "the interchange time (ISA10) is not valid",
    "016": "the interchange standards identifier is not valid",
    "017": "the interchange version (ISA12) is not valid",
    "018": "the interchange control number (ISA13) is not valid",
    "019": "the acknowledgment requested flag (ISA14) is not valid",
    "020": "the test indicator (ISA15) is not valid",
    "021": "the number of functional groups in IEA01 is wrong",
    "022": "the control structure is not valid",
    "023": "the file ended too early (improper end of file)",
    "024": "the interchange content is not valid (e.g. a bad GS segment)",
    "025": "the interchange control number was used before (duplicate)",
    "026": "the data element separator is not valid",
    "027": "the component element separator is not valid",
    "028": "the delivery date of a deferred delivery request is not valid",
    "029": "the delivery time of a deferred delivery request is not valid",
    "030": "the delivery time code of a deferred delivery request is not valid",
    "031": "the grade of service code is not valid",
}
TA104_CODES: dict[str, str] = {
    "A": "accepted",
    "E": "accepted with errors",
    "R": "rejected",
}
# Note codes after which the interchange is still processed (TA104 E), following EdiFabric's
# engine table: a trailer that does not match or a flag we can read past. Everything else is R.
ACCEPTED_WITH_ERRORS = frozenset({"001", "006", "008", "019", "020", "021"})
# envelope.py reports every ISA element problem as 024; the element tells the precise note.
_ISA_ELEMENT_NOTES = {
    1: "010",
    2: "011",
    3: "012",
    4: "013",
    5: "005",
    6: "006",
    7: "007",
    8: "008",
    9: "014",
    10: "015",
    12: "017",
    13: "018",
    14: "019",
    15: "020",
}


def note_code(finding: Finding) -> str:
    """The TA105 for an interchange-level finding of envelope.read."""
    if finding.tag == "ISA" and finding.element in _ISA_ELEMENT_NOTES:
        return _ISA_ELEMENT_NOTES[finding.element]
    code = finding.ack_code
    return code if len(code) == 3 and code in NOTE_CODES else "024"


def interchange_findings(document: X12Document, interchange: Interchange) -> list[Finding]:
    """The findings about the ISA/IEA of `interchange` (what a TA1 reports)."""
    return [
        f
        for f in document.findings
        if f.level == "interchange" and f.interchange == interchange.position
    ]


def needs_ta1(document: X12Document) -> bool:
    """Whether some interchange of `document` has a broken envelope (answer with a TA1)."""
    return any(f.level == "interchange" for f in document.findings)


def write_ta1(
    document: X12Document,
    *,
    at: dt.datetime,
    next_control: Callable[[], int],
    accepted_too: bool = False,
    newline: str = "\n",
) -> str:
    """TA1 interchanges for `document`: one per received interchange with envelope findings
    (and, with `accepted_too`, a TA1*...*A*000 for each clean one, as when ISA14 asks for it).
    InvalidInput when there is nothing to acknowledge."""
    out = []
    for interchange in document.interchanges:
        findings = interchange_findings(document, interchange)
        if findings or accepted_too:
            notes = list(dict.fromkeys(note_code(f) for f in findings)) or ["000"]
            out.append(_ta1_interchange(interchange, notes, at, next_control, newline))
    if not out:
        raise InvalidInput.field(
            "ISA", "No interchange here has an envelope problem to report in a TA1.", "x12.ta1"
        )
    return "".join(out)


def _ta1_interchange(
    interchange: Interchange,
    notes: Sequence[str],
    at: dt.datetime,
    next_control: Callable[[], int],
    newline: str,
) -> str:
    d = interchange.delimiters
    try:
        d.check("ISA")
    except InvalidInput:
        d = Delimiters()  # the received ones are broken: answer with the defaults
    control = f"{next_control():09d}"
    received = _digits(interchange.element(13), 9)
    date = _digits(interchange.element(9), 6) if len(interchange.element(9)) == 6 else ""
    time = _digits(interchange.element(10), 4) if len(interchange.element(10)) == 4 else ""
    isa = (
        "ISA",
        "00",
        "",
        "00",
        "",
        _safe(interchange.element(7), 2, d) or "ZZ",
        _safe(interchange.element(8), 15, d) or "RECEIVER",
        _safe(interchange.element(5), 2, d) or "ZZ",
        _safe(interchange.element(6), 15, d) or "SENDER",
        f"{at:%y%m%d}",
        f"{at:%H%M}",
        d.repetition,
        "00501",
        control,
        "0",
        "T" if interchange.element(15) == "T" else "P",
        d.component,
    )
    padded = tuple([isa[0], *(v.ljust(w) for v, w in zip(isa[1:], ISA_WIDTHS, strict=True))])
    segments: list[tuple[str, ...]] = [padded]
    for note in notes:
        status = "A" if note == "000" else "E" if note in ACCEPTED_WITH_ERRORS else "R"
        segments.append(
            ("TA1", received, date or f"{at:%y%m%d}", time or f"{at:%H%M}", status, note)
        )
    segments.append(("IEA", "0", control))
    return encode_segments(segments, d, "" if d.segment in "\r\n" else newline)


def _digits(value: str, width: int) -> str:
    """A control number, date or time copied from a broken ISA: digits only, fixed width."""
    kept = "".join(c for c in value if c.isascii() and c.isdigit())[:width]
    return kept.rjust(width, "0")


def _safe(value: str, width: int, d: Delimiters) -> str:
    """A sender or receiver id copied back: printable, and no delimiter of the answer."""
    banned = {d.element, d.component, d.repetition, d.segment}
    return "".join(c for c in value if " " <= c < "\x7f" and c not in banned)[:width]


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """One TA1: which interchange of ours it answers and what it says about it."""

    control_number: str  # TA101, our ISA13
    date: str  # TA102 YYMMDD
    time: str  # TA103 HHMM
    status: str  # TA104 A, E or R
    note: str  # TA105
    location: str

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")

    @property
    def meaning(self) -> str:
        return NOTE_CODES.get(self.note, "a note code this reader does not know")

    def issue(self) -> Issue:
        """The TA1 as an Issue a person can act on (our envelope is what needs fixing)."""
        what = TA104_CODES.get(self.status, f"answered with status '{self.status[:2]}'")
        message = f"The payer {what} interchange {self.control_number}"
        if self.note != "000":
            message += f": {self.meaning} (TA105 {self.note})"
        return Issue("x12.ta1", message + ".", self.location)


def read_ta1(text: str) -> list[InterchangeAck]:
    """Every TA1 segment in `text`, in order. InvalidInput when the text has no readable ISA
    or a TA1 lacks a required element."""
    found = []
    interchange = 0
    for segment in tokenize(text):
        if segment.tag == "ISA":
            interchange += 1
        elif segment.tag == "TA1":
            found.append(_read_one(segment, interchange))
    return found


def _read_one(segment: Segment, interchange: int) -> InterchangeAck:
    where = f"{'ISA' if interchange <= 1 else f'ISA[{interchange}]'}/TA1 (segment {segment.number})"
    values = [segment.element(n) for n in range(1, 6)]
    missing = [f"TA1{n:02d}" for n, v in enumerate(values, 1) if not v]
    if missing:
        raise InvalidInput.field(
            where, f"The TA1 lacks {', '.join(missing)}; it cannot be read.", "x12.ta1"
        )
    control, date, time, status, note = values
    return InterchangeAck(control, date, time, status, note, where)


def raise_if_rejected(acks: Sequence[InterchangeAck]) -> None:
    """PayerRejected with one Issue per TA1 that rejects an interchange (TA104 R): resending
    the same file will not help, its envelope must be fixed first."""
    rejected = [ack.issue() for ack in acks if not ack.accepted]
    if rejected:
        raise PayerRejected(
            "The payer rejected the interchange envelope (TA1); fix the ISA/IEA named in each "
            "issue and send the file again with a new control number.",
            rejected,
        )
