"""Checking claim lines against the authorizations they must match: `check_claims` and its units
ledger. Each line gets findings a biller acts on (what is wrong, and the fix), never a crash.

Pure: no I/O, `today` is a parameter. The service maps each claim's X12 payer id to our payer id,
loads the AuthorizationRecords and the units used in earlier files, and passes the requirement
engine as a callable. What belongs here: choosing the authorization for a line, the checks, the
ledger, the sentences. What does not: reading 837s (channels/x12), fixing them, persisting usage.

How a line is checked (in this order):

1. The requirement on the line's date for the claim's payer. `not_required` ends the check (an
   authorization the claim carries for such a line is not checked: the payer will not look).
2. The member's records for that payer. When the claim carries numbers (the line's REF*G1, else
   the claim's), the record with one of those numbers is checked; when none is on file, the line
   gets `number_mismatch_on_claim` naming the likely right number if a related record exists
   (and that record is then checked). Without a number on the claim, the best related record is
   checked and `number_missing_on_claim` is added when the record could be billed against.
   Without any related record: `missing_authorization` (an error when approval is required, a
   warning when it is conditional or a notification) or `unknown` when the rules are unknown.
   Numbers compare without case or surrounding spaces. When the number the claim carries is on
   file but its record has an error for this line and another related record has no finding at
   all, the line gets only `number_mismatch_on_claim` pointing to that record.
3. The record's status (denied, cancelled, pending stop the checks), the code, the date window
   (or expiry), the setting, the rendering provider and the facility, then the units ledger.
   Dates: a line before valid_from, or after a valid_to that is still to come (>= today), is
   `outside_date_window` (ask for new dates); after a valid_to that has passed, or on a record
   whose status is expired, it is `authorization_expired` (ask for a new or retro
   authorization). An expired record still covers a line inside its window: it was valid then.

Related and best records (ties): a record is related to a line when it lists the line's code (or
lists no codes), refused that code, or its window contains the line's dates. Related records are
ranked by, in order: lists the code (then refused it, then neither); days outside the window
(0 inside); status (approved or partially approved, expired, pending, denied or cancelled);
enough units left for the line; fewest setting/provider/facility mismatches; latest valid_from;
then the number, ascending, so the choice never depends on the order records were loaded.

Units: see UnitsLedger. A claim with frequency 8 (void) is not checked: its lines consume
nothing and give back what the same claim id consumed earlier in this run. A claim with frequency
7 (replacement) first gives back what the same claim id consumed earlier in this run, then is
checked like an original. An original or replacement of a claim from an earlier file cannot give
back units here: the service should leave the replaced or voided claim out of `used_before`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from precert.domain.claims import (
    AuthorizationRecord,
    AuthorizationStatus,
    Claim,
    ClaimKind,
    ClaimLine,
    ClaimResult,
    Finding,
    FindingKind,
    LineResult,
    Setting,
    Severity,
)
from precert.domain.rules import Decision

# The requirement engine's answer for one line on its date of service, for the claim's payer.
RequirementFor = Callable[[Claim, ClaimLine], Decision]

# A units ledger key: (authorization number, code) or (authorization number, ANY_CODE) when the
# record limits all its codes together.
ANY_CODE = "*"
UnitsKey = tuple[str, str]

VOID = "8"
REPLACEMENT = "7"

_STATUS_RANK: dict[AuthorizationStatus, int] = {
    AuthorizationStatus.APPROVED: 0,
    AuthorizationStatus.PARTIALLY_APPROVED: 0,
    AuthorizationStatus.EXPIRED: 1,
    AuthorizationStatus.PENDING: 2,
    AuthorizationStatus.DENIED: 3,
    AuthorizationStatus.CANCELLED: 3,
}
# Statuses a claim cannot be billed against whatever else matches: the check stops there.
_STOPPING = frozenset(
    {AuthorizationStatus.DENIED, AuthorizationStatus.CANCELLED, AuthorizationStatus.PENDING}
)

# Findings that do not depend on the line: shared, since Findings are immutable.
_NOT_REQUIRED = Finding(
    FindingKind.NOT_REQUIRED,
    Severity.INFO,
    "The payer's rules need no authorization for this service on this date.",
)
_VOID = Finding(
    FindingKind.OK,
    Severity.INFO,
    "Void claim (frequency 8): not checked; it gives back the units its original used.",
)
_NOT_REQUIRED_ONLY = (_NOT_REQUIRED,)
_VOIDED = (_VOID,)


class Take(NamedTuple):
    """What the ledger did with one line: approved, used before it, billed, and accepted.
    (A NamedTuple: cheap to make; the check makes one only for a line that exceeds, see
    UnitsLedger.accept.)"""

    approved: int
    used_before: int
    billed: int
    accepted: int

    @property
    def exceeded(self) -> bool:
        return self.accepted < self.billed


# What the ledger keeps of one line that took units: (line number, key, units accepted).
Taken = tuple[int, UnitsKey, int]
# Entries kept in a tuple before they move to a list (UnitsLedger, AuthorizationIndex): most
# claims have a few lines and most members a few records.
_SMALL_GROUP = 8


class UnitsLedger:
    """Units billed against each authorization, across all claims in file order, on top of the
    units used in earlier files (`used_before`: (number, code or ANY_CODE) -> units).

    A line takes what remains, up to its units: when it bills more than remains, it takes the
    remainder and is flagged, so the units accepted never exceed the approved units, and the
    total accepted does not depend on the order of the claims (only which lines exceed does).
    Usage is remembered per claim id so that a replacement or void in the same run gives it back.
    Keys carry the authorization number as stored on its record (not re-cased).
    """

    __slots__ = ("_by_claim", "_used")

    def __init__(self, used_before: Mapping[UnitsKey, int] | None = None) -> None:
        self._used: dict[UnitsKey, int] = dict(used_before or {})
        # claim id -> (line number, key, units accepted) of every line that took units, in file
        # order: what `release` gives back and `line_takes` reports. A tuple of tuples while the
        # claim has a few (the garbage collector stops tracking a tuple of plain values, and a
        # scrub keeps 200,000 lines alive), a list past that (a claim id repeated all through a
        # file must not cost a quadratic copy).
        self._by_claim: dict[str, tuple[Taken, ...] | list[Taken]] = {}

    def used(self, key: UnitsKey) -> int:
        return self._used.get(key, 0)

    def take(
        self, key: UnitsKey, units: int, *, approved: int, claim_id: str, line: int = 0
    ) -> Take:
        """Record one line's units against `key`; never more than remain (see the class)."""
        before = self._used.get(key, 0)
        accepted = self.accept(key, units, approved, claim_id, line)
        return Take(approved, before, units, accepted)

    def accept(self, key: UnitsKey, units: int, approved: int, claim_id: str, line: int) -> int:
        """`take` without its Take (the check makes one only when the line exceeds): the units
        accepted; those used before are `used(key)` minus them, afterwards."""
        before = self._used.get(key, 0)
        accepted = units if units <= approved - before else approved - before
        if accepted <= 0:
            return 0
        self._used[key] = before + accepted
        taken = self._by_claim.get(claim_id)
        if taken is None:
            self._by_claim[claim_id] = ((line, key, accepted),)
        elif isinstance(taken, list):
            taken.append((line, key, accepted))
        elif len(taken) < _SMALL_GROUP:
            self._by_claim[claim_id] = (*taken, (line, key, accepted))
        else:
            self._by_claim[claim_id] = [*taken, (line, key, accepted)]
        return accepted

    def release(self, claim_id: str) -> int:
        """Give back every unit `claim_id` took in this run (its replacement or void arrived)."""
        released = 0
        for _, key, units in self._by_claim.pop(claim_id, ()):
            self._used[key] -= units
            released += units
        return released

    def line_takes(self) -> dict[tuple[str, int], tuple[UnitsKey, int]]:
        """(claim id, line number) -> (key, units accepted) for every line of this run that
        consumed units (given-back ones left out): the rows the service stores per file. A line
        number taken twice under one claim id (the id repeated in the file) keeps its last."""
        return {
            (claim_id, line): (key, units)
            for claim_id, taken in self._by_claim.items()
            for line, key, units in taken
        }

    def usage(self) -> dict[UnitsKey, int]:
        """Units used now per key (earlier files and this run), for the service to persist."""
        return {key: units for key, units in self._used.items() if units}


