"""Da Vinci CRD over CDS Hooks, on a real server: discovery, every IG and Inferno hook request in
the corpora, each pa-needed value from the synthetic packs, existing approvals answering
"satisfied" with their number, and malformed requests answering 400 naming the field."""

from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.conftest import SHARED, missing_service
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.requests import SERVICE_DAY, web_payer_body

from precert.config import Settings
from precert.services import accounts
from precert.services.context import Context
from precert.store.audit import AuditRepository
from precert.web.app import create_app

CORPUS = SHARED / "corpora" / "davinci-crd-hooks"
INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
SERVICE_OF = {
    "order-sign": "order-sign-crd",
    "order-select": "order-select-crd",
    "appointment-book": "appointment-book-crd",
    "order-dispatch": "order-dispatch-crd",
}
# Every hook request of the corpora for a hook we serve, with the orders each one names.
CORPUS_REQUESTS = {
    "ig-hook-examples/CRDServiceRequest.json": ["ServiceRequest/1357", "ServiceRequest/2468"],
    "ig-hook-examples/CRDServiceRequest2.json": [
        "MedicationRequest/1111",
        "MedicationRequest/2222",
    ],
    "ig-hook-examples/CRDServiceRequest3.json": ["CommunicationRequest/example"],
    "ig-hook-examples/CRDServiceRequest4.json": ["Appointment/example"],
    "inferno-crd-fixtures/appointment_book_hook_request.json": [
        "Appointment/apt1",
        "Appointment/apt2",
    ],
    "inferno-crd-fixtures/order_dispatch_hook_request.json": ["ServiceRequest/example"],
    "inferno-crd-fixtures/order_select_hook_request.json": [
        "NutritionOrder/pureeddiet-simple",
        "MedicationRequest/smart-MedicationRequest-103",
    ],
    "inferno-crd-fixtures/order_sign_hook_request.json": [
        "NutritionOrder/pureeddiet-simple",
        "MedicationRequest/smart-MedicationRequest-103",
    ],
}
MEMBER = "TEST-CRD-0001"  # synthetic; must never reach a log line
PATIENT_LAST_NAME = "Crdtestpatient"


@dataclass(frozen=True)
class Site:
    http: httpx.Client
    ctx: Context
    token: str
    authorization_number: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site(sqlite_settings_in(tmp_path_factory.mktemp("crd")))


