"""Sign-in pages: GET/POST /login (email + password), GET/POST /login/code (authenticator code),
POST /logout. Post/Redirect/Get throughout; `next` only ever leads to a local path.

The sign-in form has no session yet, so it carries its own CSRF token, double-submitted: a random
value in a short-lived cookie and the same value in a hidden field (a cross-site form cannot read
the cookie to copy it). That keeps another site from signing a browser into its own account.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from precert.errors import Issue, PermissionDenied
from precert.services import web_sessions
from precert.services.context import Context
from precert.services.web_sessions import SessionEnded
from precert.web.deps import ContextDep
from precert.web.session import (
    COOKIE,
    CSRF_REFUSED,
    FLASH_COOKIE,
    CsrfDep,
    CsrfRefused,
    clear_session_cookie,
    safe_next,
    secure_cookies,
    set_session_cookie,
    web_session,
)
from precert.web.templating import templates

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "precert_login_csrf"
LOGIN_CSRF_MAX_AGE = 3600
FLASHES = {
    "expired": "Your session expired; sign in again.",
    "signed-out": "You are signed out.",
    "code-again": "Too many wrong codes or the code step timed out; sign in again.",
}


@router.get("/login")
def login_page(request: Request, ctx: ContextDep, next: str | None = None) -> Response:
    target = safe_next(next)
    if _signed_in(request, ctx):
        return RedirectResponse(target, status_code=303)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = _login_form(request, ctx, token, target, flash=_flash(request))
    response.delete_cookie(FLASH_COOKIE, path="/")
    return response


@router.post("/login")
def login_submit(
    request: Request,
    ctx: ContextDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    target = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        raise CsrfRefused(CSRF_REFUSED, [Issue("csrf", CSRF_REFUSED, "csrf_token")])
    if not email.strip() or not password:
        message = "Enter your email and your password."
        return _login_form(request, ctx, expected, target, error=message, email=email, status=422)
    try:
        made = web_sessions.sign_in(ctx, email, password)
    except PermissionDenied as refused:
        return _login_form(
            request, ctx, expected, target, error=refused.message, email=email, status=401
        )
    _end_previous(request, ctx)
    where = "/login/code?next=" + quote(target, safe="/") if made.needs_code else target
    response = RedirectResponse(where, status_code=303)
    set_session_cookie(response, request, ctx, made.token)
    if not made.needs_code:
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.get("/login/code")
def code_page(request: Request, ctx: ContextDep, next: str | None = None) -> Response:
    target = safe_next(next)
    session = _pending(request, ctx)
    if session is None:
        return _back_to_login(request, ctx, target, flash="code-again")
    if session.verified:
        return RedirectResponse(target, status_code=303)
    return _code_form(request, target, email=session.actor.email)


@router.post("/login/code")
def code_submit(
    request: Request,
    ctx: ContextDep,
    _csrf: CsrfDep,
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    target = safe_next(next)
    token = request.cookies.get(COOKIE, "")
    session = _pending(request, ctx)
    if session is None:
        return _back_to_login(request, ctx, target, flash="code-again")
    if not code.strip():
        message = "Enter the 6-digit code from your authenticator app."
        return _code_form(request, target, email=session.actor.email, error=message, status=422)
    try:
        made = web_sessions.verify_code(ctx, token, code)
    except SessionEnded:
        return _back_to_login(request, ctx, target, flash="code-again")
    except PermissionDenied as refused:
        if _pending(request, ctx, fresh=True) is None:  # that was the last attempt
            return _back_to_login(request, ctx, target, flash="code-again")
        return _code_form(
            request, target, email=session.actor.email, error=refused.message, status=401
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, ctx, made.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, ctx: ContextDep, _csrf: CsrfDep) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        web_sessions.sign_out(ctx, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request, ctx)
    _set_flash(response, request, ctx, "signed-out")
    return response


# -- helpers ---------------------------------------------------------------------------------------


def _signed_in(request: Request, ctx: Context) -> bool:
    try:
        session = web_session(request, ctx)
    except SessionEnded:
        return False
    return session is not None and session.verified


def _pending(
    request: Request, ctx: Context, *, fresh: bool = False
) -> web_sessions.WebSession | None:
    if fresh and hasattr(request.state, "web_session"):
        del request.state.web_session
    try:
        return web_session(request, ctx)
    except SessionEnded:
        return None


def _end_previous(request: Request, ctx: Context) -> None:
    """Signing in again in the same browser ends the session the old cookie named."""
    old = request.cookies.get(COOKIE)
    if old:
        web_sessions.sign_out(ctx, old)


def _login_form(
    request: Request,
    ctx: Context,
    csrf: str,
    target: str,
    *,
    error: str | None = None,
    flash: str | None = None,
    email: str = "",
    status: int = 200,
) -> Response:
    context = {"login_csrf": csrf, "next": target, "error": error, "flash": flash, "email": email}
    response = templates.TemplateResponse(request, "login.html", context, status_code=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=LOGIN_CSRF_MAX_AGE,
        httponly=True,
        samesite="lax",
        path="/login",
        secure=secure_cookies(request, ctx),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _code_form(
    request: Request, target: str, *, email: str, error: str | None = None, status: int = 200
) -> Response:
    context = {"next": target, "error": error, "email": email}
    response = templates.TemplateResponse(request, "login_code.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _back_to_login(request: Request, ctx: Context, target: str, *, flash: str) -> Response:
    response = RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)
    clear_session_cookie(response, request, ctx)
    _set_flash(response, request, ctx, flash)
    return response


def _flash(request: Request) -> str | None:
    return FLASHES.get(request.cookies.get(FLASH_COOKIE, ""))


def _set_flash(response: Response, request: Request, ctx: Context, key: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        key,
        max_age=300,
        httponly=True,
        samesite="lax",
        path="/",
        secure=secure_cookies(request, ctx),
    )
