"""Browser sign-in over real HTTP: password, authenticator code, sessions that expire, sign-out,
CSRF on every state-changing page, cookie flags, no open redirect, and tenant isolation.

The server's clock (`ctx.now`) is the real one plus an offset a test can move forward, so the
authenticator codes (computed from the real time by pyotp) stay valid while a session idles out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import form_csrf, next_code, sign_in, totp_secret_of

from precert.services import accounts, web_sessions
from precert.services import authorization_requests as requests
from precert.services.audit import events_for
from precert.services.context import Context
from precert.web.app import create_app
from precert.web.session import COOKIE, safe_next
from precert.web.ui.login import LOGIN_CSRF_COOKIE

PASSWORD = "correct horse battery staple"
SERVICE_DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": "Testpatient",
        "last_name": "Signin",
        "birth_date": "1980-02-01",
        "member_id": "TEST-0301-S",
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [
        {
            "code": "15823",
            "units": 1,
            "pos": "22",
            "diagnoses": ["H02.831"],
            "from": SERVICE_DAY,
            "to": SERVICE_DAY,
        }
    ],
}


class Clock:
    """The real UTC time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class Site:
    def __init__(self, url: str, ctx: Context, clock: Clock, totp_secret: str) -> None:
        self.url = url
        self.ctx = ctx
        self.clock = clock
        self.totp_secret = totp_secret

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root: Path = tmp_path_factory.mktemp("web-sign-in")
    settings = sqlite_settings_in(root)
    ctx = web_context(settings)
    clock = Clock()
    ctx.now = clock
    accounts.create_organization(ctx, "Sign-in Clinic")
    accounts.create_organization(ctx, "Other Clinic")
    for email, org, role in (
        ("spec@signin.example", "Sign-in Clinic", "specialist"),
        ("totp@signin.example", "Sign-in Clinic", "admin"),
        ("viewer@signin.example", "Sign-in Clinic", "viewer"),
        ("other@other.example", "Other Clinic", "specialist"),
    ):
        accounts.create_user(ctx, org=org, email=email, role=role, password=PASSWORD)
    secret = totp_secret_of(accounts.enable_totp(ctx, "totp@signin.example"))
    with serving(create_app(settings, ctx=ctx)) as url:
        yield Site(url, ctx, clock, secret)
    ctx.engine.dispose()


@pytest.fixture(autouse=True)
def _real_time(site: Site) -> Iterator[None]:
    site.clock.offset = dt.timedelta(0)
    yield
    site.clock.offset = dt.timedelta(0)


def _post_login(client: httpx.Client, email: str, password: str, **extra: str) -> httpx.Response:
    page = client.get("/login")
    data = {"email": email, "password": password, "csrf_token": form_csrf(page.text), **extra}
    return client.post("/login", data=data, follow_redirects=False)


def test_password_sign_in_opens_a_session_with_safe_cookie_flags(site: Site) -> None:
    with site.client() as client:
        answer = _post_login(client, "spec@signin.example", PASSWORD)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/queue"
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")
        )
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags
        assert "samesite=lax" in flags
        assert "path=/" in flags
        assert "secure" not in flags  # plain http in development
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "spec@signin.example" in page.text
        assert "specialist" in page.text
        assert 'action="/logout"' in page.text


def test_the_cookie_is_secure_over_https(site: Site) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS proxy in front), so the app sees https.
    with site.client(headers={"X-Forwarded-Proto": "https"}) as client:
        csrf = form_csrf(client.get("/login").text)
        # httpx keeps Secure cookies for https only; the connection itself is plain http.
        answer = client.post(
            "/login",
            data={"email": "spec@signin.example", "password": PASSWORD, "csrf_token": csrf},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={csrf}"},
            follow_redirects=False,
        )
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")
        )
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_the_table_keeps_only_a_digest_of_the_cookie(site: Site) -> None:
    with site.client() as client:
        sign_in(client, site.url, "spec@signin.example", PASSWORD)
        token = client.cookies[COOKIE]
    from sqlalchemy import text

    with site.ctx.engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM web_sessions"))]
    assert token not in ids
    assert web_sessions.token_digest(token) in ids


