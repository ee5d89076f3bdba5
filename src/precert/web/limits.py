"""Request body limits: a body over its limit is refused with 413 in the one error shape before it
is read in full (uploads 25 MB, anything else 1 MB).

An ASGI middleware, so it sees the raw stream: a declared Content-Length over the limit is refused
before the app runs; a body without one (chunked) is counted as it arrives, and once it passes the
limit whatever the app would answer is replaced by the 413.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from precert.errors import Issue, PayloadTooLarge

MEGABYTE = 1024 * 1024
UPLOAD_LIMIT = 25 * MEGABYTE  # multipart uploads: the 20 MB document limit plus form overhead
BODY_LIMIT = 1 * MEGABYTE  # JSON and forms


class _TooLarge(Exception):
    """Raised into the app when the streamed body passes its limit (the app's answer is dropped)."""


class BodyLimit:
    """Refuse bodies over `upload_limit` (multipart/form-data) or `body_limit` (the rest)."""

    def __init__(
        self, app: ASGIApp, *, upload_limit: int = UPLOAD_LIMIT, body_limit: int = BODY_LIMIT
    ) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        upload = kind == b"multipart/form-data"
        limit = self.upload_limit if upload else self.body_limit
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, int(declared), upload=upload)
            return
        state = {"seen": 0, "over": False, "answered": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif not state["answered"]:
                state["answered"] = True
                await _refuse(send, limit, None, upload=upload)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            if not state["answered"]:
                state["answered"] = True
                await _refuse(send, limit, None, upload=upload)


async def _refuse(send: Send, limit: int, size: int | None, *, upload: bool) -> None:
    megabytes = limit // MEGABYTE
    if size is not None:
        what = f"The request body is {size / MEGABYTE:.1f} MB; the limit here is {megabytes} MB."
    else:
        what = f"The request body is over the {megabytes} MB limit here."
    fix = (
        "Split the document or scan it at a lower resolution (documents: at most 20 MB)."
        if upload
        else "Send a smaller body."
    )
    message = f"{what} {fix}"
    error = PayloadTooLarge(message, [Issue("too-large", message, "body")])
    body = json.dumps(error.as_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
