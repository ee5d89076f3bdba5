"""The claim scrub over real HTTP: POST /api/v1/claims/scrub on an 837 derived from a public
sample whose member has a request approved through the API, the fix (REF*G1 added, the corrected
file then scrubs ok), the kept scrubs listed and opened, the Claims pages with the request link
and the corrected 837's download, roles, bad files and tenant isolation.

The 837 is lfh-x12-5010-samples' demo.example1.837 (837P) with synthetic people: the member id,
names and billing NPI replaced, the payer id changed to one the Medicare pack lists, the first
line's code changed to the request's 15823 and every date moved to the request's service day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import SHARED
from tests.integration.test_claims_scrub import (
    CLAIMS,
    EXPECTED,
    approved_inpatient_request,
    import_file,
)
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.integration.web.test_web_api_requests import SteppingClock, auth
from tests.support.claims837 import build_837
from tests.support.requests import SERVICE_DAY, approval_body, request_body
from tests.support.web_login import sign_in

from precert.services import accounts
from precert.services.audit import events_for
from precert.services.authorization_records import import_records, organization_actor
from precert.services.claims_scrub import scrubs_page
from precert.services.context import Context
from precert.web.app import create_app

SAMPLE = SHARED / "corpora" / "lfh-x12-5010-samples" / "837_005010X222A2" / "demo.example1.837"
PASSWORD = "correct horse battery staple"
MEMBER = "TEST-SCRUB-7"
HTML = {"Accept": "text/html"}


def derived_837(member_id: str = MEMBER) -> str:
    """The sample with synthetic people, our payer, the request's code and service day."""
    if not SAMPLE.is_file():
        pytest.skip(f"the X12 sample corpus is not at {SAMPLE}")
    day = SERVICE_DAY.replace("-", "")
    replaced = (
        SAMPLE.read_text()
        .replace(
            "NM1*IL*1*SMITH*JANE****MI*JS00111223333",
            f"NM1*IL*1*ALPHA*TESTPATIENT****MI*{member_id}",
        )
        .replace("NM1*QC*1*SMITH*TED", "NM1*QC*1*ALPHA*TESTCHILD")
        .replace("DMG*D8*19730501*M", "DMG*D8*19800201*M")
        .replace("PI*999996666", "PI*01111")  # a Medicare contractor id the pack lists
        .replace("XX*1912301953", "XX*1234567893")  # the request's rendering NPI
        .replace("11:B:1", "22:B:1")  # outpatient hospital, as the request asked
        .replace("HI*BK:0340*BF:V7389", "HI*ABK:H02831*ABF:Z0000")
        .replace("SV1*HC:99213", "SV1*HC:15823")
        .replace("20061003", day)
        .replace("20061010", day)
    )
    assert member_id in replaced and "SMITH" not in replaced and "HC:15823" in replaced
    return replaced


@dataclass(frozen=True)
class Team:
    admin: str
    biller: str
    viewer: str
    biller_email: str
    viewer_email: str


@dataclass(frozen=True)
class Site:
    url: str
    http: httpx.Client
    ctx: Context
    north: Team
    south: Team
    request_id: str


def make_team(ctx: Context, name: str) -> Team:
    accounts.create_organization(ctx, name)
    slug = name.lower().replace(" ", "-")
    tokens = {}
    for role in ("admin", "biller", "viewer"):
        email = f"{role}@{slug}.example.org"
        accounts.create_user(ctx, org=name, email=email, role=role, password=PASSWORD)
        tokens[role] = accounts.create_token(ctx, email=email)
    return Team(
        tokens["admin"],
        tokens["biller"],
        tokens["viewer"],
        f"biller@{slug}.example.org",
        f"viewer@{slug}.example.org",
    )