def test_wrong_password_and_unknown_email_get_the_same_answer(site: Site) -> None:
    with site.client() as client:
        wrong = _post_login(client, "spec@signin.example", "not the password at all")
        unknown = _post_login(client, "nobody@signin.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert accounts.BAD_LOGIN in wrong.text
    assert accounts.BAD_LOGIN in unknown.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    failed = [e for e in events_for(site.ctx, _org_of(site, "spec@signin.example"), limit=500)]
    assert any(e.action == "login-failed" and e.actor == "spec@signin.example" for e in failed)


def test_sign_in_with_an_authenticator_code(site: Site) -> None:
    with site.client() as client:
        answer = _post_login(client, "totp@signin.example", PASSWORD, next="/dashboard")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login/code")
        pending = client.cookies[COOKIE]
        # Half-signed-in is not signed in: pages still send the person to /login.
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
        form = client.get(answer.headers["location"])
        assert "Authenticator code" in form.text
        verified = client.post(
            "/login/code",
            data={
                "code": next_code(site.totp_secret),
                "csrf_token": form_csrf(form.text),
                "next": "/dashboard",
            },
            follow_redirects=False,
        )
        assert verified.status_code == 303
        assert verified.headers["location"] == "/dashboard"
        assert client.cookies[COOKIE] != pending  # a new token once the second factor is in
        assert client.get("/dashboard").status_code == 200
    with site.client(cookies={COOKIE: pending}) as stale:
        assert stale.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_code_is_accepted_once(site: Site) -> None:
    code = next_code(site.totp_secret)
    with site.client() as first:
        _post_login(first, "totp@signin.example", PASSWORD)
        form = first.get("/login/code")
        ok = first.post(
            "/login/code",
            data={"code": code, "csrf_token": form_csrf(form.text)},
            follow_redirects=False,
        )
        assert ok.status_code == 303
    with site.client() as second:
        _post_login(second, "totp@signin.example", PASSWORD)
        form = second.get("/login/code")
        replay = second.post(
            "/login/code",
            data={"code": code, "csrf_token": form_csrf(form.text)},
            follow_redirects=False,
        )
        assert replay.status_code == 401
        assert accounts.BAD_LOGIN in replay.text
        assert second.get("/dashboard", follow_redirects=False).status_code == 303


def test_too_many_wrong_codes_send_the_person_back_to_the_password(site: Site) -> None:
    wrong = str((int(pyotp.TOTP(site.totp_secret).now()) + 500_000) % 1_000_000).zfill(6)
    with site.client() as client:
        _post_login(client, "totp@signin.example", PASSWORD)
        statuses = []
        for _ in range(web_sessions.MAX_CODE_ATTEMPTS):
            form = client.get("/login/code", follow_redirects=False)
            if form.status_code != 200:
                break
            answer = client.post(
                "/login/code",
                data={"code": wrong, "csrf_token": form_csrf(form.text)},
                follow_redirects=False,
            )
            statuses.append(answer.status_code)
        assert statuses[:-1] == [401] * (web_sessions.MAX_CODE_ATTEMPTS - 1)
        assert statuses[-1] == 303  # the last attempt ends the half-open session
        assert client.get("/login/code", follow_redirects=False).status_code == 303


def test_an_idle_session_expires_and_says_so(site: Site) -> None:
    with site.client() as client:
        sign_in(client, site.url, "spec@signin.example", PASSWORD)
        site.clock.offset = web_sessions.IDLE_TIMEOUT + dt.timedelta(seconds=1)
        answer = client.get("/dashboard", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/dashboard"
        login = client.get(answer.headers["location"])
        assert "Your session expired; sign in again." in login.text
        # The note is shown once.
        assert "Your session expired" not in client.get("/login").text


def test_a_session_in_use_stays_open_until_its_absolute_limit(site: Site) -> None:
    with site.client() as client:
        sign_in(client, site.url, "spec@signin.example", PASSWORD)
        step = web_sessions.IDLE_TIMEOUT - dt.timedelta(minutes=1)
        moved = dt.timedelta(0)
        while moved + step < web_sessions.ABSOLUTE_TIMEOUT:
            moved += step
            site.clock.offset = moved
            assert client.get("/dashboard", follow_redirects=False).status_code == 200
        site.clock.offset = web_sessions.ABSOLUTE_TIMEOUT + dt.timedelta(seconds=1)
        assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_htmx_requests_get_a_full_page_redirect_to_sign_in(site: Site) -> None:
    with site.client() as client:
        answer = client.get("/dashboard", headers={"HX-Request": "true"}, follow_redirects=False)
    assert answer.headers["HX-Redirect"] == "/login?next=/dashboard"


def test_sign_out_ends_the_session_on_the_server(site: Site) -> None:
    with site.client() as client:
        csrf = sign_in(client, site.url, "spec@signin.example", PASSWORD)
        token = client.cookies[COOKIE]
        answer = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"
        assert "You are signed out." in client.get("/login").text
    with site.client(cookies={COOKIE: token}) as replay:  # the old cookie, copied
        assert replay.get("/dashboard", follow_redirects=False).status_code == 303
    logouts = events_for(site.ctx, _org_of(site, "spec@signin.example"), limit=500)
    assert any(e.action == "logout" and e.actor == "spec@signin.example" for e in logouts)


def test_state_changing_pages_refuse_a_missing_or_wrong_csrf_token(site: Site) -> None:
    with site.client() as client:
        csrf = sign_in(client, site.url, "spec@signin.example", PASSWORD)
        html = {"Accept": "text/html"}
        missing = client.post("/logout", headers=html, follow_redirects=False)
        assert missing.status_code == 403
        assert "security token" in missing.text
        wrong = client.post(
            "/logout", data={"csrf_token": csrf[::-1]}, headers=html, follow_redirects=False
        )
        assert wrong.status_code == 403
        upload = client.post(
            "/import", files={"file": ("s.csv", b"a,b\n1,2\n", "text/csv")}, headers=html
        )
        assert upload.status_code == 403
        # Still signed in: a refused form changes nothing.
        assert client.get("/dashboard").status_code == 200
        # The header works as well as the field (what HTMX sends).
        header = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        assert header.status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(site: Site) -> None:
    with site.client() as client:
        forged = client.post(
            "/login",
            data={"email": "spec@signin.example", "password": PASSWORD},
            headers={"Accept": "text/html"},
            follow_redirects=False,
        )
    assert forged.status_code == 403
    assert COOKIE not in forged.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("https://evil.example/", "/queue"),
        ("//evil.example/x", "/queue"),
        ("/\\evil.example", "/queue"),
        ("javascript:alert(1)", "/queue"),
        ("/login/code", "/queue"),
        ("/dashboard?tab=1", "/dashboard?tab=1"),
    ],
)
def test_next_only_leads_to_a_local_page(site: Site, asked: str, goes_to: str) -> None:
    assert safe_next(asked) == goes_to
    with site.client() as client:
        answer = _post_login(client, "spec@signin.example", PASSWORD, next=asked)
    assert answer.headers["location"] == goes_to