class AuthorizationIndex:
    """AuthorizationRecords indexed once by (payer id, member id), and by number within the
    member's records; build it once per scrub (a line is then a few dict look-ups)."""

    __slots__ = ("_by_member", "_by_number", "_count")

    def __init__(self, records: Iterable[AuthorizationRecord]) -> None:
        # Groups are built as tuples directly: most members have one or a few records, and a
        # list per group turned into a tuple afterwards doubles the objects the build leaves for
        # the garbage collector to walk (which, next to a read 837, is most of its time).
        # A group that grows past a few records goes to a list, so a member with thousands of
        # records does not cost a quadratic copy.
        by_member: dict[_Key, tuple[AuthorizationRecord, ...]] = {}
        by_number: dict[_Key, tuple[AuthorizationRecord, ...]] = {}
        large: dict[_Key, list[AuthorizationRecord]] = {}
        count = 0
        for record in records:
            count += 1
            payer, member = record.payer_id, record.member_id
            group = _add(by_member, large, (payer, member), record)
            # Inlined _norm: checking whether a number is already normal costs more than this.
            numbered = (payer, member, record.number.strip().upper())
            if len(group) == 1:  # the member's first record: share its one-record tuple
                by_number[numbered] = group
            else:
                _add(by_number, large, numbered, record)
        for key, grown in large.items():  # member keys have 2 parts, number keys 3
            (by_member if len(key) == 2 else by_number)[key] = tuple(grown)
        self._by_member = by_member
        self._by_number = by_number
        self._count = count

    def __len__(self) -> int:
        return self._count

    def for_member(self, payer_id: str, member_id: str) -> tuple[AuthorizationRecord, ...]:
        return self._by_member.get((payer_id, member_id), ())

    def numbered(
        self, payer_id: str, member_id: str, numbers: Sequence[str]
    ) -> tuple[AuthorizationRecord, ...]:
        """The member's records carrying one of `numbers` (case and spaces aside)."""
        if len(numbers) == 1:  # the usual case: one REF*G1
            return self._by_number.get((payer_id, member_id, _norm(numbers[0])), ())
        found: tuple[AuthorizationRecord, ...] = ()
        for number in numbers:
            found += self._by_number.get((payer_id, member_id, _norm(number)), ())
        return found


