"""Generate the Medicare FFS payer pack from the CMS prior-authorization lists shipped with precert.

Reads the package copies of the CMS CSVs (src/precert/data/reference/cms/) and writes
src/precert/data/packs/medicare.yaml deterministically: the same CSVs always give the same bytes.
One function per list (hospital OPD, DMEPOS, WISeR, repetitive ambulance) turns rows into rules;
docs/medicare-pack.md explains the semantics and the caveats of each list.

    .venv/bin/python scripts/generate_medicare_pack.py             # regenerate the pack
    .venv/bin/python scripts/generate_medicare_pack.py --check     # is the committed pack current?
    .venv/bin/python scripts/generate_medicare_pack.py --refresh-from ../shared/refdata
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import difflib
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from precert.domain.packs import parse_pack
from precert.errors import InvalidInput

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "src" / "precert" / "data" / "reference" / "cms"
PACK_PATH = REPO / "src" / "precert" / "data" / "packs" / "medicare.yaml"
REGENERATE = ".venv/bin/python scripts/generate_medicare_pack.py"

OPD_CSV = "cms_opd_prior_auth.csv"
DMEPOS_CSV = "dmepos_required_pa.csv"
WISER_CSV = "wiser_2026.csv"
WISER_STATES_CSV = "wiser_states.csv"
RSNAT_CSV = "rsnat_ambulance.csv"
CSV_FILES = (OPD_CSV, DMEPOS_CSV, WISER_CSV, WISER_STATES_CSV, RSNAT_CSV)

Row = dict[str, str]
Rule = dict[str, Any]
ONE_DAY = dt.timedelta(days=1)

# 42 CFR 419.83: the OPD program covers the hospital outpatient department only (TOB 13X).
OPD_POS = ["19", "22"]
# WISeR: office, home, hospital outpatient (TOB 13X) and ASC (SOURCES.md, Noridian/Katten).
WISER_POS = ["11", "12", "19", "22", "24"]
# The model's first day (SOURCES.md); postponed rows carry no date of their own.
WISER_START = dt.date(2026, 1, 1)

MEDICAL_RECORDS = "medical records supporting medical necessity"
MAC_CHANNELS = [
    {"type": "portal", "note": "the MAC's provider portal or esMD"},
    {"type": "fax", "note": "the MAC's prior-authorization fax"},
]
OPD_TURNAROUND = {"standard": "7 calendar days", "expedited": "2 business days"}
DMEPOS_TURNAROUND = {"standard": "7 calendar days"}

DEFAULT_REASON = (
    "Medicare FFS requires prior authorization only for services on CMS's prior-authorization "
    "lists (hospital OPD, DMEPOS, WISeR, repetitive ambulance); {code} is not on any of them for "
    "this date, place and state."
)
PACK_SOURCE = (
    "https://www.cms.gov/research-statistics-data-systems/medicare-fee-service-compliance-programs"
    "/prior-authorization-and-pre-claim-review-initiatives ; CMS lists as collected in "
    "src/precert/data/reference/cms (see docs/medicare-pack.md)"
)
OPD_NOTES = (
    "42 CFR 419.83: hospital outpatient department only (POS 19 or 22, TOB 13X), not an ASC (24) "
    "or an office (11). Put the UTN from the decision on the claim; a provisional affirmation is "
    "valid 120 days. Standard review 7 calendar days (CMS, requests from 2025-01-01; the earlier "
    "timeframe is not modelled); expedited 2 business days."
)
DMEPOS_NOTES = (
    "42 CFR 414.234 Required Prior Authorization List, any place of service. Put the UTN on the "
    "claim. Review within 7 calendar days (CMS, requests from 2025-01-01; the earlier timeframe "
    "is not modelled)."
)
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
RSNAT_NOTES = (
    "Repetitive, scheduled non-emergent ambulance transport model: only repetitive transports "
    "(3 or more round trips in 10 days, or at least 1 round trip a week for at least 3 weeks); "
    "an approval covers up to 40 round trips in 60 days. A0425 (mileage) is an associated "
    "service and needs no prior authorization."
)
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
_PAIRING = re.compile(r"^PA only when (?:billed|paired) with ([^;]*)")
_CODE = re.compile(r"\b(?:[A-Z]\d{4}|\d{5})\b")
_ONLY_WITH = re.compile(r"\b(\w{5}) only when billed with (\w{5})\b")
_NOT_WITH_DX = re.compile(r"\bnot when billed with ([A-Z]\d{2}(?:\.\w{1,4})?)")
_PHASE_2 = re.compile(r"Phase 2 (\d{4}-\d{2}-\d{2}): ([A-Z]{2}(?:;[A-Z]{2})*)")


class GenerateError(Exception):
    """A problem with the CSVs or the arguments, told to the person running the script."""


# -- reading the CSVs ---------------------------------------------------------------------------


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


# -- hospital outpatient department (42 CFR 419.83) ---------------------------------------------

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


# -- DMEPOS Required Prior Authorization List (42 CFR 414.234) ----------------------------------

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


# -- WISeR model (CMS Innovation Center, 2026-2031) ---------------------------------------------


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


# -- repetitive, scheduled non-emergent ambulance transport (RSNAT) -----------------------------


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


# -- the pack -----------------------------------------------------------------------------------


def build_rules(data_dir: Path) -> list[Rule]:
    rules = [
        *opd_rules(read_rows(data_dir, OPD_CSV)),
        *dmepos_rules(read_rows(data_dir, DMEPOS_CSV)),
        *wiser_rules(read_rows(data_dir, WISER_CSV), read_rows(data_dir, WISER_STATES_CSV)),
        *rsnat_rules(read_rows(data_dir, RSNAT_CSV)),
    ]
    seen: set[str] = set()
    for r in rules:
        if r["id"] in seen:
            raise GenerateError(f"two rules would share the id {r['id']!r}; refine the grouping")
        seen.add(r["id"])
    return rules


def pack_version(data_dir: Path, rules: list[Rule]) -> str:
    """The newest start date in the lists plus a digest of the CSVs: any data change shows."""
    digest = hashlib.sha256()
    for name in CSV_FILES:
        digest.update((data_dir / name).read_bytes())
    newest = max(r["effective_from"] for r in rules if "effective_from" in r)
    return f"{newest:%Y.%m.%d}-{digest.hexdigest()[:8]}"


def pack_document(rules: list[Rule], version: str) -> Rule:
    return {
        "payer": {
            "id": "medicare",
            "name": "Medicare fee-for-service (CMS)",
            "plans": ["medicare-ffs"],
            "x12_payer_ids": [],  # the MACs' payer ids come with a later, sourced change
        },
        "version": version,
        "source": PACK_SOURCE,
        "default": {"decision": "not_required", "reason": DEFAULT_REASON},
        "defaults": {
            "term": "prior authorization",
            "reviews": "medical_necessity",
            "channels": MAC_CHANNELS,
        },
        "rules": rules,
    }


HEADER = """\
# Medicare fee-for-service (CMS): prior authorization for the services on CMS's lists.
# GENERATED by scripts/generate_medicare_pack.py from src/precert/data/reference/cms/*.csv;
# do not edit by hand (docs/medicare-pack.md explains the rules and the sources' caveats).
# Regenerate:            .venv/bin/python scripts/generate_medicare_pack.py
# Refresh the CSVs too:  .venv/bin/python scripts/generate_medicare_pack.py --refresh-from DIR
# Check it is current:   .venv/bin/python scripts/generate_medicare_pack.py --check
"""


class _Dumper(yaml.SafeDumper):
    """Block mappings, one-line lists of plain values, no anchors: a pack people can read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def render_pack(data_dir: Path) -> str:
    """The pack's text, validated by the same parser precert loads it with."""
    rules = build_rules(data_dir)
    document = pack_document(rules, pack_version(data_dir, rules))
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    text = HEADER + "precert-pack: 1\n" + body.replace("\n- id: ", "\n\n- id: ")
    try:
        parse_pack(text, "medicare.yaml")
    except InvalidInput as exc:
        raise GenerateError(f"the generated pack does not validate: {exc.message}") from None
    return text


