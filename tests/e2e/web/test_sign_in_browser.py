"""Chromium: sign in with password and authenticator code, import a schedule through /import,
open the dashboard, sign out. Screenshots go to $PRECERT_SCREENSHOTS (or a temp folder):
sign-in-code.png, import.png and dashboard.png."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import next_code, totp_secret_of

from precert.services import accounts
from precert.web.app import create_app

PASSWORD = "correct horse battery staple"
EMAIL = "lead@browser-clinic.example"
COLUMNS = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi,appointment_id"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server on the real clock (TOTP codes come from the real time) with one TOTP admin."""
    settings = sqlite_settings_in(tmp_path_factory.mktemp("web-sign-in-e2e"))
    ctx = web_context(settings)
    ctx.today = dt.date.today
    accounts.create_organization(ctx, "Browser Clinic")
    accounts.create_user(ctx, org="Browser Clinic", email=EMAIL, role="admin", password=PASSWORD)
    secret = totp_secret_of(accounts.enable_totp(ctx, EMAIL))
    with serving(create_app(settings, ctx=ctx)) as url:
        yield url, secret
    ctx.engine.dispose()


@pytest.fixture
def tab(browser: Browser, site: tuple[str, str]) -> Iterator[Page]:
    url, _ = site
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=url)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else elsewhere.append(r.url))
    yield page
    context.close()
    assert elsewhere == [], f"the page fetched from outside the app: {elsewhere}"


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = os.environ.get("PRECERT_SCREENSHOTS") or tempfile.mkdtemp(prefix="precert-shots-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _schedule(folder: Path) -> Path:
    today = dt.date.today()
    soon = (today + dt.timedelta(days=3)).isoformat()
    later = (today + dt.timedelta(days=20)).isoformat()
    rows = [
        COLUMNS,
        f"Testpatient,Browserone,1980-02-01,TEST-0901-B,web-test-payer,commercial,TX,70551,1,22,"
        f"G43.909,{soon},1234567893,1234567893,BR-1",
        f"Testpatient,Browsertwo,1975-06-15,TEST-0902-B,web-test-payer,commercial,TX,70553,1,22,"
        f"G43.909,{later},1234567893,1234567893,BR-2",
        "Testpatient,Browserthree,1990-03-03,TEST-0903-B,web-test-payer,commercial,TX,70551,1,22,"
        "G43.909,31/12/2026,1234567893,1234567893,BR-3",
    ]
    path = folder / "schedule.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_sign_in_with_a_code_import_a_schedule_and_open_the_dashboard(
    tab: Page, site: tuple[str, str], shots: Path, tmp_path: Path
) -> None:
    _, secret = site
    tab.goto("/dashboard")
    expect(tab).to_have_url(re.compile(r"/login\?next=/dashboard$"))
    tab.get_by_label("Email").fill(EMAIL)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()

    expect(tab.get_by_role("heading", name="Authenticator code")).to_be_visible()
    tab.screenshot(path=str(shots / "sign-in-code.png"))
    tab.get_by_label("Code").fill(next_code(secret))
    tab.get_by_role("button", name="Verify").click()

    expect(tab.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(tab.locator(".account-email")).to_have_text(EMAIL)
    expect(tab.locator(".role-badge")).to_have_text("admin")

    tab.get_by_role("link", name="Import schedule").click()
    tab.get_by_label("Schedule file").set_input_files(str(_schedule(tmp_path)))
    tab.get_by_role("button", name="Import").click()
    result = tab.locator("#import-result")
    expect(result.locator('[data-count="created"] strong')).to_have_text("2")
    expect(result.locator('[data-count="invalid"] strong')).to_have_text("1")
    expect(result.locator("#row-errors")).to_contain_text("service_date")
    expect(result.locator("#due-soon tbody tr")).to_have_count(1)
    expect(result.locator("#created a")).to_have_count(2)
    tab.screenshot(path=str(shots / "import.png"), full_page=True)

    tab.get_by_role("link", name="Dashboard").click()
    expect(tab.locator('[data-figure="total"] .dash-number')).to_have_text("2")
    expect(tab.locator('[data-figure="at-risk"] .dash-number')).to_have_text("1")
    draft = tab.locator('svg[data-chart="chart-status"] g[data-label="Draft"] title')
    expect(draft).to_have_text("Draft: 2")
    expect(tab.locator("#savings-formula")).to_contain_text("CAQH")
    tab.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    assert (shots / "dashboard.png").stat().st_size > 10_000

    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_text("You are signed out.")).to_be_visible()
    tab.goto("/dashboard")
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
