"""The documents API over real HTTP: multipart upload against the checklist (the request
turns ready), download round-trips the bytes, delete (the request goes back to draft), refusals
answer 422 with their message, roles and tenants."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.integration.web.live_server import sqlite_settings_in
from tests.integration.web.test_web_api_requests import BODY, Site, _site, auth
from tests.support.requests import MEDICARE_NOTES

NOTES = MEDICARE_NOTES
PDF = b"%PDF-1.7\nsynthetic notes for Testpatient Alpha\n%%EOF\n"
ZIP = b"PK\x03\x04" + b"\x00" * 32


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site(sqlite_settings_in(tmp_path_factory.mktemp("documents-api")))


def _draft(site: Site) -> str:
    created = site.http.post("/api/v1/requests", json=BODY, headers=auth(site.north.specialist))
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    return request_id


def _post(
    site: Site, token: str, request_id: str, data: bytes, kind: str = NOTES
) -> httpx.Response:
    return site.http.post(
        f"/api/v1/requests/{request_id}/documents",
        data={"kind": kind},
        files={"file": ("Alpha notes.pdf", data, "application/pdf")},
        headers=auth(token),
    )


def test_an_upload_completes_the_checklist_and_the_download_round_trips(site: Site) -> None:
    request_id = _draft(site)
    token = site.north.specialist
    uploaded = _post(site, token, request_id, PDF)
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["status"] == "ready"
    assert body["checklist"] == [{"name": NOTES, "attached": True, "documents": [body["document"]]}]
    document_id = body["document"]["id"]
    location = f"/api/v1/requests/{request_id}/documents/{document_id}"
    assert uploaded.headers["location"] == location

    downloaded = site.http.get(location, headers=auth(site.north.viewer))
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    # The saved name is the document id: the original filename may name the patient.
    assert downloaded.headers["content-disposition"] == f'attachment; filename="{document_id}.pdf"'
    listed = site.http.get(f"/api/v1/requests/{request_id}/documents", headers=auth(token))
    assert listed.json()["checklist"][0]["attached"] is True
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(token)).json()
    assert shown["status"] == "ready"


def test_a_zip_is_refused_with_422_and_its_message(site: Site) -> None:
    request_id = _draft(site)
    refused = _post(site, site.north.specialist, request_id, ZIP)
    assert refused.status_code == 422
    body = refused.json()
    assert body["message"] == (
        "file: upload a PDF, PNG, JPEG or TIFF; this file looks like a ZIP archive "
        "(or a Word or Excel file)."
    )
    assert body["issues"][0]["location"] == "file"


def test_an_upload_without_a_kind_names_the_missing_field(site: Site) -> None:
    request_id = _draft(site)
    refused = site.http.post(
        f"/api/v1/requests/{request_id}/documents",
        files={"file": ("notes.pdf", PDF, "application/pdf")},
        headers=auth(site.north.specialist),
    )
    assert refused.status_code == 422
    assert refused.json()["issues"][0]["message"] == "kind: this field is required."


def test_a_viewer_upload_answers_403(site: Site) -> None:
    refused = _post(site, site.north.viewer, _draft(site), PDF)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "viewers cannot upload documents; ask an admin or a specialist"
    )


def test_another_organization_gets_404_for_upload_and_download(site: Site) -> None:
    request_id = _draft(site)
    uploaded = _post(site, site.north.specialist, request_id, PDF, kind="other")
    document_id = uploaded.json()["document"]["id"]
    south = site.south.admin
    assert _post(site, south, request_id, PDF).status_code == 404
    path = f"/api/v1/requests/{request_id}/documents/{document_id}"
    hidden = site.http.get(path, headers=auth(south))
    assert hidden.status_code == 404
    assert b"Testpatient" not in hidden.content
    assert site.http.delete(path, headers=auth(south)).status_code == 404


def test_deleting_the_needed_document_sends_the_request_back_to_draft(site: Site) -> None:
    request_id = _draft(site)
    token = auth(site.north.specialist)
    uploaded = _post(site, site.north.specialist, request_id, PDF)
    assert uploaded.json()["status"] == "ready"
    path = f"/api/v1/requests/{request_id}/documents/{uploaded.json()['document']['id']}"

    viewer = site.http.delete(path, headers=auth(site.north.viewer))
    assert viewer.status_code == 403
    deleted = site.http.delete(path, headers=token)

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "status": "draft",
        "checklist": [{"name": NOTES, "attached": False, "documents": []}],
    }
    assert site.http.get(path, headers=token).status_code == 404
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=token).json()
    assert shown["status"] == "draft"
    assert [e["kind"] for e in shown["timeline"]][-2:] == [
        "document_removed",
        "documents_incomplete",
    ]
    again = site.http.delete(path, headers=token)
    assert again.status_code == 404
