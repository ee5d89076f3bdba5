"""Every code parser in domain/codes.py: what it accepts, how it normalises, and the message a
person reads when a value is refused (the field, the value, and what is accepted)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from precert.domain import codes
from precert.errors import InvalidInput, Issue


def refusal(parse: Callable[..., object], value: object, location: str) -> Issue:
    """The one issue a parser raises for `value`, checked to be located at `location`."""
    with pytest.raises(InvalidInput) as caught:
        parse(value, location)
    assert len(caught.value.issues) == 1
    issue = caught.value.issues[0]
    assert issue.location == location
    assert caught.value.message == issue.message
    return issue


# -- procedure codes: CPT and HCPCS Level II ------------------------------------------------------

CPT_OR_HCPCS = (
    "expected a CPT code (5 digits such as 70551, or 4 digits + F/T such as 0042T) or a HCPCS "
    "Level II code (a letter A-V and 4 digits such as J0585)."
)


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("70551", "70551"),
        ("00100", "00100"),
        ("0042T", "0042T"),
        ("0042t", "0042T"),
        ("3074F", "3074F"),
        ("J0585", "J0585"),
        ("e0601", "E0601"),
        (" A0426 ", "A0426"),
        ("V2020", "V2020"),
    ],
)
def test_a_cpt_or_hcpcs_code_is_accepted_upper_case_and_trimmed(
    value: str, normalised: str
) -> None:
    assert codes.procedure_code(value) == normalised


@pytest.mark.parametrize(
    "value", ["7055", "705511", "7055X", "0042X", "W1234", "J058", "J05855", "70551-70553", ""]
)
def test_a_value_that_is_not_a_cpt_or_hcpcs_code_is_refused_with_both_shapes_explained(
    value: str,
) -> None:
    issue = refusal(codes.procedure_code, value, "services[0].code")

    assert issue.message == f"services[0].code: {value!r} is not valid; {CPT_OR_HCPCS}"
    assert issue.code == "invalid"


@pytest.mark.parametrize(("value", "shaped"), [("70551", True), ("J0585", True), ("70551 ", False)])
def test_is_procedure_code_checks_the_shape_of_an_already_normalised_value(
    value: str, shaped: bool
) -> None:
    assert codes.is_procedure_code(value) is shaped


# -- ICD-10-CM diagnoses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("M17.11", "M17.11"),
        ("M1711", "M17.11"),
        ("g4733", "G47.33"),
        ("I10", "I10"),
        ("S83.511A", "S83.511A"),
        (" e11.9 ", "E11.9"),
    ],
)
def test_an_existing_icd10cm_code_is_accepted_with_or_without_its_dot_and_given_back_with_it(
    value: str, normalised: str
) -> None:
    assert codes.diagnosis_code(value) == normalised


@pytest.mark.parametrize("value", ["M17.19", "Z99.99", "A00.9X"])
def test_a_well_formed_diagnosis_that_does_not_exist_is_refused_as_not_an_icd10cm_code(
    value: str,
) -> None:
    issue = refusal(codes.diagnosis_code, value, "diagnoses[0]")

    assert issue.message == (
        f"diagnoses[0]: {value!r} is not an ICD-10-CM code; check the code (a letter, 2 digits, "
        "then up to 4 characters after the dot, e.g. M17.11)."
    )
    assert issue.code == "unknown-code"


@pytest.mark.parametrize("value", ["12", "M", "M17.111111", "17.11", "knee pain"])
def test_a_value_not_shaped_like_an_icd10cm_code_says_what_one_looks_like(value: str) -> None:
    issue = refusal(codes.diagnosis_code, value, "diagnosis")

    assert issue.message == (
        f"diagnosis: {value!r} is not valid; expected an ICD-10-CM code such as M17.11 or G47.33."
    )


# -- NPI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1234567893", " 1234567893 ", "1245319599"])
def test_an_npi_whose_luhn_check_digit_covers_the_80840_prefix_is_accepted(value: str) -> None:
    assert codes.npi(value) == value.strip()


def test_an_npi_with_a_wrong_check_digit_is_refused_with_the_check_digit_message() -> None:
    issue = refusal(codes.npi, "1234567890", "rendering_npi")

    assert issue.message == (
        "rendering_npi: '1234567890' fails the NPI check digit; re-check the number with the "
        "provider or the NPPES registry."
    )
    assert issue.code == "check-digit"


@pytest.mark.parametrize("value", ["123456789", "12345678931", "12345A7893", ""])
def test_an_npi_that_is_not_ten_digits_is_refused_saying_so(value: str) -> None:
    issue = refusal(codes.npi, value, "npi")

    assert issue.message == f"npi: {value!r} is not valid; an NPI is exactly 10 digits."


# -- place of service -----------------------------------------------------------------------------

POS_ACCEPTED = (
    "expected a two-digit CMS place-of-service code such as 11 (office), 22 (on-campus outpatient "
    "hospital), 21 (inpatient hospital) or 24 (ASC)."
)


@pytest.mark.parametrize(
    ("value", "normalised"), [("11", "11"), ("2", "02"), ("02", "02"), (" 22 ", "22"), ("99", "99")]
)
def test_a_cms_place_of_service_is_accepted_and_a_single_digit_is_padded(
    value: str, normalised: str
) -> None:
    assert codes.place_of_service(value) == normalised


@pytest.mark.parametrize("value", ["98", "00", "222", "x", "2a", "-1"])
def test_a_place_of_service_not_on_the_cms_list_is_refused_with_examples(value: str) -> None:
    issue = refusal(codes.place_of_service, value, "pos")

    assert issue.message == f"pos: {value!r} is not valid; {POS_ACCEPTED}"


def test_the_place_of_service_list_is_the_shipped_cms_list() -> None:
    places = codes.places_of_service()

    assert places["24"] == "Ambulatory Surgical Center"
    assert {"11", "19", "21", "22", "24", "81", "99"} <= set(places)
    assert all(len(code) == 2 and code.isdigit() for code in places)


def test_a_place_of_service_label_names_the_place_for_messages() -> None:
    assert codes.pos_label("24") == "24 (Ambulatory Surgical Center)"
    assert codes.pos_label("98") == "98 (unknown place of service)"


# -- states ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"), [("TX", "TX"), ("tx", "TX"), ("DC", "DC"), ("PR", "PR"), ("gu", "GU")]
)
def test_states_dc_and_territories_are_accepted_upper_case(value: str, normalised: str) -> None:
    assert codes.state(value) == normalised


@pytest.mark.parametrize("value", ["XX", "Texas", "T", "", "UK"])
def test_a_value_that_is_not_a_state_or_territory_is_refused(value: str) -> None:
    issue = refusal(codes.state, value, "state")

    assert issue.message == (
        f"state: {value!r} is not valid; expected a two-letter US state or territory code such "
        "as TX."
    )


def test_every_state_and_dc_is_known() -> None:
    assert len(codes.US_STATES - {"AS", "GU", "MP", "PR", "VI", "FM", "MH", "PW"}) == 51


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-12-01", dt.date(2026, 12, 1)),
        (" 2028-02-29 ", dt.date(2028, 2, 29)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 1)),
    ],
)
def test_an_iso_date_is_accepted(value: str | dt.date, day: dt.date) -> None:
    assert codes.iso_date(value) == day


@pytest.mark.parametrize("value", ["12/01/2026", "2026-02-30", "2027-02-29", "tomorrow", ""])
def test_a_date_not_written_yyyy_mm_dd_or_not_on_the_calendar_is_refused(value: str) -> None:
    issue = refusal(codes.iso_date, value, "services[3].date")

    assert issue.message == (
        f"services[3].date: {value!r} is not valid; expected a date written YYYY-MM-DD such as "
        "2026-12-01."
    )


# -- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"), [("1", 1), (" 12 ", 12), (30, 30), ("100000", 100000)]
)
def test_units_from_1_to_100000_are_accepted(value: str | int, number: int) -> None:
    assert codes.units(value) == number


@pytest.mark.parametrize("value", ["0", "-3", "100001", "2.5", "twelve", ""])
def test_units_outside_1_to_100000_or_not_whole_numbers_are_refused(value: str) -> None:
    issue = refusal(codes.units, value, "units")

    assert issue.message == (
        f"units: {value!r} is not valid; expected a whole number of units or visits from 1 to "
        "100000."
    )


def test_each_parser_names_its_own_field_when_no_location_is_given() -> None:
    locations = []
    for parse in (
        codes.procedure_code,
        codes.diagnosis_code,
        codes.npi,
        codes.place_of_service,
        codes.state,
        codes.iso_date,
        codes.units,
    ):
        with pytest.raises(InvalidInput) as caught:
            parse("?")
        locations.append(caught.value.issues[0].location)

    assert locations == ["code", "diagnosis", "npi", "pos", "state", "date", "units"]


def test_the_shipped_icd10_list_is_the_installed_code_set() -> None:
    """The list diagnosis_code reads (scripts/generate_icd10_codes.py) matches simple-icd-10-cm;
    regenerate it when the library brings a new year's codes."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "generate_icd10_codes.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_diagnosis_codes_are_answered_as_the_library_answers_them() -> None:
    import random
    import re

    import simple_icd_10_cm as icd

    from precert.domain.codes import _known_diagnosis

    shape = re.compile(r"[A-Z]\d[0-9A-Z][0-9A-Z]{0,4}")  # not chapters ("20") or blocks
    every = [c for c in icd.get_all_codes(False) if shape.fullmatch(c)]
    sample = random.Random(7).sample(every, 600)
    made_up = [code[:-1] + ("Z" if code[-1] != "Z" else "Y") for code in sample[:200]]
    for raw in [*sample, *made_up, "G47.33", "G4733", "M17.11", "Z00.00", "A00"]:
        raw = raw.upper()
        expected = icd.add_dot(raw.replace(".", "")) if icd.is_valid_item(raw) else None
        assert _known_diagnosis(raw) == expected, raw
