"""The repetitive, scheduled non-emergent ambulance transport (RSNAT) model: one rule per start
date, made from rsnat_ambulance.csv.
"""

from __future__ import annotations

import datetime as dt

from medicare_pack.common import (
    MEDICAL_RECORDS,
    Row,
    Rule,
    caveats,
    rule,
    sentence,
    sources_of,
    states_of,
)

RSNAT_NOTES = (
    "Repetitive, scheduled non-emergent ambulance transport model: only repetitive transports "
    "(3 or more round trips in 10 days, or at least 1 round trip a week for at least 3 weeks); "
    "an approval covers up to 40 round trips in 60 days. A0425 (mileage) is an associated "
    "service and needs no prior authorization."
)


def rsnat_rules(rows: list[Row]) -> list[Rule]:
    """One rule per start date with the states that start on it (and their codes)."""
    waves: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        waves.setdefault((row["start_date"], row["pa_codes"]), []).append(row)
    rules = []
    for (start, pa_codes), group in sorted(waves.items()):
        states = states_of(";".join(r["state"] for r in group))
        rules.append(
            rule(
                f"medicare-rsnat-{start}",
                f"Repetitive scheduled non-emergent ambulance: states starting {start}",
                states_of(pa_codes),
                states=states,
                effective_from=dt.date.fromisoformat(start),
                documents=[MEDICAL_RECORDS],
                source=sources_of(group),
                notes=sentence(RSNAT_NOTES, *caveats(group, "notes")),
            )
        )
    return rules
