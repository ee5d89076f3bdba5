"""The request API's actions and protocol over real HTTP: ready (checklist or override), appeal,
pages of the queue with an opaque cursor (SQLite and PostgreSQL), Idempotency-Key on create, and
oversized bodies refused with 413 before they are read in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.web.live_server import sqlite_settings_in
from tests.integration.web.test_web_api_requests import BODY, Site, Team, _site, auth, make_team
from tests.support.requests import MEDICARE_NOTES, denial_body, request_body

from precert.config import Settings
from precert.services import authorization_requests as requests


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site(sqlite_settings_in(tmp_path_factory.mktemp("request-actions")))


def _create(site: Site, body: dict[str, Any] | None = None) -> str:
    created = site.http.post(
        "/api/v1/requests", json=body or BODY, headers=auth(site.north.specialist)
    )
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    return request_id


def _post(site: Site, path: str, body: object = None, token: str | None = None) -> Any:
    return site.http.post(path, json=body, headers=auth(token or site.north.specialist))


# -- ready -------------------------------------------------------------------------------------


def test_ready_without_the_documents_answers_409_listing_what_is_missing(site: Site) -> None:
    request_id = _create(site)
    refused = _post(site, f"/api/v1/requests/{request_id}/ready")
    assert refused.status_code == 409
    body = refused.json()
    assert body["message"].startswith(
        f'The documentation checklist is not complete: "{MEDICARE_NOTES}" is missing.'
    )
    assert body["issues"] == [
        {
            "code": "missing-document",
            "message": f"missing: {MEDICARE_NOTES}",
            "location": "documents",
        }
    ]
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.north.viewer))
    assert shown.json()["status"] == "draft"


def test_ready_with_an_override_reason_records_the_reason(site: Site) -> None:
    request_id = _create(site)
    reason = "the surgeon's notes were faxed by the office"
    ready = _post(site, f"/api/v1/requests/{request_id}/ready", {"override_reason": reason})
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.north.viewer))
    event = shown.json()["timeline"][-1]
    assert (event["kind"], event["note"]) == ("override_ready", reason)
    assert event["data"]["override_reason"] == reason
    assert event["data"]["missing"] == [MEDICARE_NOTES]


def test_a_viewer_cannot_mark_ready(site: Site) -> None:
    request_id = _create(site)
    body = {"override_reason": "x"}
    refused = _post(site, f"/api/v1/requests/{request_id}/ready", body, site.north.viewer)
    assert refused.status_code == 403


# -- appeal ------------------------------------------------------------------------------------


def test_a_denied_request_is_appealed_and_an_approved_one_cannot_be(site: Site) -> None:
    request_id = _create(site)
    base = f"/api/v1/requests/{request_id}"
    _post(site, f"{base}/ready", {"override_reason": "notes faxed"})
    _post(site, f"{base}/submit", {"method": "phone", "reference": "CALL-1"})
    denied = _post(site, f"{base}/determination", denial_body())
    assert denied.json()["status"] == "denied", denied.text

    missing = _post(site, f"{base}/appeal", {})
    assert missing.status_code == 422
    assert missing.json()["issues"][0]["location"] == "note"
    appealed = _post(site, f"{base}/appeal", {"note": "records show six weeks of failed therapy"})
    assert appealed.status_code == 200, appealed.text
    assert appealed.json()["status"] == "appealed"
    assert appealed.json()["awaiting_since"] is not None

    again = _post(site, f"{base}/appeal", {"note": "again"})
    assert again.status_code == 409
    assert again.json()["message"].startswith("An appealed request cannot be appealed.")


# -- pages -------------------------------------------------------------------------------------


def _walk(site: Site, team: Team, url: str) -> list[str]:
    seen: list[str] = []
    pages = 0
    while url:
        page = site.http.get(url, headers=auth(team.viewer))
        assert page.status_code == 200, page.text
        seen += [r["id"] for r in page.json()["requests"]]
        url = page.json()["next"]
        pages += 1
        assert pages < 20, "the cursor does not advance"
    return seen


def _pagination_walk(site: Site) -> None:
    team = make_team(site.ctx, "Paging Clinic")
    made = [
        requests.create_request(site.ctx, team.actor, request_body(member_id=f"TEST-P-{n:03}")).id
        for n in range(120)
    ]
    first = site.http.get("/api/v1/requests", params={"limit": 50}, headers=auth(team.viewer))
    assert len(first.json()["requests"]) == 50
    assert "limit=50" in first.json()["next"] and "cursor=" in first.json()["next"]

    # A request created during the walk is newer than the cursor: it never shifts the pages.
    walked = [r["id"] for r in first.json()["requests"]]
    requests.create_request(site.ctx, team.actor, request_body(member_id="TEST-P-NEW"))
    walked += _walk(site, team, first.json()["next"])

    assert walked == list(reversed(made))  # newest first, each once
    assert len(_walk(site, team, "/api/v1/requests")) == 121  # the default page size is 50


def test_a_client_walks_120_requests_page_by_page_with_the_next_link(site: Site) -> None:
    _pagination_walk(site)


def test_the_page_walk_is_the_same_on_postgresql(pg_settings: Settings) -> None:
    for running in _site(pg_settings):
        _pagination_walk(running)


def test_the_next_link_keeps_the_filters(site: Site) -> None:
    for _ in range(3):
        _create(site)
    page = site.http.get(
        "/api/v1/requests", params={"status": "draft", "limit": 1}, headers=auth(site.north.viewer)
    )
    assert page.status_code == 200
    assert "status=draft" in page.json()["next"]


@pytest.mark.parametrize(
    ("params", "location", "message"),
    [
        ({"limit": 0}, "limit", "limit: ask for 1 to 200 requests per page (default 50)."),
        ({"limit": 201}, "limit", "limit: ask for 1 to 200 requests per page (default 50)."),
        (
            {"cursor": "not-a-cursor"},
            "cursor",
            "cursor: not a cursor this API gave out; use the `next` link of the previous page, "
            "or leave cursor out to start at the newest request.",
        ),
    ],
)
def test_a_bad_limit_or_cursor_answers_422_saying_what_to_send(
    site: Site, params: dict[str, Any], location: str, message: str
) -> None:
    refused = site.http.get("/api/v1/requests", params=params, headers=auth(site.north.viewer))
    assert refused.status_code == 422
    assert refused.json()["issues"][0]["location"] == location
    assert refused.json()["message"] == message


# -- idempotency -------------------------------------------------------------------------------


def test_a_replay_with_the_same_idempotency_key_answers_the_first_request_with_200(
    site: Site,
) -> None:
    headers = {**auth(site.north.specialist), "Idempotency-Key": "create-0001"}
    first = site.http.post("/api/v1/requests", json=BODY, headers=headers)
    again = site.http.post("/api/v1/requests", json=BODY, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]


def test_the_same_idempotency_key_with_another_body_answers_409(site: Site) -> None:
    headers = {**auth(site.north.specialist), "Idempotency-Key": "create-0002"}
    first = site.http.post("/api/v1/requests", json=BODY, headers=headers)
    other = request_body(member_id="TEST-0777-Q")
    refused = site.http.post("/api/v1/requests", json=other, headers=headers)
    assert first.status_code == 201
    assert refused.status_code == 409
    assert refused.json()["error"] == "Conflict"
    assert refused.json()["message"].startswith(
        "Idempotency-Key: this key was already used for a different request body"
    )
    assert "TEST-0777-Q" not in refused.text


# -- body limits -------------------------------------------------------------------------------


def test_a_json_body_over_1_mb_answers_413_in_the_error_shape(site: Site) -> None:
    body = b'{"payer_id": "' + b"x" * (1024 * 1024) + b'"}'
    refused = site.http.post(
        "/api/v1/requests",
        content=body,
        headers={**auth(site.north.specialist), "Content-Type": "application/json"},
    )
    message = "The request body is 1.0 MB; the limit here is 1 MB. Send a smaller body."
    assert refused.status_code == 413
    assert refused.json() == {
        "error": "PayloadTooLarge",
        "message": message,
        "issues": [{"code": "too-large", "message": message, "location": "body"}],
        "retryable": False,
    }


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(site: Site) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for _ in range(64):  # 4 MB in 64 KB chunks
            yield b"x" * 65536

    refused = site.http.post(
        "/api/v1/requests",
        content=chunks(),
        headers={**auth(site.north.specialist), "Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert refused.json()["message"] == (
        "The request body is over the 1 MB limit here. Send a smaller body."
    )


def test_an_upload_over_25_mb_answers_413_before_it_is_read(site: Site) -> None:
    request_id = _create(site)
    refused = site.http.post(
        f"/api/v1/requests/{request_id}/documents",
        data={"kind": "other"},
        files={"file": ("big.pdf", b"%PDF-" + b"0" * (26 * 1024 * 1024), "application/pdf")},
        headers=auth(site.north.specialist),
    )
    assert refused.status_code == 413
    assert refused.json()["message"].startswith(
        "The request body is 26.0 MB; the limit here is 25 MB. Split the document"
    )
    listed = site.http.get(
        f"/api/v1/requests/{request_id}/documents", headers=auth(site.north.viewer)
    )
    assert listed.json()["checklist"][0]["attached"] is False
