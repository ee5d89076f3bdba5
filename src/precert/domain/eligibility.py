"""Eligibility and benefits (X12 270/271, 005010X279A1) as values a request can use.

A `CoverageCheck` is what a payer's 271 says about one member: coverage active or not, the plan
and its dates, and per benefit row (`Benefit`, one EB segment) the service types it covers,
whether authorization is required (EB11), the network it applies to (EB12) and the messages.
`CoverageCheck.for_service` folds the rows of one service type into a `ServiceCoverage`, and
`authorization_answer` sets the payer's word next to the rule pack's `Decision`.

`service_type_for` maps one of our procedure codes to the X12 service type code (EB03 / EQ01) an
inquiry asks about, falling back to 30 (health benefit plan coverage). Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from precert.domain.rules import Decision
from precert.errors import Issue

PLAN_COVERAGE = "30"  # "health benefit plan coverage": the generic service type

# The service types precert asks about, in our words (a subset of the X12 list; the codes are
# checked against /work/shared/refdata/service_type_codes.csv by the tests).
SERVICE_TYPES: dict[str, str] = {
    "1": "medical care",
    "2": "surgery",
    "4": "diagnostic imaging (X-ray)",
    "5": "diagnostic laboratory",
    "6": "radiation therapy",
    "7": "anesthesia",
    "12": "durable medical equipment (purchase)",
    "30": "health benefit plan coverage",
    "33": "chiropractic",
    "35": "dental care",
    "42": "home health care",
    "47": "hospital",
    "48": "hospital inpatient",
    "50": "hospital outpatient",
    "62": "MRI / CT scan",
    "73": "diagnostic medical",
    "76": "dialysis",
    "86": "emergency services",
    "88": "pharmacy",
    "98": "office visit (professional)",
    "A4": "psychiatric",
    "AD": "occupational therapy",
    "AG": "skilled nursing care",
    "AL": "vision (optometry)",
    "BG": "cardiac rehabilitation",
    "DM": "durable medical equipment",
    "MH": "mental health",
    "PT": "physical therapy",
    "UC": "urgent care",
}

# CPT ranges (inclusive, numeric codes only) -> service type. Narrow ranges come first.
_CPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (70336, 70336, "62"),  # MRI temporomandibular joint
    (70540, 70559, "62"),  # MRI orbit/face/neck/brain
    (70450, 70498, "62"),  # CT head/neck
    (71250, 71275, "62"),  # CT chest
    (71550, 71555, "62"),  # MRI chest
    (72125, 72159, "62"),  # CT / MRI spine
    (72191, 72198, "62"),  # CT / MRI pelvis
    (73200, 73225, "62"),  # CT / MRI upper extremity
    (73700, 73725, "62"),  # CT / MRI lower extremity
    (74150, 74185, "62"),  # CT / MRI abdomen
    (75557, 75574, "62"),  # cardiac MRI / CT
    (77261, 77799, "6"),  # radiation oncology
    (70010, 79999, "4"),  # other radiology
    (100, 1999, "7"),  # anesthesia (00100-01999)
    (10004, 69990, "2"),  # surgery
    (80047, 89398, "5"),  # pathology and laboratory
    (90951, 90999, "76"),  # dialysis
    (90785, 90899, "MH"),  # psychiatry
    (97161, 97164, "PT"),  # physical therapy evaluations
    (97165, 97168, "AD"),  # occupational therapy evaluations
    (97010, 97799, "PT"),  # physical medicine and rehabilitation
    (98940, 98943, "33"),  # chiropractic manipulation
    (99202, 99215, "98"),  # office visits
    (99221, 99239, "48"),  # hospital inpatient care
    (99281, 99285, "86"),  # emergency department visits
)
# HCPCS level II letter -> service type.
_HCPCS_LETTERS: dict[str, str] = {"E": "DM", "K": "DM", "L": "DM", "J": "88", "D": "35"}
# Place of service -> service type, used when the code says nothing more specific.
_POS_TYPES: dict[str, str] = {"21": "48", "22": "50", "23": "86", "31": "AG", "12": "42"}


def service_type_for(code: str, pos: str = "") -> str:
    """The X12 service type to ask a payer about for procedure `code` (CPT or HCPCS) at `pos`."""
    code = code.strip().upper()
    if len(code) == 5 and code.isdigit():
        number = int(code)
        for low, high, service_type in _CPT_RANGES:
            if low <= number <= high:
                return service_type
    elif len(code) == 5 and code[0] in _HCPCS_LETTERS and code[1:].isdigit():
        return _HCPCS_LETTERS[code[0]]
    return _POS_TYPES.get(pos.strip(), PLAN_COVERAGE)


def service_type_label(code: str) -> str:
    return SERVICE_TYPES.get(code, f"service type {code}")


class AuthorizationFlag(StrEnum):
    """EB11 "authorization or certification indicator", and its absence."""

    REQUIRED = "required"  # Y
    NOT_REQUIRED = "not_required"  # N
    UNKNOWN = "unknown"  # U: the payer does not know
    NOT_STATED = "not_stated"  # EB11 empty or no row for the service type

    @classmethod
    def from_eb11(cls, value: str) -> AuthorizationFlag:
        return _EB11.get(value, cls.NOT_STATED)


_EB11 = {
    "Y": AuthorizationFlag.REQUIRED,
    "N": AuthorizationFlag.NOT_REQUIRED,
    "U": AuthorizationFlag.UNKNOWN,
}

# EB01 "eligibility or benefit information" codes that say coverage is active / inactive.
ACTIVE_CODES = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_CODES = frozenset({"6", "7", "8"})
NON_COVERED = "I"
# What each EB01 code means, in our words (the ones a prior-authorization team meets).
BENEFIT_CODES: dict[str, str] = {
    "1": "active coverage",
    "2": "active - full risk capitation",
    "3": "active - services capitated",
    "4": "active - services capitated to primary care physician",
    "5": "active - pending investigation",
    "6": "inactive",
    "7": "inactive - pending eligibility update",
    "8": "inactive - pending investigation",
    "A": "co-insurance",
    "B": "co-payment",
    "C": "deductible",
    "CB": "coverage basis",
    "D": "benefit description",
    "E": "exclusions",
    "F": "limitations",
    "G": "out-of-pocket (stop loss)",
    "H": "unlimited",
    "I": "non-covered",
    "J": "cost containment",
    "L": "primary care provider",
    "MC": "managed care coordinator",
    "N": "services restricted to the following provider",
    "R": "other or additional payer",
    "U": "contact the following entity for eligibility or benefit information",
    "V": "cannot process",
    "X": "health care facility",
}


def in_network_from_eb12(value: str) -> bool | None:
    """EB12: Y in-plan network, N out of network, W (not applicable) or empty -> None."""
    return {"Y": True, "N": False}.get(value)


@dataclass(frozen=True, slots=True)
class Reject:
    """An AAA segment: the payer could not answer (part of) the inquiry, and what to do next."""

    reason: str  # AAA03, e.g. "72" invalid member id
    follow_up: str  # AAA04, e.g. "C" correct and resubmit
    issue: Issue  # the sentence and where the AAA is

    @property
    def can_resubmit(self) -> bool:
        return self.follow_up in ("C", "P", "R", "W", "X")


@dataclass(frozen=True, slots=True)
class Benefit:
    """One EB segment (loop 2110C/D) with the DTP, MSG and AAA that follow it."""

    info: str  # EB01
    coverage_level: str = ""  # EB02 (IND individual, FAM family...)
    service_types: tuple[str, ...] = ()  # EB03 repetitions
    insurance_type: str = ""  # EB04 (HM HMO, C1 commercial, MA Medicare Part A...)
    plan: str = ""  # EB05
    time_period: str = ""  # EB06 (27 visit, 29 remaining, 23 calendar year...)
    amount: str = ""  # EB07 (money)
    percent: str = ""  # EB08
    quantity: str = ""  # EB10, with its qualifier EB09
    quantity_qualifier: str = ""
    authorization: AuthorizationFlag = AuthorizationFlag.NOT_STATED  # EB11
    in_network: bool | None = None  # EB12
    dates: tuple[tuple[str, dt.date, dt.date], ...] = ()  # (DTP01, start, end)
    messages: tuple[str, ...] = ()
    location: str = ""

    @property
    def meaning(self) -> str:
        return BENEFIT_CODES.get(self.info, f"benefit information {self.info}")


@dataclass(frozen=True, slots=True)
class ServiceCoverage:
    """What the 271 says about one service type, folded from its benefit rows."""

    service_type: str
    covered: bool | None  # None: no row says either way
    authorization: AuthorizationFlag
    # Authorization by network when the rows say so: {True: in network, False: out of network}.
    authorization_by_network: dict[bool, AuthorizationFlag] = field(default_factory=dict)
    in_network_rows: bool = False  # some row applies to the in-plan network
    out_of_network_rows: bool = False
    messages: tuple[str, ...] = ()
    from_plan_coverage: bool = False  # no row names this type: the plan-level (30) rows answer


@dataclass(frozen=True, slots=True)
class CoverageCheck:
    """What one 271 says about one member (the subscriber, or a dependent as the patient)."""

    member: str  # "subscriber" or "dependent"
    member_id: str  # PHI: never put it in a message or a log
    payer_id: str
    payer_name: str
    active: bool | None  # None: the 271 did not say (rejected, or no EB*1..8)
    plan: str = ""
    plan_begin: dt.date | None = None
    plan_end: dt.date | None = None
    eligibility_begin: dt.date | None = None
    eligibility_end: dt.date | None = None
    benefits: tuple[Benefit, ...] = ()
    rejects: tuple[Reject, ...] = ()
    messages: tuple[str, ...] = ()
    trace_numbers: tuple[str, ...] = ()  # TRN02 of the 2000C/D loop (our 270's trace comes back)

    @property
    def service_types(self) -> tuple[str, ...]:
        """Every service type some row names, in the order first named."""
        seen: dict[str, None] = {}
        for benefit in self.benefits:
            for service_type in benefit.service_types:
                seen.setdefault(service_type, None)
        return tuple(seen)

    def for_service(self, service_type: str) -> ServiceCoverage:
        """The rows of `service_type` folded into one answer.

        Authorization is the most cautious one stated: any Y makes it required; else any U makes
        it unknown; else an N makes it not required. A row without EB03 applies to plan coverage
        (30). With no row for `service_type`, the plan coverage (30) rows answer, and
        `from_plan_coverage` says so.
        """
        rows = [b for b in self.benefits if service_type in b.service_types]
        fallback = False
        if not rows and service_type != PLAN_COVERAGE:
            rows = [b for b in self.benefits if _is_plan_row(b)]
            fallback = True
        elif service_type == PLAN_COVERAGE:
            rows = [b for b in self.benefits if _is_plan_row(b)]
        covered: bool | None = None
        if any(b.info in INACTIVE_CODES or b.info == NON_COVERED for b in rows):
            covered = False
        if any(b.info in ACTIVE_CODES for b in rows):
            covered = True
        if covered is None and self.active is False:
            covered = False
        by_network: dict[bool, list[AuthorizationFlag]] = {}
        for b in rows:
            if b.in_network is not None and b.authorization is not AuthorizationFlag.NOT_STATED:
                by_network.setdefault(b.in_network, []).append(b.authorization)
        messages = tuple(dict.fromkeys(m for b in rows for m in b.messages))
        return ServiceCoverage(
            service_type=service_type,
            covered=covered,
            authorization=_cautious([b.authorization for b in rows]),
            authorization_by_network={k: _cautious(v) for k, v in by_network.items()},
            in_network_rows=any(b.in_network is True for b in rows),
            out_of_network_rows=any(b.in_network is False for b in rows),
            messages=messages,
            from_plan_coverage=fallback,
        )


def _is_plan_row(benefit: Benefit) -> bool:
    return not benefit.service_types or PLAN_COVERAGE in benefit.service_types


def _cautious(flags: list[AuthorizationFlag]) -> AuthorizationFlag:
    for flag in (
        AuthorizationFlag.REQUIRED,
        AuthorizationFlag.UNKNOWN,
        AuthorizationFlag.NOT_REQUIRED,
    ):
        if flag in flags:
            return flag
    return AuthorizationFlag.NOT_STATED


@dataclass(frozen=True, slots=True)
class AuthorizationAnswer:
    """The payer's 271 and the rule pack side by side, for one service type of a request."""

    service_type: str
    payer: AuthorizationFlag
    rules: Decision | None
    agree: bool | None  # None: one side has no answer to compare
    active: bool | None
    summary: str

    def as_dict(self) -> dict[str, object]:
        return {
            "service_type": self.service_type,
            "payer": str(self.payer),
            "rules": None if self.rules is None else str(self.rules),
            "agree": self.agree,
            "active": self.active,
            "summary": self.summary,
        }


