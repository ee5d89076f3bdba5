"""The "is approval required?" engine: a Service in, a Requirement out, with its reasons.

`RuleBook` indexes every payer pack by code once; `requirement_for` evaluates the candidate rules
of one service. Each rule filter answers *applies*, *does not apply (why)* or *depends on a fact not
given (which)*; the strongest certain outcome wins, unless a rule that might apply is stronger, in
which case the answer is `conditional`. Pure: no I/O, and the date of service is always given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from precert.domain.codes import pos_label
from precert.domain.rules import (
    POS_SETTING,
    RANK,
    SETTING_POS,
    Decision,
    Outcome,
    PayerPack,
    PayerRule,
)


@dataclass(frozen=True, slots=True)
class Service:
    """One service to check, already validated (see services.requirements for parsing)."""

    payer_id: str
    code: str
    date: dt.date
    plan: str | None = None
    pos: str | None = None
    setting: str | None = None
    state: str | None = None
    units: int | None = None
    diagnoses: tuple[str, ...] = ()
    network: str | None = None
    age: int | None = None
    # Other codes billed in the same encounter (for pairing rules such as J0585 with 64612).
    # None: not known; an empty set: known to be billed alone.
    companions: frozenset[str] | None = None


@dataclass(slots=True)
class Requirement:
    """The answer for one service: the decision, what to do, and why."""

    code: str
    payer_id: str
    date: dt.date
    decision: Decision
    processes: list[dict[str, str]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    channels: list[dict[str, str]] = field(default_factory=list)
    turnaround: dict[str, str] = field(default_factory=dict)
    matched_rules: list[dict[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape shared by the CLI, the batch output and the API."""
        return {
            "code": self.code,
            "payer": self.payer_id,
            "date": self.date.isoformat(),
            "decision": str(self.decision),
            "processes": self.processes,
            "documents": self.documents,
            "channels": self.channels,
            "turnaround": self.turnaround,
            "matched_rules": self.matched_rules,
            "reasons": self.reasons,
        }


class _Compiled:
    """A rule with its output fragments prepared once, so that a check only reads them."""

    __slots__ = ("channels", "matched", "process", "rank", "rule", "turnaround")

    def __init__(self, rule: PayerRule) -> None:
        self.rule = rule
        self.rank = RANK[rule.outcome]
        self.process = {"term": rule.term, "reviews": rule.reviews, "rule": rule.id}
        self.matched = {"id": rule.id, "source": rule.source}
        self.channels = [c.as_dict() for c in rule.channels]
        self.turnaround = rule.turnaround.as_dict()


class _PayerIndex:
    __slots__ = ("by_code", "pack", "wildcard")

    def __init__(self, pack: PayerPack) -> None:
        self.pack = pack
        by_code: dict[str, list[_Compiled]] = {}
        wildcard: list[_Compiled] = []
        for rule in pack.rules:
            compiled = _Compiled(rule)
            if rule.all_codes:
                wildcard.append(compiled)
            for code in rule.codes:
                by_code.setdefault(code, []).append(compiled)
        self.by_code = {code: tuple(rules) for code, rules in by_code.items()}
        self.wildcard = tuple(wildcard)

    def candidates(self, code: str) -> tuple[_Compiled, ...]:
        found = self.by_code.get(code, ())
        return found + self.wildcard if self.wildcard else found


class RuleBook:
    """Every configured payer pack, indexed by payer id and code."""

    def __init__(self, packs: Iterable[PayerPack]) -> None:
        self._index = {pack.id: _PayerIndex(pack) for pack in packs}

    def __contains__(self, payer_id: str) -> bool:
        return payer_id in self._index

    def pack(self, payer_id: str) -> PayerPack:
        return self._index[payer_id].pack

    @property
    def payer_ids(self) -> list[str]:
        return sorted(self._index)

    @property
    def packs(self) -> list[PayerPack]:
        return [self._index[p].pack for p in self.payer_ids]

    def requirement_for(self, service: Service) -> Requirement:
        """Answer one service; a payer with no pack answers `unknown` (verify with payer)."""
        index = self._index.get(service.payer_id)
        if index is None:
            return Requirement(
                service.code,
                service.payer_id,
                service.date,
                Decision.UNKNOWN,
                reasons=[
                    f"No rule pack is configured for payer {service.payer_id!r}: "
                    "verify with the payer."
                ],
            )
        return _evaluate(index, service)

    def requirements_for(self, services: Sequence[Service]) -> list[Requirement]:
        return [self.requirement_for(s) for s in services]


# -- evaluation ---------------------------------------------------------------------------------


