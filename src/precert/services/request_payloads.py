"""Reading the issue-3 API bodies for a new request and for a payer's decision into domain values.

Every problem is collected with its location (`patient.member_id`, `services[0].code`) and raised
at once as one InvalidInput. Messages about patient fields never repeat the value: it is PHI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from precert.domain import codes
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
    request_issues,
)
from precert.domain.determinations import Determination, LineDecision, LineStatus, Method, Outcome
from precert.errors import InvalidInput, Issue
from precert.security.blind_index import normalise_member_id
from precert.services.context import Context
from precert.services.requirements import check_services, parse_services

T = TypeVar("T")

REQUEST_FIELDS = (
    "payer_id",
    "plan",
    "state",
    "urgency",
    "patient",
    "ordering_npi",
    "rendering_npi",
    "facility_npi",
    "group_number",
    "retro",
    "services",
)
PATIENT_FIELDS = ("first_name", "last_name", "birth_date", "member_id")
SERVICE_FIELDS = ("code", "units", "pos", "diagnoses", "from", "to")
DETERMINATION_FIELDS = (
    "outcome",
    "method",
    "decision_date",
    "authorization_number",
    "valid_from",
    "valid_to",
    "provider_npi",
    "facility_npi",
    "reason_codes",
    "reference",
    "rep_name",
    "letter_document_id",
    "lines",
)
LINE_FIELDS = ("code", "approved_units", "status", "approved_code")
MAX_TEXT = 200
# The requirement check names coverage fields as a service field; the API body has them on top.
_TOP_LEVEL = {"payer": "payer_id", "plan": "plan", "state": "state"}


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A valid new request, waiting only for its id; `state` is the one it was checked for."""

    draft: AuthorizationRequest
    state: str | None

    def build(self, request_id: str) -> AuthorizationRequest:
        from dataclasses import replace

        return replace(self.draft, id=request_id)


def parse_request(
    ctx: Context,
    payload: object,
    *,
    organization_id: str,
    at: dt.datetime,
    requirement: tuple[Mapping[str, Any], ...] | None = None,
) -> ParsedRequest:
    """The request in `payload` with its requirement answer, or InvalidInput naming each problem.

    `requirement`: the answer `check_requests` already gave for this body (not checked again)."""
    body = _object(payload, "body")
    found: list[Issue] = []
    _unknown(body, REQUEST_FIELDS, "", found)
    patient = _patient(body.get("patient"), ctx.today(), found)
    payer = _text(body, "payer_id", found)
    plan = _text(body, "plan", found)
    state = _text(body, "state", found, required=False)
    ordering = _parse(codes.npi, body.get("ordering_npi"), "ordering_npi", found)
    rendering = _parse(codes.npi, body.get("rendering_npi"), "rendering_npi", found)
    facility_raw = body.get("facility_npi")
    facility = _parse(codes.npi, facility_raw, "facility_npi", found) if facility_raw else None
    group = _text(body, "group_number", found, required=False)
    urgency = _choice(body.get("urgency") or "standard", Urgency, "urgency", found)
    retro = _flag(body.get("retro", False), "retro", found)
    lines = _lines(body.get("services"), found)
    if requirement is None:
        requirement = _requirement(ctx, body, found)
    _raise_if(found, "request")
    assert patient and payer and plan and ordering and rendering and urgency and lines
    draft = AuthorizationRequest(
        id="",
        organization_id=organization_id,
        patient=patient,
        coverage=Coverage(payer, plan, patient.member_id, group or ""),
        ordering_npi=ordering,
        rendering_npi=rendering,
        facility_npi=facility,
        lines=lines,
        created_at=at,
        updated_at=at,
        urgency=urgency,
        requirement=requirement,
        retro=bool(retro),
    )
    _raise_if(request_issues(draft), "request")  # the domain's own rules, should they grow
    return ParsedRequest(draft, codes.state(state) if state else None)


