"""X12 tokenizer throughput against pyx12's own tokenizer, on the same text in the same run.

The text is the largest 837 sample of ../shared/corpora/lfh-x12-5010-samples, its transaction set
repeated (with SE/GE/IEA counts kept right) to about 5 MB. Both sides turn the text into segment
objects with their elements split: ours with `tokenize`, pyx12 with `X12Reader` (its RawX12File
plus its Segment objects and envelope tracking, i.e. what pyx12 uses to read a file). pyx12's bare
RawX12File (segment strings only: no elements, no objects) and our tokenizer plus the envelope
reader (`read`, which checks what X12Reader checks and more) are printed too. Best of --runs.
Target (issue 4): >= 3x pyx12's X12Reader.

    .venv/bin/python bench/x12_tokenizer.py [--mb 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pyx12.rawx12file
import pyx12.x12file

from precert.channels.x12.envelope import read
from precert.channels.x12.tokens import tokenize

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "lfh-x12-5010-samples"


def build_text(megabytes: float) -> tuple[str, str]:
    files = sorted(SAMPLES.glob("837_*/*"), key=lambda p: p.stat().st_size)
    source = files[-1]
    lines = source.read_text().replace("\r", "").rstrip("\n").split("\n")
    isa, gs, _st, *body, _se, _ge, iea = lines
    target = int(megabytes * 1_000_000)
    size = 0
    sets: list[str] = []
    n = 0
    while size < target:
        n += 1
        control = f"{n:09d}"
        segs = [f"ST*837*{control}*005010X222A2~", *body, f"SE*{len(body) + 2}*{control}~"]
        sets.extend(segs)
        size += sum(len(s) + 1 for s in segs)
    text = "\n".join([isa, gs, *sets, f"GE*{n}*1~", iea]) + "\n"
    return text, source.name


def best(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    times = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = work()
        times.append(time.perf_counter() - start)
    return min(times), count


def ours(text: str) -> int:
    n = 0
    for _segment in tokenize(text):
        n += 1
    return n


def ours_with_envelopes(text: str) -> int:
    document = read(text)
    assert document.ok, document.issues[:3]
    return sum(len(t.segments) for g in document.groups() for t in g.sets) + 4


def pyx12_reader(text: str) -> int:
    n = 0
    for _segment in pyx12.x12file.X12Reader(io.StringIO(text)):
        n += 1
    return n


def pyx12_raw(text: str) -> int:
    n = 0
    for _line in pyx12.rawx12file.RawX12File(io.StringIO(text)):
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text, source = build_text(args.mb)
    megabytes = len(text) / 1_000_000
    print(f"text: {source} repeated to {megabytes:.2f} MB")
    figures: dict[str, object] = {"bench": "x12_tokenizer", "mb": round(megabytes, 2)}
    results = {}
    for name, work in (
        ("precert", lambda: ours(text)),
        ("precert_read", lambda: ours_with_envelopes(text)),
        ("pyx12_reader", lambda: pyx12_reader(text)),
        ("pyx12_raw", lambda: pyx12_raw(text)),
    ):
        seconds, count = best(args.runs, work)
        results[name] = seconds
        print(
            f"{name:13s} {count:>9,d} segments in {seconds:.3f} s: "
            f"{count / seconds:>12,.0f} segments/s, {megabytes / seconds:7.1f} MB/s"
        )
        figures[f"{name}_segments_per_s"] = round(count / seconds)
        figures[f"{name}_mb_per_s"] = round(megabytes / seconds, 1)
    ratio = results["pyx12_reader"] / results["precert"]
    raw_ratio = results["pyx12_raw"] / results["precert"]
    read_ratio = results["pyx12_reader"] / results["precert_read"]
    met = ratio >= 3
    print(
        f"precert is {ratio:.1f}x pyx12's X12Reader (target >= 3x: {'met' if met else 'NOT met'})"
    )
    print(f"precert tokenize + envelope read is {read_ratio:.1f}x pyx12's X12Reader")
    print(f"precert is {raw_ratio:.1f}x pyx12's bare RawX12File (segment strings only)")
    figures.update(
        ratio=round(ratio, 2),
        read_ratio=round(read_ratio, 2),
        raw_ratio=round(raw_ratio, 2),
        target_met=met,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
