"""A decision recorded on the request page in the web app reaches the team's webhook: logged as a
pending delivery when the decision commits, sent (signed, without PHI) by the worker's sweep."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from huey import MemoryHuey
from tests.conftest import TODAY
from tests.integration.notify.receivers import HttpReceiver, http_receiver
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.requests import request_body
from tests.support.web_login import sign_in

from precert.config import Settings
from precert.notify.webhook import verify_signature
from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.notifications import deliveries_of
from precert.services.schedule_import import actor_by_email
from precert.store.deliveries import DELIVERED
from precert.web.app import create_app
from precert.worker.tasks import register

SECRET = "whsec-web-decision-0123456789"
PASSWORD = "correct horse battery staple 7"
EMAIL = "specialist@decision-notice.example.org"
SERVICE_DAY = (TODAY + dt.timedelta(days=25)).isoformat()
CANARY_NAME = "Canaryweb"
CANARY_MEMBER = "CANARY-WEB-91"


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver(200) as listening:
        yield listening


def test_a_denial_recorded_on_the_request_page_is_sent_to_the_webhook_without_phi(
    tmp_path_factory: pytest.TempPathFactory, receiver: HttpReceiver
) -> None:
    base = sqlite_settings_in(tmp_path_factory.mktemp("web-notice"))
    settings = Settings(
        database_url=base.database_url,
        data_dir=base.data_dir,
        base_url="https://precert.example.test",
        webhooks=[{"url": receiver.url, "secret": SECRET}],
    )
    ctx = web_context(settings)
    accounts.create_organization(ctx, "Notice Clinic")
    accounts.create_user(
        ctx, org="Notice Clinic", email=EMAIL, role="specialist", password=PASSWORD
    )
    actor = actor_by_email(ctx, EMAIL)
    body = request_body(service_day=SERVICE_DAY, last_name=CANARY_NAME, member_id=CANARY_MEMBER)
    request_id = requests.create_request(ctx, actor, body).id
    requests.mark_ready(ctx, actor, request_id, override_reason="records faxed by the surgeon")
    try:
        with serving(create_app(settings, ctx=ctx)) as url, httpx.Client(base_url=url) as client:
            csrf = sign_in(client, url, EMAIL, PASSWORD)
            page = f"/requests/{request_id}"
            sent = client.post(
                f"{page}/submit",
                data={
                    "csrf_token": csrf,
                    "method": "phone",
                    "reference": "CALL-1",
                    "rep_name": "R",
                },
            )
            assert sent.status_code == 303, sent.text
            denied = client.post(
                f"{page}/decision",
                data={
                    "csrf_token": csrf,
                    "outcome": "denied",
                    "method": "phone",
                    "reference": "CALL-2",
                    "rep_name": "Rep Testname",
                    "reason_codes": "N54",
                },
                follow_redirects=False,
            )
            assert denied.status_code == 303, denied.text

        [logged] = deliveries_of(ctx, actor.organization_id, request_id=request_id)
        assert (logged.event, logged.status) == ("request.denied", "pending")

        jobs = register(MemoryHuey("web-notice", immediate=True), lambda: ctx)
        jobs.sweep_task.call_local()

        [received] = [r for r in receiver.requests if request_id in r.body.decode()]
        assert received.headers["x-precert-event"] == "request.denied"
        assert received.headers["x-precert-delivery"] == logged.id
        verify_signature(
            SECRET, received.headers["x-precert-signature"], received.body, now=time.time()
        )
        data = json.loads(received.body)["data"]
        assert data["link"] == f"https://precert.example.test/requests/{request_id}"
        assert CANARY_NAME.encode() not in received.body
        assert CANARY_MEMBER.encode() not in received.body
        [done] = deliveries_of(ctx, actor.organization_id, request_id=request_id)
        assert done.status == DELIVERED
    finally:
        ctx.engine.dispose()
