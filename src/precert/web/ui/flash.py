"""Flash messages for Post/Redirect/Get: the POST sets a short-lived cookie, the next page shows
it once and clears it. Only precert's own sentences go in it (never PHI: cookies reach logs)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

COOKIE = "precert_notice"
MAX_AGE_SECONDS = 60
MAX_LENGTH = 1000  # a cookie holds about 4 KB; a longer sentence is cut, not dropped


@dataclass(frozen=True, slots=True)
class Flash:
    message: str
    kind: str = "success"  # success | error


def set_flash(response: Response, message: str, *, kind: str = "success") -> None:
    payload = json.dumps({"m": message[:MAX_LENGTH], "k": kind}).encode()
    response.set_cookie(
        COOKIE,
        base64.urlsafe_b64encode(payload).decode(),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        path="/",
    )


def pop_flash(request: Request) -> Flash | None:
    """The message the last POST left for this page, if any (pair with clear_flash)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, binascii.Error):
        return None  # a damaged or foreign cookie: show nothing rather than fail the page
    if not isinstance(data, dict) or not isinstance(data.get("m"), str):
        return None
    kind = data.get("k") if data.get("k") in ("success", "error") else "success"
    return Flash(data["m"], str(kind))


def clear_flash(request: Request, response: Response) -> None:
    if COOKIE in request.cookies and not request.headers.get("HX-Request"):
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
