"""How an X12 interchange travels to the payer: real time over CORE-style HTTP, or batch through
a drop folder that an SFTP job or a clearinghouse agent empties and fills.

Both implement `Transport`: `send` hands over one interchange (real time: and returns the
payer's answering interchange), `collect` looks for an answer that arrived on its own (batch:
in the inbox; real time: never, the answer came with the send).

CoreHttpTransport posts one interchange per request body (Content-Type application/EDI-X12) with
the CAQH CORE connectivity envelope as X-CORE-* headers, HTTP basic auth when a username is set.
Failures are translated here, never above:

- connection refused / DNS / connect timeout, or a 5xx: ChannelUnavailable, nothing was received;
- a read timeout or a dropped connection after the body went out: ChannelUnavailable saying the
  payer may have it, and that submitting again is safe (the same trace is answered once);
- 401/403: ChannelMisconfigured naming PRECERT_X12_USERNAME / PRECERT_X12_PASSWORD;
  404/405: ChannelMisconfigured naming PRECERT_X12_URL;
- any other 4xx: PayerRejected with the first lines of the body (a gateway's own error text).

FileDropTransport's folder (PRECERT_X12_DROP_DIR):

    <drop_dir>/
      outbox/<key>.x12    what precert sends, one interchange per file, written as
                          outbox/.<key>.x12.tmp then linked into place (never half a file);
                          the gateway picks up *.x12 only and may leave the file or move it to sent/
      sent/<key>.x12      optional: where the gateway puts what it has transmitted
      inbox/*.x12         what comes back (278 responses, 999 acknowledgments, any file name);
                          precert only reads here, never deletes

A key already in outbox/ or sent/ is never written again: `send` returns the first file, so a
repeated submit cannot transmit twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import httpx

from precert.channels.x12.ack999 import read_999
from precert.channels.x12.envelope import read
from precert.channels.x12.tx278_read import read_responses
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    InvalidInput,
    Issue,
    PayerRejected,
)

EDI_X12 = "application/EDI-X12"
CORE_RULE_VERSION = "2.2.0"
# CORE payload type names (Phase II/III connectivity), by what we send.
PAYLOAD_278_REQUEST = "X12_278_Request_005010X217E1_2"
PAYLOAD_270_REQUEST = "X12_270_Request_005010X279A1"
_BODY_LINES = 3  # of a 4xx body quoted in PayerRejected


@dataclass(frozen=True, slots=True)
class Envelope:
    """The CORE envelope of one interchange: what it is and who it is from and to."""

    payload_type: str
    sender_id: str
    receiver_id: str


@dataclass(frozen=True, slots=True)
class Sent:
    """What a transport did: `answer` is the payer's interchange (real time) or None (batch);
    `interchange` what the payer has (for a repeated file drop, the first file's text)."""

    interchange: str
    answer: str | None = None
    location: str = ""  # batch: the outbox file name


class Transport(Protocol):
    mode: ClassVar[str]  # "real-time" or "batch"

    def send(self, interchange: str, *, key: str, envelope: Envelope) -> Sent: ...

    def collect(self, *, trace: str, group_control: str, set_control: str) -> str | None:
        """An answer that arrived on its own for `trace` (a 278 response) or for our group and
        set controls (a 999); None when none has."""
        ...


# -- real time -------------------------------------------------------------------------------


class CoreHttpTransport:
    """CORE-style real time: POST one interchange, the answer is the response body."""

    mode: ClassVar[str] = "real-time"

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str | None = None,
        timeout: float = 60.0,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self._auth = httpx.BasicAuth(username, password or "") if username else None
        # Connecting is quick or not at all; the payer's adjudication gets the whole timeout.
        limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._client = client or httpx.Client(timeout=limits)

    def __repr__(self) -> str:  # never the credentials
        return f"CoreHttpTransport({self.url!r})"

    def close(self) -> None:
        self._client.close()

    def headers(self, envelope: Envelope, *, at: dt.datetime | None = None) -> dict[str, str]:
        """The CORE envelope metadata for one request (public for tests and the bench)."""
        stamp = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        return {
            "Content-Type": EDI_X12,
            "X-CORE-PayloadType": envelope.payload_type,
            "X-CORE-ProcessingMode": "RealTime",
            "X-CORE-PayloadID": str(uuid.uuid4()),
            "X-CORE-TimeStamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "X-CORE-SenderID": envelope.sender_id,
            "X-CORE-ReceiverID": envelope.receiver_id,
            "X-CORE-RuleVersion": CORE_RULE_VERSION,
        }

    def send(self, interchange: str, *, key: str, envelope: Envelope) -> Sent:
        try:
            response = self._client.post(
                self.url,
                content=interchange.encode("utf-8"),
                headers=self.headers(envelope),
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _not_received(type(exc).__name__) from exc
        except httpx.TransportError as exc:  # read timeout, dropped connection, write failure
            raise _maybe_received(type(exc).__name__) from exc
        _raise_for_status(response)
        return Sent(interchange, response.text)

    def collect(self, *, trace: str, group_control: str, set_control: str) -> str | None:
        return None  # real time: the answer came back on the send


def _not_received(why: str) -> ChannelUnavailable:
    message = (
        f"The X12 gateway could not be reached ({why}); nothing was received. Check "
        "PRECERT_X12_URL and the network, then submit again."
    )
    return ChannelUnavailable(message, [Issue("x12.unreachable", message, "PRECERT_X12_URL")])


def _maybe_received(why: str) -> ChannelUnavailable:
    message = (
        f"The X12 gateway did not answer ({why}) after the request was sent; the payer may have "
        "received it. Submitting again is safe: the same trace number is answered once, so no "
        "second authorization is created."
    )
    return ChannelUnavailable(message, [Issue("x12.no_answer", message, "PRECERT_X12_URL")])


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status >= 500:
        message = (
            f"The X12 gateway failed (HTTP {status}); nothing was received. Submit again later."
        )
        raise ChannelUnavailable(message, [Issue("x12.gateway_error", message, "PRECERT_X12_URL")])
    if status in (401, 403):
        message = (
            f"The X12 gateway refused our credentials (HTTP {status}); set PRECERT_X12_USERNAME "
            "and PRECERT_X12_PASSWORD to the account the clearinghouse gave you."
        )
        raise ChannelMisconfigured(message, [Issue("x12.auth", message, "PRECERT_X12_USERNAME")])
    if status in (404, 405):
        message = (
            f"The X12 gateway has no endpoint at this address (HTTP {status}); correct "
            "PRECERT_X12_URL."
        )
        raise ChannelMisconfigured(message, [Issue("x12.url", message, "PRECERT_X12_URL")])
    # The gateway's own error text, about our interchange (it repeats no member data of ours).
    lines = [line.strip() for line in response.text.splitlines() if line.strip()][:_BODY_LINES]
    said = " ".join(lines)[:500] or "no explanation"
    message = f"The X12 gateway refused the interchange (HTTP {status}): {said}"
    raise PayerRejected(message, [Issue(f"x12.http_{status}", message, "body")])


# -- batch -----------------------------------------------------------------------------------


_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


class FileDropTransport:
    """Batch through a folder (see the module docstring for its layout)."""

    mode: ClassVar[str] = "batch"

    def __init__(self, drop_dir: Path) -> None:
        self.drop_dir = drop_dir
        self.outbox = drop_dir / "outbox"
        self.sent = drop_dir / "sent"
        self.inbox = drop_dir / "inbox"

    def __repr__(self) -> str:
        return f"FileDropTransport({str(self.drop_dir)!r})"

    def send(self, interchange: str, *, key: str, envelope: Envelope) -> Sent:
        name = file_name(key)
        for folder in (self.outbox, self.sent):
            existing = folder / name
            if existing.exists():  # sent before: hand back that file, never a second one
                return Sent(existing.read_text("utf-8"), None, name)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            self.inbox.mkdir(parents=True, exist_ok=True)
            written = _write_once(self.outbox / name, interchange)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            message = (
                f"The X12 file could not be written to the drop folder ({why}); nothing was sent. "
                "Make PRECERT_X12_DROP_DIR writable, then submit again."
            )
            raise ChannelUnavailable(
                message, [Issue("x12.drop_dir", message, "PRECERT_X12_DROP_DIR")]
            ) from exc
        return Sent(written, None, name)

    def collect(self, *, trace: str, group_control: str, set_control: str) -> str | None:
        """The inbox file answering us: a 278 response holding our trace first, else a 999
        whose AK1 names our group and whose AK2 names our set."""
        acknowledgment: str | None = None
        for path in sorted(self.inbox.glob("*.x12")) if self.inbox.is_dir() else ():
            try:
                text = path.read_text("utf-8", "replace")
            except OSError:
                continue  # still being written or already moved: look again next time
            codes = _set_codes(text)
            if "278" in codes and _answers_trace(text, trace):
                return text
            if (
                "999" in codes
                and acknowledgment is None
                and _acknowledges(text, group_control, set_control)
            ):
                acknowledgment = text
        return acknowledgment


def file_name(key: str) -> str:
    """The outbox file name for an idempotency key (a hash when the key is not file-safe)."""
    cleaned = _FILE_CHARS.sub("_", key)
    if not cleaned or cleaned.startswith(".") or len(cleaned) > 120:
        cleaned = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{cleaned}.x12"


def _write_once(target: Path, text: str) -> str:
    """Write `text` to `target` atomically and only if `target` does not exist; the text the
    file holds afterwards (another process may have won the race)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, target)  # unlike rename, link refuses to replace an existing file
    except FileExistsError:
        return target.read_text("utf-8")
    finally:
        temporary.unlink(missing_ok=True)
    return text


def _set_codes(text: str) -> set[str]:
    document = read(text)
    return {s.code for g in document.groups() for s in g.sets}


def bht_references(text: str) -> set[str]:
    """BHT03 of every 278 in `text`: a payer echoes our trace there, and it is the only place
    that names our request when the rejection sits above the patient event (no TRN)."""
    document = read(text)
    return {
        s.segments[1].element(3)
        for g in document.groups()
        for s in g.sets
        if s.code == "278" and len(s.segments) > 1 and s.segments[1].tag == "BHT"
    }


def _answers_trace(text: str, trace: str) -> bool:
    if trace in bht_references(text):
        return True
    try:
        return any(result.trace == trace for result in read_responses(text))
    except InvalidInput:
        return False  # a file we cannot read is not our answer


def _acknowledges(text: str, group_control: str, set_control: str) -> bool:
    try:
        groups = read_999(text)
    except InvalidInput:
        return False
    return any(
        group.control_number == group_control
        and any(s.control_number == set_control for s in group.sets)
        for group in groups
    )