# An AuthorizationIndex key: (payer id, member id) or (payer id, member id, number).
_Key = tuple[str, ...]


def _add(
    groups: dict[_Key, tuple[AuthorizationRecord, ...]],
    large: dict[_Key, list[AuthorizationRecord]],
    key: _Key,
    record: AuthorizationRecord,
) -> tuple[AuthorizationRecord, ...]:
    """Add `record` to its group: a tuple while small, a list in `large` once it grows. Returns
    the tuple now in `groups` (the group's first records, once it has grown)."""
    group = groups.get(key)
    if group is None:
        group = groups[key] = (record,)
    elif len(group) < _SMALL_GROUP:
        group = groups[key] = (*group, record)
    else:
        grown = large.get(key)
        if grown is None:
            large[key] = [*group, record]
        else:
            grown.append(record)
    return group


def check_claims(
    claims: Iterable[Claim],
    *,
    requirement: RequirementFor,
    authorizations: AuthorizationIndex | Iterable[AuthorizationRecord],
    ledger: UnitsLedger,
    today: dt.date,
) -> Iterator[ClaimResult]:
    """Check every line of every claim, in order (the ledger is updated as results are taken:
    stopping early leaves it where the last result left it)."""
    index = (
        authorizations
        if isinstance(authorizations, AuthorizationIndex)
        else AuthorizationIndex(authorizations)
    )
    checker = _Checker(requirement, index, ledger, today)
    for claim in claims:
        yield checker.claim(claim)


