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
    Conditions,
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
    """A rule with all that does not depend on the service prepared once: the output fragments
    and the phrases its reasons are made of. A check only reads them (and copies what it hands
    out, so that no answer shares a list with the rule book or with another answer)."""

    __slots__ = (
        "applies",
        "channels",
        "conditions",
        "contributes",
        "delisted",
        "filtered",
        "matched",
        "miss_prefix",
        "place",
        "plans_cover_payer",
        "plans_text",
        "pos_text",
        "process",
        "rank",
        "rule",
        "settings_text",
        "sole_plan",
        "states_text",
        "turnaround",
        "would",
    )

    def __init__(self, rule: PayerRule, pack: PayerPack) -> None:
        self.rule = rule
        self.rank = RANK[rule.outcome]
        # A rule saying "not required" adds no process, documents or channel to an answer.
        self.contributes = rule.outcome is not Outcome.NOT_REQUIRED
        self.process = {"term": rule.term, "reviews": rule.reviews, "rule": rule.id}
        self.matched = {"id": rule.id, "source": rule.source}
        self.channels = [c.as_dict() for c in rule.channels]
        self.turnaround = rule.turnaround.as_dict()
        label = f"{rule.name} [{rule.id}]"
        self.miss_prefix = f"Did not apply: {label}: "
        self.would = f"{label} would make it {_outcome_words(rule)}."
        notes = f" ({rule.notes})" if rule.notes else ""
        self.applies = (
            f"Not required: {label}."
            if not self.contributes
            else f"{_outcome_words(rule).capitalize()}: {label}{notes}."
        )
        self._prepare_filters(rule, pack)

    def _prepare_filters(self, rule: PayerRule, pack: PayerPack) -> None:
        """What the filters compare and the phrases their reasons name (sorted, joined once)."""
        self.delisted = (
            str(rule.effective_through + dt.timedelta(days=1)) if rule.effective_through else ""
        )
        self.sole_plan = pack.plans[0] if len(pack.plans) == 1 else None
        self.plans_cover_payer = rule.plans is None or rule.plans.issuperset(pack.plans)
        self.plans_text = _join(sorted(rule.plans)) if rule.plans is not None else ""
        self.states_text = _join(sorted(rule.states)) if rule.states is not None else ""
        self.pos_text = (
            _join([pos_label(p) for p in sorted(rule.pos)], "or") if rule.pos is not None else ""
        )
        self.settings_text = _join(sorted(rule.settings), "or") if rule.settings is not None else ""
        self.place = rule.pos is not None or rule.settings is not None
        self.conditions = _CompiledConditions(rule.conditions) if rule.conditions else None
        # Most rules name codes and little else: those apply without running any filter.
        self.filtered = bool(
            rule.effective_from
            or rule.effective_through
            or rule.plans is not None
            or rule.states is not None
            or self.place
            or self.conditions
        )


class _CompiledConditions:
    """A rule's conditions with the phrases that name them."""

    __slots__ = ("age_span", "cond", "dx_any_text", "dx_none_text", "dx_wanted", "pair_text")

    def __init__(self, cond: Conditions) -> None:
        self.cond = cond
        self.pair_text = _join(sorted(cond.with_codes), "or")
        self.dx_any_text = _join(list(cond.diagnoses_any), "or")
        self.dx_none_text = _join(list(cond.diagnoses_none), "or")
        self.dx_wanted = self.dx_any_text or self.dx_none_text
        lo, hi = cond.min_age, cond.max_age
        self.age_span = f"ages {lo if lo is not None else 0} to {hi if hi is not None else 'any'}"


