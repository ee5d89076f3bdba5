"""Coverage Requirements Discovery (Da Vinci CRD, CDS Hooks): is authorization needed at ordering?

A hook request carries the clinician's orders (draft orders for order-sign / order-select,
appointments for appointment-book, dispatched orders for order-dispatch) and the patient's
Coverage (prefetch, or a Coverage in the context bundle). Each order becomes our `Service` values
(its CPT/HCPCS codes and billing options), answered by the requirement engine; an approved
authorization of the organization that covers the code and date answers `satisfied` with its
number. The answer per order is the CRD coverage-information extension (as an `update` system
action) and, where a person must act, a card in words a clinician reads.

Pure mapping of dicts; the only I/O is the rule book and the look-up of existing authorizations.
Member ids are PHI: they go to the blind-index search only, never into messages or logs.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from precert.domain.authorizations import AuthorizationRequest, Status, TimelineEvent
from precert.domain.determinations import standing_determination
from precert.domain.requirements import Requirement, RuleBook
from precert.domain.rules import Decision
from precert.errors import InvalidInput, Issue
from precert.services import audit
from precert.services.accounts import Actor
from precert.services.authorization_requests import request_repository
from precert.services.context import Context
from precert.services.requirements import parse_services

COVERAGE_INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
# Billing code systems whose codes the rule packs list (CPT and HCPCS Level II).
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
BILLING_SYSTEMS = frozenset(
    {
        CPT,
        HCPCS,
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "urn:oid:2.16.840.1.113883.6.12",  # CPT
        "urn:oid:2.16.840.1.113883.6.285",  # HCPCS
    }
)
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
POS_SYSTEMS = frozenset(
    {
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
        "http://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes",
        "https://terminology.hl7.org/CodeSystem/CMSPlaceofServiceCodes",
        "http://terminology.hl7.org/CodeSystem/CMSPlaceofServiceCodes",
        "urn:oid:2.16.840.1.113883.6.50",
    }
)
# Encounter.class (v3 ActCode) -> our care setting, where the class says it. Ambulatory (AMB)
# says nothing: it may be an office, a hospital outpatient department or an ASC.
ENCOUNTER_SETTING: dict[str, str] = {
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "EMER": "emergency",
    "HH": "home",
    "VR": "telehealth",
}

# Hook -> the context field that holds its orders.
HOOKS: dict[str, str] = {
    "order-sign": "draftOrders",
    "order-select": "draftOrders",
    "appointment-book": "appointments",
    "order-dispatch": "dispatchedOrders",
}
ORDER_TYPES = frozenset(
    {
        "ServiceRequest",
        "DeviceRequest",
        "MedicationRequest",
        "Appointment",
        "NutritionOrder",
        "VisionPrescription",
        "CommunicationRequest",
    }
)

# Our decision -> CRD pa-needed. "notification": the payer must be told but does not approve.
PA_NEEDED: dict[Decision, str] = {
    Decision.REQUIRED: "auth-needed",
    Decision.NOTIFICATION: "no-auth",
    Decision.CONDITIONAL: "conditional",
    Decision.NOT_REQUIRED: "no-auth",
    Decision.UNKNOWN: "indeterminate",
}
# Which answer wins when an order has several billing codes: the one asking most of the clinician.
STRICTNESS: dict[Decision, int] = {
    Decision.REQUIRED: 4,
    Decision.CONDITIONAL: 3,
    Decision.NOTIFICATION: 2,
    Decision.NOT_REQUIRED: 1,
    Decision.UNKNOWN: 0,
}


@dataclass(frozen=True, slots=True)
class Order:
    """One order of the hook, with what we read from it."""

    reference: str  # "ServiceRequest/123"
    resource: dict[str, Any]
    codes: tuple[str, ...]
    display: str  # the EHR's own words for the order ("" when it gives none)
    date: dt.date | None
    diagnoses: tuple[str, ...] = ()
    pos: str | None = None


@dataclass(slots=True)
class OrderAnswer:
    """The answer for one order: pa-needed and what follows from it."""

    order: Order
    pa_needed: str
    covered: str
    requirements: list[Requirement] = field(default_factory=list)
    satisfied_by: str = ""  # the authorization number of an approved request
    reasons: list[str] = field(default_factory=list)
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """What the CDS service returns: cards and system actions, as CDS Hooks JSON."""

    cards: list[dict[str, Any]]
    system_actions: list[dict[str, Any]]
    answers: list[OrderAnswer]

    def as_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "systemActions": self.system_actions}


# -- validation ----------------------------------------------------------------------------------


def validate_hook_request(body: object, hook: str) -> dict[str, Any]:
    """The hook request as a dict, or InvalidInput naming every field that is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput.field("body", "The request body must be a JSON object (a hook request).")
    issues: list[Issue] = []
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance.strip():
        issues.append(_issue("hookInstance", "hookInstance is required: a UUID for this call"))
    given = body.get("hook")
    if not isinstance(given, str) or not given.strip():
        issues.append(_issue("hook", f"hook is required; this service answers {hook!r}"))
    elif given != hook:
        issues.append(
            _issue("hook", f"hook is {given!r} but this service answers {hook!r}", "mismatch")
        )
    context = body.get("context")
    if not isinstance(context, dict):
        issues.append(_issue("context", "context is required: an object with the hook's fields"))
    else:
        issues.extend(_context_issues(context, hook))
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        issues.append(_issue("prefetch", "prefetch must be an object of FHIR resources"))
    if issues:
        extra = len(issues) - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise InvalidInput(issues[0].message + more, issues)
    return body


