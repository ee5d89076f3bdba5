"""Checking a request's status on the payer's portal from the work queue, over real HTTP on
127.0.0.1, in real Chromium, with the shipped SOPs against both mock portals.

A request is sent to the payer from the request page ("Send to payer" queues a portal submit run;
the test executes it on a thread, as the portal consumer would) and the portal pends it. The
portal then decides, and a person opens the request from the work queue and presses "Check
status on the portal now": a status run is queued (its page follows it), executed, and the
request shows the portal's decision.

- mock portal (a), the modern wizard in its variant look: SIM-DENY member ids are pended at
  submission and denied once the portal's decision delay has passed (its clock is moved on).
- mock portal (b), the legacy portal: procedure 70551 is pended here, then its reviewer approves
  it (`PortalState.decide`). Its status run is asked for a CAPTCHA: the work queue's row links
  to the waiting run ("Answer the portal's question"), the person types the characters there,
  and the run reads the approval. The queue page's query count does not grow with its rows.

And the edges: no button (and a 422) for a request not submitted through the portal, 404 for
another organization, a second press while a check is going returns that run (page and API).
The service functions behind them (`start_status_for`, `waiting_runs`) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import event
from tests.integration.test_credentials import (  # noqa: F401  (imap_server is a fixture)
    IMAP_PASSWORD,
    IMAP_USER,
    ImapServer,
    imap_server,
)
from tests.integration.test_portal_runs import make_world
from tests.integration.test_portal_runs import ready_request as ready_in
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.integration.web.test_web_portal_runs import (
    ENDED,
    PASSWORD,
    PAYER_NAME,
    RUN_SECONDS,
    Clinic,
    Consumer,
    Site,
    clinic,
    queue_row,
    ready_request,
    run_of,
    send_to_payer,
    signed_in,
    use_portal,
    wait_until,
)
from tests.support.web_login import sign_in

from precert.domain.authorizations import Status
from precert.domain.determinations import standing_determination
from precert.errors import InvalidInput, NotFound, PermissionDenied
from precert.portal_sim.legacy.app import create_legacy_portal, imap_append_sink
from precert.portal_sim.legacy.state import SENDER as LEGACY_SENDER
from precert.portal_sim.legacy.state import PortalState as LegacyState
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.portal_sim.modern.rules import DENIAL_REASON as MODERN_DENIAL
from precert.services import audit, portal_runs
from precert.services import authorization_requests as requests
from precert.services import credentials as vault
from precert.services.accounts import Actor, Role
from precert.services.context import Context
from precert.services.credentials import ImapSettings
from precert.services.portal_run_observer import run_repository
from precert.services.portal_runs import QUEUED_EVENT
from precert.services.submission import ManualSubmission, submit_request
from precert.store.exchanges import Exchange, ExchangeRepository
from precert.web.app import create_app

LEGACY_USER, LEGACY_PASSWORD = "clinic.user", "Legacy-Pa55"  # portal (b)'s default user
PENDED_CODE = "70551"  # the brain MRI of web_payer_body: portal (b) pends it here
# Portal (a) decides SIM-DENY requests this long after submission; its clock is moved on past
# it, within its authenticator's window (one 30-second step either side of precert's clock).
DECISION_DELAY = dt.timedelta(seconds=20)
BUTTON = "Check status on the portal now"
_RUN_LINK = re.compile(r"^/portal-runs/([A-Za-z0-9_-]+)$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("portal-status-web"))
    ctx = web_context(settings)  # the wall clock: the mock portals check dates against theirs
    app = create_app(settings, ctx=ctx)
    try:
        with serving(app) as url:
            yield Site(ctx, url, app)
    finally:
        ctx.engine.dispose()


@pytest.fixture(scope="module")
def other_clinic(site: Site) -> Clinic:
    return clinic(site.ctx, "Elsewhere Clinic")


class PortalClock:
    """Portal (a)'s clock: the wall clock, moved on by `ahead` when the test says so."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


def press_check_status(client: httpx.Client, csrf: str, request_id: str) -> httpx.Response:
    return client.post(
        f"/requests/{request_id}/portal-status",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )


def run_id_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = _RUN_LINK.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def submitted_and_pended(site: Site, who: Clinic, member_id: str) -> str:
    """A request sent from its page by a portal submit run that the portal answered "pended"."""
    request_id = ready_request(site.ctx, who, member_id)
    with signed_in(site, who) as (client, csrf):
        run_id = send_to_payer(client, csrf, request_id)
    assert Consumer(site.ctx, run_id).join() == "done"
    run = run_of(site, who, run_id)
    assert (run.status, run.outcome) == ("succeeded", "pended"), run.message
    pended = requests.get_request(site.ctx, who.actor, request_id).request
    assert pended.status is Status.PENDED
    return request_id


