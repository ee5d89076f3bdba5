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
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from precert.channels.x12.errors import locate
from precert.channels.x12.tokens import Segment, tokenize
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
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_CLM05 = re.compile(r"[0-9A-Z]{1,2}([^0-9A-Za-z ])[AB]?\1[0-9A-Z]")


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
    last: Segment | None = None
    # The hot loop: a body segment costs a dict look-up, and a call only for the tags a claim
    # needs (N3, N4, PER, PRV, DMG... are passed over).
    handlers: dict[str, Callable[[Segment, int], None]] = {}
    reader: _SetReader | None = None
    position = 0
    try:
        for segment in tokenize(text):
            last = segment
            if reader is not None:
                tag = segment.tag
                if tag not in _ENVELOPE:
                    position += 1
                    handler = handlers.get(tag)
                    if handler is not None:
                        try:
                            handler(segment, position)
                        except (ValueError, IndexError, ArithmeticError) as error:
                            # A guard: each field is checked where it is read; should something
                            # slip through, this claim is reported and the others still read.
                            reader.broken(segment, position, error)
                    continue
                walker.position = position
            walker.feed(segment)
            reader = walker.set
            handlers = reader.handlers if reader is not None else {}
            position = walker.position
    except InvalidInput as error:  # no readable ISA: nothing else can be read
        result.errors.append(ClaimError("", list(error.issues)))
        return result
    walker.finish(last, text)
    return result