def _evaluate(index: _PayerIndex, service: Service) -> Requirement:
    pack = index.pack
    matched: list[_Compiled] = []
    pending: list[tuple[_Compiled, str]] = []
    near_misses: list[str] = []
    for compiled in index.candidates(service.code):
        miss, unknowns = _check(compiled.rule, service, pack)
        if miss is not None:
            near_misses.append(f"Did not apply: {compiled.rule.name} [{compiled.rule.id}]: {miss}.")
        elif unknowns:
            pending.append((compiled, " and ".join(unknowns)))
        else:
            matched.append(compiled)

    result = Requirement(service.code, service.payer_id, service.date, Decision.UNKNOWN)
    certain = max((c.rank for c in matched), default=-1)
    potential = max((c.rank for c, _ in pending), default=-1)
    if certain < 0:
        certain = RANK[pack.default_decision]
        result.decision = pack.default_decision
    else:
        result.decision = _DECISION_OF_RANK[certain]
    if potential > certain:
        result.decision = Decision.CONDITIONAL

    _fill_matched(result, matched)
    reasons = result.reasons
    for compiled, depends in pending:
        rule = compiled.rule
        reasons.append(
            f"Depends on {depends}: {rule.name} [{rule.id}] would make it {_outcome_words(rule)}."
        )
        if result.decision is Decision.CONDITIONAL:
            result.processes.append({**compiled.process, "condition": depends})
            _extend_unique(result.documents, rule.documents)
            if not result.channels:
                result.channels = compiled.channels
                result.turnaround = compiled.turnaround
    reasons.extend(near_misses)
    if not matched and not pending:
        reasons.append(_default_reason(pack, service))
        if result.decision is Decision.UNKNOWN:
            result.channels = [c.as_dict() for c in pack.contact]
    return result


_DECISION_OF_RANK = {
    RANK[Outcome.REQUIRED]: Decision.REQUIRED,
    RANK[Outcome.NOTIFICATION]: Decision.NOTIFICATION,
    RANK[Outcome.NOT_REQUIRED]: Decision.NOT_REQUIRED,
    RANK[Decision.UNKNOWN]: Decision.UNKNOWN,
}


def _fill_matched(result: Requirement, matched: list[_Compiled]) -> None:
    if not matched:
        return
    # The strongest rule decides channels and turnaround; every required or notification rule
    # contributes its process (a stay's precertification *and* a procedure's preauthorization).
    lead = max(matched, key=lambda c: c.rank)
    seen: set[tuple[str, str]] = set()
    for compiled in matched:
        rule = compiled.rule
        result.matched_rules.append(compiled.matched)
        if rule.outcome is Outcome.NOT_REQUIRED:
            result.reasons.append(f"Not required: {rule.name} [{rule.id}].")
            continue
        key = (rule.term, rule.reviews)
        if key not in seen:
            seen.add(key)
            result.processes.append(compiled.process)
        _extend_unique(result.documents, rule.documents)
        result.reasons.append(
            f"{_outcome_words(rule).capitalize()}: {rule.name} [{rule.id}]"
            + (f" ({rule.notes})" if rule.notes else "")
            + "."
        )
    if lead.rank > RANK[Outcome.NOT_REQUIRED]:
        result.channels = lead.channels
        result.turnaround = lead.turnaround


def _outcome_words(rule: PayerRule) -> str:
    if rule.outcome is Outcome.NOT_REQUIRED:
        return "not required"
    reviews = {"medical_necessity": "medical necessity", "coverage": "coverage", "both": "both"}
    what = "coverage and medical necessity" if rule.reviews == "both" else reviews[rule.reviews]
    if rule.outcome is Outcome.NOTIFICATION:
        return f"{rule.term} required (notification only, no approval)"
    return f"{rule.term} required (reviews {what})"


def _default_reason(pack: PayerPack, service: Service) -> str:
    if pack.default_reason:
        return pack.default_reason.format(code=service.code, payer=pack.name)
    if pack.default_decision is Decision.UNKNOWN:
        return (
            f"No rule in the {pack.name} pack covers {service.code} on {service.date}: "
            "verify with the payer."
        )
    return f"No rule in the {pack.name} pack lists {service.code}."


