"""Building the Da Vinci PAS request Bundle: shape, stable identity, codes, and a round trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import fhirpathpy
from tests.unit.pas_fixtures import FACILITY, ORDERING, RENDERING, make_request, resource

from precert.channels.fhir.pas_bundle import (
    CPT_SYSTEM,
    HCPCS_SYSTEM,
    ICD10CM_SYSTEM,
    NPI_SYSTEM,
    POS_SYSTEM,
    build_request_bundle,
)
from precert.channels.fhir.pas_checks import check_request_bundle
from precert.domain.authorizations import ServiceLine, Urgency


def test_the_claim_comes_first_as_a_preauthorization_and_the_bundle_is_a_collection() -> None:
    bundle = build_request_bundle(make_request())
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    claim = bundle["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim"
    assert claim["use"] == "preauthorization"


def test_every_referenced_resource_is_included_exactly_once() -> None:
    bundle = build_request_bundle(make_request())
    kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == [
        "Claim",
        "Coverage",
        "Location",
        "Organization",
        "Patient",
        *["Practitioner"] * 2,
    ]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    claim = bundle["entry"][0]["resource"]
    referenced = fhirpathpy.evaluate(claim, "descendants().reference")
    assert set(referenced) <= set(urls)
    assert len(set(referenced)) == len(urls) - 1  # everything but the Claim itself


def test_one_npi_ordering_and_rendering_is_one_practitioner() -> None:
    bundle = build_request_bundle(make_request(rendering_npi=ORDERING, facility_npi=None))
    assert len(resource(bundle, "Practitioner")) == 1
    assert resource(bundle, "Location") == []
    assert check_request_bundle(bundle) == []


def test_the_same_request_builds_the_same_identity_and_another_request_does_not() -> None:
    first = build_request_bundle(make_request())
    again = build_request_bundle(make_request(), created=dt.datetime(2030, 3, 5, tzinfo=dt.UTC))
    other = build_request_bundle(make_request(id="req-pas-2"))
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]
    assert (
        first["identifier"]
        == again["identifier"]
        == {
            "system": "urn:precert:authorization-request",
            "value": "req-pas-1",
        }
    )
    claim = first["entry"][0]["resource"]
    assert claim["identifier"][0]["value"] == "req-pas-1"
    assert not {e["fullUrl"] for e in first["entry"]} & {e["fullUrl"] for e in other["entry"]}


def test_items_carry_codes_units_dates_place_and_diagnoses() -> None:
    claim = build_request_bundle(make_request())["entry"][0]["resource"]
    mri, drug = claim["item"]
    assert mri["sequence"] == 1 and drug["sequence"] == 2
    assert mri["productOrService"]["coding"][0] == {"system": CPT_SYSTEM, "code": "70551"}
    assert drug["productOrService"]["coding"][0] == {"system": HCPCS_SYSTEM, "code": "J1745"}
    assert mri["quantity"] == {"value": 1} and drug["quantity"] == {"value": 3}
    assert mri["servicedDate"] == "2030-03-02" and "servicedPeriod" not in mri
    assert drug["servicedPeriod"] == {"start": "2030-03-02", "end": "2030-04-30"}
    assert mri["locationCodeableConcept"]["coding"][0] == {"system": POS_SYSTEM, "code": "22"}
    codes = [d["diagnosisCodeableConcept"]["coding"][0] for d in claim["diagnosis"]]
    assert codes == [
        {"system": ICD10CM_SYSTEM, "code": "G43.909"},
        {"system": ICD10CM_SYSTEM, "code": "K50.90"},
    ]
    assert mri["diagnosisSequence"] == [1] and drug["diagnosisSequence"] == [2, 1]


def test_items_carry_the_certification_and_request_type_extensions() -> None:
    claim = build_request_bundle(make_request())["entry"][0]["resource"]
    for item in claim["item"]:
        urls = {e["url"].rsplit("-", 1)[-1]: e for e in item["extension"]}
        assert urls["certificationType"]["valueCodeableConcept"]["coding"][0]["code"] == "I"
        assert urls["serviceItemRequestType"]["valueCodeableConcept"]["coding"][0]["code"] == "HS"
    inpatient = make_request(
        lines=(ServiceLine("27447", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 4), "21"),)
    )
    claim = build_request_bundle(inpatient)["entry"][0]["resource"]
    assert claim["type"]["coding"][0]["code"] == "institutional"
    review = claim["item"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    assert review == "AR"


def test_priority_follows_urgency() -> None:
    def priority(bundle: dict[str, Any]) -> str:
        return str(bundle["entry"][0]["resource"]["priority"]["coding"][0]["code"])

    assert priority(build_request_bundle(make_request())) == "normal"
    assert priority(build_request_bundle(make_request(urgency=Urgency.EXPEDITED))) == "stat"


def test_a_built_bundle_passes_the_checks_and_reads_back_what_was_asked() -> None:
    bundle = build_request_bundle(make_request())
    assert check_request_bundle(bundle) == []
    claim = bundle["entry"][0]["resource"]
    assert fhirpathpy.evaluate(claim, "item.productOrService.coding.code") == ["70551", "J1745"]
    assert fhirpathpy.evaluate(claim, "item.quantity.value") == [1, 3]
    npis = fhirpathpy.evaluate(
        bundle, f"entry.resource.identifier.where(system = '{NPI_SYSTEM}').value"
    )
    assert sorted(npis) == sorted([ORDERING, RENDERING, FACILITY])
    patient = resource(bundle, "Patient")[0]
    assert patient["birthDate"] == "1970-01-01"
    assert resource(bundle, "Coverage")[0]["subscriberId"] == "ZZ-CANARY-789"


def test_a_dme_line_carries_its_device_request_and_other_lines_none() -> None:
    cpap = ServiceLine("E0601", 1, dt.date(2030, 3, 2), dt.date(2030, 5, 31), "12", ("G47.33",))
    bundle = build_request_bundle(make_request(lines=(make_request().lines[0], cpap)))
    (device,) = resource(bundle, "DeviceRequest")
    assert device["codeCodeableConcept"]["coding"][0] == {"system": HCPCS_SYSTEM, "code": "E0601"}
    assert device["occurrencePeriod"] == {"start": "2030-03-02", "end": "2030-05-31"}
    mri, dme = bundle["entry"][0]["resource"]["item"]
    requested = [e for e in dme["extension"] if e["url"].endswith("requestedService")]
    assert requested == [
        {"url": requested[0]["url"], "valueReference": {"reference": f"urn:uuid:{device['id']}"}}
    ]
    assert not [e for e in mri["extension"] if e["url"].endswith("requestedService")]
    assert check_request_bundle(bundle) == []
    assert resource(build_request_bundle(make_request()), "DeviceRequest") == []
