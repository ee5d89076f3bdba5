"""Benchmark: X12 278 requests built, serialized, validated and read back per second.

Builds 1 to 5-line requests (CPT and HCPCS codes, single days and periods, places of service
including inpatient, diagnoses, with and without a facility, standard and expedited) once, then
times, each the best of --runs:
- build_serialize: `build_278` (Request278 + segments + `write_interchange` text);
- check: `check_278` (envelopes + the X217 rules) on the built texts;
- round_trip: build + serialize + `read_requests` (which checks, then reads back), the issue's
  "278 build + serialize + parse round trips per second"; every read-back is compared once
  before timing.

With --fuzz N it instead feeds N randomly mutated 278s (requests and a response: characters
cut, delimiters and segments inserted) to `check_278`, the 999 writer, `read_requests` and
`read_responses`, and counts any exception other than InvalidInput (target 0).

Run: .venv/bin/python bench/x12_278.py [--requests 2000] [--runs 3] [--fuzz 100000]
The last line printed is one JSON object with every figure. No target yet (figures only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import time
from collections.abc import Callable
from typing import Any

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import ControlCounter
from precert.channels.x12.tx278 import build_278, request_278
from precert.channels.x12.tx278_read import check_278, read_requests, read_responses
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)
from precert.errors import InvalidInput

CODES = ["70551", "72148", "27447", "J1745", "E0601", "97110", "95810", "J0585", "64612"]
DIAGNOSES = ["G43.909", "K50.90", "M17.11", "G47.33", "M54.50"]
NPIS = ["1234567893", "1245319599", "1679576722"]
NOW = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fuzz", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.fuzz:
        fuzz(rng, args.fuzz)
        return
    requests = [_request(rng, i) for i in range(args.requests)]
    counter = ControlCounter()
    texts = [build_278(r, at=NOW, next_control=counter) for r in requests]
    for request, text in zip(requests, texts, strict=True):
        assert read_requests(text) == [request_278(request, at=NOW)], "a 278 does not read back"

    def build_serialize() -> None:
        for r in requests:
            build_278(r, at=NOW, next_control=counter)

    def check() -> None:
        for text in texts:
            check_278(text)

    def round_trip() -> None:
        for r in requests:
            read_requests(build_278(r, at=NOW, next_control=counter))

    figures: dict[str, Any] = {
        "benchmark": "x12_278",
        "requests": args.requests,
        "mean_lines": round(sum(len(r.lines) for r in requests) / len(requests), 2),
        "mean_bytes": round(sum(len(t) for t in texts) / len(texts)),
        "python": platform.python_version(),
    }
    for name, work in (
        ("build_serialize", build_serialize),
        ("check", check),
        ("round_trip", round_trip),
    ):
        rate = args.requests / _best(work, args.runs)
        figures[f"{name}_per_s"] = round(rate, 1)
        print(f"{name:>16}: {rate:>10,.0f} per second (best of {args.runs})")
    print(json.dumps(figures))


INSERTS = ["", "*", ":", "~", "~\n", "^", "HL*9*9*EV*1~", "HCR*A1*X~", "AAA*N**75*C~", "9", "\r"]


def fuzz(rng: random.Random, cases: int) -> None:
    """Mutated 278s through every reader; only InvalidInput may come out."""
    counter = ControlCounter()
    seeds = [build_278(_request(rng, i), at=NOW, next_control=counter) for i in range(20)]
    seeds.append(seeds[0].replace("*13*", "*11*", 1).replace("UM*", "HCR*A1*AUTH~\nUM*", 1))
    crashes: dict[str, int] = {}
    start = time.perf_counter()
    for _ in range(cases):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(INSERTS) + text[at + rng.randint(0, 6) :]
        for work in (_check_and_ack, read_requests, read_responses):
            try:
                work(text)
            except InvalidInput:
                pass
            except Exception as error:  # noqa: BLE001 - the point of the run: count anything else
                name = f"{work.__name__}: {type(error).__name__}"
                crashes[name] = crashes.get(name, 0) + 1
    seconds = time.perf_counter() - start
    print(f"{cases:,} mutated 278s in {seconds:.1f} s; crashes: {sum(crashes.values())}")
    for name, count in crashes.items():
        print(f"  {name}: {count}")
    print(json.dumps({"benchmark": "x12_278_fuzz", "cases": cases, "crashes": crashes}))


def _check_and_ack(text: str) -> None:
    acknowledge(check_278(text), at=NOW, next_control=ControlCounter())


def _best(work: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _request(rng: random.Random, i: int) -> AuthorizationRequest:
    lines = []
    for _ in range(rng.randint(1, 5)):
        start = dt.date(2030, 3, 1) + dt.timedelta(days=rng.randint(1, 60))
        end = start + dt.timedelta(days=rng.choice([0, 0, 30]))
        diagnoses = tuple(rng.sample(DIAGNOSES, rng.randint(0, 2)))
        lines.append(
            ServiceLine(
                rng.choice(CODES),
                rng.randint(1, 12),
                start,
                end,
                rng.choice(["11", "22", "21", ""]),
                diagnoses,
            )
        )
    return AuthorizationRequest(
        id=f"bench-{i}",
        organization_id="bench",
        patient=Patient("Benchfirst", "Benchlast", dt.date(1970, 1, 1), f"ZZ-BENCH-{i}"),
        coverage=Coverage("bench-payer", "commercial", f"ZZ-BENCH-{i}"),
        ordering_npi=NPIS[0],
        rendering_npi=rng.choice(NPIS[:2]),
        facility_npi=rng.choice([None, NPIS[2]]),
        lines=tuple(lines),
        created_at=NOW,
        updated_at=NOW,
        urgency=rng.choice(list(Urgency)),
    )


if __name__ == "__main__":
    main()