def _site(settings: Settings) -> Iterator[Site]:
    """A server whose organization holds one approved brain MRI (70551) for MEMBER."""
    ctx = web_context(settings)
    accounts.create_organization(ctx, "Crd Clinic")
    accounts.create_user(
        ctx, org="Crd Clinic", email="lead@crd.example.org", role="admin", password=None
    )
    token = accounts.create_token(ctx, email="lead@crd.example.org")
    try:
        app = create_app(settings, ctx=ctx)
        app.state.crd_payer_aliases = {"SYNTH-PAYER-42": "web-test-payer"}
        with (
            serving(app) as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            number = _approved_mri(client, token)
            yield Site(client, ctx, token, number)
    finally:
        ctx.engine.dispose()


def _approved_mri(http: httpx.Client, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body = web_payer_body(member_id=MEMBER, last_name=PATIENT_LAST_NAME)
    created = http.post("/api/v1/requests", json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("ready", {"override_reason": "notes faxed"}),
        ("submit", {"method": "fax", "reference": "FAX-CRD-1"}),
        (
            "determination",
            {
                "outcome": "approved",
                "authorization_number": "AUTH-CRD-77",
                "valid_from": SERVICE_DAY,
                "valid_to": SERVICE_DAY,
                "method": "phone",
                "reference": "CALL-CRD",
                "rep_name": "Rep Testname",
                "lines": [{"code": "70551", "approved_units": 1}],
            },
        ),
    ]
    for step, payload in steps:
        done = http.post(f"/api/v1/requests/{request_id}/{step}", json=payload, headers=headers)
        assert done.status_code == 200, done.text
    return "AUTH-CRD-77"


def _corpus(name: str) -> dict[str, Any]:
    path = CORPUS / name
    if not path.is_file():
        missing_service(f"CRD corpus file not found: {path}")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _info(action: dict[str, Any]) -> dict[str, Any]:
    """The coverage-information extension of an update action, as {url: [values]}."""
    [ext] = [e for e in action["resource"]["extension"] if e["url"] == INFO]
    out: dict[str, Any] = {}
    for part in ext["extension"]:
        value = next(v for k, v in part.items() if k.startswith("value"))
        out.setdefault(part["url"], []).append(value)
    return out


def hook_request(
    codes: list[str],
    *,
    payer: str = "web-test-payer",
    plan: str | None = "commercial",
    pos: str | None = "11",
    date: str = SERVICE_DAY,
    hook: str = "order-sign",
) -> dict[str, Any]:
    """A synthetic order-sign request: one ServiceRequest per code, Coverage in prefetch."""
    orders = []
    for i, code in enumerate(codes):
        order: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": f"sr-{i}",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
            "subject": {"reference": "Patient/pt-1"},
            "occurrenceDateTime": date,
        }
        if pos:
            system = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
            order["locationCode"] = [{"coding": [{"system": system, "code": pos}]}]
        orders.append({"resource": order})
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": "cov-1",
        "status": "active",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"code": "MB", "system": "http://terminology.hl7.org/CodeSystem/v2-0203"}
                    ]
                },
                "value": MEMBER,
            }
        ],
        "beneficiary": {"reference": "Patient/pt-1"},
        "payor": [{"identifier": {"value": payer}, "display": "Synthetic payer"}],
    }
    if plan:
        coverage["class"] = [{"type": {"coding": [{"code": "plan"}]}, "value": plan}]
    return {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": hook,
        "context": {
            "userId": "Practitioner/pr-1",
            "patientId": "pt-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": orders},
        },
        "prefetch": {"coverage": {"resourceType": "Bundle", "entry": [{"resource": coverage}]}},
    }


def post(site: Site, body: object, service: str = "order-sign-crd", **kw: Any) -> httpx.Response:
    return site.http.post(f"/cds-services/{service}", json=body, **kw)


# -- discovery -----------------------------------------------------------------------------------


def test_discovery_lists_the_crd_hooks_with_prefetch_templates(site: Site) -> None:
    response = site.http.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    hooks = {s["hook"] for s in services.values()}
    assert {"order-sign", "order-select", "appointment-book", "order-dispatch"} <= hooks
    for service in services.values():
        assert service["description"]
        assert service["prefetch"]["coverage"] == (
            "Coverage?patient={{context.patientId}}&status=active"
        )


# -- the corpora ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPUS_REQUESTS))
def test_every_corpus_hook_request_gets_a_coverage_information_action_per_order(
    site: Site, name: str
) -> None:
    body = _corpus(name)
    response = post(site, body, SERVICE_OF[body["hook"]])
    assert response.status_code == 200, response.text
    actions = response.json()["systemActions"]
    refs = [f"{a['resource']['resourceType']}/{a['resource']['id']}" for a in actions]
    assert refs == CORPUS_REQUESTS[name]
    for action in actions:
        assert action["type"] == "update"
        info = _info(action)
        assert info["pa-needed"][0] in ("no-auth", "auth-needed", "conditional", "indeterminate")
        assert info["covered"][0] in ("covered", "not-covered", "conditional")
        assert info["coverage-assertion-id"][0]
    assert all(card["summary"] and len(card["summary"]) <= 140 for card in response.json()["cards"])


def test_the_ig_order_sign_example_maps_acme_and_reads_billing_options(site: Site) -> None:
    body = _corpus("ig-hook-examples/CRDServiceRequest.json")
    response = post(site, body)
    first, second = response.json()["systemActions"]
    info = _info(first)
    # Coverage.payor "Acme Health Plan" is the shipped synthetic acme-health pack.
    assert [c["code"] for c in info["billingCode"]] == ["77061", "77062", "77065", "77066"]
    assert info["coverage"] == [{"reference": "Coverage/COV1"}]
    assert _info(second)["billingCode"] == [
        {"system": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "E0431"}
    ]


