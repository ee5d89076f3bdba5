"""Claims and the authorizations they must match, as values: what an 837 says (Claim, ClaimLine),
what the payer approved (AuthorizationRecord, from a request's decision or imported from another
system), and what checking one against the other finds (Finding).

The 837 reader (channels/x12/tx837.py) makes Claims; the matching (domain/claim_check.py) makes
Findings; the store and services keep AuthorizationRecords. Pure values: no I/O. No patient names
or birth dates are kept: a claim is matched by payer and member id, and reports never need more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class ClaimKind(StrEnum):
    PROFESSIONAL = "professional"  # 837P, 005010X222A1
    INSTITUTIONAL = "institutional"  # 837I, 005010X223A2


class Setting(StrEnum):
    """Where the service happens, as far as an authorization cares: an inpatient
    precertification does not cover an outpatient service and the other way round."""

    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One service line (2400 loop): SV1 (837P) or SV2 (837I) with its dates and providers.

    `units` is SV104 / SV205 (service units; a fraction is rounded up: a payer counts a started
    unit). `pos` is the line's place of service (SV105), else the claim's. Providers are the
    line's own (2420A rendering, 2420C service facility) else the claim's (2310B, 2310C).
    `authorization_numbers` are the line's REF*G1 (2400); `position` is the segment position of
    the line's LX in its transaction set, for errors a person can find."""

    number: int
    code: str
    units: int
    from_date: dt.date
    to_date: dt.date
    charge: Decimal = Decimal("0")
    modifiers: tuple[str, ...] = ()
    pos: str = ""
    revenue_code: str = ""  # 837I SV201
    rendering_npi: str | None = None
    facility_npi: str | None = None
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM, as written (no dot), from the pointers
    authorization_numbers: tuple[str, ...] = ()  # REF*G1 on the line (2400)
    referral_numbers: tuple[str, ...] = ()  # REF*9F on the line
    position: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim (2300 loop, CLM) with who it is for and who pays.

    `payer_id` is the 2010BB NM109 (the payer's X12 id); the scrub maps it to a payer pack through
    the packs' x12_payer_ids. `member_id` is the subscriber's id (2010BA NM109). `setting` comes
    from the 837I type of bill (11x/12x/18x/21x/41x/65x/66x/86x inpatient...) or the 837P place
    of service (21, 51, 61 inpatient). `authorization_numbers` are the claim-level REF*G1 (2300),
    which cover every line that has none of its own. `position` is CLM's segment position and
    `transaction` the ST02 control number, for locating it."""

    claim_id: str
    kind: ClaimKind
    payer_id: str
    member_id: str
    lines: tuple[ClaimLine, ...]
    payer_name: str = ""
    total_charge: Decimal = Decimal("0")
    facility_code: str = ""  # CLM05-1: place of service (837P) or facility type (837I)
    bill_type: str = ""  # 837I: facility code + frequency, e.g. "111"; "" for 837P
    frequency: str = ""  # CLM05-3: 1 original, 7 replacement, 8 void
    setting: Setting = Setting.OUTPATIENT
    billing_npi: str | None = None
    rendering_npi: str | None = None  # 2310B (837P) / 2310D (837I): NM1*82
    attending_npi: str | None = None  # 837I 2310A
    facility_npi: str | None = None  # 2310C (837P) / 2310E (837I) service facility
    diagnoses: tuple[str, ...] = ()
    authorization_numbers: tuple[str, ...] = ()  # REF*G1 on the claim (2300)
    referral_numbers: tuple[str, ...] = ()  # REF*9F on the claim
    position: int = 0
    transaction: str = ""

    def numbers_for(self, line: ClaimLine) -> tuple[str, ...]:
        """The prior-authorization numbers that apply to `line`: its own, else the claim's."""
        return line.authorization_numbers or self.authorization_numbers


class AuthorizationStatus(StrEnum):
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    PENDING = "pending"  # submitted or pended: no decision yet
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class AuthorizationRecord:
    """What a payer approved (or refused) for one member, as the claim check needs it.

    From one of our requests (its standing determination: `request_id` set) or imported from a
    team's spreadsheet or another system (`source` "import"). `codes` are the codes a claim may
    carry (a modified line's approved code, not the code asked); `denied_codes` the lines the
    payer refused. `units` is the approved units per code when known; `total_units` a single
    figure for all its codes (an import's `units` column). None means not limited. Providers
    None mean any."""

    number: str
    payer_id: str
    member_id: str
    status: AuthorizationStatus
    codes: frozenset[str] = frozenset()
    denied_codes: frozenset[str] = frozenset()
    units: Mapping[str, int] = field(default_factory=dict)
    total_units: int | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    rendering_npi: str | None = None
    facility_npi: str | None = None
    setting: Setting | None = None
    source: str = "request"  # "request" or "import"
    request_id: str | None = None


class FindingKind(StrEnum):
    OK = "ok"
    NOT_REQUIRED = "not_required"
    MISSING_AUTHORIZATION = "missing_authorization"
    CODE_NOT_AUTHORIZED = "code_not_authorized"
    OUTSIDE_DATE_WINDOW = "outside_date_window"
    UNITS_EXCEEDED = "units_exceeded"
    PROVIDER_MISMATCH = "provider_mismatch"
    FACILITY_MISMATCH = "facility_mismatch"
    SETTING_MISMATCH = "setting_mismatch"
    NUMBER_MISSING_ON_CLAIM = "number_missing_on_claim"
    NUMBER_MISMATCH_ON_CLAIM = "number_mismatch_on_claim"
    AUTHORIZATION_DENIED = "authorization_denied"
    AUTHORIZATION_PENDING = "authorization_pending"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    UNKNOWN = "unknown"  # the payer or its rules are not known: verify with the payer


class Severity(StrEnum):
    ERROR = "error"  # the payer will deny it as it is
    WARNING = "warning"  # likely denied, or needs a person's look
    INFO = "info"  # fine


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the check found on a claim line: a sentence a biller understands and the fix.
    `authorization_number` names the authorization it is about (the one matched, or the one the
    claim carries)."""

    kind: FindingKind
    severity: Severity
    message: str
    fix: str = ""
    authorization_number: str = ""
    request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
            "authorization_number": self.authorization_number,
        }
        if self.request_id:
            out["request_id"] = self.request_id
        return out


@dataclass(frozen=True, slots=True)
class LineResult:
    """A claim line and everything found on it (at least one finding: OK when all is well)."""

    line: ClaimLine
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return all(f.kind in (FindingKind.OK, FindingKind.NOT_REQUIRED) for f in self.findings)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claim: Claim
    lines: tuple[LineResult, ...]

    @property
    def clean(self) -> bool:
        return all(line.clean for line in self.lines)
