"""Fixtures for the browser tests: the web app on a live server and Debian's Chromium.

Playwright cannot download browsers here, so it drives /usr/bin/chromium. With CI=true a missing
Chromium fails the tests; elsewhere they are skipped with the reason shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context

from precert.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _missing(reason: str) -> None:
    # The policy of tests.conftest.missing_service: fail under CI, skip elsewhere.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: services are required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("web-e2e"))
    ctx = web_context(settings)
    with serving(create_app(settings, ctx=ctx)) as url:
        yield url
    ctx.engine.dispose()


@pytest.fixture
def page(browser: Browser, site_url: str) -> Iterator[Page]:
    """A fresh laptop-sized tab whose requests may only go to the site under test."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=site_url)
    tab = context.new_page()
    elsewhere: list[str] = []
    tab.on("request", lambda r: None if r.url.startswith(site_url) else elsewhere.append(r.url))
    yield tab
    context.close()
    assert elsewhere == [], f"the page fetched from outside the app: {elsewhere}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