# What a line's findings are made of before the units: (findings, uses the record's units).
Static = tuple[tuple[Finding, ...], bool]
_CLEAN: Static = ((), True)


class _Checker:
    """The per-run state of check_claims: the index, the ledger and the requirement callable.

    Speed (200,000 lines a scrub): the findings that depend only on the record (its OK, its
    number missing) and its units limits are made once per record and shared, and a line whose
    findings are one of those gets the same tuple. Besides the time to make them, every object
    a line leaves behind is one more for the garbage collector to walk on each full collection,
    which was half the check's time. Records are keyed by id(): the index keeps them alive."""

    __slots__ = ("index", "ledger", "limits", "missing", "oks", "requirement", "today", "totals")

    def __init__(
        self,
        requirement: RequirementFor,
        index: AuthorizationIndex,
        ledger: UnitsLedger,
        today: dt.date,
    ) -> None:
        self.requirement = requirement
        self.index = index
        self.ledger = ledger
        self.today = today
        self.oks: dict[int, tuple[Finding]] = {}
        self.missing: dict[int, tuple[Finding]] = {}
        # The ledger key and approved units (see _limit) by id(record), or (id, code) when the
        # record has a figure for the code.
        self.totals: dict[int, tuple[UnitsKey, int] | None] = {}
        self.limits: dict[tuple[int, str], tuple[UnitsKey, int] | None] = {}

    def claim(self, claim: Claim) -> ClaimResult:
        if claim.frequency in (VOID, REPLACEMENT):
            self.ledger.release(claim.claim_id)
        if claim.frequency == VOID:
            return ClaimResult(claim, tuple([LineResult(line, _VOIDED) for line in claim.lines]))
        records = self.index.for_member(claim.payer_id, claim.member_id)
        check = self.line
        return ClaimResult(
            claim, tuple([LineResult(line, check(claim, line, records)) for line in claim.lines])
        )

    def line(
        self, claim: Claim, line: ClaimLine, records: Sequence[AuthorizationRecord]
    ) -> tuple[Finding, ...]:
        decision = self.requirement(claim, line)
        if decision is Decision.NOT_REQUIRED:
            return _NOT_REQUIRED_ONLY
        carried = line.authorization_numbers or claim.authorization_numbers  # numbers_for
        if carried:
            return self._carried(claim, line, records, carried)
        best = self._best(claim, line, records)
        if best is None:
            return _NOTHING[decision]
        findings, usable = _static(claim, line, best, self.today)
        if best.status not in _STOPPING:
            missing = self._missing(best)
            findings = missing + findings if findings else missing
        return self._finish(claim, line, best, findings, usable)

    def _carried(
        self,
        claim: Claim,
        line: ClaimLine,
        records: Sequence[AuthorizationRecord],
        carried: tuple[str, ...],
    ) -> tuple[Finding, ...]:
        """The claim carries numbers: check the record it names, or say the number is wrong."""
        named = self.index.numbered(claim.payer_id, claim.member_id, carried)
        if not named:
            best = self._best(claim, line, records)
            if best is None:
                return (_number_unknown(carried),)
            findings, usable = _static(claim, line, best, self.today)
            return self._finish(
                claim, line, best, (_number_wrong(carried, best), *findings), usable
            )
        record = named[0] if len(named) == 1 else self._best(claim, line, named, related_only=False)
        assert record is not None  # named is not empty and every record ranks when not filtered
        findings, usable = _static(claim, line, record, self.today)
        if findings and any(f.severity is Severity.ERROR for f in findings):
            # The number is on file but for another service: say so when another record fits.
            others = [r for r in records if r not in named]
            better = self._best(claim, line, others)
            if better is not None and not _static(claim, line, better, self.today)[0]:
                return self._finish(claim, line, better, (_number_wrong(carried, better),), True)
        return self._finish(claim, line, record, findings, usable)

    def _finish(
        self,
        claim: Claim,
        line: ClaimLine,
        record: AuthorizationRecord,
        findings: tuple[Finding, ...],
        usable: bool,
    ) -> tuple[Finding, ...]:
        """Take the line's units when it can be billed against the record, then the verdict."""
        if usable:
            limit = self._limit(record, line.code)
            if limit is not None:
                key, approved = limit
                units = line.units
                ledger = self.ledger
                accepted = ledger.accept(key, units, approved, claim.claim_id, line.number)
                if accepted < units:
                    took = Take(approved, ledger.used(key) - accepted, units, accepted)
                    findings = (*findings, _units_exceeded(record, line, key, took))
        if findings:
            return findings
        ok = self.oks.get(id(record))
        if ok is None:
            ok = self.oks[id(record)] = (_ok(record),)
        return ok

    def _missing(self, record: AuthorizationRecord) -> tuple[Finding]:
        """(number_missing_on_claim,) for `record`, made once: it depends only on the record."""
        missing = self.missing.get(id(record))
        if missing is None:
            missing = self.missing[id(record)] = (_number_missing(record),)
        return missing

    def _limit(self, record: AuthorizationRecord, code: str) -> tuple[UnitsKey, int] | None:
        """_limit, made once per record (and code, when the record limits codes one by one) so
        that every line against it shares one ledger key."""
        if code in record.units:
            per_code = self.limits.get((id(record), code))
            if per_code is None:
                per_code = self.limits[(id(record), code)] = _limit(record, code)
            return per_code
        if record.total_units is None:
            return None
        total = self.totals.get(id(record))
        if total is None:
            total = self.totals[id(record)] = _limit(record, code)
        return total

    def _best(
        self,
        claim: Claim,
        line: ClaimLine,
        records: Sequence[AuthorizationRecord],
        *,
        related_only: bool = True,
    ) -> AuthorizationRecord | None:
        """The best record for the line (ranking in the module docstring), or None."""
        code = line.code
        if len(records) == 1:  # the usual case: nothing to rank, only whether it is related
            record = records[0]
            if (
                not related_only
                or not record.codes
                or code in record.codes
                or code in record.denied_codes
                or not _days_outside(record, line)
            ):
                return record
            return None
        best: AuthorizationRecord | None = None
        best_key: tuple[int, int, int, int, int, int, str] | None = None
        for record in records:
            lists = not record.codes or code in record.codes
            refused = code in record.denied_codes
            days = _days_outside(record, line)
            if related_only and not (lists or refused or days == 0):
                continue
            limit = self._limit(record, code)
            short = limit is not None and self.ledger.used(limit[0]) + line.units > limit[1]
            key = (
                0 if lists else 1 if refused else 2,
                days,
                _STATUS_RANK[record.status],
                int(short),
                _mismatches(claim, line, record),
                -(record.valid_from.toordinal() if record.valid_from else 0),
                record.number,
            )
            if best_key is None or key < best_key:
                best, best_key = record, key
        return best


