"""Building the Da Vinci PAS request Bundle (`Claim/$submit` body) from an AuthorizationRequest.

The Bundle is a `collection` whose first entry is the Claim (`use = preauthorization`), followed
by every resource the Claim references, each exactly once: Patient, Coverage, the insurer
Organization, the requester and rendering Practitioners, the facility Location and, for DMEPOS
lines, the DeviceRequest the item's requestedService names. Every id and
fullUrl is a UUID derived from our request id, and the Claim carries the request id as its
identifier, so resubmitting the same request yields the same Bundle identity and a payer (or our
simulator) can recognize the duplicate. Plain dicts: fhir.resources models R4B/R5, not R4 4.0.1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from precert.domain.authorizations import AuthorizationRequest, ServiceLine, Urgency

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
