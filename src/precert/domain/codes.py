"""Value types for the codes a prior-authorization question is made of, with validation.

Each parser takes raw text and a `location` (the field name the caller will recognise), returns the
normalised value, or raises InvalidInput whose message names the field, the value and what is
accepted. CPT numbers only: descriptors are AMA-copyrighted and never shipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import re
from functools import cache, lru_cache
from importlib import resources

from stdnum import luhn

from precert.errors import InvalidInput

_CPT = re.compile(r"^(\d{5}|\d{4}[FTU])$")
# HCPCS Level II: one letter A-V (no D/I/O... are reserved per CMS; we accept A-V) and 4 digits.
_HCPCS = re.compile(r"^[A-V]\d{4}$")
_ICD10 = re.compile(r"^[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?$")

US_STATES: frozenset[str] = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
    # territories and freely associated states that Medicare and Medicaid serve
    "AS GU MP PR VI FM MH PW".split()
)


def _fail(location: str, value: object, accepted: str) -> InvalidInput:
    return InvalidInput.field(location, f"{location}: {value!r} is not valid; {accepted}.")


def procedure_code(value: str, location: str = "code") -> str:
    """A CPT (5 digits, or 4 digits + F/T/U) or HCPCS Level II (letter A-V + 4 digits) code."""
    code = value.strip().upper()
    if _CPT.match(code) or _HCPCS.match(code):
        return code
    raise _fail(
        location,
        value,
        "expected a CPT code (5 digits such as 70551, or 4 digits + F/T such as 0042T) "
        "or a HCPCS Level II code (a letter A-V and 4 digits such as J0585)",
    )


def is_procedure_code(value: str) -> bool:
    """True when `value` (already upper-case, stripped) has the shape of a CPT or HCPCS code."""
    return bool(_CPT.match(value) or _HCPCS.match(value))


@cache
def _icd10cm_codes() -> frozenset[str]:
    """Every ICD-10-CM code (no dots), from the list scripts/generate_icd10_codes.py writes from
    simple-icd-10-cm: reading it takes milliseconds, where the library loads its whole XML code
    set (about 2 s) in every process that checks a diagnosis."""
    data = resources.files("precert.data.reference").joinpath("icd10cm_codes.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("ascii").split())


def diagnosis_code(value: str, location: str = "diagnosis") -> str:
    """An ICD-10-CM code that exists in the code set, returned with its dot (G4733 -> G47.33)."""
    raw = value.strip().upper()
    if not _ICD10.match(raw):
        raise _fail(location, value, "expected an ICD-10-CM code such as M17.11 or G47.33")
    known = _known_diagnosis(raw)
    if known is None:
        raise InvalidInput.field(
            location,
            f"{location}: {value!r} is not an ICD-10-CM code; check the code "
            "(a letter, 2 digits, then up to 4 characters after the dot, e.g. M17.11).",
            code="unknown-code",
        )
    return known


# Imports and batches repeat the same few codes thousands of times; the code-set look-up and
# the check digit are what cost, so they are remembered (values only, never the location).
@lru_cache(maxsize=8192)
def _known_diagnosis(raw: str) -> str | None:
    bare = raw.replace(".", "")
    if bare not in _icd10cm_codes():
        return None
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


@lru_cache(maxsize=8192)
def _npi_check_digit_ok(digits: str) -> bool:
    return bool(luhn.is_valid("80840" + digits))


def npi(value: str, location: str = "npi") -> str:
    """A National Provider Identifier: 10 digits whose Luhn check digit covers the prefix 80840."""
    digits = value.strip()
    if not (len(digits) == 10 and digits.isdigit()):
        raise _fail(location, value, "an NPI is exactly 10 digits")
    if not _npi_check_digit_ok(digits):
        raise InvalidInput.field(
            location,
            f"{location}: {value!r} fails the NPI check digit; re-check the number with the "
            "provider or the NPPES registry.",
            code="check-digit",
        )
    return digits


@cache
def places_of_service() -> dict[str, str]:
    """CMS place-of-service codes to their short names (shipped copy of the CMS list)."""
    text = resources.files("precert.data.reference").joinpath("pos.csv").read_text("utf-8")
    return {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}


def place_of_service(value: str, location: str = "pos") -> str:
    """A two-digit CMS place-of-service code (a single digit is padded: 2 -> 02)."""
    code = value.strip()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code in places_of_service():
        return code
    raise _fail(
        location,
        value,
        "expected a two-digit CMS place-of-service code such as 11 (office), "
        "22 (on-campus outpatient hospital), 21 (inpatient hospital) or 24 (ASC)",
    )


def pos_label(code: str) -> str:
    """'24 (Ambulatory Surgical Center)' for messages people read."""
    return f"{code} ({places_of_service().get(code, 'unknown place of service')})"


def state(value: str, location: str = "state") -> str:
    """A two-letter US state, DC or territory code (TX, DC, PR...)."""
    code = value.strip().upper()
    if code in US_STATES:
        return code
    raise _fail(location, value, "expected a two-letter US state or territory code such as TX")


def iso_date(value: str | dt.date, location: str = "date") -> dt.date:
    """A calendar date written YYYY-MM-DD."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise _fail(
            location, value, "expected a date written YYYY-MM-DD such as 2026-12-01"
        ) from None


def units(value: str | int, location: str = "units") -> int:
    """A positive whole number of units or visits."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1 or number > 100_000:
        raise _fail(location, value, "expected a whole number of units or visits from 1 to 100000")
    return number