# -- each pa-needed value ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "plan", "pos", "expected"),
    [
        ("27447", "commercial", None, "auth-needed"),  # knee procedure: preauthorization
        ("70552", "commercial", "11", "auth-needed"),  # brain MRI in an office
        ("70552", "commercial", None, "conditional"),  # brain MRI, place not given
        ("59400", "medicaid", None, "no-auth"),  # maternity: notification only
        ("99999", "commercial", None, "indeterminate"),  # no rule lists it
    ],
)
def test_pa_needed_comes_from_the_rule_pack(
    site: Site, code: str, plan: str, pos: str | None, expected: str
) -> None:
    response = post(site, hook_request([code], plan=plan, pos=pos))
    assert response.status_code == 200, response.text
    [action] = response.json()["systemActions"]
    assert _info(action)["pa-needed"] == [expected]


def test_an_auth_needed_order_gets_a_card_naming_payer_code_and_documents(site: Site) -> None:
    response = post(site, hook_request(["70552"]))
    [card] = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Preauthorization required by Web Test Health")
    assert "70552" in card["summary"]
    assert "Clinical notes from the last 60 days" in card["detail"]
    assert _info(response.json()["systemActions"][0])["doc-needed"] == ["clinical"]


def test_a_configured_alias_maps_the_payor_to_a_pack(site: Site) -> None:
    response = post(site, hook_request(["70552"], payer="synth-payer-42"))
    [action] = response.json()["systemActions"]
    assert _info(action)["pa-needed"] == ["auth-needed"]


def test_a_notification_is_no_auth_with_a_card_saying_to_notify(site: Site) -> None:
    response = post(site, hook_request(["59400"], plan="medicaid", pos=None))
    [card] = response.json()["cards"]
    assert card["summary"] == "Notify Web Test Health (synthetic) of 59400: no approval needed"
    assert card["indicator"] == "info"


def test_order_select_answers_only_the_selected_orders(site: Site) -> None:
    body = hook_request(["70552", "27447"], hook="order-select")
    body["context"]["selections"] = ["ServiceRequest/sr-1"]
    response = post(site, body, "order-select-crd")
    assert response.status_code == 200, response.text
    [action] = response.json()["systemActions"]
    assert action["resource"]["id"] == "sr-1"
    assert _info(action)["billingCode"][0]["code"] == "27447"


def test_a_retried_call_gets_the_same_coverage_assertion_ids(site: Site) -> None:
    body = hook_request(["70552", "27447"])
    first, again = post(site, body).json(), post(site, body).json()
    ids = [_info(a)["coverage-assertion-id"][0] for a in first["systemActions"]]
    assert ids == [_info(a)["coverage-assertion-id"][0] for a in again["systemActions"]]
    assert len(set(ids)) == 2


def test_an_unknown_payer_is_indeterminate(site: Site) -> None:
    response = post(site, hook_request(["70552"], payer="no-such-payer", plan=None))
    [action] = response.json()["systemActions"]
    assert _info(action)["pa-needed"] == ["indeterminate"]


