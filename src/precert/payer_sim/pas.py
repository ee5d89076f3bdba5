"""The PAS side of the simulator: what a `Claim/$submit` Bundle asks, and the response Bundle
(ClaimResponse first) that answers it with X12 306 review actions per item.

`read_submission` takes the request Bundle (already through our PAS checks) apart into the
Claim's identifier, payer, member id and items; `response_bundle` writes the answer for one
decision per item; `rejection_bundle` the AAA-style rejection of an unknown member. Plain dicts,
as in channels/fhir.

An update (PAS Claim Update: `related` names the prior Claim, which the Bundle carries) is read
into `Submitted.update`: the prior Claim's identifier, the certification type asked (X12 1322:
3 cancel, 4 extension, S revised) and the authorization number the items name;
`amendment_bundle` answers it under the same authorization number (C on every item for a cancel).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from precert.channels.fhir.pas_bundle import (
    EXT_AUTHORIZATION_NUMBER,
    EXT_CERTIFICATION_TYPE,
    EXT_INFO_CANCELLED,
)
from precert.channels.fhir.pas_response import (
    EXT_ADMIN_REFERENCE,
    EXT_AUTHORIZED_DETAIL,
    EXT_ERROR_PATH,
    EXT_FOLLOWUP,
    EXT_PREAUTH_ISSUE_DATE,
    EXT_PREAUTH_PERIOD,
    EXT_REVIEW_ACTION,
    EXT_REVIEW_ACTION_CODE,
    PAS,
    ReviewAction,
)
from precert.errors import InvalidInput
from precert.payer_sim.rules import Decision, Kind

X12 = "https://codesystem.x12.org/005010/"
REASON_SYSTEM = "https://codesystem.x12.org/external/886"
RESPONSE_BUNDLE_PROFILE = PAS + "profile-pas-response-bundle"
CLAIM_RESPONSE_PROFILE = PAS + "profile-claimresponse"
# How long an approval is good for, from the first day of service asked for.
VALID_DAYS = 90
_NAMESPACE = uuid.UUID("0b6a3c1e-4f2d-5a8b-9c7e-2d1f0e3a4b5c")
_REVIEW_DISPLAY = {
    ReviewAction.CERTIFIED: "Certified in total",
    ReviewAction.PARTIAL: "Certified - partial",
    ReviewAction.NOT_CERTIFIED: "Not Certified",
    ReviewAction.PENDED: "Pended",
    ReviewAction.MODIFIED: "Modified",
    ReviewAction.CONTACT_PAYER: "Contact Payer",
    ReviewAction.NOT_REQUIRED: "No Action Required",
}
_ACTIONS = {
    Kind.APPROVE: ReviewAction.CERTIFIED,
    Kind.PARTIAL: ReviewAction.PARTIAL,
    Kind.MODIFY: ReviewAction.MODIFIED,
    Kind.DENY: ReviewAction.NOT_CERTIFIED,
    Kind.PEND: ReviewAction.PENDED,
    Kind.CONTACT_PAYER: ReviewAction.CONTACT_PAYER,
    Kind.NOT_REQUIRED: ReviewAction.NOT_REQUIRED,
}
GRANTED = frozenset({Kind.APPROVE, Kind.PARTIAL, Kind.MODIFY})


@dataclass(frozen=True, slots=True)
class Item:
    sequence: int
    code: str
    units: int
    start: dt.date | None
    end: dt.date | None
    cancelled: bool = False  # the infoCancelled modifier: no longer requested


@dataclass(frozen=True, slots=True)
class Update:
    """What an update Claim changes: the prior Claim (by identifier), the certification type
    of its items (X12 1322), and the authorization number they name (empty when none)."""

    prior: str  # "system|value" of the prior Claim's first identifier
    certification: str
    authorization_number: str


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a request Bundle asks, as far as adjudication needs it."""

    identifier: str  # "system|value" of the Claim's first identifier
    payer: str
    member_id: str
    items: tuple[Item, ...]
    claim: Mapping[str, Any]
    claim_url: str
    carried: tuple[Mapping[str, Any], ...]  # entries the response repeats (patient, insurer...)
    update: Update | None = None  # set when the Claim updates or cancels an earlier one


def claim_identifiers(bundle: Mapping[str, Any]) -> list[str]:
    """Every "system|value" identifier of the Bundle's first-entry Claim (none when absent)."""
    entries = bundle.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    claim = first.get("resource") if isinstance(first, Mapping) else None
    found = []
    identifiers = claim.get("identifier") if isinstance(claim, Mapping) else None
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, Mapping) and isinstance(identifier.get("value"), str):
            found.append(f"{identifier.get('system') or ''}|{identifier['value']}")
    return found


