"""POST /api/v1/requests/assign over real HTTP: bulk assignment by email or id, unassigning,
all-or-nothing refusals in the one error shape, roles and tenants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.web.live_server import sqlite_settings_in
from tests.integration.web.test_web_api_requests import BODY, Site, _site, auth

from precert.services import authorization_requests as requests


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site(sqlite_settings_in(tmp_path_factory.mktemp("assignment-api")))


def _draft(site: Site, token: str) -> str:
    created = site.http.post("/api/v1/requests", json=BODY, headers=auth(token))
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    return request_id


def test_requests_are_assigned_by_email_and_then_unassigned(site: Site) -> None:
    ids = [_draft(site, site.north.specialist) for _ in range(2)]
    email = "specialist@north-clinic.example.org"
    answer = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": ids, "assignee": email},
        headers=auth(site.north.admin),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"changed": ids, "assignee": email}
    shown = site.http.get(f"/api/v1/requests/{ids[0]}", headers=auth(site.north.viewer)).json()
    assert shown["timeline"][-1]["kind"] == "assigned"
    assignee_id = requests.get_request(site.ctx, site.north.actor, ids[0]).request.assignee

    again = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": ids, "assignee": assignee_id},
        headers=auth(site.north.admin),
    )
    assert again.json()["changed"] == []  # already theirs (named by id this time)
    cleared = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": ids[:1], "assignee": None},
        headers=auth(site.north.specialist),
    )
    assert cleared.json() == {"changed": ids[:1], "assignee": None}
    assert requests.get_request(site.ctx, site.north.actor, ids[0]).request.assignee is None


def test_an_unknown_or_foreign_id_refuses_the_whole_assignment(site: Site) -> None:
    mine = _draft(site, site.north.specialist)
    theirs = _draft(site, site.south.specialist)
    answer = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": [mine, theirs], "assignee": "admin@north-clinic.example.org"},
        headers=auth(site.north.admin),
    )
    assert answer.status_code == 404
    body = answer.json()
    assert body["error"] == "NotFound"
    assert body["message"] == (
        f"No authorization request {theirs} in your organization; nothing was assigned. "
        "Check the ids and try again."
    )
    assert body["issues"][0]["location"] == "request_ids"
    assert requests.get_request(site.ctx, site.north.actor, mine).request.assignee is None


def test_an_assignee_of_another_organization_is_refused(site: Site) -> None:
    mine = _draft(site, site.north.specialist)
    answer = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": [mine], "assignee": "admin@south-clinic.example.org"},
        headers=auth(site.north.admin),
    )
    assert answer.status_code == 422
    assert answer.json()["issues"] == [
        {
            "code": "unknown-user",
            "message": "assignee: nobody in your organization is "
            "'admin@south-clinic.example.org'; choose a user of your organization "
            "(their email or id).",
            "location": "assignee",
        }
    ]


def test_a_viewer_cannot_assign_and_a_token_is_needed(site: Site) -> None:
    mine = _draft(site, site.north.specialist)
    body = {"request_ids": [mine], "assignee": "admin@north-clinic.example.org"}
    refused = site.http.post("/api/v1/requests/assign", json=body, headers=auth(site.north.viewer))
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "viewers cannot assign requests; ask an admin or a specialist"
    )
    anonymous = site.http.post("/api/v1/requests/assign", json=body)
    assert anonymous.status_code == 401


def test_a_malformed_body_names_the_field(site: Site) -> None:
    answer = site.http.post(
        "/api/v1/requests/assign",
        json={"request_ids": [], "assignee": None, "colour": "red"},
        headers=auth(site.north.admin),
    )
    assert answer.status_code == 422
    locations = {issue["location"] for issue in answer.json()["issues"]}
    assert {"request_ids", "colour"} <= locations
