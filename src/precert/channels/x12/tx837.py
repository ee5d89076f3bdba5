"""Reading 837P (005010X222) and 837I (005010X223) claims into domain Claims, one pass over the
tokenizer's segments: `read_claims(text) -> Claims837`.

What comes from where: 2010AA NM1*85 the billing NPI; 2010BA NM1*IL the member id; 2010BB NM1*PR
the payer id and name; CLM the claim (CLM01 id, CLM02 charge, CLM05 facility code, qualifier and
frequency -> setting); 2300 REF*G1 / REF*9F, DTP*434 (837I statement dates: the dates of a line
without DTP*472) and HI the claim's numbers, dates and diagnoses (SV107 points into them); 2310
NM1*82 rendering, NM1*71 attending (837I), NM1*77 service facility; 2400 LX with SV1 (837P) or
SV2 (837I), DTP*472, REF*G1 / REF*9F and 2420 NM1*82 / NM1*77 the lines. 2320/2330 (other
payers: their own NM1*IL, NM1*PR and REF*G1) and 2430 (line adjudication) are skipped.

A claim with a problem (no CLM01, a line with no code, a bad date...) is left out and reported as
a ClaimError with located issues; every other claim is still read. Envelope problems are reported
the same way (claim id ""). Nothing here raises for bad input. Speed matters (a 200,000-line file):
segments stream through a dict of handlers, repeated dates, amounts and pointers are parsed once.
Segments come from tokens.split_segments as field lists ([tag, element 01, ...], so element n is
`fields[n]`), not Segment tuples: building ~1M NamedTuples was a third of the reader's time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from precert.channels.x12.errors import locate
from precert.channels.x12.tokens import Delimiters, split_segments
from precert.domain.claims import Claim, ClaimKind, ClaimLine, Setting
from precert.errors import InvalidInput, Issue

# 837P place of service (CLM05-1 / SV105) that is an inpatient stay.
INPATIENT_POS = frozenset({"21", "51", "61"})
# 837I type of bill, first two digits (facility type + classification) of an inpatient stay.
INPATIENT_BILL_TYPES = frozenset({"11", "12", "18", "21", "41", "65", "66", "86"})
# HI qualifiers that carry diagnoses (ICD-10 "AB*" and ICD-9 "B*"): principal, other,
# admitting, reason for visit, external cause. Procedure, occurrence, value and condition
# codes (BBR, BH, BE, BG...) are not diagnoses.
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "BK", "ABF", "BF", "ABJ", "BJ", "APR", "PR", "ABN", "BN"})

# CLM05 is always "facility code, qualifier (A/B), frequency": the character between them is the
# component separator the sender really used (see _SetReader.component).
_ZERO = Decimal("0")
_POINTERS = {str(n): n for n in range(1, 13)}
# LX01 as most files write it: a dict look-up instead of three checks and int() per line.
_LINE_NUMBERS = {str(n): n for n in range(1, 100)}
_UNITS = {str(n): n for n in range(100)}  # SV104 / SV205 as most lines write it
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_CLM05 = re.compile(r"[0-9A-Z]{1,2}([^0-9A-Za-z ])[AB]?\1[0-9A-Z]")


# ClaimLine's fields in order: the reader builds lines positionally with _line_maker's setters
# (ClaimLine's keyword __init__ was a quarter of its time); test_x12_837 pins this order.
LINE_FIELDS = (
    "number",
    "code",
    "units",
    "from_date",
    "to_date",
    "charge",
    "modifiers",
    "pos",
    "revenue_code",
    "rendering_npi",
    "facility_npi",
    "diagnoses",
    "authorization_numbers",
    "referral_numbers",
    "position",
)


def _line_maker() -> Callable[..., ClaimLine]:
    """ClaimLine(*values in LINE_FIELDS order), built with its slots' own setters.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which is half the
    cost of a line (200,000 of them in a large file); setting the slots directly gives the same
    object. Only while ClaimLine is a plain slotted dataclass with these fields and no
    __post_init__: should it gain checks, its own constructor is used again.
    """
    plain = (
        tuple(f.name for f in dataclasses.fields(ClaimLine)) == LINE_FIELDS
        and "__slots__" in vars(ClaimLine)
        and not hasattr(ClaimLine, "__post_init__")
    )
    if not plain:
        return ClaimLine
    new = object.__new__
    (n01, n02, n03, n04, n05, n06, n07, n08, n09, n10, n11, n12, n13, n14, n15) = (
        vars(ClaimLine)[name].__set__ for name in LINE_FIELDS
    )

    def make(*values: object) -> ClaimLine:
        (v01, v02, v03, v04, v05, v06, v07, v08, v09, v10, v11, v12, v13, v14, v15) = values
        line: ClaimLine = new(ClaimLine)
        n01(line, v01)
        n02(line, v02)
        n03(line, v03)
        n04(line, v04)
        n05(line, v05)
        n06(line, v06)
        n07(line, v07)
        n08(line, v08)
        n09(line, v09)
        n10(line, v10)
        n11(line, v11)
        n12(line, v12)
        n13(line, v13)
        n14(line, v14)
        n15(line, v15)
        return line

    return make


_new_line = _line_maker()


@dataclass(frozen=True, slots=True)
class ClaimError:
    """A claim that could not be read (or an envelope problem: `claim_id` ""), with every
    located issue found in it."""

    claim_id: str
    issues: list[Issue]


@dataclass
class Claims837:
    """Everything read from one 837 file: the claims that read cleanly and the errors."""

    claims: list[Claim] = field(default_factory=list)
    errors: list[ClaimError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def line_count(self) -> int:
        return sum(len(claim.lines) for claim in self.claims)


def read_claims(text: str) -> Claims837:
    """Every claim of every 837 transaction set in `text`; see the module docstring.

    One streaming pass over the tokenizer: segments are not kept once their claim is built
    (envelope.read would hold every segment of the file, which costs more than the claims)."""
    # The cycle collector would walk every claim built so far again and again (a quarter of the
    # time on a large file); nothing here makes cycles, so it is paused while reading.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(text)
    finally:
        if collecting:
            gc.enable()


def _read(text: str) -> Claims837:
    result = Claims837()
    walker = _Walker(result)
    try:
        runs = split_segments(text)
    except InvalidInput as error:  # no readable ISA: nothing else can be read
        result.errors.append(ClaimError("", list(error.issues)))
        return result
    # The hot loop: a body segment costs a dict look-up, and a call only for the tags a claim
    # needs (N3, N4, PER, PRV, DMG... are passed over).
    handlers: dict[str, Callable[[list[str], int], None]] = {}
    reader: _SetReader | None = None
    number = 0  # of the segment in the file
    base = 0  # the file number of the segment before the open set's ST: position = number - base
    fields: list[str] = []
    delimiters = Delimiters()
    for delimiters, segments in runs:
        first = number + 1  # runs number on: a later ISA with other delimiters starts a run
        for number, fields in enumerate(segments, first):
            if reader is not None:
                tag = fields[0]
                handler = handlers.get(tag)  # no envelope tag has a handler
                if handler is not None:
                    try:
                        handler(fields, number - base)
                    except (ValueError, IndexError, ArithmeticError) as error:
                        # A guard: each field is checked where it is read; should something
                        # slip through, this claim is reported and the others still read.
                        reader.broken(fields, number - base, error)
                    continue
                if tag not in _ENVELOPE:
                    continue
                walker.position = number - base - 1  # the set's last segment before this one
            walker.feed(fields, number, delimiters)
            reader = walker.set
            handlers = reader.handlers if reader is not None else {}
            base = number - walker.position
    walker.finish(fields, number, delimiters, text)
    return result


def _element(fields: list[str], position: int) -> str:
    """Element `position` (1-based, as in NM109) of a segment's fields; "" when it is shorter."""
    return fields[position] if 0 < position < len(fields) else ""


