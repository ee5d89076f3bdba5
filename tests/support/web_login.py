"""Sign a test's browser page or httpx client in through the real /login pages.

`sign_in(page_or_client, base_url, email, password, totp_secret=None)` fills the password form and,
for a user with an authenticator, the code form (the code computed with pyotp from the secret).
For an httpx client it returns the session's CSRF token, to send as the form field `csrf_token`
or the header `X-CSRF-Token` on later POSTs.

A code is accepted once per 30-second step, and the server allows one step ahead; so a second
sign-in with the same secret inside one step uses the next step's code instead of waiting.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pyotp

if TYPE_CHECKING:
    from playwright.sync_api import Page

STEP = 30
_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_used_steps: dict[str, int] = {}
_lock = threading.Lock()


def next_code(secret: str) -> str:
    """A code the server has not seen yet for this secret (current step, else the next one)."""
    with _lock:
        while True:
            current = int(time.time()) // STEP
            step = max(current, _used_steps.get(secret, -1) + 1)
            if step <= current + 1:
                _used_steps[secret] = step
                return str(pyotp.TOTP(secret).generate_otp(step))
            time.sleep(STEP - time.time() % STEP + 0.05)  # both allowed steps are used up


def form_csrf(html: str) -> str:
    """The hidden csrf_token of the first form on a page."""
    found = _HIDDEN_CSRF.search(html)
    if found is None:
        raise AssertionError("the page has no csrf_token field")
    return found.group(1)


def sign_in(
    page_or_client: Page | httpx.Client,
    base_url: str,
    email: str,
    password: str,
    totp_secret: str | None = None,
) -> str:
    """Sign in; returns the session's CSRF token ("" for a browser page, which carries its own)."""
    if isinstance(page_or_client, httpx.Client):
        return _sign_in_client(page_or_client, base_url, email, password, totp_secret)
    _sign_in_page(page_or_client, base_url, email, password, totp_secret)
    return ""


def _sign_in_client(
    client: httpx.Client, base_url: str, email: str, password: str, secret: str | None
) -> str:
    base = base_url.rstrip("/")
    form = client.get(f"{base}/login")
    form.raise_for_status()
    answer = client.post(
        f"{base}/login",
        data={"email": email, "password": password, "csrf_token": form_csrf(form.text)},
        follow_redirects=False,
    )
    _expect_redirect(answer, "password")
    if answer.headers["location"].startswith("/login/code"):
        if secret is None:
            raise AssertionError(f"{email} needs an authenticator code: pass totp_secret")
        code_form = client.get(f"{base}/login/code")
        code_form.raise_for_status()
        answer = client.post(
            f"{base}/login/code",
            data={"code": next_code(secret), "csrf_token": form_csrf(code_form.text)},
            follow_redirects=False,
        )
        _expect_redirect(answer, "code")
    signed_in = client.get(f"{base}/dashboard")
    signed_in.raise_for_status()
    return form_csrf(signed_in.text)


def _expect_redirect(answer: httpx.Response, step: str) -> None:
    if answer.status_code != 303:
        raise AssertionError(f"sign-in ({step}) answered {answer.status_code}, not 303")


def _sign_in_page(page: Page, base_url: str, email: str, password: str, secret: str | None) -> None:
    base = base_url.rstrip("/")
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:
        if secret is None:
            raise AssertionError(f"{email} needs an authenticator code: pass totp_secret")
        page.get_by_label("Code").fill(next_code(secret))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state()
    if "/login" in page.url:
        raise AssertionError("sign-in did not leave the login pages")


def totp_secret_of(uri: str) -> str:
    """The secret inside the otpauth:// URI that accounts.enable_totp returns."""
    parsed: Any = pyotp.parse_uri(uri)
    return str(parsed.secret)
