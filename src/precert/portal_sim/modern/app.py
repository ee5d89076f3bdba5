"""Mock payer portal (a), the modern wizard, as a FastAPI app (server-rendered HTML).

Sign in at /login (username, password, then an authenticator code checked with pyotp), land on
/dashboard, then either the wizard (/requests/new -> Prescreen -> Details -> Services ->
Attachments -> Review -> Confirmation) or the status search (/status -> Results -> Request
details). The draft of each user's wizard lives in the state file (a new sign-in of the same
user finds it, as on real portals); a request is stored on "Submit request" and decided at once
by rules.py. "Your reference" is unique: Review warns "A request already exists" with its
"Existing reference", and a submit with a used reference is refused (the database has the last
word, so two racing submits cannot both land).

Sessions expire after `session_timeout_seconds` without a request (None: never); pages show "Your
session is about to expire" after `session_warning_seconds` without activity (None: never).
`variant=True` serves the same labels with other ids, names, classes and field orders (pages.Look).
Everything is synthetic; nothing here is logged.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyotp
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from precert.errors import InvalidInput
from precert.portal_sim.modern import rules
from precert.portal_sim.modern.pages import Field, Look, facts_html, form_html, layout, table_html
from precert.portal_sim.modern.state import Duplicate, PortalState, Session, Submitted

DEMO_TOTP_SECRET = (
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a well-known demo secret: synthetic accounts only
)
DEMO_USERS: Mapping[str, str] = {"demo": "demo-password"}

LOGIN = (Field("username", "Username"), Field("password", "Password", "password"))
VERIFY = (Field("code", "Authenticator code"),)
STEPS: dict[str, tuple[Field, ...]] = {
    "prescreen": (
        Field("your_reference", "Your reference"),
        Field("member_id", "Member ID"),
        Field("date_of_birth", "Date of birth", "date"),
        Field("service_type", "Service type", "select", options=rules.SERVICE_TYPES),
        Field("procedure_code", "Procedure code", "combobox", suggest="procedure"),
    ),
    "details": (
        Field("provider_npi", "Ordering provider NPI"),
        Field("diagnosis_code", "Diagnosis", "combobox", suggest="diagnosis"),
        Field("service_date", "Date of service", "date"),
    ),
    "services": (
        Field("units", "Units", "number"),
        Field("body_part", "Body part"),
    ),
    "attachments": (Field("documents", "Clinical documents", "file"),),
}
HEADINGS = {
    "prescreen": "Prescreen",
    "details": "Details",
    "services": "Services",
    "attachments": "Attachments",
}
ORDER = ["prescreen", "details", "services", "attachments", "review"]
CONFIRM = Field("confirm", "I confirm the information is accurate", "checkbox")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_modern_portal(
    state_dir: Path,
    *,
    variant: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    totp_secret: str = DEMO_TOTP_SECRET,
    users: Mapping[str, str] = DEMO_USERS,
    session_warning_seconds: float | None = None,
    session_timeout_seconds: float | None = None,
    decision_delay: dt.timedelta = dt.timedelta(0),
) -> FastAPI:
    """The portal app on a state directory (created if missing). `users` maps username to
    password; every user shares `totp_secret` (base32, 6 digits, 30 s)."""
    portal = _Portal(
        PortalState(state_dir),
        Look(variant=variant),
        clock,
        _totp(totp_secret),
        dict(users),
        session_warning_seconds,
        session_timeout_seconds,
        decision_delay,
    )
    app = FastAPI(title="Mock payer portal (modern wizard)", docs_url=None, redoc_url=None)
    app.state.portal = portal.state  # tests end sessions and count sign-ins through it
    portal.routes(app)
    return app


class _Portal:
    """The routes and the rules they share (one instance per app)."""

    def __init__(
        self,
        state: PortalState,
        look: Look,
        clock: Callable[[], dt.datetime],
        totp: pyotp.TOTP,
        users: dict[str, str],
        warn_after: float | None,
        timeout: float | None,
        decision_delay: dt.timedelta,
    ) -> None:
        self.state, self.look, self.clock, self.totp = state, look, clock, totp
        self.users, self.warn_after, self.timeout = users, warn_after, timeout
        self.decision_delay = decision_delay

    # plumbing ---------------------------------------------------------------------------------

    def page(
        self, heading: str, body: str, *, status: int = 200, signed_in: bool = True
    ) -> Response:
        html = layout(heading, body, self.look, signed_in=signed_in, warn_after=self.warn_after)
        return HTMLResponse(html, status_code=status)

    def session(self, request: Request, *, verified: bool = True) -> Session | None:
        """The caller's live session (touched), or None: no cookie, unknown, not yet past the
        authenticator step when `verified`, or idle for longer than the timeout (then ended)."""
        token = request.cookies.get(self.look.cookie)
        found = self.state.session(token) if token else None
        if found is None or (verified and not found.verified):
            return None
        now = self.clock()
        if self.timeout is not None and now - found.last_seen > dt.timedelta(seconds=self.timeout):
            self.state.end_session(found.token)
            return None
        self.state.touch(found.token, now)
        return found

    def routes(self, app: FastAPI) -> None:
        app.get("/")(self.home)
        app.get("/login")(self.login_page)
        app.post("/login")(self.login)
        app.get("/login/verify")(self.verify_page)
        app.post("/login/verify")(self.verify)
        app.post("/logout")(self.logout)
        app.post("/session/keep-alive")(self.keep_alive)
        app.get("/dashboard")(self.dashboard)
        app.get("/requests/new")(self.new_request)
        app.get("/wizard/review")(self.review)
        app.post("/wizard/submit")(self.submit)
        app.get("/wizard/{step}")(self.step_page)
        app.post("/wizard/{step}")(self.step_post)
        app.get("/confirmation/{reference_number}")(self.confirmation)
        app.get("/status")(self.status_search)
        app.get("/requests/{reference_number}")(self.request_details)
        app.get("/suggest/{kind}")(self.suggest)

    # sign-in ----------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        return _see("/dashboard" if self.session(request) else "/login")

    def login_page(self) -> Response:
        return self.login_form({}, None)

    def login_form(self, values: Mapping[str, str], problem: str | None) -> Response:
        alert = f'<div role="alert">{problem}</div>' if problem else ""
        body = alert + form_html("/login", LOGIN, self.look, values, {}, "Sign in")
        return self.page(
            "Sign in to the provider portal", body, signed_in=False, status=401 if problem else 200
        )

    async def login(self, request: Request) -> Response:
        form = await request.form()
        username = _text(form, self.look.name("username"))
        password = _text(form, self.look.name("password"))
        known = self.users.get(username)
        if known is None or not secrets.compare_digest(known, password):
            return self.login_form({"username": username}, "The username or password is wrong.")
        token = secrets.token_urlsafe(24)
        self.state.open_session(token, username, self.clock())
        response = _see("/login/verify")
        response.set_cookie(self.look.cookie, token, httponly=True, samesite="lax")
        return response

    def verify_page(self, request: Request) -> Response:
        if self.session(request, verified=False) is None:
            return _see("/login")
        return self.verify_form(None)

    def verify_form(self, problem: str | None) -> Response:
        alert = f'<div role="alert">{problem}</div>' if problem else ""
        intro = "<p>Enter the 6-digit code from your authenticator app.</p>"
        body = alert + intro + form_html("/login/verify", VERIFY, self.look, {}, {}, "Verify")
        return self.page(
            "Two-step verification", body, signed_in=False, status=401 if problem else 200
        )

    async def verify(self, request: Request) -> Response:
        found = self.session(request, verified=False)
        if found is None:
            return _see("/login")
        code = _text(await request.form(), self.look.name("code"))
        if not self.totp.verify(code, for_time=self.clock(), valid_window=1):
            return self.verify_form("That code is not right. Try the newest code.")
        self.state.verify_session(found.token, self.clock())
        return _see("/dashboard")

    def logout(self, request: Request) -> Response:
        token = request.cookies.get(self.look.cookie)
        if token:
            self.state.end_session(token)
        response = _see("/login")
        response.delete_cookie(self.look.cookie)
        return response

    def keep_alive(self, request: Request) -> Response:
        if self.session(request) is None:
            return JSONResponse({"signed_in": False}, status_code=401)
        return JSONResponse({"signed_in": True})

    def dashboard(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        body = (
            f"<p>Signed in as {found.username}.</p><ul>"
            '<li><a href="/requests/new">New authorization request</a></li>'
            '<li><a href="/status">Check status</a></li></ul>'
        )
        return self.page("Dashboard", body)

    # the wizard -------------------------------------------------------------------------------

    def new_request(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        self.state.save_draft(found.username, {"done": []})
        return _see("/wizard/prescreen")

    def step_page(self, request: Request, step: str) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        if step not in STEPS:
            return self.page("Page not found", "<p>There is no such page.</p>", status=404)
        back = self.missing_step(found.draft, step)
        if back:
            return _see(f"/wizard/{back}")
        values = {k: str(v) for k, v in found.draft.items() if isinstance(v, str)}
        return self.step_form(found.draft, step, values, {})

    def step_form(
        self, draft: dict[str, Any], step: str, values: Mapping[str, str], errors: dict[str, str]
    ) -> Response:
        fields = self.fields_of(draft, step)
        number = ORDER.index(step) + 1
        intro = f'<p class="{self.look.cls("step")}">Step {number} of {len(ORDER)}</p>'
        body = intro + form_html(
            f"/wizard/{step}",
            fields,
            self.look,
            values,
            errors,
            "Continue",
            multipart=step == "attachments",
        )
        return self.page(HEADINGS[step], body, status=422 if errors else 200)

    @staticmethod
    def fields_of(draft: Mapping[str, Any], step: str) -> tuple[Field, ...]:
        """The step's fields; "Body part" only when the service type is imaging."""
        fields = STEPS[step]
        if step == "services" and draft.get("service_type") != rules.IMAGING:
            fields = tuple(f for f in fields if f.key != "body_part")
        return fields

    @staticmethod
    def missing_step(draft: Mapping[str, Any], step: str) -> str | None:
        """The first earlier step not completed yet (wizards cannot be entered midway)."""
        done = draft.get("done", [])
        for earlier in ORDER[: ORDER.index(step)]:
            if earlier not in done:
                return earlier
        return None

    async def step_post(self, request: Request, step: str) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        if step not in STEPS:
            return self.page("Page not found", "<p>There is no such page.</p>", status=404)
        back = self.missing_step(found.draft, step)
        if back:
            return _see(f"/wizard/{back}")
        form = await request.form()
        fields = self.fields_of(found.draft, step)
        values = {f.key: _text(form, self.look.name(f.key)) for f in fields if f.kind != "file"}
        errors = _check(step, values, self.clock().date())
        if step == "attachments":
            files = await _files(form, self.look.name("documents"))
            if not files:
                errors["documents"] = "Attach at least one clinical document."
            values["documents"] = ""
            found.draft["documents"] = files
        if errors:
            return self.step_form(found.draft, step, values, errors)
        draft = {**found.draft, **{k: v for k, v in values.items() if k != "documents"}}
        draft["done"] = [s for s in draft.get("done", []) if s != step] + [step]
        not_required = (
            step == "prescreen" and values["procedure_code"] in rules.PRESCREEN_NOT_REQUIRED
        )
        if step == "prescreen":
            # a changed prescreen invalidates later steps; "not required" ends the wizard
            draft["done"] = [] if not_required else ["prescreen"]
        self.state.save_draft(found.username, draft)
        if not_required:
            return self.not_required_at_prescreen(values["procedure_code"])
        return _see(f"/wizard/{ORDER[ORDER.index(step) + 1]}")

    def not_required_at_prescreen(self, code: str) -> Response:
        body = (
            f"<p>Procedure {code} does not need prior authorization under this plan. Nothing"
            ' was submitted.</p><p><a href="/dashboard">Back to the start page</a></p>'
        )
        return self.page("No authorization required", body)

    def review(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        back = self.missing_step(found.draft, "review")
        if back:
            return _see(f"/wizard/{back}")
        return self.review_page(found.draft, None)

    def review_page(self, draft: Mapping[str, Any], problem: str | None) -> Response:
        existing = self.state.by_your_reference(str(draft["your_reference"]))
        rows = [
            (f.label, str(draft.get(f.key, "")))
            for step in STEPS
            for f in self.fields_of(draft, step)
            if f.kind != "file"
        ]
        names = ", ".join(d["name"] for d in draft.get("documents", []))
        rows.append(("Clinical documents", names))
        body = facts_html(rows, self.look)
        if existing is not None:
            body = (
                f'<div role="alert" class="{self.look.cls("warning")}"><p>A request already'
                " exists with this reference. It cannot be submitted again.</p>"
                + facts_html([("Existing reference", existing.reference_number)], self.look)
                + "</div>"
                + body
            )
            return self.page("Review", body, status=409)
        alert = f'<div role="alert">{problem}</div>' if problem else ""
        body += alert + form_html("/wizard/submit", (CONFIRM,), self.look, {}, {}, "Submit request")
        return self.page("Review", body, status=422 if problem else 200)

    async def submit(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return _see("/login")
        back = self.missing_step(found.draft, "review")
        if back:
            return _see(f"/wizard/{back}")
        form = await request.form()
        if _text(form, self.look.name("confirm")) != "yes":
            return self.review_page(found.draft, "Tick the confirmation box to submit.")
        fields = {k: v for k, v in found.draft.items() if k != "done"}
        decision = rules.decide(str(fields["member_id"]))
        try:
            stored = self.state.submit(
                str(fields["your_reference"]), found.username, fields, decision, self.clock()
            )
        except Duplicate:
            return self.review_page(found.draft, None)
        self.state.save_draft(found.username, {"done": []})  # the wizard starts afresh
        return _see(f"/confirmation/{stored.reference_number}")

    def confirmation(self, request: Request, reference_number: str) -> Response:
        if self.session(request) is None:
            return _see("/login")
        stored = self.state.by_reference_number(reference_number)
        if stored is None:
            return self.page("Page not found", "<p>There is no such request.</p>", status=404)
        rows = [("Reference number", stored.reference_number)]
        if stored.authorization_number:
            rows.append(("Authorization number", stored.authorization_number))
        outcome = rules.CONFIRMATION_TEXT[stored.decision]
        body = (
            f'<p class="{self.look.cls("outcome")}">{outcome}</p>'
            + facts_html(rows, self.look)
            + '<p><a href="/dashboard">Back to the start page</a></p>'
        )
        return self.page("Confirmation", body)

    # status -----------------------------------------------------------------------------------

    def status_search(self, request: Request) -> Response:
        if self.session(request) is None:
            return _see("/login")
        wanted = request.query_params.get(self.look.name("your_reference"))
        fields = (Field("your_reference", "Your reference"),)
        form = form_html(
            "/status", fields, self.look, {"your_reference": wanted or ""}, {}, "Search"
        ).replace('method="post"', 'method="get"', 1)
        body = form + (self.results(wanted.strip()) if wanted is not None else "")
        return self.page("Status search", body)

    def results(self, wanted: str) -> str:
        found = self.state.by_your_reference(wanted) if wanted else None
        if found is None:
            tid = self.look.id("results-heading")
            return f'<h2 id="{tid}">Results</h2><p>No requests found</p>'
        status = rules.STATUS_TEXT[self.status_of(found)]
        view = f'<a href="/requests/{found.reference_number}">View</a>'
        row = [
            found.your_reference,
            found.reference_number,
            found.submitted_at.date().isoformat(),
            status,
            view,
        ]
        columns = ["Your reference", "Reference number", "Submitted", "Status", "Action"]
        return table_html("Results", columns, [row], self.look)

    def status_of(self, stored: Submitted) -> str:
        return rules.status_now(
            stored.decision, stored.submitted_at, self.clock(), self.decision_delay
        )

    def request_details(self, request: Request, reference_number: str) -> Response:
        if self.session(request) is None:
            return _see("/login")
        stored = self.state.by_reference_number(reference_number)
        if stored is None:
            return self.page("Page not found", "<p>There is no such request.</p>", status=404)
        status = self.status_of(stored)
        rows = [
            ("Reference number", stored.reference_number),
            ("Your reference", stored.your_reference),
            ("Status", rules.STATUS_TEXT[status]),
        ]
        if status == rules.APPROVED and stored.authorization_number:
            rows.append(("Authorization number", stored.authorization_number))
        elif status == rules.DENIED:
            rows.append(("Denial reason", rules.DENIAL_REASON))
        elif status == rules.MORE_INFO:
            rows.append(("Information requested", rules.INFORMATION_REQUESTED))
        rows += [
            ("Service type", str(stored.fields.get("service_type", ""))),
            ("Procedure code", str(stored.fields.get("procedure_code", ""))),
            ("Date of service", str(stored.fields.get("service_date", ""))),
        ]
        return self.page("Request details", facts_html(rows, self.look))

    def suggest(self, request: Request, kind: str, q: str = "") -> Response:
        if self.session(request) is None:
            return JSONResponse([], status_code=401)
        codes = {"procedure": rules.PROCEDURES, "diagnosis": rules.DIAGNOSES}.get(kind)
        if codes is None:
            return JSONResponse([], status_code=404)
        return JSONResponse(rules.suggestions(codes, q))


def _totp(secret: str) -> pyotp.TOTP:
    try:
        return pyotp.TOTP(secret)
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        raise InvalidInput.field(
            "totp_secret", "totp_secret must be base32 text of at least 112 bits (23 characters)"
        ) from exc


def _see(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _files(form: FormData, name: str) -> list[dict[str, Any]]:
    """Name and size of each non-empty upload (the content itself is not kept)."""
    kept = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile) and item.filename:
            size = len(await item.read())
            if size:
                kept.append({"name": item.filename, "size": size})
    return kept


def _check(step: str, values: Mapping[str, str], today: dt.date) -> dict[str, str]:
    """Field errors for one step, by key (a wording that never repeats a page's watched texts)."""
    errors = {k: "This field is required." for k, v in values.items() if not v}
    if step == "prescreen":
        _date(errors, values, "date_of_birth", today, past=True)
        if values.get("service_type") and values["service_type"] not in rules.SERVICE_TYPES:
            errors["service_type"] = "Pick one of the listed service types."
        if values.get("procedure_code") and values["procedure_code"] not in rules.PROCEDURES:
            errors["procedure_code"] = "Pick a code from the suggestions."
    elif step == "details":
        npi = values.get("provider_npi", "")
        if npi and not (npi.isdigit() and len(npi) == 10):
            errors["provider_npi"] = "An NPI has 10 digits."
        if values.get("diagnosis_code") and values["diagnosis_code"] not in rules.DIAGNOSES:
            errors["diagnosis_code"] = "Pick a code from the suggestions."
        _date(errors, values, "service_date", today, past=False)
    elif step == "services":
        units = values.get("units", "")
        if units and not (units.isdigit() and 1 <= int(units) <= 999):
            errors["units"] = "Enter a whole number from 1 to 999."
    return errors


def _date(
    errors: dict[str, str], values: Mapping[str, str], key: str, today: dt.date, *, past: bool
) -> None:
    raw = values.get(key, "")
    if not raw:
        return
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[key] = "Enter the date as YYYY-MM-DD."
        return
    if past and day > today:
        errors[key] = "This date cannot be in the future."
