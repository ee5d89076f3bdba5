"""The hospital outpatient department (OPD) list, 42 CFR 419.83: its constants and the rules made
from cms_opd_prior_auth.csv, including the rules for codes taken off the list.
"""

from __future__ import annotations

import re

from medicare_pack.common import (
    MEDICAL_RECORDS,
    ONE_DAY,
    Row,
    Rule,
    caveats,
    columns_key,
    day,
    grouped,
    listing,
    rule,
    sentence,
    slug,
    sources_of,
)

# 42 CFR 419.83: the OPD program covers the hospital outpatient department only (TOB 13X).
OPD_POS = ["19", "22"]
OPD_TURNAROUND = {"standard": "7 calendar days", "expedited": "2 business days"}
OPD_NOTES = (
    "42 CFR 419.83: hospital outpatient department only (POS 19 or 22, TOB 13X), not an ASC (24) "
    "or an office (11). Put the UTN from the decision on the claim; a provisional affirmation is "
    "valid 120 days. Standard review 7 calendar days (CMS, requests from 2025-01-01; the earlier "
    "timeframe is not modelled); expedited 2 business days."
)

_PAIRING = re.compile(r"^PA only when (?:billed|paired) with ([^;]*)")
_CODE = re.compile(r"\b(?:[A-Z]\d{4}|\d{5})\b")
_OPD_SAME = columns_key(
    "code_type", "effective_date", "end_date", "status", "pairing_rule", "notes", "source"
)


def opd_rules(rows: list[Row]) -> list[Rule]:
    """One rule per service category and shared attributes; removals get their own rules."""
    rules: list[Rule] = []
    for category, groups in grouped(rows, "service_category", _OPD_SAME):
        base = f"medicare-opd-{slug(category)}"
        for group in groups:
            rule_id = base if len(groups) == 1 else f"{base}-{group[0]['code'].lower()}"
            rules.extend(_opd_group_rules(rule_id, category, group))
    return rules


def _opd_group_rules(rule_id: str, category: str, rows: list[Row]) -> list[Rule]:
    first = rows[0]
    codes = [r["code"] for r in rows]
    start, end = day(first["effective_date"]), day(first["end_date"])
    source = sources_of(rows)
    notes = caveats(rows, "pairing_rule", "notes")
    name = f"Hospital OPD list: {category}"
    if start is None:  # taken off the list before the program's first day
        return [
            rule(
                f"{rule_id}-never-required",
                f"{name}: {listing(codes)} removed before the program started; never required",
                codes,
                outcome="not_required",
                source=source,
                notes=sentence(*notes),
            )
        ]
    paired = _pairing_codes(first["pairing_rule"])
    required = rule(
        rule_id,
        name,
        codes,
        pos=OPD_POS,
        effective_from=start,
        effective_through=end - ONE_DAY if end else None,
        when={"with_codes": paired} if paired else None,
        documents=[MEDICAL_RECORDS],
        turnaround=OPD_TURNAROUND,
        source=source,
        notes=sentence(OPD_NOTES, *notes),
    )
    if end is None:
        return [required]
    removed = rule(
        f"{rule_id}-removed",
        f"{name}: {listing(codes)} removed from the list from {end}",
        codes,
        outcome="not_required",
        effective_from=end,
        source=source,
        notes=sentence(*notes),
    )
    return [required, removed]


def _pairing_codes(text: str) -> list[str]:
    """'PA only when billed with one of J0585/J0586' -> the codes; other wording is a note."""
    match = _PAIRING.match(text.strip())
    return sorted(set(_CODE.findall(match.group(1)))) if match else []