def read_submission(bundle: Mapping[str, Any]) -> Submitted:
    """The parts of a checked request Bundle the rules need; InvalidInput names what is missing."""
    entries: list[Mapping[str, Any]] = bundle["entry"]
    claim = entries[0]["resource"]
    at = "Bundle.entry[0].resource"
    identifiers = claim_identifiers(bundle)
    if not identifiers:
        raise InvalidInput.field(
            f"{at}.identifier",
            f"{at}.identifier: the Claim needs an identifier (system and value); the payer "
            "recognizes a resubmission by it.",
            "required",
        )
    insurer = _resolve(entries, claim.get("insurer"))
    coverage = _resolve(entries, _first_coverage(claim))
    patient = _resolve(entries, claim.get("patient"))
    payer = _identifier_value(insurer) or str((insurer or {}).get("name") or "")
    member = str((coverage or {}).get("subscriberId") or "") or _identifier_value(patient)
    if not member:
        raise InvalidInput.field(
            f"{at}.insurance[0].coverage",
            f"{at}.insurance[0].coverage: the Coverage needs the member id (subscriberId).",
            "required",
        )
    raw_items = claim.get("item")
    if not isinstance(raw_items, list) or not all(isinstance(i, Mapping) for i in raw_items):
        raise InvalidInput.field(f"{at}.item", f"{at}.item: a list of items, each an object.")
    items = tuple(_item(raw, f"{at}.item[{i}]") for i, raw in enumerate(raw_items))
    carried = tuple(
        e
        for e in entries
        if e.get("resource") in (patient, insurer) or _is(e, claim.get("provider"))
    )
    return Submitted(
        identifiers[0],
        payer,
        member,
        items,
        claim,
        str(entries[0].get("fullUrl") or ""),
        carried,
        _update(entries, claim, raw_items, at),
    )


def _update(
    entries: Sequence[Mapping[str, Any]],
    claim: Mapping[str, Any],
    raw_items: list[Mapping[str, Any]],
    at: str,
) -> Update | None:
    """The update a Claim carries (None for a first request): the Claim its `related` names
    with relationship prior, which our checks require the Bundle to hold."""
    related = claim.get("related")
    if not isinstance(related, list) or not related:
        return None
    prior: Mapping[str, Any] | None = None
    for link in related:
        if isinstance(link, Mapping) and "prior" in _codes(link.get("relationship")):
            prior = _resolve(entries, link.get("claim"))
            break
    prior_ids = claim_identifiers({"entry": [{"resource": prior}]}) if prior else []
    if not prior_ids:
        raise InvalidInput.field(
            f"{at}.related",
            f"{at}.related: the prior Claim this update changes must be in the Bundle, with "
            "the identifier it was submitted under.",
            "required",
        )
    certifications = {
        code for raw in raw_items for code in _codes(_extension(raw, EXT_CERTIFICATION_TYPE))
    }
    # A cancel wins over anything else asked in the same update; then an extension, a revision.
    certification = next((c for c in ("3", "4", "S") if c in certifications), "S")
    numbers = [_extension(raw, EXT_AUTHORIZATION_NUMBER) for raw in raw_items]
    number = next((n for n in numbers if isinstance(n, str) and n), "")
    return Update(prior_ids[0], certification, number)


def _extension(raw: Mapping[str, Any], url: str) -> object:
    """The value of `raw`'s extension `url` (valueCodeableConcept or valueString), or None."""
    extensions = raw.get("extension")
    for extension in extensions if isinstance(extensions, list) else []:
        if isinstance(extension, Mapping) and extension.get("url") == url:
            return extension.get("valueCodeableConcept", extension.get("valueString"))
    return None


def _codes(concept: object) -> set[str]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return {
        str(c.get("code"))
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, Mapping) and c.get("code")
    }


def amendment_bundle(
    submitted: Submitted, *, now: dt.datetime, authorization_number: str | None
) -> dict[str, Any]:
    """The answer to an update of an authorization the payer granted (`authorization_number`,
    the same number again: an update never issues a second authorization). A cancel answers
    every item review action C (cancelled), naming the number it withdrew; an extension or a
    revision certifies each item as now asked (its units and dates), except items flagged
    infoCancelled, which are cancelled."""
    cancel = submitted.update is not None and submitted.update.certification == "3"
    items = []
    granted = []
    for item in submitted.items:
        if cancel or item.cancelled:
            items.append(_cancelled_item(item, now, authorization_number))
        else:
            granted.append(item)
            items.append(
                _response_item(item, Decision(Kind.APPROVE), now, authorization_number, "")
            )
    claim_response = _claim_response(submitted, now, "complete")
    claim_response["item"] = items
    if granted and authorization_number:
        claim_response["preAuthRef"] = authorization_number
        period = _period(granted)
        if period:
            claim_response["preAuthPeriod"] = period
    return _bundle(submitted, claim_response, now)


