"""Benchmark: 278 real-time latency through X12Channel.submit against the payer simulator, on
loopback.

Starts `precert payer-sim` as its own process on 127.0.0.1 (the shipped default rules, a temp
state directory), checks one answer reads back as approved, warms up, then calls
`X12Channel.submit` one at a time on a keep-alive connection: `--requests` new requests (three
lines: an MRI, an infusion over two months, a DME line; each adjudicated, stored and logged by
the simulator), then the same submissions again (repeats: the simulator returns its stored
answer). What is timed is the whole channel: building the 278 with control numbers from a
durable ControlFile (one fsync per 12 numbers, as x12_channel builds it), the CORE-style POST,
and reading the 278 response into a PayerAnswer.

Run: .venv/bin/python bench/x12_realtime.py [--requests 1000]
The last line printed is one JSON object with every figure. Target: new-request p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from precert.channels.base import AnswerKind, Destination, Submission
from precert.channels.x12.channel import X12Channel
from precert.channels.x12.controls import ControlFile
from precert.channels.x12.transport import CoreHttpTransport
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)
from precert.domain.determinations import Outcome

TARGET_P99_MS = 50.0
AT = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
LINES = (
    ServiceLine("70551", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",)),
    ServiceLine("J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 4, 30), "11", ("K50.90",)),
    ServiceLine("E0601", 1, dt.date(2030, 3, 5), dt.date(2030, 3, 5), "12", ("G47.33",)),
)


def main() -> None:
    args = _arguments()
    submissions = [_submission(n) for n in range(args.requests)]
    warm = [_submission(-1 - n) for n in range(50)]
    with (
        tempfile.TemporaryDirectory(prefix="precert-bench-x12-") as tmp,
        _server(Path(tmp)) as url,
    ):
        transport = CoreHttpTransport(url + "/x12", timeout=10)
        channel = X12Channel(
            transport, ControlFile(Path(tmp) / "controls", block=12), clock=lambda: AT
        )
        try:
            _check_answer(channel)
            for submission in warm:
                channel.submit(submission)
            new = _timed(channel, submissions)
            repeated = _timed(channel, submissions)
        finally:
            transport.close()
    _report(args, new, repeated)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="new requests to time")
    return parser.parse_args()


def _submission(n: int) -> Submission:
    member = f"BENCH{n:07d}"
    request = AuthorizationRequest(
        id=f"bench-x12-{n}".replace("--", "-m"),
        organization_id="bench",
        patient=Patient("Benchpatient", "Synthetic", dt.date(1970, 1, 1), member),
        coverage=Coverage("acme-health", "commercial", member, "G-100"),
        ordering_npi="1234567893",
        rendering_npi="1245319599",
        facility_npi="1679576722",
        lines=LINES,
        created_at=AT,
        updated_at=AT,
        urgency=Urgency.STANDARD,
    )
    return Submission(request, (), f"{request.id}-1", Destination("x12"))


@contextmanager
def _server(tmp: Path) -> Iterator[str]:
    port = _free_port()
    precert = Path(sys.executable).parent / "precert"
    command = [str(precert), "payer-sim", "--port", str(port), "--state", str(tmp / "sim")]
    env = {"PRECERT_DATA_DIR": str(tmp / "var"), "PATH": str(precert.parent)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_until_up(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the simulator exited with code {process.returncode}; see its log above")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit("the simulator did not listen within 60 s")


def _check_answer(channel: X12Channel) -> None:
    """A benchmark of wrong answers is worthless: one submission must read back as approved."""
    answer = channel.submit(_submission(10**6)).answer
    if answer is None or answer.kind is not AnswerKind.DECIDED or answer.determination is None:
        sys.exit(f"unexpected answer {answer}; expected a decision")
    if answer.determination.outcome is not Outcome.APPROVED:
        sys.exit(f"unexpected outcome {answer.determination.outcome}; expected an approval")


def _timed(channel: X12Channel, submissions: list[Submission]) -> dict[str, float]:
    times = []
    began = time.perf_counter()
    for submission in submissions:
        start = time.perf_counter()
        receipt = channel.submit(submission)
        times.append((time.perf_counter() - start) * 1000)
        if receipt.answer is None or receipt.answer.kind is not AnswerKind.DECIDED:
            sys.exit(f"unexpected answer for {submission!r}")
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "requests": len(times),
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(max(times), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "requests_per_s": round(len(times) / elapsed, 1),
    }


def _report(args: argparse.Namespace, new: dict[str, float], repeated: dict[str, float]) -> None:
    print(f"\nX12 278 real time via X12Channel.submit, loopback, sequential, {args.requests}")
    print(f"{'':16}{'new':>12}{'repeat':>12}")
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "requests_per_s"):
        print(f"{key:16}{new[key]:>12}{repeated[key]:>12}")
    meets = new["p99_ms"] <= TARGET_P99_MS
    print(f"target: new p99 <= {TARGET_P99_MS} ms -> {'met' if meets else 'NOT met'}")
    figures: dict[str, Any] = {
        "bench": "x12_realtime",
        "new": new,
        "repeat": repeated,
        "target_p99_ms": TARGET_P99_MS,
        "target_met": meets,
        "python": platform.python_version(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
