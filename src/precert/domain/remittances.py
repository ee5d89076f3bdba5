"""What an 835 remittance says, as values (Remittance, RemitClaim, RemitLine, Adjustment), and
which authorization problem each denial comes from (`classify`, `classify_line` -> DenialCause).

The 835 reader (channels/x12/tx835.py) makes these values; recovery work (services) uses the
cause to choose a corrected claim, a retro-authorization or an appeal. Pure values, no I/O, no
patient names. Amounts are Decimal. The code-to-cause tables are Python data because which cause
a code means is our judgment, not something the code lists say; the shipped lists
(data/reference/x12/*.csv) give the codes' text, and tests/unit/test_denials.py checks that every
authorization code in them has a cause here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0")


class DenialCause(StrEnum):
    """Why a claim or line was not paid as billed, as far as authorizations go."""

    AUTHORIZATION_ABSENT = "authorization_absent"  # no authorization (or its number) on file
    AUTHORIZATION_EXCEEDED = "authorization_exceeded"  # units/visits/days used up
    AUTHORIZATION_DENIED = "authorization_denied"  # the payer refused the authorization itself
    AUTHORIZATION_MISMATCH = "authorization_mismatch"  # an authorization, not for this service
    NOT_AUTHORIZATION = "not_authorization"  # denied or cut for another reason
    PAID = "paid"  # no denial


class AdjustmentGroup(StrEnum):
    """CAS01 claim adjustment group codes."""

    CO = "CO"  # contractual obligation: the provider writes it off
    PR = "PR"  # patient responsibility: deductible, coinsurance, copay
    OA = "OA"  # other adjustment
    PI = "PI"  # payer-initiated reduction
    CR = "CR"  # correction and reversal (deactivated in 5010, still seen)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CARC of a CAS segment (a CAS carries up to six reason/amount/quantity triplets)."""

    group: AdjustmentGroup
    reason: str  # CARC
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RemitLine:
    """One service payment (2110 loop): SVC with its dates, CAS, LQ*HE remarks and REFs.

    `code` is SVC01-2 with its qualifier (SVC01-1, "HC" for HCPCS/CPT) and modifiers (SVC01-3..6);
    `submitted_code` is SVC06 when the payer paid a different code than billed. `units` is SVC05
    (None when absent: the TR3 then means 1). `from_date`/`to_date` come from DTM*472 (both the same
    day) or DTM*150/151. `control_number` is REF*6R, our line item control number from the 837."""

    code: str
    charge: Decimal
    paid: Decimal
    qualifier: str = "HC"
    modifiers: tuple[str, ...] = ()
    revenue_code: str = ""  # SVC04 (institutional)
    units: Decimal | None = None
    submitted_code: str = ""
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()  # LQ*HE
    control_number: str = ""  # REF*6R
    authorization_numbers: tuple[str, ...] = ()  # REF*G1 / BB
    position: int = 0  # SVC's segment position in its transaction set


@dataclass(frozen=True, slots=True)
class RemitClaim:
    """One claim payment (2100 loop, CLP): what the payer did with one of our claims.

    `claim_id` is CLP01, the patient control number we sent (837 CLM01): it links the payment to
    our claim. `status` is CLP02 (1/2/3 processed as primary/secondary/tertiary, 4 denied, 19-21
    processed and forwarded, 22 reversal, 23 not our claim). `payer_claim_number` is CLP07.
    `remarks` are MOA (outpatient) and MIA (inpatient) remark codes; `authorization_numbers` the
    REF*G1 the payer echoes and `referral_numbers` REF*9F."""

    claim_id: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = ZERO
    filing_indicator: str = ""  # CLP06
    payer_claim_number: str = ""
    facility_code: str = ""  # CLP08
    frequency: str = ""  # CLP09
    member_id: str = ""  # NM1*IL NM109, else NM1*QC NM109
    from_date: dt.date | None = None  # DTM*232
    to_date: dt.date | None = None  # DTM*233
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    authorization_numbers: tuple[str, ...] = ()
    referral_numbers: tuple[str, ...] = ()
    lines: tuple[RemitLine, ...] = ()
    position: int = 0  # CLP's segment position in its transaction set

    @property
    def denied(self) -> bool:
        return self.status == "4"

    @property
    def reversal(self) -> bool:
        return self.status == "22"


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB adjustment (not tied to a claim): reason code, reference and amount."""

    reason: str
    reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction set: one payment (BPR/TRN) from one payer to one payee.

    `payer_id` is N1*PR N104 when the payer gave one (XV), else its REF*2U, else TRN03 (the
    payer's company id). `check_number` is TRN02 (a check or EFT trace number), `payment_date`
    BPR16, `production_date` DTM*405. `payee_id` is N1*PE N104 with `payee_id_qualifier`
    (XX: NPI, FI: tax id)."""

    payer_id: str
    payer_name: str
    payee_id: str
    payee_name: str
    check_number: str
    total_paid: Decimal | None
    claims: tuple[RemitClaim, ...]
    payee_id_qualifier: str = ""
    payment_method: str = ""  # BPR04: CHK, ACH, FWT, BOP, NON
    payment_date: dt.date | None = None
    production_date: dt.date | None = None
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    transaction: str = ""  # ST02

    @property
    def payee_npi(self) -> str | None:
        return self.payee_id if self.payee_id_qualifier == "XX" else None


