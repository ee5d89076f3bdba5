"""The DMEPOS Required Prior Authorization List, 42 CFR 414.234: its phase-in (phase 1 states,
phase 2, nationwide), suspensions and removals, and the rules made from dmepos_required_pa.csv.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
    states_of,
)

DMEPOS_TURNAROUND = {"standard": "7 calendar days"}
DMEPOS_NOTES = (
    "42 CFR 414.234 Required Prior Authorization List, any place of service. Put the UTN on the "
    "claim. Review within 7 calendar days (CMS, requests from 2025-01-01; the earlier timeframe "
    "is not modelled)."
)

_PHASE_2 = re.compile(r"Phase 2 (\d{4}-\d{2}-\d{2}): ([A-Z]{2}(?:;[A-Z]{2})*)")
_DMEPOS_SAME = columns_key(
    "phase1_date", "phase1_states", "nationwide_date", "status", "end_date", "notes", "source"
)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One step of a DMEPOS phase-in: where (None: nationwide) and when (inclusive)."""

    label: str
    start: dt.date
    through: dt.date | None
    states: list[str] | None


def dmepos_rules(rows: list[Row]) -> list[Rule]:
    """Per group of items: a rule per phase still in force, then the suspension or removal."""
    rules: list[Rule] = []
    for category, groups in grouped(rows, "category", _DMEPOS_SAME):
        base = f"medicare-dmepos-{slug(category, keep_detail=True)}"
        for group in groups:
            rule_id = base if len(groups) == 1 else f"{base}-{group[0]['code'].lower()}"
            rules.extend(_dmepos_group_rules(rule_id, category, group))
    return rules


def dmepos_phases(row: Row) -> list[Phase]:
    """Phase 1 states, phase 2 (phase 1 + 2 states) if the notes give one, then nationwide.

    Each state phase runs until the day before the nationwide date (so phase 1 and phase 2 both
    answer for a phase-1 state during phase 2). A removed or suspended item ends every phase the
    day before its end date, and a phase that would only start on or after it is left out.
    """
    nationwide = dt.date.fromisoformat(row["nationwide_date"])
    phases: list[Phase] = []
    first = day(row["phase1_date"])
    if first is not None:
        first_states = states_of(row["phase1_states"])
        second = _PHASE_2.search(row["notes"])
        second_start = dt.date.fromisoformat(second.group(1)) if second else None
        phases.append(Phase("phase-1", first, nationwide - ONE_DAY, first_states))
        if second and second_start:
            both = sorted(set(first_states) | set(states_of(second.group(2))))
            phases.append(Phase("phase-2", second_start, nationwide - ONE_DAY, both))
    phases.append(Phase("nationwide", nationwide, None, None))
    end = day(row["end_date"])
    if end is None:
        return phases
    last = end - ONE_DAY
    return [
        dataclasses.replace(p, through=min(p.through or last, last))
        for p in phases
        if p.start < end
    ]


def _dmepos_group_rules(base: str, category: str, rows: list[Row]) -> list[Rule]:
    first = rows[0]
    codes = [r["code"] for r in rows]
    source = sources_of(rows)
    notes = caveats(rows, "notes")
    schedule = _dmepos_schedule(first)
    rules = [
        rule(
            f"{base}-{phase.label}",
            f"DMEPOS list: {category}, " + _phase_words(phase),
            codes,
            states=phase.states,
            effective_from=phase.start,
            effective_through=phase.through,
            documents=[MEDICAL_RECORDS],
            turnaround=DMEPOS_TURNAROUND,
            source=source,
            notes=sentence(DMEPOS_NOTES, schedule, *notes),
        )
        for phase in dmepos_phases(first)
    ]
    end = day(first["end_date"])
    if end is not None:
        status = first["status"] or "removed"
        rules.append(
            rule(
                f"{base}-{status}",
                f"DMEPOS list: {category}: prior authorization {status} from {end}",
                codes,
                outcome="not_required",
                effective_from=end,
                source=source,
                notes=sentence(schedule, *notes),
            )
        )
    return rules


def _phase_words(phase: Phase) -> str:
    if phase.states is None:
        return "nationwide"
    return f"{phase.label.replace('-', ' ')} ({listing(phase.states)})"


def _dmepos_schedule(row: Row) -> str:
    """'Phase 1 in IL, MO, NY and WV from 2017-03-20; nationwide from 2017-07-17.'"""
    steps = []
    if row["phase1_date"]:
        steps.append(
            f"phase 1 in {listing(states_of(row['phase1_states']))} from {row['phase1_date']}"
        )
        second = _PHASE_2.search(row["notes"])
        if second:
            steps.append(
                f"phase 2 adds {listing(states_of(second.group(2)))} from {second.group(1)}"
            )
    nationwide, end = row["nationwide_date"], row["end_date"]
    if end and nationwide >= end:  # ISO dates compare as text
        steps.append(f"nationwide was planned from {nationwide} but never started")
    else:
        steps.append(f"nationwide from {nationwide}")
    if end:
        steps.append(f"{row['status'] or 'removed'} from {end}")
    return sentence("; ".join(steps))
