"""A specialist's day in Chromium: sign in with an authenticator code, import a schedule, open the
new request from the queue, upload the notes, submit, record the approval, and see the queue and
the dashboard change. Screenshots queue.png, request.png and dashboard.png are saved into
$PRECERT_SCREENSHOTS (or the test's temp directory; the path is printed)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import sign_in, totp_secret_of

from precert.services import accounts
from precert.web.app import create_app

EMAIL = "specialist@journey-clinic.example.org"
PASSWORD = "journey password for tests"
# The server's clock is the real one: the service sits three weeks ahead of the real today.
SERVICE_DAY = (dt.date.today() + dt.timedelta(days=21)).isoformat()
NOTES = "medical records supporting medical necessity"  # the Medicare checklist item for 15823
HEADER = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi,appointment_id"
)
PDF = b"%PDF-1.7\n% synthetic clinical notes for a test patient\n%%EOF\n"


@dataclass
class Journey:
    url: str
    totp_secret: str


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("journey"))
    ctx = web_context(settings)
    accounts.create_organization(ctx, "Journey Clinic")
    accounts.create_user(
        ctx, org="Journey Clinic", email=EMAIL, role="specialist", password=PASSWORD
    )
    secret = totp_secret_of(accounts.enable_totp(ctx, EMAIL))
    try:
        with serving(create_app(settings, ctx=ctx)) as url:
            yield Journey(url, secret)
    finally:
        ctx.engine.dispose()


@pytest.fixture
def tab(browser: Browser, journey: Journey) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=journey.url)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(journey.url) else elsewhere.append(r.url))
    yield page
    context.close()
    assert elsewhere == [], f"the page fetched from outside the app: {elsewhere}"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("PRECERT_SCREENSHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {where}")
    return where


def _schedule(tmp_path: Path) -> Path:
    row = (
        f"Journeypatient,Testcase,1980-02-01,TEST-0777-J,medicare,medicare-ffs,TX,15823,1,22,"
        f"H02.831,{SERVICE_DAY},1234567893,1234567893,APPT-J-1"
    )
    path = tmp_path / "schedule.csv"
    path.write_text(f"{HEADER}\n{row}\n", "utf-8")
    return path


def _by_status(tab: Page) -> dict[str, float]:
    """The non-zero bars of the dashboard's "Requests by status" chart as {label: value}."""
    bars = tab.locator('[data-chart="chart-status"] g.bar')
    values = {
        str(bar.get_attribute("data-label")): float(bar.get_attribute("data-value") or "nan")
        for bar in bars.all()
    }
    return {label: value for label, value in values.items() if value}


def test_a_request_from_schedule_to_approval(
    tab: Page, journey: Journey, screenshots: Path, tmp_path: Path
) -> None:
    sign_in(tab, journey.url, EMAIL, PASSWORD, totp_secret=journey.totp_secret)

    tab.goto("/import")
    tab.set_input_files("#f-file", str(_schedule(tmp_path)))
    tab.get_by_role("button", name="Import").click()
    expect(tab.locator('[data-count="created"] strong')).to_have_text("1")
    tab.goto("/dashboard")
    assert _by_status(tab) == {"Draft": 1.0}

    tab.goto("/queue")
    row = tab.locator("tr", has_text="Testcase, Journeypatient")
    expect(row).to_have_count(1)
    expect(row.locator(".wq-badge").first).to_have_text("Draft")
    tab.screenshot(path=str(screenshots / "queue.png"), full_page=True)
    row.get_by_role("link", name="Testcase, Journeypatient").click()

    expect(tab.get_by_role("heading", name="Testcase, Journeypatient")).to_be_visible()
    expect(tab.locator("#documents")).to_contain_text(f"{NOTES} (missing)")
    documents = tab.locator("#documents form")
    documents.locator('select[name="kind"]').select_option(NOTES)
    documents.locator('input[name="file"]').set_input_files(
        files=[{"name": "notes.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    documents.get_by_role("button", name="Upload").click()
    expect(tab.get_by_role("status")).to_contain_text("The checklist is complete")
    expect(tab.get_by_test_id("request-status")).to_have_text("Ready")

    submit = tab.locator("#action-submit form").nth(1)
    submit.locator('select[name="method"]').select_option("fax")
    submit.locator('input[name="reference"]').fill("FAX-CONF-2201")
    submit.get_by_role("button", name="Record submission").click()
    expect(tab.get_by_test_id("request-status")).to_have_text("Submitted")

    decision = tab.locator("#action-decision form")
    decision.locator('select[name="outcome"]').select_option("approved")
    decision.locator('input[name="authorization_number"]').fill("AUTH-J-5501")
    decision.locator('input[name="valid_from"]').fill(SERVICE_DAY)
    decision.locator('input[name="valid_to"]').fill(SERVICE_DAY)
    decision.locator('select[name="method"]').select_option("phone")
    decision.locator('input[name="reference"]').fill("CALL-J-88")
    decision.locator('input[name="rep_name"]').fill("Rep Testname")
    decision.get_by_role("button", name="Record decision").click()
    expect(tab.get_by_test_id("request-status")).to_have_text("Approved")
    expect(tab.locator("#determination")).to_contain_text("AUTH-J-5501")
    expect(tab.locator("#timeline")).to_contain_text("approve")
    tab.screenshot(path=str(screenshots / "request.png"), full_page=True)

    tab.goto("/queue")
    row = tab.locator("tr", has_text="Testcase, Journeypatient")
    expect(row.locator(".wq-badge").first).to_have_text("Approved")

    tab.goto("/dashboard")
    assert _by_status(tab) == {"Approved": 1.0}
    tab.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    for name in ("queue.png", "request.png", "dashboard.png"):
        assert (screenshots / name).stat().st_size > 10_000