_PAYER_WORDS = {
    AuthorizationFlag.REQUIRED: "authorization is required",
    AuthorizationFlag.NOT_REQUIRED: "no authorization is required",
    AuthorizationFlag.UNKNOWN: "the payer does not know whether authorization is required",
    AuthorizationFlag.NOT_STATED: "the payer's 271 does not say whether authorization is required",
}
_RULE_WORDS = {
    Decision.REQUIRED: "required",
    Decision.NOTIFICATION: "notification only",
    Decision.CONDITIONAL: "conditional",
    Decision.NOT_REQUIRED: "not required",
    Decision.UNKNOWN: "unknown (no rule)",
}


def authorization_answer(
    check: CoverageCheck, service_type: str, rules: Decision | None = None
) -> AuthorizationAnswer:
    """ "Authorization required for service type X per the payer's 271" next to the rule pack's
    answer: `agree` when both are certain and say the same; a disagreement means: ask the payer.
    """
    coverage = check.for_service(service_type)
    flag = coverage.authorization
    label = f"service type {service_type} ({service_type_label(service_type)})"
    basis = " (from the plan's general coverage rows)" if coverage.from_plan_coverage else ""
    text = f"For {label}, {_PAYER_WORDS[flag]} per the payer's 271{basis}"
    if len(set(coverage.authorization_by_network.values())) > 1:
        parts = [
            f"{'in' if network else 'out of'} network: {value.value.replace('_', ' ')}"
            for network, value in sorted(coverage.authorization_by_network.items(), reverse=True)
        ]
        text += f" ({'; '.join(parts)})"
    text += "."
    if check.active is False:
        text += " Coverage is inactive: check the member's coverage before requesting approval."
    elif check.rejects:
        text += " The payer rejected part of the inquiry: see its reasons."
    agree: bool | None = None
    payer_required = {
        AuthorizationFlag.REQUIRED: True,
        AuthorizationFlag.NOT_REQUIRED: False,
    }.get(flag)
    rules_required = (
        {
            Decision.REQUIRED: True,
            Decision.NOT_REQUIRED: False,
        }.get(rules)
        if rules is not None
        else None
    )
    if rules is not None:
        text += f" The rule pack says {_RULE_WORDS[rules]}."
    if payer_required is not None and rules_required is not None:
        agree = payer_required == rules_required
        if not agree:
            text += " They disagree: confirm with the payer before submitting or skipping."
    return AuthorizationAnswer(service_type, flag, rules, agree, check.active, text)
