"""The "Check a service" page over real HTTP: the form, the answer, and errors by their fields."""

from __future__ import annotations

import html
import re

import httpx


def field_block(page: str, name: str) -> str:
    """The HTML of one form field: its label, input and any error under it."""
    start = page.rindex('<div class="field', 0, page.index(f'id="f-{name}"'))
    end = page.find('<div class="field', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_the_empty_form_offers_the_configured_payers_and_defaults_the_date_to_today(
    http: httpx.Client,
) -> None:
    response = http.get("/")

    assert response.status_code == 200
    page = response.text
    assert "<h1>Check a service</h1>" in page
    assert '<option value="web-test-payer">Web Test Health (synthetic)</option>' in page
    assert 'value="2026-11-23"' in field_block(page, "date")
    assert '<option value="22">22 · On Campus-Outpatient Hospital</option>' in page
    assert 'href="/docs"' in page


def test_a_checked_code_shows_its_decision_process_channels_and_reasons(
    http: httpx.Client,
) -> None:
    response = http.get(
        "/", params={"payer": "web-test-payer", "code": "70551", "pos": "22", "date": "2026-12-01"}
    )

    assert response.status_code == 200
    page = response.text
    assert (
        '<span class="badge badge-required" data-decision="required">Approval required</span>'
        in page
    )
    assert '<strong class="term">Preauthorization</strong> · reviews medical necessity' in page
    assert "https://portal.web-test-payer.example/auth" in page
    assert "MRI of the brain [wtp-mri-brain]" in page
    assert 'value="70551"' in field_block(page, "code")


def test_several_codes_typed_together_are_one_encounter(http: httpx.Client) -> None:
    response = http.get(
        "/", params={"payer": "web-test-payer", "code": "64612, J0585", "pos": "22"}
    )

    page = response.text
    cards = re.findall(r'data-code="([^"]+)".*?data-decision="([a-z_]+)"', page, re.S)
    assert cards == [("64612", "unknown"), ("J0585", "required")]


def test_a_conditional_answer_says_what_it_depends_on(http: httpx.Client) -> None:
    response = http.get("/", params={"payer": "web-test-payer", "code": "97110"})

    page = response.text
    assert 'data-decision="conditional">Conditional</span>' in page
    assert "if the number of units or visits (it applies beyond 12)" in page


def test_an_invalid_code_is_shown_next_to_the_code_field_with_the_typed_values_kept(
    http: httpx.Client,
) -> None:
    response = http.get(
        "/", params={"payer": "web-test-payer", "code": "70551 7055x", "pos": "22", "state": "tx"}
    )

    assert response.status_code == 422
    page = response.text
    code = field_block(page, "code")
    assert "has-error" in code
    assert "'7055x' is not valid; expected a CPT code" in html.unescape(code)
    assert 'value="70551 7055x"' in code
    assert 'value="tx"' in field_block(page, "state")
    assert '<option value="web-test-payer" selected>' in page
    assert '<option value="22" selected>' in page
    assert "Nothing was checked" in page
    assert "data-decision" not in page


def test_an_unknown_payer_in_the_address_is_shown_next_to_the_payer_field(
    http: httpx.Client,
) -> None:
    response = http.get("/", params={"payer": "web-test-payr", "code": "70551"})

    assert response.status_code == 422
    payer = field_block(response.text, "payer")
    assert "Did you mean web-test-payer?" in payer
    assert '<option value="web-test-payr" selected>web-test-payr (not configured)</option>' in payer


def test_an_invalid_diagnosis_is_shown_next_to_the_diagnoses_field(http: httpx.Client) -> None:
    response = http.get(
        "/", params={"payer": "web-test-payer", "code": "70551", "diagnoses": "M17.11 Q99.999"}
    )

    assert response.status_code == 422
    block = field_block(response.text, "diagnoses")
    assert "'Q99.999' is not an ICD-10-CM code" in html.unescape(block)


def test_a_submitted_form_without_a_code_asks_for_one(http: httpx.Client) -> None:
    response = http.get("/", params={"payer": "web-test-payer", "code": ""})

    assert response.status_code == 422
    assert "a CPT or HCPCS code is required" in field_block(response.text, "code")


def test_typed_markup_is_shown_as_text_never_run(http: httpx.Client) -> None:
    response = http.get(
        "/", params={"payer": "web-test-payer", "code": "<script>alert(1)</script>"}
    )

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
