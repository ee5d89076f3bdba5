"""Run the web app under a real uvicorn server on 127.0.0.1, for the web tests and browser tests.

The server runs in a background thread on a port the OS picks; its Context uses today fixed to
tests.conftest.TODAY and has the synthetic web-test-payer pack imported.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from tests.conftest import TODAY

from precert.config import Settings
from precert.services.catalog import import_pack
from precert.services.context import Context, build_context

WEB_PACK = Path(__file__).resolve().parents[2] / "fixtures" / "packs" / "web-test-payer.yaml"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn in a thread until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start; see the log above")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def web_context(settings: Settings) -> Context:
    """A Context on `settings` with today fixed and the synthetic web-test-payer imported."""
    ctx = build_context(settings, today=lambda: TODAY)
    import_pack(ctx, WEB_PACK)
    return ctx


def sqlite_settings_in(root: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{root / 'precert.db'}", data_dir=root / "var")
