"""Building the Da Vinci PAS request Bundle (`Claim/$submit` body) from an AuthorizationRequest.

The Bundle is a `collection` whose first entry is the Claim (`use = preauthorization`), followed
by every resource the Claim references, each exactly once: Patient, Coverage, the insurer
Organization, the requester and rendering Practitioners, the facility Location and, for DMEPOS
lines, the DeviceRequest the item's requestedService names. Every id and
fullUrl is a UUID derived from our request id, and the Claim carries the request id as its
identifier, so resubmitting the same request yields the same Bundle identity and a payer (or our
simulator) can recognize the duplicate. Plain dicts: fhir.resources models R4B/R5, not R4 4.0.1.

`update_bundle` builds the PAS Claim Update that cancels, extends or revises an authorization:
a new Claim whose `related` names the original Claim, which the Bundle carries (see the notes
above it for the IG rules followed).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from precert.domain.authorizations import AuthorizationRequest, ServiceLine, Urgency
from precert.errors import InvalidInput

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REQUEST_BUNDLE_PROFILE = PAS + "profile-pas-request-bundle"
CLAIM_PROFILE = PAS + "profile-claim"
EXT_REQUEST_TYPE = PAS + "extension-serviceItemRequestType"
EXT_CERTIFICATION_TYPE = PAS + "extension-certificationType"
EXT_ITEM_TRACE = PAS + "extension-itemTraceNumber"
EXT_LEVEL_OF_SERVICE = PAS + "extension-levelOfServiceCode"
EXT_REQUESTED_SERVICE = PAS + "extension-requestedService"

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
X12 = "https://codesystem.x12.org/005010/"
# Our own identifier systems: the request id is what makes a resubmission recognizable.
REQUEST_ID_SYSTEM = "urn:precert:authorization-request"
ITEM_TRACE_SYSTEM = "urn:precert:authorization-request-line"
PAYER_ID_SYSTEM = "urn:precert:payer-id"
MEMBER_ID_SYSTEM = "urn:precert:member-id"

# Places of service that make a stay an admission review (X12 1525 "AR") and the Claim
# institutional; everything else is a health services review ("HS") on a professional Claim.
_ADMISSION_POS = frozenset({"21", "31", "51", "61"})
_INSTITUTIONAL_POS = _ADMISSION_POS | {"22", "23"}
# HCPCS Level II prefixes for durable medical equipment, prosthetics, orthotics and supplies: a
# line for them carries the order as a DeviceRequest (which device), as the PAS examples do.
_DMEPOS_PREFIXES = ("E", "K", "L")
# A stable namespace so uuid5(request id, part) never changes between releases.
_NAMESPACE = uuid.UUID("6f1c2a53-7d1e-5b7e-9a59-3f0d6c0e2b41")


def resource_id(request_id: str, part: str) -> str:
    """The id of one resource of a request's Bundle: the same for every build of that request."""
    return str(uuid.uuid5(_NAMESPACE, f"{request_id}/{part}"))


def build_request_bundle(
    request: AuthorizationRequest, *, created: dt.datetime | None = None
) -> dict[str, Any]:
    """The PAS request Bundle for `request` (`created` defaults to its last change)."""
    at = (created or request.updated_at).isoformat()
    refs = _References(request.id)
    resources: list[dict[str, Any]] = [
        _claim(request, refs, at),
        _patient(request, refs),
        _coverage(request, refs),
        _insurer(request, refs),
        _practitioner(refs.ordering, request.ordering_npi),
    ]
    if request.rendering_npi != request.ordering_npi:
        resources.append(_practitioner(refs.rendering, request.rendering_npi))
    if request.facility_npi:
        resources.append(_facility(refs.facility, request.facility_npi))
    resources.extend(
        _device_request(request, refs, n, line, at)
        for n, line in enumerate(request.lines, start=1)
        if is_dmepos(line.code)
    )
    return {
        "resourceType": "Bundle",
        "id": resource_id(request.id, "bundle"),
        "meta": {"profile": [REQUEST_BUNDLE_PROFILE]},
        "identifier": {"system": REQUEST_ID_SYSTEM, "value": request.id},
        "type": "collection",
        "timestamp": at,
        "entry": [{"fullUrl": refs.url(r["id"]), "resource": r} for r in resources],
    }


