"""Mock payer portal (b), the older table-layout portal, as a FastAPI app
(docs/portal-sim-legacy.md).

Sign-in is User ID + Password ("Log On"), then — on every Nth sign-in — a "Verify you are human"
CAPTCHA, then an emailed six-digit "Verification code" (sent through a pluggable mail sink: a list's
`append` in tests, `imap_append_sink(...)` to drop it in a real mailbox). The first "Main Menu" of
a session shows an "Important notice" pop-up with "Close". One "Submit a Precertification" page
(duplicates refused by "Your reference"), a confirmation with Approved / Pended / Denied, and a
"Precertification Status" search with a detail page. HTML is in pages.py, state in state.py.
"""

from __future__ import annotations

import datetime as dt
import imaplib
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from precert.portal_sim.legacy import pages
from precert.portal_sim.legacy.state import (
    DEFAULT_OUTCOMES,
    DEFAULT_USERS,
    Clock,
    LegacyUser,
    MailSink,
    PortalState,
    Session,
    Status,
)

COOKIE = "PCSESSIONID"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def imap_append_sink(
    host: str, port: int, username: str, password: str, folder: str = "INBOX"
) -> MailSink:
    """A mail sink that APPENDs each message to `folder` of an IMAP mailbox (plain IMAP: meant
    for a local test server such as pymap), where the vault's email-code reader finds it."""

    def append(message: EmailMessage) -> None:
        client = imaplib.IMAP4(host, port)
        try:
            client.login(username, password)
            arrived = imaplib.Time2Internaldate(dt.datetime.now(dt.UTC))
            status, _ = client.append(folder, None, arrived, message.as_bytes())
            if status != "OK":
                raise RuntimeError(f"IMAP APPEND to {folder} failed: {status}")
        finally:
            client.logout()

    return append


def create_legacy_portal(
    state_dir: Path,
    *,
    variant: bool = False,
    clock: Clock = utc_now,
    mail_sink: MailSink,
    captcha_every: int = 0,
    users: Mapping[str, LegacyUser] | None = None,
    outcomes: Mapping[str, Status] | None = None,
) -> FastAPI:
    """The portal app. `captcha_every=N` asks every Nth sign-in to prove it is human (0: never);
    `outcomes` maps procedure codes to "Pended"/"Denied" (others are approved). The app's
    `state.portal` is the PortalState, so a test can move a pended request on (`decide`)."""
    state = PortalState(
        state_dir=state_dir,
        users=dict(users or DEFAULT_USERS),
        clock=clock,
        mail_sink=mail_sink,
        captcha_every=captcha_every,
        outcomes=dict(DEFAULT_OUTCOMES if outcomes is None else outcomes),
    )
    skin = pages.VARIANT if variant else pages.NORMAL
    app = FastAPI(title="Mock payer portal (b): legacy", docs_url=None, redoc_url=None)
    app.state.portal = state
    _sign_in_routes(app, state, skin)
    _request_routes(app, state, skin)
    return app


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def session_of(state: PortalState, request: Request, stage: str) -> Session | None:
    session = state.sessions.get(request.cookies.get(COOKIE, ""))
    return session if session is not None and session.stage == stage else None


def text_of(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _sign_in_routes(app: FastAPI, state: PortalState, skin: pages.Skin) -> None:
    """/login, the CAPTCHA, the email code, the menu with its pop-up, /logout."""

    @app.get("/")
    def root() -> Response:
        return redirect("/login")

    @app.get("/login")
    def login_form() -> Response:
        return html(pages.login_page(skin))

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        username = text_of(form, skin.names["username"])
        password = form.get(skin.names["password"])
        if not isinstance(password, str) or not state.password_ok(username, password):
            return html(pages.login_page(skin, "Invalid User ID or Password."), 200)
        sid = state.start_session(username)
        stage = state.sessions[sid].stage
        response = redirect("/login/captcha" if stage == "captcha" else "/login/code")
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
        return response

    @app.get("/login/captcha")
    def captcha_form(request: Request) -> Response:
        session = session_of(state, request, "captcha")
        if session is None:
            return redirect("/login")
        return html(pages.captcha_page(skin, session.captcha))

    @app.post("/login/captcha")
    async def captcha(request: Request) -> Response:
        session = session_of(state, request, "captcha")
        if session is None:
            return redirect("/login")
        answer = text_of(await request.form(), skin.names["captcha"])
        if not state.solve_captcha(session, answer):
            error = "The characters did not match. Try again."
            return html(pages.captcha_page(skin, session.captcha, error))
        return redirect("/login/code")

    @app.get("/login/code")
    def code_form(request: Request) -> Response:
        if session_of(state, request, "code") is None:
            return redirect("/login")
        return html(pages.code_page(skin))

    @app.post("/login/code")
    async def code(request: Request) -> Response:
        session = session_of(state, request, "code")
        if session is None:
            return redirect("/login")
        if not state.check_code(session, text_of(await request.form(), skin.names["code"])):
            error = "The verification code is incorrect or has expired."
            return html(pages.code_page(skin, error))
        return redirect("/main")

    @app.post("/login/code/resend")
    def resend(request: Request) -> Response:
        session = session_of(state, request, "code")
        if session is None:
            return redirect("/login")
        state.send_code(session)
        return redirect("/login/code")

    @app.get("/main")
    def main(request: Request) -> Response:
        session = session_of(state, request, "in")
        if session is None:
            return redirect("/login")
        return html(pages.main_page(show_notice=not session.notice_closed))

    @app.post("/notice/close")
    def close_notice(request: Request) -> Response:
        session = session_of(state, request, "in")
        if session is None:
            return redirect("/login")
        session.notice_closed = True
        return redirect("/main")

    @app.get("/logout")
    def logout(request: Request) -> Response:
        state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = redirect("/login")
        response.delete_cookie(COOKIE)
        return response


def parse_date(text: str) -> str | None:
    """MM/DD/YYYY as the page asks, or YYYY-MM-DD (what a runner's date step may type) → ISO."""
    for layout in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, layout).date().isoformat()
        except ValueError:
            continue
    return None


