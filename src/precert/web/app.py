"""The web application factory: `create_app(settings)` wires the JSON API, the pages and /docs.

Nothing happens at import time. The services Context is built once per app (or handed in by tests)
and kept on `app.state.ctx`; route handlers reach it through `web.deps`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from precert import __version__
from precert.config import Settings, load_settings
from precert.domain import codes
from precert.services.context import Context, build_context
from precert.web import docs
from precert.web import session as web_session
from precert.web.api import router as api_router
from precert.web.api.assignment import router as assignment_router
from precert.web.api.claims import router as claims_api_router
from precert.web.api.eligibility import router as eligibility_router
from precert.web.api.exports import router as exports_router
from precert.web.api.portal_runs import router as portal_runs_api_router
from precert.web.api.recovery import router as recovery_api_router
from precert.web.api.requests import router as requests_router
from precert.web.errors import install_error_handlers
from precert.web.fhir.crd import router as crd_router
from precert.web.fhir.pas_notify import router as pas_notify_router
from precert.web.limits import BodyLimit
from precert.web.ui.check import router as ui_router
from precert.web.ui.claims import router as claims_page_router
from precert.web.ui.dashboard import router as dashboard_router
from precert.web.ui.eligibility import router as eligibility_page_router
from precert.web.ui.imports import router as imports_router
from precert.web.ui.login import router as login_router
from precert.web.ui.new_request import router as new_request_router
from precert.web.ui.portal_runs import router as portal_runs_page_router
from precert.web.ui.queue import router as queue_router
from precert.web.ui.recovery import router as recovery_page_router
from precert.web.ui.request_page import router as request_page_router

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """\
Is approval required for this service, with this payer and plan, on this date, in this setting?
precert answers per service: `required`, `notification`, `conditional`, `not_required` or
`unknown` (verify with the payer), with the payer's own term, what is reviewed, documents, channels,
turnaround and every reason. Errors always have one shape: `error`, `message`, `issues`
(`code`, `message`, `location`) and `retryable`.
"""


def create_app(settings: Settings, *, ctx: Context | None = None) -> FastAPI:
    """The precert web app on `settings`; tests pass a ready `ctx` (fixed clock, temp database)."""
    context = ctx if ctx is not None else build_context(settings)
    owns_context = ctx is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_context:  # this app is the process's (precert serve, uvicorn --factory)
            prepare_process(context)
        yield
        if owns_context:  # a context handed in belongs to the caller, who disposes of it
            context.engine.dispose()

    app = FastAPI(
        title="precert",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served by web.docs from local assets: nothing is fetched from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.ctx = context
    install_error_handlers(app)
    app.add_middleware(BodyLimit)  # 413 before an oversized body is read
    app.include_router(api_router)
    app.include_router(crd_router)  # CDS Hooks for Da Vinci CRD: /cds-services
    app.include_router(pas_notify_router)  # payers' PAS Subscriptions post decisions here
    app.include_router(exports_router)  # before /requests/{id}, which would take 'export'
    app.include_router(assignment_router)
    app.include_router(eligibility_router)  # before requests_router, like the other actions
    app.include_router(requests_router)
    app.include_router(ui_router)
    app.include_router(queue_router)
    app.include_router(new_request_router)  # before /requests/{id}, which would take 'new'
    app.include_router(request_page_router)
    app.include_router(eligibility_page_router)
    app.include_router(recovery_api_router)
    app.include_router(recovery_page_router)
    app.include_router(claims_api_router)
    app.include_router(claims_page_router)
    app.include_router(portal_runs_api_router)  # /api/v1/portal-runs/...
    app.include_router(portal_runs_page_router)  # /portal-runs/{id}, /live, /artifacts, /resolve
    app.include_router(login_router)
    app.include_router(dashboard_router)
    app.include_router(imports_router)
    web_session.install(app)
    docs.install(app, assets=docs.swagger_assets())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def prepare_process(context: Context) -> None:
    """Load what the first requests would otherwise wait for, then keep it out of the GC's way.

    The rule book and the ICD-10-CM code set are about 600,000 long-lived objects; a full garbage
    collection walking them stalls every request in flight for 100 ms or more (seen as the max
    latency in bench/api_latency.py). gc.freeze() moves them to the permanent generation, which
    collections skip.
    """
    context.rulebook()
    codes.diagnosis_code("M17.11")  # loads the code set (about 2 s) now, not on a first request
    gc.collect()
    gc.freeze()


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory precert.web.app:app_from_environment` (settings from PRECERT_*)."""
    return create_app(load_settings())
