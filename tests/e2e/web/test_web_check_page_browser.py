"""The "Check a service" page in Chromium: fill the form, read the answer, see errors in place."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def test_a_specialist_checks_a_service_and_sees_the_decision_and_its_reason(
    page: Page, artifacts: Path
) -> None:
    page.goto("/")
    page.select_option("#f-payer", "web-test-payer")
    page.fill("#f-code", "27447")
    page.select_option("#f-setting", "inpatient")
    page.fill("#f-date", "2026-12-01")
    page.click("button[type=submit]")

    card = page.locator("article.result").first
    expect(card.locator(".badge")).to_have_text("Approval required")
    expect(card.locator(".term")).to_have_text(["Precertification", "Preauthorization"])
    expect(card.locator(".reason").first).to_contain_text(
        "Precertification required (reviews coverage): Total knee arthroplasty, inpatient stay"
    )
    assert "code=27447" in page.url  # the answer is bookmarkable
    page.screenshot(path=str(artifacts / "web-check-required.png"), full_page=True)


def test_codes_typed_together_are_answered_as_one_encounter_with_a_badge_each(
    page: Page, artifacts: Path
) -> None:
    page.goto("/")
    page.select_option("#f-payer", "web-test-payer")
    page.fill("#f-code", "64612 J0585, 97110 12345")
    page.select_option("#f-pos", "22")
    page.click("button[type=submit]")

    badges = page.locator("article.result .badge")
    expect(badges).to_have_text(
        [
            "Unknown: verify with payer",
            "Approval required",
            "Conditional",
            "Unknown: verify with payer",
        ]
    )
    expect(page.locator(".summary-strip li")).to_have_count(4)
    page.screenshot(path=str(artifacts / "web-check-encounter.png"), full_page=True)


def test_an_invalid_code_is_shown_next_to_the_code_field_and_what_was_typed_is_kept(
    page: Page, artifacts: Path
) -> None:
    page.goto("/")
    page.select_option("#f-payer", "web-test-payer")
    page.fill("#f-code", "70551 7055x")
    page.select_option("#f-pos", "11")
    page.fill("#f-state", "TX")
    page.click("button[type=submit]")

    error = page.locator("#code-error")
    expect(error).to_contain_text("'7055x' is not valid; expected a CPT code")
    expect(page.locator("#f-code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-code")).to_have_value("70551 7055x")
    expect(page.locator("#f-payer")).to_have_value("web-test-payer")
    expect(page.locator("#f-pos")).to_have_value("11")
    expect(page.locator("#f-state")).to_have_value("TX")
    expect(page.locator("article.result")).to_have_count(0)
    page.screenshot(path=str(artifacts / "web-check-invalid-code.png"), full_page=True)


def test_the_empty_page_explains_what_to_do(page: Page, artifacts: Path) -> None:
    page.goto("/")

    expect(page.locator("h1")).to_have_text("Check a service")
    expect(page.locator(".empty h2")).to_have_text("Answers appear here")
    page.screenshot(path=str(artifacts / "web-check-empty.png"), full_page=True)


def test_the_api_docs_render_offline(page: Page, artifacts: Path) -> None:
    page.goto("/docs")

    expect(page.locator(".swagger-ui .title").first).to_contain_text("precert")
    expect(page.get_by_text("/api/v1/requirements/check").first).to_be_visible()
    page.screenshot(path=str(artifacts / "web-docs.png"))


def test_medicare_blepharoplasty_at_an_asc_is_not_required_and_the_page_says_why(
    page: Page, artifacts: Path
) -> None:
    page.goto("/")
    page.select_option("#f-payer", "medicare")
    page.fill("#f-code", "15823")
    page.select_option("#f-pos", "24")
    page.fill("#f-date", "2026-12-01")
    page.click("button[type=submit]")

    card = page.locator("article.result")
    expect(card.locator(".badge")).to_have_text("Not required")
    expect(card.locator(".reason-missed")).to_contain_text(
        "this service is at POS 24 (Ambulatory Surgical Center)"
    )
    page.screenshot(path=str(artifacts / "web-check-medicare-asc.png"), full_page=True)

    page.select_option("#f-pos", "22")
    page.click("button[type=submit]")

    expect(card.locator(".badge")).to_have_text("Approval required")
    page.screenshot(path=str(artifacts / "web-check-medicare-opd.png"), full_page=True)