def _cancelled_item(item: Item, now: dt.datetime, number: str | None) -> dict[str, Any]:
    review: list[dict[str, Any]] = []
    if number:
        review.append({"url": "number", "valueString": number})
    review.append(
        {
            "url": EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": _coding(X12 + "306", ReviewAction.CANCELLED.value, "Cancelled"),
        }
    )
    return {
        "extension": [{"url": EXT_PREAUTH_ISSUE_DATE, "valueDate": now.date().isoformat()}],
        "itemSequence": item.sequence,
        "adjudication": [
            {
                "extension": [{"url": EXT_REVIEW_ACTION, "extension": review}],
                "category": _coding(
                    "http://terminology.hl7.org/CodeSystem/adjudication", "submitted"
                ),
            }
        ],
    }


def response_bundle(
    submitted: Submitted,
    decisions: Sequence[Decision],
    *,
    now: dt.datetime,
    authorization_number: str | None,
    reference: str,
) -> dict[str, Any]:
    """The response Bundle: one item per Claim item with its review action; a pended answer
    (any item pended) marks every item A4 with the administration reference to inquire by."""
    pended = any(d.kind is Kind.PEND for d in decisions)
    items = [
        _response_item(
            item,
            Decision(Kind.PEND) if pended else decision,
            now,
            authorization_number,
            reference,
        )
        for item, decision in zip(submitted.items, decisions, strict=True)
    ]
    claim_response = _claim_response(submitted, now, "queued" if pended else "complete")
    claim_response["item"] = items
    if authorization_number and not pended:
        claim_response["preAuthRef"] = authorization_number
        granted = [
            item for item, d in zip(submitted.items, decisions, strict=True) if d.kind in GRANTED
        ]
        period = _period(granted)
        if period:
            claim_response["preAuthPeriod"] = period
    return _bundle(submitted, claim_response, now)


def rejection_bundle(submitted: Submitted, now: dt.datetime) -> dict[str, Any]:
    """The answer for a member the payer does not know: X12 AAA reject 75 (subscriber/insured
    not found), follow-up C (correct and resubmit), located at the Coverage."""
    claim_response = _claim_response(submitted, now, "error")
    claim_response["error"] = [
        {
            "extension": [
                {"url": EXT_ERROR_PATH, "valueString": "Claim.insurance[0].coverage"},
                {
                    "url": EXT_FOLLOWUP,
                    "valueCodeableConcept": _coding(
                        X12 + "889", "C", "Please Correct and Resubmit"
                    ),
                },
            ],
            "code": _coding(X12 + "901", "75", "Subscriber/Insured Not Found"),
        }
    ]
    return _bundle(submitted, claim_response, now)


def _bundle(
    submitted: Submitted, claim_response: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{submitted.identifier}/{now.isoformat()}")),
        "meta": {"profile": [RESPONSE_BUNDLE_PROFILE]},
        "identifier": {"system": "urn:precert:payer-sim:response", "value": claim_response["id"]},
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": f"urn:uuid:{claim_response['id']}", "resource": claim_response},
            *submitted.carried,
        ],
    }


def _claim_response(submitted: Submitted, now: dt.datetime, outcome: str) -> dict[str, Any]:
    claim = submitted.claim
    system, _, value = submitted.identifier.partition("|")
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": str(uuid.uuid5(_NAMESPACE, submitted.identifier)),
        "meta": {"profile": [CLAIM_RESPONSE_PROFILE]},
        "identifier": [{"system": system, "value": value}] if system else [{"value": value}],
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": now.isoformat(),
        "insurer": claim.get("insurer"),
        "requestor": claim.get("provider"),
        "request": {"reference": submitted.claim_url}
        if submitted.claim_url
        else {"identifier": {"system": system, "value": value}},
        "outcome": outcome,
    }
    return {k: v for k, v in response.items() if v is not None}


