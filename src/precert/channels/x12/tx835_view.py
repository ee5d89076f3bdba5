"""The JSON shape of 835 remittances as `precert remits import` and POST /api/v1/remits show them
(`remittance_view`), with the CARC and RARC texts people read (`code_descriptions`).

The reader is tx835.py; this module only presents its values: amounts as exact strings, dates ISO,
no patient names (member ids are shown: the file's owner reads them).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib import resources

from precert.channels.x12.tx835 import CLAIM_STATUSES
from precert.domain.remittances import (
    ZERO,
    Adjustment,
    DenialCause,
    RemitClaim,
    RemitLine,
    Remittance,
    classify,
    classify_line,
)


@cache
def code_descriptions() -> dict[str, str]:
    """CARC and RARC texts from the shipped lists (data/reference/x12), for people to read.
    A RARC and a CARC never share a value (RARCs start with a letter and a digit or two)."""
    folder = resources.files("precert.data.reference").joinpath("x12")
    found: dict[str, str] = {}
    for name in ("carc.csv", "rarc_auth.csv"):
        text = folder.joinpath(name).read_text("utf-8")
        found.update((row["code"], row["description"]) for row in csv.DictReader(text.splitlines()))
    return found


def remittance_view(
    remittance: Remittance, *, descriptions: Mapping[str, str] | None = None
) -> dict[str, object]:
    """The JSON shape of one remittance (amounts as strings, exact; dates ISO; no patient names).
    `descriptions` (e.g. `code_descriptions()`) adds each code's text."""
    texts = descriptions or {}
    claims = [_claim_view(c, texts) for c in remittance.claims]
    causes = [str(c["cause"]) for c in claims]
    return {
        "transaction": remittance.transaction,
        "payer": {"id": remittance.payer_id, "name": remittance.payer_name},
        "payee": {
            "id": remittance.payee_id,
            "id_qualifier": remittance.payee_id_qualifier,
            "npi": remittance.payee_npi,
            "name": remittance.payee_name,
        },
        "payment": {
            "check_number": remittance.check_number,
            "method": remittance.payment_method,
            "amount": _text(remittance.total_paid),
            "date": _day(remittance.payment_date),
            "production_date": _day(remittance.production_date),
        },
        "claims": claims,
        "provider_adjustments": [
            {"reason": p.reason, "reference": p.reference, "amount": str(p.amount)}
            for p in remittance.provider_adjustments
        ],
        "summary": {
            "claims": len(claims),
            "denied": sum(c != DenialCause.PAID for c in causes),
            "authorization_related": sum(c.startswith("authorization_") for c in causes),
            "charged": str(sum((c.charge for c in remittance.claims), ZERO)),
            "paid": str(sum((c.paid for c in remittance.claims), ZERO)),
        },
    }


def _claim_view(claim: RemitClaim, texts: Mapping[str, str]) -> dict[str, object]:
    return {
        "claim_id": claim.claim_id,
        "status": claim.status,
        "status_text": CLAIM_STATUSES.get(claim.status, ""),
        "cause": classify(claim).value,
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "patient_responsibility": str(claim.patient_responsibility),
        "payer_claim_number": claim.payer_claim_number,
        "member_id": claim.member_id,
        "from": _day(claim.from_date),
        "to": _day(claim.to_date),
        "adjustments": [_adjustment_view(a, texts) for a in claim.adjustments],
        "remarks": [_code_view(r, texts) for r in claim.remarks],
        "authorization_numbers": list(claim.authorization_numbers),
        "referral_numbers": list(claim.referral_numbers),
        "lines": [_line_view(line, claim, texts) for line in claim.lines],
        "segment": claim.position,
    }


def _line_view(line: RemitLine, claim: RemitClaim, texts: Mapping[str, str]) -> dict[str, object]:
    return {
        "code": line.code,
        "qualifier": line.qualifier,
        "modifiers": list(line.modifiers),
        "charge": str(line.charge),
        "paid": str(line.paid),
        "units": _text(line.units),
        "from": _day(line.from_date),
        "to": _day(line.to_date),
        "control_number": line.control_number,
        "cause": classify_line(line, claim).value,
        "adjustments": [_adjustment_view(a, texts) for a in line.adjustments],
        "remarks": [_code_view(r, texts) for r in line.remarks],
        "authorization_numbers": list(line.authorization_numbers),
        "segment": line.position,
    }


def _adjustment_view(adjustment: Adjustment, texts: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {
        "group": adjustment.group.value,
        "reason": adjustment.reason,
        "amount": str(adjustment.amount),
        "quantity": _text(adjustment.quantity),
    }
    if adjustment.reason in texts:
        out["description"] = texts[adjustment.reason]
    return out


def _code_view(code: str, texts: Mapping[str, str]) -> dict[str, str]:
    return {"code": code, "description": texts[code]} if code in texts else {"code": code}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()