class _PayerIndex:
    """One payer's rules by code; rules for every code ('*') follow the rules listing the code."""

    __slots__ = ("by_code", "contact", "pack", "wildcard")

    def __init__(self, pack: PayerPack) -> None:
        self.pack = pack
        self.contact = [c.as_dict() for c in pack.contact]
        by_code: dict[str, list[_Compiled]] = {}
        wildcard: list[_Compiled] = []
        for rule in pack.rules:
            compiled = _Compiled(rule, pack)
            if rule.all_codes:
                wildcard.append(compiled)
            for code in rule.codes:
                by_code.setdefault(code, []).append(compiled)
        self.wildcard = tuple(wildcard)
        self.by_code = {code: (*rules, *self.wildcard) for code, rules in by_code.items()}

    def candidates(self, code: str) -> tuple[_Compiled, ...]:
        return self.by_code.get(code, self.wildcard)


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
    matched: list[_Compiled] = []
    pending: list[tuple[_Compiled, str]] = []
    near_misses: list[tuple[_Compiled, str]] = []
    for compiled in index.candidates(service.code):
        if not compiled.filtered:
            matched.append(compiled)
            continue
        unknowns: list[str] = []
        miss = _check(compiled, service, unknowns)
        if miss is not None:
            near_misses.append((compiled, miss))
        elif unknowns:
            pending.append((compiled, " and ".join(unknowns)))
        else:
            matched.append(compiled)

    pack = index.pack
    result = Requirement(service.code, service.payer_id, service.date, pack.default_decision)
    certain = max([c.rank for c in matched], default=RANK[pack.default_decision])
    if matched:
        result.decision = _DECISION_OF_RANK[certain]
        _fill_matched(result, matched)
    if pending:
        _fill_pending(result, pending, conditional=max(c.rank for c, _ in pending) > certain)
    result.reasons.extend(_explained_misses(near_misses, matched))
    if not matched and not pending:
        result.reasons.append(_default_reason(pack, service))
        if result.decision is Decision.UNKNOWN:
            result.channels = [dict(c) for c in index.contact]
    return result


_DECISION_OF_RANK = {
    RANK[Outcome.REQUIRED]: Decision.REQUIRED,
    RANK[Outcome.NOTIFICATION]: Decision.NOTIFICATION,
    RANK[Outcome.NOT_REQUIRED]: Decision.NOT_REQUIRED,
    RANK[Decision.UNKNOWN]: Decision.UNKNOWN,
}


def _explained_misses(
    near_misses: list[tuple[_Compiled, str]], matched: list[_Compiled]
) -> list[str]:
    """Why close rules did not apply, leaving out rules whose process a matched rule gives anyway
    (a DMEPOS phase-in rule that ended where the nationwide rule took over says nothing new)."""
    given = {(c.rule.outcome, c.rule.term) for c in matched}
    return [
        f"{compiled.miss_prefix}{miss}."
        for compiled, miss in near_misses
        if (compiled.rule.outcome, compiled.rule.term) not in given
    ]


def _fill_matched(result: Requirement, matched: list[_Compiled]) -> None:
    # The strongest rule (the first of equals) decides channels and turnaround; every required or
    # notification rule contributes its process (a stay's precertification *and* a procedure's
    # preauthorization), once per term and review.
    lead = max(matched, key=lambda c: c.rank)
    seen: set[tuple[str, str]] = set()
    for compiled in matched:
        result.matched_rules.append(dict(compiled.matched))
        result.reasons.append(compiled.applies)
        if not compiled.contributes:
            continue
        rule = compiled.rule
        if (rule.term, rule.reviews) not in seen:
            seen.add((rule.term, rule.reviews))
            result.processes.append(dict(compiled.process))
        _extend_unique(result.documents, rule.documents)
    if lead.contributes:
        _take_channels(result, lead)


def _fill_pending(
    result: Requirement, pending: list[tuple[_Compiled, str]], *, conditional: bool
) -> None:
    # A rule that might apply is always explained; when it is stronger than the certain answer,
    # the answer is conditional and its process is listed with the fact it depends on.
    for compiled, depends in pending:
        result.reasons.append(f"Depends on {depends}: {compiled.would}")
    if not conditional:
        return
    result.decision = Decision.CONDITIONAL
    contributing = [(c, depends) for c, depends in pending if c.contributes]
    listed = {(p["term"], p["reviews"]) for p in result.processes}
    for compiled, depends in contributing:
        rule = compiled.rule
        if (rule.term, rule.reviews) not in listed:
            listed.add((rule.term, rule.reviews))
            result.processes.append({**compiled.process, "condition": depends})
        _extend_unique(result.documents, rule.documents)
    if not result.channels and contributing:
        _take_channels(result, max(contributing, key=lambda pair: pair[0].rank)[0])


def _take_channels(result: Requirement, compiled: _Compiled) -> None:
    result.channels = [dict(c) for c in compiled.channels]
    result.turnaround = dict(compiled.turnaround)


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


# -- the filters: each returns why the rule does not apply, or None (adding facts it needs) -------


