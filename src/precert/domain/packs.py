"""Payer rule packs: the YAML schema, its validation, and the conversion to `PayerPack`.

A pack is text; reading files is the caller's job. Every problem is reported at once, located by
file, rule id and field, with what is accepted ("acme.yaml: rule acme-mri-brain: pos[1]: '99x' is
not a CMS place-of-service code"). Schema version: `precert-pack: 1`. See docs/payer-packs.md.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from precert.domain import codes
from precert.domain.rules import (
    CHANNEL_TYPES,
    DEFAULT_APPEAL_DAYS,
    DEFAULT_CORRECTED_CLAIM_DAYS,
    DEFAULT_RETRO_AUTHORIZATION_DAYS,
    PLAN_TYPES,
    REVIEWS,
    SETTINGS,
    TERMS,
    TURNAROUND_UNITS,
    Channel,
    Conditions,
    Decision,
    Duration,
    Outcome,
    PayerPack,
    PayerRule,
    RecoveryTerms,
    Turnaround,
)
from precert.errors import InvalidInput, Issue

SCHEMA_VERSION = 1
# A CPT range wider than this is almost always a typo (70551-75053 for 70551-70553); a whole HCPCS
# letter block (A0000-A9999) still fits. Use `codes: ['*']` for "every code".
MAX_RANGE = 10_000
# Every code of every rule, after ranges are expanded: a guard against a pack that would exhaust
# memory when indexed (real payer lists hold a few thousand codes).
MAX_PACK_CODES = 1_000_000
_ID = r"^[a-z0-9][a-z0-9._-]{0,79}$"
_DX_PREFIX = re.compile(r"^[A-Z]\d[0-9A-Z]?(\.[0-9A-Z]{0,4})?$")
_DURATION = re.compile(
    r"^\s*(\d{1,4})\s*(hours?|calendar days?|business days?|days?)\s*$", re.IGNORECASE
)


class _Loader(yaml.SafeLoader):
    """YAML without implicit numbers or timestamps, and with unique keys.

    CPT 00100 must stay 00100 (not octal 64) and version 2026.10 a string; dates stay text so that
    the schema, not the YAML library, reports 2026-02-30 with its field. A key written twice in one
    mapping would silently drop the first value (a rule's codes, say), so it is refused.
    """

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                continue
            if key.value in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key.value!r} appears twice in one mapping",
                    key.start_mark,
                )
            seen.add(key.value)
        return node


_MERGE_TAG = "tag:yaml.org,2002:merge"
_IMPLICIT_TEXT = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in _IMPLICIT_TEXT]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChannelSpec(_Strict):
    type: Literal["x12", "fhir-pas", "portal", "fax", "phone", "email"]
    address: str = ""
    note: str = ""
    # Electronic channels only: how a pended decision comes back besides the scheduled inquiry.
    pended: Literal["inquiry", "subscription"] | None = None

    @model_validator(mode="after")
    def _pended_is_electronic(self) -> ChannelSpec:
        if self.pended is not None and self.type not in ("x12", "fhir-pas"):
            raise ValueError(
                f"'pended' is for x12 and fhir-pas channels; a {self.type} channel has no "
                "electronic answer to wait for"
            )
        if self.pended == "subscription" and self.type != "fhir-pas":
            raise ValueError("pended: subscription needs a fhir-pas channel (X12 has none)")
        return self


class TurnaroundSpec(_Strict):
    standard: str | None = None
    expedited: str | None = None

    @field_validator("standard", "expedited")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _DURATION.match(value):
            raise ValueError(
                f"{value!r} is not a turnaround; write e.g. '72 hours', '7 calendar days' "
                "or '2 business days'"
            )
        return value


class ConditionsSpec(_Strict):
    with_codes: list[str] = []
    diagnoses_any: list[str] = []
    diagnoses_none: list[str] = []
    units_over: int | None = Field(default=None, ge=0)
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    network: Literal["in", "out"] | None = None


class _RuleFields(_Strict):
    """Fields a rule may set and a pack's `defaults` may provide for every rule."""

    term: str | None = None
    reviews: Literal["coverage", "medical_necessity", "both"] | None = None
    documents: list[str] | None = None
    channels: list[ChannelSpec] | None = None
    turnaround: TurnaroundSpec | None = None
    source: str | None = None


class RuleSpec(_RuleFields):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    codes: list[str] = Field(min_length=1)
    plans: list[str] | None = None
    pos: list[str] | None = None
    settings: list[str] | None = None
    states: list[str] | None = None
    effective_from: dt.date | None = None
    effective_through: dt.date | None = None
    when: ConditionsSpec | None = None
    outcome: Literal["required", "notification", "not_required"] = "required"
    notes: str = ""


class PayerSpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    synthetic: bool = False
    plans: list[str] = Field(min_length=1)
    x12_payer_ids: list[str] = []
    contact: list[ChannelSpec] = []


class DefaultDecisionSpec(_Strict):
    decision: Literal["unknown", "not_required"] = "unknown"
    reason: str = ""

    @field_validator("reason")
    @classmethod
    def _template(cls, value: str) -> str:
        if not _names_only_code_and_payer(value):
            raise ValueError(
                "may name only {code} and {payer} in braces (write {{ and }} for a brace)"
            )
        return value


def _names_only_code_and_payer(template: str) -> bool:
    # The default reason is filled in for every unlisted code at check time: plain {code} and
    # {payer} only (no attributes, conversions or format specs), so that a pack can never make a
    # check fail, or allocate, later.
    try:
        fields = [f for f in string.Formatter().parse(template) if f[1] is not None]
    except ValueError:  # an unmatched brace
        return False
    return all(
        name in ("code", "payer") and not spec and not conv for _, name, spec, conv in fields
    )


class RecoverySpec(_Strict):
    """`recovery:` (optional): the payer's deadlines for recovering a denied claim, in calendar
    days. A field left out takes precert's default (domain/rules.py, DEFAULT_*)."""

    appeal_days: int = Field(default=DEFAULT_APPEAL_DAYS, ge=1, le=730)
    retro_authorization_days: int = Field(default=DEFAULT_RETRO_AUTHORIZATION_DAYS, ge=0, le=730)
    corrected_claim_days: int = Field(default=DEFAULT_CORRECTED_CLAIM_DAYS, ge=1, le=1095)


class PackSpec(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    precert_pack: Literal["1"] = Field(alias="precert-pack")
    payer: PayerSpec
    version: str = Field(min_length=1)
    published: dt.date | None = None
    source: str = ""
    default: DefaultDecisionSpec = DefaultDecisionSpec()
    defaults: _RuleFields = _RuleFields()
    rules: list[RuleSpec] = []
    recovery: RecoverySpec | None = None


def parse_pack(text: str, filename: str = "<pack>", *, origin: str = "shipped") -> PayerPack:
    """Parse and validate one pack; raise InvalidInput listing every problem with its location."""
    raw = _load_yaml(text, filename)
    if not isinstance(raw, dict):
        raise InvalidInput.field(
            filename,
            f"{filename}: a payer pack is a YAML mapping starting with 'precert-pack: 1'",
            "structure",
        )
    try:
        spec = PackSpec.model_validate(raw)
    except ValidationError as exc:
        issues = [_issue_from_pydantic(filename, raw, err) for err in exc.errors()]
        raise _pack_error(filename, issues) from None
    return _build(spec, filename, origin)


def _load_yaml(text: str, filename: str) -> Any:
    """The YAML document, or InvalidInput located at line:column when the library can tell."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
        raise InvalidInput.field(where, f"{where}: not valid YAML: {problem}", "yaml") from None
    except ValueError as exc:
        # An explicit tag the value does not fit (!!timestamp 2026-13-01, !!int abc).
        raise InvalidInput.field(filename, f"{filename}: not valid YAML: {exc}", "yaml") from None
    except RecursionError:
        raise InvalidInput.field(
            filename, f"{filename}: not valid YAML: lists or mappings nest too deeply", "yaml"
        ) from None


def _issue_from_pydantic(filename: str, raw: dict[str, Any], err: Any) -> Issue:
    loc = list(err["loc"])
    where = filename
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = raw.get("rules")
        listed = isinstance(rules, list) and loc[1] < len(rules)
        rule = rules[loc[1]] if listed else None  # type: ignore[index]
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        where += f": rule {rule_id}" if rule_id else f": rules[{loc[1]}]"
        loc = loc[2:]
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    if field:
        where += f": {field}"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see docs/payer-packs.md)"
    elif err["type"] == "string_pattern_mismatch":
        message = "use lower-case letters, digits, '-', '.' or '_' (e.g. acme-mri-brain)"
    elif err["type"] == "missing":
        message = "is required"
    elif err["type"] == "literal_error" and loc == ["precert-pack"]:
        message = f"must be {SCHEMA_VERSION} (the pack schema version this precert reads)"
    return Issue("schema", f"{where}: {message}", where)


def _pack_error(filename: str, issues: list[Issue]) -> InvalidInput:
    head = "; ".join(i.message for i in issues[:3])
    more = f" (and {len(issues) - 3} more)" if len(issues) > 3 else ""
    return InvalidInput(f"{filename}: the payer pack was refused: {head}{more}", issues)


class _Problems:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.issues: list[Issue] = []
        self.codes_left = MAX_PACK_CODES  # spent as ranges are expanded, rule after rule

    def add(self, where: str, message: str) -> None:
        location = f"{self.filename}: {where}" if where else self.filename
        self.issues.append(Issue("invalid", f"{location}: {message}", location))


def _build(spec: PackSpec, filename: str, origin: str) -> PayerPack:
    problems = _Problems(filename)
    payer = spec.payer
    for i, plan in enumerate(payer.plans):
        if plan not in PLAN_TYPES:
            problems.add(
                f"payer.plans[{i}]", f"{plan!r} is not a plan type; use {', '.join(PLAN_TYPES)}"
            )
    seen: set[str] = set()
    rules: list[PayerRule] = []
    for spec_rule in spec.rules:
        if spec_rule.id in seen:
            problems.add(
                f"rule {spec_rule.id}", "this rule id is used twice; rule ids must be unique"
            )
        seen.add(spec_rule.id)
        rule = _build_rule(spec_rule, spec, problems)
        if rule is not None:
            rules.append(rule)
    if problems.issues:
        raise _pack_error(filename, problems.issues)
    default = spec.default
    return PayerPack(
        id=payer.id,
        name=payer.name,
        version=spec.version,
        plans=tuple(payer.plans),
        rules=tuple(rules),
        default_decision=Decision(default.decision),
        default_reason=default.reason,
        synthetic=payer.synthetic,
        source=spec.source,
        published=spec.published,
        x12_payer_ids=tuple(payer.x12_payer_ids),
        contact=tuple(Channel(c.type, c.address, c.note, c.pended or "") for c in payer.contact),
        origin=origin,
        recovery=_recovery(spec.recovery),
    )


def _recovery(spec: RecoverySpec | None) -> RecoveryTerms | None:
    if spec is None:
        return None
    return RecoveryTerms(spec.appeal_days, spec.retro_authorization_days, spec.corrected_claim_days)


def _build_rule(r: RuleSpec, pack: PackSpec, problems: _Problems) -> PayerRule | None:
    before = len(problems.issues)
    where = f"rule {r.id}"
    d = pack.defaults
    all_codes = r.codes == ["*"]
    expanded = () if all_codes else _expand_codes(r.codes, f"{where}: codes", problems)
    plans = _subset(r.plans, pack.payer.plans, f"{where}: plans", "the payer's plans", problems)
    pos = _each(r.pos, codes.place_of_service, f"{where}: pos", problems)
    states = _each(r.states, codes.state, f"{where}: states", problems)
    settings = _subset(
        r.settings, list(SETTINGS), f"{where}: settings", "the care settings", problems
    )
    term = (
        r.term
        or d.term
        or ("notification" if r.outcome == "notification" else "prior authorization")
    ).lower()
    if term not in TERMS:
        problems.add(
            f"{where}: term", f"{term!r} is not a known term; use one of {', '.join(TERMS)}"
        )
    if r.effective_from and r.effective_through and r.effective_through < r.effective_from:
        problems.add(f"{where}: effective_through", "is before effective_from")
    conditions = _build_conditions(r.when, where, problems)
    turnaround = r.turnaround or d.turnaround
    channels = r.channels if r.channels is not None else (d.channels or [])
    if len(problems.issues) > before:
        return None
    return PayerRule(
        id=r.id,
        payer_id=pack.payer.id,
        name=r.name,
        codes=expanded,
        all_codes=all_codes,
        plans=plans,
        pos=pos,
        settings=settings,
        states=states,
        effective_from=r.effective_from,
        effective_through=r.effective_through,
        conditions=conditions,
        outcome=Outcome(r.outcome),
        term=term,
        reviews=r.reviews
        or d.reviews
        or ("coverage" if r.outcome == "notification" else "medical_necessity"),
        documents=tuple(r.documents if r.documents is not None else (d.documents or [])),
        channels=tuple(Channel(c.type, c.address, c.note, c.pended or "") for c in channels),
        turnaround=_turnaround(turnaround),
        source=r.source or d.source or pack.source,
        notes=r.notes,
    )


def _build_conditions(w: ConditionsSpec | None, where: str, problems: _Problems) -> Conditions:
    if w is None:
        return Conditions()
    paired = _expand_codes(w.with_codes, f"{where}: when.with_codes", problems)
    for name in ("diagnoses_any", "diagnoses_none"):
        for i, dx in enumerate(getattr(w, name)):
            if not _DX_PREFIX.match(dx.upper()):
                problems.add(
                    f"{where}: when.{name}[{i}]",
                    f"{dx!r} is not an ICD-10-CM code or prefix (e.g. M17 or G47.33)",
                )
    if w.min_age is not None and w.max_age is not None and w.max_age < w.min_age:
        problems.add(f"{where}: when.max_age", "is below min_age")
    return Conditions(
        with_codes=frozenset(paired),
        diagnoses_any=tuple(d.upper() for d in w.diagnoses_any),
        diagnoses_none=tuple(d.upper() for d in w.diagnoses_none),
        units_over=w.units_over,
        min_age=w.min_age,
        max_age=w.max_age,
        network=w.network,
    )


def _turnaround(spec: TurnaroundSpec | None) -> Turnaround:
    if spec is None:
        return Turnaround()
    return Turnaround(_duration(spec.standard), _duration(spec.expedited))


def _duration(text: str | None) -> Duration | None:
    if text is None:
        return None
    match = _DURATION.match(text)
    assert match is not None  # checked by TurnaroundSpec
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("hour"):
        return Duration(amount, "hours")
    if unit.startswith("business"):
        return Duration(amount, "business_days")
    return Duration(amount, "calendar_days")


def _each(
    values: list[str] | None, parse: Any, where: str, problems: _Problems
) -> frozenset[str] | None:
    if values is None:
        return None
    out: set[str] = set()
    for i, value in enumerate(values):
        try:
            out.add(parse(value))
        except InvalidInput as exc:
            problems.add(f"{where}[{i}]", exc.message.split(": ", 1)[-1])
    return frozenset(out)


def _subset(
    values: list[str] | None, allowed: list[str], where: str, what: str, problems: _Problems
) -> frozenset[str] | None:
    if values is None:
        return None
    for i, value in enumerate(values):
        if value not in allowed:
            problems.add(f"{where}[{i}]", f"{value!r} is not one of {what}: {', '.join(allowed)}")
    return frozenset(values)


def _expand_codes(entries: list[str], where: str, problems: _Problems) -> tuple[str, ...]:
    """Exact codes and ranges ('70551-70553', 'J0585-J0588', '0042T-0045T') as a code tuple."""
    out: list[str] = []
    for i, entry in enumerate(entries):
        found = _expand_entry(str(entry).strip().upper())
        if isinstance(found, str):
            problems.add(f"{where}[{i}]", found)
            continue
        if len(found) > problems.codes_left:
            if problems.codes_left >= 0:  # say it once, where the pack crosses the limit
                problems.add(
                    f"{where}[{i}]",
                    f"the pack lists more than {MAX_PACK_CODES} codes in all; split it into packs",
                )
                problems.codes_left = -1
            return ()
        problems.codes_left -= len(found)
        out.extend(found)
    return tuple(dict.fromkeys(out))


def _expand_entry(entry: str) -> list[str] | str:
    """The codes one entry stands for, or why it stands for none."""
    if "-" in entry:
        return _expand_range(entry)
    if codes.is_procedure_code(entry):
        return [entry]
    return f"{entry!r} is not a CPT or HCPCS code or range (e.g. 70551, J0585, 70551-70553)"


_PARTS = re.compile(r"^([A-Z]?)(\d+)([A-Z]?)$")


def _expand_range(entry: str) -> list[str] | str:
    lo, _, hi = (part.strip() for part in entry.partition("-"))
    if not (codes.is_procedure_code(lo) and codes.is_procedure_code(hi)):
        return f"{entry!r}: both ends of a range must be CPT or HCPCS codes (e.g. 70551-70553)"
    a, b = _PARTS.match(lo), _PARTS.match(hi)
    if not a or not b or (a[1], a[3], len(a[2])) != (b[1], b[3], len(b[2])):
        return f"{entry!r}: both ends of a range must have the same shape (e.g. J0585-J0588)"
    start, stop = int(a[2]), int(b[2])
    if stop < start:
        return f"{entry!r}: the range runs backwards; write the lower code first"
    if stop - start >= MAX_RANGE:
        return f"{entry!r}: a range may cover at most {MAX_RANGE} codes"
    width = len(a[2])
    return [f"{a[1]}{n:0{width}d}{a[3]}" for n in range(start, stop + 1)]


__all__ = ["CHANNEL_TYPES", "REVIEWS", "SCHEMA_VERSION", "TURNAROUND_UNITS", "parse_pack"]
