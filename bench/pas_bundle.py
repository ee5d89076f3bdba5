"""Benchmark: Da Vinci PAS request Bundles built and checked per second, and responses read.

Builds requests of 1 to 5 service lines (CPT and HCPCS codes, single days and periods, places of
service, diagnoses, with and without a facility) once, then times, each the best of --runs:
- build: `build_request_bundle` alone (plain dicts);
- check: `check_request_bundle` (the FHIRPath rules, reference and duplicate checks) on built ones;
- build_check_json: build + check + `json.dumps`, the work of one `$submit` body;
- read: `read_response` of a two-item approval response into a Determination.

Run: .venv/bin/python bench/pas_bundle.py [--bundles 2000] [--runs 3]
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

from precert.channels.fhir.pas_bundle import build_request_bundle
from precert.channels.fhir.pas_checks import check_request_bundle
from precert.channels.fhir.pas_response import (
    EXT_PREAUTH_PERIOD,
    EXT_REVIEW_ACTION,
    EXT_REVIEW_ACTION_CODE,
    read_response,
)
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)

CODES = ["70551", "72148", "27447", "J1745", "E0601", "97110", "95810", "J0585", "64612"]
DIAGNOSES = ["G43.909", "K50.90", "M17.11", "G47.33", "M54.50"]
NPIS = ["1234567893", "1245319599", "1679576722"]
NOW = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    requests = [_request(rng, i) for i in range(args.bundles)]
    built = [build_request_bundle(r) for r in requests]
    assert all(check_request_bundle(b) == [] for b in built), "a built Bundle fails the checks"
    response = _response()
    lines = requests[0].lines[:2]

    def build() -> None:
        for r in requests:
            build_request_bundle(r)

    def check() -> None:
        for b in built:
            check_request_bundle(b)

    def build_check_json() -> None:
        for r in requests:
            bundle = build_request_bundle(r)
            check_request_bundle(bundle)
            json.dumps(bundle)

    def read() -> None:
        for _ in requests:
            read_response(response, lines=lines)

    figures: dict[str, Any] = {
        "benchmark": "pas_bundle",
        "bundles": args.bundles,
        "mean_lines": round(sum(len(r.lines) for r in requests) / len(requests), 2),
        "python": platform.python_version(),
    }
    for name, work in (
        ("build", build),
        ("check", check),
        ("build_check_json", build_check_json),
        ("read_response", read),
    ):
        rate = args.bundles / _best(work, args.runs)
        figures[f"{name}_per_s"] = round(rate, 1)
        print(f"{name:>18}: {rate:>10,.0f} per second (best of {args.runs})")
    print(json.dumps(figures))


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


def _response() -> dict[str, Any]:
    def item(sequence: int, action: str) -> dict[str, Any]:
        parts = [
            {"url": EXT_REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [{"code": action}]}},
            {"url": "number", "valueString": "AUTH-1"},
        ]
        return {
            "extension": [
                {
                    "url": EXT_PREAUTH_PERIOD,
                    "valuePeriod": {"start": "2030-03-02", "end": "2030-05-01"},
                }
            ],
            "itemSequence": sequence,
            "adjudication": [{"extension": [{"url": EXT_REVIEW_ACTION, "extension": parts}]}],
        }

    claim_response = {
        "resourceType": "ClaimResponse",
        "created": "2030-03-01T10:00:00Z",
        "outcome": "complete",
        "item": [item(1, "A1"), item(2, "A3")],
    }
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": claim_response}]}


if __name__ == "__main__":
    main()