def _context_issues(context: Mapping[str, Any], hook: str) -> list[Issue]:
    issues: list[Issue] = []
    patient = context.get("patientId")
    if not isinstance(patient, str) or not patient.strip():
        issues.append(_issue("context.patientId", "context.patientId is required"))
    name = HOOKS[hook]
    if hook == "order-dispatch":
        orders = context.get("dispatchedOrders", context.get("order"))
        if isinstance(orders, str):
            orders = [orders]
        if not isinstance(orders, list) or not all(isinstance(o, str) for o in orders):
            issues.append(
                _issue(
                    "context.dispatchedOrders",
                    "context.dispatchedOrders is required: a list of order references",
                )
            )
        return issues
    bundle = context.get(name)
    where = f"context.{name}"
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        issues.append(_issue(where, f"{where} is required: a FHIR Bundle of the orders"))
        return issues
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        issues.append(_issue(f"{where}.entry", f"{where}.entry must be a list"))
        return issues
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        at = f"{where}.entry[{i}].resource"
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            issues.append(_issue(at, f"{at} must be a FHIR resource with a resourceType"))
    selections = context.get("selections")
    if (hook == "order-select" and selections is not None) and (
        not isinstance(selections, list) or not all(isinstance(s, str) for s in selections)
    ):
        issues.append(
            _issue("context.selections", "context.selections must be a list of references")
        )
    return issues


def _issue(location: str, message: str, code: str = "required") -> Issue:
    return Issue(code, message, location)


# -- reading the request -------------------------------------------------------------------------


def orders_of(body: Mapping[str, Any], hook: str) -> list[Order]:
    """The orders this hook asks about, in the order the EHR sent them."""
    context = _obj(body.get("context"))
    if hook == "order-dispatch":
        refs = context.get("dispatchedOrders", context.get("order"))
        refs = [refs] if isinstance(refs, str) else [r for r in _list(refs) if isinstance(r, str)]
        known = {_ref_of(r): r for r in _all_resources(body)}
        out = []
        for ref in refs:
            short = _short_ref(ref)
            kind, _, rid = short.partition("/")
            resource = known.get(short, {"resourceType": kind, "id": rid})
            out.append(_order(short, resource))
        return out
    resources = _resources(context.get(HOOKS[hook]))
    orders = [r for r in resources if _text(r.get("resourceType")) in ORDER_TYPES]
    selections = [s for s in _list(context.get("selections")) if isinstance(s, str)]
    if hook == "order-select" and selections:
        chosen = {_short_ref(s) for s in selections}
        orders = [r for r in orders if _ref_of(r) in chosen] or orders
    return [_order(_ref_of(r), r) for r in orders]


