"""Benchmark: 50 randomized crashes around a portal submit, each followed by a retry.

Runs the fault-injection test of tests/integration/test_portal_channel.py (one shared Chromium,
mock portal (a) on 127.0.0.1, SQLite) with PORTAL_FAULT_RUNS=50 instead of the suite's 8. Each run
kills one submit at a point (before the about-to-click record, after it before the click, after the
click before the confirmation is read, or at a random clock read anywhere in the submit), submits
again, and asserts the mock portal saw at most one click and the request ends submitted with the
portal's reference or flagged for a person. The test fails on any duplicate or lost request.

Run: .venv/bin/python bench/portal_faults.py [--runs 50] [--seed 6]
The last line printed is one JSON object: runs, how each ended, seconds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/integration/test_portal_channel.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    env = dict(os.environ, PORTAL_FAULT_RUNS=str(args.runs), PORTAL_FAULT_SEED=str(args.seed))
    command = [
        str(ROOT / ".venv/bin/pytest"), "-q", "-s", "-p", "no:cacheprovider", TEST, "-k", "crashes",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    ends = [
        line.removeprefix("FAULT-RUN ").strip()
        for line in done.stdout.splitlines()
        if line.startswith("FAULT-RUN ")
    ]
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    tally = collections.Counter(ends)
    for end, count in sorted(tally.items()):
        print(f"{count:3d}  {end}")
    figures = {
        "runs": len(ends),
        "passed": done.returncode == 0,
        "ends": dict(tally),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(figures))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