def approved_request(
    http: httpx.Client,
    token: str,
    member_id: str = MEMBER,
    units: int = 2,
    number: str = "AUTH-778",
) -> str:
    """A request for `member_id` created, submitted (recorded fax) and approved as `number` for
    `units` units of 15823."""
    body = request_body(member_id=member_id)
    body["services"][0]["units"] = units
    created = http.post("/api/v1/requests", json=body, headers=auth(token))
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("ready", {"override_reason": "notes faxed separately"}),
        ("submit", {"method": "fax", "reference": "FAX-1"}),
        (
            "determination",
            approval_body(
                valid_from=SERVICE_DAY,
                valid_to=SERVICE_DAY,
                authorization_number=number,
                lines=[{"code": "15823", "approved_units": units}],
            ),
        ),
    ]
    for step, payload in steps:
        answer = http.post(
            f"/api/v1/requests/{request_id}/{step}", json=payload, headers=auth(token)
        )
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    return request_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("claims-web"))
    ctx = web_context(settings)
    ctx.now = SteppingClock()
    north, south = make_team(ctx, "North Claims"), make_team(ctx, "South Claims")
    app = create_app(settings, ctx=ctx)
    try:
        with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
            request_id = approved_request(client, north.admin)
            yield Site(url, client, ctx, north, south, request_id)
    finally:
        ctx.engine.dispose()


