"""What every CMS list shares: the CSV files and their columns, reading (and refreshing) them with
errors that name the file, line and column, date and text helpers, and `rule`, which lays out one
pack rule. Anything that only one list needs belongs in that list's module.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

OPD_CSV = "cms_opd_prior_auth.csv"
DMEPOS_CSV = "dmepos_required_pa.csv"
WISER_CSV = "wiser_2026.csv"
WISER_STATES_CSV = "wiser_states.csv"
RSNAT_CSV = "rsnat_ambulance.csv"
CSV_FILES = (OPD_CSV, DMEPOS_CSV, WISER_CSV, WISER_STATES_CSV, RSNAT_CSV)

Row = dict[str, str]
Rule = dict[str, Any]
ONE_DAY = dt.timedelta(days=1)

MEDICAL_RECORDS = "medical records supporting medical necessity"
SECONDARY_NOTE = "Source marked secondary in SOURCES.md: verify against the CMS list."

# The columns each list must have; the date columns are checked on every row.
_COLUMNS = {
    OPD_CSV: "code service_category code_type status pairing_rule notes source".split(),
    DMEPOS_CSV: "code category phase1_states status notes source".split(),
    WISER_CSV: "code service coverage_policy condition status states source".split(),
    WISER_STATES_CSV: "state mac_jurisdiction mac wiser_participant source".split(),
    RSNAT_CSV: "state pa_codes notes source".split(),
}
_DATE_COLUMNS = {
    OPD_CSV: ["effective_date", "end_date"],
    DMEPOS_CSV: ["phase1_date", "nationwide_date", "end_date"],
    WISER_CSV: ["effective_from", "model_end"],
    WISER_STATES_CSV: [],
    RSNAT_CSV: ["start_date"],
}


class GenerateError(Exception):
    """A problem with the CSVs or the arguments, told to the person running the script."""


# -- the CSV files ------------------------------------------------------------------------------


def read_rows(data_dir: Path, name: str) -> list[Row]:
    """The rows of one CSV, with every date column checked (YYYY-MM-DD or empty)."""
    path = data_dir / name
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise GenerateError(f"{path}: missing; copy it in with --refresh-from DIR") from None
    reader = csv.DictReader(text.splitlines())
    missing = [
        c for c in _COLUMNS[name] + _DATE_COLUMNS[name] if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise GenerateError(f"{name}: missing the column(s) {', '.join(missing)}")
    rows = list(reader)
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        for column in _DATE_COLUMNS[name]:
            value = row[column] or ""
            if value and not _is_date(value):
                raise GenerateError(f"{name}: line {number}: {column}: {value!r} is not YYYY-MM-DD")
    return rows


def refresh(source: Path, data_dir: Path) -> None:
    """Copy the five CSVs byte for byte; nothing is copied if one is missing."""
    missing = [name for name in CSV_FILES if not (source / name).is_file()]
    if missing:
        raise GenerateError(f"{source}: missing {', '.join(missing)}; nothing was copied")
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in CSV_FILES:
        partial = data_dir / f".{name}.partial"
        shutil.copyfile(source / name, partial)
        os.replace(partial, data_dir / name)  # the package copies may be read-only files


# -- dates and cells ----------------------------------------------------------------------------


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def day(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def states_of(value: str) -> list[str]:
    return sorted({s.strip() for s in value.split(";") if s.strip()})


def sources_of(rows: Iterable[Row]) -> str:
    """Every source URL of the rows, once each, in file order."""
    parts = [p.strip() for row in rows for p in row["source"].split(" ; ")]
    return " ; ".join(dict.fromkeys(p for p in parts if p))


def caveats(rows: Sequence[Row], *columns: str) -> list[str]:
    """The CSV's own notes for these rows, plus a warning when a source is only secondary."""
    texts = [row[c].strip() for row in rows for c in columns if row[c].strip()]
    found = list(dict.fromkeys(texts))
    secondary = any("secondary" in row["source"] for row in rows)
    if secondary and not any("secondary" in t for t in found):
        found.append(SECONDARY_NOTE)
    return found


def grouped(
    rows: Iterable[Row], category: str, key: Callable[[Row], Hashable]
) -> list[tuple[str, list[list[Row]]]]:
    """Rows by category (file order), each split into groups that share every attribute."""
    out: dict[str, dict[Hashable, list[Row]]] = {}
    for row in rows:
        out.setdefault(row[category], {}).setdefault(key(row), []).append(row)
    return [(name, list(groups.values())) for name, groups in out.items()]


def columns_key(*columns: str) -> Callable[[Row], Hashable]:
    return lambda row: tuple(row[c] for c in columns)


# -- ids, names and notes -----------------------------------------------------------------------

_CUT = re.compile(r",| and related services")
_CUT_DETAIL = re.compile(r",| and related services| \(| for ")
_STOPWORDS = {"and", "of", "for", "with", "the"}


def slug(text: str, *, keep_detail: bool = False) -> str:
    """A short id fragment: 'Vein ablation and related services' -> 'vein-ablation'."""
    head = (_CUT if keep_detail else _CUT_DETAIL).split(text, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", head.lower())[:6]
    while words and words[-1] in _STOPWORDS:
        words.pop()
    return "-".join(words)


def sentence(*parts: str) -> str:
    """Parts joined as sentences: 'postponed from rollout' -> 'Postponed from rollout.'"""
    texts = (p[0].upper() + p[1:] for p in parts if p)
    return " ".join(t if t.endswith(".") else t + "." for t in texts)


def listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def rule(
    rule_id: str,
    name: str,
    codes: Iterable[str],
    *,
    source: str,
    notes: str,
    outcome: str = "required",
    **fields: Any,
) -> Rule:
    """One pack rule with its keys in a fixed, readable order; empty fields are left out."""
    order = ("pos", "states", "effective_from", "effective_through", "when")
    tail = ("documents", "channels", "turnaround")
    out: Rule = {"id": rule_id, "name": name, "codes": sorted(codes)}
    out.update({k: fields[k] for k in order if fields.get(k) is not None})
    out["outcome"] = outcome
    out.update({k: fields[k] for k in tail if fields.get(k) is not None})
    out["source"] = source
    out["notes"] = notes
    return out
