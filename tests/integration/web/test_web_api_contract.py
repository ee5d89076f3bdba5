"""The API contract: the request keys, and the one error shape even when the server breaks."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from tests.integration.web.live_server import serving, sqlite_settings_in

from precert.services.context import build_context
from precert.services.requirements import FIELDS
from precert.web import docs
from precert.web.api.schemas import ServiceIn
from precert.web.app import create_app


def test_the_request_model_accepts_exactly_the_fields_of_the_check_service() -> None:
    assert set(ServiceIn.model_fields) == {*FIELDS, "dx"}


def test_an_unexpected_failure_answers_500_in_the_error_shape(tmp_path: Path) -> None:
    # A database nobody migrated: the rule book cannot be read, a failure no handler expects.
    settings = sqlite_settings_in(tmp_path)
    ctx = build_context(settings, migrate=False)
    try:
        with serving(create_app(settings, ctx=ctx)) as url:
            response = httpx.post(
                f"{url}/api/v1/requirements/check",
                json=[{"payer": "medicare", "code": "15823"}],
                timeout=30,
            )
    finally:
        ctx.engine.dispose()

    assert response.status_code == 500
    assert response.json() == {
        "error": "InternalError",
        "message": "precert could not answer because of an unexpected error on the server; "
        "try again, and report it to your administrator if it happens again.",
        "issues": [],
        "retryable": True,
    }


def test_without_the_swagger_ui_bundle_docs_still_list_every_operation() -> None:
    app = FastAPI(title="precert", version="test", docs_url=None, redoc_url=None)

    @app.get("/api/v1/payers", summary="List the configured payers")
    def payers() -> dict[str, str]:
        return {}

    docs.install(app, assets=None)

    with serving(app) as url:
        page = httpx.get(f"{url}/docs", timeout=30)

    assert page.status_code == 200
    assert (
        "<code>GET</code></td><td><code>/api/v1/payers</code></td><td>List the configured payers"
        in (page.text)
    )
    assert 'href="/openapi.json"' in page.text


def test_an_app_built_from_settings_alone_migrates_its_database_and_answers(
    tmp_path: Path,
) -> None:
    app = create_app(sqlite_settings_in(tmp_path))

    with serving(app) as url:
        health = httpx.get(f"{url}/healthz", timeout=30)
        answer = httpx.post(
            f"{url}/api/v1/requirements/check",
            json=[{"payer": "medicare", "code": "15823", "pos": "24", "dx": ["H02.831"]}],
            timeout=30,
        )

    assert health.json()["status"] == "ok"
    assert answer.status_code == 200
    assert answer.json()["services"][0]["decision"] == "not_required"