class _Walker:
    """The envelopes around the claims: ISA/IEA, GS/GE and ST/SE, with their counts and control
    numbers checked (the problems a reader must not guess past), each set's body handed to a
    _SetReader. envelope.read checks more (it feeds the 999); this is the streaming subset."""

    def __init__(self, result: Claims837) -> None:
        self.result = result
        self.interchanges = 0
        self.groups = 0  # in the open interchange
        self.sets = 0  # in the open group
        self.interchange: list[str] | None = None  # the open ISA's fields
        self.group: list[str] | None = None  # the open GS's fields
        self.set: _SetReader | None = None
        self.position = 0  # of the last segment in the open set (ST is 1)

    def feed(self, fields: list[str], number: int, delimiters: Delimiters) -> None:
        """An envelope segment, or any segment outside a set (`number` counts from the file's
        start, for locating those)."""
        tag = fields[0]
        reader = self.set
        if reader is not None:  # only envelope segments come here while a set is open
            if tag == "SE":
                self._close_set(fields)
                return
            self._close_set(None)
        if tag == "ST" and self.group is not None:
            self.sets += 1
            self.position = 1
            where = (self.interchanges, self.groups, self.sets)
            self.set = _SetReader(fields, delimiters, where, self.result)
        elif tag == "GS" and self.interchange is not None:
            if self.group is not None:
                self._close_group(None)
            self.groups += 1
            self.sets = 0
            self.group = fields
        elif tag == "GE" and self.group is not None:
            self._close_group(fields)
        elif tag == "ISA":
            if self.interchange is not None:
                self._close_interchange(None)
            self.interchanges += 1
            self.groups = 0
            self.interchange = fields
        elif tag == "IEA" and self.interchange is not None:
            self._close_interchange(fields)
        else:
            self._error(
                f"The {tag[:3] or 'empty'} segment is outside a transaction set (ST ... SE): "
                "every segment must be inside one; check the envelope segments around it.",
                locate(max(self.interchanges, 1), file_segment=number, tag=tag[:3]),
            )

    def finish(self, last: list[str], number: int, delimiters: Delimiters, text: str) -> None:
        """After the last segment (`last`, the file's `number`th, read with `delimiters`)."""
        if number:
            terminator = delimiters.segment
            if not text.rstrip("\r\n \t".replace(terminator, "")).endswith(terminator):
                self._error(
                    "The file is cut off: its last segment has no segment terminator "
                    f"'{terminator}'. Ask the sender for the complete file.",
                    locate(max(self.interchanges, 1), file_segment=number, tag=last[0][:3]),
                )
        if self.set is not None:
            self._close_set(None)
        if self.group is not None:
            self._close_group(None)
        if self.interchange is not None:
            self._close_interchange(None)

    def _close_set(self, trailer: list[str] | None) -> None:
        reader = self.set
        assert reader is not None
        self.set = None
        reader.close()
        where = locate(*reader.where, segment=self.position + 1, tag="SE")
        if trailer is None:
            self._error("This transaction set has no SE trailer.", where)
            return
        if _element(trailer, 1) != str(self.position + 1):
            self._error(
                f"SE01 says {_element(trailer, 1) or 'nothing'}, but the set has "
                f"{self.position + 1} segments (ST to SE).",
                where + " element 01",
            )
        if _element(trailer, 2) != reader.control:
            self._error("SE02 must repeat ST02 (the transaction set control number).", where)

    def _close_group(self, trailer: list[str] | None) -> None:
        assert self.group is not None
        where = locate(self.interchanges, self.groups)
        self.group = None
        if trailer is None:
            self._error("This functional group has no GE trailer.", where)
        elif _element(trailer, 1) != str(self.sets):
            self._error(
                f"GE01 says {_element(trailer, 1) or 'nothing'}, but the group has {self.sets} "
                "transaction sets.",
                where + "/GE element 01",
            )

    def _close_interchange(self, trailer: list[str] | None) -> None:
        where = locate(self.interchanges)
        self.interchange = None
        if trailer is None:
            self._error("This interchange has no IEA trailer.", where)
        elif _element(trailer, 1) != str(self.groups):
            self._error(
                f"IEA01 says {_element(trailer, 1) or 'nothing'}, but the interchange has "
                f"{self.groups} functional groups.",
                where + "/IEA element 01",
            )

    def _error(self, message: str, location: str) -> None:
        self.result.errors.append(ClaimError("", [Issue("x12.envelope", message, location)]))


