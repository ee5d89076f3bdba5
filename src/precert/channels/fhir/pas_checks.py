"""The PAS profile rules precert relies on, written in FHIRPath (fhirpathpy over plain dicts).

`check_request_bundle(bundle)` lists every broken rule as an Issue located at the failing element
("Bundle.entry[0].resource.item[1].productOrService"); `require_valid_request` raises them as one
InvalidInput. The rules are the ones our payers and our own reader depend on, not the whole
StructureDefinition: the Bundle is a collection whose first entry is a preauthorization Claim; the
Claim has its required elements; each item has a unique sequence, a code and the certification
and request-type extensions; every reference the Claim makes resolves to one entry of the Bundle;
no resource appears twice. Every IG example request Bundle (PAS 2.0.1 and 2.2.1) passes them.

An update or cancellation (a Claim with `related`, or profile-claim-update) must flag every item
it cancels (certificationType 3) with `infoCancelled`, and its `related` (PAS 2.1 on) must name
the prior Claim with relationship `prior`, carried in the Bundle under a different identifier
(PAS Claim Update profile; see pas_bundle.update_bundle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import fhirpathpy

from precert.errors import InvalidInput, Issue

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"


@dataclass(frozen=True, slots=True)
class Rule:
    """One FHIRPath expression that must be true at `element` (relative to what it runs on)."""

    code: str
    element: str
    expression: str
    message: str


BUNDLE_RULES = (
    Rule("invalid", "", "resourceType = 'Bundle'", "a PAS request must be a Bundle."),
    Rule("invalid", "type", "type = 'collection'", "a PAS request Bundle has type 'collection'."),
    Rule("required", "entry", "entry.exists()", "the Bundle has no entries; the Claim goes first."),
    Rule(
        "invalid",
        "entry[0].resource",
        "entry.first().resource.resourceType = 'Claim'",
        "the first entry of a PAS request Bundle must be the Claim.",
    ),
)
CLAIM_RULES = (
    Rule(
        "invalid",
        "use",
        "use = 'preauthorization'",
        "the Claim's use must be 'preauthorization' for a prior authorization request.",
    ),
    Rule("required", "status", "status.exists()", "the Claim needs a status (active)."),
    Rule("required", "type", "type.coding.code.exists()", "the Claim needs its type."),
    Rule("required", "patient", "patient.reference.exists()", "the Claim must name the patient."),
    Rule("required", "created", "created.exists()", "the Claim needs its creation time."),
    Rule("required", "insurer", "insurer.reference.exists()", "the Claim must name the insurer."),
    Rule(
        "required",
        "provider",
        "provider.reference.exists()",
        "the Claim must name the requesting provider.",
    ),
    Rule("required", "priority", "priority.coding.code.exists()", "the Claim needs its priority."),
    Rule(
        "required",
        "insurance",
        "insurance.coverage.reference.exists()",
        "the Claim must reference the patient's Coverage.",
    ),
    Rule("required", "item", "item.exists()", "the Claim needs at least one service item."),
    Rule(
        "duplicate",
        "item",
        "item.sequence.isDistinct()",
        "each Claim item needs its own sequence number; two items share one.",
    ),
)
ITEM_RULES = (
    Rule("required", "sequence", "sequence.exists()", "the item needs its sequence number."),
    Rule(
        "required",
        "productOrService",
        "productOrService.coding.code.exists()",
        "the item needs the code of the service requested (CPT, HCPCS or service type).",
    ),
    Rule(
        "required",
        "extension(certificationType)",
        f"'{PAS}extension-certificationType' in extension.url",
        "the item needs the certification type extension (X12 1322, e.g. I for initial).",
    ),
    Rule(
        "required",
        "extension(serviceItemRequestType)",
        f"'{PAS}extension-serviceItemRequestType' in extension.url",
        "the item needs the service item request type extension (X12 1525: HS, AR, SC).",
    ),
    Rule(
        "invalid",
        "quantity",
        "quantity.empty() or quantity.value > 0",
        "the item's quantity must be a positive number of units.",
    ),
)

# PAS Claim Update (profile-claim-update): the update names the Claim it changes in `related`
# (relationship `prior`, the IG's update example), and "a Claim.item entry that represents an item
# no longer being requested ... SHALL be flagged using the infoCancelled" modifier extension; an
# item whose certification type is X12 1322 "3" (cancel) is such an item.
UPDATE_PROFILE = PAS + "profile-claim-update"
RELATED_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
UPDATE_CLAIM_RULES = (
    Rule(
        "required",
        "related",
        f"related.where(relationship.coding.where(system = '{RELATED_SYSTEM}' and code = 'prior')"
        ".exists()).claim.reference.exists()",
        "an update names the Claim it changes in related.claim, with relationship 'prior'.",
    ),
)
UPDATE_ITEM_RULES = (
    Rule(
        "required",
        "modifierExtension(infoCancelled)",
        f"extension.where(url = '{PAS}extension-certificationType').valueCodeableConcept"
        f".coding.code contains '3' implies modifierExtension.where(url = "
        f"'{PAS}modifierextension-infoCancelled' and valueBoolean = true).exists()",
        "an item cancelled in an update (certification type 3) must carry the infoCancelled "
        "modifier extension set to true.",
    ),
)

_COMPILED: dict[str, Callable[[Any, Any], list[Any]]] = {}


def _holds(rule: Rule, node: Mapping[str, Any]) -> bool:
    evaluate = _COMPILED.get(rule.expression)
    if evaluate is None:
        evaluate = _COMPILED[rule.expression] = fhirpathpy.compile(rule.expression)
    try:
        result = evaluate(node, {})
    except Exception:  # noqa: BLE001 - fhirpathpy raises assorted errors on non-FHIR shapes
        return False
    return result == [True]


def check_request_bundle(bundle: object) -> list[Issue]:
    """Every PAS rule `bundle` breaks, located; empty when it can be submitted."""
    if not isinstance(bundle, Mapping):
        return [_issue("invalid", "Bundle", "a PAS request must be a JSON object (a Bundle).")]
    shape = _shape_issues(bundle)
    if shape:
        return shape
    found = _run(BUNDLE_RULES, bundle, "Bundle")
    if found:
        return found
    claim = bundle["entry"][0]["resource"]
    at = "Bundle.entry[0].resource"
    found = _run(CLAIM_RULES, claim, at)
    items = claim.get("item")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, Mapping):
            found.append(_issue("invalid", f"{at}.item[{i}]", "each item must be an object."))
            continue
        found.extend(_run(ITEM_RULES, item, f"{at}.item[{i}]"))
    found.extend(_duplicate_issues(bundle["entry"]))
    found.extend(_reference_issues(bundle["entry"], claim, at))
    if is_update(claim):
        found.extend(_update_issues(bundle["entry"], claim, at))
    return found


def is_update(claim: Mapping[str, Any]) -> bool:
    """Whether a Claim updates or cancels an earlier one (profile-claim-update or `related`)."""
    meta = claim.get("meta")
    profiles = meta.get("profile") if isinstance(meta, Mapping) else None
    return bool(claim.get("related")) or (isinstance(profiles, list) and UPDATE_PROFILE in profiles)


def _update_issues(
    entries: list[Mapping[str, Any]], claim: Mapping[str, Any], at: str
) -> list[Issue]:
    # PAS 2.0.1's update example reuses the prior Claim's identifier and has no `related`; 2.1 on
    # name the prior Claim. Either is accepted; a `related` must then be a proper one.
    found = _run(UPDATE_CLAIM_RULES, claim, at) if "related" in claim else []
    items = claim.get("item")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, Mapping):
            found.extend(_run(UPDATE_ITEM_RULES, item, f"{at}.item[{i}]"))
    if found:
        return found
    # The prior Claim must be in the Bundle (the profile: it SHALL be included) and be another
    # Claim: an update that names itself, or a Claim under the same identifier, changes nothing.
    related = claim.get("related")
    for n, link in enumerate(related if isinstance(related, list) else []):
        target = link.get("claim") if isinstance(link, Mapping) else None
        reference = target.get("reference") if isinstance(target, Mapping) else None
        prior = _entry_for(entries, reference)
        where = f"{at}.related[{n}].claim.reference"
        if prior is None:
            continue  # a reference to nothing is already reported by _reference_issues
        if prior.get("resourceType") != "Claim":
            found.append(_issue("invalid", where, "related.claim must name the prior Claim."))
        elif prior is claim or _identifier_set(prior) & _identifier_set(claim):
            found.append(
                _issue(
                    "invalid",
                    where,
                    "the update needs its own Claim identifier, not the prior Claim's.",
                )
            )
    return found


def _entry_for(entries: list[Mapping[str, Any]], reference: object) -> Mapping[str, Any] | None:
    if not isinstance(reference, str):
        return None
    tail = "/".join(reference.rsplit("/", 2)[-2:])
    for entry in entries:
        keys = set(_keys(entry))
        if reference in keys or tail in keys:
            resource = entry["resource"]
            return resource if isinstance(resource, Mapping) else None
    return None


def _identifier_set(claim: Mapping[str, Any]) -> set[tuple[str, str]]:
    identifiers = claim.get("identifier")
    return {
        (str(i.get("system") or ""), str(i.get("value")))
        for i in (identifiers if isinstance(identifiers, list) else [])
        if isinstance(i, Mapping) and i.get("value")
    }


def require_valid_request(bundle: object) -> Mapping[str, Any]:
    """`bundle` unchanged, or InvalidInput listing every PAS rule it breaks."""
    found = check_request_bundle(bundle)
    if found:
        count = "1 problem" if len(found) == 1 else f"{len(found)} problems"
        raise InvalidInput(f"The PAS request Bundle has {count}; correct and try again.", found)
    assert isinstance(bundle, Mapping)
    return bundle


def _all_of(rules: tuple[Rule, ...]) -> Rule:
    """The rules joined with `and`: one evaluation for the common case where all hold."""
    joined = " and ".join(f"({rule.expression})" for rule in rules)
    return Rule("invalid", "", joined, "")


_ALL = {
    id(rules): _all_of(rules)
    for rules in (BUNDLE_RULES, CLAIM_RULES, ITEM_RULES, UPDATE_CLAIM_RULES, UPDATE_ITEM_RULES)
}


def _run(rules: tuple[Rule, ...], node: Mapping[str, Any], at: str) -> list[Issue]:
    if _holds(_ALL[id(rules)], node):
        return []
    found = []
    for rule in rules:
        if not _holds(rule, node):
            location = f"{at}.{rule.element}" if rule.element else at
            found.append(_issue(rule.code, location, rule.message))
    return found


def _shape_issues(bundle: Mapping[str, Any]) -> list[Issue]:
    """What FHIRPath cannot locate: entries that are not objects holding a resource object."""
    entries = bundle.get("entry")
    if entries is None:
        return []
    if not isinstance(entries, list):
        return [_issue("invalid", "Bundle.entry", "entry must be a list of entries.")]
    found = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            found.append(
                _issue(
                    "invalid",
                    f"Bundle.entry[{i}].resource",
                    "each entry needs a resource object with its resourceType.",
                )
            )
    return found


def _keys(entry: Mapping[str, Any]) -> Iterator[str]:
    """The names a reference may use for an entry: its fullUrl and Type/id (also at the end of an
    absolute fullUrl, as the IG examples write them)."""
    full_url = entry.get("fullUrl")
    resource = entry["resource"]
    if isinstance(full_url, str) and full_url:
        yield full_url
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        yield f"{resource['resourceType']}/{rid}"


def _duplicate_issues(entries: list[Mapping[str, Any]]) -> list[Issue]:
    found = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        for key in set(_keys(entry)):
            if key in seen:
                found.append(
                    _issue(
                        "duplicate",
                        f"Bundle.entry[{i}]",
                        f"{key} is already entry {seen[key]}; include each resource once.",
                    )
                )
            else:
                seen[key] = i
    return found


def _references(node: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "reference":
                yield path, value
            else:
                yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, f"{path}[{i}]")


def _reference_issues(
    entries: list[Mapping[str, Any]], claim: Mapping[str, Any], at: str
) -> list[Issue]:
    """Every reference the Claim makes must name an entry of this Bundle (contained '#x' aside)."""
    known = {key for entry in entries for key in _keys(entry)}
    found = []
    for path, value in _references(claim, at):
        if not isinstance(value, str) or not value:
            found.append(_issue("invalid", f"{path}.reference", "a reference must be a string."))
            continue
        if value.startswith("#") or value in known:
            continue
        tail = "/".join(value.rsplit("/", 2)[-2:])  # an absolute reference to a Type/id we hold
        if tail in known:
            continue
        found.append(
            _issue(
                "not-found",
                f"{path}.reference",
                f"{value} is not in the Bundle; include every resource the Claim references.",
            )
        )
    return found


def _issue(code: str, location: str, message: str) -> Issue:
    return Issue(code, f"{location}: {message}", location)