def _extend_unique(target: list[str], items: Iterable[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)


def _check(rule: PayerRule, service: Service, pack: PayerPack) -> tuple[str | None, list[str]]:
    """(why the rule does not apply, or None; the facts it depends on that were not given)."""
    day = service.date
    if rule.effective_from is not None and day < rule.effective_from:
        return f"it starts on {rule.effective_from} and this service is on {day}", []
    if rule.effective_through is not None and day > rule.effective_through:
        return (
            f"it ended on {rule.effective_through} (no longer on the list from "
            f"{rule.effective_through + dt.timedelta(days=1)}); this service is on {day}"
        ), []
    unknowns: list[str] = []
    miss = (
        _check_plan(rule, service, pack, unknowns)
        or _check_state(rule, service, unknowns)
        or _check_place(rule, service, unknowns)
    )
    if miss is None and rule.conditions:
        miss = _check_conditions(rule, service, unknowns)
    return miss, unknowns


def _check_plan(
    rule: PayerRule, service: Service, pack: PayerPack, unknowns: list[str]
) -> str | None:
    if rule.plans is None:
        return None
    plan = service.plan or (pack.plans[0] if len(pack.plans) == 1 else None)
    if plan is None:
        if not rule.plans.issuperset(pack.plans):
            unknowns.append(f"the plan type (it applies to {_join(sorted(rule.plans))} plans)")
        return None
    if plan not in rule.plans:
        return f"it applies to {_join(sorted(rule.plans))} plans; this is a {plan} plan"
    return None


def _check_state(rule: PayerRule, service: Service, unknowns: list[str]) -> str | None:
    if rule.states is None:
        return None
    if service.state is None:
        unknowns.append(f"the state (it applies in {_join(sorted(rule.states))})")
        return None
    if service.state not in rule.states:
        return (
            f"it applies only in {_join(sorted(rule.states))}; this service is in {service.state}"
        )
    return None


def _check_place(rule: PayerRule, service: Service, unknowns: list[str]) -> str | None:
    setting = service.setting or (POS_SETTING.get(service.pos) if service.pos else None)
    if rule.pos is not None:
        where = _join([pos_label(p) for p in sorted(rule.pos)], "or")
        if service.pos is not None:
            if service.pos not in rule.pos:
                here = pos_label(service.pos)
                return f"it applies only at POS {where}; this service is at POS {here}"
        elif setting is not None:
            possible = SETTING_POS.get(setting, frozenset())
            if not possible & rule.pos:
                return f"it applies only at POS {where}; this service is in the {setting} setting"
            if not possible <= rule.pos:
                unknowns.append(f"the place of service (it applies only at POS {where})")
        else:
            unknowns.append(f"the place of service (it applies only at POS {where})")
    if rule.settings is not None:
        where = _join(sorted(rule.settings), "or")
        if setting is not None:
            if setting not in rule.settings:
                shown = f"POS {pos_label(service.pos)}" if service.pos else f"the {setting} setting"
                return f"it applies only in the {where} setting; this service is at {shown}"
        elif service.pos is not None:
            return (
                f"it applies only in the {where} setting; POS {pos_label(service.pos)} "
                "is none of them"
            )
        else:
            unknowns.append(f"the care setting (it applies only in the {where} setting)")
    return None


def _check_conditions(rule: PayerRule, service: Service, unknowns: list[str]) -> str | None:
    cond = rule.conditions
    if cond.with_codes:
        pair = _join(sorted(cond.with_codes), "or")
        if service.companions is None:
            unknowns.append(f"the codes billed with it (it applies only with {pair})")
        elif not cond.with_codes & service.companions:
            return f"it applies only when billed with {pair}; none is on this request"
    if cond.diagnoses_any or cond.diagnoses_none:
        if not service.diagnoses:
            wanted = cond.diagnoses_any or cond.diagnoses_none
            verb = "applies only with" if cond.diagnoses_any else "does not apply with"
            unknowns.append(f"the diagnosis (it {verb} {_join(list(wanted), 'or')})")
        else:
            dx = service.diagnoses
            if cond.diagnoses_any and not any(d.startswith(cond.diagnoses_any) for d in dx):
                return f"it applies only with diagnoses {_join(list(cond.diagnoses_any), 'or')}"
            hit = (
                [d for d in dx if d.startswith(cond.diagnoses_none)] if cond.diagnoses_none else []
            )
            if hit:
                return f"it does not apply with diagnosis {hit[0]}"
    if cond.units_over is not None:
        if service.units is None:
            unknowns.append(f"the number of units or visits (it applies beyond {cond.units_over})")
        elif service.units <= cond.units_over:
            return (
                f"it applies only beyond {cond.units_over} units or visits; "
                f"this service counts {service.units}"
            )
    if cond.min_age is not None or cond.max_age is not None:
        lo, hi = cond.min_age, cond.max_age
        span = f"ages {lo if lo is not None else 0} to {hi if hi is not None else 'any'}"
        if service.age is None:
            unknowns.append(f"the patient's age (it applies to {span})")
        elif (lo is not None and service.age < lo) or (hi is not None and service.age > hi):
            return f"it applies to {span}; the patient is {service.age}"
    if cond.network is not None:
        network = service.network or "in"
        if network != cond.network:
            assumed = "" if service.network else " (assumed in-network; give the network if not)"
            return (
                f"it applies to {cond.network}-of-network services; "
                f"this one is {network}-network{assumed}"
            )
    return None


def _join(items: Sequence[str], word: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]
