"""Notifications and exports through the public surfaces, over real HTTP on 127.0.0.1: a decision
recorded through the API reaches a signed webhook receiver (sent by the worker's sweep), and the
work-queue export answers CSV and XLSX to any role with a token, audited, and 401 without one.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from huey import MemoryHuey
from openpyxl import load_workbook
from tests.integration.notify.receivers import HttpReceiver, http_receiver
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context

from precert.config import Settings
from precert.domain.authorizations import Event
from precert.notify.webhook import verify_signature
from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.audit import events_for
from precert.services.context import Context
from precert.services.notifications import deliveries_of
from precert.store.deliveries import DELIVERED
from precert.web.app import create_app
from precert.worker.tasks import register

SECRET = "whsec-api-test-0123456789"
SERVICE_DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()
CANARY_NAME = "Canaryexport"
CANARY_MEMBER = "CANARY-API-55"
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": CANARY_NAME,
        "last_name": "Phiprobe",
        "birth_date": "1980-02-01",
        "member_id": CANARY_MEMBER,
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [
        {
            "code": "15823",
            "units": 1,
            "pos": "22",
            "diagnoses": ["H02.831"],
            "from": SERVICE_DAY,
            "to": SERVICE_DAY,
        }
    ],
}
APPROVAL = {
    "outcome": "approved",
    "authorization_number": "AUTH-API-1",
    "valid_from": SERVICE_DAY,
    "valid_to": SERVICE_DAY,
    "method": "phone",
    "reference": "CALL-API-1",
    "rep_name": "Rep Testname",
    "lines": [{"code": "15823", "approved_units": 1}],
}


@dataclass(frozen=True)
class Site:
    http: httpx.Client
    ctx: Context
    receiver: HttpReceiver
    specialist: str
    viewer: str
    actor: accounts.Actor


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = sqlite_settings_in(tmp_path_factory.mktemp("notify-api"))
    with http_receiver(200) as receiver:
        settings = Settings(
            database_url=base.database_url,
            data_dir=base.data_dir,
            base_url="https://precert.example.test",
            webhooks=[{"url": receiver.url, "secret": SECRET}],
        )
        ctx = web_context(settings)
        accounts.create_organization(ctx, "Export Clinic")
        tokens = {}
        for role in ("specialist", "viewer"):
            email = f"{role}@export.example.org"
            accounts.create_user(ctx, org="Export Clinic", email=email, role=role, password=None)
            tokens[role] = accounts.create_token(ctx, email=email)
        actor = accounts.authenticate_token(ctx, tokens["specialist"])
        try:
            with (
                serving(create_app(settings, ctx=ctx)) as url,
                httpx.Client(base_url=url, timeout=30) as client,
            ):
                yield Site(client, ctx, receiver, tokens["specialist"], tokens["viewer"], actor)
        finally:
            ctx.engine.dispose()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_request(site: Site, **changes: Any) -> str:
    body = copy.deepcopy(BODY)
    body.update(changes)
    created = site.http.post("/api/v1/requests", json=body, headers=auth(site.specialist))
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    return request_id


def test_a_decision_recorded_through_the_api_sends_a_signed_webhook(site: Site) -> None:
    request_id = new_request(site)
    requests.apply_event(site.ctx, site.actor, request_id, Event.OVERRIDE_READY, "notes faxed")
    sent = site.http.post(f"/api/v1/requests/{request_id}/submit", headers=auth(site.specialist))
    assert sent.status_code == 200, sent.text
    decided = site.http.post(
        f"/api/v1/requests/{request_id}/determination", json=APPROVAL, headers=auth(site.specialist)
    )
    assert decided.status_code == 200, decided.text
    [logged] = deliveries_of(site.ctx, site.actor.organization_id, request_id=request_id)
    assert (logged.event, logged.status) == ("request.approved", "pending")

    # The web app cannot enqueue jobs; the worker's per-minute sweep sends what is due.
    jobs = register(MemoryHuey("api-immediate", immediate=True), lambda: site.ctx)
    jobs.sweep_task.call_local()
    [received] = [r for r in site.receiver.requests if request_id in r.body.decode()]
    assert received.headers["x-precert-event"] == "request.approved"
    assert received.headers["x-precert-delivery"] == logged.id
    verify_signature(
        SECRET, received.headers["x-precert-signature"], received.body, now=time.time()
    )
    data = json.loads(received.body)["data"]
    assert data["title"] == f"Request {request_id[:8]} approved"
    assert data["link"] == f"https://precert.example.test/requests/{request_id}"
    assert data["fields"]["Status"] == "approved"
    assert CANARY_NAME.encode() not in received.body
    assert CANARY_MEMBER.encode() not in received.body
    [done] = deliveries_of(site.ctx, site.actor.organization_id, request_id=request_id)
    assert (done.status, done.response_status) == (DELIVERED, 200)


def test_the_queue_exports_as_csv_with_formula_text_kept_as_text(site: Site) -> None:
    request_id = new_request(site, patient={**BODY["patient"], "last_name": "=Sum"})
    response = site.http.get(
        "/api/v1/requests/export", params={"format": "csv"}, headers=auth(site.specialist)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="work-queue-') and ".csv" in disposition
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "request",
        "patient",
        "status",
        "urgency",
        "needs_attention",
        "payer",
        "plan",
        "codes",
        "service_date",
        "assignee",
        "created_at",
        "link",
    ]
    [row] = [r for r in rows if r["request"] == request_id]
    assert row["patient"] == f"'=Sum, {CANARY_NAME}"  # would be a formula in a spreadsheet
    assert (row["status"], row["payer"], row["codes"]) == ("draft", "medicare", "15823")
    assert row["service_date"] == SERVICE_DAY
    assert response.headers["x-precert-rows"] == str(len(rows))


def test_a_viewer_may_export_the_queue_as_xlsx_and_the_export_is_audited(site: Site) -> None:
    request_id = new_request(site)
    response = site.http.get(
        "/api/v1/requests/export", params={"format": "xlsx"}, headers=auth(site.viewer)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("request", "patient", "status")
    [row] = [r for r in values[1:] if r[0] == request_id]
    assert row[1] == f"Phiprobe, {CANARY_NAME}"
    assert row[8] == dt.datetime.fromisoformat(SERVICE_DAY)  # a real date cell
    audit = events_for(site.ctx, site.actor.organization_id)
    exported = [e for e in audit if e.action == "export" and e.actor == "viewer@export.example.org"]
    assert (
        exported and exported[-1].reason == f"work queue export (xlsx): {len(values) - 1} requests"
    )


def test_an_export_without_a_token_answers_401_and_a_bad_format_422(site: Site) -> None:
    anonymous = site.http.get("/api/v1/requests/export")
    assert anonymous.status_code == 401
    assert anonymous.json()["message"].startswith("This endpoint needs an API token")
    wrong = site.http.get(
        "/api/v1/requests/export", params={"format": "pdf"}, headers=auth(site.viewer)
    )
    assert wrong.status_code == 422
    assert wrong.json()["message"] == "format: 'pdf' is not an export format; use csv or xlsx."