class _References:
    """The ids of one request's resources; a reference is the referenced entry's fullUrl."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.claim = resource_id(request_id, "claim")
        self.patient = resource_id(request_id, "patient")
        self.coverage = resource_id(request_id, "coverage")
        self.insurer = resource_id(request_id, "insurer")
        self.ordering = resource_id(request_id, "ordering")
        self.rendering = resource_id(request_id, "rendering")
        self.facility = resource_id(request_id, "facility")

    def device(self, sequence: int) -> str:
        return resource_id(self.request_id, f"device-request-{sequence}")

    @staticmethod
    def url(resource_id: str) -> str:
        return f"urn:uuid:{resource_id}"

    def to(self, resource_id: str) -> dict[str, str]:
        return {"reference": self.url(resource_id)}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _claim(request: AuthorizationRequest, refs: _References, at: str) -> dict[str, Any]:
    rendering = refs.rendering if request.rendering_npi != request.ordering_npi else refs.ordering
    diagnoses = list(dict.fromkeys(dx for line in request.lines for dx in line.diagnoses))
    institutional = any(line.pos in _INSTITUTIONAL_POS for line in request.lines)
    expedited = request.urgency is Urgency.EXPEDITED
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": refs.claim,
        "meta": {"profile": [CLAIM_PROFILE]},
        "extension": [
            {
                "url": EXT_LEVEL_OF_SERVICE,
                # X12 1338: U urgent, E elective.
                "valueCodeableConcept": _coding(X12 + "1338", "U" if expedited else "E"),
            }
        ],
        "identifier": [{"system": REQUEST_ID_SYSTEM, "value": request.id}],
        "status": "active",
        "type": _coding(
            "http://terminology.hl7.org/CodeSystem/claim-type",
            "institutional" if institutional else "professional",
        ),
        "use": "preauthorization",
        "patient": refs.to(refs.patient),
        "created": at,
        "insurer": refs.to(refs.insurer),
        "provider": refs.to(refs.ordering),
        "priority": _coding(
            "http://terminology.hl7.org/CodeSystem/processpriority",
            "stat" if expedited else "normal",
        ),
        "careTeam": [{"sequence": 1, "provider": refs.to(rendering)}],
        "insurance": [{"sequence": 1, "focal": True, "coverage": refs.to(refs.coverage)}],
        "item": [
            _item(request.id, i + 1, line, diagnoses, refs) for i, line in enumerate(request.lines)
        ],
    }
    if diagnoses:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": _coding(ICD10CM_SYSTEM, code)}
            for n, code in enumerate(diagnoses, start=1)
        ]
    if request.facility_npi:
        claim["facility"] = refs.to(refs.facility)
    return claim


def procedure_system(code: str) -> str:
    """CPT for codes starting with a digit, HCPCS Level II for codes starting with a letter."""
    return CPT_SYSTEM if code[:1].isdigit() else HCPCS_SYSTEM


def is_dmepos(code: str) -> bool:
    """True for a HCPCS DMEPOS code (E, K, L): its line carries a DeviceRequest."""
    return code[:1] in _DMEPOS_PREFIXES


def _item(
    request_id: str, sequence: int, line: ServiceLine, diagnoses: list[str], refs: _References
) -> dict[str, Any]:
    admission = line.pos in _ADMISSION_POS
    item: dict[str, Any] = {
        "extension": [
            {
                "url": EXT_REQUEST_TYPE,  # X12 1525: AR admission review, HS health services
                "valueCodeableConcept": _coding(X12 + "1525", "AR" if admission else "HS"),
            },
            {
                "url": EXT_CERTIFICATION_TYPE,  # X12 1322: I initial request
                "valueCodeableConcept": _coding(X12 + "1322", "I", "Initial"),
            },
            {
                "url": EXT_ITEM_TRACE,
                "valueIdentifier": {
                    "system": ITEM_TRACE_SYSTEM,
                    "value": f"{request_id}-{sequence}",
                },
            },
        ],
        "sequence": sequence,
        "careTeamSequence": [1],
        # X12 1365 service type: 48 hospital inpatient for admissions, 1 medical care otherwise.
        "category": _coding(X12 + "1365", "48" if admission else "1"),
        "productOrService": _coding(procedure_system(line.code), line.code),
        "quantity": {"value": line.units},
    }
    if line.diagnoses:
        item["diagnosisSequence"] = [diagnoses.index(dx) + 1 for dx in line.diagnoses]
    if line.from_date == line.to_date:
        item["servicedDate"] = line.from_date.isoformat()
    else:
        item["servicedPeriod"] = {
            "start": line.from_date.isoformat(),
            "end": line.to_date.isoformat(),
        }
    if line.pos:
        item["locationCodeableConcept"] = _coding(POS_SYSTEM, line.pos)
    if is_dmepos(line.code):
        item["extension"].append(
            {"url": EXT_REQUESTED_SERVICE, "valueReference": refs.to(refs.device(sequence))}
        )
    return item


def _device_request(
    request: AuthorizationRequest, refs: _References, sequence: int, line: ServiceLine, at: str
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DeviceRequest",
        "id": refs.device(sequence),
        "meta": {"profile": [PAS + "profile-devicerequest"]},
        "status": "active",
        "intent": "order",
        "codeCodeableConcept": _coding(HCPCS_SYSTEM, line.code),
        "subject": refs.to(refs.patient),
        "authoredOn": at[:10],
        "requester": refs.to(refs.ordering),
    }
    if line.from_date == line.to_date:
        resource["occurrenceDateTime"] = line.from_date.isoformat()
    else:
        resource["occurrencePeriod"] = {
            "start": line.from_date.isoformat(),
            "end": line.to_date.isoformat(),
        }
    return resource


def _patient(request: AuthorizationRequest, refs: _References) -> dict[str, Any]:
    patient = request.patient
    return {
        "resourceType": "Patient",
        "id": refs.patient,
        "meta": {"profile": [PAS + "profile-beneficiary"]},
        "identifier": [
            {
                "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"),
                "system": MEMBER_ID_SYSTEM,
                "value": patient.member_id,
            }
        ],
        "name": [{"family": patient.last_name, "given": [patient.first_name]}],
        "gender": "unknown",  # not kept by precert; US Core requires the element
        "birthDate": patient.birth_date.isoformat(),
    }


def _coverage(request: AuthorizationRequest, refs: _References) -> dict[str, Any]:
    coverage = request.coverage
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": refs.coverage,
        "meta": {"profile": [PAS + "profile-coverage"]},
        "status": "active",
        "subscriberId": coverage.member_id,
        "beneficiary": refs.to(refs.patient),
        "relationship": _coding(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"
        ),
        "payor": [refs.to(refs.insurer)],
        "class": [
            {
                "type": _coding("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"),
                "value": coverage.plan,
            }
        ],
    }
    if coverage.group:
        resource["class"].append(
            {
                "type": _coding("http://terminology.hl7.org/CodeSystem/coverage-class", "group"),
                "value": coverage.group,
            }
        )
    return resource


def _insurer(request: AuthorizationRequest, refs: _References) -> dict[str, Any]:
    payer = request.coverage.payer_id
    return {
        "resourceType": "Organization",
        "id": refs.insurer,
        "meta": {"profile": [PAS + "profile-insurer"]},
        "identifier": [{"system": PAYER_ID_SYSTEM, "value": payer}],
        "active": True,
        "type": [_coding(X12 + "98", "PR")],  # X12 98 entity identifier: PR payer
        "name": payer,
    }


def _practitioner(resource_id: str, npi: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": resource_id,
        "meta": {"profile": [PAS + "profile-practitioner"]},
        "identifier": [{"system": NPI_SYSTEM, "value": npi}],
    }


def _facility(resource_id: str, npi: str) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": resource_id,
        "meta": {"profile": [PAS + "profile-location"]},
        "identifier": [{"system": NPI_SYSTEM, "value": npi}],
        "name": f"Facility NPI {npi}",
    }


# -- updates and cancellations ----------------------------------------------------------------
#
# PAS 2.x (profile-claim-update, "PAS Claim Update"; the IG's HomecareAuthorizationUpdateExample):
# an update or cancellation is a new `Claim/$submit` whose Claim
#   - has its own identifier (the example's "111099-UPDATE" next to the prior "111099"),
#   - points at the prior Claim in `related.claim` with relationship `prior`
#     (http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship),
#   - and the Bundle SHALL include that prior Claim (the profile: "the instance representing the
#     prior version of the Claim SHALL be included in the update Bundle");
#   - lists every item of the prior Claim, changed or not, `infoChanged` saying how it changed,
#     and an item no longer requested SHALL carry the `infoCancelled` modifier extension;
#   - each item's certificationType (X12 1322, UM02) says what is asked: 3 cancel, 4 extension,
#     S revised (I initial is the first request).
# The authorization being changed is named on each item by the PAS `authorizationNumber`
# extension (X12 REF*BB in the 278), so the payer need not look it up.

UPDATE_CLAIM_PROFILE = PAS + "profile-claim-update"
EXT_INFO_CHANGED = PAS + "extension-infoChanged"
EXT_INFO_CANCELLED = PAS + "modifierextension-infoCancelled"
EXT_AUTHORIZATION_NUMBER = PAS + "extension-authorizationNumber"
RELATED_CLAIM_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
# The update's own Claim identifier: not the request id system, so a response to an update is
# never mistaken for the answer to the request itself.
UPDATE_ID_SYSTEM = "urn:precert:authorization-request-update"
# kind -> (X12 1322 certification type, display)
CERTIFICATION_TYPES = {
    "cancel": ("3", "Cancel"),
    "extend": ("4", "Extension"),
    "revise": ("S", "Revised"),
}


def update_bundle(
    request: AuthorizationRequest,
    *,
    kind: str,
    authorization_number: str,
    to_date: dt.date | None = None,
    units: Mapping[str, int] | None = None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """The PAS update Bundle that cancels (`kind` "cancel"), extends ("extend": a later end date
    and/or more units) or revises ("revise") the authorization `authorization_number` granted for
    `request` as first submitted (`build_request_bundle(request, created=request.created_at)`).

    `to_date` is the new last day of service for every line; `units` the units now asked per
    procedure code. The update's identifier and every id derive from the request id and the
    change, so sending the same change again is the same Claim and the payer answers it once.
    InvalidInput names the argument to fix."""
    _check_update(request, kind, authorization_number, to_date, units)
    prior_bundle = build_request_bundle(request, created=request.created_at)
    prior_entry = prior_bundle["entry"][0]
    change = _change_key(kind, authorization_number, to_date, units)
    claim = copy.deepcopy(prior_entry["resource"])
    claim["id"] = resource_id(request.id, f"claim-update-{change}")
    claim["meta"] = {"profile": [UPDATE_CLAIM_PROFILE]}
    claim["identifier"] = [{"system": UPDATE_ID_SYSTEM, "value": f"{request.id}-{kind}-{change}"}]
    claim["created"] = (created or request.updated_at).isoformat()
    claim["related"] = [
        {
            "claim": {"reference": prior_entry["fullUrl"]},
            "relationship": _coding(RELATED_CLAIM_SYSTEM, "prior", "Prior Claim"),
        }
    ]
    for item, line in zip(claim["item"], request.lines, strict=True):
        _amend_item(item, line, kind, authorization_number, to_date, units)
    entries = [
        {"fullUrl": _References.url(claim["id"]), "resource": claim},
        *prior_bundle["entry"][1:],
        prior_entry,  # the prior Claim, which the update's `related` references
    ]
    return {
        "resourceType": "Bundle",
        "id": resource_id(request.id, f"bundle-update-{change}"),
        "meta": {"profile": [REQUEST_BUNDLE_PROFILE]},
        "identifier": {"system": UPDATE_ID_SYSTEM, "value": claim["identifier"][0]["value"]},
        "type": "collection",
        "timestamp": claim["created"],
        "entry": entries,
    }


def _check_update(
    request: AuthorizationRequest,
    kind: str,
    authorization_number: str,
    to_date: dt.date | None,
    units: Mapping[str, int] | None,
) -> None:
    if kind not in CERTIFICATION_TYPES:
        raise InvalidInput.field("kind", "kind: one of cancel, extend, revise.")
    if not authorization_number.strip():
        raise InvalidInput.field(
            "authorization_number",
            "authorization_number: the payer's number for the authorization to change.",
            "required",
        )
    if kind == "cancel":
        return
    if to_date is None and not units:
        raise InvalidInput.field(
            "to_date", f"to_date: an {kind} needs a new last day of service, new units, or both."
        )
    first = min(line.from_date for line in request.lines)
    if to_date is not None and to_date < first:
        raise InvalidInput.field(
            "to_date", "to_date: the new last day of service is before the first day of service."
        )
    codes = {line.code for line in request.lines}
    for code, count in (units or {}).items():
        if code not in codes:
            raise InvalidInput.field("units", f"units: {code} is not a service on this request.")
        if count < 1:
            raise InvalidInput.field("units", f"units: {code} needs 1 unit or more.")


def _change_key(
    kind: str,
    authorization_number: str,
    to_date: dt.date | None,
    units: Mapping[str, int] | None,
) -> str:
    """A short digest of the change: the same change gives the same update identity."""
    text = json.dumps(
        [
            kind,
            authorization_number,
            to_date.isoformat() if to_date else None,
            sorted((units or {}).items()),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _amend_item(
    item: dict[str, Any],
    line: ServiceLine,
    kind: str,
    authorization_number: str,
    to_date: dt.date | None,
    units: Mapping[str, int] | None,
) -> None:
    code, display = CERTIFICATION_TYPES[kind]
    for extension in item["extension"]:
        if extension["url"] == EXT_CERTIFICATION_TYPE:
            extension["valueCodeableConcept"] = _coding(X12 + "1322", code, display)
    item["extension"].extend(
        [
            {"url": EXT_INFO_CHANGED, "valueCode": "changed"},
            {"url": EXT_AUTHORIZATION_NUMBER, "valueString": authorization_number},
        ]
    )
    if kind == "cancel":
        # The profile: an item no longer requested SHALL be flagged with infoCancelled.
        item["modifierExtension"] = [{"url": EXT_INFO_CANCELLED, "valueBoolean": True}]
        return
    if units and line.code in units:
        item["quantity"] = {"value": units[line.code]}
    if to_date is not None:
        item.pop("servicedDate", None)
        item["servicedPeriod"] = {
            "start": line.from_date.isoformat(),
            "end": max(to_date, line.from_date).isoformat(),
        }
