"""The simulator's adjudication rules: a YAML file of rules tried in order, the first match wins.

```yaml
rules:
  - match: {payer: acme-health, code: "70551", member_prefix: "DENY"}
    decision: deny
    reason: "0U"
default: {decision: approve}
```

`match` keys (all optional, all must hold): `payer` (the insurer's payer id), `code` (a procedure
code; a trailing `*` makes it a prefix), `member_prefix` (the start of the member id). A rule
with no `match` matches everything. Decisions: `approve`; `partial` (`units` granted); `modify`
(`code` and/or `units` granted instead); `deny` (`reason`, an X12 HCR03 reason code); `pend`
(`after_seconds`, then `then`: another decision); `contact-payer`; `not-required`;
`unknown-member` (the whole request is rejected as an AAA 75 would be). Rules are matched per
Claim item; `unknown-member` on any item rejects the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from precert.errors import InvalidInput, Issue

DEFAULT_RULES = Path(__file__).resolve().parents[1] / "data" / "payer_sim" / "default-rules.yaml"


class Kind(StrEnum):
    APPROVE = "approve"
    PARTIAL = "partial"
    MODIFY = "modify"
    DENY = "deny"
    PEND = "pend"
    CONTACT_PAYER = "contact-payer"
    NOT_REQUIRED = "not-required"
    UNKNOWN_MEMBER = "unknown-member"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the payer does with one item; `then` is the decision a pend turns into."""

    kind: Kind
    units: int | None = None
    code: str | None = None
    reason: str = ""
    after_seconds: float = 0.0
    then: Decision | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    payer: str | None
    code: str | None
    member_prefix: str | None
    decision: Decision

    def matches(self, payer: str, code: str, member_id: str) -> bool:
        if self.payer is not None and self.payer != payer:
            return False
        if self.code is not None:
            if self.code.endswith("*"):
                if not code.startswith(self.code[:-1]):
                    return False
            elif self.code != code:
                return False
        return self.member_prefix is None or member_id.startswith(self.member_prefix)


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...]
    default: Decision

    def decide(self, payer: str, code: str, member_id: str) -> Decision:
        """The first matching rule's decision, else the default."""
        for rule in self.rules:
            if rule.matches(payer, code, member_id):
                return rule.decision
        return self.default


def load_rules(path: Path | None = None) -> Rules:
    """Read a rules file (the shipped default without one); every problem is named by place."""
    source = path or DEFAULT_RULES
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput.field(
            "rules", f"cannot read the rules file {source}: {error.strerror}."
        ) from None
    except yaml.YAMLError as error:
        raise InvalidInput.field("rules", f"the rules file is not valid YAML: {error}.") from None
    return parse_rules(raw)


def parse_rules(raw: object) -> Rules:
    """Rules from the parsed YAML; raises InvalidInput listing every problem with its place."""
    issues: list[Issue] = []
    if not isinstance(raw, Mapping):
        raise InvalidInput.field("rules", "the rules file must be a mapping with `rules:`.")
    unknown = set(raw) - {"rules", "default"}
    if unknown:
        issues.append(_issue("", f"unknown keys {sorted(map(str, unknown))}; use rules, default."))
    items = raw.get("rules") or []
    if not isinstance(items, list):
        issues.append(_issue("rules", "must be a list of rules."))
        items = []
    rules = []
    for i, item in enumerate(items):
        rule = _rule(item, f"rules[{i}]", issues)
        if rule is not None:
            rules.append(rule)
    default = _decision(raw.get("default", {"decision": "approve"}), "default", issues)
    if issues:
        raise InvalidInput("The payer simulator rules have problems.", issues)
    assert default is not None  # no issues means the default was read
    return Rules(tuple(rules), default)


def _rule(raw: object, at: str, issues: list[Issue]) -> Rule | None:
    if not isinstance(raw, Mapping):
        issues.append(_issue(at, "each rule is a mapping with `decision:` and optional `match:`."))
        return None
    match = raw.get("match") or {}
    if not isinstance(match, Mapping):
        issues.append(_issue(f"{at}.match", "must be a mapping (payer, code, member_prefix)."))
        match = {}
    extra = set(match) - {"payer", "code", "member_prefix"}
    if extra:
        issues.append(
            _issue(
                f"{at}.match",
                f"unknown keys {sorted(map(str, extra))}; use payer, code, member_prefix.",
            )
        )
    decision = _decision({k: v for k, v in raw.items() if k != "match"}, at, issues)
    if decision is None:
        return None
    return Rule(
        _optional_text(match.get("payer")),
        _optional_text(match.get("code")),
        _optional_text(match.get("member_prefix")),
        decision,
    )


_FIELDS = {"decision", "units", "code", "reason", "after_seconds", "then"}


def _decision(raw: object, at: str, issues: list[Issue]) -> Decision | None:
    if not isinstance(raw, Mapping):
        issues.append(_issue(at, "a decision is a mapping with `decision:`."))
        return None
    extra = set(raw) - _FIELDS
    if extra:
        issues.append(_issue(at, f"unknown keys {sorted(map(str, extra))}."))
    accepted = ", ".join(k.value for k in Kind)
    try:
        kind = Kind(str(raw.get("decision")))
    except ValueError:
        issues.append(_issue(f"{at}.decision", f"must be one of {accepted}."))
        return None
    units = raw.get("units")
    if units is not None and (not isinstance(units, int) or isinstance(units, bool) or units < 1):
        issues.append(_issue(f"{at}.units", "units is a whole number of at least 1."))
        units = None
    code = _optional_text(raw.get("code"))
    if kind is Kind.PARTIAL and units is None:
        issues.append(_issue(f"{at}.units", "a partial approval names the units granted."))
    if kind is Kind.MODIFY and units is None and code is None:
        issues.append(_issue(at, "a modified approval names the code and/or units granted."))
    reason = _optional_text(raw.get("reason")) or ""
    if kind is Kind.DENY and not reason:
        issues.append(_issue(f"{at}.reason", "a denial names its X12 reason code (e.g. 0U)."))
    then = None
    after = raw.get("after_seconds", 0)
    if kind is Kind.PEND:
        if not isinstance(after, int | float) or isinstance(after, bool) or after < 0:
            issues.append(_issue(f"{at}.after_seconds", "a number of seconds, 0 or more."))
            after = 0
        then = _decision(raw.get("then"), f"{at}.then", issues)
        if then is not None and then.kind in (Kind.PEND, Kind.UNKNOWN_MEMBER):
            issues.append(_issue(f"{at}.then", "a pend turns into a decision, not another pend."))
    return Decision(kind, units, code, reason, float(after) if kind is Kind.PEND else 0.0, then)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _issue(location: str, message: str) -> Issue:
    where = location or "rules file"
    return Issue("invalid", f"{where}: {message}", location or "rules")
