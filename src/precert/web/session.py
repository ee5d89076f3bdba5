"""The browser session of the pages: the cookie, the signed-in actor, and the CSRF check.

`PageActorDep` gives a page route the Actor of a verified session, or raises LoginRequired, which
create_app turns into a redirect to /login?next=<path> (or an HX-Redirect for HTMX requests).
`CsrfDep` guards every state-changing page route: the form field `csrf_token` or the header
`X-CSRF-Token` must equal the session's token. Templates get `csrf_token(request)` and
`page_user(request)` as Jinja globals.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from precert.errors import Issue, PermissionDenied
from precert.services.accounts import Actor
from precert.services.context import Context
from precert.services.web_sessions import SessionEnded, WebSession, current
from precert.web.deps import ContextDep
from precert.web.templating import templates

COOKIE = "precert_session"
FLASH_COOKIE = "precert_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
DEFAULT_NEXT = "/queue"
CSRF_REFUSED = (
    "This form was not accepted because its security token is missing or out of date "
    "(the page may have been open from an earlier sign-in). Reload the page and try again."
)


class LoginRequired(Exception):
    """The page needs a signed-in person; `expired` when the cookie was there but timed out."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class CsrfRefused(PermissionDenied):
    """A state-changing page request without the session's CSRF token: 403."""


def web_session(request: Request, ctx: Context) -> WebSession | None:
    """The live session (verified or not) of this request's cookie, looked up once per request.
    None without a cookie; SessionEnded when the cookie names no live session."""
    if hasattr(request.state, "web_session"):
        cached: WebSession | None = request.state.web_session
        return cached
    token = request.cookies.get(COOKIE)
    found = None if not token else current(ctx, token)
    request.state.web_session = found
    return found


def page_actor(request: Request, ctx: ContextDep) -> Actor:
    """The Actor of a verified session, else LoginRequired. A plain def: it reads the database,
    so FastAPI runs it in the thread pool."""
    try:
        session = web_session(request, ctx)
    except SessionEnded as ended:
        request.state.web_session = None
        raise LoginRequired(expired=ended.expired) from None
    if session is None or not session.verified:
        raise LoginRequired()
    request.state.actor = session.actor
    return session.actor


PageActorDep = Annotated[Actor, Depends(page_actor)]


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session ("" when there is none, e.g. on public pages)."""
    session: WebSession | None = getattr(request.state, "web_session", None)
    return session.csrf_token if session is not None else ""


def page_user(request: Request) -> Actor | None:
    """The signed-in actor for the nav bar, also on public pages (which look the cookie up here,
    while rendering; a session that ended simply shows "Sign in")."""
    try:
        session = web_session(request, request.app.state.ctx)
    except Exception:  # noqa: BLE001 — an ended session, or the error page of a database failure
        # The nav bar must never break a page (least of all the error page): show "Sign in".
        request.state.web_session = None
        return None
    return session.actor if session is not None and session.verified else None


async def check_csrf(request: Request, ctx: ContextDep) -> None:
    """Refuse (403) unless the form field or header carries the session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and _is_form(request):
        form = await request.form()  # Starlette caches the parsed form for the route's Form()s
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    try:
        session = await run_in_threadpool(web_session, request, ctx)
    except SessionEnded as ended:
        request.state.web_session = None
        raise LoginRequired(expired=ended.expired) from None
    expected = session.csrf_token if session is not None else ""
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused(CSRF_REFUSED, [Issue("csrf", CSRF_REFUSED, CSRF_FIELD)])


CsrfDep = Annotated[None, Depends(check_csrf)]


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything that could leave the site becomes the queue.

    Refused: absolute URLs, scheme-relative "//host", backslashes (browsers read "/\\host" as
    "//host"), control characters, and the login pages themselves.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    if parts.path.startswith(("/login", "/logout")):
        return DEFAULT_NEXT
    return value


def secure_cookies(request: Request, ctx: Context) -> bool:
    return ctx.settings.env == "production" or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, ctx: Context, token: str) -> None:
    """HttpOnly (scripts cannot read it), SameSite=Lax (not sent on cross-site POSTs), Secure in
    production or over https. No Max-Age: the server decides when a session ends."""
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=secure_cookies(request, ctx),
    )


def clear_session_cookie(response: Response, request: Request, ctx: Context) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request, ctx)
    )


def login_redirect(request: Request, *, expired: bool) -> Response:
    """Where LoginRequired goes: /login?next=<this path>, with a note when the session expired."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login?next=" + quote(safe_next(here), safe="/")
    response: Response
    if request.headers.get("HX-Request"):
        # An HTMX request would swap the login page into a fragment: ask for a full navigation.
        response = Response(status_code=200, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if expired:
        ctx: Context = request.app.state.ctx
        response.set_cookie(
            FLASH_COOKIE,
            "expired",
            max_age=300,
            httponly=True,
            samesite="lax",
            path="/",
            secure=secure_cookies(request, ctx),
        )
        clear_session_cookie(response, request, ctx)
    return response


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return login_redirect(request, expired=exc.expired)


def install(app: FastAPI) -> None:
    """Register the LoginRequired handler (create_app calls this)."""
    app.add_exception_handler(LoginRequired, _login_required)


templates.env.globals["csrf_token"] = csrf_token
templates.env.globals["page_user"] = page_user