# --- the checks of one record against one line -------------------------------------------------


def _static(claim: Claim, line: ClaimLine, record: AuthorizationRecord, today: dt.date) -> Static:
    """Everything but the units: status, code, dates, setting, providers (in that order), and
    whether the line uses the record's units: it does when it will be billed against the record
    once the claim is corrected, not when refused, pending, for another code or dates."""
    number = record.number
    status = record.status
    # Denied, cancelled or pending: nothing else matters until that changes.
    if status in _STOPPING:
        return (_stopped(record),), False
    code = line.code
    if code in record.denied_codes:
        message = f"The payer refused {code} on authorization {number}."
        fix = "Appeal the refusal before billing, or bill only the services it approved."
        return (_finding(FindingKind.AUTHORIZATION_DENIED, record, message, fix),), False
    listed = not record.codes or code in record.codes
    dated = _dates(line, record, today)
    setting = record.setting
    if (
        listed
        and dated is None
        and (setting is None or setting is claim.setting)
        and not record.rendering_npi
        and not record.facility_npi
    ):
        return _CLEAN  # the usual case: one shared answer, no list
    findings: list[Finding] = []
    if not listed:
        findings.append(_code_not_authorized(record, code))
    if dated is not None:
        findings.append(dated)
    if setting is not None and setting is not claim.setting:
        findings.append(_setting_mismatch(record, claim.setting))
    if record.rendering_npi:
        rendering = _rendering(claim, line)
        if rendering and rendering != record.rendering_npi:
            findings.append(_provider_mismatch(record, rendering))
    if record.facility_npi:
        facility = line.facility_npi or claim.facility_npi or claim.billing_npi
        if facility and facility != record.facility_npi:
            findings.append(_facility_mismatch(record, facility))
    if not findings:
        return _CLEAN
    return tuple(findings), listed and dated is None


