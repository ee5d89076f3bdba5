"""Recovery work over real HTTP on SQLite and PostgreSQL: an 835 uploaded through the API and
through the Denials page, the items listed and closed (viewers only read), the letter PDF's text,
the page's deadline colours and the dashboard's denial charts.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from pypdf import PdfReader
from tests.conftest import TODAY
from tests.integration.test_recovery import approved, emergency_file, medicare_file
from tests.integration.web.live_server import serving
from tests.support.web_login import sign_in

from precert.services import accounts
from precert.services.context import Context
from precert.store.accounts import UserRepository
from precert.web.app import create_app

PASSWORD = "correct horse battery staple"
SPECIALIST = "rc@clinic.example"
VIEWER = "view@clinic.example"


def _actor(ctx: Context, email: str) -> accounts.Actor:
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(email)
        assert user is not None
        return accounts.actor_for(user)


@pytest.fixture
def site(any_ctx: Context) -> Iterator[tuple[str, Context]]:
    accounts.create_organization(any_ctx, "Recovery Clinic")
    for email, role in ((SPECIALIST, "specialist"), (VIEWER, "viewer")):
        accounts.create_user(
            any_ctx, org="Recovery Clinic", email=email, role=role, password=PASSWORD
        )
    with serving(create_app(any_ctx.settings, ctx=any_ctx)) as url:
        yield url, any_ctx


def _bearer(ctx: Context, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(ctx, email=email)}"}


def test_the_api_imports_lists_closes_and_draws_the_letter(site: tuple[str, Context]) -> None:
    url, ctx = site
    approved(ctx, _actor(ctx, SPECIALIST), "SYNMEM0003", "AUTH-3")
    auth, viewer = _bearer(ctx, SPECIALIST), _bearer(ctx, VIEWER)
    with httpx.Client(base_url=url, timeout=30) as client:
        files = {"file": ("medicare.835", medicare_file().encode(), "application/edi-x12")}
        created = client.post("/api/v1/remits", files=files, headers=auth)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["file"]["payer_id"] == "medicare" and body["errors"] == []
        assert body["remittances"][0]["summary"]["authorization_related"] == 5
        again = client.post("/api/v1/remits", files=files, headers=auth)
        assert again.status_code == 200 and again.json()["already_imported"] is True
        refused = client.post("/api/v1/remits", files=files, headers=viewer)
        assert refused.status_code == 403
        assert "viewers cannot import remittances" in refused.json()["message"]

        listed = client.get("/api/v1/recovery", params={"status": "open"}, headers=viewer)
        assert listed.status_code == 200
        items = {item["claim_id"]: item for item in listed.json()["items"]}
        assert len(items) == 5
        appeal = items["SYN-DENIED-3"]
        assert (appeal["action"], appeal["deadline"]) == ("appeal", "2027-04-29")

        done = client.post(
            f"/api/v1/recovery/{appeal['id']}",
            json={"status": "done", "note": "overturned"},
            headers=auth,
        )
        assert done.status_code == 200 and done.json()["status"] == "done"
        assert (
            client.post(
                f"/api/v1/recovery/{appeal['id']}", json={"status": "open"}, headers=viewer
            ).status_code
            == 403
        )
        bad = client.post(f"/api/v1/recovery/{appeal['id']}", json={"status": "won"}, headers=auth)
        assert bad.status_code == 422 and "'won' is not one of open" in bad.text
        still_open = client.get("/api/v1/recovery", headers=auth).json()["items"]
        assert len(still_open) == 4
        missing = client.get("/api/v1/recovery/no-such-item/appeal-letter.pdf", headers=auth)
        assert missing.status_code == 404

        letter = client.get(appeal["letter"], headers=auth)
    assert letter.status_code == 200
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.headers["cache-control"] == "no-store"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.content)).pages)
    text = " ".join(text.split())
    assert "SYN-DENIED-3" in text and "AUTH-3" in text and "valid 2026-12-01 to 2027-02-28" in text


def test_the_denials_page_uploads_colours_deadlines_and_the_dashboard_charts_them(
    site: tuple[str, Context],
) -> None:
    url, ctx = site
    with httpx.Client(base_url=url, timeout=30) as client:
        csrf = sign_in(client, url, SPECIALIST, PASSWORD)
        uploaded = client.post(
            "/denials/upload",
            data={"csrf_token": csrf},
            files={"file": ("acme.835", emergency_file().encode(), "text/plain")},
        )
        assert uploaded.status_code == 303
        page = client.get("/denials")
        assert "Imported the 835: 7 claim(s), 6 denied, 5 for authorization reasons" in page.text
        client.post(
            "/api/v1/remits",
            files={"file": ("m.835", medicare_file().encode(), "text/plain")},
            headers=_bearer(ctx, SPECIALIST),
        )
        ctx.today = lambda: dt.date(2027, 4, 25)  # the Medicare deadlines (04-29) are 4 days out
        try:
            page = client.get("/denials")
            rows = re.findall(r'data-action="(\w+)" data-urgency="(\w+)"', page.text)
            assert ("retro_authorization", "overdue") in rows  # Acme's window closed 2026-12-04
            assert ("review", "soon") in rows
            assert rows[0] == ("retro_authorization", "overdue")  # soonest deadline first
            assert "rc-overdue" in page.text and "rc-soon" in page.text
            item_id = re.search(r'data-item="([^"]+)" data-action="retro', page.text)
            assert item_id is not None
            closed = client.post(
                f"/denials/{item_id.group(1)}",
                data={"csrf_token": csrf, "status": "done", "note": "granted"},
            )
            assert closed.status_code == 303
            after = client.get("/denials")
            assert "marked done" in after.text
            letter = client.get(f"/denials/{item_id.group(1)}/letter.pdf")
            assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
            dashboard = client.get("/dashboard")
        finally:
            ctx.today = lambda: TODAY
    html = dashboard.text
    assert dashboard.status_code == 200
    assert re.search(r'data-figure="denial-rate"><span class="dash-number">86%', html)
    assert re.search(r'data-figure="authorization-share"><span class="dash-number">83%', html)
    assert "<title>Recovered (done): $1,500.00</title>" in html
    assert "<title>Denied: authorization: 10 (71%)</title>" in html
    assert "<title>No authorization: 4 · $" in html
    assert "<title>Medicare" in html and "<title>Acme Health (synthetic demo): 5 · $" in html
    assert "SYNMEM" not in html and "Testpatient" not in html
