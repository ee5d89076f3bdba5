"""837P reader throughput: claim lines per second of `read_claims` on a generated file.

The file is synthetic (made-up members, NPIs and claim ids): one billing provider, subscribers
with one claim each, `--per-claim` lines per claim (SV1 + DTP*472, a REF*G1 on every other
claim), `--lines` lines in all. Best of --runs; peak memory of one run with tracemalloc.
Target (issue 5 brief): well over 100,000 lines/s.

    .venv/bin/python bench/claims_read.py [--lines 200000] [--per-claim 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

from precert.channels.x12.tx837 import read_claims

ISA = (
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *261129*0600*^*00501"
    "*000000001*0*T*:~"
)
CODES = ("70553", "99213", "97110", "J3301", "27447", "93306")


def build_text(lines: int, per_claim: int) -> str:
    """A valid 837P (one ST) with `lines` service lines."""
    body = [
        "BHT*0019*00*BENCH*20261129*0600*CH",
        "NM1*41*2*SUBMITTER*****46*SUB01",
        "PER*IC*DESK*TE*5555550100",
        "NM1*40*2*RECEIVER*****46*REC01",
        "HL*1**20*1",
        "NM1*85*2*BILLING GROUP*****XX*1234567893",
        "N3*1 MAIN ST",
        "N4*ANYTOWN*PA*17111",
        "REF*EI*123456789",
    ]
    hl = 1
    claims = (lines + per_claim - 1) // per_claim
    written = 0
    for n in range(claims):
        hl += 1
        body += [
            f"HL*{hl}*1*22*0",
            "SBR*P*18*******CI",
            f"NM1*IL*1*MEMBER*TEST****MI*M{n:09d}",
            "NM1*PR*2*BENCH HEALTH PLAN*****PI*BENCH1",
            f"CLM*C{n:09d}*{per_claim * 100}.00***11:B:1*Y*A*Y*Y",
        ]
        if n % 2:
            body.append(f"REF*G1*AUTH{n:07d}")
        body.append("HI*ABK:M5450*ABF:G8929")
        for line in range(1, per_claim + 1):
            if written == lines:
                break
            written += 1
            body += [
                f"LX*{line}",
                f"SV1*HC:{CODES[(n + line) % len(CODES)]}*100.00*UN*1***1:2",
                "DTP*472*D8*20261015",
            ]
    segments = ["ST*837*0001*005010X222A1", *body, f"SE*{len(body) + 2}*0001"]
    return "\n".join(
        [
            ISA,
            "GS*HC*SUBMITTER*RECEIVER*20261129*0600*1*X*005010X222A1~",
            *(s + "~" for s in segments),
            "GE*1*1~",
            "IEA*1*000000001~",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--per-claim", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text = build_text(args.lines, args.per_claim)
    times = []
    cpu_times = []
    count = 0
    for _ in range(args.runs):
        start, cpu = time.perf_counter(), time.process_time()
        result = read_claims(text)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        assert result.ok, result.errors[:1]
        count = result.line_count
        del result
    seconds = min(times)
    cpu_seconds = min(cpu_times)
    tracemalloc.start()
    read_claims(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rate = count / seconds
    print(f"text: {len(text) / 1e6:.1f} MB, {count:,d} claim lines")
    print(f"read_claims: {seconds:.3f} s, {rate:,.0f} lines/s (target > 100,000)")
    # CPU time too: on a shared machine the wall clock includes other processes' turns.
    print(f"read_claims CPU: {cpu_seconds:.3f} s, {count / cpu_seconds:,.0f} lines/s")
    print(f"peak traced memory: {peak / 1e6:.0f} MB")
    figures = {
        "bench": "claims_read",
        "lines": count,
        "seconds": round(seconds, 3),
        "lines_per_s": round(rate),
        "cpu_lines_per_s": round(count / cpu_seconds),
        "peak_mb": round(peak / 1e6),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
