"""Reading 835 remittances (005010X221A1) into Remittance values (domain/remittances.py). The JSON
shape `precert remits import` prints lives in tx835_view.py.

The reader streams on the tokenizer: one pass, one open transaction set, claim and line at a
time, never the whole file as segments. Loops read: header (BPR payment, TRN check/EFT trace,
DTM*405 production date), 1000A payer (N1*PR, REF*2U), 1000B payee (N1*PE), 2000 header number
(LX, TS3/TS2 skipped), 2100 claim payment (CLP, CAS, NM1*QC/IL, MIA/MOA remarks, REF, DTM*232/233),
2110 service payment (SVC, DTM*472/150/151, CAS, REF*6R/G1/BB, LQ*HE) and PLB.

A malformed claim payment (an amount that is not a number, a bad date, a CAS without its group)
is left out with one located error, and every other claim is still read. Envelope problems
inside a set (SE01 count, SE02) are errors too, but the set's claims are kept: the payment data
was read. Things that do not lose data (a missing GE/IEA after the last SE, a composite written
with another separator than ISA16 declares) are warnings. No patient data in any message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from precert.channels.x12.errors import issue, locate
from precert.channels.x12.tokens import Segment, tokenize
from precert.domain.remittances import (
    ZERO,
    Adjustment,
    AdjustmentGroup,
    ProviderAdjustment,
    RemitClaim,
    RemitLine,
    Remittance,
)
from precert.errors import Issue

_AMOUNT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
_GROUPS = frozenset(g.value for g in AdjustmentGroup)
# CLP02 claim status codes (005010X221A1).
CLAIM_STATUSES: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
_MIA_REMARKS = (5, 20, 21, 22, 23)
_MOA_REMARKS = (3, 4, 5, 6, 7)


@dataclass(frozen=True, slots=True)
class Remittances835:
    """Everything read from one 835 file: the remittances, what could not be read (`errors`,
    located) and what was read despite a problem (`warnings`)."""

    remittances: tuple[Remittance, ...]
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    def claims(self) -> Iterator[RemitClaim]:
        for remittance in self.remittances:
            yield from remittance.claims


def read_remittances(text: str) -> Remittances835:
    """Every 835 transaction set in `text`. InvalidInput only when the text does not start with
    a readable ISA; every other problem is on the result, located by segment position."""
    reader = _Reader()
    for segment in tokenize(text):
        reader.feed(segment)
    reader.finish()
    return Remittances835(tuple(reader.remittances), tuple(reader.errors), tuple(reader.warnings))


class _Malformed(Exception):
    """A claim payment (or a header element) that cannot be read; carries the located issue."""

    def __init__(self, found: Issue) -> None:
        super().__init__(found.message)
        self.issue = found


@dataclass
class _Line:
    segment: Segment
    values: dict[str, object]
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


@dataclass
class _Claim:
    segment: Segment
    position: int
    values: dict[str, object]
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)
    lines: list[RemitLine] = field(default_factory=list)
    line: _Line | None = None
    broken: bool = False


@dataclass
class _Set:
    """One open 835 transaction set."""

    header: Segment
    interchange: int
    group: int
    position: int
    count: int = 1  # segments so far, ST included
    values: dict[str, object] = field(default_factory=dict)
    party: str = ""  # qualifier of the last N1 (PR payer, PE payee)
    claims: list[RemitClaim] = field(default_factory=list)
    claim: _Claim | None = None
    plb: list[ProviderAdjustment] = field(default_factory=list)

    def where(self, position: int, tag: str, element: int | None = None) -> str:
        return locate(
            self.interchange, self.group, self.position, segment=position, tag=tag, element=element
        )


class _Reader:
    """The streaming state machine: envelope counters, one open set, claim and line."""

    def __init__(self) -> None:
        self.remittances: list[Remittance] = []
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.interchange = 0
        self.group = 0
        self.set_position = 0
        self.open_interchange = False
        self.open_group = False
        self.current: _Set | None = None
        self.skipping = False  # inside a set that is not an 835

    # -- envelope ------------------------------------------------------------------------------

    def feed(self, segment: Segment) -> None:
        tag = segment.tag
        if self.current is not None:
            self.current.count += 1
            if tag == "SE":
                self._close_set(segment)
            elif tag in ("ISA", "GS", "ST", "IEA", "GE"):
                self._cut_off(segment)
                self._envelope(segment)
            else:
                self._content(self.current, segment)
        elif self.skipping:
            self.skipping = tag != "SE"
        else:
            self._envelope(segment)

    def _envelope(self, segment: Segment) -> None:
        tag = segment.tag
        if tag == "ISA":
            self.interchange += 1
            self.group = 0
            self.open_interchange = True
        elif tag == "GS":
            self.group += 1
            self.set_position = 0
            self.open_group = True
        elif tag == "ST":
            self._open_set(segment)
        elif tag == "GE":
            self.open_group = False
        elif tag == "IEA":
            self.open_interchange = False
        elif tag:
            where = locate(self.interchange, file_segment=segment.number, tag=tag)
            self.errors.append(
                issue(
                    "x12.835.outside_set",
                    f"Segment {tag} is outside any ST/SE transaction set and was not read; "
                    "every 835 segment belongs between ST and SE.",
                    where,
                )
            )

    def _open_set(self, segment: Segment) -> None:
        self.set_position += 1
        if segment.element(1) != "835":
            where = locate(self.interchange, self.group, self.set_position)
            self.errors.append(
                issue(
                    "x12.835.not_835",
                    f"This transaction set is a {segment.element(1) or 'nothing'}, not an 835 "
                    "remittance; it was skipped.",
                    where,
                )
            )
            self.skipping = True
            return
        self.current = _Set(segment, self.interchange, self.group, self.set_position)

    def _close_set(self, trailer: Segment) -> None:
        current = self.current
        assert current is not None
        self._close_claim(current)
        if trailer.element(1) != str(current.count):
            self.errors.append(
                issue(
                    "x12.835.se_count",
                    f"SE01 says {trailer.element(1) or 'nothing'} segments but the set has "
                    f"{current.count} (ST and SE included); the claims were read, but check "
                    "that the file is complete.",
                    current.where(current.count, "SE", 1),
                )
            )
        if trailer.element(2) != current.header.element(2):
            self.errors.append(
                issue(
                    "x12.835.se_control",
                    "SE02 must repeat the ST02 control number of its set.",
                    current.where(current.count, "SE", 2),
                )
            )
        self.remittances.append(_remittance(current))
        self.current = None

    def _cut_off(self, segment: Segment) -> None:
        """A set that ends without SE: keep its finished claims, drop the claim in progress."""
        current = self.current
        assert current is not None
        if current.claim is not None and not current.claim.broken:
            self.errors.append(
                issue(
                    "x12.835.cut_off",
                    "The transaction set ends without SE in the middle of this claim payment; "
                    "it was not read (ask the payer to resend the file).",
                    current.where(current.claim.position, "CLP"),
                )
            )
            current.claim = None
        self.errors.append(
            issue(
                "x12.835.no_se",
                "The transaction set has no SE trailer; the claim payments before the cut were "
                "read.",
                current.where(current.count, segment.tag or "end"),
            )
        )
        self.remittances.append(_remittance(current))
        self.current = None

    def finish(self) -> None:
        if self.current is not None:
            self.current.count += 1  # where the SE should have been
            self._cut_off(Segment("", (), 0, 0, self.current.header.delimiters))
        missing = [
            name
            for name, is_open in (("GE", self.open_group), ("IEA", self.open_interchange))
            if is_open
        ]
        if missing:
            self.warnings.append(
                issue(
                    "x12.835.no_trailer",
                    f"The file ends without {' and '.join(missing)}: it may have been cut off "
                    "after the last transaction set. Every set that ended with SE was read.",
                    locate(self.interchange, self.group if self.open_group else None),
                )
            )

    # -- content -------------------------------------------------------------------------------

    def _content(self, current: _Set, segment: Segment) -> None:
        """One segment inside a set; a malformed claim payment is reported and set aside."""
        try:
            self._read(current, segment, current.count)
        except _Malformed as problem:
            self.errors.append(problem.issue)
            if current.claim is not None:
                current.claim.broken = True

    def _read(self, current: _Set, segment: Segment, position: int) -> None:
        tag = segment.tag
        if tag == "CLP":
            self._close_claim(current)
            current.claim = _Claim(segment, position, {})
            _clp(current, segment, position)
        elif tag in ("LX", "TS3", "TS2"):
            self._close_claim(current)
        elif tag == "PLB":
            self._close_claim(current)
            current.plb.extend(_plb(current, segment, position))
        elif current.claim is not None:
            if not current.claim.broken:
                self._in_claim(current, segment, position)
        else:
            _header(current, segment, position)

    def _in_claim(self, current: _Set, segment: Segment, position: int) -> None:
        claim = current.claim
        assert claim is not None
        tag = segment.tag
        if tag == "SVC":
            _close_line(current, claim)
            claim.line = _Line(segment, _svc(current, segment, position, self.warnings))
            claim.line.values["position"] = position
            return
        line = claim.line
        if tag == "CAS":
            target = line.adjustments if line is not None else claim.adjustments
            target.extend(_cas(current, segment, position))
        elif tag == "DTM":
            _dates(current, segment, position, line.values if line is not None else claim.values)
        elif tag == "REF":
            _reference(segment, claim, line)
        elif tag == "LQ" and line is not None and segment.element(1) == "HE":
            line.remarks.append(segment.element(2))
        elif tag in ("MOA", "MIA") and line is None:
            places = _MOA_REMARKS if tag == "MOA" else _MIA_REMARKS
            claim.remarks.extend(segment.element(n) for n in places if segment.element(n))
        elif tag == "NM1" and line is None:
            _member(segment, claim)

    def _close_claim(self, current: _Set) -> None:
        claim = current.claim
        current.claim = None
        if claim is None or claim.broken:
            return
        try:
            _close_line(current, claim)
        except _Malformed as problem:
            self.errors.append(problem.issue)
            return
        current.claims.append(_remit_claim(claim))


# -- segments --------------------------------------------------------------------------------


def _consequence(current: _Set, tag: str) -> str:
    """What was left out because of a bad element of a `tag` segment (for the message)."""
    if current.claim is not None:
        return "this claim payment was not read"
    if tag == "PLB":
        return "this PLB's provider adjustments were not read"
    return "the value was left out (the claim payments were still read)"


def _amount(
    current: _Set, segment: Segment, position: int, element: int, *, required: bool
) -> Decimal | None:
    value = segment.element(element)
    if not value:
        if required:
            raise _Malformed(
                issue(
                    "x12.835.missing",
                    f"{segment.tag}{element:02d} (an amount) is required and empty; "
                    f"{_consequence(current, segment.tag)}.",
                    current.where(position, segment.tag, element),
                )
            )
        return None
    if not _AMOUNT.fullmatch(value):
        raise _Malformed(
            issue(
                "x12.835.amount",
                f"{segment.tag}{element:02d} must be an amount like 125.50, found "
                f"'{value[:20]}'; {_consequence(current, segment.tag)}.",
                current.where(position, segment.tag, element),
            )
        )
    return Decimal(value)


def _money(current: _Set, segment: Segment, position: int, element: int) -> Decimal:
    value = _amount(current, segment, position, element, required=True)
    assert value is not None
    return value


def _date(current: _Set, segment: Segment, position: int, element: int) -> dt.date:
    value = segment.element(element)
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _Malformed(
            issue(
                "x12.835.date",
                f"{segment.tag}{element:02d} must be a date as CCYYMMDD, found '{value[:20]}'; "
                f"{_consequence(current, segment.tag)}.",
                current.where(position, segment.tag, element),
            )
        ) from None


def _header(current: _Set, segment: Segment, position: int) -> None:
    """BPR, TRN, DTM*405 and the 1000A/1000B party loops."""
    tag, values = segment.tag, current.values
    if tag == "BPR":
        values["method"] = segment.element(4)
        values["total"] = _money(current, segment, position, 2)
        if segment.element(16):
            values["payment_date"] = _date(current, segment, position, 16)
    elif tag == "TRN":
        values["check"] = segment.element(2)
        values["originator"] = segment.element(3)
    elif tag == "DTM" and segment.element(1) == "405":
        values["production_date"] = _date(current, segment, position, 2)
    elif tag == "N1":
        current.party = segment.element(1)
        if current.party == "PR":
            values["payer_name"] = segment.element(2)
            if segment.element(3) == "XV":
                values["payer_id"] = segment.element(4)
        elif current.party == "PE":
            values["payee_name"] = segment.element(2)
            values["payee_qualifier"] = segment.element(3)
            values["payee_id"] = segment.element(4)
    elif tag == "REF" and current.party == "PR" and segment.element(1) == "2U":
        values.setdefault("payer_id", segment.element(2))


def _clp(current: _Set, segment: Segment, position: int) -> None:
    claim = current.claim
    assert claim is not None
    if not segment.element(1):
        raise _Malformed(
            issue(
                "x12.835.claim_id",
                "CLP01 (our claim's patient control number) is empty, so this payment cannot "
                "be linked to a claim; it was not read.",
                current.where(position, "CLP", 1),
            )
        )
    status = segment.element(2)
    if status not in CLAIM_STATUSES:
        raise _Malformed(
            issue(
                "x12.835.claim_status",
                f"CLP02 '{status[:10]}' is not a claim status code (1, 2, 3, 4, 19-23, 25); this "
                "claim payment was not read.",
                current.where(position, "CLP", 2),
            )
        )
    claim.values.update(
        claim_id=segment.element(1),
        status=status,
        charge=_money(current, segment, position, 3),
        paid=_money(current, segment, position, 4),
        patient=_amount(current, segment, position, 5, required=False) or ZERO,
        filing=segment.element(6),
        payer_claim=segment.element(7),
        facility=segment.element(8),
        frequency=segment.element(9),
    )


def _svc(
    current: _Set, segment: Segment, position: int, warnings: list[Issue]
) -> dict[str, object]:
    parts = _composite(current, segment, position, 1, warnings)
    if len(parts) < 2 or not parts[1]:
        warnings.append(
            issue(
                "x12.835.no_code",
                f"SVC01 '{segment.element(1)[:10]}' has no procedure code after its qualifier; "
                "the line was read without a code.",
                current.where(position, "SVC", 1),
            )
        )
    submitted = segment.components(6)
    units = _amount(current, segment, position, 5, required=False)
    return {
        "qualifier": parts[0],
        "code": parts[1] if len(parts) > 1 else "",
        "modifiers": tuple(m for m in parts[2:6] if m),
        "charge": _money(current, segment, position, 2),
        "paid": _money(current, segment, position, 3),
        "revenue": segment.element(4),
        "units": units,
        "submitted": submitted[1] if len(submitted) > 1 else "",
    }


def _composite(
    current: _Set, segment: Segment, position: int, element: int, warnings: list[Issue]
) -> tuple[str, ...]:
    """A composite; when ISA16's separator is absent but the value is clearly "HC>99213" (some
    payers' samples do this), split on the separator used and warn."""
    parts = segment.components(element)
    value = segment.element(element)
    if len(parts) == 1 and len(value) > 3 and value[:2].isalnum():
        used = value[2]
        if not used.isalnum() and used != " ":
            warnings.append(
                issue(
                    "x12.835.component_separator",
                    f"{segment.tag}{element:02d} separates its parts with '{used}' but the ISA "
                    f"declares '{segment.delimiters.component}' (ISA16); read it with '{used}'.",
                    current.where(position, segment.tag, element),
                )
            )
            return tuple(value.split(used))
    return parts


