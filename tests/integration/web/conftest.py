"""Fixtures for the web tests: one live server on SQLite for the session, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context

from precert.web.app import create_app


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the session, on a temp SQLite file."""
    settings = sqlite_settings_in(tmp_path_factory.mktemp("web"))
    ctx = web_context(settings)
    with serving(create_app(settings, ctx=ctx)) as url:
        yield url
    ctx.engine.dispose()


@pytest.fixture(scope="session")
def http(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client
