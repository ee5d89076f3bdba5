"""Payer rules as plain values: what a payer requires, for which services, where and when.

A `PayerPack` is one payer's rule set (loaded from YAML by `domain.packs`); a `PayerRule` says, for
a set of codes and the filters around them (plan, place of service or care setting, state, dates,
conditions), what the payer requires: the outcome, the payer's own term, what it reviews, documents,
channels and turnaround. The engine that answers a service lives in `domain.requirements`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What a rule says when it applies."""

    REQUIRED = "required"
    NOTIFICATION = "notification"
    NOT_REQUIRED = "not_required"


class Decision(StrEnum):
    """The answer for one service."""

    REQUIRED = "required"
    NOTIFICATION = "notification"
    CONDITIONAL = "conditional"  # depends on a fact not given (paired code, place of service...)
    NOT_REQUIRED = "not_required"
    UNKNOWN = "unknown"  # no rule covers it: verify with the payer


# How strong an outcome is when several rules apply: the strongest certain one wins.
RANK: dict[str, int] = {
    Outcome.REQUIRED: 3,
    Outcome.NOTIFICATION: 2,
    Outcome.NOT_REQUIRED: 1,
    Decision.UNKNOWN: 0,
}

PLAN_TYPES: tuple[str, ...] = (
    "commercial",
    "medicare-advantage",
    "medicare-ffs",
    "medicaid",
    "medicaid-managed-care",
    "chip",
    "marketplace",
    "tricare",
)

# The payer's own words. Closed so that a typo in a pack is caught, open enough for real payers.
TERMS: tuple[str, ...] = (
    "precertification",
    "preauthorization",
    "prior authorization",
    "notification",
    "referral",
    "predetermination",
    "pre-service review",
    "pre-claim review",
)

REVIEWS: tuple[str, ...] = ("coverage", "medical_necessity", "both")

CHANNEL_TYPES: tuple[str, ...] = ("x12", "fhir-pas", "portal", "fax", "phone", "email")

# Care settings and the CMS places of service each one covers. A rule may be written either way;
# a service may be described either way; the engine reconciles the two through this table.
SETTING_POS: dict[str, frozenset[str]] = {
    "inpatient": frozenset({"21", "51", "61"}),
    "outpatient": frozenset({"19", "22"}),  # hospital outpatient department, off and on campus
    "office": frozenset({"11"}),
    "asc": frozenset({"24"}),
    "home": frozenset({"12"}),
    "snf": frozenset({"31", "32"}),
    "emergency": frozenset({"23"}),
    "telehealth": frozenset({"02", "10"}),
    "ambulance": frozenset({"41", "42"}),
}
SETTINGS: tuple[str, ...] = tuple(SETTING_POS)
POS_SETTING: dict[str, str] = {pos: s for s, codes in SETTING_POS.items() for pos in codes}

TURNAROUND_UNITS: tuple[str, ...] = ("hours", "calendar_days", "business_days")


@dataclass(frozen=True, slots=True)
class Channel:
    """One way to reach the payer for this rule: its type and where (URL, fax, phone, payer id)."""

    type: str
    address: str = ""
    note: str = ""
    pended: str = ""  # x12 / fhir-pas: "inquiry" or "subscription"

    def as_dict(self) -> dict[str, str]:
        out = {"type": self.type, "address": self.address}
        if self.note:
            out["note"] = self.note
        if self.pended:
            out["pended"] = self.pended
        return out


@dataclass(frozen=True, slots=True)
class Duration:
    """A turnaround time: an amount and its unit ('72 hours', '7 calendar days')."""

    amount: int
    unit: str

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


@dataclass(frozen=True, slots=True)
class Turnaround:
    """How long the payer takes to decide, standard and expedited."""

    standard: Duration | None = None
    expedited: Duration | None = None

    def as_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.standard:
            out["standard"] = str(self.standard)
        if self.expedited:
            out["expedited"] = str(self.expedited)
        return out


@dataclass(frozen=True, slots=True)
class Conditions:
    """Facts beyond code, place and date that decide whether a rule applies.

    Prefix lists for diagnoses ("M17" covers M17.11). `with_codes`: the rule applies only when one
    of these codes is billed in the same encounter (e.g. botulinum toxin J0585 with 64612).
    `units_over`: applies only when units/visits this year exceed N (therapy visit thresholds).
    """

    with_codes: frozenset[str] = frozenset()
    diagnoses_any: tuple[str, ...] = ()
    diagnoses_none: tuple[str, ...] = ()
    units_over: int | None = None
    min_age: int | None = None
    max_age: int | None = None
    network: str | None = None  # "in" or "out"

    def __bool__(self) -> bool:
        return bool(
            self.with_codes
            or self.diagnoses_any
            or self.diagnoses_none
            or self.units_over is not None
            or self.min_age is not None
            or self.max_age is not None
            or self.network
        )