def _cas(current: _Set, segment: Segment, position: int) -> list[Adjustment]:
    group = segment.element(1)
    if group not in _GROUPS:
        raise _Malformed(
            issue(
                "x12.835.cas_group",
                f"CAS01 '{group[:10]}' is not an adjustment group (CO, PR, OA, PI, CR); this "
                "claim payment was not read.",
                current.where(position, "CAS", 1),
            )
        )
    found = []
    for reason_at in range(2, 20, 3):
        reason = segment.element(reason_at)
        if not reason:
            continue
        amount = _money(current, segment, position, reason_at + 1)
        quantity = _amount(current, segment, position, reason_at + 2, required=False)
        found.append(Adjustment(AdjustmentGroup(group), reason, amount, quantity))
    if not found:
        raise _Malformed(
            issue(
                "x12.835.cas_reason",
                "CAS02 (the adjustment reason code) is empty; this claim payment was not read.",
                current.where(position, "CAS", 2),
            )
        )
    return found


def _dates(current: _Set, segment: Segment, position: int, values: dict[str, object]) -> None:
    qualifier = segment.element(1)
    names = {"472": ("from", "to"), "150": ("from",), "151": ("to",)}
    names |= {"232": ("from",), "233": ("to",)}
    if qualifier in names:
        day = _date(current, segment, position, 2)
        for name in names[qualifier]:
            values[name] = day


