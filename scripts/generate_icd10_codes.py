"""Write src/precert/data/reference/icd10cm_codes.txt.gz: every ICD-10-CM code the installed
simple-icd-10-cm knows (without dots, one per line, sorted), so that checking a diagnosis does not
load the library's whole XML code set (about 2 s in every process).

    .venv/bin/python scripts/generate_icd10_codes.py          # regenerate
    .venv/bin/python scripts/generate_icd10_codes.py --check  # exit 1 when out of date

tests/unit/test_codes.py runs the check, so a new release of the library is noticed.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

TARGET = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "precert"
    / "data"
    / "reference"
    / "icd10cm_codes.txt.gz"
)


# Categories and codes (chapters and blocks such as "M40-M43" are not codes a claim carries).
CODE = re.compile(r"[A-Z]\d[0-9A-Z][0-9A-Z]{0,4}")


def codes() -> list[str]:
    import simple_icd_10_cm

    every = {code.replace(".", "") for code in simple_icd_10_cm.get_all_codes(False)}
    return sorted(code for code in every if CODE.fullmatch(code))


def content() -> bytes:
    text = "\n".join(codes()) + "\n"
    # mtime 0: the same codes give the same bytes, so --check compares exactly.
    return gzip.compress(text.encode("ascii"), mtime=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wanted = content()
    if args.check:
        current = TARGET.read_bytes() if TARGET.exists() else b""
        if gzip.decompress(current) != gzip.decompress(wanted):
            print(f"{TARGET} is out of date: run scripts/generate_icd10_codes.py")
            return 1
        return 0
    TARGET.write_bytes(wanted)
    print(f"wrote {TARGET} ({len(wanted):,d} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
