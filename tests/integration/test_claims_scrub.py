"""`precert claims scrub` on a real 837P (written by tests/support/claims837.py, accepted by
pyx12) against authorizations in the database (imported, and one derived from an approved
request) and one given with --authorizations: every finding kind the issue lists, the exit codes,
--json / --csv / --html, --fix writing an 837 that pyx12 accepts and that differs only by the
inserted REF*G1 segments, and the units ledger remembering an earlier file.

Dates are relative to today, as the CLI's clock is the real one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.claims837 import Claim, Line, build_837
from tests.support.requests import patient
from typer.testing import CliRunner

from precert.channels.x12.tokens import tokenize
from precert.cli.main import app
from precert.config import Settings
from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.authorization_records import import_records, organization_actor
from precert.services.claims_scrub import result_json, result_json_text, scrub
from precert.services.context import Context, build_context

TODAY = dt.date.today()
NPI_A, NPI_B, FACILITY_A, FACILITY_B = "1234567893", "1245319599", "1003000126", "1538144910"
PAYER = "coralbay-medicaid"


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def d8(offset: int) -> str:
    return day(offset).strftime("%Y%m%d")


@dataclass
class Installation:
    root: Path
    ctx: Context
    env: dict[str, str]

    def run(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def site() -> Iterator[Installation]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(database_url=f"sqlite:///{root / 'p.db'}", data_dir=root / "var")
        ctx = build_context(settings)
        accounts.create_organization(ctx, "Scrub Clinic")
        env = {
            "PRECERT_DATABASE_URL": settings.database_url,
            "PRECERT_DATA_DIR": str(settings.data_dir),
            "COLUMNS": "250",
        }
        yield Installation(root, ctx, env)
        ctx.engine.dispose()


IMPORTED = [
    # number, member, codes, units, from, to, rendering, facility, status
    ("AUTH-OK", "MBR-OK", "72148", 4, 10, 90, "", "", "approved"),
    ("AUTH-CODE", "MBR-CODE", "70551", 1, 10, 90, "", "", "approved"),
    ("AUTH-WIN", "MBR-WIN", "72148", 1, 10, 40, "", "", "approved"),
    ("AUTH-UNITS", "MBR-UNITS", "72148", 3, 10, 90, "", "", "approved"),
    ("AUTH-PROV", "MBR-PROV", "72148", 1, 10, 90, NPI_A, "", "approved"),
    ("AUTH-FAC", "MBR-FAC", "72148", 1, 10, 90, "", FACILITY_A, "approved"),
    ("AUTH-MISS", "MBR-MISS", "72148", 1, 10, 90, "", "", "approved"),
    ("AUTH-RIGHT", "MBR-WRONG", "72148", 1, 10, 90, "", "", "approved"),
    ("AUTH-DENY", "MBR-DENY", "72148", 1, 10, 90, "", "", "denied"),
    ("AUTH-PEND", "MBR-PEND", "72148", 1, 10, 90, "", "", "pending"),
    ("AUTH-OLD", "MBR-OLD", "72148", 1, -90, -30, "", "", "approved"),
]


def import_file() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        "authorization_number,payer_id,member_id,codes,units,valid_from,valid_to,"
        "rendering_npi,facility_npi,status".split(",")
    )
    for number, member, codes, units, start, end, rendering, facility, status in IMPORTED:
        window = ("", "") if status in ("denied", "pending") else (day(start), day(end))
        writer.writerow([number, PAYER, member, codes, units, *window, rendering, facility, status])
    return out.getvalue()


def approved_inpatient_request(ctx: Context) -> str:
    """A request for an inpatient MRI (place of service 21), approved: its record is inpatient."""
    email = "s@scrub.example.org"
    accounts.create_user(ctx, org="Scrub Clinic", email=email, role="specialist", password=None)
    actor = accounts.authenticate_token(ctx, accounts.create_token(ctx, email=email))
    body = {
        "payer_id": PAYER,
        "plan": "medicaid-managed-care",
        "state": "FL",
        "urgency": "standard",
        "patient": patient(last_name="Inpatient", member_id="MBR-SET"),
        "ordering_npi": NPI_A,
        "rendering_npi": NPI_A,
        "services": [
            {
                "code": "72148",
                "units": 1,
                "pos": "21",
                "diagnoses": ["M54.50"],
                "from": day(20).isoformat(),
                "to": day(20).isoformat(),
            }
        ],
    }
    created = requests.create_request(ctx, actor, body)
    request_id = created.id
    requests.mark_ready(ctx, actor, request_id, override_reason="records sent")
    from precert.services.submission import ManualSubmission, submit_request

    submit_request(
        ctx,
        actor,
        request_id,
        details=ManualSubmission(method="phone", reference="CALL-1", rep_name="Rep"),
    )
    requests.record_determination(
        ctx,
        actor,
        request_id,
        {
            "outcome": "approved",
            "method": "phone",
            "decision_date": TODAY.isoformat(),
            "authorization_number": "AUTH-INPT",
            "valid_from": day(10).isoformat(),
            "valid_to": day(90).isoformat(),
            "reference": "CALL-2",
            "rep_name": "Rep",
            "lines": [{"code": "72148", "approved_units": 1}],
        },
    )
    return request_id


CLAIMS = [
    Claim("CL-OK", "MBR-OK", [Line("72148", d8(20), 1)], number="AUTH-OK"),
    Claim("CL-NR", "MBR-OK", [Line("99385", d8(20), 1)]),  # preventive: not required
    Claim("CL-NONE", "MBR-NOBODY", [Line("72148", d8(20), 1)]),  # missing authorization
    Claim("CL-CODE", "MBR-CODE", [Line("70553", d8(20), 1)], number="AUTH-CODE"),
    Claim("CL-WIN", "MBR-WIN", [Line("72148", d8(60), 1)], number="AUTH-WIN"),
    Claim(
        "CL-UNITS",
        "MBR-UNITS",
        [Line("72148", d8(20), 2), Line("72148", d8(21), 2)],
        number="AUTH-UNITS",
    ),
    Claim(
        "CL-PROV", "MBR-PROV", [Line("72148", d8(20), 1)], number="AUTH-PROV", rendering_npi=NPI_B
    ),
    Claim(
        "CL-FAC", "MBR-FAC", [Line("72148", d8(20), 1)], number="AUTH-FAC", facility_npi=FACILITY_B
    ),
    Claim("CL-SET", "MBR-SET", [Line("72148", d8(20), 1)], number="AUTH-INPT"),
    Claim("CL-MISS", "MBR-MISS", [Line("72148", d8(20), 1)]),  # the number never copied
    Claim("CL-WRONG", "MBR-WRONG", [Line("72148", d8(20), 1)], number="AUTH-TYPO"),
    Claim("CL-DENY", "MBR-DENY", [Line("72148", d8(20), 1)], number="AUTH-DENY"),
    Claim("CL-PEND", "MBR-PEND", [Line("72148", d8(20), 1)], number="AUTH-PEND"),
    Claim("CL-OLD", "MBR-OLD", [Line("72148", d8(-10), 1)], number="AUTH-OLD"),
]
EXPECTED = {
    "CL-OK": {"ok"},
    "CL-NR": {"not_required"},
    "CL-NONE": {"missing_authorization"},
    "CL-CODE": {"code_not_authorized"},
    "CL-WIN": {"outside_date_window"},
    "CL-PROV": {"provider_mismatch"},
    "CL-FAC": {"facility_mismatch"},
    "CL-SET": {"setting_mismatch"},
    "CL-MISS": {"number_missing_on_claim"},
    "CL-WRONG": {"number_mismatch_on_claim"},
    "CL-DENY": {"authorization_denied"},
    "CL-PEND": {"authorization_pending"},
    "CL-OLD": {"authorization_expired"},
}


@pytest.fixture(scope="module")
def scrubbed(site: Installation) -> dict[str, object]:
    imported = import_records(
        site.ctx, organization_actor(site.ctx, "Scrub Clinic"), import_file(), "csv"
    )
    assert imported.errors == (), imported.errors
    approved_inpatient_request(site.ctx)
    source = site.root / "claims.837"
    source.write_text(build_837(CLAIMS))
    code, out, err = site.run(
        "claims",
        "scrub",
        str(source),
        "--payer",
        PAYER,
        "--json",
        "--csv",
        str(site.root / "findings.csv"),
        "--html",
        str(site.root / "report.html"),
        "--fix",
        str(site.root / "fixed.837"),
    )
    assert code == 1, err  # findings: exit 1
    result: dict[str, object] = json.loads(out)
    return result


def kinds_of(result: dict[str, object]) -> dict[str, list[set[str]]]:
    claims = result["claims"]
    assert isinstance(claims, list)
    return {
        c["claim_id"]: [{f["kind"] for f in line["findings"]} for line in c["lines"]]
        for c in claims
    }


def test_every_finding_kind_comes_from_real_837_input(scrubbed: dict[str, object]) -> None:
    kinds = kinds_of(scrubbed)
    for claim_id, expected in EXPECTED.items():
        (line,) = kinds[claim_id]
        assert expected <= line, (claim_id, line)
        if expected != {"ok"} and expected != {"not_required"}:
            assert "ok" not in line, (claim_id, line)
    first, second = kinds["CL-UNITS"]
    assert first == {"ok"} and "units_exceeded" in second


def test_findings_say_what_is_wrong_and_the_fix(scrubbed: dict[str, object]) -> None:
    claims = {c["claim_id"]: c for c in scrubbed["claims"]}  # type: ignore[union-attr]
    code = claims["CL-CODE"]["lines"][0]["findings"][0]
    assert "70551" in code["message"] and "70553" in code["message"]
    assert code["severity"] == "error" and code["fix"]
    missing = claims["CL-MISS"]["lines"][0]["findings"]
    (number,) = [f for f in missing if f["kind"] == "number_missing_on_claim"]
    assert number["authorization_number"] == "AUTH-MISS"
    wrong = claims["CL-WRONG"]["lines"][0]["findings"][0]
    assert "AUTH-RIGHT" in wrong["message"] + wrong["fix"]
    window = claims["CL-WIN"]["lines"][0]["findings"][0]
    assert "20 day" in window["message"]
    summary = scrubbed["summary"]
    assert summary["claims"] == len(CLAIMS)  # type: ignore[index]
    assert summary["fixable"] == 1  # type: ignore[index]


def test_fix_inserts_only_the_missing_number_and_pyx12_accepts_it(
    scrubbed: dict[str, object], site: Installation
) -> None:
    original = _segments((site.root / "claims.837").read_text())
    fixed = _segments((site.root / "fixed.837").read_text())
    assert len(fixed) == len(original) + 1
    at = fixed.index("REF*G1*AUTH-MISS")
    # The number goes into CL-MISS's claim (after its CLM), and only SE01 changes besides.
    assert fixed[:at] == original[:at] and "CLM*CL-MISS" in fixed[at - 1]
    assert fixed[at + 1 : -3] == original[at:-3]
    (se_before,), (se_after,) = (
        [s for s in original if s.startswith("SE*")],
        [s for s in fixed if s.startswith("SE*")],
    )
    assert int(se_after.split("*")[1]) == int(se_before.split("*")[1]) + 1
    from pyx12 import params, x12n_document

    with (site.root / "fixed.837").open() as source:
        assert x12n_document.x12n_document(params.params(), source, io.StringIO(), None, None)


def test_the_csv_and_html_reports_carry_the_findings(
    scrubbed: dict[str, object], site: Installation
) -> None:
    rows = list(csv.DictReader((site.root / "findings.csv").open()))
    assert {row["kind"] for row in rows} >= set().union(*EXPECTED.values())
    page = (site.root / "report.html").read_text()
    assert "Findings by kind" in page and "<svg" in page
    assert "code not authorized" in page and "CL-CODE" in page


def test_units_billed_by_an_earlier_file_count_against_the_next(site: Installation) -> None:
    later = site.root / "later.837"
    later.write_text(
        build_837(
            [Claim("CL-NEXT", "MBR-OK", [Line("72148", d8(30), 3)], number="AUTH-OK")], control=2
        )
    )
    code, out, _ = site.run("claims", "scrub", str(later), "--payer", PAYER, "--json")
    # AUTH-OK approved 4 units; claims.837 billed 1 of them, so 3 remain: this claim fits.
    assert code == 0, out
    again = site.root / "again.837"
    again.write_text(
        build_837(
            [Claim("CL-MORE", "MBR-OK", [Line("72148", d8(31), 1)], number="AUTH-OK")], control=3
        )
    )
    code, out, _ = site.run("claims", "scrub", str(again), "--payer", PAYER, "--json")
    assert code == 1
    (line,) = json.loads(out)["claims"][0]["lines"]
    assert {f["kind"] for f in line["findings"]} == {"units_exceeded"}


def test_a_clean_file_exits_0_and_usage_errors_exit_2(site: Installation) -> None:
    clean = site.root / "clean.837"
    clean.write_text(build_837([Claim("CL-PREV", "MBR-OK", [Line("99385", d8(5), 1)])], control=4))
    assert site.run("claims", "scrub", str(clean), "--payer", PAYER)[0] == 0
    assert site.run("claims", "scrub", str(clean), "--payer", "no-such-payer")[0] == 2
    assert site.run("claims", "scrub", str(site.root / "missing.837"))[0] == 2


def test_a_broken_claim_is_reported_and_the_others_still_scrubbed(site: Installation) -> None:
    text = build_837(
        [
            Claim("CL-GOOD", "MBR-OK", [Line("99385", d8(5), 1)]),
            Claim("CL-BAD", "MBR-OK", [Line("99385", "2026XX01", 1)]),
        ],
        control=5,
    )
    broken = site.root / "broken.837"
    broken.write_text(text)
    code, out, _ = site.run("claims", "scrub", str(broken), "--payer", PAYER, "--json")
    assert code == 1
    result = json.loads(out)
    assert [c["claim_id"] for c in result["claims"]] == ["CL-GOOD"]
    (error,) = result["errors"]
    assert error["claim_id"] == "CL-BAD" and "DTP" in error["issues"][0]["location"]


def _segments(text: str) -> list[str]:
    return ["*".join((s.tag, *s.elements)) for s in tokenize(text)]


def test_the_json_written_directly_is_the_json_of_the_report(
    scrubbed: dict[str, object], site: Installation
) -> None:
    actor = organization_actor(site.ctx, "Scrub Clinic")
    text = (site.root / "claims.837").read_text()
    report = scrub(site.ctx, actor, text, payer_id=PAYER, remember_usage=False)
    assert json.loads(result_json_text(report)) == result_json(report)
    assert json.loads(result_json_text(report))["claims"] == scrubbed["claims"]
