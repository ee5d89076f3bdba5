"""The intake form at /requests/new over real HTTP: a signed-in specialist creates a draft, a
double submit creates nothing new, problems land next to their fields with the typed values kept,
and nothing is saved without a session, a CSRF token or the right role."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from tests.conftest import TODAY
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import form_csrf, sign_in

from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.context import Context
from precert.web.app import create_app

PASSWORD = "correct horse battery staple 42"
SERVICE_DAY = (TODAY + dt.timedelta(days=20)).isoformat()
ORG = "Intake Form Clinic"
SPECIALIST = "specialist@intake-form.example.org"
VIEWER = "viewer@intake-form.example.org"


@dataclass(frozen=True)
class Site:
    url: str
    ctx: Context
    admin: accounts.Actor


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("intake"))
    ctx = web_context(settings)
    accounts.create_organization(ctx, ORG)
    for email, role in ((SPECIALIST, "specialist"), (VIEWER, "viewer")):
        accounts.create_user(ctx, org=ORG, email=email, role=role, password=PASSWORD)
    accounts.create_user(
        ctx, org=ORG, email="admin@intake-form.example.org", role="admin", password=None
    )
    admin = accounts.authenticate_token(
        ctx, accounts.create_token(ctx, email="admin@intake-form.example.org")
    )
    with serving(create_app(settings, ctx=ctx)) as url:
        yield Site(url, ctx, admin)
    ctx.engine.dispose()


@pytest.fixture
def specialist(site: Site) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        sign_in(client, site.url, SPECIALIST, PASSWORD)
        page = client.get("/requests/new")
        assert page.status_code == 200
        yield client, page.text


def filled(page: str, **changes: str) -> dict[str, str]:
    """The form as a person would fill it for one synthetic patient and one service."""
    key = page.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    data = {
        "csrf_token": form_csrf(page),
        "form_key": key,
        "patient.first_name": "Formpatient",
        "patient.last_name": "Intake",
        "patient.birth_date": "1961-04-12",
        "patient.member_id": "FORM-0001-Z",
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "urgency": "standard",
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services[0].code": "15823",
        "services[0].units": "1",
        "services[0].pos": "22",
        "services[0].diagnoses": "H02.831",
        "services[0].from": SERVICE_DAY,
        "services[0].to": SERVICE_DAY,
    }
    data.update(changes)
    return data


def count(site: Site) -> int:
    return len(requests.list_requests(site.ctx, site.admin))


def test_without_a_session_the_form_sends_the_person_to_sign_in(site: Site) -> None:
    answer = httpx.get(f"{site.url}/requests/new", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/requests/new"


def test_a_filled_form_creates_a_draft_with_its_requirement_and_opens_it(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    before = count(site)
    answer = client.post("/requests/new", data=filled(page), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    request_id = answer.headers["location"].rsplit("/", 1)[1]
    assert count(site) == before + 1
    detail = requests.get_request(site.ctx, site.admin, request_id)
    assert detail.request.status.value == "draft"
    assert detail.request.patient.last_name == "Intake"
    assert [line.code for line in detail.request.lines] == ["15823"]
    assert detail.request.requirement, "the requirement answer is captured at creation"
    # The patient's name is never put in the address the browser is sent to.
    assert "Intake" not in answer.headers["location"]


def test_submitting_the_same_form_twice_creates_one_request(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    data = filled(page, **{"patient.member_id": "FORM-0002-Z"})
    before = count(site)
    first = client.post("/requests/new", data=data, follow_redirects=False)
    second = client.post("/requests/new", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(site) == before + 1


def test_a_bad_code_in_the_third_row_is_shown_there_and_nothing_is_saved(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    data = filled(
        page,
        **{
            "services[2].code": "NOT-A-CODE",
            "services[2].units": "1",
            "services[2].from": SERVICE_DAY,
            "ordering_npi": "1234567890",  # fails the NPI check digit
        },
    )
    before = count(site)
    answer = client.post("/requests/new", data=data)
    assert answer.status_code == 422
    body = html.unescape(answer.text)
    assert 'id="services[2].code-error"' in body
    assert 'id="ordering_npi-error"' in body
    assert 'id="services[0].code-error"' not in body
    # What the person typed is kept, so nothing has to be typed again.
    assert 'value="NOT-A-CODE"' in body
    assert 'value="Formpatient"' in body
    assert count(site) == before


def test_a_form_without_any_service_asks_for_a_code(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    data = filled(page, **{"services[0].code": ""})
    answer = client.post("/requests/new", data=data)
    assert answer.status_code == 422
    assert 'id="services[0].code-error"' in answer.text


def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    data = filled(page, **{"patient.member_id": "FORM-0003-Z"})
    del data["csrf_token"]
    before = count(site)
    answer = client.post("/requests/new", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert count(site) == before


def test_a_viewer_cannot_create_a_request(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        sign_in(client, site.url, VIEWER, PASSWORD)
        page = client.get("/requests/new").text
        before = count(site)
        answer = client.post(
            "/requests/new",
            data=filled(page, **{"patient.member_id": "FORM-0004-Z"}),
            follow_redirects=False,
        )
    assert answer.status_code == 403
    assert count(site) == before


def test_an_emergency_already_given_is_saved_as_a_retro_authorization(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, page = specialist
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    data = filled(
        page,
        retro="1",
        urgency="expedited",
        **{
            "patient.member_id": "FORM-0005-Z",
            "services[0].from": yesterday,
            "services[0].to": yesterday,
        },
    )
    answer = client.post("/requests/new", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    request_id = answer.headers["location"].rsplit("/", 1)[1]
    saved = requests.get_request(site.ctx, site.admin, request_id).request
    assert saved.retro is True
    assert saved.urgency.value == "expedited"


def test_the_queue_offers_the_form_to_specialists_and_not_to_viewers(
    site: Site, specialist: tuple[httpx.Client, str]
) -> None:
    client, _ = specialist
    assert 'class="wq-new" href="/requests/new"' in client.get("/queue").text
    with httpx.Client(base_url=site.url, timeout=30) as viewer:
        sign_in(viewer, site.url, VIEWER, PASSWORD)
        assert 'class="wq-new"' not in viewer.get("/queue").text