def _order(reference: str, resource: dict[str, Any]) -> Order:
    concept = (
        resource.get("code")
        or resource.get("codeCodeableConcept")
        or resource.get("medicationCodeableConcept")
    )
    concepts = [_obj(concept)]
    if resource.get("resourceType") == "Appointment":
        concepts = [*_objs(resource.get("serviceType")), _obj(resource.get("appointmentType"))]
    codes: list[str] = []
    for c in concepts:
        codes += _codes(c, BILLING_SYSTEMS)
        for ext in _objs(c.get("extension")):
            if ext.get("url") == BILLING_OPTIONS:
                codes += _codes(_obj(ext.get("valueCodeableConcept")), BILLING_SYSTEMS)
    display = ""
    for c in concepts:
        displays = [_text(x.get("display")) for x in _objs(c.get("coding"))]
        display = _text(c.get("text")) or next((d for d in displays if d), "")
        if display:
            break
    diagnoses = [d for r in _objs(resource.get("reasonCode")) for d in _codes(r, {ICD10CM})]
    places = [p for loc in _objs(resource.get("locationCode")) for p in _codes(loc, POS_SYSTEMS)]
    return Order(
        reference,
        resource,
        tuple(dict.fromkeys(codes)),
        display.strip(),
        _order_date(resource),
        tuple(diagnoses),
        places[0] if places else None,
    )


def _codes(concept: Mapping[str, Any], systems: Set[str]) -> list[str]:
    """The codes of a CodeableConcept's codings in one of `systems`."""
    return [
        _text(coding.get("code")).strip()
        for coding in _objs(concept.get("coding"))
        if _text(coding.get("system")) in systems and _text(coding.get("code")).strip()
    ]


def _order_date(resource: Mapping[str, Any]) -> dt.date | None:
    requested = _objs(resource.get("requestedPeriod"))
    for value in (
        resource.get("occurrenceDateTime"),
        _obj(resource.get("occurrencePeriod")).get("start"),
        resource.get("start"),
        requested[0].get("start") if requested else None,
        _obj(_obj(resource.get("dispenseRequest")).get("validityPeriod")).get("start"),
    ):
        found = _date(value[:10]) if isinstance(value, str) else None
        if found is not None:
            return found
    return None


def setting_of(body: Mapping[str, Any]) -> str | None:
    """The care setting the Encounter's class says, if it says one."""
    for resource in _all_resources(body):
        if resource.get("resourceType") == "Encounter":
            return ENCOUNTER_SETTING.get(_text(_obj(resource.get("class")).get("code")))
    return None


def coverage_of(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The patient's active Coverage: from prefetch, else from the context's bundles."""
    for resource in _all_resources(body):
        if resource.get("resourceType") == "Coverage" and resource.get("status", "active") in (
            "active",
            "draft",
        ):
            return resource
    return None


def _all_resources(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source in (_obj(body.get("prefetch")), _obj(body.get("context"))):
        for value in source.values():
            out.extend(_resources(value))
    return out


def _resources(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        entries = (_obj(e).get("resource") for e in _list(value.get("entry")))
        return [r for r in entries if isinstance(r, dict)]
    return [value] if isinstance(value.get("resourceType"), str) else []


def _ref_of(resource: Mapping[str, Any]) -> str:
    return f"{_text(resource.get('resourceType'))}/{_text(resource.get('id'))}"


def _short_ref(reference: str) -> str:
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


# Hook requests are the EHR's JSON: any element may have an unexpected shape, which reads as absent.


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _objs(value: object) -> list[dict[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- payer -------------------------------------------------------------------------------------


def payer_for(
    coverage: Mapping[str, Any] | None, book: RuleBook, aliases: Mapping[str, str]
) -> str | None:
    """The pack id of the Coverage's payor: a configured alias, a pack id, an X12 payer id, or a
    pack whose name matches the payor's display name (ignoring "plan" and parentheses)."""
    if coverage is None:
        return None
    keys: list[str] = []
    for payor in _objs(coverage.get("payor")):
        keys.append(_text(_obj(payor.get("identifier")).get("value")))
        keys.append(_short_ref(_text(payor.get("reference"))))
        keys.append(_text(payor.get("display")))
    keys = [k.strip() for k in keys if k.strip()]
    lowered = {k.lower(): v for k, v in aliases.items()}
    for key in keys:
        plain = key.rpartition("/")[2].lower()
        for candidate in (key.lower(), plain):
            if candidate in lowered:
                return lowered[candidate]
            if candidate in book:
                return candidate
    for pack in book.packs:
        names = {_name_key(pack.name), _name_key(pack.id)}
        if any(_name_key(k) in names or k in pack.x12_payer_ids for k in keys):
            return pack.id
    return None


def _name_key(text: str) -> str:
    text = re.sub(r"\(.*?\)", " ", text.lower())
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in ("plan", "the", "inc")]
    return " ".join(words)