# -- classification ----------------------------------------------------------------------------

# CARCs that name an authorization problem (pa_relevance "auth" or "referral" in carc.csv).
AUTHORIZATION_CARCS: dict[str, DenialCause] = {
    "15": DenialCause.AUTHORIZATION_ABSENT,  # number missing/invalid (deactivated, still sent)
    "38": DenialCause.AUTHORIZATION_ABSENT,  # not authorized by designated providers (deact.)
    "39": DenialCause.AUTHORIZATION_DENIED,
    "62": DenialCause.AUTHORIZATION_ABSENT,  # "absence of, or exceeded": a remark decides
    "165": DenialCause.AUTHORIZATION_ABSENT,  # referral absent or exceeded (deactivated)
    "197": DenialCause.AUTHORIZATION_ABSENT,
    "198": DenialCause.AUTHORIZATION_EXCEEDED,
    # Not obtained in time: there was no authorization when the service was given.
    "210": DenialCause.AUTHORIZATION_ABSENT,
    "243": DenialCause.AUTHORIZATION_ABSENT,  # not authorized by network/primary care provider
    "284": DenialCause.AUTHORIZATION_MISMATCH,  # valid number, other services
    "287": DenialCause.AUTHORIZATION_EXCEEDED,  # referral exceeded
    "288": DenialCause.AUTHORIZATION_ABSENT,  # referral absent
    "296": DenialCause.AUTHORIZATION_MISMATCH,  # valid number, other provider
    # Expired: an authorization exists but its window does not cover the service date.
    "302": DenialCause.AUTHORIZATION_MISMATCH,
}

# Remark codes that say which authorization problem it is. They count only on a line or claim
# that was actually denied or cut (a remark can ride on a paid claim as information).
AUTHORIZATION_RARCS: dict[str, DenialCause] = {
    "M62": DenialCause.AUTHORIZATION_ABSENT,  # missing/invalid authorization code
    "N54": DenialCause.AUTHORIZATION_MISMATCH,  # claim inconsistent with authorized services
    "N41": DenialCause.AUTHORIZATION_DENIED,
    "N175": DenialCause.AUTHORIZATION_ABSENT,  # missing review organization approval
    "N241": DenialCause.AUTHORIZATION_MISMATCH,  # invalid review organization approval
    "N188": DenialCause.AUTHORIZATION_MISMATCH,  # approved level of care != procedure
    "N351": DenialCause.AUTHORIZATION_MISMATCH,  # date outside the approved dates
    "N335": DenialCause.AUTHORIZATION_ABSENT,  # referral date missing/invalid
    "N475": DenialCause.AUTHORIZATION_ABSENT,  # referral form missing
    "N476": DenialCause.AUTHORIZATION_MISMATCH,  # referral form incomplete/invalid
    "N489": DenialCause.AUTHORIZATION_ABSENT,
    "N490": DenialCause.AUTHORIZATION_MISMATCH,
}

# Remarks that say "used up", but only next to an authorization CARC (alone they are limits).
EXCEEDED_RARCS = frozenset({"N362", "N435", "N640"})

# Remarks that name no cause by themselves: informational, or "resubmit"/"you may appeal".
NEUTRAL_RARCS = frozenset({"N45", "N758", "N210", "N517", "MA130", "N130", "N386"})

# CARC + RARC pairs that MACs document (denial_pairs_pa.csv), where the pair decides.
AUTHORIZATION_PAIRS: dict[tuple[str, str], DenialCause] = {
    ("197", "N210"): DenialCause.AUTHORIZATION_ABSENT,  # UTN not on the claim
    ("284", "N517"): DenialCause.AUTHORIZATION_MISMATCH,  # wrong UTN on the claim
    ("15", "N54"): DenialCause.AUTHORIZATION_MISMATCH,  # claim inconsistent with authorization
}

