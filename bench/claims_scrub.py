"""Claim scrub end to end: a generated 837P of 200,000 claim lines against 50,000 authorizations,
read + matched + JSON report, in claim lines per second and peak RSS; and in the same run pyx12's
validation of the same file (the check a billing team would otherwise run).

Targets (issue 5): >= 50,000 lines/s, >= 20x pyx12's throughput, peak RSS <= 1 GB.

The authorizations are given to the scrub as an import file would give them (`extra`), on an
empty SQLite database, so the figure is the scrub's own work (the database look-ups of a real
installation are measured by tests/integration/test_authorization_records.py's bulk path).
pyx12 is slow, so by default it validates the first --pyx12-lines lines of the same file and its
rate is compared per line; --pyx12-lines 0 runs it on the whole file.

    .venv/bin/python bench/claims_scrub.py [--lines 200000] [--authorizations 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims_read import CODES, build_text
from precert.config import Settings
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus
from precert.services import accounts
from precert.services.authorization_records import organization_actor
from precert.services.claims_scrub import result_json_text, scrub
from precert.services.context import build_context

PER_CLAIM = 4


def authorizations(count: int, claims: int) -> list[AuthorizationRecord]:
    """Records for the generated members: every odd claim's number matches its REF*G1; the rest
    are spread over the members so most lines find a candidate."""
    records = []
    for n in range(count):
        member = n % claims
        records.append(
            AuthorizationRecord(
                number=f"AUTH{member:07d}" if n < claims else f"EXTRA{n:07d}",
                payer_id="BENCH1",
                member_id=f"M{member:09d}",
                status=AuthorizationStatus.APPROVED,
                codes=frozenset(CODES),
                total_units=PER_CLAIM * 2,
                valid_from=dt.date(2026, 10, 1),
                valid_to=dt.date(2026, 12, 31),
                source="import",
            )
        )
    return records


def pyx12_lines_per_s(text: str, lines: int) -> float:
    from pyx12 import params, x12n_document

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.837"
        path.write_text(text)
        start = time.perf_counter()
        with path.open() as source:
            x12n_document.x12n_document(params.params(), source, io.StringIO(), None, None)
        seconds = time.perf_counter() - start
    return lines / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--authorizations", type=int, default=50_000)
    parser.add_argument("--pyx12-lines", type=int, default=20_000)
    args = parser.parse_args()
    text = build_text(args.lines, PER_CLAIM)
    claims = (args.lines + PER_CLAIM - 1) // PER_CLAIM
    records = authorizations(args.authorizations, claims)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(database_url=f"sqlite:///{root / 'bench.db'}", data_dir=root / "var")
        ctx = build_context(settings, today=lambda: dt.date(2026, 11, 29))
        accounts.create_organization(ctx, "Bench Clinic")
        actor = organization_actor(ctx, "Bench Clinic")
        start = time.perf_counter()
        report = scrub(ctx, actor, text, extra=records, remember_usage=False)
        body = result_json_text(report)
        seconds = time.perf_counter() - start
        ctx.engine.dispose()
    lines = report.summary()["lines"]
    rate = lines / seconds
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sample = args.pyx12_lines or args.lines
    pyx12_rate = pyx12_lines_per_s(build_text(sample, PER_CLAIM), sample)
    ratio = rate / pyx12_rate
    print(f"{lines:,d} claim lines against {len(records):,d} authorizations")
    print(
        f"scrub (read + match + JSON, {len(body) / 1e6:.0f} MB): {seconds:.2f} s, "
        f"{rate:,.0f} lines/s"
    )
    print(f"pyx12 validation ({sample:,d} lines of the same file): {pyx12_rate:,.0f} lines/s")
    print(f"scrub is {ratio:.1f}x pyx12 (target >= 20x); peak RSS {rss_mb:.0f} MB (target <= 1024)")
    print(f"findings: {report.summary()['findings']}")
    met = rate >= 50_000 and ratio >= 20 and rss_mb <= 1024
    print(
        json.dumps(
            {
                "bench": "claims_scrub",
                "lines": lines,
                "authorizations": len(records),
                "seconds": round(seconds, 2),
                "lines_per_s": round(rate),
                "pyx12_lines_per_s": round(pyx12_rate),
                "ratio": round(ratio, 1),
                "peak_rss_mb": round(rss_mb),
                "targets_met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
