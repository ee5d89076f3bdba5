"""Real local receivers for the notify tests: an HTTP server and an SMTP server on 127.0.0.1.

The HTTP receiver records every request and answers from a script of status codes (the last one
repeats), so a test can make it fail twice and then accept. The SMTP receiver is aiosmtpd's
Controller with a handler that keeps each envelope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword


@dataclass
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str
    statuses: list[int]
    hold: threading.Event | None = None
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    # A JSON answer built from the request (an API stand-in); None answers "ok" / "no".
    reply: Callable[[Received], object] | None = None

    def next_status(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def _handler_for(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            received = Received("POST", self.path, headers, body)
            receiver.requests.append(received)
            if receiver.hold is not None:
                receiver.hold.wait(10)  # answer only after the client has given up
            status = receiver.next_status()
            reply = b"ok" if status < 300 else b"no"
            if receiver.reply is not None:
                reply = json.dumps(receiver.reply(received)).encode()
            # The client may have given up waiting (the timeout test); then nobody reads the answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(status, reply)

        def _answer(self, status: int, reply: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


@contextmanager
def http_receiver(
    *statuses: int,
    hold: bool = False,
    headers: dict[str, str] | None = None,
    reply: Callable[[Received], object] | None = None,
) -> Iterator[HttpReceiver]:
    """A ThreadingHTTPServer on a free port answering POSTs with `statuses` in turn.

    `hold` keeps each answer back until the block ends (a receiver too slow for the client);
    `reply` builds a JSON answer from each request.
    """
    event = threading.Event() if hold else None
    receiver = HttpReceiver("", list(statuses or (200,)), event, dict(headers or {}), reply=reply)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/precert"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the port was free a moment ago and is closed."""
    return f"http://127.0.0.1:{free_port()}/hooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def accept_login(user: str, password: str) -> Any:
    """An aiosmtpd authenticator that accepts exactly `user` / `password`."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    return authenticator


@contextmanager
def smtp_receiver(**options: Any) -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd Controller on 127.0.0.1 (free port); yields the inbox and the port."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed cert for 127.0.0.1, and a client that trusts it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
