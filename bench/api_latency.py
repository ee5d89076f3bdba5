"""Benchmark: latency of POST /api/v1/requirements/check at a constant 200 requests/s.

Starts the app under uvicorn as its own process on 127.0.0.1 (a temp SQLite database, the shipped
packs), checks the answer once, warms up, then drives the endpoint with the load tool `hey`
(Debian package `hey`) at a constant rate: 10 workers x 20 requests/s for 20 s, keep-alive, a
realistic body of three services (a botulinum-toxin pairing in one encounter, with a diagnosis,
and a blepharoplasty at an ASC, on the Medicare FFS pack). The same-run peer is GET /healthz at
the same rate, so the ratio check p99 / healthz p99 says what the check costs over the HTTP stack.

hey starts its workers together, so at 20 requests/s each they fire in bursts of 10 every 50 ms:
the later requests of a burst queue behind the earlier ones, which is part of what is measured.

Run: .venv/bin/python bench/api_latency.py [--seconds 20] [--workers 10] [--rate-per-worker 20]
The last line printed is one JSON object with every figure. Target: p99 <= 25 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

TARGET_P99_MS = 25.0
CHECK_PATH = "/api/v1/requirements/check"
HEALTH_PATH = "/healthz"
BODY = [
    {"payer": "medicare", "code": "64612", "pos": "22", "state": "TX", "encounter": "1"},
    {
        "payer": "medicare",
        "code": "J0585",
        "pos": "22",
        "state": "TX",
        "encounter": "1",
        "diagnoses": ["G24.3"],
    },
    {"payer": "medicare", "code": "15823", "pos": "24", "state": "TX", "date": "2026-12-01"},
]
EXPECTED_DECISIONS = ["required", "required", "not_required"]


def main() -> None:
    args = _arguments()
    hey = shutil.which("hey")
    if hey is None:
        sys.exit("bench/api_latency.py needs the load tool hey: apt-get install hey")
    with tempfile.TemporaryDirectory(prefix="precert-bench-") as tmp, _server(Path(tmp)) as url:
        _check_answer(url)
        _warm_up(url, requests=300)
        body_file = Path(tmp) / "body.json"
        body_file.write_text(json.dumps(BODY), "utf-8")
        load = ["-z", f"{args.seconds}s", "-c", str(args.workers), "-q", str(args.rate_per_worker)]
        check = _run_hey(
            [hey, *load, "-m", "POST", "-T", "application/json", "-D", str(body_file)],
            url + CHECK_PATH,
        )
        health = _run_hey([hey, *load], url + HEALTH_PATH)
    _report(args, check, health)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each run")
    parser.add_argument("--workers", type=int, default=10, help="concurrent hey workers")
    parser.add_argument("--rate-per-worker", type=int, default=20, help="requests/s per worker")
    return parser.parse_args()


@contextmanager
def _server(tmp: Path) -> Iterator[str]:
    """uvicorn serving precert.web.app:app_from_environment on a free loopback port."""
    port = _free_port()
    env = {
        **os.environ,
        "PRECERT_DATABASE_URL": f"sqlite:///{tmp / 'precert.db'}",
        "PRECERT_DATA_DIR": str(tmp / "var"),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "precert.web.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited with code {process.returncode}; see its log above")
        try:
            if httpx.get(url + HEALTH_PATH, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit("the server did not answer /healthz within 60 s")


def _check_answer(url: str) -> None:
    """A benchmark of wrong answers is worthless: check the body is answered as expected."""
    response = httpx.post(url + CHECK_PATH, json=BODY, timeout=10)
    if response.status_code != 200:
        sys.exit(f"the check answered {response.status_code}: {response.text}")
    decisions = [s["decision"] for s in response.json()["services"]]
    if decisions != EXPECTED_DECISIONS:
        sys.exit(f"unexpected decisions {decisions}; expected {EXPECTED_DECISIONS}")


def _warm_up(url: str, *, requests: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(requests):
            client.post(CHECK_PATH, json=BODY).raise_for_status()
            client.get(HEALTH_PATH).raise_for_status()


def _run_hey(command: list[str], url: str) -> dict[str, Any]:
    print(f"$ {' '.join(command[1:])} {url}", flush=True)
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_hey(result.stdout)


def parse_hey(output: str) -> dict[str, Any]:
    """The figures of hey's default summary: rate, latency percentiles (ms), statuses, errors."""

    def seconds(label: str) -> float:
        match = re.search(rf"^\s*{label}:\s+([\d.]+) secs", output, re.M)
        return float(match.group(1)) if match else float("nan")

    percentiles = {
        f"p{int(p)}_ms": round(float(s) * 1000, 3)
        for p, s in re.findall(r"^\s*(\d+)% in ([\d.]+) secs", output, re.M)
    }
    # "[200]  3998 responses" under Status code distribution; "[2]  Post ...: EOF" under errors.
    status_lines = re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", output, re.M)
    statuses = {int(code): int(count) for code, count in status_lines}
    errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s+(?!\d+ responses)", output, re.M))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return {
        "requests": sum(statuses.values()) + errors,
        "rate_per_s": float(rate.group(1)) if rate else float("nan"),
        **percentiles,
        "mean_ms": round(seconds("Average") * 1000, 3),
        "max_ms": round(seconds("Slowest") * 1000, 3),
        "non_2xx": sum(n for code, n in statuses.items() if not 200 <= code < 300),
        "errors": errors,
    }


def _report(args: argparse.Namespace, check: dict[str, Any], health: dict[str, Any]) -> None:
    target_rate = args.workers * args.rate_per_worker
    print(f"\nAPI latency at {target_rate} requests/s, {args.seconds} s, {args.workers} workers")
    print(f"{'':24}{'check':>12}{'healthz':>12}")
    for key in ("rate_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "non_2xx", "errors"):
        print(f"{key:24}{check.get(key, float('nan')):>12}{health.get(key, float('nan')):>12}")
    ratio = round(check["p99_ms"] / health["p99_ms"], 2) if health.get("p99_ms") else None
    meets = check["p99_ms"] <= TARGET_P99_MS and check["non_2xx"] == check["errors"] == 0
    print(f"target: check p99 <= {TARGET_P99_MS} ms -> {'met' if meets else 'NOT met'}")
    print(f"same-run ratio: check p99 / healthz p99 = {ratio}")
    print(
        json.dumps(
            {
                "bench": "api_latency",
                "target_rate_per_s": target_rate,
                "seconds": args.seconds,
                "body_services": len(BODY),
                "check": check,
                "healthz": health,
                "ratio_p99_check_over_healthz": ratio,
                "target_p99_ms": TARGET_P99_MS,
                "meets_target": meets,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                # Other work on the machine shows up in the tail latencies: say how busy it was.
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
