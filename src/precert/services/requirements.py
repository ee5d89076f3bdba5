"""Check whether services need approval: the one use case behind the CLI, batch, API and web page.

Raw services (text from a command line, a CSV row, a JSON body or a form) are parsed here into
`Service` values, every problem collected with its location, then answered by the rule book.
Services that share an `encounter` are checked together, so pairing rules (J0585 with 64612) see
each other; the CLI puts all its --code values into one encounter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from precert.domain import codes
from precert.domain.requirements import Requirement, RuleBook, Service
from precert.domain.rules import POS_SETTING, SETTINGS
from precert.errors import InvalidInput, Issue
from precert.services.catalog import unknown_payer
from precert.services.context import Context

# The fields a service may carry, on every surface (CSV columns, JSON keys, form fields).
FIELDS: tuple[str, ...] = (
    "payer",
    "plan",
    "code",
    "pos",
    "setting",
    "state",
    "date",
    "units",
    "diagnoses",
    "network",
    "age",
    "encounter",
)

Locate = Callable[[int, str], str]


def _default_locate(index: int, name: str) -> str:
    return f"services[{index}].{name}"


@dataclass(frozen=True)
class Parsed:
    """Parsed services in input order: a Service, or None where the item had errors."""

    services: list[Service | None]
    issues: list[Issue]


def parse_services(
    items: Sequence[Mapping[str, Any]],
    book: RuleBook,
    *,
    today: dt.date,
    strict_payer: bool = True,
    locate: Locate = _default_locate,
) -> Parsed:
    """Parse raw services; strict_payer: an unconfigured payer is an error, else `unknown`."""
    services: list[Service | None] = []
    issues: list[Issue] = []
    encounters: list[str | None] = []
    for index, item in enumerate(items):
        service, item_issues = _parse_one(item, book, today, strict_payer, index, locate)
        services.append(service)
        issues.extend(item_issues)
        encounter = item.get("encounter")
        encounters.append(str(encounter).strip() if encounter not in (None, "") else None)
    return Parsed(_with_companions(services, encounters), issues)


def _parse_one(
    item: Mapping[str, Any],
    book: RuleBook,
    today: dt.date,
    strict_payer: bool,
    index: int,
    locate: Locate,
) -> tuple[Service | None, list[Issue]]:
    issues: list[Issue] = []

    def field(name: str, parse: Callable[[Any, str], Any], default: Any = None) -> Any:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        try:
            return parse(value, locate(index, name))
        except InvalidInput as exc:
            issues.extend(exc.issues)
            return default

    unknown = set(item) - set(FIELDS) - {"dx"}
    for name in sorted(unknown):
        where = locate(index, name)
        issues.append(
            Issue("unknown-field", f"{where}: unknown field; use {', '.join(FIELDS)}", where)
        )
    payer = field("payer", _payer)
    if payer is None and not any(i.location == locate(index, "payer") for i in issues):
        where = locate(index, "payer")
        issues.append(Issue("required", f"{where}: the payer id is required", where))
    elif payer is not None and payer not in book and strict_payer:
        issues.extend(unknown_payer(payer, book.payer_ids, locate(index, "payer")).issues)
    code = field("code", codes.procedure_code)
    if code is None and not any(i.location == locate(index, "code") for i in issues):
        where = locate(index, "code")
        issues.append(Issue("required", f"{where}: a CPT or HCPCS code is required", where))
    plan = field("plan", _plan(book, payer))
    pos = field("pos", codes.place_of_service)
    setting = field("setting", _setting)
    if pos and setting and POS_SETTING.get(pos, setting) != setting:
        where = locate(index, "setting")
        issues.append(
            Issue(
                "inconsistent",
                f"{where}: {setting!r} does not match POS {codes.pos_label(pos)}; "
                "give one of them, or make them agree",
                where,
            )
        )
    state = field("state", codes.state)
    date = field("date", codes.iso_date, today)
    units = field("units", codes.units)
    age = field("age", _age)
    network = field("network", _network)
    raw_dx = item.get("diagnoses", item.get("dx"))
    diagnoses = _diagnoses(raw_dx, locate(index, "diagnoses"), issues)
    if issues:
        return None, issues
    return (
        Service(
            payer_id=payer,
            code=code,
            date=date,
            plan=plan,
            pos=pos,
            setting=setting,
            state=state,
            units=units,
            diagnoses=diagnoses,
            network=network,
            age=age,
        ),
        [],
    )


def _with_companions(
    services: list[Service | None], encounters: list[str | None]
) -> list[Service | None]:
    groups: dict[tuple[str, str, dt.date], set[str]] = {}
    for service, encounter in zip(services, encounters, strict=True):
        if service is not None and encounter is not None:
            groups.setdefault((encounter, service.payer_id, service.date), set()).add(service.code)
    out: list[Service | None] = []
    for service, encounter in zip(services, encounters, strict=True):
        if service is None or encounter is None:
            out.append(service)
            continue
        group = groups[(encounter, service.payer_id, service.date)]
        companions = frozenset(group - {service.code})
        out.append(_replace_companions(service, companions))
    return out


def _replace_companions(service: Service, companions: frozenset[str]) -> Service:
    from dataclasses import replace

    return replace(service, companions=companions)


def check_services(
    ctx: Context, items: Sequence[Mapping[str, Any]], *, locate: Locate = _default_locate
) -> list[Requirement]:
    """Answer every service, or raise InvalidInput listing every problem (nothing half-answered)."""
    book = ctx.rulebook()
    parsed = parse_services(items, book, today=ctx.today(), locate=locate)
    if parsed.issues:
        raise input_error(parsed.issues)
    return [book.requirement_for(s) for s in parsed.services if s is not None]


def input_error(issues: list[Issue]) -> InvalidInput:
    head = issues[0].message
    extra = len(issues) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    return InvalidInput(head + more, issues)


# -- field parsers: (value, location) -> value, raising InvalidInput ------------------------------


def _payer(value: Any, location: str) -> str:
    return str(value).strip().lower()


def _plan(book: RuleBook, payer: str | None) -> Callable[[Any, str], str]:
    def parse(value: Any, location: str) -> str:
        plan = str(value).strip().lower()
        if payer is not None and payer in book:
            plans = book.pack(payer).plans
            if plan not in plans:
                raise InvalidInput.field(
                    location,
                    f"{location}: {value!r} is not a plan of payer {payer!r}; "
                    f"its plans are {', '.join(plans)}",
                )
        return plan

    return parse


def _setting(value: Any, location: str) -> str:
    setting = str(value).strip().lower()
    if setting not in SETTINGS:
        raise InvalidInput.field(
            location, f"{location}: {value!r} is not a care setting; use {', '.join(SETTINGS)}"
        )
    return setting


def _network(value: Any, location: str) -> str:
    network = str(value).strip().lower()
    if network not in ("in", "out"):
        raise InvalidInput.field(location, f"{location}: {value!r} is not valid; use in or out")
    return network


def _age(value: Any, location: str) -> int:
    try:
        age = int(str(value).strip())
    except ValueError:
        age = -1
    if not 0 <= age <= 130:
        raise InvalidInput.field(location, f"{location}: {value!r} is not an age in years (0-130)")
    return age


def _diagnoses(raw: Any, location: str, issues: list[Issue]) -> tuple[str, ...]:
    if raw is None or raw == "":
        return ()
    values = raw.replace(",", ";").split(";") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for i, value in enumerate(v for v in values if str(v).strip()):
        try:
            out.append(codes.diagnosis_code(str(value), f"{location}[{i}]"))
        except InvalidInput as exc:
            issues.extend(exc.issues)
    return tuple(out)
