"""Benchmark: `POST /fhir/Claim/$submit` latency at the payer simulator, on loopback.

Starts `precert payer-sim` as its own process on 127.0.0.1 (the shipped default rules, a temp
state directory, its one access-log line per request sent to /dev/null), checks one answer
reads back as approved, warms up, then posts, one at a time on a keep-alive connection:
`--requests` new submissions (distinct requests of three lines: an MRI, an infusion over two
months, a DME line with its DeviceRequest; every one adjudicated, stored in SQLite and logged),
then the same Bundles again (duplicates: the stored answer is returned). Bodies are built and
serialized before timing, so the client's cost is the HTTP round trip only.

Run: .venv/bin/python bench/payer_sim.py [--requests 1000]
The last line printed is one JSON object with every figure. Target: new-submission p99 <= 50 ms.
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

import httpx

from precert.channels.fhir.pas_bundle import build_request_bundle
from precert.channels.fhir.pas_response import read_response
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)
from precert.domain.determinations import Outcome

TARGET_P99_MS = 50.0
SUBMIT = "/fhir/Claim/$submit"
AT = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
LINES = (
    ServiceLine("70551", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",)),
    ServiceLine("J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 4, 30), "11", ("K50.90",)),
    ServiceLine("E0601", 1, dt.date(2030, 3, 5), dt.date(2030, 3, 5), "12", ("G47.33",)),
)


def main() -> None:
    args = _arguments()
    bodies = [json.dumps(build_request_bundle(_request(n))).encode() for n in range(args.requests)]
    warm = [json.dumps(build_request_bundle(_request(-1 - n))).encode() for n in range(50)]
    with (
        tempfile.TemporaryDirectory(prefix="precert-bench-sim-") as tmp,
        _server(Path(tmp)) as url,
        httpx.Client(base_url=url, timeout=10, headers=_HEADERS) as client,
    ):
        _check_answer(client)
        for body in warm:
            client.post(SUBMIT, content=body).raise_for_status()
        new = _timed(client, bodies)
        duplicate = _timed(client, bodies)
    _report(args, new, duplicate)


_HEADERS = {"Content-Type": "application/fhir+json"}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="new submissions to time")
    return parser.parse_args()


def _request(n: int) -> AuthorizationRequest:
    member = f"BENCH{n:07d}"
    return AuthorizationRequest(
        id=f"bench-sim-{n}",
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


@contextmanager
def _server(tmp: Path) -> Iterator[str]:
    port = _free_port()
    precert = Path(sys.executable).parent / "precert"
    command = [str(precert), "payer-sim", "--port", str(port), "--state", str(tmp / "sim")]
    env = {"PRECERT_DATA_DIR": str(tmp / "var"), "PATH": str(precert.parent)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(port, process)
        yield url
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


def _check_answer(client: httpx.Client) -> None:
    """A benchmark of wrong answers is worthless: one submission must read back as approved."""
    request = _request(10**6)
    response = client.post(SUBMIT, content=json.dumps(build_request_bundle(request)).encode())
    if response.status_code != 200:
        sys.exit(f"$submit answered {response.status_code}: {response.text[:500]}")
    result = read_response(response.json(), lines=request.lines)
    if result.determination is None or result.determination.outcome is not Outcome.APPROVED:
        sys.exit(f"unexpected answer {result.kind}; expected an approval")


def _timed(client: httpx.Client, bodies: list[bytes]) -> dict[str, float]:
    times = []
    for body in bodies:
        start = time.perf_counter()
        response = client.post(SUBMIT, content=body)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            sys.exit(f"$submit answered {response.status_code}: {response.text[:500]}")
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "requests": len(times),
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(max(times), 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }


def _report(args: argparse.Namespace, new: dict[str, float], duplicate: dict[str, float]) -> None:
    print(f"\npayer simulator $submit latency, loopback, sequential, {args.requests} requests")
    print(f"{'':12}{'new':>12}{'duplicate':>12}")
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"):
        print(f"{key:12}{new[key]:>12}{duplicate[key]:>12}")
    meets = new["p99_ms"] <= TARGET_P99_MS
    print(f"target: new p99 <= {TARGET_P99_MS} ms -> {'met' if meets else 'NOT met'}")
    figures: dict[str, Any] = {
        "bench": "payer_sim",
        "new": new,
        "duplicate": duplicate,
        "target_p99_ms": TARGET_P99_MS,
        "target_met": meets,
        "python": platform.python_version(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
