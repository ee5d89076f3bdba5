"""Every error the web app returns, in the one shape: PrecertError.as_dict() with its HTTP status.

precert's own errors map through errors.http_status_for; FastAPI's validation errors, Starlette's
404/405 and unexpected failures are rendered in the same shape, so a client parses one thing.
Browsers asking for a page get the same message as HTML.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from precert.errors import NotFound, PrecertError, Unauthenticated, http_status_for
from precert.services.requirements import input_error
from precert.web.templating import templates
from precert.web.validation import issues_for

# RFC 6750: a 401 names the scheme the client should use.
BEARER_CHALLENGE = 'Bearer realm="precert"'

__all__ = ["BEARER_CHALLENGE", "Unauthenticated", "error_response", "install_error_handlers"]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PrecertError, _precert_error)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_response(
    request: Request, error: PrecertError, status: int, *, name: str | None = None
) -> Response:
    body = error.as_dict()
    if name is not None:
        body["error"] = name
    if _wants_page(request):
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "error": body}, status_code=status
        )
    return JSONResponse(body, status_code=status)


async def _precert_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PrecertError)
    return error_response(request, exc, http_status_for(exc))


async def _unauthenticated(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthenticated)
    response = error_response(request, exc, http_status_for(exc))
    response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    error = input_error(issues_for(exc.errors()))
    return error_response(request, error, 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        message = f"Nothing at {path}: the API is under /api/v1 (see /docs), the check page is /."
        return error_response(request, NotFound(message), 404)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "another method")
        message = f"{request.method} is not allowed on {path}; use {allowed}."
        return error_response(request, PrecertError(message), 405, name="MethodNotAllowed")
    return error_response(request, PrecertError(str(exc.detail)), exc.status_code, name="HTTPError")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this handler, so the server logs the traceback once.
    error = PrecertError(
        "precert could not answer because of an unexpected error on the server; "
        "try again, and report it to your administrator if it happens again.",
        retryable=True,
    )
    return error_response(request, error, 500, name="InternalError")


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    api = request.url.path.startswith(("/api/", "/openapi.json"))
    return not api and "text/html" in accept
