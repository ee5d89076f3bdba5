"""Electronic submission end to end, through the API: a request made in the work queue is submitted
by X12 278 (Coralbay Medicaid, through the clearinghouse) and by Da Vinci PAS (Northwind Health) to
the payer simulator over real HTTP, and every outcome lands on the request: approved, denied,
partially approved, modified, contact the payer, pended then decided (by the scheduled inquiry for
X12, by the payer's Subscription for PAS), and a lost response followed by a retry that never makes
a second authorization. The simulator sits behind a forwarding proxy that can lose one answer.

The simulator's default rules choose the outcome by member id prefix (SIM-DENY, SIM-PEND, ...).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from huey import MemoryHuey
from tests.integration.test_payer_sim_pas import Clock
from tests.integration.web.live_server import serving, sqlite_settings_in
from tests.integration.web.test_web_api_requests import Site, _site, auth
from tests.support.requests import SERVICE_DAY, patient
from tests.support.web_login import sign_in

from precert.channels.fhir.pas_bundle import REQUEST_ID_SYSTEM
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.rules import load_rules
from precert.payer_sim.state import State
from precert.services import accounts, payer_exchanges
from precert.store.exchanges import ExchangeRepository
from precert.worker.tasks import register

SIM_START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
TIMEOUT = 2.0  # precert's wait for the payer; the proxy's "lost" answer comes later than this


class LossyProxy:
    """Forwards every request to the simulator; when `lose_next` is set, the next one reaches the
    simulator (which answers and keeps it) but its answer arrives after precert gave up."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.lose_next = False
        self.forwarded: list[str] = []
        self._lock = threading.Lock()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def forward(path: str, request: Request) -> Response:
            body = await request.body()
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length")
            }
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(f"{self.upstream}/{path}", content=body, headers=headers)
            with self._lock:
                self.forwarded.append(path)
                lose, self.lose_next = self.lose_next, False
            if lose:
                await asyncio.sleep(TIMEOUT + 1.0)
            return Response(
                answer.content,
                status_code=answer.status_code,
                media_type=answer.headers.get("content-type"),
            )

        return app


@dataclass
class Payers:
    site: Site
    sim_clock: Clock
    sim_dir: Path
    proxy: LossyProxy

    def sim_state(self) -> State:
        return State(self.sim_dir)


@pytest.fixture(scope="module")
def payers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Payers]:
    root = tmp_path_factory.mktemp("electronic")
    clock = Clock()
    clock.now = SIM_START
    sim_app = create_sim_app(load_rules(), root / "sim", clock, interval=0.02)
    with serving(sim_app) as sim_url:
        proxy = LossyProxy(sim_url)
        with serving(proxy.app()) as proxy_url:
            settings = sqlite_settings_in(root).model_copy(
                update={
                    "x12_url": f"{proxy_url}/x12",
                    "x12_timeout_seconds": TIMEOUT,
                    "pas_endpoints": {"northwind-health": f"{proxy_url}/fhir"},
                    "pas_timeout_seconds": TIMEOUT,
                    "inquiry_minutes": 30,
                }
            )
            for site in _site(settings):
                # The payer's Subscription posts back to this site: its address is known now.
                base = str(site.http.base_url).rstrip("/")
                site.ctx.settings = site.ctx.settings.model_copy(update={"base_url": base})
                yield Payers(site, clock, root / "sim", proxy)


def x12_body(member_id: str, units: int = 2) -> dict[str, Any]:
    """An MRI of the lumbar spine for Coralbay Medicaid: preauthorization, X12 278 first."""
    return {
        "payer_id": "coralbay-medicaid",
        "plan": "medicaid-managed-care",
        "state": "FL",
        "urgency": "standard",
        "patient": patient(last_name="Ecks", member_id=member_id),
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": "72148",
                "units": units,
                "pos": "22",
                "diagnoses": ["M54.50"],
                "from": SERVICE_DAY,
                "to": SERVICE_DAY,
            }
        ],
    }


def pas_body(member_id: str, units: int = 2) -> dict[str, Any]:
    """A CPAP device for Northwind Health: preauthorization, Da Vinci PAS first."""
    return {
        "payer_id": "northwind-health",
        "plan": "commercial",
        "urgency": "standard",
        "patient": patient(last_name="Fhirtest", member_id=member_id),
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": "E0601",
                "units": units,
                "pos": "12",
                "diagnoses": ["G47.33"],
                "from": SERVICE_DAY,
                "to": SERVICE_DAY,
            }
        ],
    }


