"""The authorization-request API over real HTTP: bearer tokens, the lifecycle from create to
approved with its timeline, roles, tenant isolation and every error status with its message."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.requests import NOW, SERVICE_DAY, approval_body, request_body

from precert.config import Settings
from precert.services import accounts
from precert.services.context import Context
from precert.web.app import create_app

BODY: dict[str, Any] = request_body()
APPROVAL = approval_body(valid_from=SERVICE_DAY, valid_to=SERVICE_DAY)


class SteppingClock:
    """The site's clock: NOW, a millisecond later at every reading, so times are fixed and
    still ordered (the queue's keyset pages need distinct created_at values to be realistic)."""

    def __init__(self, start: dt.datetime = NOW) -> None:
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            moment, self._next = self._next, self._next + dt.timedelta(milliseconds=1)
        return moment


@dataclass(frozen=True)
class Team:
    """One organization's tokens, by role, and its admin as a services Actor."""

    admin: str
    specialist: str
    viewer: str
    actor: accounts.Actor


def make_team(ctx: Context, name: str) -> Team:
    accounts.create_organization(ctx, name)
    slug = name.lower().replace(" ", "-")
    made: dict[str, str] = {}
    for role in ("admin", "specialist", "viewer"):
        email = f"{role}@{slug}.example.org"
        accounts.create_user(ctx, org=name, email=email, role=role, password=None)
        made[role] = accounts.create_token(ctx, email=email)
    actor = accounts.authenticate_token(ctx, made["admin"])
    return Team(made["admin"], made["specialist"], made["viewer"], actor)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Site:
    http: httpx.Client
    ctx: Context
    north: Team
    south: Team


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("requests-api"))
    yield from _site(settings)


