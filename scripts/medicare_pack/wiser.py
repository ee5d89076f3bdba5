"""The WISeR model (CMS Innovation Center, 2026-2031): the rules made from wiser_2026.csv, the
conditions its free text states, and the channel built from the state participants in
wiser_states.csv. Postponed services answer not_required.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable

from medicare_pack.common import (
    MEDICAL_RECORDS,
    WISER_CSV,
    GenerateError,
    Row,
    Rule,
    caveats,
    grouped,
    listing,
    rule,
    sentence,
    slug,
    sources_of,
    states_of,
)

# WISeR: office, home, hospital outpatient (TOB 13X) and ASC (SOURCES.md, Noridian/Katten).
WISER_POS = ["11", "12", "19", "22", "24"]
# The model's first day (SOURCES.md); postponed rows carry no date of their own.
WISER_START = dt.date(2026, 1, 1)

WISER_NOTES = (
    "WISeR model (CMS Innovation Center) in {states} through {end}. Ask the state's WISeR "
    "participant (see channels) for prior authorization, or the claim goes to pre-payment review; "
    "an approval is valid 120 days. Requests were accepted from 2026-01-05 for services on or "
    "after 2026-01-15 (Katten, ASA)."
)
WISER_POSTPONED_NOTES = (
    "No start date is published in our sources: not required under WISeR until CMS sets one; "
    "re-check the WISeR Operational Guide."
)

_ONLY_WITH = re.compile(r"\b(\w{5}) only when billed with (\w{5})\b")
_NOT_WITH_DX = re.compile(r"\bnot when billed with ([A-Z]\d{2}(?:\.\w{1,4})?)")


def wiser_rules(rows: list[Row], participants: list[Row]) -> list[Rule]:
    """One rule per service and shared attributes; postponed services answer not_required."""
    channel = wiser_channel(participants)
    known = {p["state"] for p in participants}
    rules: list[Rule] = []
    for service, groups in grouped(rows, "service", _wiser_key):
        base = f"medicare-wiser-{slug(service)}"
        for group in groups:
            unknown = set(states_of(group[0]["states"])) - known
            if unknown:
                raise GenerateError(f"{WISER_CSV}: {service}: no participant row for {unknown}")
            rule_id = base if len(groups) == 1 else f"{base}-{group[0]['code'].lower()}"
            rules.append(_wiser_group_rule(rule_id, service, group, channel))
    return rules


def _wiser_key(row: Row) -> Hashable:
    fields = ("coverage_policy", "condition", "effective_from", "model_end", "status", "states")
    return (*(row[f] for f in fields), row["source"], repr(wiser_when(row)))


def wiser_when(row: Row) -> dict[str, list[str]] | None:
    """The conditions a WISeR row's free text states for its own code, in pack form."""
    text = row["condition"]
    paired = _ONLY_WITH.search(text)
    if paired and paired.group(1) == row["code"]:
        return {"with_codes": [paired.group(2)]}
    excluded = _NOT_WITH_DX.search(text)
    if excluded:
        return {"diagnoses_none": [excluded.group(1)]}
    return None


def _wiser_group_rule(rule_id: str, service: str, rows: list[Row], channel: Rule) -> Rule:
    first = rows[0]
    codes = [r["code"] for r in rows]
    states = states_of(first["states"])
    end = dt.date.fromisoformat(first["model_end"])
    if first["status"] == "postponed":
        return rule(
            f"{rule_id}-postponed",
            f"WISeR model: {service}: postponed from the initial rollout; not yet required",
            codes,
            outcome="not_required",
            states=states,
            effective_from=WISER_START,
            effective_through=end,
            source=sources_of(rows),
            notes=sentence(*caveats(rows, "condition"), WISER_POSTPONED_NOTES),
        )
    notes = [WISER_NOTES.format(states=listing(states), end=end), *caveats(rows, "condition")]
    policy = first["coverage_policy"]
    return rule(
        rule_id,
        f"WISeR model: {service}",
        codes,
        pos=WISER_POS,
        states=states,
        effective_from=dt.date.fromisoformat(first["effective_from"]),
        effective_through=end,
        when=wiser_when(first),
        documents=[f"{MEDICAL_RECORDS} under {policy}" if policy else MEDICAL_RECORDS],
        channels=[channel],
        source=sources_of(rows),
        notes=sentence(*notes),
    )


def wiser_channel(participants: list[Row]) -> Rule:
    """Where a WISeR request goes: the state's participant (and the MAC for pre-payment review)."""
    entries = []
    for p in sorted(participants, key=lambda p: p["state"]):
        unverified = " (unverified)" if "public repo note" in p["source"] else ""
        entries.append(
            f"{p['state']}: {p['wiser_participant']}{unverified}, "
            f"MAC {p['mac']} {p['mac_jurisdiction']}"
        )
    return {"type": "portal", "note": "the state's WISeR participant - " + "; ".join(entries)}