def _check(compiled: _Compiled, service: Service, unknowns: list[str]) -> str | None:
    """Why the rule does not apply, or None; `unknowns` gets the facts it depends on."""
    rule = compiled.rule
    day = service.date
    if rule.effective_from is not None and day < rule.effective_from:
        return f"it starts on {rule.effective_from} and this service is on {day}"
    if rule.effective_through is not None and day > rule.effective_through:
        return (
            f"it ended on {rule.effective_through} (no longer on the list from "
            f"{compiled.delisted}); this service is on {day}"
        )
    miss = None
    if rule.plans is not None:
        miss = _check_plan(compiled, service, unknowns)
    if miss is None and rule.states is not None:
        miss = _check_state(compiled, service, unknowns)
    if miss is None and compiled.place:
        miss = _check_place(compiled, service, unknowns)
    if miss is None and compiled.conditions is not None:
        miss = _check_conditions(compiled.conditions, service, unknowns)
    return miss


def _check_plan(compiled: _Compiled, service: Service, unknowns: list[str]) -> str | None:
    plan = service.plan or compiled.sole_plan
    if plan is None:
        if not compiled.plans_cover_payer:
            unknowns.append(f"the plan type (it applies to {compiled.plans_text} plans)")
        return None
    if plan not in compiled.rule.plans:  # type: ignore[operator]
        return f"it applies to {compiled.plans_text} plans; this is a {plan} plan"
    return None


def _check_state(compiled: _Compiled, service: Service, unknowns: list[str]) -> str | None:
    if service.state is None:
        unknowns.append(f"the state (it applies in {compiled.states_text})")
        return None
    if service.state not in compiled.rule.states:  # type: ignore[operator]
        return f"it applies only in {compiled.states_text}; this service is in {service.state}"
    return None


def _check_place(compiled: _Compiled, service: Service, unknowns: list[str]) -> str | None:
    rule = compiled.rule
    setting = service.setting or (POS_SETTING.get(service.pos) if service.pos else None)
    if rule.pos is not None:
        where = compiled.pos_text
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
        where = compiled.settings_text
        if setting is not None:
            if setting not in rule.settings:
                shown = (
                    f"at POS {pos_label(service.pos)}"
                    if service.pos
                    else f"in the {setting} setting"
                )
                return f"it applies only in the {where} setting; this service is {shown}"
        elif service.pos is not None:
            return (
                f"it applies only in the {where} setting; POS {pos_label(service.pos)} "
                "is none of them"
            )
        else:
            unknowns.append(f"the care setting (it applies only in the {where} setting)")
    return None


def _check_conditions(
    compiled: _CompiledConditions, service: Service, unknowns: list[str]
) -> str | None:
    cond = compiled.cond
    if cond.with_codes:
        if service.companions is None:
            unknowns.append(f"the codes billed with it (it applies only with {compiled.pair_text})")
        elif not cond.with_codes & service.companions:
            return f"it applies only when billed with {compiled.pair_text}; none is on this request"
    if compiled.dx_wanted:
        miss = _check_diagnoses(compiled, service, unknowns)
        if miss is not None:
            return miss
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
        if service.age is None:
            unknowns.append(f"the patient's age (it applies to {compiled.age_span})")
        elif (lo is not None and service.age < lo) or (hi is not None and service.age > hi):
            return f"it applies to {compiled.age_span}; the patient is {service.age}"
    if cond.network is not None:
        network = service.network or "in"
        if network != cond.network:
            assumed = "" if service.network else " (assumed in-network; give the network if not)"
            return (
                f"it applies to {cond.network}-of-network services; "
                f"this one is {network}-network{assumed}"
            )
    return None


def _check_diagnoses(
    compiled: _CompiledConditions, service: Service, unknowns: list[str]
) -> str | None:
    cond = compiled.cond
    if not service.diagnoses:
        verb = "applies only with" if cond.diagnoses_any else "does not apply with"
        unknowns.append(f"the diagnosis (it {verb} {compiled.dx_wanted})")
        return None
    dx = service.diagnoses
    if cond.diagnoses_any and not any(d.startswith(cond.diagnoses_any) for d in dx):
        return f"it applies only with diagnoses {compiled.dx_any_text}"
    if cond.diagnoses_none:
        for d in dx:
            if d.startswith(cond.diagnoses_none):
                return f"it does not apply with diagnosis {d}"
    return None


def _join(items: Sequence[str], word: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]