# Which cause wins when a claim has several: the payer's refusal of the authorization first
# (recovery is an appeal), then used-up units, a wrong authorization, a missing one.
_PRIORITY = (
    DenialCause.AUTHORIZATION_DENIED,
    DenialCause.AUTHORIZATION_EXCEEDED,
    DenialCause.AUTHORIZATION_MISMATCH,
    DenialCause.AUTHORIZATION_ABSENT,
    DenialCause.NOT_AUTHORIZATION,
    DenialCause.PAID,
)


def worst(causes: Iterable[DenialCause]) -> DenialCause:
    """The cause that decides the recovery when several apply (PAID when there are none)."""
    found = set(causes)
    return next((c for c in _PRIORITY if c in found), DenialCause.PAID)


def authorization_cause(carcs: Iterable[str], rarcs: Iterable[str]) -> DenialCause | None:
    """The authorization cause the codes of one denied line or claim name, None for none."""
    carc_set, rarc_set = set(carcs), set(rarcs)
    for (carc, rarc), cause in AUTHORIZATION_PAIRS.items():
        if carc in carc_set and rarc in rarc_set:
            return cause
    from_carcs = {AUTHORIZATION_CARCS[c] for c in carc_set if c in AUTHORIZATION_CARCS}
    from_rarcs = {AUTHORIZATION_RARCS[r] for r in rarc_set if r in AUTHORIZATION_RARCS}
    if from_carcs and rarc_set & EXCEEDED_RARCS and "62" in carc_set:
        from_carcs = (from_carcs - {DenialCause.AUTHORIZATION_ABSENT}) | {
            DenialCause.AUTHORIZATION_EXCEEDED
        }
    if DenialCause.AUTHORIZATION_MISMATCH in from_rarcs:
        # "Inconsistent with the authorization" is more precise than an absent-number CARC.
        from_carcs.discard(DenialCause.AUTHORIZATION_ABSENT)
    causes = from_carcs | from_rarcs
    return worst(causes) if causes else None


def _cut(adjustments: Iterable[Adjustment]) -> bool:
    """Did the payer deny or reduce (not just move money to the patient)?"""
    return any(a.group != AdjustmentGroup.PR and a.amount != ZERO for a in adjustments)


def _names_authorization(carcs: Iterable[str]) -> bool:
    return any(c in AUTHORIZATION_CARCS for c in carcs)


def _carcs(adjustments: Iterable[Adjustment]) -> list[str]:
    return [a.reason for a in adjustments if a.amount != ZERO]


def classify_line(line: RemitLine, claim: RemitClaim | None = None) -> DenialCause:
    """The cause for one service line; the claim's MOA/MIA remarks apply to each of its lines.

    A line is denied when the payer cut it to nothing (or denied the whole claim); a line the
    payer only reduced counts when an authorization CARC says why (CO-198 on some units), and
    is PAID otherwise. Remarks count on a denied line or next to an authorization CARC (on a
    paid line they are information). Money moved to the patient (PR) is no denial."""
    if claim is not None and claim.reversal:
        return DenialCause.PAID  # a reversal takes back an earlier payment; it denies nothing
    cut = _cut(line.adjustments)
    denied = (claim is not None and claim.denied) or (
        cut and line.paid == ZERO and line.charge != ZERO
    )
    if not (cut or denied):
        return DenialCause.PAID
    carcs = _carcs(line.adjustments)
    remarks = (*line.remarks, *(claim.remarks if claim is not None else ()))
    cause = authorization_cause(carcs, remarks if denied or _names_authorization(carcs) else ())
    if cause is not None:
        return cause
    return DenialCause.NOT_AUTHORIZATION if denied else DenialCause.PAID


def classify(claim: RemitClaim) -> DenialCause:
    """The cause for a whole claim: the worst of its lines' causes and of its own CAS and
    remarks (a claim without lines, as institutional claims often are, has only its own)."""
    if claim.reversal:
        return DenialCause.PAID
    causes = [classify_line(line, claim) for line in claim.lines]
    cut = _cut(claim.adjustments)
    denied = claim.denied or (
        claim.paid == ZERO
        and claim.charge != ZERO
        and (cut or any(_cut(line.adjustments) for line in claim.lines))
    )
    if cut or denied:
        carcs = _carcs(claim.adjustments)
        remarks = claim.remarks if denied or _names_authorization(carcs) else ()
        own = authorization_cause(carcs, remarks)
        if own is not None:
            causes.append(own)
        elif denied:
            causes.append(DenialCause.NOT_AUTHORIZATION)
    return worst(causes)
