"""Checking a request's coverage (X12 270/271) through the API and the request page, against the
payer simulator over real HTTP on 127.0.0.1: active coverage with the payer's EB11 flag per service
type next to the rule pack's answer, a disagreement and inactive coverage flagging the request,
an unknown member refused with the payer's AAA reason, no PRECERT_X12_URL, a viewer, and a
timeline event that holds no patient name, birth date or member id.

The synthetic web-test-payer pack says a brain MRI (70551, service type 62) needs authorization
and a specialist office visit (99203, type 98) does not. The simulator's default rules answer
EB11 N for type 98 (office visits never need one) and Y for the rest; a SIM-DENY member makes
every type Y, so the office visit then disagrees with the pack.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from tests.integration.test_payer_sim_pas import Clock
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.integration.web.test_web_api_requests import SteppingClock, Team, auth, make_team
from tests.support.requests import SERVICE_DAY
from tests.support.web_login import sign_in

from precert.channels.x12.envelope import ControlCounter, Party
from precert.channels.x12.tx270 import read_270
from precert.channels.x12.tx271_write import Answer271, BenefitRow, write_271
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.rules import load_rules
from precert.services import accounts
from precert.services.audit import events_about
from precert.services.context import Context
from precert.web.app import create_app

SIM_START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
LAST_NAME, FIRST_NAME, BIRTH_DATE = "Zyxwarden", "Quillon", "1980-02-01"


@dataclass
class Site:
    http: httpx.Client
    ctx: Context
    url: str
    sim_url: str
    team: Team


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("eligibility")
    clock = Clock()
    clock.now = SIM_START
    with serving(create_sim_app(load_rules(), root / "sim", clock, interval=0.02)) as sim_url:
        settings = sqlite_settings_in(root).model_copy(
            update={"x12_url": f"{sim_url}/x12", "x12_timeout_seconds": 10.0}
        )
        ctx = web_context(settings)
        ctx.now = SteppingClock()
        team = make_team(ctx, "Coverage Clinic")
        try:
            with (
                serving(create_app(settings, ctx=ctx)) as url,
                httpx.Client(base_url=url, timeout=30) as client,
            ):
                yield Site(client, ctx, url, sim_url, team)
        finally:
            ctx.engine.dispose()


@contextmanager
def x12_url(site: Site, url: str | None) -> Iterator[None]:
    """PRECERT_X12_URL changed for the block (the running app reads settings per request)."""
    kept = site.ctx.settings
    site.ctx.settings = kept.model_copy(update={"x12_url": url})
    try:
        yield
    finally:
        site.ctx.settings = kept


def body(member_id: str) -> dict[str, Any]:
    line = {"units": 1, "diagnoses": ["G43.909"], "from": SERVICE_DAY, "to": SERVICE_DAY}
    return {
        "payer_id": "web-test-payer",
        "plan": "commercial",
        "urgency": "standard",
        "patient": {
            "first_name": FIRST_NAME,
            "last_name": LAST_NAME,
            "birth_date": BIRTH_DATE,
            "member_id": member_id,
        },
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {**line, "code": "70551", "pos": "22"},
            {**line, "code": "99203", "pos": "11"},
        ],
    }


def draft(site: Site, member_id: str) -> str:
    made = site.http.post(
        "/api/v1/requests", json=body(member_id), headers=auth(site.team.specialist)
    )
    assert made.status_code == 201, made.text
    request_id: str = made.json()["id"]
    return request_id


def check(site: Site, request_id: str, token: str | None = None) -> httpx.Response:
    headers = auth(token or site.team.specialist)
    return site.http.post(f"/api/v1/requests/{request_id}/eligibility", headers=headers)


def timeline(site: Site, request_id: str) -> list[dict[str, Any]]:
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.team.viewer))
    assert shown.status_code == 200, shown.text
    events: list[dict[str, Any]] = shown.json()["timeline"]
    return events


def by_type(coverage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service_type"]: s for s in coverage["services"]}


def test_active_coverage_sets_the_payers_eb11_next_to_the_rule_pack_per_service_type(
    site: Site,
) -> None:
    request_id = draft(site, "ELIG-7781-Q")
    answer = check(site, request_id)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    coverage = result["coverage"]
    assert coverage["active"] is True
    assert coverage["plan"] == "SIMULATED PLAN"
    assert (coverage["plan_begin"], coverage["plan_end"]) == ("2026-01-01", "2026-12-31")
    services = by_type(coverage)
    assert list(services) == ["62", "98"]  # in line order
    mri, visit = services["62"], services["98"]
    assert (mri["codes"], mri["payer"], mri["rules"], mri["agree"]) == (
        ["70551"],
        "required",
        "required",
        True,
    )
    assert (visit["codes"], visit["payer"], visit["rules"], visit["agree"]) == (
        ["99203"],
        "not_required",
        "not_required",
        True,
    )
    assert "authorization is required per the payer's 271" in mri["summary"]
    assert result["needs_attention"] is None
    events = [e for e in timeline(site, request_id) if e["kind"] == "coverage_checked"]
    assert len(events) == 1
    assert events[0]["data"] == coverage
    assert events[0]["note"].startswith("Coverage is active (SIMULATED PLAN)")
    reasons = [e.reason for e in events_about(site.ctx, "authorization_request", request_id)]
    assert "coverage checked with the payer (270/271)" in reasons


def test_the_timeline_event_holds_no_patient_name_birth_date_or_member_id(site: Site) -> None:
    member_id = "ELIG-5521-Z"
    request_id = draft(site, member_id)
    assert check(site, request_id).status_code == 200
    (event,) = [e for e in timeline(site, request_id) if e["kind"] == "coverage_checked"]
    kept = json.dumps(event).upper()
    for phi in (LAST_NAME, FIRST_NAME, BIRTH_DATE, BIRTH_DATE.replace("-", ""), member_id):
        assert phi.upper() not in kept


def test_a_payer_that_disagrees_with_the_rule_pack_flags_the_request(site: Site) -> None:
    request_id = draft(site, "SIM-DENY-ELIG-1")  # the simulator says Y for every type
    result = check(site, request_id).json()
    visit = by_type(result["coverage"])["98"]
    assert (visit["payer"], visit["rules"], visit["agree"], visit["disagree"]) == (
        "required",
        "not_required",
        False,
        True,
    )
    assert result["needs_attention"] == (
        "Coverage check: the payer's 271 and the rule pack disagree (service type 98 (office "
        "visit (professional)): the payer says authorization is required, the rule pack says "
        "not required). Call the payer to confirm whether authorization is required before "
        "submitting or skipping it."
    )
    kinds = [e["kind"] for e in timeline(site, request_id)]
    assert kinds[-2:] == ["coverage_checked", "needs_attention_set"]


class InactivePayer:
    """A payer that answers every 270 with inactive coverage (EB*6), over real HTTP."""

    def app(self) -> FastAPI:
        app = FastAPI()
        controls = ControlCounter()

        @app.post("/x12")
        async def answer(request: Request) -> Response:
            text = (await request.body()).decode()
            inquiries = read_270(text)
            answers = [Answer271(q, benefits=(BenefitRow("6", "30"),)) for q in inquiries]
            out = write_271(
                answers,
                sender=Party("ZZ", "INACTIVE"),
                receiver=Party("ZZ", "PRECERT"),
                at=SIM_START,
                next_control=controls,
                reference=inquiries[0].trace,
            )
            return Response(out, media_type="application/EDI-X12")

        return app


def test_inactive_coverage_flags_the_request_and_a_clean_check_later_clears_it(
    site: Site,
) -> None:
    request_id = draft(site, "ELIG-3141-I")
    with serving(InactivePayer().app()) as payer, x12_url(site, f"{payer}/x12"):
        answer = check(site, request_id)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["coverage"]["active"] is False
    assert result["needs_attention"].startswith(
        "Coverage check: the payer says the member's coverage is inactive. Confirm the "
        "patient's current insurance"
    )
    again = check(site, request_id).json()  # the simulator: active, and it agrees with the pack
    assert again["coverage"]["active"] is True
    assert again["needs_attention"] is None
    assert [e["kind"] for e in timeline(site, request_id)][-2:] == [
        "coverage_checked",
        "needs_attention_cleared",
    ]


def test_an_unknown_member_is_refused_with_the_payers_aaa_reason(site: Site) -> None:
    request_id = draft(site, "SIM-UNKNOWN-ELIG")
    answer = check(site, request_id)
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"] == "PayerRejected"
    assert error["message"] == (
        "The payer could not answer the coverage inquiry (AAA03 75): correct the request's member "
        "or provider data and check again."
    )
    (issue,) = error["issues"]
    assert issue["code"] == "x12.271.aaa.75"
    assert issue["message"] == (
        "The payer could not answer the inquiry: the subscriber was not found (AAA03 75); next "
        "step: correct the inquiry and resubmit (AAA04 C)."
    )
    assert "SIM-UNKNOWN-ELIG" not in answer.text
    kinds = [e["kind"] for e in timeline(site, request_id)]
    assert "coverage_checked" not in kinds


def test_without_an_x12_url_the_check_is_refused_naming_the_setting(site: Site) -> None:
    request_id = draft(site, "ELIG-2718-N")
    with x12_url(site, None):
        answer = check(site, request_id)
    assert answer.status_code == 503, answer.text
    error = answer.json()
    assert error["error"] == "ChannelMisconfigured"
    assert "set PRECERT_X12_URL" in error["message"]
    assert error["issues"][0]["location"] == "PRECERT_X12_URL"


def test_an_unreachable_payer_is_a_retryable_503(site: Site) -> None:
    request_id = draft(site, "ELIG-1618-U")
    with serving(FastAPI()) as gone:
        pass  # the server has stopped: its port now refuses connections
    with x12_url(site, f"{gone}/x12"):
        answer = check(site, request_id)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "ChannelUnavailable"
    assert answer.json()["retryable"] is True


def test_a_viewer_may_not_check_coverage(site: Site) -> None:
    request_id = draft(site, "ELIG-1414-V")
    answer = check(site, request_id, site.team.viewer)
    assert answer.status_code == 403, answer.text
    assert answer.json()["message"] == (
        "viewers cannot check coverage; ask an admin or a specialist"
    )


def test_another_organizations_request_is_not_found(site: Site) -> None:
    other = make_team(site.ctx, "Elsewhere Clinic")
    request_id = draft(site, "ELIG-1732-O")
    assert check(site, request_id, other.specialist).status_code == 404


def test_the_request_pages_check_coverage_button_shows_the_result(site: Site) -> None:
    email = "page-specialist@coverage-clinic.example.org"
    accounts.create_user(
        site.ctx, org="Coverage Clinic", email=email, role="specialist", password=PASSWORD
    )
    request_id = draft(site, "ELIG-9090-P")
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        csrf = sign_in(browser, site.url, email, PASSWORD)
        posted = browser.post(
            f"/requests/{request_id}/eligibility",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        assert posted.headers["location"] == f"/requests/{request_id}"
        shown = browser.get(posted.headers["location"]).text
    assert "Coverage checked. Coverage is active (SIMULATED PLAN)" in shown
    # The panel (templates/_coverage.html, included by request.html) with its button.
    assert 'id="coverage"' in shown
    panel = shown[shown.index('id="coverage"') :]
    assert f'action="/requests/{request_id}/eligibility"' in panel
    assert ">Check coverage</button>" in panel
    assert "<strong>Active</strong>" in panel
    assert "2026-01-01 to 2026-12-31" in panel
    assert "MRI / CT scan" in panel
    assert "not required" in panel
