"""/docs: Swagger UI for the OpenAPI document, served from local files (no CDN at run time).

The Swagger UI assets come from the swagger-ui-bundle-v2 package. Without it, /docs still lists
every operation from the OpenAPI document, server-rendered, and links to /openapi.json.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from precert.web.templating import templates

ASSETS = "/docs/assets"
METHODS = ("get", "post", "put", "patch", "delete")


def swagger_assets() -> Path | None:
    """The folder of the installed Swagger UI bundle, if the package is installed."""
    try:
        bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError:
        return None
    return Path(bundle.swagger_ui_path)


def install(app: FastAPI, *, assets: Path | None) -> None:
    """Add /docs to `app`: Swagger UI from the `assets` folder, or the plain list without it."""
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        if assets is None:
            return _operations_page(request, app)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="precert API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            # validatorUrl: Swagger UI would otherwise ask validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
        )


def _operations_page(request: Request, app: FastAPI) -> HTMLResponse:
    schema = app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", "")}
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    ]
    return templates.TemplateResponse(
        request,
        "docs.html",
        {"info": schema.get("info", {}), "operations": operations, "openapi_url": app.openapi_url},
    )