def test_a_page_sends_a_signed_out_person_to_sign_in_and_back(site: Site) -> None:
    with site.client() as client:
        answer = client.get("/dashboard", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/dashboard"
        login = client.get(answer.headers["location"])
        assert 'name="next" value="/dashboard"' in login.text


def test_the_check_page_stays_public_and_shows_who_is_signed_in(site: Site) -> None:
    with site.client() as client:
        public = client.get("/")
        assert public.status_code == 200
        assert 'href="/login"' in public.text
        sign_in(client, site.url, "viewer@signin.example", PASSWORD)
        signed_in = client.get("/")
        assert "viewer@signin.example" in signed_in.text


def test_another_organization_never_sees_these_requests_on_its_dashboard(site: Site) -> None:
    spec = _actor(site, "spec@signin.example")
    for n in range(3):
        body = {**BODY, "patient": {**BODY["patient"], "member_id": f"TEST-03{n}1-S"}}
        requests.create_request(site.ctx, spec, body)
    with site.client() as own:
        sign_in(own, site.url, "spec@signin.example", PASSWORD)
        mine = own.get("/dashboard").text
    with site.client() as other:
        sign_in(other, site.url, "other@other.example", PASSWORD)
        theirs = other.get("/dashboard").text
    assert _figure(mine, "total") >= 3
    assert _figure(theirs, "total") == 0
    assert "Testpatient" not in mine  # and no PHI on the dashboard at all


def _figure(html: str, name: str) -> int:
    marker = f'data-figure="{name}"'
    start = html.index(marker)
    number = html.index('class="dash-number">', start) + len('class="dash-number">')
    return int(html[number : html.index("<", number)])


def _actor(site: Site, email: str) -> accounts.Actor:
    from precert.store.accounts import UserRepository

    with site.ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(email)
        assert user is not None
        return accounts.actor_for(user)


def _org_of(site: Site, email: str) -> str:
    return _actor(site, email).organization_id