BODIES = {"x12": x12_body, "fhir-pas": pas_body}


def ready(payers: Payers, body: dict[str, Any]) -> str:
    site = payers.site
    headers = auth(site.north.specialist)
    created = site.http.post("/api/v1/requests", json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    reason = {"override_reason": "documents sent with the clinical attachment"}
    made = site.http.post(f"/api/v1/requests/{request_id}/ready", json=reason, headers=headers)
    assert made.status_code == 200, made.text
    return request_id


def submit(payers: Payers, request_id: str) -> httpx.Response:
    site = payers.site
    return site.http.post(
        f"/api/v1/requests/{request_id}/submit",
        json={"channel": "auto"},  # the payer's own channel, as the work queue's Send does
        headers=auth(site.north.specialist),
    )


def shown(payers: Payers, request_id: str) -> dict[str, Any]:
    site = payers.site
    answer = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.north.viewer))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def decision(request: dict[str, Any]) -> dict[str, Any]:
    found = [
        e["data"]["determination"] for e in request["timeline"] if "determination" in e["data"]
    ]
    assert found, [e["kind"] for e in request["timeline"]]
    return found[-1]


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_an_approval_comes_back_with_the_submission(payers: Payers, channel: str) -> None:
    request_id = ready(payers, BODIES[channel](f"TEST-{channel}-OK"))

    sent = submit(payers, request_id)

    assert sent.status_code == 200, sent.text
    assert sent.json()["receipt"]["channel"] == channel
    request = shown(payers, request_id)
    assert request["status"] == "approved"
    determination = decision(request)
    assert determination["authorization_number"].startswith("SIM")
    assert determination["method"] == ("x12" if channel == "x12" else "fhir")
    assert determination["valid_from"] <= SERVICE_DAY <= determination["valid_to"]
    assert [
        (line["code"], line["approved_units"], line["status"]) for line in determination["lines"]
    ] == [(BODIES[channel]("x")["services"][0]["code"], 2, "approved")]
    kinds = [event["kind"] for event in request["timeline"]]
    assert kinds[-3:] == ["submission_started", "submit", "approve"]


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_a_denial_lands_with_the_payers_reason(payers: Payers, channel: str) -> None:
    request_id = ready(payers, BODIES[channel](f"SIM-DENY-{channel}"))

    assert submit(payers, request_id).status_code == 200

    request = shown(payers, request_id)
    assert request["status"] == "denied"
    determination = decision(request)
    assert determination["reason_codes"] == ["0U"]
    assert determination["authorization_number"] in ("", None) or determination["lines"]


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_a_partial_approval_lands_with_the_units_granted(payers: Payers, channel: str) -> None:
    request_id = ready(payers, BODIES[channel](f"SIM-PART-{channel}", units=3))

    assert submit(payers, request_id).status_code == 200

    request = shown(payers, request_id)
    assert request["status"] == "partially_approved"
    [line] = decision(request)["lines"]
    assert line["approved_units"] == 1
    assert line["status"] in ("approved", "modified")


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_a_modified_approval_lands_as_a_partial_with_the_modified_line(
    payers: Payers, channel: str
) -> None:
    request_id = ready(payers, BODIES[channel](f"SIM-MOD-{channel}", units=3))

    assert submit(payers, request_id).status_code == 200

    request = shown(payers, request_id)
    assert request["status"] == "partially_approved"
    determination = decision(request)
    assert determination["authorization_number"].startswith("SIM")
    [line] = determination["lines"]
    assert (line["status"], line["approved_units"]) == ("modified", 1)


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_contact_the_payer_flags_the_request_for_a_person(payers: Payers, channel: str) -> None:
    request_id = ready(payers, BODIES[channel](f"SIM-CALL-{channel}"))

    assert submit(payers, request_id).status_code == 200

    request = shown(payers, request_id)
    assert request["status"] == "pended"
    assert "asks you to call" in request["needs_attention"]