def _plan(coverage: Mapping[str, Any] | None, book: RuleBook, payer: str | None) -> str | None:
    if coverage is None or payer is None or payer not in book:
        return None
    plans = book.pack(payer).plans
    for cls in _objs(coverage.get("class")):
        types = {_text(c.get("code")) for c in _objs(_obj(cls.get("type")).get("coding"))}
        value = _text(cls.get("value")).strip().lower()
        if "plan" in types and value in plans:
            return value
    return None


def member_id_of(coverage: Mapping[str, Any] | None) -> str | None:
    """The member id on the Coverage (identifier typed MB, else subscriberId); PHI."""
    if coverage is None:
        return None
    for identifier in _objs(coverage.get("identifier")):
        types = {_text(c.get("code")) for c in _objs(_obj(identifier.get("type")).get("coding"))}
        if "MB" in types and _text(identifier.get("value")).strip():
            return _text(identifier.get("value")).strip()
    value = _text(coverage.get("subscriberId")).strip()
    return value or None


# -- answering -----------------------------------------------------------------------------------


def answer_hook(
    ctx: Context,
    body: Mapping[str, Any],
    hook: str,
    *,
    actor: Actor | None = None,
    payer_aliases: Mapping[str, str] | None = None,
) -> HookAnswer:
    """Answer a validated hook request: one coverage-information action per order, and cards.

    `actor`: who the call comes from (a precert API token); their organization's approved
    authorizations can answer "satisfied", and each look-up is audited under their name."""
    book = ctx.rulebook()
    coverage = coverage_of(body)
    payer = payer_for(coverage, book, payer_aliases or {})
    plan = _plan(coverage, book, payer)
    today = ctx.today()
    setting = setting_of(body)
    answers = [
        _answer_order(book, order, payer, plan, setting, today) for order in orders_of(body, hook)
    ]
    member = member_id_of(coverage)
    if actor is not None and payer and member:
        _mark_satisfied(ctx, answers, actor, payer, member)
    instance = str(body.get("hookInstance"))
    payer_name = book.pack(payer).name if payer and payer in book else "the payer"
    coverage_ref = _ref_of(coverage) if coverage else None
    actions = [_action(answer, instance, coverage_ref, today) for answer in answers]
    cards = [c for a in answers if (c := _card(a, payer_name, instance)) is not None]
    return HookAnswer(cards, actions, answers)


def _answer_order(
    book: RuleBook,
    order: Order,
    payer: str | None,
    plan: str | None,
    setting: str | None,
    today: dt.date,
) -> OrderAnswer:
    date = order.date or today
    if payer is None:
        reason = "The patient's payer is not one precert has rules for; verify with the payer."
        return OrderAnswer(order, "indeterminate", "conditional", reasons=[reason], date=date)
    if not order.codes:
        reason = "The order has no CPT or HCPCS billing code, so no payer rule can be matched."
        return OrderAnswer(order, "indeterminate", "conditional", reasons=[reason], date=date)
    items = [
        {
            "payer": payer,
            "code": code,
            "date": date.isoformat(),
            "plan": plan,
            # The order's own place of service wins over the encounter's class.
            "pos": order.pos,
            "setting": None if order.pos else setting,
            "diagnoses": list(order.diagnoses),
            "encounter": order.reference,
        }
        for code in order.codes
    ]
    parsed = parse_services(items, book, today=today, strict_payer=False)
    requirements = [book.requirement_for(s) for s in parsed.services if s is not None]
    reasons = [i.message for i in parsed.issues]
    if not requirements:
        return OrderAnswer(order, "indeterminate", "conditional", reasons=reasons, date=date)
    # Billing options are alternatives the payer may be billed with: the strictest one decides.
    strongest = max(requirements, key=lambda r: STRICTNESS[r.decision])
    covered = "conditional" if strongest.decision is Decision.UNKNOWN else "covered"
    return OrderAnswer(
        order, PA_NEEDED[strongest.decision], covered, requirements, reasons=reasons, date=date
    )