def _reference(segment: Segment, claim: _Claim, line: _Line | None) -> None:
    qualifier, value = segment.element(1), segment.element(2)
    if line is not None:
        if qualifier == "6R":
            line.values["control"] = value
        elif qualifier in ("G1", "BB"):
            line.numbers.append(value)
    elif qualifier in ("G1", "BB"):
        claim.authorizations.append(value)
    elif qualifier == "9F":
        claim.referrals.append(value)


def _member(segment: Segment, claim: _Claim) -> None:
    # NM1*IL (insured) when the patient is a dependent; else NM1*QC (patient) is the member.
    if segment.element(1) == "IL" and segment.element(9):
        claim.values["member"] = segment.element(9)
    elif segment.element(1) == "QC" and segment.element(9):
        claim.values.setdefault("member", segment.element(9))


def _plb(current: _Set, segment: Segment, position: int) -> list[ProviderAdjustment]:
    found = []
    for at in range(3, 15, 2):
        reason = segment.components(at)
        if not reason[0]:
            continue
        amount = _money(current, segment, position, at + 1)
        found.append(ProviderAdjustment(reason[0], reason[1] if len(reason) > 1 else "", amount))
    return found


# -- values ----------------------------------------------------------------------------------


def _close_line(current: _Set, claim: _Claim) -> None:
    line = claim.line
    claim.line = None
    if line is None:
        return
    v = line.values
    claim.lines.append(
        RemitLine(
            code=str(v["code"]),
            charge=_dec(v["charge"]),
            paid=_dec(v["paid"]),
            qualifier=str(v["qualifier"]),
            modifiers=_strs(v["modifiers"]),
            revenue_code=str(v["revenue"]),
            units=_opt_dec(v.get("units")),
            submitted_code=str(v["submitted"]),
            from_date=_opt_date(v.get("from")),
            to_date=_opt_date(v.get("to")),
            adjustments=tuple(line.adjustments),
            remarks=tuple(line.remarks),
            control_number=str(v.get("control", "")),
            authorization_numbers=tuple(line.numbers),
            position=int(str(v["position"])),
        )
    )