def test_a_pended_x12_request_is_decided_by_the_scheduled_inquiry(payers: Payers) -> None:
    site = payers.site
    request_id = ready(payers, x12_body("SIM-PEND-X12"))
    assert submit(payers, request_id).status_code == 200
    assert shown(payers, request_id)["status"] == "pended"

    payers.sim_clock.now += dt.timedelta(seconds=31)  # the payer's review is over
    later = site.ctx.now() + dt.timedelta(minutes=31)  # the inquiry interval has passed
    jobs = register(MemoryHuey("electronic", immediate=True), lambda: site.ctx, lambda: later)
    jobs.sweep_task()

    request = shown(payers, request_id)
    assert request["status"] == "approved", request["timeline"][-1]
    assert decision(request)["authorization_number"].startswith("SIM")
    assert request["timeline"][-1]["data"]["source"] == "x12 inquiry"
    with site.ctx.uow() as uow:
        [exchange] = ExchangeRepository(uow.session).of_request(_org(payers), request_id)
    assert exchange.status == "settled"


def test_a_pended_pas_request_is_decided_by_the_payers_subscription(payers: Payers) -> None:
    request_id = ready(payers, pas_body("SIM-PEND-PAS"))
    assert submit(payers, request_id).status_code == 200
    assert shown(payers, request_id)["status"] == "pended"

    payers.sim_clock.now += dt.timedelta(seconds=31)  # the simulator decides and notifies
    request = _wait_for(payers, request_id, "approved")

    assert decision(request)["authorization_number"].startswith("SIM")
    assert request["timeline"][-1]["data"]["source"] == "fhir-pas subscription"
    with payers.site.ctx.uow() as uow:
        held = ExchangeRepository(uow.session).subscription(_org(payers), "northwind-health")
    assert held is not None


def test_a_notification_with_a_wrong_token_is_refused(payers: Payers) -> None:
    site = payers.site
    url = f"{payer_exchanges.NOTIFY_PATH}/{_org(payers)}"
    refused = site.http.post(
        url, json={"resourceType": "Bundle"}, headers={"Authorization": "Bearer not-the-token"}
    )
    assert refused.status_code == 404
    assert refused.json()["resourceType"] == "OperationOutcome"
    token = payer_exchanges.notification_token(site.ctx.settings, _org(payers))
    broken = site.http.post(
        url, json={"resourceType": "Bundle", "type": "history"}, headers=auth(token)
    )
    assert broken.status_code == 400
    assert broken.json()["issue"][0]["severity"] == "error"


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_a_lost_response_and_a_retry_never_make_a_second_authorization(
    payers: Payers, channel: str
) -> None:
    request_id = ready(payers, BODIES[channel](f"TEST-LOST-{channel}"))
    before = _authorizations(payers)
    payers.proxy.lose_next = True

    lost = submit(payers, request_id)

    assert lost.status_code == 503, lost.text
    assert shown(payers, request_id)["status"] == "ready"
    assert _authorizations(payers) == before + 1  # the payer did receive and approve it

    retried = submit(payers, request_id)

    assert retried.status_code == 200, retried.text
    request = shown(payers, request_id)
    assert request["status"] == "approved"
    assert _authorizations(payers) == before + 1  # the retry found the same authorization
    number = decision(request)["authorization_number"]
    assert number == _sim_authorization(payers, channel, request_id)
    kinds = [event["kind"] for event in request["timeline"]]
    assert kinds.count("submission_failed") == 1 and kinds.count("approve") == 1