def _dates(line: ClaimLine, record: AuthorizationRecord, today: dt.date) -> Finding | None:
    """outside_date_window, or authorization_expired when the service came after an end that
    has passed (an expired record still covers a service inside its window: it was valid)."""
    start, end = record.valid_from, record.valid_to
    if start is not None and end is not None and start <= line.from_date and line.to_date <= end:
        return None  # the usual case, decided in two comparisons
    expired = record.status is AuthorizationStatus.EXPIRED
    if expired and end is None:
        message = f"Authorization {record.number} has expired and its end date is not on file."
        return _finding(FindingKind.AUTHORIZATION_EXPIRED, record, message, _EXPIRED_FIX)
    after = (line.to_date - end).days if end is not None else 0
    before = (start - line.from_date).days if start is not None else 0
    if after > 0 and end is not None and (expired or end < today):
        message = (
            f"Authorization {record.number} expired on {end}, {_days(after)} before the "
            f"date of service ({line.to_date})."
        )
        return _finding(FindingKind.AUTHORIZATION_EXPIRED, record, message, _EXPIRED_FIX)
    if after <= 0 and before <= 0:
        return None
    parts = []
    if before > 0:
        parts.append(f"starts {_days(before)} after the date of service ({line.from_date})")
    if after > 0:
        parts.append(f"ends {_days(after)} before the date of service ({line.to_date})")
    message = f"Authorization {record.number} ({_window(record)}) {' and '.join(parts)}."
    fix = (
        "Check the date of service; if it is right, ask the payer to change the "
        "authorization's dates before billing."
    )
    return _finding(FindingKind.OUTSIDE_DATE_WINDOW, record, message, fix)


def _days_outside(record: AuthorizationRecord, line: ClaimLine) -> int:
    """Days the line's dates reach outside the record's window (0 inside or when unknown)."""
    days = 0
    if record.valid_from is not None and line.from_date < record.valid_from:
        days += (record.valid_from - line.from_date).days
    if record.valid_to is not None and line.to_date > record.valid_to:
        days += (line.to_date - record.valid_to).days
    return days


def _limit(record: AuthorizationRecord, code: str) -> tuple[UnitsKey, int] | None:
    """The ledger key and approved units for `code` (its own figure, else the record's total)."""
    per_code = record.units.get(code)
    if per_code is not None:
        return (record.number, code), per_code
    if record.total_units is not None:
        return (record.number, ANY_CODE), record.total_units
    return None


def _rendering(claim: Claim, line: ClaimLine) -> str | None:
    """Who rendered the line: its own 2420A, the claim's, else (837I) the attending, else the
    billing provider (837P sends 2310B only when it differs from the billing provider)."""
    if line.rendering_npi or claim.rendering_npi:
        return line.rendering_npi or claim.rendering_npi
    if claim.kind is ClaimKind.INSTITUTIONAL and claim.attending_npi:
        return claim.attending_npi
    return claim.billing_npi


