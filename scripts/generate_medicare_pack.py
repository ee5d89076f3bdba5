"""Generate the Medicare FFS payer pack from the CMS prior-authorization lists shipped with precert.

Reads the package copies of the CMS CSVs (src/precert/data/reference/cms/) and writes
src/precert/data/packs/medicare.yaml deterministically: the same CSVs always give the same bytes.
This file is only the command line; the work is in the medicare_pack package beside it (one module
per list: hospital OPD, DMEPOS, WISeR, repetitive ambulance); docs/medicare-pack.md explains the
semantics and the caveats of each list.

    .venv/bin/python scripts/generate_medicare_pack.py             # regenerate the pack
    .venv/bin/python scripts/generate_medicare_pack.py --check     # is the committed pack current?
    .venv/bin/python scripts/generate_medicare_pack.py --refresh-from ../shared/refdata
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a script, scripts/ is already sys.path[0]; loaded by path (as the tests do) it is not,
# and medicare_pack must import either way, from any working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from medicare_pack.common import CSV_FILES, GenerateError, refresh
from medicare_pack.pack import check, render_pack

__all__ = ["CSV_FILES", "main"]  # CSV_FILES: re-exported for the tests, which load this file

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "src" / "precert" / "data" / "reference" / "cms"
PACK_PATH = REPO / "src" / "precert" / "data" / "packs" / "medicare.yaml"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate the Medicare FFS payer pack from the CMS prior-authorization CSVs."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the pack differs from what would be generated",
    )
    parser.add_argument(
        "--refresh-from",
        type=Path,
        metavar="DIR",
        help="first copy the CSVs from DIR (e.g. ../shared/refdata) into the package",
    )
    parser.add_argument("--pack", type=Path, default=PACK_PATH, help="the pack file to write")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="the package copies of the CSVs"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.refresh_from is not None:
            refresh(args.refresh_from, args.data_dir)
        text = render_pack(args.data_dir)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return check(text, args.pack)
    args.pack.write_text(text, "utf-8")
    count = text.count("\n- id: ")
    print(f"wrote {args.pack} ({count} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
