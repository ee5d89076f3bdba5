"""A pended portal submission is checked on the payer's turnaround (domain/status_checks.py), on
SQLite against mock portal (a) in the process's Chromium: the web-test-payer decides a standard
request in 7 calendar days, so the exchange's first check is 42 hours after the submission; the
status SOP finding it still pended there moves the next check to the half (84 hours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from tests.integration.web.live_server import WEB_PACK, serving
from tests.support.requests import NOW, WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body

from precert.channels.base import AnswerKind
from precert.channels.portal import channel as portal
from precert.channels.portal.runner import BrowserSettings
from precert.domain.authorizations import Status
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.services import authorization_requests as requests
from precert.services import documents
from precert.services.accounts import Actor, Role, create_organization
from precert.services.catalog import import_pack
from precert.services.context import Context
from precert.services.credentials import add_credential
from precert.services.payer_exchanges import inquire
from precert.services.submission import submit_request
from precert.store.exchanges import Exchange, ExchangeRepository

TURNAROUND = dt.timedelta(days=7)  # web-test-payer.yaml: standard "7 calendar days"


@pytest.fixture(scope="module")
def portal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The portal runs on the wall clock: it checks authenticator codes against its own time.
    with serving(create_modern_portal(tmp_path_factory.mktemp("modern-portal"))) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(browser: Browser) -> Iterator[None]:
    portal.use_browser(BrowserSettings(browser=browser, locate_timeout_seconds=5.0))
    try:
        yield
    finally:
        portal.use_browser(None)


@pytest.fixture
def actor(ctx: Context, portal_url: str, chromium: None) -> Actor:
    ctx.settings = ctx.settings.model_copy(
        update={"portals": {"web-test-payer": f"modern-wizard@{portal_url}"}, "inquiry_minutes": 60}
    )
    ctx.now = lambda: NOW
    import_pack(ctx, WEB_PACK)
    org = create_organization(ctx, "Clinic Schedule")
    add_credential(
        ctx, org, "portal_login", username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    return Actor("user-schedule", org, "pat@clinic-schedule.example.org", Role.SPECIALIST)


def _pended_submission(ctx: Context, actor: Actor) -> str:
    # SIM-PEND: the portal pends it at submission and its status pages keep saying so.
    service_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    body = web_payer_body(last_name="Schedcanary", member_id="SIM-PEND-7", service_day=service_day)
    request_id = requests.create_request(ctx, actor, body).id
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        documents.upload_document(
            ctx, actor, request_id, kind=kind, filename=f"notes {n}.pdf",
            data=pdf_document(f"synthetic document {n}"),
        )  # fmt: skip
    result = submit_request(ctx, actor, request_id)
    assert result.receipt.answer is not None
    assert result.receipt.answer.kind is AnswerKind.PENDED
    assert result.request.status is Status.PENDED
    return request_id


def _exchange(ctx: Context, actor: Actor, request_id: str) -> Exchange:
    with ctx.uow() as uow:
        found = ExchangeRepository(uow.session).awaiting(actor.organization_id, request_id)
    assert found is not None
    return found


def test_a_pended_portal_submission_is_checked_at_the_quarters_of_the_turnaround(
    ctx: Context, actor: Actor
) -> None:
    request_id = _pended_submission(ctx, actor)

    submitted = _exchange(ctx, actor, request_id)
    assert submitted.channel == "portal"
    assert submitted.submitted_at == NOW
    assert submitted.next_check_at == NOW + TURNAROUND / 4  # not NOW + the 60 inquiry minutes

    quarter = NOW + TURNAROUND / 4
    landed = inquire(ctx, actor.organization_id, request_id, now=quarter)

    checked = _exchange(ctx, actor, request_id)
    assert landed is None or landed.status is Status.PENDED
    assert (checked.checks, checked.last_checked_at) == (1, quarter)
    assert checked.next_check_at == NOW + TURNAROUND / 2