# -- command line -------------------------------------------------------------------------------


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


def check(expected: str, pack: Path) -> int:
    """0 when the pack on disk is what the CSVs generate; else 1 with the first differences."""
    try:
        current = pack.read_text("utf-8")
    except FileNotFoundError:
        print(f"{pack} does not exist; generate it with: {REGENERATE}", file=sys.stderr)
        return 1
    if current == expected:
        print(f"{pack.name} is up to date with the CMS CSVs.")
        return 0
    print(
        f"{pack} is out of date: it differs from what scripts/generate_medicare_pack.py "
        f"generates from the CMS CSVs. Do not edit it by hand; regenerate it with: {REGENERATE}",
        file=sys.stderr,
    )
    diff = difflib.unified_diff(
        current.splitlines(), expected.splitlines(), "on disk", "generated", lineterm="", n=1
    )
    print("\n".join(list(diff)[:40]), file=sys.stderr)
    return 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate the Medicare FFS payer pack from the CMS prior-authorization CSVs."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the pack differs from what would be generated",
    )
    parser.add_argument(
        "--refresh-from",
        type=Path,
        metavar="DIR",
        help="first copy the CSVs from DIR (e.g. ../shared/refdata) into the package",
    )
    parser.add_argument("--pack", type=Path, default=PACK_PATH, help="the pack file to write")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="the package copies of the CSVs"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.refresh_from is not None:
            refresh(args.refresh_from, args.data_dir)
        text = render_pack(args.data_dir)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return check(text, args.pack)
    args.pack.write_text(text, "utf-8")
    count = text.count("\n- id: ")
    print(f"wrote {args.pack} ({count} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