def read_submission(form: FormData, skin: pages.Skin) -> tuple[dict[str, str], list[str]]:
    """The typed values by field key, and the problems to show (required, dates, certify)."""
    values = {f.key: text_of(form, skin.names[f.key]) for f in pages.SUBMIT_FIELDS}
    errors = [
        f"{f.label} is required."
        for f in pages.SUBMIT_FIELDS
        if f.required and f.kind != "file" and not values[f.key]
    ]
    for item in pages.SUBMIT_FIELDS:
        if item.kind == "date" and values[item.key]:
            iso = parse_date(values[item.key])
            if iso is None:
                errors.append(f"{item.label} must be a date as MM/DD/YYYY.")
    if values["service_type"] and values["service_type"] not in pages.SERVICE_TYPES:
        errors.append("Service type is not one of the choices.")
    if form.get(skin.names["certify"]) != "Y":
        errors.append("You must certify that the information provided is accurate.")
    return values, errors


async def document_names(form: FormData, skin: pages.Skin) -> list[str]:
    """The uploaded files' names (the portal keeps no content: a mock needs only the count)."""
    names = []
    for item in form.getlist(skin.names["documents"]):
        if isinstance(item, UploadFile) and item.filename and await item.read():
            names.append(item.filename)
    return names


def _request_routes(app: FastAPI, state: PortalState, skin: pages.Skin) -> None:
    """Submitting, the confirmation, the status search and the detail page."""

    @app.get("/precert/new")
    def new_form(request: Request) -> Response:
        if session_of(state, request, "in") is None:
            return redirect("/login")
        return html(pages.submit_page(skin, {}, []))

    @app.post("/precert/new")
    async def submit(request: Request) -> Response:
        session = session_of(state, request, "in")
        if session is None:
            return redirect("/login")
        form = await request.form()
        values, errors = read_submission(form, skin)
        if errors:
            return html(pages.submit_page(skin, values, errors))
        for key in ("date_of_birth", "service_date"):
            values[key] = parse_date(values[key]) or values[key]
        record, created = state.submit(session.user, values, await document_names(form, skin))
        if not created:
            return html(pages.duplicate_page(record))
        return redirect(f"/precert/{record.tracking}/confirmation")

    @app.get("/precert/status")
    def status(request: Request) -> Response:
        if session_of(state, request, "in") is None:
            return redirect("/login")
        name = skin.names["search_reference"]
        if name not in request.query_params:
            return html(pages.status_page(skin, "", None))
        reference = request.query_params[name].strip()
        return html(pages.status_page(skin, reference, state.by_reference(reference)))

    @app.get("/precert/{tracking}/confirmation")
    def confirmation(request: Request, tracking: str) -> Response:
        if session_of(state, request, "in") is None:
            return redirect("/login")
        record = state.by_tracking(tracking)
        if record is None:
            return html(pages.not_found_page(), 404)
        return html(pages.confirmation_page(record))

    @app.get("/precert/{tracking}")
    def detail(request: Request, tracking: str) -> Response:
        if session_of(state, request, "in") is None:
            return redirect("/login")
        record = state.by_tracking(tracking)
        if record is None:
            return html(pages.not_found_page(), 404)
        return html(pages.detail_page(record))