def _mark_satisfied(
    ctx: Context, answers: Sequence[OrderAnswer], actor: Actor, payer: str, member: str
) -> None:
    organization_id = actor.organization_id
    pending = [a for a in answers if a.pa_needed in ("auth-needed", "conditional")]
    if not pending:
        return
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        grants: list[Grant] = []
        for status in (Status.APPROVED, Status.PARTIALLY_APPROVED):
            for request in repo.search(
                organization_id, status=status, payer_id=payer, member_id=member
            ):
                grant = grant_of(request, repo.timeline(organization_id, request.id))
                if grant is not None:
                    grants.append(grant)
        for answer in pending:
            codes = {r.code for r in answer.requirements}
            grant = next((g for g in grants if g.covers(codes, answer.date)), None)
            if grant is None:
                continue
            answer.pa_needed = "satisfied"
            answer.satisfied_by = grant.number
            answer.reasons.insert(0, "An approved authorization on file covers this order.")
            audit.record(
                uow,
                actor=actor.email,
                action="view",
                entity="authorization_request",
                entity_id=grant.request_id,
                organization_id=organization_id,
                reason="CRD coverage check",
                at=ctx.now(),
            )
        uow.commit()


@dataclass(frozen=True, slots=True)
class Grant:
    """What an approved request allows: codes, over a period, under a number."""

    request_id: str
    number: str
    codes: frozenset[str]
    start: dt.date
    end: dt.date

    def covers(self, codes: set[str], date: dt.date | None) -> bool:
        return date is not None and bool(codes & self.codes) and self.start <= date <= self.end


