"""`precert serve` as a real subprocess on a free loopback port: its stdout and stderr go to
files the test reads afterwards, and it is stopped with SIGTERM, as a service manager does."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.e2e.cli.conftest import PRECERT, environment

STARTUP_POLLS = 1200  # 0.1 s apart: however slow the machine, a dead server fails at once


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    exit_code: int | None = None

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = environment(f"sqlite:///{home / 'p.db'}", home / "var")
    env.update(extra)
    return env


@contextmanager
def serving(home: Path, *args: str, name: str = "serve", **extra: str) -> Iterator[Served]:
    """Run `precert serve [args]` in `home` until the block ends, then SIGTERM it and record its
    exit code on the yielded Served."""
    port = free_port()
    out, err = home / f"{name}.out", home / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [str(PRECERT), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env_for(home, **extra),
            cwd=home,
            stdout=stdout,
            stderr=stderr,
        )
    served = Served(f"http://127.0.0.1:{port}", process, out, err)
    try:
        _wait_until_up(served)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            served.exit_code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"precert serve did not stop on SIGTERM:\n{served.output()}")


def _wait_until_up(served: Served) -> None:
    for _ in range(STARTUP_POLLS):
        if served.process.poll() is not None:
            pytest.fail(f"precert serve exited at start:\n{served.output()}")
        try:
            if httpx.get(f"{served.base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"precert serve never answered /healthz:\n{served.output()}")
