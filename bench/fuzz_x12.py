"""Fuzz the X12 engine at length: mutated corpus samples, 100,000 cases by default.

Each case is one sample of ../shared/corpora/lfh-x12-5010-samples with 1 to 6 random mutations
(characters inserted, deleted or replaced with delimiters, letters, digits and line breaks; whole
segments dropped, doubled or swapped; the file cut short; a delimiter swapped for another). The
property (the same as tests/unit/test_x12_envelope.py, longer): `read` returns a document or
raises InvalidInput whose every issue is located; the 999 for it is built and reads back; the
JSON view renders. Anything else is a crash, printed with its seed so it can be replayed.

    .venv/bin/python bench/fuzz_x12.py [--cases 100000] [--seed 1]

Exit 1 on any crash. The last line printed is one JSON object with the counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
import traceback
from collections import Counter
from pathlib import Path

from precert.channels.x12.ack999 import acknowledge, read_999
from precert.channels.x12.envelope import ControlCounter, read
from precert.channels.x12.pretty import document_view
from precert.errors import InvalidInput

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "lfh-x12-5010-samples"
NOISE = "*:^~|>!\n\r \tISAGSTEQ0123456789\x00\ufeff"
AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(7)
        at = rng.randrange(len(text) + 1)
        if kind == 0:
            text = text[:at] + rng.choice(NOISE) * rng.randint(1, 3) + text[at:]
        elif kind == 1:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        elif kind == 2:
            text = text[:at] + rng.choice(NOISE) + text[at + 1 :]
        elif kind == 3:
            text = text[:at]
        else:
            segments = text.split("~")
            i, j = rng.randrange(len(segments)), rng.randrange(len(segments))
            if kind == 4:
                del segments[i]
            elif kind == 5:
                segments.insert(i, segments[j])
            else:
                segments[i], segments[j] = segments[j], segments[i]
            text = "~".join(segments)
    return text


def check(text: str) -> str:
    """'accepted', 'findings' or 'refused'; raises on a crash."""
    try:
        document = read(text)
    except InvalidInput as error:
        assert error.issues and all(i.location for i in error.issues), "unlocated issue"
        return "refused"
    json.dumps(document_view(document))
    if any(document.groups()):
        answer = acknowledge(document, at=AT, next_control=ControlCounter())
        read_999(answer)
    return "accepted" if document.ok else "findings"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    samples = [p.read_text() for p in sorted(SAMPLES.glob("*/*")) if p.name != "SOURCE.txt"]
    counts: Counter[str] = Counter()
    crashes: Counter[str] = Counter()
    start = time.perf_counter()
    for case in range(args.cases):
        rng = random.Random(args.seed * 1_000_003 + case)
        text = mutate(rng.choice(samples), rng)
        try:
            counts[check(text)] += 1
        except Exception as error:  # noqa: BLE001  (a crash is what this script looks for)
            kind = f"{type(error).__name__}: {error}"[:120]
            if kind not in crashes:
                print(f"CRASH case {case} (seed {args.seed}): {kind}")
                traceback.print_exc(limit=3)
            crashes[kind] += 1
    seconds = time.perf_counter() - start
    total = sum(crashes.values())
    print(
        f"{args.cases:,} cases in {seconds:.1f} s ({args.cases / seconds:,.0f}/s): "
        f"{counts['accepted']:,} accepted unchanged, {counts['findings']:,} read with located "
        f"findings, {counts['refused']:,} refused (InvalidInput), {total:,} crashes"
    )
    print(
        json.dumps(
            {
                "bench": "fuzz_x12",
                "cases": args.cases,
                "accepted": counts["accepted"],
                "findings": counts["findings"],
                "refused": counts["refused"],
                "crashes": total,
                "seconds": round(seconds, 1),
            }
        )
    )
    raise SystemExit(1 if total else 0)


if __name__ == "__main__":
    main()