@dataclass(frozen=True, slots=True)
class PayerRule:
    """One line of a payer's list, with everything a specialist needs to act on it."""

    id: str
    payer_id: str
    name: str
    codes: tuple[str, ...]  # exact codes, ranges expanded; empty when all_codes
    all_codes: bool = False
    plans: frozenset[str] | None = None
    pos: frozenset[str] | None = None
    settings: frozenset[str] | None = None
    states: frozenset[str] | None = None
    effective_from: dt.date | None = None
    effective_through: dt.date | None = None  # inclusive: the last date of service it covers
    conditions: Conditions = field(default_factory=Conditions)
    outcome: Outcome = Outcome.REQUIRED
    term: str = "prior authorization"
    reviews: str = "medical_necessity"
    documents: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    turnaround: Turnaround = field(default_factory=Turnaround)
    source: str = ""
    notes: str = ""


# Recovery deadlines when a pack says nothing (docs/payer-packs.md, "recovery"). The defaults are
# the short end of what payers allow, so a missed configuration makes work early, never late:
# 60 days is the Medicare Advantage reconsideration window (42 CFR 422.582) and the first-level
# appeal window of many commercial contracts; 14 days is a common notification window for an
# emergency service; 90 days the shortest usual timely-filing limit for a corrected claim.
DEFAULT_APPEAL_DAYS = 60
DEFAULT_RETRO_AUTHORIZATION_DAYS = 14
DEFAULT_CORRECTED_CLAIM_DAYS = 90
# Original Medicare (a pack whose plans include medicare-ffs): redetermination within 120 days of
# the initial determination (42 CFR 405.942), claims filed within one year of the date of service
# (42 CFR 424.44), and no retro-authorization (a prior-authorization UTN cannot be obtained after
# the service; the claim goes through pre-payment review instead).
MEDICARE_FFS_PLAN = "medicare-ffs"
MEDICARE_APPEAL_DAYS = 120
MEDICARE_RETRO_AUTHORIZATION_DAYS = 0
MEDICARE_CORRECTED_CLAIM_DAYS = 365


@dataclass(frozen=True, slots=True)
class RecoveryTerms:
    """How long after a denial each recovery stays possible, in calendar days.

    `appeal_days` counts from the remittance's payment date; `retro_authorization_days` from the
    date of service (0: the payer grants none); `corrected_claim_days` from the date of service
    (the payer's timely-filing limit, which a corrected claim must also meet)."""

    appeal_days: int = DEFAULT_APPEAL_DAYS
    retro_authorization_days: int = DEFAULT_RETRO_AUTHORIZATION_DAYS
    corrected_claim_days: int = DEFAULT_CORRECTED_CLAIM_DAYS


MEDICARE_RECOVERY = RecoveryTerms(
    MEDICARE_APPEAL_DAYS, MEDICARE_RETRO_AUTHORIZATION_DAYS, MEDICARE_CORRECTED_CLAIM_DAYS
)


def recovery_terms(pack: PayerPack | None) -> RecoveryTerms:
    """The pack's own `recovery:` terms, else Original Medicare's for a medicare-ffs pack, else
    the defaults (also for a payer with no pack)."""
    if pack is None:
        return RecoveryTerms()
    if pack.recovery is not None:
        return pack.recovery
    return MEDICARE_RECOVERY if MEDICARE_FFS_PLAN in pack.plans else RecoveryTerms()


@dataclass(frozen=True, slots=True)
class PayerPack:
    """One payer's configuration and rules, as loaded from its YAML pack."""

    id: str
    name: str
    version: str
    plans: tuple[str, ...]
    rules: tuple[PayerRule, ...]
    default_decision: Decision = Decision.UNKNOWN  # for a code no rule covers
    default_reason: str = ""
    synthetic: bool = False
    source: str = ""
    published: dt.date | None = None
    x12_payer_ids: tuple[str, ...] = ()
    contact: tuple[Channel, ...] = ()
    origin: str = "shipped"  # "shipped" with precert, or "imported" by this installation
    recovery: RecoveryTerms | None = None  # None: not configured (see recovery_terms)