def _wait_for(payers: Payers, request_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        request = shown(payers, request_id)
        if request["status"] == status or time.monotonic() > deadline:
            assert request["status"] == status, [e["kind"] for e in request["timeline"]]
            return request
        time.sleep(0.05)


def _org(payers: Payers) -> str:
    return accounts.authenticate_token(
        payers.site.ctx, payers.site.north.specialist
    ).organization_id


def _authorizations(payers: Payers) -> int:
    state = payers.sim_state()
    try:
        return state.authorization_count()
    finally:
        state.close()


def _sim_authorization(payers: Payers, channel: str, request_id: str) -> str | None:
    """The authorization number the simulator issued for our request (by 278 trace key or by
    the PAS Claim identifier)."""
    state = payers.sim_state()
    try:
        key = f"x12:{request_id}" if channel == "x12" else f"{REQUEST_ID_SYSTEM}|{request_id}"
        found = state.find(key)
    finally:
        state.close()
    assert found is not None
    return found.authorization_number


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_an_approval_is_extended_at_the_payer_under_the_same_number(
    payers: Payers, channel: str
) -> None:
    site = payers.site
    request_id = ready(payers, BODIES[channel](f"TEST-EXT-{channel}"))
    assert submit(payers, request_id).status_code == 200
    number = decision(shown(payers, request_id))["authorization_number"]
    code = BODIES[channel]("x")["services"][0]["code"]

    extended = site.http.post(
        f"/api/v1/requests/{request_id}/extension",
        json={"to": "2027-01-15", "units": {code: 4}},
        headers=auth(site.north.specialist),
    )

    assert extended.status_code == 200, extended.text
    assert extended.json()["payer_answer"]["kind"] == "decided"
    request = shown(payers, request_id)
    assert request["status"] == "approved"
    event = request["timeline"][-1]
    assert event["kind"] == "extension_approved"
    assert event["data"]["source"] == f"{channel} extension"
    standing = decision(request)
    assert standing["authorization_number"] == number  # the same authorization, extended
    assert standing["valid_to"] >= "2027-01-15"
    assert [(line["code"], line["approved_units"]) for line in standing["lines"]] == [(code, 4)]


@pytest.mark.parametrize("channel", ["x12", "fhir-pas"])
def test_cancelling_an_approved_request_withdraws_it_at_the_payer(
    payers: Payers, channel: str
) -> None:
    site = payers.site
    request_id = ready(payers, BODIES[channel](f"TEST-CXL-{channel}"))
    assert submit(payers, request_id).status_code == 200

    cancelled = site.http.post(
        f"/api/v1/requests/{request_id}/cancel",
        json={"note": "surgery called off"},
        headers=auth(site.north.specialist),
    )

    assert cancelled.status_code == 200, cancelled.text
    request = shown(payers, request_id)
    assert request["status"] == "cancelled"
    event = request["timeline"][-1]
    assert (event["kind"], event["note"]) == ("cancel", "surgery called off")
    assert event["data"]["source"] == f"{channel} cancel"
    extended = site.http.post(
        f"/api/v1/requests/{request_id}/extension",
        json={"to": "2027-01-15"},
        headers=auth(site.north.specialist),
    )
    assert extended.status_code == 422  # nothing left to extend


def test_an_extension_of_a_request_sent_by_fax_says_to_ask_the_payer_by_hand(
    payers: Payers,
) -> None:
    site = payers.site
    headers = auth(site.north.specialist)
    request_id = ready(payers, x12_body("TEST-FAXED"))
    sent = {"method": "fax", "reference": "FAX-7"}
    assert site.http.post(f"/api/v1/requests/{request_id}/submit", json=sent, headers=headers)
    approval = {
        "outcome": "approved",
        "method": "fax",
        "decision_date": "2026-11-23",
        "authorization_number": "FAXAUTH1",
        "valid_from": "2026-12-01",
        "valid_to": "2027-02-28",
        "reference": "FAX-8",
        "lines": [{"code": "72148", "approved_units": 2}],
    }
    decided = site.http.post(
        f"/api/v1/requests/{request_id}/determination", json=approval, headers=headers
    )
    assert decided.status_code == 200, decided.text

    refused = site.http.post(
        f"/api/v1/requests/{request_id}/extension", json={"to": "2027-03-31"}, headers=headers
    )

    assert refused.status_code == 503
    assert "did not go to the payer electronically" in refused.json()["message"]


def test_the_request_page_sends_to_the_payer_and_asks_for_an_extension(payers: Payers) -> None:
    site = payers.site
    email, password = "page@north-clinic.example.org", "correct horse battery staple"
    accounts.create_user(
        site.ctx, org="North Clinic", email=email, role="specialist", password=password
    )
    request_id = ready(payers, x12_body("TEST-PAGE-1"))
    base = str(site.http.base_url)
    with httpx.Client(base_url=base, timeout=30) as browser:
        csrf = sign_in(browser, base, email, password)
        sent = browser.post(
            f"/requests/{request_id}/submit",
            data={"csrf_token": csrf, "how": "channel"},
            follow_redirects=True,
        )
        assert "Sent through the x12 channel" in sent.text
        assert "The payer approved it." in sent.text
        assert 'id="action-extension"' in sent.text
        extended = browser.post(
            f"/requests/{request_id}/extension",
            data={"csrf_token": csrf, "to": "2027-01-20", "units_72148": "3"},
            follow_redirects=True,
        )
    assert "The payer answered the extension" in extended.text
    request = shown(payers, request_id)
    assert request["timeline"][-1]["kind"] == "extension_approved"
    assert decision(request)["lines"][0]["approved_units"] == 3
