"""`precert payers`: list, show, import (new, unchanged, replaced, refused) and the checklist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import pytest

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"
PACK = PACKS / "cli-fixture-health.yaml"
PACK_V2 = PACKS / "cli-fixture-health-v2.yaml"  # version 2026.2, MRI list adds 70540
REFUSED = PACKS / "cli-refused.yaml"


def row_of(output: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with `first_cell` (columns split on 2+ spaces)."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().split("  ") if c.strip()]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


def test_importing_a_new_payer_says_so_and_lists_it_as_imported(precert: Precert) -> None:
    imported = precert("payers", "import", PACK)
    listed = precert("payers", "list")

    assert imported.code == 0, imported
    assert (
        imported.out.strip() == "Imported cli-fixture-health version 2026.1 (7 rules): new payer."
    )
    assert listed.code == 0, listed
    assert row_of(listed.out, "cli-fixture-health") == [
        "cli-fixture-health",
        "CLI Fixture Health (synthetic)",
        "commercial, medicaid",
        "2026.1",
        "7",
        "imported",
        "synthetic",
    ]


def test_reimporting_the_same_pack_is_unchanged_and_a_new_version_replaces_it(
    fixture_payer: Precert,
) -> None:
    precert = fixture_payer  # PACK is already imported, as by the test above

    again = precert("payers", "import", PACK)
    newer = precert("payers", "import", PACK_V2)
    checked = precert(
        "check", "--payer", "cli-fixture-health", "--code", "70540", "--pos", "22", "--json"
    )

    assert again.code == 0
    assert again.out.strip() == (
        "Unchanged: cli-fixture-health version 2026.1 (7 rules) is already in force."
    )
    assert newer.code == 0
    assert newer.out.strip() == (
        "Imported cli-fixture-health version 2026.2 (7 rules): replaced version 2026.1."
    )
    assert '"decision": "required"' in checked.out  # 70540 is only on version 2026.2's list


def test_a_refused_pack_lists_every_issue_with_file_rule_and_field_and_imports_nothing(
    precert: Precert,
) -> None:
    refused = precert("payers", "import", REFUSED)
    listed = precert("payers", "list")
    shown = precert("payers", "show", "cli-refused-health")

    assert refused.code == 2
    assert refused.out == ""
    assert refused.err.splitlines() == [
        "cli-refused.yaml: rule crh-mri: name: is required",
        "cli-refused.yaml: rule crh-ct: outcom: unknown field (check the spelling; see "
        "docs/payer-packs.md)",
        "cli-refused.yaml: rule crh-pt: reviews: Input should be 'coverage', "
        "'medical_necessity' or 'both'",
        f"{REFUSED}: nothing was imported.",
    ]
    assert "cli-refused-health" not in listed.out
    assert shown.code == 2
    assert "no payer 'cli-refused-health' is configured" in shown.err


def test_importing_a_missing_file_exits_2(precert: Precert, tmp_path: Path) -> None:
    result = precert("payers", "import", tmp_path / "nope.yaml")

    assert result.code == 2
    assert "cannot read the file (No such file or directory)" in result.err


def test_show_prints_the_pack_summary_and_each_rule_with_collapsed_codes(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer("payers", "show", "cli-fixture-health")

    assert result.code == 0, result
    assert "CLI Fixture Health (synthetic) (cli-fixture-health)" in result.out
    assert "2026.1, published 2026-10-01" in result.out
    assert "imported, SYNTHETIC demo data" in result.out
    assert "phone +1-555-0150 (provider line)" in result.out
    assert row_of(result.out, "cfh-mri-brain") == [
        "cfh-mri-brain",
        "MRI of the brain",
        "70551-70553",
        "office or outpatient setting",
        "always",
        "required",
        "preauthorization",
        "medical necessity",
    ]
    assert row_of(result.out, "cfh-botulinum-toxin")[2:5] == [
        "J0585-J0588",
        "any setting",
        "only with 64612 or 64615",
    ]
    assert row_of(result.out, "cfh-sleep-study")[4] == "2026-07-01 to 2026-09-30"
    assert row_of(result.out, "cfh-maternity")[3:6] == ["medicaid plans", "always", "notification"]


def test_show_an_unknown_payer_exits_2_with_a_suggestion(with_fixture_payer: Precert) -> None:
    result = with_fixture_payer("payers", "show", "cli-fixture")

    assert result.code == 2
    assert "no payer 'cli-fixture' is configured. Did you mean cli-fixture-health" in result.err


def test_the_terminal_checklist_groups_services_by_the_payers_term_and_how_to_ask(
    with_fixture_payer: Precert,
) -> None:
    result = with_fixture_payer("payers", "checklist", "cli-fixture-health")

    assert result.code == 0, result
    out = result.out
    assert "CLI Fixture Health (synthetic): prior authorization checklist" in out
    assert "Preauthorization: approval required; the payer reviews medical necessity" in out
    assert (
        "Precertification: approval required; the payer reviews coverage and medical necessity"
        in out
    )
    assert "Notification: tell the payer (notification only, no approval)" in out
    assert (
        "Submit (in order): 1. portal https://portal.cli-fixture.example/auth  "
        "2. fax +1-555-0151" in out
    )
    assert "Turnaround: standard 2 business days" in out
    assert row_of(out, "MRI of the brain") == [
        "MRI of the brain",
        "70551-70553",
        "office or outpatient setting",
    ]
    assert "Office visit" not in out  # not required: not on the wall
    assert "Home sleep study" not in out  # ended 2026-09-30


def test_the_pdf_checklist_is_a_real_pdf_with_the_payer_terms_and_codes(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    pdf = tmp_path / "cli-fixture.pdf"

    result = with_fixture_payer("payers", "checklist", "cli-fixture-health", "--pdf", pdf)

    assert result.code == 0, result
    assert result.out.strip() == (
        f"Wrote the CLI Fixture Health (synthetic) checklist (5 services) to {pdf}."
    )
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape
    text = " ".join(reader.pages[0].extract_text().split())
    for expected in (
        "CLI Fixture Health (synthetic): prior authorization checklist",
        "SYNTHETIC DEMO PACK",
        "Preauthorization: approval required",
        "Precertification: approval required",
        "Notification: tell the payer",
        "70551-70553",
        "J0585-J0588",
        "27447",
        "59400",
        "1. portal https://portal.cli-fixture.example/auth",
        "standard 7 calendar days, expedited 72 hours",
    ):
        assert expected in text, expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli-fixture.pdf"]


def test_the_medicare_checklist_continues_on_more_pages_rather_than_truncating(
    with_fixture_payer: Precert, tmp_path: Path
) -> None:
    pdf = tmp_path / "medicare.pdf"

    result = with_fixture_payer("payers", "checklist", "medicare", "--pdf", pdf)

    assert result.code == 0, result
    reader = pypdf.PdfReader(pdf)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Medicare fee-for-service" in text
    assert "Prior authorization: approval required" in text
    for code in ("15820-15823", "64612, 64615", "J0585-J0588", "63650"):
        assert code in text, code
    assert "SYNTHETIC" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "payer: no payer 'nobody' is configured."),
        (
            ["cli-fixture-health", "--pdf", "missing/dir/c.pdf"],
            "--pdf: the folder 'missing/dir' does not exist",
        ),
    ],
    ids=["unknown-payer", "missing-folder"],
)
def test_checklist_errors_exit_2(
    with_fixture_payer: Precert, args: list[str], message: str
) -> None:
    result = with_fixture_payer("payers", "checklist", *args)

    assert result.code == 2
    assert result.err.startswith(message), result
