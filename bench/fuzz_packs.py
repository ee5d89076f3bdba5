"""Fuzz the payer pack loader at length: the property of tests/unit/test_pack_fuzz.py, 100,000x.

Every case is random text or a pack-like YAML document (close to the schema, then broken). The
property: parse_pack returns a PayerPack (which then answers checks without failing) or raises
InvalidInput whose every issue is located in the file. Anything else is a crash; the first example
of each kind of crash is written to --crashes (a folder) so that it can be replayed.

Run: .venv/bin/python bench/fuzz_packs.py [--cases 100000] [--jobs 2] [--seed N] [--crashes DIR]
(--jobs splits the cases over processes, each with its own seed: seed, seed+1, ...)
The last line printed is one JSON object with the counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from precert.errors import InvalidInput

PROPERTY = Path(__file__).resolve().parents[1] / "tests" / "unit" / "test_pack_fuzz.py"


def load_property() -> ModuleType:
    """The strategies and the property, from the test module (one definition for both runs)."""
    spec = importlib.util.spec_from_file_location("precert_pack_fuzz", PROPERTY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Tally:
    """Counts of what parse_pack did, and the first example of each kind of crash."""

    def __init__(self, crashes: Path) -> None:
        self.outcomes: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.crash_kinds: Counter[str] = Counter()
        self.folder = crashes

    def record(self, fuzz: ModuleType, text: str) -> None:
        try:
            result = fuzz.check_property(text)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - counting crashes is this tool's job
            self._crash(text, exc)
            return
        if isinstance(result, InvalidInput):
            self.outcomes["refused"] += 1
            self.refusals[result.issues[0].code] += 1
        else:
            self.outcomes["accepted"] += 1

    def _crash(self, text: str, exc: BaseException) -> None:
        self.outcomes["crashes"] += 1
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        kind = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        self.crash_kinds[kind] += 1
        if self.crash_kinds[kind] == 1:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"crash-{len(self.crash_kinds)}.yaml"
            (self.folder / name).write_text(text, "utf-8", errors="surrogatepass")
            print(f"crash: {kind}: {exc!r:.200} (example in {self.folder / name})")


def run_share(cases: int, seed_value: int, crashes: Path) -> dict[str, Counter[str]]:
    """Fuzz `cases` cases in this process; the counts, by outcome, refusal code and crash kind."""
    fuzz = load_property()
    tally = Tally(crashes)
    texts = st.one_of(fuzz.pack_texts(), fuzz.pack_texts(), fuzz.any_text)

    @seed(seed_value)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(texts)
    def fuzz_once(text: str) -> None:
        tally.record(fuzz, text)

    fuzz_once()
    return {"outcomes": tally.outcomes, "refusals": tally.refusals, "crashes": tally.crash_kinds}


def run(cases: int, jobs: int, seed_value: int, crashes: Path) -> dict[str, Any]:
    started = time.perf_counter()
    shares = [cases // jobs + (1 if i < cases % jobs else 0) for i in range(jobs)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        parts = list(
            pool.map(
                run_share,
                shares,
                [seed_value + i for i in range(jobs)],
                [crashes / f"job-{i}" for i in range(jobs)],
            )
        )
    elapsed = time.perf_counter() - started
    totals: dict[str, Counter[str]] = {
        "outcomes": Counter(),
        "refusals": Counter(),
        "crashes": Counter(),
    }
    for part in parts:
        for key, counts in part.items():
            totals[key].update(counts)
    done = sum(totals["outcomes"].values())
    return {
        "benchmark": "fuzz_packs",
        "cases": done,
        "accepted": totals["outcomes"]["accepted"],
        "refused": totals["outcomes"]["refused"],
        "crashes": totals["outcomes"]["crashes"],
        "crash_kinds": dict(totals["crashes"]),
        "refusals_by_code": dict(totals["refusals"].most_common()),
        "jobs": jobs,
        "seconds": round(elapsed, 1),
        "cases_per_second": round(done / elapsed),
        "seed": seed_value,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--crashes", type=Path, default=Path("var/fuzz-crashes"))
    args = parser.parse_args(argv)
    result = run(args.cases, max(1, args.jobs), args.seed, args.crashes)
    print(
        f"{result['cases']:,} cases in {result['seconds']} s: {result['accepted']:,} accepted, "
        f"{result['refused']:,} refused, {result['crashes']:,} crashes ({result['jobs']} processes)"
    )
    print(f"refusals by issue code: {result['refusals_by_code']}")
    print(json.dumps(result))
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