def grant_of(request: AuthorizationRequest, timeline: Sequence[TimelineEvent]) -> Grant | None:
    """The latest decision's approved lines and validity; the request's lines and dates where the
    decision does not say."""
    decision = standing_determination(timeline)
    if not decision:
        return None
    lines = decision.get("lines") or []
    codes = frozenset(
        str(line.get("approved_code") or line.get("code"))
        for line in lines
        if line.get("status") != "denied"
    ) or frozenset(line.code for line in request.lines)
    start = _date(decision.get("valid_from")) or min(line.from_date for line in request.lines)
    end = _date(decision.get("valid_to")) or max(line.to_date for line in request.lines)
    return Grant(request.id, str(decision.get("authorization_number") or ""), codes, start, end)


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def assertion_id(hook_instance: str, reference: str) -> str:
    """Stable for a retried call of the same hook instance, unique across orders."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"precert-crd:{hook_instance}:{reference}"))


def coverage_information(
    answer: OrderAnswer, hook_instance: str, coverage_ref: str | None, today: dt.date
) -> dict[str, Any]:
    """The CRD ext-coverage-information extension for one order."""
    parts: list[dict[str, Any]] = []
    if coverage_ref:
        parts.append({"url": "coverage", "valueReference": {"reference": coverage_ref}})
    parts.append({"url": "covered", "valueCode": answer.covered})
    parts.append({"url": "pa-needed", "valueCode": answer.pa_needed})
    documents = [d for r in answer.requirements for d in r.documents]
    if documents and answer.pa_needed in ("auth-needed", "conditional"):
        parts.append({"url": "doc-needed", "valueCode": "clinical"})
    if answer.pa_needed in ("conditional", "indeterminate"):
        parts.append({"url": "info-needed", "valueCode": "OTH"})
    for code in answer.order.codes:
        system = HCPCS if code[:1].isalpha() else CPT
        parts.append({"url": "billingCode", "valueCoding": {"system": system, "code": code}})
    for text in _reason_texts(answer)[:3]:
        parts.append({"url": "reason", "valueCodeableConcept": {"text": text}})
    parts.append({"url": "date", "valueDate": today.isoformat()})
    parts.append(
        {
            "url": "coverage-assertion-id",
            "valueString": assertion_id(hook_instance, answer.order.reference),
        }
    )
    if answer.satisfied_by:
        parts.append({"url": "satisfied-pa-id", "valueString": answer.satisfied_by})
    return {"url": COVERAGE_INFO, "extension": parts}


def _reason_texts(answer: OrderAnswer) -> list[str]:
    texts = list(answer.reasons)
    for requirement in answer.requirements:
        texts += [r for r in requirement.reasons if not r.startswith("Did not apply")]
    return list(dict.fromkeys(texts))


def _action(
    answer: OrderAnswer, hook_instance: str, coverage_ref: str | None, today: dt.date
) -> dict[str, Any]:
    resource = copy.deepcopy(answer.order.resource)
    kept = [e for e in _list(resource.get("extension")) if _obj(e).get("url") != COVERAGE_INFO]
    info = coverage_information(answer, hook_instance, coverage_ref, today)
    resource["extension"] = [*kept, info]
    return {
        "type": "update",
        "description": f"Coverage information for {answer.order.reference}: {answer.pa_needed}",
        "resource": resource,
    }


def _card(answer: OrderAnswer, payer_name: str, hook_instance: str) -> dict[str, Any] | None:
    """A card where a person must act or should know; none for a plain no-auth."""
    order = answer.order
    codes = ", ".join(order.codes)
    display = _shorten(order.display, 50)
    if display:
        what = f"{display} ({codes})" if codes else display
    else:
        what = codes or f"this {order.reference.partition('/')[0]}"
    decisions = {r.decision for r in answer.requirements}
    documents = list(dict.fromkeys(d for r in answer.requirements for d in r.documents))
    detail: list[str] = []
    indicator = "info"
    if answer.pa_needed == "auth-needed":
        indicator = "warning"
        terms = sorted({p["term"] for r in answer.requirements for p in r.processes})
        word = " and ".join(terms) if terms else "prior authorization"
        summary = f"{word.capitalize()} required by {payer_name} for {what}"
        if documents:
            summary += f": send {documents[0][:1].lower()}{documents[0][1:]}"
        detail.append(f"Request {word} from {payer_name} before the service.")
    elif answer.pa_needed == "satisfied":
        number = f" {answer.satisfied_by}" if answer.satisfied_by else ""
        summary = f"Authorization{number} on file with {payer_name} covers {what}"
        detail.append("Put the authorization number on the claim.")
    elif answer.pa_needed == "conditional":
        summary = f"Prior authorization may be required by {payer_name} for {what}"
        detail.append("Whether it is required depends on facts the order does not give:")
    elif answer.pa_needed == "indeterminate":
        summary = f"Cannot tell whether {payer_name} requires authorization for {what}"
        detail.append("Verify with the payer before the service.")
    elif Decision.NOTIFICATION in decisions:
        summary = f"Notify {payer_name} of {what}: no approval needed"
    else:
        return None
    reasons = _reason_texts(answer)[:4]
    if reasons:
        detail.append("\n".join(f"- {t}" for t in reasons))
    if documents:
        label = "Documents if it is required" if answer.pa_needed == "conditional" else "Documents"
        detail.append(f"{label}: " + "; ".join(documents) + ".")
    turnaround = next((r.turnaround for r in answer.requirements if r.turnaround), {})
    if turnaround.get("standard"):
        detail.append(f"Payer decides within {turnaround['standard']} (standard).")
    return {
        "uuid": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"precert-crd-card:{hook_instance}:{order.reference}")
        ),
        "summary": _shorten(summary, 140),  # CDS Hooks: fewer than 140 characters
        "indicator": indicator,
        "detail": "\n\n".join(detail),
        "source": {
            "label": "precert",
            "topic": {"system": CARD_TYPES, "code": "coverage", "display": "Coverage"},
        },
        "extension": {"davinci-crd.associated-resource": [{"reference": order.reference}]},
    }


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