def test_an_approved_authorization_on_file_answers_satisfied_with_its_number(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    response = post(site, hook_request(["70551"], pos="22"), headers=headers)
    assert response.status_code == 200, response.text
    [action] = response.json()["systemActions"]
    info = _info(action)
    assert info["pa-needed"] == ["satisfied"]
    assert info["satisfied-pa-id"] == [site.authorization_number]
    assert site.authorization_number in response.json()["cards"][0]["summary"]


def test_the_look_up_of_an_authorization_is_audited(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    post(site, hook_request(["70551"], pos="22"), headers=headers)
    organization = accounts.authenticate_token(site.ctx, site.token).organization_id
    with site.ctx.uow() as uow:
        events = [
            (e.actor, e.action, e.entity)
            for e in AuditRepository(uow.session).for_organization(organization)
        ]
    assert ("lead@crd.example.org", "view", "authorization_request") in events


def test_satisfied_works_the_same_on_postgresql(pg_settings: Settings) -> None:
    for running in _site(pg_settings):
        headers = {"Authorization": f"Bearer {running.token}"}
        response = post(running, hook_request(["70551"], pos="22"), headers=headers)
        info = _info(response.json()["systemActions"][0])
        assert (info["pa-needed"], info["satisfied-pa-id"]) == (["satisfied"], ["AUTH-CRD-77"])


def test_without_the_organization_or_on_another_date_it_is_not_satisfied(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    anonymous = post(site, hook_request(["70551"], pos="22"))
    other_day = post(site, hook_request(["70551"], pos="22", date="2027-03-01"), headers=headers)
    for response in (anonymous, other_day):
        assert _info(response.json()["systemActions"][0])["pa-needed"] == ["auth-needed"]


def test_a_cds_hooks_jwt_is_ignored_not_refused(site: Site) -> None:
    headers = {"Authorization": "Bearer eyJhbGciOiJSUzM4NCJ9.e30.sig"}
    assert post(site, hook_request(["70552"]), headers=headers).status_code == 200


# -- bad input -----------------------------------------------------------------------------------


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return out


def _with_bad_entry(body: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["context"]["draftOrders"]["entry"].append({"resource": {"id": "no-type"}})
    return out


@pytest.mark.parametrize(
    ("mutate", "location"),
    [
        (lambda b: _without(b, "hookInstance"), "hookInstance"),
        (lambda b: _without(b, "hook"), "hook"),
        (lambda b: {**b, "hook": "order-select"}, "hook"),
        (lambda b: _without(b, "context"), "context"),
        (lambda b: _without(b, "context", "patientId"), "context.patientId"),
        (lambda b: _without(b, "context", "draftOrders"), "context.draftOrders"),
        (lambda b: {**b, "prefetch": []}, "prefetch"),
        (_with_bad_entry, "context.draftOrders.entry[1].resource"),
    ],
)
def test_a_malformed_hook_request_answers_400_naming_the_field(
    site: Site, mutate: Any, location: str
) -> None:
    response = post(site, mutate(hook_request(["70552"])))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert location in [issue["location"] for issue in body["issues"]]
    assert location in body["message"]


def test_a_body_that_is_not_json_answers_400(site: Site) -> None:
    response = site.http.post(
        "/cds-services/order-sign-crd",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["issues"][0]["location"] == "body"


def test_an_unknown_service_answers_404_listing_the_services(site: Site) -> None:
    response = post(site, hook_request(["70552"]), "encounter-start-crd")
    assert response.status_code == 404
    assert "order-sign-crd" in response.json()["message"]


def test_no_phi_reaches_the_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    with caplog.at_level(logging.DEBUG):
        post(site, hook_request(["70551"], pos="22"), headers=headers)
        post(site, _without(hook_request(["70551"]), "context", "patientId"))
    assert caplog.records  # the capture works: httpx logs every call at INFO
    assert MEMBER not in caplog.text
    assert PATIENT_LAST_NAME not in caplog.text


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def test_mangled_corpus_requests_answer_200_or_400_never_500(site: Site) -> None:
    """Any element of the EHR's JSON may have an unexpected shape: it reads as absent, or the
    request is refused with its field named; the server never fails."""
    bodies = [_corpus(name) for name in sorted(CORPUS_REQUESTS)]
    rnd = random.Random(4)
    odd: list[Any] = ["x", 1, None, [], {}, [1], {"a": 1}, "2020-13-45", True, [[]]]
    statuses: set[int] = set()
    for _ in range(300):
        body = copy.deepcopy(rnd.choice(bodies))
        service = SERVICE_OF[body["hook"]]
        for _ in range(rnd.randint(1, 3)):
            *parents, last = rnd.choice(list(_paths(body)))
            target = body
            for key in parents:
                target = target[key]
            target[last] = rnd.choice(odd)
        response = post(site, body, service)
        assert response.status_code in (200, 400), response.text
        statuses.add(response.status_code)
    assert {200, 400} <= statuses