def parse_determination(payload: object, *, today: dt.date) -> Determination:
    """The decision in `payload` (the issue-3 body), or InvalidInput naming every problem."""
    body = _object(payload, "body")
    found: list[Issue] = []
    _unknown(body, DETERMINATION_FIELDS, "", found)
    outcome = _choice(body.get("outcome"), Outcome, "outcome", found)
    method = _choice(body.get("method"), Method, "method", found)
    decided = _date(body.get("decision_date"), "decision_date", found, required=False)
    valid_from = _date(body.get("valid_from"), "valid_from", found, required=False)
    valid_to = _date(body.get("valid_to"), "valid_to", found, required=False)
    texts = {
        name: _text(body, name, found, required=False) or ""
        for name in ("authorization_number", "reference", "rep_name")
    }
    provider = _text(body, "provider_npi", found, required=False)
    facility = _text(body, "facility_npi", found, required=False)
    letter = _text(body, "letter_document_id", found, required=False)
    reasons = _strings(body.get("reason_codes"), "reason_codes", found)
    lines = _decision_lines(body.get("lines"), found)
    _raise_if(found, "decision")
    assert outcome is not None and method is not None
    return Determination(
        outcome=outcome,
        method=method,
        decision_date=decided or today,
        valid_from=valid_from,
        valid_to=valid_to,
        provider_npi=provider,
        facility_npi=facility,
        reason_codes=reasons,
        letter_document_id=letter,
        lines=lines,
        **texts,
    )


# -- parts of a request ------------------------------------------------------------------------


def _patient(value: object, today: dt.date, found: list[Issue]) -> Patient | None:
    if not isinstance(value, Mapping):
        found.append(
            _issue("patient", "required", "an object with " + ", ".join(PATIENT_FIELDS) + ".")
        )
        return None
    _unknown(value, PATIENT_FIELDS, "patient.", found)
    first = _text(value, "first_name", found, at="patient.first_name")
    last = _text(value, "last_name", found, at="patient.last_name")
    birth = _date(value.get("birth_date"), "patient.birth_date", found, echo=False)
    if birth is not None and birth > today:
        found.append(_issue("patient.birth_date", "invalid", "the date of birth is in the future."))
    member = _text(value, "member_id", found, at="patient.member_id")
    if member is not None and not normalise_member_id(member):
        found.append(_issue("patient.member_id", "invalid", "a member id needs letters or digits."))
    if first is None or last is None or birth is None or member is None:
        return None
    return Patient(first, last, birth, member)


def _lines(value: object, found: list[Issue]) -> tuple[ServiceLine, ...] | None:
    if not isinstance(value, list) or not value:
        found.append(_issue("services", "required", "a request needs at least one service line."))
        return None
    lines: list[ServiceLine] = []
    for i, item in enumerate(value):
        line = _line(item, f"services[{i}]", found)
        if line is not None:
            lines.append(line)
    return tuple(lines) if len(lines) == len(value) else None


def _line(item: object, at: str, found: list[Issue]) -> ServiceLine | None:
    if not isinstance(item, Mapping):
        found.append(_issue(at, "invalid", "each service is an object with code, units, from."))
        return None
    _unknown(item, SERVICE_FIELDS, f"{at}.", found)
    code = _parse(codes.procedure_code, item.get("code"), f"{at}.code", found)
    units = _parse(codes.units, item.get("units", 1), f"{at}.units", found)
    pos = item.get("pos")
    place = _parse(codes.place_of_service, pos, f"{at}.pos", found) if pos else ""
    diagnoses = [
        _parse(codes.diagnosis_code, dx, f"{at}.diagnoses[{j}]", found)
        for j, dx in enumerate(_list(item.get("diagnoses")))
    ]
    start = _date(item.get("from"), f"{at}.from", found)
    end = _date(item.get("to"), f"{at}.to", found, required=False) or start
    if start is not None and end is not None and end < start:
        found.append(_issue(f"{at}.to", "invalid", "the last date is before the first."))
        return None
    parts = (code, units, place, start, end, *diagnoses)
    if any(part is None for part in parts):
        return None
    assert code and units and start and end and place is not None
    return ServiceLine(code, units, start, end, place, tuple(d for d in diagnoses if d))