def open_from_queue(tab: Page, request_id: str) -> None:
    """The work queue, then the request's row (the patient's name links to its page)."""
    tab.goto("/queue")
    tab.locator(f'a[href="/requests/{request_id}"]').click()
    tab.wait_for_url(f"**/requests/{request_id}")


@contextmanager
def browser_tab(browser: Browser, site: Site, who: Clinic) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url)
    context.set_default_timeout(30_000)  # a loaded machine: give each wait room
    try:
        tab = context.new_page()
        sign_in(tab, site.url, who.email, PASSWORD)
        yield tab
    finally:
        context.close()


# -- mock portal (a), the variant look: pended, then denied after the portal's delay -------------


def test_modern_portal_status_checked_from_the_work_queue_lands_the_denial(
    site: Site, other_clinic: Clinic, browser: Browser, tmp_path: Path
) -> None:
    clock = PortalClock()
    portal = create_modern_portal(
        tmp_path / "portal-a", variant=True, clock=clock, decision_delay=DECISION_DELAY
    )
    who = clinic(site.ctx, "Wizard Clinic")
    vault.add_credential(
        site.ctx, who.org, "portal_login", username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    with serving(portal) as portal_url:
        use_portal(site, f"modern-wizard@{portal_url}")
        request_id = submitted_and_pended(site, who, "SIM-DENY-WEB1")
        clock.ahead = DECISION_DELAY + dt.timedelta(seconds=5)  # the payer decided meanwhile

        with browser_tab(browser, site, who) as tab:
            open_from_queue(tab, request_id)
            expect(tab.get_by_test_id("request-status")).to_have_text("Pended")
            tab.get_by_role("button", name=BUTTON).click()
            tab.wait_for_url(re.compile(r"/portal-runs/[A-Za-z0-9_-]+$"))
            run_id = tab.url.rsplit("/", 1)[1]
            expect(tab.get_by_role("status").first).to_have_text(
                f"Status check queued on the {PAYER_NAME} portal."
            )
            expect(tab.get_by_test_id("run-status")).to_have_text("Queued")
            queued = run_of(site, who, run_id)
            assert (queued.purpose, queued.actor_email) == ("status", who.email)

            # A second press while it is going: the same run, on the page and through the API.
            with signed_in(site, who) as (client, csrf):
                again = press_check_status(client, csrf, request_id)
                assert run_id_of(again) == run_id
                shown = client.get(again.headers["location"])
                assert "A status check on the portal is already going" in shown.text
                page = client.get(f"/requests/{request_id}")
                assert 'data-testid="portal-status-running"' in page.text
                assert BUTTON not in page.text
            bearer = {"Authorization": f"Bearer {who.token}"}
            theirs = {"Authorization": f"Bearer {other_clinic.token}"}
            body = {"request_id": request_id, "purpose": "status"}
            with httpx.Client(base_url=site.url, timeout=30) as api:
                same = api.post("/api/v1/portal-runs", json=body, headers=bearer)
                assert same.status_code == 200, same.text
                assert same.json()["id"] == run_id
                assert same.headers["location"] == f"/api/v1/portal-runs/{run_id}"
                # Another organization: no such request.
                assert api.post("/api/v1/portal-runs", json=body, headers=theirs).status_code == 404
            with signed_in(site, other_clinic) as (stranger, csrf):
                assert press_check_status(stranger, csrf, request_id).status_code == 404
                assert stranger.get(f"/portal-runs/{run_id}").status_code == 404
            assert (
                len(
                    [
                        r
                        for r in portal_runs.runs_for_request(site.ctx, who.actor, request_id)
                        if r.purpose == "status"
                    ]
                )
                == 1
            )

            # The run page follows the run by itself to its end.
            consumer = Consumer(site.ctx, run_id)
            expect(tab.get_by_test_id("run-status")).to_have_text(ENDED, timeout=RUN_SECONDS * 1000)
            assert consumer.join() == "done"
            ended = run_of(site, who, run_id)
            assert (ended.status, ended.outcome) == ("succeeded", "answered"), ended.message
            expect(tab.get_by_test_id("run-status")).to_have_text("Succeeded")

            open_from_queue(tab, request_id)  # still in the queue: a denial is worked on
            expect(tab.get_by_test_id("request-status")).to_have_text("Denied")
            expect(tab.get_by_text(MODERN_DENIAL).first).to_be_visible()
            expect(tab.get_by_role("button", name=BUTTON)).to_have_count(0)  # nothing awaits

    detail = requests.get_request(site.ctx, who.actor, request_id)
    assert detail.request.status is Status.DENIED
    decision = standing_determination(detail.timeline)
    assert decision is not None and decision["outcome"] == "denied"
    created = [
        e for e in audit.events_about(site.ctx, "portal_run", run_id) if e.action == "create"
    ]
    assert [entry.actor for entry in created] == [who.email]


# -- mock portal (b): pended, approved by its reviewer, a CAPTCHA answered from the queue --------


def test_legacy_portal_status_check_waits_for_a_captcha_the_queue_links_to_then_approves(
    site: Site,
    browser: Browser,
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    who = clinic(site.ctx, "Table Clinic")
    imap = ImapSettings(
        host="127.0.0.1", port=imap_server.port, username=IMAP_USER,
        password=SecretStr(IMAP_PASSWORD), folder="INBOX", sender=LEGACY_SENDER, security="plain",
    )  # fmt: skip
    vault.add_credential(
        site.ctx, who.org, "portal_login", username=LEGACY_USER, password=LEGACY_PASSWORD,
        imap=imap,
    )  # fmt: skip
    sink = imap_append_sink("127.0.0.1", imap_server.port, IMAP_USER, IMAP_PASSWORD)
    portal = create_legacy_portal(
        tmp_path / "portal-b", mail_sink=sink, outcomes={PENDED_CODE: "Pended"}
    )
    state: LegacyState = portal.state.portal
    with serving(portal) as portal_url:
        use_portal(site, f"legacy-portal@{portal_url}")
        request_id = submitted_and_pended(site, who, "XJH400777")
        (stored,) = state.requests
        decided = state.decide(stored.tracking, "Approved")  # the payer's reviewer
        state.captcha_every = 1  # and the next sign-in asks to prove it is human

        with browser_tab(browser, site, who) as tab:
            open_from_queue(tab, request_id)
            tab.get_by_role("button", name=BUTTON).click()
            tab.wait_for_url(re.compile(r"/portal-runs/[A-Za-z0-9_-]+$"))
            run_id = tab.url.rsplit("/", 1)[1]
            consumer = Consumer(site.ctx, run_id)
            wait_until(
                lambda: run_of(site, who, run_id).status not in ("queued", "running"),
                "the status run to ask a person",
            )
            assert run_of(site, who, run_id).status == "waiting_for_person"

            # The work queue's row links to the waiting run; one query more for the page, not
            # one per row (two more requests do not change the count).
            with signed_in(site, who) as (client, _):
                counted, page = queries_of(site, lambda: client.get("/queue"))
                row = queue_row(page.text, request_id)
                assert "Needs attention" in row
                assert f'href="/portal-runs/{run_id}"' in row
                assert "Answer the portal's question" in row
                for member in ("XJH400778", "XJH400779"):
                    ready_request(site.ctx, who, member)
                more, page = queries_of(site, lambda: client.get("/queue"))
                assert page.text.count('data-testid="answer-portal-question"') == 1
                assert more == counted, (counted, more)

            tab.goto("/queue")
            tab.get_by_test_id("answer-portal-question").click()
            tab.wait_for_url(f"**/portal-runs/{run_id}")
            expect(tab.get_by_test_id("run-status")).to_have_text("Waiting for a person")
            tab.locator('input[name="text"]').fill(captcha_shown(state))
            tab.get_by_role("button", name="Send the answer").click()
            expect(tab.get_by_test_id("run-status")).to_have_text(ENDED, timeout=RUN_SECONDS * 1000)
            assert consumer.join() == "done"
            ended = run_of(site, who, run_id)
            assert (ended.status, ended.outcome) == ("succeeded", "answered"), ended.message
            expect(tab.get_by_test_id("run-status")).to_have_text("Succeeded")

            open_from_queue(tab, request_id)
            expect(tab.get_by_test_id("request-status")).to_have_text("Approved")
            expect(tab.get_by_text(decided.authorization_number).first).to_be_visible()
            tab.goto("/queue")
            expect(tab.get_by_test_id("answer-portal-question")).to_have_count(0)

    detail = requests.get_request(site.ctx, who.actor, request_id)
    assert detail.request.status is Status.APPROVED
    assert not detail.request.needs_attention
    decision = standing_determination(detail.timeline)
    assert decision is not None
    assert decision["authorization_number"] == decided.authorization_number
    assert len(state.requests) == 1  # checked, never submitted twice


def captcha_shown(state: LegacyState) -> str:
    """The characters the portal's CAPTCHA picture shows now (what the person reads)."""
    shown = [session.captcha for session in state.sessions.values() if session.stage == "captcha"]
    assert len(shown) == 1
    return shown[0]


def queries_of(site: Site, call: Callable[[], httpx.Response]) -> tuple[int, httpx.Response]:
    """The SQL statements the app ran while answering `call` (nothing else runs meanwhile)."""
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(site.ctx.engine, "before_cursor_execute", seen)
    try:
        answer = call()
    finally:
        event.remove(site.ctx.engine, "before_cursor_execute", seen)
    assert answer.status_code == 200, answer.text
    return len(statements), answer


# -- no portal submission: no button ---------------------------------------------------------------


def test_a_request_not_submitted_through_the_portal_offers_no_status_check(
    site: Site, tmp_path: Path
) -> None:
    use_portal(site, "modern-wizard@http://127.0.0.1:9")  # a portal payer; nothing runs here
    who = clinic(site.ctx, "Phone Clinic")
    request_id = ready_request(site.ctx, who, "XJH400800")
    bearer = {"Authorization": f"Bearer {who.token}"}
    with signed_in(site, who) as (client, csrf):
        assert BUTTON not in client.get(f"/requests/{request_id}").text  # not submitted yet
        recorded = client.post(
            f"/requests/{request_id}/submit",
            data={"csrf_token": csrf, "how": "manual", "method": "phone", "reference": "R-1",
                  "rep_name": "Pat Rep"},
            follow_redirects=True,
        )  # fmt: skip
        assert "Submission by phone recorded" in recorded.text
        assert 'data-testid="request-status">Submitted<' in recorded.text
        assert BUTTON not in recorded.text
        refused = press_check_status(client, csrf, request_id)
        assert refused.status_code == 422
        assert "no submission made through the payer&#39;s portal" in refused.text
        by_api = client.post("/api/v1/portal-runs", json={"request_id": request_id}, headers=bearer)
        assert by_api.status_code == 422
        assert by_api.json()["issues"][0]["code"] == "no-portal-submission"
    assert portal_runs.runs_for_request(site.ctx, who.actor, request_id) == []


# -- the service functions, on both databases ------------------------------------------------------


def test_start_status_for_queues_one_status_run_for_a_person_and_waiting_runs_finds_it(
    any_ctx: Context,
) -> None:
    world = make_world(any_ctx, "http://127.0.0.1:9")
    actor = world.actor
    request_id = ready_in(world, "SVC-STATUS-1")
    submit_request(
        any_ctx, actor, request_id,
        details=ManualSubmission(method="portal", reference="R-1", rep_name=None),
    )  # fmt: skip
    x12_id = ready_in(world, "SVC-STATUS-2")
    submit_request(
        any_ctx, actor, x12_id,
        details=ManualSubmission(method="portal", reference="R-2", rep_name=None),
    )  # fmt: skip
    with any_ctx.uow() as uow:
        for each, channel in ((request_id, "portal"), (x12_id, "x12")):
            ExchangeRepository(uow.session).add(
                Exchange(
                    key=f"{each}-1", organization_id=actor.organization_id, request_id=each,
                    channel=channel, payer_id="web-test-payer", reference=f"REF-{channel}",
                    submitted_at=any_ctx.now(), receipt={},
                )
            )  # fmt: skip
        uow.commit()

    run, started = portal_runs.start_status_for(any_ctx, actor, request_id)
    again, started_again = portal_runs.start_status_for(any_ctx, actor, request_id)
    assert (started, started_again) == (True, False)
    assert again.id == run.id and world.dispatched == [run.id]  # handed to the queue once
    assert (run.purpose, run.status, run.actor_email) == ("status", "queued", actor.email)
    kinds = [e.kind for e in requests.get_request(any_ctx, actor, request_id).timeline]
    assert kinds.count(QUEUED_EVENT) == 1
    created = [e for e in audit.events_about(any_ctx, "portal_run", run.id) if e.action == "create"]
    assert [entry.actor for entry in created] == [actor.email]
    assert portal_runs.awaits_portal(any_ctx, actor, request_id)
    assert not portal_runs.awaits_portal(any_ctx, actor, x12_id)

    with pytest.raises(InvalidInput) as not_portal:
        portal_runs.start_status_for(any_ctx, actor, x12_id)
    assert not_portal.value.issues[0].code == "no-portal-submission"
    viewer = Actor("viewer-1", actor.organization_id, "viewer@example.org", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        portal_runs.start_status_for(any_ctx, viewer, request_id)
    stranger = make_world(any_ctx, "http://127.0.0.1:9", org_name="Status Elsewhere").actor
    with pytest.raises(NotFound):
        portal_runs.start_status_for(any_ctx, stranger, request_id)

    ids = [request_id, x12_id]
    assert portal_runs.waiting_runs(any_ctx, actor, ids) == {}  # queued, not waiting
    with any_ctx.uow() as uow:
        run_repository(any_ctx, uow).change(run.id, status="waiting_for_person")
        uow.commit()
    assert portal_runs.waiting_runs(any_ctx, actor, ids) == {request_id: run.id}
    assert portal_runs.waiting_runs(any_ctx, stranger, ids) == {}  # tenant-scoped
    assert portal_runs.waiting_runs(any_ctx, actor, []) == {}