class _ClaimState:
    """The claim being read: the parts a Claim is built from, filled segment by segment."""

    __slots__ = (
        "attending",
        "charge",
        "claim_id",
        "dated",
        "diagnoses",
        "facility",
        "facility_code",
        "frequency",
        "g1",
        "issues",
        "lines",
        "nine_f",
        "pointed",
        "position",
        "qualifier",
        "rendering",
        "statement",
    )

    def __init__(self, claim_id: str, position: int) -> None:
        self.claim_id = claim_id
        self.position = position
        self.charge = Decimal("0")
        self.facility_code = ""
        self.qualifier = ""
        self.frequency = ""
        self.diagnoses: list[str] = []
        self.g1: list[str] = []
        self.nine_f: list[str] = []
        self.rendering: str | None = None
        self.attending: str | None = None
        self.facility: str | None = None
        self.statement: tuple[dt.date, dt.date] | None = None
        self.dated = False  # a DTP*434 was seen
        self.lines: list[_LineState] = []
        self.issues: list[Issue] = []
        self.pointed: dict[tuple[int, ...], tuple[str, ...]] = {}


class _LineState:
    """The line being read (2400 and its 2420 providers). Class attributes are the defaults of
    the immutable fields, so that opening a line sets two attributes, not fifteen."""

    code = ""
    revenue_code = ""
    modifiers: tuple[str, ...] = ()
    units = -1  # -1: no service segment seen yet
    charge = _ZERO
    pos = ""
    pointers: tuple[int, ...] = ()
    dates: tuple[dt.date, dt.date] | None = None
    dated = False  # a DTP*472 was seen (a bad one is reported where it is)
    g1: tuple[str, ...] = ()  # tuples: most lines have none
    nine_f: tuple[str, ...] = ()
    rendering: str | None = None
    facility: str | None = None

    def __init__(self, number: int, position: int) -> None:
        self.number = number
        self.position = position


