"""Portal runs in the web app, over real HTTP on 127.0.0.1, against the mock portals.

A payer whose channel is the portal (web-test-payer, PRECERT_PORTALS) is sent from the work queue:
"Send to payer" queues a run and opens its page; the test runs `portal_runs.execute` on a thread
of its own, as the portal consumer would (it launches its own Chromium there: Playwright's sync
API belongs to the thread that started it). Then:

- mock portal (a), the modern wizard: the run page, open in Chromium, follows the run by itself
  (htmx every 3 s) to "Succeeded" with its steps and masked screenshots; the screenshot decodes as
  a PNG, is never cached and its opening is audited; the request is approved with the portal's
  authorization number; the JSON API shows the run; another organization sees a 404.
- mock portal (b), the legacy portal with a CAPTCHA on every sign-in: the run waits for a person,
  the request is flagged in the work queue, the run page shows the question and its screenshot
  and offers exactly the run's actions; an empty answer is refused on the page; the characters
  posted through the form resume the run to the end. And the by-hand endings: a person takes a
  waiting run over, or says a handed-over run was finished by hand, then records the submission.

Email codes of portal (b) go through a real IMAP server (pymap, test_credentials.py's fixture).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from playwright.sync_api import Browser, expect
from pydantic import SecretStr
from tests.integration.test_credentials import (  # noqa: F401  (imap_server is a fixture)
    IMAP_PASSWORD,
    IMAP_USER,
    ImapServer,
    imap_server,
)
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.requests import WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body
from tests.support.web_login import form_csrf, sign_in

from precert.domain.authorizations import Status
from precert.domain.determinations import standing_determination
from precert.portal_sim.legacy.app import create_legacy_portal, imap_append_sink
from precert.portal_sim.legacy.state import SENDER as LEGACY_SENDER
from precert.portal_sim.legacy.state import PortalState as LegacyState
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.services import accounts, audit, documents, portal_runs
from precert.services import authorization_requests as requests
from precert.services import credentials as vault
from precert.services.context import Context
from precert.services.credentials import ImapSettings
from precert.services.portal_runs import PortalRun
from precert.web.app import create_app

PASSWORD = "correct horse battery staple"
PAYER = "web-test-payer"
PAYER_NAME = "Web Test Health (synthetic)"
LEGACY_USER, LEGACY_PASSWORD = "clinic.user", "Legacy-Pa55"  # portal (b)'s default user
RUN_SECONDS = 120  # the longest a run may take here before the test calls it stuck
# The run page's badge once a run has ended, whichever way.
ENDED = re.compile("Succeeded|Failed|Handed over to a person|Finished by hand|Stopped")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RUN_LINK = re.compile(r"^/portal-runs/([A-Za-z0-9_-]+)$")
_SCREENSHOT = re.compile(
    r'<img src="(/portal-runs/[^"]+/artifacts/[^"]+)"[^>]*data-testid="run-screenshot"'
)
_QUESTION_SHOT = re.compile(
    r'<img src="(/portal-runs/[^"]+)"[^>]*data-testid="question-screenshot"'
)
_POLL = re.compile(r'hx-get="([^"]+)"')
_ACTIONS = re.compile(r'<input type="hidden" name="action" value="([a-z_]+)">')


@dataclass
class Clinic:
    """An organization with a specialist who signs in, and an API token of theirs."""

    name: str
    org: str
    email: str
    token: str
    actor: accounts.Actor


@dataclass
class Site:
    ctx: Context
    url: str
    app: FastAPI


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("portal-runs-web"))
    ctx = web_context(settings)  # the wall clock: the mock portals check dates against theirs
    app = create_app(settings, ctx=ctx)
    try:
        with serving(app) as url:
            yield Site(ctx, url, app)
    finally:
        ctx.engine.dispose()


def clinic(ctx: Context, name: str) -> Clinic:
    org = accounts.create_organization(ctx, name)
    email = f"specialist@{name.lower().replace(' ', '-')}.example.org"
    accounts.create_user(ctx, org=name, email=email, role="specialist", password=PASSWORD)
    token = accounts.create_token(ctx, email=email)
    return Clinic(name, org, email, token, accounts.authenticate_token(ctx, token))


@pytest.fixture(scope="module")
def modern_clinic(site: Site) -> Clinic:
    found = clinic(site.ctx, "Modern Clinic")
    vault.add_credential(
        site.ctx, found.org, "portal_login", username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    return found


@pytest.fixture(scope="module")
def other_clinic(site: Site) -> Clinic:
    return clinic(site.ctx, "Other Clinic")


@pytest.fixture(scope="module")
def modern_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(create_modern_portal(tmp_path_factory.mktemp("portal-a"))) as url:
        yield url


@dataclass
class Legacy:
    url: str
    state: LegacyState
    clinic: Clinic


_legacy_clinics = iter(range(1, 100))


@pytest.fixture
def legacy(site: Site, imap_server: ImapServer, tmp_path: Path) -> Iterator[Legacy]:  # noqa: F811
    """Portal (b) asking every sign-in for a CAPTCHA, its codes mailed to pymap, and a clinic of
    its own whose portal login reads them (a clinic per test: the mailbox is per test)."""
    found = clinic(site.ctx, f"Legacy Clinic {next(_legacy_clinics)}")
    imap = ImapSettings(
        host="127.0.0.1", port=imap_server.port, username=IMAP_USER,
        password=SecretStr(IMAP_PASSWORD), folder="INBOX", sender=LEGACY_SENDER, security="plain",
    )  # fmt: skip
    vault.add_credential(
        site.ctx, found.org, "portal_login", username=LEGACY_USER, password=LEGACY_PASSWORD,
        imap=imap,
    )  # fmt: skip
    sink = imap_append_sink("127.0.0.1", imap_server.port, IMAP_USER, IMAP_PASSWORD)
    app = create_legacy_portal(tmp_path / "portal-b", mail_sink=sink, captcha_every=1)
    with serving(app) as url:
        use_portal(site, f"legacy-portal@{url}")
        yield Legacy(url, app.state.portal, found)


def use_portal(site: Site, target: str, **settings: Any) -> None:
    site.ctx.settings = site.ctx.settings.model_copy(
        update={"portals": {PAYER: target}, **settings}
    )


@contextmanager
def signed_in(site: Site, who: Clinic) -> Iterator[tuple[httpx.Client, str]]:
    """An httpx client signed in as the clinic's specialist, and the session's CSRF token."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        yield client, sign_in(client, site.url, who.email, PASSWORD)