def _remit_claim(claim: _Claim) -> RemitClaim:
    v = claim.values
    return RemitClaim(
        claim_id=str(v["claim_id"]),
        status=str(v["status"]),
        charge=_dec(v["charge"]),
        paid=_dec(v["paid"]),
        patient_responsibility=_dec(v["patient"]),
        filing_indicator=str(v["filing"]),
        payer_claim_number=str(v["payer_claim"]),
        facility_code=str(v["facility"]),
        frequency=str(v["frequency"]),
        member_id=str(v.get("member", "")),
        from_date=_opt_date(v.get("from")),
        to_date=_opt_date(v.get("to")),
        adjustments=tuple(claim.adjustments),
        remarks=tuple(claim.remarks),
        authorization_numbers=tuple(claim.authorizations),
        referral_numbers=tuple(claim.referrals),
        lines=tuple(claim.lines),
        position=claim.position,
    )


def _remittance(current: _Set) -> Remittance:
    v = current.values
    return Remittance(
        payer_id=str(v.get("payer_id") or v.get("originator", "")),
        payer_name=str(v.get("payer_name", "")),
        payee_id=str(v.get("payee_id", "")),
        payee_name=str(v.get("payee_name", "")),
        check_number=str(v.get("check", "")),
        total_paid=_opt_dec(v.get("total")),
        claims=tuple(current.claims),
        payee_id_qualifier=str(v.get("payee_qualifier", "")),
        payment_method=str(v.get("method", "")),
        payment_date=_opt_date(v.get("payment_date")),
        production_date=_opt_date(v.get("production_date")),
        provider_adjustments=tuple(current.plb),
        transaction=current.header.element(2),
    )


def _dec(value: object) -> Decimal:
    assert isinstance(value, Decimal)
    return value


def _opt_dec(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _opt_date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def _strs(value: object) -> tuple[str, ...]:
    assert isinstance(value, tuple)
    return tuple(str(v) for v in value)
