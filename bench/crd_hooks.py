"""Benchmark: latency of the CRD order-sign hook (POST /cds-services/order-sign-crd) on loopback.

Starts the app under uvicorn as its own process on 127.0.0.1 (a temp SQLite database, the shipped
packs), checks the answer once, warms up, then sends order-sign calls one after another over one
keep-alive connection and times each from the client: three draft ServiceRequests (a brain MRI in a
hospital outpatient department, a knee replacement at an ASC, a code no rule
lists, in an office) for a patient whose
Coverage names the synthetic Acme Health payer. CRD requires an answer within 5 s; our target is
p99 <= 100 ms. GET /healthz, timed the same way in the same run, is the peer.

Run: .venv/bin/python bench/crd_hooks.py [--calls 2000]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
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

TARGET_P99_MS = 100.0
HOOK_PATH = "/cds-services/order-sign-crd"
HEALTH_PATH = "/healthz"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ORDERS = [("70553", "22"), ("27447", "24"), ("99999", "11")]
EXPECTED = ["auth-needed", "auth-needed", "indeterminate"]
INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


def hook_body() -> dict[str, Any]:
    """A synthetic order-sign request (no real patient: ids only, no names)."""
    entries = []
    for i, (code, pos) in enumerate(ORDERS):
        order: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": f"bench-{i}",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
            "subject": {"reference": "Patient/bench-1"},
            "occurrenceDateTime": "2026-12-10",
        }
        if pos:
            order["locationCode"] = [{"coding": [{"system": POS, "code": pos}]}]
        entries.append({"resource": order})
    coverage = {
        "resourceType": "Coverage",
        "id": "bench-cov",
        "status": "active",
        "subscriberId": "BENCH-0001",
        "beneficiary": {"reference": "Patient/bench-1"},
        "payor": [{"display": "Acme Health Plan"}],
        "class": [{"type": {"coding": [{"code": "plan"}]}, "value": "commercial"}],
    }
    return {
        "hookInstance": "6f7e6a58-7b2c-4c39-9d2e-bench0000001",
        "hook": "order-sign",
        "context": {
            "userId": "Practitioner/bench",
            "patientId": "bench-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": entries},
        },
        "prefetch": {"coverage": {"resourceType": "Bundle", "entry": [{"resource": coverage}]}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls of each endpoint")
    args = parser.parse_args()
    body = hook_body()
    with (
        tempfile.TemporaryDirectory(prefix="precert-bench-") as tmp,
        _server(Path(tmp)) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        _check_answer(client, body)
        for _ in range(200):  # warm-up
            client.post(HOOK_PATH, json=body).raise_for_status()
        hook = _time(lambda: client.post(HOOK_PATH, json=body), args.calls)
        health = _time(lambda: client.get(HEALTH_PATH), args.calls)
    _report(args.calls, hook, health)


def _check_answer(client: httpx.Client, body: dict[str, Any]) -> None:
    """A benchmark of wrong answers is worthless: check the orders are answered as expected."""
    response = client.post(HOOK_PATH, json=body)
    if response.status_code != 200:
        sys.exit(f"the hook answered {response.status_code}: {response.text}")
    found = []
    for action in response.json()["systemActions"]:
        [info] = [e for e in action["resource"]["extension"] if e["url"] == INFO]
        found += [p["valueCode"] for p in info["extension"] if p["url"] == "pa-needed"]
    if found != EXPECTED:
        sys.exit(f"unexpected pa-needed {found}; expected {EXPECTED}")


def _time(call: Any, calls: int) -> dict[str, float]:
    times: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
        "max_ms": round(times[-1], 3),
        "rate_per_s": round(len(times) / (sum(times) / 1000), 1),
    }


def _report(calls: int, hook: dict[str, float], health: dict[str, float]) -> None:
    print(f"\nCRD order-sign latency, {calls} sequential calls on one keep-alive connection")
    print(f"{'':16}{'order-sign':>12}{'healthz':>12}")
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "rate_per_s"):
        print(f"{key:16}{hook[key]:>12}{health[key]:>12}")
    meets = hook["p99_ms"] <= TARGET_P99_MS
    print(f"target: order-sign p99 <= {TARGET_P99_MS} ms -> {'met' if meets else 'NOT met'}")
    print(
        json.dumps(
            {
                "bench": "crd_hooks",
                "calls": calls,
                "order_sign": hook,
                "healthz": health,
                "target_p99_ms": TARGET_P99_MS,
                "target_met": meets,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            }
        )
    )


@contextmanager
def _server(tmp: Path) -> Iterator[str]:
    """uvicorn serving precert.web.app:app_from_environment on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
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
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"the server exited with code {process.returncode}")
            try:
                if httpx.get(url + HEALTH_PATH, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("the server did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


if __name__ == "__main__":
    main()
