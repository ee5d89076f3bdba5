"""The API answers the same on SQLite and on PostgreSQL (imported packs are read from the store)."""

from __future__ import annotations

import httpx
from tests.integration.web.live_server import serving, web_context

from precert.config import Settings
from precert.web.app import create_app


def test_the_check_api_answers_from_an_imported_pack_on_either_database(
    any_settings: Settings,
) -> None:
    ctx = web_context(any_settings)
    body = [
        {"payer": "web-test-payer", "code": "70551", "pos": "22", "date": "2026-12-01"},
        {"payer": "web-test-payer", "code": "J0585", "pos": "22", "encounter": "e"},
        {"payer": "web-test-payer", "code": "64612", "pos": "22", "encounter": "e"},
    ]
    try:
        with serving(create_app(any_settings, ctx=ctx)) as url:
            response = httpx.post(f"{url}/api/v1/requirements/check", json=body, timeout=30)
            payers = httpx.get(f"{url}/api/v1/payers", timeout=30).json()["payers"]
    finally:
        ctx.engine.dispose()

    assert response.status_code == 200
    answers = response.json()["services"]
    assert [(a["code"], a["decision"]) for a in answers] == [
        ("70551", "required"),
        ("J0585", "required"),
        ("64612", "unknown"),
    ]
    assert answers[1]["date"] == "2026-11-23"
    assert {"id": "web-test-payer", "origin": "imported"}.items() <= next(
        p for p in payers if p["id"] == "web-test-payer"
    ).items()