def _mismatches(claim: Claim, line: ClaimLine, record: AuthorizationRecord) -> int:
    count = int(record.setting is not None and record.setting is not claim.setting)
    if record.rendering_npi:  # who rendered the line is worked out only when it matters
        rendering = _rendering(claim, line)
        count += int(bool(rendering and rendering != record.rendering_npi))
    if record.facility_npi:
        facility = line.facility_npi or claim.facility_npi or claim.billing_npi
        count += int(bool(facility and facility != record.facility_npi))
    return count


def _norm(number: str) -> str:
    # Billing systems re-key numbers by hand: case and stray spaces are not a different number.
    return number.strip().upper()


# --- the sentences ------------------------------------------------------------------------------

_EXPIRED_FIX = (
    "Request a new authorization (or a retro-authorization, if the payer allows one) "
    "before billing."
)


def _finding(
    kind: FindingKind,
    record: AuthorizationRecord,
    message: str,
    fix: str,
    severity: Severity = Severity.ERROR,
) -> Finding:
    return Finding(kind, severity, message, fix, record.number, record.request_id)


def _stopped(record: AuthorizationRecord) -> Finding:
    """Denied, cancelled (no finding of its own: nothing covers the line) or pending."""
    number = record.number
    if record.status is AuthorizationStatus.DENIED:
        return _finding(
            FindingKind.AUTHORIZATION_DENIED,
            record,
            f"The payer denied authorization {number}.",
            "Do not bill as is: appeal the denial (or ask for a peer-to-peer review) first.",
        )
    if record.status is AuthorizationStatus.CANCELLED:
        return _finding(
            FindingKind.MISSING_AUTHORIZATION,
            record,
            f"Authorization {number} was cancelled, so nothing covers this service.",
            "Request a new authorization before billing.",
        )
    return _finding(
        FindingKind.AUTHORIZATION_PENDING,
        record,
        f"The payer has not decided authorization {number} yet.",
        f"Hold the claim until the payer decides; bill after approval with REF*G1*{number}.",
    )


def _nothing(decision: Decision) -> Finding:
    if decision is Decision.UNKNOWN:
        return Finding(
            FindingKind.UNKNOWN,
            Severity.WARNING,
            "No rules are known for this payer and service, and no authorization is on file.",
            "Verify with the payer whether this service needs an authorization before billing.",
        )
    if decision is Decision.REQUIRED:
        return Finding(
            FindingKind.MISSING_AUTHORIZATION,
            Severity.ERROR,
            "The payer requires an authorization for this service and none is on file.",
            "Obtain the authorization (or a retro-authorization for an emergency) before "
            "billing; if one was obtained elsewhere, import it.",
        )
    what = "a notification" if decision is Decision.NOTIFICATION else "an authorization"
    return Finding(
        FindingKind.MISSING_AUTHORIZATION,
        Severity.WARNING,
        f"The payer may require {what} for this service and none is on file.",
        f"Check the payer's conditions and obtain {what} if they apply before billing.",
    )


# A line without a related record: its finding depends only on the decision, so it is shared.
_NOTHING: dict[Decision, tuple[Finding]] = {
    decision: (_nothing(decision),)
    for decision in Decision
    if decision is not Decision.NOT_REQUIRED
}


def _ok(record: AuthorizationRecord) -> Finding:
    return Finding(
        FindingKind.OK,
        Severity.INFO,
        f"Matches authorization {record.number}.",
        "",
        record.number,
        record.request_id,
    )