class _Walker:
    """The envelopes around the claims: ISA/IEA, GS/GE and ST/SE, with their counts and control
    numbers checked (the problems a reader must not guess past), each set's body handed to a
    _SetReader. envelope.read checks more (it feeds the 999); this is the streaming subset."""

    def __init__(self, result: Claims837) -> None:
        self.result = result
        self.interchanges = 0
        self.groups = 0  # in the open interchange
        self.sets = 0  # in the open group
        self.interchange: Segment | None = None
        self.group: Segment | None = None
        self.set: _SetReader | None = None
        self.position = 0  # of the last segment in the open set (ST is 1)

    def feed(self, segment: Segment) -> None:
        tag = segment.tag
        reader = self.set
        if reader is not None:  # only envelope segments come here while a set is open
            if tag == "SE":
                self._close_set(segment)
                return
            self._close_set(None)
        if tag == "ST" and self.group is not None:
            self.sets += 1
            self.position = 1
            where = (self.interchanges, self.groups, self.sets)
            self.set = _SetReader(segment, where, self.result)
        elif tag == "GS" and self.interchange is not None:
            if self.group is not None:
                self._close_group(None)
            self.groups += 1
            self.sets = 0
            self.group = segment
        elif tag == "GE" and self.group is not None:
            self._close_group(segment)
        elif tag == "ISA":
            if self.interchange is not None:
                self._close_interchange(None)
            self.interchanges += 1
            self.groups = 0
            self.interchange = segment
        elif tag == "IEA" and self.interchange is not None:
            self._close_interchange(segment)
        else:
            self._error(
                f"The {tag[:3] or 'empty'} segment is outside a transaction set (ST ... SE): "
                "every segment must be inside one; check the envelope segments around it.",
                locate(max(self.interchanges, 1), file_segment=segment.number, tag=tag[:3]),
            )

    def finish(self, last: Segment | None, text: str) -> None:
        if last is not None:
            terminator = last.delimiters.segment
            if not text.rstrip("\r\n \t".replace(terminator, "")).endswith(terminator):
                self._error(
                    "The file is cut off: its last segment has no segment terminator "
                    f"'{terminator}'. Ask the sender for the complete file.",
                    locate(max(self.interchanges, 1), file_segment=last.number, tag=last.tag[:3]),
                )
        if self.set is not None:
            self._close_set(None)
        if self.group is not None:
            self._close_group(None)
        if self.interchange is not None:
            self._close_interchange(None)

    def _close_set(self, trailer: Segment | None) -> None:
        reader = self.set
        assert reader is not None
        self.set = None
        reader.close()
        where = locate(*reader.where, segment=self.position + 1, tag="SE")
        if trailer is None:
            self._error("This transaction set has no SE trailer.", where)
            return
        if trailer.element(1) != str(self.position + 1):
            self._error(
                f"SE01 says {trailer.element(1) or 'nothing'}, but the set has "
                f"{self.position + 1} segments (ST to SE).",
                where + " element 01",
            )
        if trailer.element(2) != reader.control:
            self._error("SE02 must repeat ST02 (the transaction set control number).", where)

    def _close_group(self, trailer: Segment | None) -> None:
        assert self.group is not None
        where = locate(self.interchanges, self.groups)
        self.group = None
        if trailer is None:
            self._error("This functional group has no GE trailer.", where)
        elif trailer.element(1) != str(self.sets):
            self._error(
                f"GE01 says {trailer.element(1) or 'nothing'}, but the group has {self.sets} "
                "transaction sets.",
                where + "/GE element 01",
            )

    def _close_interchange(self, trailer: Segment | None) -> None:
        where = locate(self.interchanges)
        self.interchange = None
        if trailer is None:
            self._error("This interchange has no IEA trailer.", where)
        elif trailer.element(1) != str(self.groups):
            self._error(
                f"IEA01 says {trailer.element(1) or 'nothing'}, but the interchange has "
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

    def __init__(self, header: Segment, where: tuple[int, int, int], result: Claims837) -> None:
        self.where = where
        self.result = result
        self.control = header.element(2)
        version = header.element(3)
        self.kind = (
            ClaimKind.INSTITUTIONAL if version.startswith("005010X223") else ClaimKind.PROFESSIONAL
        )
        self.skip = header.element(1) != "837" or not version.startswith(
            ("005010X222", "005010X223")
        )
        if self.skip:
            code = header.element(1)
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
        self.component = header.delimiters.component
        self.claim: _ClaimState | None = None
        self.line: _LineState | None = None
        self.area = _CLAIM
        # Dates already read (a file repeats its dates of service): parsing each is costly.
        self.periods: dict[str, tuple[dt.date, dt.date] | None] = {}
        self.amounts: dict[str, Decimal] = {}
        self.pointers: dict[str, tuple[int, ...]] = {}

    @property
    def handlers(self) -> dict[str, Callable[[Segment, int], None]]:
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

    def broken(self, segment: Segment, position: int, error: Exception) -> None:
        self._issue(position, segment.tag[:3], None, f"This segment cannot be read ({error}).")

    def close(self) -> None:
        if not self.skip:
            self._close_claim()

    # -- where we are -----------------------------------------------------------------------

    def _hierarchy(self, segment: Segment, position: int) -> None:
        self._close_claim()

    def _other_payer(self, segment: Segment, position: int) -> None:
        if self.claim is not None:
            self._close_line()
            self.area = _OTHER_PAYER

    def _line_loops(self, segment: Segment, position: int) -> None:
        if self.area == _LINE:
            self.area = _LINE_LOOPS

    # -- claims and lines -------------------------------------------------------------------

    def _open_claim(self, segment: Segment, position: int) -> None:
        self._close_claim()
        claim = self.claim = _ClaimState(segment.element(1), position)
        self.area = _CLAIM
        if not claim.claim_id:
            self._issue(position, "CLM", 1, "CLM01 (patient control number) is empty.")
        claim.charge = self._decimal(segment.element(2), position, "CLM", 2)
        composite = segment.element(5)
        if self.component not in composite:
            used = _CLM05.fullmatch(composite)
            if used is not None:
                self.component = used.group(1)
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

    def _open_line(self, segment: Segment, position: int) -> None:
        if self.claim is None:
            return
        if self.line is not None:
            self._close_line()
        number = segment.elements[0] if segment.elements else ""
        if number.isdigit() and number.isascii() and len(number) <= 6:
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
        lines = []
        institutional = self.kind is ClaimKind.INSTITUTIONAL
        for state in claim.lines:
            dates = state.dates or (claim.statement if institutional else None)
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
            diagnoses = self._line_diagnoses(claim, state)
            lines.append(
                ClaimLine(
                    number=state.number,
                    code=state.code,
                    units=state.units,
                    from_date=dates[0],
                    to_date=dates[1],
                    charge=state.charge,
                    modifiers=state.modifiers,
                    pos=state.pos or ("" if institutional else claim.facility_code),
                    revenue_code=state.revenue_code,
                    rendering_npi=state.rendering or claim.rendering,
                    facility_npi=state.facility or claim.facility,
                    diagnoses=diagnoses,
                    authorization_numbers=state.g1,
                    referral_numbers=state.nine_f,
                    position=state.position,
                )
            )
        if claim.issues:
            return None
        return self._claim(claim, tuple(lines))

    def _line_diagnoses(self, claim: _ClaimState, state: _LineState) -> tuple[str, ...]:
        """837P: the diagnoses SV107 points at; 837I lines have no pointers: the claim's."""
        if self.kind is ClaimKind.INSTITUTIONAL:
            return tuple(claim.diagnoses)
        known = claim.pointed.get(state.pointers)
        if known is not None:  # lines of a claim mostly point at the same codes
            return known
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

    def _service(self, segment: Segment, position: int) -> None:
        line = self.line
        if line is None or self.area != _LINE:
            return
        tag = segment.tag
        elements = segment.elements
        if len(elements) < 7:  # SV1 and SV2 elements 1-7, "" when left out
            elements = (*elements, "", "", "", "", "", "", "")
        if tag == "SV1":
            procedure, charge, units = 1, 2, 4
            line.pos = elements[4]
            pointers = elements[6]
            if pointers:
                known = self.pointers.get(pointers)
                line.pointers = known if known is not None else self._pointers(pointers, position)
        else:
            procedure, charge, units = 2, 3, 5
            line.revenue_code = elements[0]
        parts = elements[procedure - 1].split(self.component)
        code = parts[1] if len(parts) > 1 else ""
        if len(parts) > 2:
            line.modifiers = tuple(m for m in parts[2:6] if m)
        # A room-and-board 837I line has a revenue code and no HCPCS: the revenue code is its code.
        line.code = code or line.revenue_code
        if not line.code:
            what = "SV101-2 (procedure code)" if tag == "SV1" else "SV201 or SV202-2"
            self._issue(position, tag, procedure, f"This line has no code: {what} is empty.")
        amount = self.amounts.get(elements[charge - 1])
        line.charge = amount or self._decimal(elements[charge - 1], position, tag, charge)
        value = elements[units - 1]
        if value.isdigit() and value.isascii() and len(value) <= 8:
            line.units = int(value)  # the usual whole number, without Decimal
        else:
            line.units = self._units(value, position, tag, units)

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

    def _date(self, segment: Segment, position: int) -> None:
        elements = segment.elements
        if len(elements) < 3:
            elements = (*elements, "", "", "")
        qualifier = elements[0]
        if qualifier == "472" and self.area == _LINE and self.line is not None:
            self.line.dates = self._period(elements, position)
            self.line.dated = True
        elif qualifier == "434" and self.area == _CLAIM and self.claim is not None:
            self.claim.statement = self._period(elements, position)
            self.claim.dated = True

    def _period(self, elements: tuple[str, ...], position: int) -> tuple[dt.date, dt.date] | None:
        """DTP03 as (from, to): D8 CCYYMMDD, RD8 CCYYMMDD-CCYYMMDD."""
        form, value = elements[1], elements[2]
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
                f"DTP*{elements[0][:3]} is not a valid date: use D8 with CCYYMMDD or RD8 "
                "with CCYYMMDD-CCYYMMDD (from not after to).",
            )
        return period

    def _reference(self, segment: Segment, position: int) -> None:
        qualifier = segment.element(1)
        if qualifier != "G1" and qualifier != "9F":
            return
        value = segment.element(2)
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

    def _name(self, segment: Segment, position: int) -> None:
        entity = segment.element(1)
        npi = segment.element(9) if segment.element(8) == "XX" else None
        claim = self.claim
        if claim is None:
            self._party(segment, entity, npi)
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

    def _party(self, segment: Segment, entity: str, npi: str | None) -> None:
        """2010AA billing provider, 2010BA subscriber and 2010BB payer (outside any claim)."""
        if entity == "85":
            self.billing_npi = npi
        elif entity == "IL":
            self.member_id = segment.element(9)
        elif entity == "PR":
            self.payer_id = segment.element(9)
            self.payer_name = segment.element(3)

    def _diagnoses(self, segment: Segment, position: int) -> None:
        claim = self.claim
        if claim is None or self.area != _CLAIM:
            return
        component = self.component
        for value in segment.elements:
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