def ready_request(ctx: Context, who: Clinic, member_id: str) -> str:
    """A brain MRI for web-test-payer with both documents attached: ready to send."""
    service_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    body = web_payer_body(last_name="Runpage", member_id=member_id, service_day=service_day)
    request_id = requests.create_request(ctx, who.actor, body).id
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        upload = documents.upload_document(
            ctx, who.actor, request_id, kind=kind, filename=f"notes {n}.pdf",
            data=pdf_document(f"synthetic document {n}"),
        )  # fmt: skip
    assert upload.request.status is Status.READY
    return request_id


def send_to_payer(client: httpx.Client, csrf: str, request_id: str) -> str:
    """The request page's "Send to payer"; returns the queued run's id (from the redirect)."""
    sent = client.post(
        f"/requests/{request_id}/submit",
        data={"csrf_token": csrf, "how": "channel"},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    found = _RUN_LINK.match(sent.headers["location"])
    assert found, sent.headers["location"]
    return found.group(1)


class Consumer:
    """`portal_runs.execute` of one run on a thread, as the portal queue's consumer runs it."""

    def __init__(self, ctx: Context, run_id: str) -> None:
        self.result: list[str] = []
        self.failure: list[BaseException] = []

        def consume() -> None:
            try:
                self.result.append(portal_runs.execute(ctx, run_id, worker="web-test-consumer"))
            except BaseException as error:  # noqa: BLE001 — reported by join()
                self.failure.append(error)

        self.thread = threading.Thread(target=consume, daemon=True)
        self.thread.start()

    def join(self) -> str:
        self.thread.join(RUN_SECONDS)
        assert not self.thread.is_alive(), "the portal run did not end"
        assert not self.failure, f"execute raised {self.failure[0]!r}"
        return self.result[0]


def run_of(site: Site, who: Clinic, run_id: str) -> PortalRun:
    return portal_runs.get_run(site.ctx, who.actor, run_id)


def wait_until(check: Callable[[], bool], what: str, seconds: float = RUN_SECONDS) -> None:
    """Poll for a state another thread brings about (not a timing assertion: only a bound)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


def is_png(data: bytes) -> tuple[int, int]:
    """The image's size, after Pillow decoded it completely as a PNG."""
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated or corrupt file raises
        return image.size


def queue_row(html: str, request_id: str) -> str:
    """The work queue's table row linking to the request."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        if f'href="/requests/{request_id}"' in row:
            return str(row)
    raise AssertionError("the request is not in the work queue")


# -- mock portal (a): sent from the work queue, followed live, approved --------------------------


def test_a_portal_payers_request_sent_from_the_work_queue_is_followed_live_to_its_approval(
    site: Site,
    modern_clinic: Clinic,
    other_clinic: Clinic,
    modern_portal: str,
    browser: Browser,
) -> None:
    use_portal(site, f"modern-wizard@{modern_portal}")
    request_id = ready_request(site.ctx, modern_clinic, "SIM-OK-WEB1")
    with signed_in(site, modern_clinic) as (client, csrf):
        queue = client.get("/queue")
        assert f'href="/requests/{request_id}"' in queue.text
        page = client.get(f"/requests/{request_id}")
        assert "reached through its web portal" in page.text  # the Send button says what it does

        run_id = send_to_payer(client, csrf, request_id)

        queued = client.get(f"/portal-runs/{run_id}")
        assert f"Queued for the {PAYER_NAME} portal." in queued.text
        assert 'data-testid="run-status">Queued<' in queued.text
        assert 'data-refreshing="true"' in queued.text  # polled while it is active
        poll = _POLL.search(queued.text)
        assert poll, "the live part has no polling address"
        live = html.unescape(poll.group(1))
        htmx = {"HX-Request": "true"}
        assert client.get(live, headers=htmx).status_code == 204  # nothing new: no swap
        part = client.get(live.split("&")[0], headers=htmx)  # a page that shows less
        assert part.status_code == 200 and part.text.lstrip().startswith('<div id="run-live"')
        moved = client.get(f"/portal-runs/{run_id}/live?seen=running", headers=htmx)
        assert moved.headers.get("HX-Refresh") == "true"  # another stage: the whole page again
        shown = client.get(f"/requests/{request_id}")
        assert 'data-testid="active-run"' in shown.text
        assert f'href="/portal-runs/{run_id}"' in shown.text  # the "Portal runs" panel
        assert 'data-testid="portal-submit-running"' in shown.text  # no second Send meanwhile

        # The page follows the run by itself: opened now, it shows the end without a reload.
        context = browser.new_context(base_url=site.url)
        try:
            tab = context.new_page()
            sign_in(tab, site.url, modern_clinic.email, PASSWORD)
            tab.goto(f"/portal-runs/{run_id}")
            expect(tab.get_by_test_id("run-status")).to_have_text("Queued")
            consumer = Consumer(site.ctx, run_id)
            expect(tab.get_by_test_id("run-status")).to_have_text(ENDED, timeout=RUN_SECONDS * 1000)
            assert consumer.join() == "done"
            ended = run_of(site, modern_clinic, run_id)
            assert ended.status == "succeeded", (ended.outcome, ended.message)
            expect(tab.get_by_test_id("run-status")).to_have_text("Succeeded")
            shots = tab.get_by_test_id("run-screenshot")
            assert shots.count() >= 1, f"no screenshot on the run: {ended.screenshots}"
            shots.first.scroll_into_view_if_needed()  # the pictures load lazily
            first = shots.first.element_handle()
            # The browser fetched and decoded the screenshot (else naturalWidth stays 0).
            tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first)
            expect(tab.locator("#run-live")).not_to_have_attribute("data-refreshing", "true")
        finally:
            context.close()

        done = client.get(f"/portal-runs/{run_id}")
        run = run_of(site, modern_clinic, run_id)
        assert run.status == "succeeded", run.message
        assert 'data-refreshing="true"' not in done.text
        assert 'data-status="submitted"' in done.text  # the one submit click, in the steps
        for step in run.steps:
            assert f'data-status="{step.status}"' in done.text
        assert run.sop in done.text and modern_clinic.email in done.text
        image = _SCREENSHOT.search(done.text)
        assert image, "the run page shows no screenshot"
        picture = client.get(image.group(1))
        assert picture.status_code == 200
        assert picture.headers["content-type"] == "image/png"
        assert picture.headers["cache-control"] == "no-store"
        width, height = is_png(picture.content)
        assert width > 100 and height > 100
        name = image.group(1).rsplit("/", 1)[1]
        views = [
            entry
            for entry in audit.events_about(site.ctx, "portal_run", run_id)
            if entry.action == "view" and entry.reason == f"artifact {name}"
        ]
        assert views and {entry.actor for entry in views} == {modern_clinic.email}

        # The trace: offered as a download, with the PHI note and how to open it; it is a
        # Playwright trace (a ZIP) without the portal password (paused while it was typed).
        assert run.traces, "the run kept no Playwright trace"
        assert "Traces contain PHI" in done.text and "playwright show-trace" in done.text
        trace = client.get(f"/portal-runs/{run_id}/artifacts/{run.traces[0]}")
        assert trace.headers["content-type"] == "application/zip"
        assert trace.headers["cache-control"] == "no-store"
        assert trace.headers["content-disposition"].startswith("attachment;")
        with zipfile.ZipFile(io.BytesIO(trace.content)) as archive:
            assert archive.testzip() is None
            for member in archive.namelist():
                assert b"demo-password" not in archive.read(member), member
        viewed = {entry.reason for entry in audit.events_about(site.ctx, "portal_run", run_id)}
        assert f"artifact {run.traces[0]}" in viewed

        # A finished run has nothing to answer: the page says so, nothing changes.
        late = client.post(
            f"/portal-runs/{run_id}/resolve", data={"csrf_token": csrf, "action": "continue"}
        )
        assert late.status_code == 409
        assert "not waiting for a person" in late.text
        assert 'data-testid="run-status">Succeeded<' in late.text

        approved = client.get(f"/requests/{request_id}")
    detail = requests.get_request(site.ctx, modern_clinic.actor, request_id)
    assert detail.request.status is Status.APPROVED
    decision = standing_determination(detail.timeline)
    assert decision is not None and str(decision["authorization_number"]).startswith("AUTH")
    assert str(decision["authorization_number"]) in approved.text
    assert 'data-testid="active-run"' not in approved.text

    # The JSON API: the run without bytes, its screenshot behind a token.
    api = httpx.Client(base_url=site.url, timeout=30)
    with api:
        bearer = {"Authorization": f"Bearer {modern_clinic.token}"}
        body = api.get(f"/api/v1/portal-runs/{run_id}", headers=bearer).json()
        assert body["status"] == "succeeded" and body["request_id"] == request_id
        assert [s["status"] for s in body["steps"]] == [s.status for s in run.steps]
        href = body["screenshots"][0]["href"]
        fetched = api.get(href, headers=bearer)
        assert fetched.headers["cache-control"] == "no-store"
        is_png(fetched.content)

        # Another organization: no such run, no such picture.
        theirs = {"Authorization": f"Bearer {other_clinic.token}"}
        assert api.get(f"/api/v1/portal-runs/{run_id}", headers=theirs).status_code == 404
        assert api.get(href, headers=theirs).status_code == 404
    with signed_in(site, other_clinic) as (stranger, _):
        assert stranger.get(f"/portal-runs/{run_id}").status_code == 404
        assert stranger.get(image.group(1)).status_code == 404


def test_the_api_queues_a_portal_submit_and_answers_202_with_the_run(
    site: Site, modern_clinic: Clinic, modern_portal: str
) -> None:
    use_portal(site, f"modern-wizard@{modern_portal}")
    request_id = ready_request(site.ctx, modern_clinic, "SIM-OK-WEB2")
    bearer = {"Authorization": f"Bearer {modern_clinic.token}"}
    with httpx.Client(base_url=site.url, timeout=30) as api:
        sent = api.post(
            f"/api/v1/requests/{request_id}/submit", json={"channel": "auto"}, headers=bearer
        )
        assert sent.status_code == 202, sent.text
        run = sent.json()
        assert run["status"] == "queued" and run["purpose"] == "submit"
        assert sent.headers["location"] == f"/api/v1/portal-runs/{run['id']}"
        assert Consumer(site.ctx, run["id"]).join() == "done"
        ended = api.get(sent.headers["location"], headers=bearer).json()
    assert ended["status"] == "succeeded", ended["message"]
    detail = requests.get_request(site.ctx, modern_clinic.actor, request_id)
    assert detail.request.status is Status.APPROVED


# -- mock portal (b): a CAPTCHA for a person ------------------------------------------------------


def waiting_run(site: Site, legacy: Legacy) -> tuple[str, str, Consumer]:
    """A legacy-portal submit sent from the request page, running until it asks a person."""
    request_id = ready_request(site.ctx, legacy.clinic, "XJH400321")
    with signed_in(site, legacy.clinic) as (client, csrf):
        run_id = send_to_payer(client, csrf, request_id)
    consumer = Consumer(site.ctx, run_id)
    wait_until(
        lambda: run_of(site, legacy.clinic, run_id).status not in ("queued", "running"),
        "the run to wait for a person",
    )
    run = run_of(site, legacy.clinic, run_id)
    assert run.status == "waiting_for_person", (run.status, run.message)
    return request_id, run_id, consumer


def captcha_shown(state: LegacyState) -> str:
    """The characters the portal's CAPTCHA picture shows now (what the person reads)."""
    shown = [session.captcha for session in state.sessions.values() if session.stage == "captcha"]
    assert len(shown) == 1
    return shown[0]


def test_a_captcha_waits_for_a_person_who_types_it_on_the_run_page_and_the_run_goes_on(
    site: Site, legacy: Legacy
) -> None:
    request_id, run_id, consumer = waiting_run(site, legacy)
    run = run_of(site, legacy.clinic, run_id)
    assert run.question is not None
    with signed_in(site, legacy.clinic) as (client, csrf):
        row = queue_row(client.get("/queue").text, request_id)
        assert "wq-row-attention" in row  # the exception in the work queue
        shown = client.get(f"/requests/{request_id}")
        assert "Answer its question" in shown.text

        page = client.get(f"/portal-runs/{run_id}")
        assert 'data-testid="run-status">Waiting for a person<' in page.text
        assert run.question.reason in page.text
        assert _ACTIONS.findall(page.text) == [
            action for action in ("answer", "continue", "retry", "by_hand", "stop")
            if action in run.question.offers
        ]  # fmt: skip
        assert "answer" in run.question.offers, (
            f"the runner offers {run.question.offers} for the CAPTCHA: no 'Ask a person' step yet"
        )
        assert "Type what the picture shows" in page.text
        shot = _QUESTION_SHOT.search(page.text)
        assert shot, "the question has no screenshot"
        is_png(client.get(shot.group(1)).content)

        empty = client.post(
            f"/portal-runs/{run_id}/resolve",
            data={"csrf_token": csrf, "action": "answer", "text": "  "},
        )
        assert empty.status_code == 422
        assert 'data-field="text"' in empty.text  # the message sits by the field
        assert 'id="person"' in empty.text  # the question is still there to answer
        assert run_of(site, legacy.clinic, run_id).status == "waiting_for_person"

        typed = captcha_shown(legacy.state)
        answered = client.post(
            f"/portal-runs/{run_id}/resolve",
            data={"csrf_token": csrf, "action": "answer", "text": typed},
            follow_redirects=False,
        )
        assert answered.status_code == 303
        assert answered.headers["location"] == f"/portal-runs/{run_id}"
        assert consumer.join() == "done"
        ended = client.get(f"/portal-runs/{run_id}")
        bearer = {"Authorization": f"Bearer {legacy.clinic.token}"}
        shown_by_api = client.get(f"/api/v1/portal-runs/{run_id}", headers=bearer).text

    run = run_of(site, legacy.clinic, run_id)
    assert run.status == "succeeded", run.message
    # The pause and the resume are in the steps: "asked" on the Ask step's line, then that step
    # done with the person's answer, then the one submit click.
    statuses = [(step.line, step.status) for step in run.steps]
    asked = next(i for i, (_, status) in enumerate(statuses) if status == "asked")
    line = statuses[asked][0]
    assert statuses[asked + 1] == (line, "ok"), statuses[asked:]
    assert [status for _, status in statuses[asked:]].count("submitted") == 1
    assert 'data-status="asked"' in ended.text
    assert "done with the person&#39;s answer" in ended.text
    assert run.answer is not None and run.answer["action"] == "answer"
    assert typed not in ended.text and typed not in shown_by_api  # who answered, not what
    detail = requests.get_request(site.ctx, legacy.clinic.actor, request_id)
    assert detail.request.status is Status.APPROVED
    assert not detail.request.needs_attention
    assert len(legacy.state.requests) == 1


def test_a_person_takes_a_waiting_run_over_by_hand_and_records_the_submission(
    site: Site, legacy: Legacy
) -> None:
    request_id, run_id, consumer = waiting_run(site, legacy)
    bearer = {"Authorization": f"Bearer {legacy.clinic.token}"}
    with signed_in(site, legacy.clinic) as (client, csrf):
        # Through the API this time (the page's forms post the same answer).
        wrong = client.post(
            f"/api/v1/portal-runs/{run_id}/resolve", json={"action": "fly"}, headers=bearer
        )
        assert wrong.status_code == 422 and wrong.json()["issues"][0]["location"] == "action"
        taken = client.post(
            f"/api/v1/portal-runs/{run_id}/resolve", json={"action": "by_hand"}, headers=bearer
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["answer"]["action"] == "by_hand"
        assert taken.json()["answer"]["by"] == legacy.clinic.email
        assert consumer.join() == "done"
        run = run_of(site, legacy.clinic, run_id)
        assert run.status == "finished_by_hand", (run.status, run.message)
        page = client.get(f"/portal-runs/{run_id}")
        assert 'data-testid="run-status">Finished by hand<' in page.text
        assert f'href="/requests/{request_id}#action-submit"' in page.text

        recorded = client.post(
            f"/requests/{request_id}/submit",
            data={"csrf_token": csrf, "how": "manual", "method": "portal", "reference": "PC77"},
            follow_redirects=True,
        )
        assert "Submission by portal recorded" in recorded.text
    assert legacy.state.requests == []  # the run never reached the form
    detail = requests.get_request(site.ctx, legacy.clinic.actor, request_id)
    assert detail.request.status is Status.SUBMITTED


def test_a_handed_over_run_is_marked_finished_by_hand_from_its_page(
    site: Site, legacy: Legacy
) -> None:
    use_portal(site, f"legacy-portal@{legacy.url}", portal_handover_minutes=0.1)  # 6 seconds
    try:
        request_id, run_id, consumer = waiting_run(site, legacy)
        assert consumer.join() == "done"  # nobody answered in time
    finally:
        use_portal(site, f"legacy-portal@{legacy.url}", portal_handover_minutes=10.0)
    run = run_of(site, legacy.clinic, run_id)
    assert run.status == "handed_over", (run.status, run.message)
    with signed_in(site, legacy.clinic) as (client, _):
        assert "wq-row-attention" in queue_row(client.get("/queue").text, request_id)
        page = client.get(f"/portal-runs/{run_id}")
        assert "I finished it on the portal by hand" in page.text
        assert f'href="/requests/{request_id}#action-submit"' in page.text
        assert _ACTIONS.findall(page.text) == ["by_hand"]
        bearer = {"Authorization": f"Bearer {legacy.clinic.token}"}
        refused = client.post(
            f"/api/v1/portal-runs/{run_id}/resolve", json={"action": "continue"}, headers=bearer
        )
        assert refused.status_code == 409  # nothing waits for "continue" any more
        assert "not waiting for a person" in refused.json()["message"]
        done = client.post(
            f"/portal-runs/{run_id}/resolve",
            data={"csrf_token": form_csrf(page.text), "action": "by_hand"},
            follow_redirects=True,
        )
        assert 'data-testid="run-status">Finished by hand<' in done.text
    assert run_of(site, legacy.clinic, run_id).status == "finished_by_hand"