def _response_item(
    item: Item, decision: Decision, now: dt.datetime, number: str | None, reference: str
) -> dict[str, Any]:
    action = _ACTIONS[decision.kind]
    review: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    if decision.kind in GRANTED and number:
        review.append({"url": "number", "valueString": number})
    review.append(
        {
            "url": EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": _coding(X12 + "306", action.value, _REVIEW_DISPLAY[action]),
        }
    )
    if decision.kind is Kind.DENY:
        review.append(
            {"url": "reasonCode", "valueCodeableConcept": _coding(REASON_SYSTEM, decision.reason)}
        )
    if decision.kind in (Kind.PEND, Kind.CONTACT_PAYER):
        extensions.append({"url": EXT_ADMIN_REFERENCE, "valueString": reference})
    else:
        extensions.append({"url": EXT_PREAUTH_ISSUE_DATE, "valueDate": now.date().isoformat()})
    if decision.kind in GRANTED:
        period = _period([item])
        if period:
            extensions.append({"url": EXT_PREAUTH_PERIOD, "valuePeriod": period})
    if decision.kind in (Kind.PARTIAL, Kind.MODIFY):
        code = decision.code if decision.kind is Kind.MODIFY and decision.code else item.code
        # A partial grant never exceeds what was asked; a modification grants what it names.
        units = decision.units or item.units
        if decision.kind is Kind.PARTIAL:
            units = min(units, item.units)
        extensions.append(
            {
                "url": EXT_AUTHORIZED_DETAIL,
                "extension": [
                    {
                        "url": "productOrServiceCode",
                        "valueCodeableConcept": _coding(_procedure_system(code), code),
                    },
                    {"url": "quantity", "valueQuantity": {"value": units}},
                ],
            }
        )
    return {
        "extension": extensions,
        "itemSequence": item.sequence,
        "adjudication": [
            {
                "extension": [{"url": EXT_REVIEW_ACTION, "extension": review}],
                "category": _coding(
                    "http://terminology.hl7.org/CodeSystem/adjudication", "submitted"
                ),
            }
        ],
    }


def _period(items: Sequence[Item]) -> dict[str, str] | None:
    starts = [i.start for i in items if i.start]
    if not starts:
        return None
    start = min(starts)
    ends = [i.end for i in items if i.end]
    end = max([start + dt.timedelta(days=VALID_DAYS - 1), *ends])
    return {"start": start.isoformat(), "end": end.isoformat()}


def _item(raw: Mapping[str, Any], at: str) -> Item:
    sequence = raw.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise InvalidInput.field(f"{at}.sequence", f"{at}.sequence: a whole number, 1 or more.")
    code = ""
    concept = raw.get("productOrService")
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            code = coding["code"]
            break
    quantity = raw.get("quantity")
    value = quantity.get("value") if isinstance(quantity, Mapping) else None
    units = int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 1
    start, end = _dates(raw, at)
    modifiers = raw.get("modifierExtension")
    cancelled = any(
        isinstance(m, Mapping) and m.get("url") == EXT_INFO_CANCELLED and m.get("valueBoolean")
        for m in (modifiers if isinstance(modifiers, list) else [])
    )
    return Item(sequence, code, max(units, 1), start, end, cancelled)


def _dates(raw: Mapping[str, Any], at: str) -> tuple[dt.date | None, dt.date | None]:
    if isinstance(raw.get("servicedDate"), str):
        day = _day(raw["servicedDate"], f"{at}.servicedDate")
        return day, day
    period = raw.get("servicedPeriod")
    if isinstance(period, Mapping):
        start = _day(period.get("start"), f"{at}.servicedPeriod.start")
        end = _day(period.get("end"), f"{at}.servicedPeriod.end")
        return start, end or start
    return None, None


def _day(value: object, at: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidInput.field(at, f"{at}: a date is written YYYY-MM-DD.") from None


def _first_coverage(claim: Mapping[str, Any]) -> object:
    insurance = claim.get("insurance")
    first = insurance[0] if isinstance(insurance, list) and insurance else None
    return first.get("coverage") if isinstance(first, Mapping) else None


def _is(entry: Mapping[str, Any], reference: object) -> bool:
    target = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(target, str):
        return False
    resource = entry.get("resource") or {}
    name = f"{resource.get('resourceType')}/{resource.get('id')}"
    url = str(entry.get("fullUrl") or "")
    return target in (url, name) or url.endswith("/" + target)


def _resolve(entries: Sequence[Mapping[str, Any]], reference: object) -> Mapping[str, Any] | None:
    for entry in entries:
        if _is(entry, reference):
            resource = entry.get("resource")
            return resource if isinstance(resource, Mapping) else None
    return None


def _identifier_value(resource: Mapping[str, Any] | None) -> str:
    identifiers = (resource or {}).get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, Mapping) and isinstance(identifier.get("value"), str):
            return str(identifier["value"])
    return ""


def _procedure_system(code: str) -> str:
    if code[:1].isdigit():
        return "http://www.ama-assn.org/go/cpt"
    return "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}