def scrub(
    site: Site, token: str, content: str | bytes, *, name: str = "batch-01.837", **form: str
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return site.http.post(
        "/api/v1/claims/scrub",
        files={"file": (name, data, "application/edi-x12")},
        data=form,
        headers=auth(token),
    )


def first_line(result: dict[str, Any]) -> dict[str, Any]:
    claim = result["claims"][0]
    line: dict[str, Any] = next(ln for ln in claim["lines"] if ln["code"] == "15823")
    return line


def kinds(line: dict[str, Any]) -> list[str]:
    return [finding["kind"] for finding in line["findings"]]


# -- the API ---------------------------------------------------------------------------------


def test_a_scrub_finds_the_missing_number_and_the_fix_adds_ref_g1(site: Site) -> None:
    answer = scrub(site, site.north.biller, derived_837(), fix="true")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/api/v1/claims/scrubs/{body['id']}"
    line = first_line(body)
    assert kinds(line) == ["number_missing_on_claim"]
    finding = line["findings"][0]
    assert finding["authorization_number"] == "AUTH-778"
    assert finding["request_id"] == site.request_id
    assert body["summary"]["claims"] == 1 and body["summary"]["lines"] == 4
    assert body["fixes"] == [
        {"claim_id": "26463774", "line": 1, "authorization_number": "AUTH-778"}
    ]
    corrected = body["corrected_837"]
    assert "REF*G1*AUTH-778~" in corrected and "REF*G1" not in derived_837()

    again = scrub(site, site.north.biller, corrected, name="batch-01-corrected.837")
    assert again.status_code == 201, again.text
    assert kinds(first_line(again.json())) == ["ok"]
    assert "corrected_837" not in again.json()  # not asked for


def test_rescrubbing_the_corrected_file_does_not_count_the_line_twice(site: Site) -> None:
    member = "TEST-SCRUB-8"
    approved_request(site.http, site.north.admin, member_id=member, units=1, number="AUTH-ONE")
    first = scrub(site, site.north.biller, derived_837(member), fix="true")
    assert kinds(first_line(first.json())) == ["number_missing_on_claim"]
    again = scrub(site, site.north.biller, first.json()["corrected_837"])
    assert kinds(first_line(again.json())) == ["ok"]


def test_the_scrub_is_kept_listed_and_opened_by_its_id(site: Site) -> None:
    made = scrub(site, site.north.biller, derived_837(), name="listed.837", fix="true").json()
    listed = site.http.get("/api/v1/claims/scrubs", headers=auth(site.north.viewer))
    assert listed.status_code == 200
    row = next(s for s in listed.json()["scrubs"] if s["id"] == made["id"])
    assert row["filename"] == "listed.837"
    assert row["actor"] == site.north.biller_email
    assert row["has_corrected_837"] is True
    assert row["counts"]["claims"] == 1 and row["counts"]["lines"] == 4
    assert row["counts"]["errors"] == made["summary"]["severities"]["error"] >= 1
    assert row["counts"]["fixable"] == 1 and row["counts"]["unreadable"] == 0
    assert "result" not in row and MEMBER not in listed.text

    opened = site.http.get(f"/api/v1/claims/scrubs/{made['id']}", headers=auth(site.north.viewer))
    assert opened.status_code == 200
    detail = opened.json()
    assert detail["result"]["claims"] == made["claims"]
    assert detail["result"]["claims"][0]["member_id"] == MEMBER
    assert detail["corrected_837"] == made["corrected_837"]
    audited = events_for(site.ctx, accounts_org(site, "North Claims"))
    assert any(e.entity == "claim_scrub" and e.action == "view" for e in audited)


def accounts_org(site: Site, name: str) -> str:
    with site.ctx.uow() as uow:
        found = uow.session.execute(
            text("SELECT id FROM organizations WHERE name = :name"), {"name": name}
        ).scalar_one()
    return str(found)


def test_a_file_with_no_readable_claim_is_422_with_located_issues(site: Site) -> None:
    broken = derived_837().replace("CLM*26463774*100.00", "CLM**100.00")
    answer = scrub(site, site.north.biller, broken)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "InvalidInput"
    assert body["message"].startswith("file: no claim in this 837 could be read")
    assert body["issues"] and all(issue["location"] for issue in body["issues"])
    assert MEMBER not in answer.text

    garbage = scrub(site, site.north.biller, "this is not an 837")
    assert garbage.status_code == 422
    assert garbage.json()["issues"][0]["location"]
    empty = scrub(site, site.north.biller, b"")
    assert empty.status_code == 422
    assert empty.json()["issues"][0]["location"] == "file"


def test_an_unknown_payer_is_422_naming_it(site: Site) -> None:
    answer = scrub(site, site.north.biller, derived_837(), payer="no-such-payer")
    assert answer.status_code == 422
    assert "'no-such-payer' is not a payer" in answer.json()["message"]
    assert answer.json()["issues"][0]["location"] == "payer"


def test_a_viewer_may_read_scrubs_but_not_scrub(site: Site) -> None:
    answer = scrub(site, site.north.viewer, derived_837())
    assert answer.status_code == 403
    assert answer.json()["message"] == (
        "viewers cannot scrub claims; ask an admin, specialist or biller"
    )
    assert (
        site.http.get("/api/v1/claims/scrubs", headers=auth(site.north.viewer)).status_code == 200
    )


def test_another_organizations_scrub_is_404_and_never_listed(site: Site) -> None:
    made = scrub(site, site.north.biller, derived_837(), name="north-only.837").json()
    theirs = site.http.get(f"/api/v1/claims/scrubs/{made['id']}", headers=auth(site.south.admin))
    assert theirs.status_code == 404
    assert MEMBER not in theirs.text
    listed = site.http.get("/api/v1/claims/scrubs", headers=auth(site.south.admin)).json()
    assert made["id"] not in [s["id"] for s in listed["scrubs"]]
    # South has no authorization for this member: the same file is missing_authorization there.
    south = scrub(site, site.south.biller, derived_837(), name="south.837")
    assert south.status_code == 201
    assert kinds(first_line(south.json())) == ["missing_authorization"]


def test_every_finding_kind_of_a_real_837_comes_back_on_its_claim(site: Site) -> None:
    """tests/integration/test_claims_scrub.py's 837 and authorizations, scrubbed through the API
    for an organization of this site ("Scrub Clinic", the name its helpers use)."""
    clinic = make_team(site.ctx, "Scrub Clinic")
    clinic_actor = organization_actor(site.ctx, "Scrub Clinic")
    imported = import_records(site.ctx, clinic_actor, import_file(), "csv")
    assert imported.errors == (), imported.errors
    approved_inpatient_request(site.ctx)  # AUTH-INPT, inpatient: CL-SET bills it outpatient

    answer = scrub(
        site,
        clinic.biller,
        build_837(CLAIMS),
        name="every-kind.837",
        payer="coralbay-medicaid",
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    found = {
        claim["claim_id"]: [{f["kind"] for f in line["findings"]} for line in claim["lines"]]
        for claim in body["claims"]
    }
    for claim_id, expected in EXPECTED.items():
        (line,) = found[claim_id]
        assert expected <= line, (claim_id, line)
        if expected not in ({"ok"}, {"not_required"}):
            assert "ok" not in line, (claim_id, line)
    first, second = found["CL-UNITS"]  # AUTH-UNITS allows 3: 2 fit, the next 2 do not
    assert first == {"ok"} and "units_exceeded" in second
    assert {c["payer_id"] for c in body["claims"]} == {"coralbay-medicaid"}

    # The kept scrub's summary counts the same kinds, by payer, and names no member or claim.
    (kept,) = [s for s in scrubs_page(site.ctx, clinic_actor) if s.id == body["id"]]
    problems = set().union(*EXPECTED.values(), {"units_exceeded"}) - {"ok", "not_required"}
    assert set(kept.findings.by_payer) == {"coralbay-medicaid"}
    assert set(kept.findings.by_payer["coralbay-medicaid"]) >= problems
    assert kept.findings.by_kind == body["summary"]["findings"]
    stored = str(kept.findings.as_dict())
    assert "MBR-" not in stored and "CL-" not in stored and "AUTH-" not in stored


# -- the pages -------------------------------------------------------------------------------


def test_the_claims_pages_scrub_list_and_link_the_request(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        csrf = sign_in(browser, site.url, site.north.biller_email, PASSWORD)
        page = browser.get("/claims")
        assert page.status_code == 200 and 'id="scrub-form"' in page.text
        posted = browser.post(
            "/claims",
            data={"csrf_token": csrf, "payer": "", "fix": "true"},
            files={"file": ("page-upload.837", derived_837().encode(), "application/edi-x12")},
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        where = posted.headers["location"]
        scrub_id = where.rsplit("/", 1)[-1]
        shown = browser.get(where)
        assert shown.status_code == 200
        html = shown.text
        assert "Claim scrub: page-upload.837" in html
        assert f'href="/requests/{site.request_id}"' in html
        assert 'data-kind="number_missing_on_claim"' in html
        assert "Add REF*G1*AUTH-778 to the claim before billing." in html
        assert 'data-chart="chart-findings"' in html
        assert 'data-label="Number missing on claim" data-value="1.0"' in html
        assert f'href="/claims/{scrub_id}/corrected.837"' in html

        download = browser.get(f"/claims/{scrub_id}/corrected.837")
        assert download.status_code == 200
        assert "REF*G1*AUTH-778~" in download.text
        assert "page-upload" not in download.headers["content-disposition"]

        listing = browser.get("/claims").text
        row = re.search(rf'<tr data-scrub="{scrub_id}">(.*?)</tr>', listing, re.S)
        assert row is not None
        assert "page-upload.837" in row.group(1)
        assert re.search(r'data-count="lines">4<', row.group(1))
        assert re.search(r'data-count="fixable">1<', row.group(1))


def test_the_page_refuses_a_bad_file_with_its_problems_and_a_viewer_cannot_scrub(
    site: Site,
) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        csrf = sign_in(browser, site.url, site.north.biller_email, PASSWORD)
        bad = browser.post(
            "/claims",
            data={"csrf_token": csrf},
            files={"file": ("bad.837", b"ISA*nonsense~", "application/edi-x12")},
            headers=HTML,
        )
        assert bad.status_code == 422
        assert 'id="scrub-error"' in bad.text
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        csrf = sign_in(browser, site.url, site.north.viewer_email, PASSWORD)
        page = browser.get("/claims")
        assert page.status_code == 200
        assert 'id="scrub-not-allowed"' in page.text and 'id="scrub-form"' not in page.text
        refused = browser.post(
            "/claims",
            data={"csrf_token": csrf},
            files={"file": ("x.837", derived_837().encode(), "application/edi-x12")},
            headers=HTML,
        )
        assert refused.status_code == 403


def test_another_organizations_scrub_page_is_404(site: Site) -> None:
    made = scrub(site, site.north.biller, derived_837(), name="north-page.837", fix="true").json()
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        sign_in(browser, site.url, site.south.biller_email, PASSWORD)
        assert browser.get(f"/claims/{made['id']}", headers=HTML).status_code == 404
        download = browser.get(f"/claims/{made['id']}/corrected.837", headers=HTML)
        assert download.status_code == 404
        assert "REF*G1" not in download.text
        assert "north-page.837" not in browser.get("/claims").text