# Where the reader is inside a claim: the 2300 itself, its 2310 provider loops, the 2320/2330
# other-payer loops (skipped), a 2400 line, or the line's 2420/2430 loops.
_CLAIM, _CLAIM_PROVIDERS, _OTHER_PAYER, _LINE, _LINE_LOOPS = range(5)


class _SetReader:
    """One transaction set's claims: a state machine fed its body segments one at a time."""

    def __init__(
        self,
        header: list[str],
        delimiters: Delimiters,
        where: tuple[int, int, int],
        result: Claims837,
    ) -> None:
        self.where = where
        self.result = result
        self.control = _element(header, 2)
        version = _element(header, 3)
        self.kind = (
            ClaimKind.INSTITUTIONAL if version.startswith("005010X223") else ClaimKind.PROFESSIONAL
        )
        self.skip = _element(header, 1) != "837" or not version.startswith(
            ("005010X222", "005010X223")
        )
        if self.skip:
            code = _element(header, 1)
            self._set_error(
                f"This transaction set is {code[:6] or 'unnamed'} '{version[:12]}', not an 837P "
                "(005010X222A1) or 837I (005010X223A2); only those are read as claims.",
                element=3 if code == "837" else 1,
            )
        self.billing_npi: str | None = None
        self.member_id = ""
        self.payer_id = ""
        self.payer_name = ""
        # Some senders (and the LFH samples) declare ':' in ISA16 but write '>' in composites;
        # CLM05 shows which one the data uses, and composites are split with that from then on.
        self.component = delimiters.component
        self.claim: _ClaimState | None = None
        self.line: _LineState | None = None
        self.area = _CLAIM
        # Dates already read (a file repeats its dates of service): parsing each is costly.
        self.periods: dict[str, tuple[dt.date, dt.date] | None] = {}
        self.amounts: dict[str, Decimal] = {}
        self.pointers: dict[str, tuple[int, ...]] = {}
        # SV101 / SV202 composites already split with self.component (cleared when it changes).
        self.procedures: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    @property
    def handlers(self) -> dict[str, Callable[[list[str], int], None]]:
        """What to call for each segment tag of the set's body (none for a set not read)."""
        if self.skip:
            return {}
        return {
            "LX": self._open_line,
            "SV1": self._service,
            "SV2": self._service,
            "DTP": self._date,
            "REF": self._reference,
            "NM1": self._name,
            "CLM": self._open_claim,
            "HI": self._diagnoses,
            "HL": self._hierarchy,
            "SBR": self._other_payer,
            "SVD": self._line_loops,
            "LIN": self._line_loops,
        }

    def broken(self, fields: list[str], position: int, error: Exception) -> None:
        self._issue(position, fields[0][:3], None, f"This segment cannot be read ({error}).")

    def close(self) -> None:
        if not self.skip:
            self._close_claim()

    # -- where we are -----------------------------------------------------------------------

    def _hierarchy(self, fields: list[str], position: int) -> None:
        self._close_claim()

    def _other_payer(self, fields: list[str], position: int) -> None:
        if self.claim is not None:
            self._close_line()
            self.area = _OTHER_PAYER

    def _line_loops(self, fields: list[str], position: int) -> None:
        if self.area == _LINE:
            self.area = _LINE_LOOPS

    # -- claims and lines -------------------------------------------------------------------

    def _open_claim(self, fields: list[str], position: int) -> None:
        self._close_claim()
        if len(fields) < 6:  # CLM01-05, "" when left out
            fields = [*fields, "", "", "", "", ""]
        claim = self.claim = _ClaimState(fields[1], position)
        self.area = _CLAIM
        if not claim.claim_id:
            self._issue(position, "CLM", 1, "CLM01 (patient control number) is empty.")
        claim.charge = self._decimal(fields[2], position, "CLM", 2)
        composite = fields[5]
        if self.component not in composite:
            used = _CLM05.fullmatch(composite)
            if used is not None:
                self.component = used.group(1)
                self.procedures.clear()
        parts = composite.split(self.component)
        claim.facility_code = parts[0]
        claim.qualifier = parts[1] if len(parts) > 1 else ""
        claim.frequency = parts[2] if len(parts) > 2 else ""
        if not claim.facility_code:
            self._issue(
                position,
                "CLM",
                5,
                "CLM05-1 is empty: it must hold the place of service (837P) or the facility "
                "type code (837I).",
            )

    def _open_line(self, fields: list[str], position: int) -> None:
        claim = self.claim
        if claim is None:
            return
        line = self.line
        if line is not None:
            if line.units < 0:
                self._close_line()  # reports the missing SV1 / SV2
            else:
                claim.lines.append(line)  # _close_line's usual case, without the call
        number = fields[1] if len(fields) > 1 else ""  # LX01
        known = _LINE_NUMBERS.get(number)
        if known is not None:
            self.line = _LineState(known, position)
        elif number.isdigit() and number.isascii() and len(number) <= 6:
            self.line = _LineState(int(number), position)
        else:
            self._issue(position, "LX", 1, "LX01 (line number) must be a number.")
            self.line = _LineState(0, position)
        self.area = _LINE

    def _close_line(self) -> None:
        if self.line is not None and self.claim is not None:
            if self.line.units < 0:
                tag = "SV2" if self.kind is ClaimKind.INSTITUTIONAL else "SV1"
                self._issue(self.line.position, "LX", None, f"This line has no {tag} segment.")
            self.claim.lines.append(self.line)
        self.line = None

    def _close_claim(self) -> None:
        self._close_line()
        claim = self.claim
        self.claim = None
        self.area = _CLAIM
        if claim is None:
            return
        if not claim.lines:
            self._issue(claim.position, "CLM", None, "This claim has no service lines (LX).", claim)
        built = self._build(claim)  # also when broken: it finds the lines' own problems
        if built is None:
            self.result.errors.append(ClaimError(claim.claim_id, claim.issues))
        else:
            self.result.claims.append(built)

    def _build(self, claim: _ClaimState) -> Claim | None:
        lines: list[ClaimLine] = []
        add = lines.append
        institutional = self.kind is ClaimKind.INSTITUTIONAL
        # What a line without its own takes from the claim (read once, not once per line).
        pos = "" if institutional else claim.facility_code
        statement = claim.statement if institutional else None
        rendering, facility, pointed = claim.rendering, claim.facility, claim.pointed
        for state in claim.lines:
            dates = state.dates or statement
            if dates is None:
                if state.dated or (institutional and claim.dated):
                    continue  # its bad date is reported already
                where = "DTP*472 or a claim DTP*434" if institutional else "DTP*472"
                self._issue(
                    state.position,
                    "LX",
                    None,
                    f"This line has no date of service ({where}).",
                    claim,
                )
                continue
            diagnoses = pointed.get(state.pointers)  # lines of a claim mostly point alike
            if diagnoses is None:
                diagnoses = self._line_diagnoses(claim, state)
            add(
                _new_line(  # ClaimLine(...), in LINE_FIELDS order
                    state.number,
                    state.code,
                    state.units,
                    dates[0],
                    dates[1],
                    state.charge,
                    state.modifiers,
                    state.pos or pos,
                    state.revenue_code,
                    state.rendering or rendering,
                    state.facility or facility,
                    diagnoses,
                    state.g1,
                    state.nine_f,
                    state.position,
                )
            )
        if claim.issues:
            return None
        return self._claim(claim, tuple(lines))

    def _line_diagnoses(self, claim: _ClaimState, state: _LineState) -> tuple[str, ...]:
        """837P: the diagnoses SV107 points at; 837I lines have no pointers: the claim's."""
        if self.kind is ClaimKind.INSTITUTIONAL:
            return tuple(claim.diagnoses)
        found = []
        for pointer in state.pointers:
            if pointer > len(claim.diagnoses):
                self._issue(
                    state.position + 1,
                    "SV1",
                    7,
                    f"Diagnosis pointer {pointer} points past the claim's "
                    f"{len(claim.diagnoses)} diagnosis code(s) in HI.",
                    claim,
                )
                continue
            found.append(claim.diagnoses[pointer - 1])
        claim.pointed[state.pointers] = tuple(found)
        return claim.pointed[state.pointers]

    def _claim(self, claim: _ClaimState, lines: tuple[ClaimLine, ...]) -> Claim:
        institutional = self.kind is ClaimKind.INSTITUTIONAL
        bill_type = claim.facility_code + claim.frequency if institutional else ""
        if institutional:
            inpatient = claim.facility_code[:2] in INPATIENT_BILL_TYPES
        else:
            inpatient = claim.facility_code in INPATIENT_POS
        return Claim(
            claim_id=claim.claim_id,
            kind=self.kind,
            payer_id=self.payer_id,
            member_id=self.member_id,
            lines=lines,
            payer_name=self.payer_name,
            total_charge=claim.charge,
            facility_code=claim.facility_code,
            bill_type=bill_type,
            frequency=claim.frequency,
            setting=Setting.INPATIENT if inpatient else Setting.OUTPATIENT,
            billing_npi=self.billing_npi,
            rendering_npi=claim.rendering,
            attending_npi=claim.attending,
            facility_npi=claim.facility,
            diagnoses=tuple(claim.diagnoses),
            authorization_numbers=tuple(claim.g1),
            referral_numbers=tuple(claim.nine_f),
            position=claim.position,
            transaction=self.control,
        )

    # -- segments ---------------------------------------------------------------------------

    def _service(self, fields: list[str], position: int) -> None:
        line = self.line
        if line is None or self.area != _LINE:
            return
        tag = fields[0]
        if len(fields) < 8:  # SV1 and SV2 elements 1-7, "" when left out
            fields = [*fields, "", "", "", "", "", "", ""]
        if tag == "SV1":
            procedure, charge, units = 1, 2, 4
            line.pos = fields[5]
            pointers = fields[7]
            if pointers:
                known = self.pointers.get(pointers)
                line.pointers = known if known is not None else self._pointers(pointers, position)
        else:
            procedure, charge, units = 2, 3, 5
            line.revenue_code = fields[1]
        composite = fields[procedure]
        known_procedure = self.procedures.get(composite)
        if known_procedure is None:
            known_procedure = self.procedures[composite] = self._procedure(composite)
        code, modifiers = known_procedure
        if modifiers is not None:
            line.modifiers = modifiers
        # A room-and-board 837I line has a revenue code and no HCPCS: the revenue code is its code.
        line.code = code or line.revenue_code
        if not line.code:
            what = "SV101-2 (procedure code)" if tag == "SV1" else "SV201 or SV202-2"
            self._issue(position, tag, procedure, f"This line has no code: {what} is empty.")
        amount = self.amounts.get(fields[charge])
        line.charge = amount or self._decimal(fields[charge], position, tag, charge)
        value = fields[units]
        count = _UNITS.get(value)
        if count is not None:
            line.units = count
        elif value.isdigit() and value.isascii() and len(value) <= 8:
            line.units = int(value)  # the usual whole number, without Decimal
        else:
            line.units = self._units(value, position, tag, units)

    def _procedure(self, composite: str) -> tuple[str, tuple[str, ...] | None]:
        """SV101 / SV202 "HC:code:modifiers...": the code, and the modifiers (None: no part for
        them, so a line keeps what it has)."""
        parts = composite.split(self.component)
        code = parts[1] if len(parts) > 1 else ""
        if len(parts) > 2:
            return code, tuple(m for m in parts[2:6] if m)
        return code, None

    def _pointers(self, value: str, position: int) -> tuple[int, ...]:
        pointers = []
        for part in value.split(self.component):
            if not part:
                continue
            pointer = _POINTERS.get(part) or _pointer(part)
            if pointer is None:
                self._issue(
                    position, "SV1", 7, "SV107 diagnosis pointers must be numbers from 1 to 12."
                )
                return ()
            pointers.append(pointer)
        self.pointers[value] = tuple(pointers)
        return self.pointers[value]

    def _units(self, value: str, position: int, tag: str, element: int) -> int:
        amount = self._decimal(value, position, tag, element, required=True)
        if not 0 <= amount <= 99_999_999:
            self._issue(position, tag, element, "Service units must be from 0 to 99999999.")
            return 0
        # A payer counts a started unit: 1.5 units use 2 of an authorization.
        return int(amount.to_integral_value(rounding="ROUND_CEILING"))

    def _decimal(
        self, value: str, position: int, tag: str, element: int, *, required: bool = False
    ) -> Decimal:
        known = self.amounts.get(value)
        if known is not None:  # charges repeat; the same Decimal serves them all
            return known
        if not value:
            if required:
                self._issue(position, tag, element, f"{tag}{element:02d} is empty.")
            return _ZERO
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            self._issue(position, tag, element, f"{tag}{element:02d} must be a number.")
            return _ZERO
        if len(self.amounts) < 10_000:
            self.amounts[value] = amount
        return amount

    def _date(self, fields: list[str], position: int) -> None:
        if len(fields) < 4:  # DTP01-03, "" when left out
            fields = [*fields, "", "", ""]
        qualifier = fields[1]
        if qualifier == "472" and self.area == _LINE and self.line is not None:
            # Dates repeat: a known good one is a dict look-up; new or bad ones go to _period.
            period = self.periods.get(fields[2] + fields[3])
            self.line.dates = period or self._period(fields, position)
            self.line.dated = True
        elif qualifier == "434" and self.area == _CLAIM and self.claim is not None:
            self.claim.statement = self._period(fields, position)
            self.claim.dated = True

    def _period(self, fields: list[str], position: int) -> tuple[dt.date, dt.date] | None:
        """DTP03 as (from, to): D8 CCYYMMDD, RD8 CCYYMMDD-CCYYMMDD."""
        form, value = fields[2], fields[3]
        key = form + value
        if key in self.periods:
            period = self.periods[key]
        else:
            period = self.periods[key] = _period(form, value)
        if period is None:
            self._issue(
                position,
                "DTP",
                3,
                f"DTP*{fields[1][:3]} is not a valid date: use D8 with CCYYMMDD or RD8 "
                "with CCYYMMDD-CCYYMMDD (from not after to).",
            )
        return period

    def _reference(self, fields: list[str], position: int) -> None:
        qualifier = _element(fields, 1)
        if qualifier != "G1" and qualifier != "9F":
            return
        value = _element(fields, 2)
        if not value:
            return
        line = self.line
        if self.area == _LINE and line is not None:
            if qualifier == "G1":
                line.g1 = (*line.g1, value)
            else:
                line.nine_f = (*line.nine_f, value)
        elif self.area == _CLAIM and self.claim is not None:
            target = self.claim.g1 if qualifier == "G1" else self.claim.nine_f
            target.append(value)
        # else: 2330B's REF*G1 is another payer's number

    def _name(self, fields: list[str], position: int) -> None:
        count = len(fields)  # _element inlined: NM1 is a tenth of the segments
        entity = fields[1] if count > 1 else ""
        npi = (fields[9] if count > 9 else "") if count > 8 and fields[8] == "XX" else None
        claim = self.claim
        if claim is None:
            self._party(fields, entity, npi)
            return
        area = self.area
        if area in (_CLAIM, _CLAIM_PROVIDERS):
            self.area = _CLAIM_PROVIDERS
            if entity == "82":
                claim.rendering = npi
            elif entity == "71":
                claim.attending = npi
            elif entity == "77":
                claim.facility = npi
        elif area in (_LINE, _LINE_LOOPS):
            self.area = _LINE_LOOPS
            line = self.line
            if line is not None and entity == "82":
                line.rendering = npi
            elif line is not None and entity == "77":
                line.facility = npi

    def _party(self, fields: list[str], entity: str, npi: str | None) -> None:
        """2010AA billing provider, 2010BA subscriber and 2010BB payer (outside any claim)."""
        if entity == "85":
            self.billing_npi = npi
        elif entity == "IL":
            self.member_id = _element(fields, 9)
        elif entity == "PR":
            self.payer_id = _element(fields, 9)
            self.payer_name = _element(fields, 3)

    def _diagnoses(self, fields: list[str], position: int) -> None:
        claim = self.claim
        if claim is None or self.area != _CLAIM:
            return
        component = self.component
        for value in fields[1:]:
            qualifier, _, rest = value.partition(component)
            if qualifier in DIAGNOSIS_QUALIFIERS and rest:
                claim.diagnoses.append(rest.partition(component)[0])

    # -- errors -----------------------------------------------------------------------------

    def _issue(
        self,
        position: int,
        tag: str,
        element: int | None,
        message: str,
        claim: _ClaimState | None = None,
    ) -> None:
        target = claim or self.claim
        location = locate(*self.where, segment=position, tag=tag, element=element)
        found = Issue("x12.837", message, location)
        if target is None:
            self.result.errors.append(ClaimError("", [found]))
        else:
            target.issues.append(found)

    def _set_error(self, message: str, *, element: int) -> None:
        location = locate(*self.where, segment=1, tag="ST", element=element)
        self.result.errors.append(ClaimError("", [Issue("x12.837", message, location)]))


def _digits(value: str, most: int) -> bool:
    """ASCII digits only ("²".isdigit() is true but int() refuses it), at most `most` of them."""
    return 0 < len(value) <= most and value.isascii() and value.isdigit()


def _period(form: str, value: str) -> tuple[dt.date, dt.date] | None:
    if form == "D8":
        day = _date(value)
        if day is not None:
            return day, day
    elif form == "RD8":
        start, _, end = value.partition("-")
        first, last = _date(start), _date(end)
        if first is not None and last is not None and first <= last:
            return first, last
    return None


def _pointer(value: str) -> int | None:
    """A diagnosis pointer 1..12; "1.00" (seen in the wild and in the LFH anesthesia sample) is
    read as 1, since the number is what matters."""
    if not _digits(value.replace(".", "", 1), 4):
        return None
    number = Decimal(value)
    if number != number.to_integral_value() or not 1 <= number <= 12:
        return None
    return int(number)


def _date(value: str) -> dt.date | None:
    if not _digits(value, 8) or len(value) != 8:
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