def _requirement(
    ctx: Context, body: Mapping[str, Any], found: list[Issue]
) -> tuple[Mapping[str, Any], ...]:
    """The requirement engine's answer per service line, captured with the request."""
    services = body.get("services")
    if not isinstance(services, list):
        return ()
    origin = [i for i, item in enumerate(services) if isinstance(item, Mapping)]
    items = [_check_item(body, services[i]) for i in origin]

    def locate(index: int, name: str) -> str:
        if name in _TOP_LEVEL:
            return _TOP_LEVEL[name]
        return f"services[{origin[index]}].{'from' if name == 'date' else name}"

    try:
        answers = check_services(ctx, items, locate=locate)
    except InvalidInput as error:
        found.extend(error.issues)
        return ()
    return tuple(answer.as_dict() for answer in answers)


def check_requests(
    ctx: Context, payloads: Sequence[object]
) -> list[tuple[Mapping[str, Any], ...] | None]:
    """The requirement answers for many request bodies in one pass (a schedule import's chunk),
    for `parse_request(requirement=...)`; bodies with the same services are answered once.
    None for a body this cannot answer (not an object, a service with a problem): parse_request
    checks that one itself and names the problem."""
    book = ctx.rulebook()
    keys: list[tuple[Any, ...] | None] = []
    unique: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for payload in payloads:
        services = payload.get("services") if isinstance(payload, Mapping) else None
        if not isinstance(services, list) or not all(isinstance(s, Mapping) for s in services):
            keys.append(None)
            continue
        items = [_check_item(payload, service) for service in services]  # type: ignore[arg-type]
        key = tuple(tuple((k, str(v)) for k, v in item.items()) for item in items)
        unique.setdefault(key, items)
        keys.append(key)
    flat: list[dict[str, Any]] = []
    owner: list[tuple[Any, ...]] = []
    for number, (key, items) in enumerate(unique.items()):
        for item in items:
            # Each body is its own encounter, as parse_request checks it (pairing rules).
            flat.append({**item, "encounter": f"request-{number}"})
            owner.append(key)
    parsed = parse_services(flat, book, today=ctx.today())
    answers: dict[tuple[Any, ...], list[Mapping[str, Any]] | None] = {k: [] for k in unique}
    for key, service in zip(owner, parsed.services, strict=True):
        found = answers[key]
        if service is None or found is None:
            answers[key] = None
        else:
            found.append(book.requirement_for(service).as_dict())
    out: list[tuple[Mapping[str, Any], ...] | None] = []
    for wanted in keys:
        answered = None if wanted is None else answers[wanted]
        out.append(None if answered is None else tuple(answered))
    return out


def _check_item(body: Mapping[str, Any], service: Mapping[str, Any]) -> dict[str, Any]:
    raw = {
        "payer": body.get("payer_id"),
        "plan": body.get("plan"),
        "state": body.get("state"),
        "code": service.get("code"),
        "units": service.get("units"),
        "pos": service.get("pos"),
        "date": service.get("from"),
        "encounter": "request",  # the lines of one request are one encounter (pairing rules)
    }
    item: dict[str, Any] = {
        key: value if isinstance(value, str) or value is None else str(value)
        for key, value in raw.items()
    }
    item["diagnoses"] = _list(service.get("diagnoses"))
    return item


# -- parts of a decision -----------------------------------------------------------------------


