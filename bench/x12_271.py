"""271 eligibility responses read per second: tokenize, envelopes, loops, EB rows -> checks.

Each read is one whole corpus 271 (../shared/corpora/lfh-x12-5010-samples/271_005010X279A1, the
error sample read leniently), the files taken in turn `--reads` times; best of --runs. A second
figure reads one interchange holding the corpus subscriber 271's set repeated `--sets` times
(bulk, as a clearinghouse batch would deliver it), in coverage checks per second.

    .venv/bin/python bench/x12_271.py [--reads 20000] [--sets 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from precert.channels.x12.tx271 import read_271

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "lfh-x12-5010-samples"


def best(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    times = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = work()
        times.append(time.perf_counter() - start)
    return min(times), count


def read_files(texts: list[str], reads: int) -> int:
    checks = 0
    for n in range(reads):
        checks += len(read_271(texts[n % len(texts)], lenient=True).checks)
    return reads


def batch_text(sets: int) -> str:
    source = SAMPLES / "271_005010X279A1" / "subscriber-health-benefit-check.271"
    lines = [line for line in source.read_text().splitlines() if line]
    isa, gs, _st, *body, _se, _ge, iea = lines
    out = [isa, gs]
    for n in range(1, sets + 1):
        control = f"{n:09d}"
        out += [f"ST*271*{control}*005010X279A1~", *body, f"SE*{len(body) + 2}*{control}~"]
    out += [f"GE*{sets}*1~", iea]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--sets", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts = [p.read_text() for p in sorted((SAMPLES / "271_005010X279A1").glob("*.271"))]
    seconds, reads = best(args.runs, lambda: read_files(texts, args.reads))
    per_file = reads / seconds
    print(f"{reads:,d} corpus 271 files read in {seconds:.3f} s: {per_file:,.0f} reads/s")
    text = batch_text(args.sets)
    seconds_batch, checks = best(args.runs, lambda: len(read_271(text).checks))
    assert checks == args.sets, checks
    per_check = checks / seconds_batch
    print(
        f"one interchange of {checks:,d} sets ({len(text) / 1_000_000:.2f} MB) in "
        f"{seconds_batch:.3f} s: {per_check:,.0f} coverage checks/s"
    )
    figures = {
        "bench": "x12_271",
        "files": len(texts),
        "reads": reads,
        "reads_per_s": round(per_file),
        "batch_sets": checks,
        "batch_checks_per_s": round(per_check),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