def _site(settings: Settings) -> Iterator[Site]:
    ctx = web_context(settings)
    ctx.now = SteppingClock()
    north, south = make_team(ctx, "North Clinic"), make_team(ctx, "South Clinic")
    try:
        with (
            serving(create_app(settings, ctx=ctx)) as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            yield Site(client, ctx, north, south)
    finally:
        ctx.engine.dispose()


def ready_request(site: Site, team: Team) -> str:
    """A new request made ready through the API with an override reason (its checklist item,
    the medical records, is not uploaded)."""
    headers = auth(team.specialist)
    created = site.http.post("/api/v1/requests", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    reason = {"override_reason": "notes faxed separately"}
    ready = site.http.post(f"/api/v1/requests/{request_id}/ready", json=reason, headers=headers)
    assert ready.status_code == 200, ready.text
    return request_id


def full_flow(site: Site) -> None:
    http, token = site.http, site.north.specialist
    created = http.post("/api/v1/requests", json=BODY, headers=auth(token))
    assert created.status_code == 201
    request_id = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/requests/{request_id}"
    assert created.json()["status"] == "draft"
    assert created.json()["requirement"][0]["decision"] == "required"

    listed = http.get("/api/v1/requests", params={"status": "draft"}, headers=auth(token))
    assert request_id in [r["id"] for r in listed.json()["requests"]]
    shown = http.get(f"/api/v1/requests/{request_id}", headers=auth(token)).json()
    assert shown["patient"]["last_name"] == "Alpha"
    assert [event["kind"] for event in shown["timeline"]] == ["created"]

    reason = {"override_reason": "notes"}
    readied = http.post(f"/api/v1/requests/{request_id}/ready", json=reason, headers=auth(token))
    assert readied.json()["status"] == "ready"
    sent = {"method": "fax", "reference": "FAX-991", "note": "cover sheet attached"}
    submitted = http.post(f"/api/v1/requests/{request_id}/submit", json=sent, headers=auth(token))
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    decided = http.post(
        f"/api/v1/requests/{request_id}/determination", json=APPROVAL, headers=auth(token)
    )
    assert decided.status_code == 200, decided.text

    final = http.get(f"/api/v1/requests/{request_id}", headers=auth(token)).json()
    assert final["status"] == "approved"
    kinds = [event["kind"] for event in final["timeline"]]
    assert kinds == ["created", "override_ready", "submit", "approve"]
    assert final["timeline"][2]["note"] == "sent by fax, reference FAX-991: cover sheet attached"
    assert final["timeline"][2]["data"]["reference"] == "FAX-991"
    assert final["timeline"][2]["data"]["receipt"]["channel"] == "manual"
    assert final["timeline"][3]["data"]["determination"]["authorization_number"] == "AUTH-778"


def test_a_request_goes_from_create_to_approved_through_the_api(site: Site) -> None:
    full_flow(site)


def test_the_happy_path_works_the_same_on_postgresql(pg_settings: Settings) -> None:
    for running in _site(pg_settings):
        full_flow(running)


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "This endpoint needs an API token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "This endpoint needs an API token"),
        ({"Authorization": "Bearer pct_not-a-real-token"}, "invalid or revoked token"),
    ],
)
def test_a_call_without_a_working_token_answers_401_with_a_bearer_challenge(
    site: Site, headers: dict[str, str], message: str
) -> None:
    response = site.http.get("/api/v1/requests", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "Unauthenticated"
    assert body["message"].startswith(message)
    assert body["issues"][0]["location"] == "Authorization"


def test_a_revoked_token_answers_401(site: Site) -> None:
    accounts.create_user(
        site.ctx, org="North Clinic", email="leaver@north.example.org", role="admin", password=None
    )
    token = accounts.create_token(site.ctx, email="leaver@north.example.org")
    assert site.http.get("/api/v1/requests", headers=auth(token)).status_code == 200
    accounts.revoke_token(site.ctx, email="leaver@north.example.org", display_prefix=token[:12])
    response = site.http.get("/api/v1/requests", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["message"] == "invalid or revoked token"


# -- roles and tenants -----------------------------------------------------------------------


def test_a_viewer_can_read_but_any_change_answers_403_saying_who_can(site: Site) -> None:
    request_id = ready_request(site, site.north)
    viewer = auth(site.north.viewer)
    assert site.http.get(f"/api/v1/requests/{request_id}", headers=viewer).status_code == 200
    created = site.http.post("/api/v1/requests", json=BODY, headers=viewer)
    assert created.status_code == 403
    assert created.json()["message"] == (
        "viewers cannot create requests; ask an admin or a specialist"
    )
    for action in ("submit", "cancel"):
        response = site.http.post(f"/api/v1/requests/{request_id}/{action}", headers=viewer)
        assert response.status_code == 403
        assert response.json()["message"] == (
            "viewers cannot change requests; ask an admin or a specialist"
        )


def test_another_organizations_request_answers_404_both_ways(site: Site) -> None:
    north_id = ready_request(site, site.north)
    south_id = ready_request(site, site.south)
    for request_id, team in ((north_id, site.south), (south_id, site.north)):
        shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(team.admin))
        assert shown.status_code == 404
        assert shown.json()["message"].startswith(
            f"No authorization request {request_id} in your organization"
        )
        cancel = site.http.post(f"/api/v1/requests/{request_id}/cancel", headers=auth(team.admin))
        assert cancel.status_code == 404
        listed = site.http.get("/api/v1/requests", headers=auth(team.admin)).json()["requests"]
        assert request_id not in [r["id"] for r in listed]


# -- bad input and impossible changes --------------------------------------------------------


def test_an_impossible_transition_answers_409_with_the_domains_reason(site: Site) -> None:
    created = site.http.post("/api/v1/requests", json=BODY, headers=auth(site.north.specialist))
    request_id = created.json()["id"]
    response = site.http.post(
        f"/api/v1/requests/{request_id}/submit", headers=auth(site.north.specialist)
    )
    assert response.status_code == 409
    assert response.json()["error"] == "InvalidTransition"
    assert response.json()["message"].startswith(
        "A draft request cannot be submitted until its documents are complete"
    )


def test_a_cancelled_request_cannot_be_cancelled_again(site: Site) -> None:
    request_id = ready_request(site, site.north)
    url = f"/api/v1/requests/{request_id}/cancel"
    first = site.http.post(url, json={"note": "surgery called off"}, headers=auth(site.north.admin))
    assert first.json()["status"] == "cancelled"
    again = site.http.post(url, headers=auth(site.north.admin))
    assert again.status_code == 409
    assert "cancelled is a final status" in again.json()["message"]


def test_an_invalid_body_answers_422_with_every_field_located(site: Site) -> None:
    body = copy.deepcopy(BODY)
    body["colour"] = "blue"
    body["patient"]["nickname"] = "x"
    body["services"][0]["units"] = "many"
    del body["plan"]
    response = site.http.post("/api/v1/requests", json=body, headers=auth(site.north.specialist))
    assert response.status_code == 422
    issues = {i["location"]: i["message"] for i in response.json()["issues"]}
    assert set(issues) == {"colour", "patient.nickname", "services[0].units", "plan"}
    assert issues["plan"] == "plan: this field is required."
    assert issues["patient.nickname"] == (
        "patient.nickname: unknown field; use first_name, last_name, birth_date, member_id."
    )


def test_bad_codes_and_dates_are_located_by_the_service(site: Site) -> None:
    body = copy.deepcopy(BODY)
    body["services"][0]["code"] = "1582"
    body["patient"]["birth_date"] = "01/02/1980"
    response = site.http.post("/api/v1/requests", json=body, headers=auth(site.north.specialist))
    assert response.status_code == 422
    locations = [i["location"] for i in response.json()["issues"]]
    assert {"services[0].code", "patient.birth_date"} <= set(locations)
    assert "01/02/1980" not in response.text  # a date of birth is never echoed


def test_patient_values_of_the_wrong_type_are_never_echoed(site: Site) -> None:
    body = copy.deepcopy(BODY)
    body["patient"]["member_id"] = 987654321
    response = site.http.post("/api/v1/requests", json=body, headers=auth(site.north.specialist))
    assert response.status_code == 422
    assert "987654321" not in response.text
    assert response.json()["issues"][0]["location"] == "patient.member_id"


def test_a_determination_with_an_unknown_outcome_is_refused_with_its_location(site: Site) -> None:
    request_id = ready_request(site, site.north)
    token = auth(site.north.specialist)
    site.http.post(f"/api/v1/requests/{request_id}/submit", headers=token)
    decision = {**APPROVAL, "outcome": "maybe"}
    response = site.http.post(
        f"/api/v1/requests/{request_id}/determination", json=decision, headers=token
    )
    assert response.status_code == 422
    assert [i["location"] for i in response.json()["issues"]] == ["outcome"]


def test_the_request_bodies_are_described_in_the_openapi_document(site: Site) -> None:
    schemas = site.http.get("/openapi.json").json()["components"]["schemas"]
    assert {"RequestIn", "DeterminationIn", "SubmissionIn", "ReadyIn", "AppealIn"} <= set(schemas)
    assert schemas["RequestIn"]["additionalProperties"] is False