def _decision_lines(value: object, found: list[Issue]) -> tuple[LineDecision, ...]:
    lines: list[LineDecision] = []
    for i, item in enumerate(_list(value)):
        at = f"lines[{i}]"
        if not isinstance(item, Mapping):
            found.append(_issue(at, "invalid", "each line is an object with code, approved_units."))
            continue
        _unknown(item, LINE_FIELDS, f"{at}.", found)
        code = _parse(codes.procedure_code, item.get("code"), f"{at}.code", found)
        status = _choice(item.get("status") or "approved", LineStatus, f"{at}.status", found)
        units = _count(item.get("approved_units", 0), f"{at}.approved_units", found)
        other = item.get("approved_code")
        approved = (
            _parse(codes.procedure_code, other, f"{at}.approved_code", found) if other else None
        )
        if code is not None and status is not None and units is not None:
            lines.append(LineDecision(code, units, status, approved))
    return tuple(lines)


# -- field readers: each appends its issue and returns None on a problem ----------------------


def _object(payload: object, location: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise InvalidInput.field(location, f"{location}: expected a JSON object.")
    return payload


def _unknown(
    item: Mapping[str, Any], allowed: Sequence[str], prefix: str, found: list[Issue]
) -> None:
    for name in sorted(set(map(str, item)) - set(allowed)):
        where = f"{prefix}{name}"
        found.append(_issue(where, "unknown-field", f"unknown field; use {', '.join(allowed)}."))


def _text(
    item: Mapping[str, Any],
    name: str,
    found: list[Issue],
    *,
    required: bool = True,
    at: str | None = None,
) -> str | None:
    where = at or name
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            found.append(_issue(where, "required", "this field is required."))
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        found.append(_issue(where, "invalid", f"expected text of at most {MAX_TEXT} characters."))
        return None
    return value.strip()


def _date(
    value: object, where: str, found: list[Issue], *, required: bool = True, echo: bool = True
) -> dt.date | None:
    if value is None or value == "":
        if required:
            found.append(_issue(where, "required", "a date written YYYY-MM-DD is required."))
        return None
    if echo:
        return _parse(codes.iso_date, value, where, found)
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        # No echo: a date of birth is PHI and must not appear in an error message.
        found.append(_issue(where, "invalid", "expected a date written YYYY-MM-DD."))
        return None


def _choice(value: object, kind: Callable[[Any], T], where: str, found: list[Issue]) -> T | None:
    try:
        return kind(value)
    except ValueError:
        options = ", ".join(str(option) for option in kind)  # type: ignore[attr-defined]
        found.append(_issue(where, "invalid", f"{value!r} is not valid; use one of {options}."))
        return None


def _flag(value: object, where: str, found: list[Issue]) -> bool | None:
    if isinstance(value, bool):
        return value
    found.append(_issue(where, "invalid", "expected true or false."))
    return None


def _count(value: object, where: str, found: list[Issue]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    found.append(_issue(where, "invalid", "expected a whole number of units (0 or more)."))
    return None


def _strings(value: object, where: str, found: list[Issue]) -> tuple[str, ...]:
    items = _list(value)
    if not all(isinstance(item, str) for item in items):
        found.append(_issue(where, "invalid", "expected a list of codes."))
        return ()
    return tuple(item.strip() for item in items if item.strip())


def _list(value: object) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", ";").split(";") if part.strip()]
    return list(value) if isinstance(value, list | tuple) else [value]


def _parse(
    parse: Callable[[Any, str], T], value: object, where: str, found: list[Issue]
) -> T | None:
    if value is None or value == "":
        found.append(_issue(where, "required", "this field is required."))
        return None
    try:
        return parse(value if isinstance(value, str | dt.date) else str(value), where)
    except InvalidInput as error:
        found.extend(error.issues)
        return None


def _issue(where: str, code: str, message: str) -> Issue:
    return Issue(code, f"{where}: {message}", where)


def _raise_if(found: list[Issue], what: str) -> None:
    """One issue per location (the requirement check and the domain both look at codes)."""
    seen: dict[str, Issue] = {}
    for issue in found:
        seen.setdefault(issue.location, issue)
    if seen:
        issues = list(seen.values())
        count = "1 problem" if len(issues) == 1 else f"{len(issues)} problems"
        raise InvalidInput(f"The {what} has {count}; correct and try again.", issues)
