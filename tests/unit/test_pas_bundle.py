"""Building the Da Vinci PAS request Bundle: shape, stable identity, codes, and a round trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import fhirpathpy
import pytest
from tests.unit.pas_fixtures import FACILITY, ORDERING, RENDERING, make_request, resource

from precert.channels.fhir.pas_bundle import (
    CPT_SYSTEM,
    EXT_INFO_CANCELLED,
    HCPCS_SYSTEM,
    ICD10CM_SYSTEM,
    NPI_SYSTEM,
    POS_SYSTEM,
    UPDATE_CLAIM_PROFILE,
    UPDATE_ID_SYSTEM,
    build_request_bundle,
    update_bundle,
)
from precert.channels.fhir.pas_checks import check_request_bundle
from precert.domain.authorizations import ServiceLine, Urgency
from precert.errors import InvalidInput


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


# -- updates and cancellations (PAS Claim Update) ----------------------------------------------


def _ext(element: dict[str, Any], name: str) -> Any:
    return [e for e in element.get("extension", []) if e["url"].endswith(name)]


def test_a_cancel_points_at_the_prior_claim_it_carries_and_flags_every_item() -> None:
    request = make_request()
    prior = build_request_bundle(request, created=request.created_at)
    bundle = update_bundle(request, kind="cancel", authorization_number="AUTH-1")
    assert check_request_bundle(bundle) == []
    claim = bundle["entry"][0]["resource"]
    assert claim["meta"]["profile"] == [UPDATE_CLAIM_PROFILE]
    assert claim["identifier"][0]["system"] == UPDATE_ID_SYSTEM
    assert claim["identifier"] != prior["entry"][0]["resource"]["identifier"]
    (related,) = claim["related"]
    assert related["relationship"]["coding"][0]["code"] == "prior"
    carried = [e for e in bundle["entry"] if e["fullUrl"] == related["claim"]["reference"]]
    assert carried == [prior["entry"][0]]  # the prior Claim exactly as first submitted
    for item in claim["item"]:
        (certification,) = _ext(item, "extension-certificationType")
        assert certification["valueCodeableConcept"]["coding"][0]["code"] == "3"
        assert _ext(item, "extension-authorizationNumber")[0]["valueString"] == "AUTH-1"
        assert item["modifierExtension"] == [{"url": EXT_INFO_CANCELLED, "valueBoolean": True}]


def test_an_extension_asks_the_new_end_date_and_units_with_certification_type_4() -> None:
    request = make_request()
    code = request.lines[0].code
    bundle = update_bundle(
        request,
        kind="extend",
        authorization_number="AUTH-1",
        to_date=dt.date(2031, 1, 31),
        units={code: 9},
    )
    assert check_request_bundle(bundle) == []
    items = bundle["entry"][0]["resource"]["item"]
    for item in items:
        (certification,) = _ext(item, "extension-certificationType")
        assert certification["valueCodeableConcept"]["coding"][0]["code"] == "4"
        assert item["servicedPeriod"]["end"] == "2031-01-31"
        assert "modifierExtension" not in item
    assert items[0]["quantity"] == {"value": 9}
    revised = update_bundle(request, kind="revise", authorization_number="AUTH-1", units={code: 2})
    (certification,) = _ext(revised["entry"][0]["resource"]["item"][0], "certificationType")
    assert certification["valueCodeableConcept"]["coding"][0]["code"] == "S"


def test_the_same_change_is_the_same_update_and_another_change_is_another() -> None:
    request = make_request()
    one = update_bundle(request, kind="cancel", authorization_number="AUTH-1")
    again = update_bundle(request, kind="cancel", authorization_number="AUTH-1")
    later = update_bundle(
        request, kind="extend", authorization_number="AUTH-1", to_date=dt.date(2031, 1, 31)
    )
    assert one == again
    assert later["entry"][0]["resource"]["identifier"] != one["entry"][0]["resource"]["identifier"]
    assert later["id"] != one["id"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "pause", "authorization_number": "A"}, "kind"),
        ({"kind": "cancel", "authorization_number": " "}, "authorization_number"),
        ({"kind": "extend", "authorization_number": "A"}, "to_date"),
        (
            {"kind": "extend", "authorization_number": "A", "to_date": dt.date(2000, 1, 1)},
            "to_date",
        ),
        ({"kind": "revise", "authorization_number": "A", "units": {"99999": 2}}, "units"),
        ({"kind": "revise", "authorization_number": "A", "units": {"__first__": 0}}, "units"),
    ],
)
def test_an_update_that_cannot_be_built_names_the_argument(
    arguments: dict[str, Any], field: str
) -> None:
    request = make_request()
    if arguments.get("units") and "__first__" in arguments["units"]:
        arguments["units"] = {request.lines[0].code: 0}
    with pytest.raises(InvalidInput) as raised:
        update_bundle(request, **arguments)
    assert raised.value.issues[0].location == field
    assert str(raised.value).startswith(f"{field}: ")