def _number_missing(record: AuthorizationRecord) -> Finding:
    # The fixable finding: the scrub inserts REF*G1 with `authorization_number` when this is
    # the line's only finding.
    return Finding(
        FindingKind.NUMBER_MISSING_ON_CLAIM,
        Severity.ERROR,
        f"The claim does not carry authorization number {record.number}, which covers this line.",
        f"Add REF*G1*{record.number} to the claim before billing.",
        record.number,
        record.request_id,
    )


def _number_wrong(carried: tuple[str, ...], record: AuthorizationRecord) -> Finding:
    return Finding(
        FindingKind.NUMBER_MISMATCH_ON_CLAIM,
        Severity.ERROR,
        f"The claim carries authorization number {_join(carried)}, but authorization "
        f"{record.number} is the one on file for this service.",
        f"Replace {_join(carried)} with {record.number} (REF*G1) after checking the payer's "
        "record.",
        record.number,
        record.request_id,
    )


def _number_unknown(carried: tuple[str, ...]) -> Finding:
    return Finding(
        FindingKind.NUMBER_MISMATCH_ON_CLAIM,
        Severity.WARNING,
        f"The claim carries authorization number {_join(carried)}, which is not on file for "
        "this patient and payer.",
        "Verify the number with the payer; if it is right, import the authorization so the "
        "claim can be checked.",
        carried[0],
    )


def _code_not_authorized(record: AuthorizationRecord, code: str) -> Finding:
    approved = _join(sorted(record.codes))
    return _finding(
        FindingKind.CODE_NOT_AUTHORIZED,
        record,
        f"Approved {approved}, billed {code} (authorization {record.number}).",
        f"Request an update of authorization {record.number} to {code} before billing, or "
        f"correct the code if {approved} was performed.",
    )


def _units_exceeded(
    record: AuthorizationRecord, line: ClaimLine, key: UnitsKey, took: Take
) -> Finding:
    of = "" if key[1] == ANY_CODE else f" of {line.code}"
    left = took.approved - took.used_before
    remain = f"bill the {left} that remain" if left > 0 else "hold the line"
    return _finding(
        FindingKind.UNITS_EXCEEDED,
        record,
        f"Authorization {record.number} approved {took.approved} units{of}; "
        f"{took.used_before} were used before this line, which bills {took.billed}.",
        f"Request more units (an extension) before billing, or {remain}.",
    )


def _setting_mismatch(record: AuthorizationRecord, billed: Setting) -> Finding:
    if record.setting is Setting.INPATIENT:
        message = (
            f"Authorization {record.number} is an inpatient precertification; "
            "this claim is for an outpatient service."
        )
        fix = "Request an outpatient preauthorization for the service before billing."
    else:
        message = (
            f"Authorization {record.number} covers an outpatient service; "
            f"this claim is {billed.value}."
        )
        fix = "Request an inpatient precertification for the admission before billing."
    return _finding(FindingKind.SETTING_MISMATCH, record, message, fix)


def _provider_mismatch(record: AuthorizationRecord, rendering: str) -> Finding:
    return _finding(
        FindingKind.PROVIDER_MISMATCH,
        record,
        f"Authorization {record.number} names rendering provider NPI {record.rendering_npi}; "
        f"the claim's rendering provider is NPI {rendering}.",
        "Ask the payer to update the authorization's rendering provider, or correct the "
        "claim's rendering provider if it is wrong.",
        Severity.WARNING,
    )


def _facility_mismatch(record: AuthorizationRecord, facility: str) -> Finding:
    return _finding(
        FindingKind.FACILITY_MISMATCH,
        record,
        f"Authorization {record.number} names facility NPI {record.facility_npi}; "
        f"the claim's service facility is NPI {facility}.",
        "Ask the payer to update the authorization's facility, or correct the claim's "
        "service facility if it is wrong.",
        Severity.WARNING,
    )


def _window(record: AuthorizationRecord) -> str:
    start = str(record.valid_from) if record.valid_from else "open"
    end = str(record.valid_to) if record.valid_to else "open"
    return f"valid {start} to {end}"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _join(items: Iterable[str]) -> str:
    return ", ".join(items)
