"""Authenticator-app codes (TOTP, RFC 6238, via pyotp) with the clock passed in.

`verify` returns the time step it accepted; the caller stores it and passes it back next time, so
a code (or an older one still inside the window) can never be used twice.
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

ISSUER = "precert"
STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random base32 secret (160 bits) to store encrypted and show once as a QR code."""
    return str(pyotp.random_base32(length=32))


def provisioning_uri(secret: str, *, account_name: str) -> str:
    """The otpauth:// URI an authenticator app scans; account_name is the user's email."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER))


def time_step(at: dt.datetime) -> int:
    """The 30-second step a moment falls in; `at` must be timezone-aware."""
    if at.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (UTC) to TOTP functions")
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: dt.datetime) -> str:
    """The code an authenticator app shows at that moment (for enrolment checks and tests)."""
    return str(pyotp.TOTP(secret).generate_otp(time_step(at)))


def verify(
    secret: str,
    code: str,
    *,
    at: dt.datetime,
    window: int = 1,
    last_used_step: int | None = None,
) -> int | None:
    """The accepted time step, or None for a wrong code or a step already used (or older)."""
    code = code.replace(" ", "").strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = time_step(at)
    accepted = None
    # Check every step in the window (no early exit), so timing does not say which one matched.
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            accepted = step
    if accepted is None or (last_used_step is not None and accepted <= last_used_step):
        return None
    return accepted
