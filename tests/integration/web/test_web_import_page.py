"""The schedule-import page over real HTTP: what the import did (drafts with links, counts, due
soon, bad rows by row and column), importing twice, roles, the size limit and unusable files."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import sign_in

from precert.services import accounts
from precert.services.audit import events_for
from precert.services.context import Context
from precert.web.app import create_app
from precert.web.ui.imports import MAX_UPLOAD_BYTES

PASSWORD = "correct horse battery staple"
MIXED = Path(__file__).resolve().parents[2] / "fixtures" / "schedule" / "schedule-mixed.csv"
# The fixture's dates are around tests.conftest.TODAY (2026-11-23): its first row is due soon.
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
HTML = {"Accept": "text/html"}
# Values of the fixture's invalid rows: they must never come back on the page.
PHI = ("Canaryname", "02/01/1980", "TEST-0005-E", "Testpatient")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Context]]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("web-import"))
    ctx = web_context(settings)
    ctx.now = lambda: NOW
    accounts.create_organization(ctx, "Import Clinic")
    for email, role in (
        ("spec@import.example", "specialist"),
        ("bill@import.example", "biller"),
        ("view@import.example", "viewer"),
    ):
        accounts.create_user(ctx, org="Import Clinic", email=email, role=role, password=PASSWORD)
    with serving(create_app(settings, ctx=ctx)) as url:
        yield url, ctx
    ctx.engine.dispose()


@contextmanager
def _signed_in(url: str, email: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client, sign_in(client, url, email, PASSWORD)


def _upload(client: httpx.Client, csrf: str, content: bytes, name: str = "x.csv") -> httpx.Response:
    return client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"file": (name, content, "text/csv")},
        headers=HTML,
    )


def _count(html: str, name: str) -> int:
    found = re.search(rf'data-count="{name}"[^>]*><strong>(\d+)</strong>', html)
    assert found is not None, f"no {name} count on the page"
    return int(found.group(1))


def test_an_import_shows_what_it_did_and_importing_again_creates_nothing(
    site: tuple[str, Context],
) -> None:
    url, ctx = site
    with _signed_in(url, "spec@import.example") as (client, csrf):
        assert client.get("/import").status_code == 200
        first = _upload(client, csrf, MIXED.read_bytes())
        assert first.status_code == 200
        html = first.text
        assert (_count(html, "rows"), _count(html, "created"), _count(html, "already")) == (6, 2, 0)
        assert (_count(html, "not-required"), _count(html, "unknown")) == (1, 1)
        assert _count(html, "invalid") == 2
        created = re.findall(r'<ol class="created-list" id="created">(.*?)</ol>', html, re.S)
        links = re.findall(r'href="/requests/([0-9a-f-]{36})"', created[0])
        assert len(links) == 2
        due = html[
            html.index('id="due-soon"') : html.index("</table>", html.index('id="due-soon"'))
        ]
        assert "<td>2</td><td>2026-11-27</td><td>medicare</td><td>15823</td>" in due
        assert re.search(
            r'href="/requests/' + links[0] + '"|href="/requests/' + links[1] + '"', due
        )
        errors = html[html.index('id="row-errors"') :]
        assert "<td>6</td><td><code>birth_date</code></td>" in errors
        assert "<td>8</td><td><code>member_id</code></td>" in errors
        assert "row 6: birth_date: expected a date written YYYY-MM-DD." in errors
        assert not [value for value in PHI if value in html]

        again = _upload(client, csrf, MIXED.read_bytes())
        assert (_count(again.text, "created"), _count(again.text, "already")) == (0, 2)
    org = events_for(ctx, _org(ctx))
    assert any(
        e.reason and e.reason.startswith("schedule import: 6 rows read, 2 created") for e in org
    )


def test_billers_and_viewers_cannot_import(site: tuple[str, Context]) -> None:
    url, _ = site
    for email in ("bill@import.example", "view@import.example"):
        with _signed_in(url, email) as (client, csrf):
            page = client.get("/import", headers=HTML)
            assert page.status_code == 403
            assert "cannot import schedules; ask an admin or specialist" in page.text
            assert _upload(client, csrf, MIXED.read_bytes()).status_code == 403


def test_a_file_over_the_limit_is_refused_with_what_to_do(site: tuple[str, Context]) -> None:
    url, _ = site
    with _signed_in(url, "spec@import.example") as (client, csrf):
        declared = _upload(client, csrf, b"x" * (MAX_UPLOAD_BYTES + 64 * 1024))
        assert declared.status_code == 413
        assert "larger than 5 MB" in declared.text and "Split the schedule" in declared.text
        # Just over the limit: the declared length passes the first check, the copy stops it.
        counted = _upload(client, csrf, b"x" * (MAX_UPLOAD_BYTES + 1))
        assert counted.status_code == 413
        assert "larger than 5 MB" in counted.text


def test_an_unusable_file_says_what_to_fix_and_saves_nothing(site: tuple[str, Context]) -> None:
    url, _ = site
    with _signed_in(url, "spec@import.example") as (client, csrf):
        wrong = _upload(client, csrf, b"name,date\nSomeone,2026-11-30\n")
        assert wrong.status_code == 422
        assert "patient_first_name" in wrong.text  # the missing columns are named
        assert 'id="import-result"' not in wrong.text
        empty = _upload(client, csrf, b"")
        assert empty.status_code == 422
        assert "The file you chose is empty" in empty.text
        none = client.post(
            "/import",
            data={"csrf_token": csrf},
            files={"file": ("", b"", "application/octet-stream")},
            headers=HTML,
        )
        assert none.status_code == 422
        assert "Choose the CSV file" in none.text


def _org(ctx: Context) -> str:
    from precert.store.accounts import UserRepository

    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email("spec@import.example")
        assert user is not None
        return user.organization_id
