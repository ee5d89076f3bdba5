"""The work queue and the request page over real HTTP with signed-in browser sessions: the queue
and its filters, bulk assignment, every action on the request page (Post/Redirect/Get with a
flash, refusals re-rendered next to the field), CSRF refusal, 404 across organizations, viewers
refused with 403, and the audit events for each view of PHI."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.integration.web.live_server import serving, sqlite_settings_in, web_context
from tests.support.web_login import sign_in

from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role
from precert.services.audit import events_about, events_for
from precert.services.context import Context
from precert.web.app import create_app

PASSWORD = "correct horse battery staple"
# The pages use the real clock: service dates sit a month after the real today.
SERVICE_DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()
NOTES = "medical records supporting medical necessity"  # the checklist item for 15823
PDF = b"%PDF-1.7\nsynthetic notes\n%%EOF\n"


def body(last_name: str, *, code: str = "15823") -> dict[str, Any]:
    return {
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "urgency": "standard",
        "patient": {
            "first_name": "Testpatient",
            "last_name": last_name,
            "birth_date": "1980-02-01",
            "member_id": "TEST-0401-Q",
        },
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": code,
                "units": 2,
                "pos": "22",
                "diagnoses": ["H02.831"],
                "from": SERVICE_DAY,
                "to": SERVICE_DAY,
            }
        ],
    }


@dataclass
class Person:
    actor: Actor
    http: httpx.Client
    csrf: str


@dataclass
class Site:
    url: str
    ctx: Context
    specialist: Person
    viewer: Person
    other: Person  # a specialist of another organization


def _person(ctx: Context, url: str, org: str, role: str) -> Person:
    email = f"{role}@{org.lower().replace(' ', '-')}.example.org"
    accounts.create_user(ctx, org=org, email=email, role=role, password=PASSWORD)
    with ctx.uow() as uow:
        from precert.store.accounts import UserRepository

        user = UserRepository(uow.session).by_email(email)
        assert user is not None
        actor = Actor(user.id, user.organization_id, email, Role(role))
    client = httpx.Client(base_url=url, timeout=30)
    csrf = sign_in(client, url, email, PASSWORD)
    return Person(actor, client, csrf)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("queue-pages")).model_copy(
        update={"fax_sender_phone": "+1-555-0199", "fax_sender_number": "+1-555-0198"}
    )
    ctx = web_context(settings)
    accounts.create_organization(ctx, "Queue Clinic")
    accounts.create_organization(ctx, "Other Clinic")
    try:
        with serving(create_app(settings, ctx=ctx)) as url:
            people = [
                _person(ctx, url, "Queue Clinic", "specialist"),
                _person(ctx, url, "Queue Clinic", "viewer"),
                _person(ctx, url, "Other Clinic", "specialist"),
            ]
            yield Site(url, ctx, *people)
            for person in people:
                person.http.close()
    finally:
        ctx.engine.dispose()


def _draft(site: Site, last_name: str, person: Person | None = None) -> str:
    who = person or site.specialist
    return requests.create_request(site.ctx, who.actor, body(last_name)).id


def _post(person: Person, path: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return person.http.post(
        path, data={**data, "csrf_token": person.csrf}, follow_redirects=False, **kwargs
    )


def _follow(person: Person, answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    page = person.http.get(answer.headers["location"])
    assert page.status_code == 200
    return page.text


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- the queue ---------------------------------------------------------------------------------


def test_the_queue_needs_a_signed_in_person(site: Site) -> None:
    with httpx.Client(base_url=site.url) as anonymous:
        answer = anonymous.get("/queue", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/queue"


def test_the_queue_lists_the_organizations_requests_and_links_them(site: Site) -> None:
    mine = _draft(site, "Queuelisted")
    theirs = _draft(site, "Otherorg", site.other)
    page = site.viewer.http.get("/queue")
    assert page.status_code == 200
    assert f'href="/requests/{mine}"' in page.text
    assert "Queuelisted, Testpatient" in page.text
    assert theirs not in page.text and "Otherorg" not in page.text
    assert re.search(r"\d+ requests?", _text(page.text))
    assert 'name="request_ids"' not in page.text  # a viewer gets no bulk assignment
    viewed = [e for e in events_for(site.ctx, site.viewer.actor.organization_id, limit=20)]
    assert any(e.actor == site.viewer.actor.email and e.action == "list" for e in viewed)


def test_a_filter_change_answers_only_the_table_for_htmx(site: Site) -> None:
    _draft(site, "Htmxrow")
    answer = site.specialist.http.get(
        "/queue", params={"status": "draft"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert 'id="assign-form"' in answer.text
    assert "Htmxrow" in answer.text
    none = site.specialist.http.get("/queue", params={"status": "denied"})
    assert "No requests match these filters" in none.text


def test_a_bad_filter_is_shown_on_the_page(site: Site) -> None:
    answer = site.specialist.http.get("/queue", params={"due": "someday"})
    assert answer.status_code == 422
    assert "due: &#39;someday&#39; is not a due window" in answer.text


def test_bulk_assignment_from_the_queue(site: Site) -> None:
    ids = [_draft(site, "Bulkone"), _draft(site, "Bulktwo")]
    answer = _post(
        site.specialist,
        "/queue/assign",
        {"request_ids": ids, "assignee": site.specialist.actor.email, "back": "?status=draft"},
    )
    assert answer.headers["location"] == "/queue?status=draft"
    page = _follow(site.specialist, answer)
    assert f"2 requests assigned to {site.specialist.actor.email}." in page
    for request_id in ids:
        detail = requests.get_request(site.ctx, site.specialist.actor, request_id)
        assert detail.request.assignee == site.specialist.actor.user_id
        assert detail.timeline[-1].kind == "assigned"
    mine = site.specialist.http.get("/queue", params={"assignee": "me"})
    assert "Bulkone" in mine.text and "Bulktwo" in mine.text


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    request_id = _draft(site, "Nocsrf")
    answer = site.specialist.http.post(
        "/queue/assign",
        data={"request_ids": [request_id], "assignee": site.specialist.actor.email},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "security token is missing or out of date" in answer.text
    detail = requests.get_request(site.ctx, site.specialist.actor, request_id)
    assert detail.request.assignee is None


# -- the request page --------------------------------------------------------------------------


def test_the_request_page_shows_the_request_and_audits_the_view(site: Site) -> None:
    request_id = _draft(site, "Pageview")
    page = site.viewer.http.get(f"/requests/{request_id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Pageview, Testpatient" in text
    assert "TEST-0401-Q" in text
    assert "15823" in text and SERVICE_DAY in text
    assert NOTES in text and "(missing)" in text
    assert "created" in text  # the timeline
    assert "Mark ready" not in text and 'action="/requests/' not in page.text
    views = events_about(site.ctx, "authorization_request", request_id)
    assert any(e.actor == site.viewer.actor.email and e.action == "view" for e in views)


def test_another_organizations_request_is_a_404_page(site: Site) -> None:
    theirs = _draft(site, "Hidden", site.other)
    page = site.specialist.http.get(f"/requests/{theirs}", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "Hidden" not in page.text
    assert f"No authorization request {theirs} in your organization" in page.text
    posted = _post(site.specialist, f"/requests/{theirs}/cancel", {"reason": "not ours"})
    assert posted.status_code == 404


def test_a_viewer_who_posts_an_action_gets_403(site: Site) -> None:
    request_id = _draft(site, "Viewerpost")
    answer = _post(
        site.viewer,
        f"/requests/{request_id}/cancel",
        {"reason": "x"},
        headers={"Accept": "text/html"},
    )
    assert answer.status_code == 403
    assert "viewers cannot change requests" in answer.text
    detail = requests.get_request(site.ctx, site.specialist.actor, request_id)
    assert detail.request.status.value == "draft"


def test_upload_then_submit_then_record_an_approval(site: Site) -> None:
    me = site.specialist
    request_id = _draft(site, "Lifecycle")
    uploaded = me.http.post(
        f"/requests/{request_id}/documents",
        data={"kind": NOTES, "csrf_token": me.csrf},
        files={"file": ("notes.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    page = _follow(me, uploaded)
    assert f"Document added to “{NOTES}”. The checklist is complete: the request is ready." in page

    submitted = _post(
        me,
        f"/requests/{request_id}/submit",
        {"how": "manual", "method": "fax", "reference": "FAX-CONF-12"},
    )
    page = _follow(me, submitted)
    assert "Submission by fax recorded" in page
    assert requests.get_request(site.ctx, me.actor, request_id).request.status.value == "submitted"

    decision = {
        "outcome": "approved",
        "authorization_number": "AUTH-PAGE-1",
        "valid_from": SERVICE_DAY,
        "valid_to": SERVICE_DAY,
        "units_0": "2",
        "method": "phone",
        "reference": "CALL-77",
        "rep_name": "Rep Testname",
    }
    decided = _post(me, f"/requests/{request_id}/decision", decision)
    page = _follow(me, decided)
    assert "Decision recorded: the request is now approved." in page
    assert "AUTH-PAGE-1" in page and "Rep Testname" in page
    assert 'data-testid="request-status">Approved<' in page


def test_a_refused_decision_is_shown_next_to_its_field(site: Site) -> None:
    me = site.specialist
    request_id = _draft(site, "Refused")
    requests.mark_ready(site.ctx, me.actor, request_id, override_reason="faxed separately")
    _post(
        me,
        f"/requests/{request_id}/submit",
        {"method": "phone", "reference": "C-1", "rep_name": "R"},
    )
    answer = _post(
        me,
        f"/requests/{request_id}/decision",
        {"outcome": "approved", "method": "phone", "units_0": "2", "rep_name": "Rep A"},
    )
    assert answer.status_code == 422
    assert "The decision has 3 problems; correct and try again." in answer.text
    assert re.search(
        r'data-field="authorization_number">authorization_number: an approval needs the payer',
        answer.text.replace("&#39;", "'"),
    )
    assert 'data-field="reference">reference: a decision by phone needs the call reference.' in (
        answer.text
    )
    assert 'value="Rep A"' in answer.text  # what the person typed is kept


def test_an_impossible_action_answers_409_with_the_domains_reason(site: Site) -> None:
    me = site.specialist
    request_id = _draft(site, "Impossible")
    answer = _post(
        me,
        f"/requests/{request_id}/submit",
        {"how": "manual", "method": "fax", "reference": "FAX-1"},
    )
    assert answer.status_code == 409
    assert "A draft request cannot be submitted until its documents are complete" in answer.text


def test_mark_ready_cancel_appeal_and_assign_from_the_page(site: Site) -> None:
    me = site.specialist
    request_id = _draft(site, "Actions")
    missing = _post(me, f"/requests/{request_id}/ready", {})
    assert missing.status_code == 409
    ready = _post(me, f"/requests/{request_id}/ready", {"override_reason": "notes faxed"})
    assert "Marked ready." in _follow(me, ready)
    assigned = _post(me, f"/requests/{request_id}/assign", {"assignee": me.actor.email})
    assert f"Assigned to {me.actor.email}." in _follow(me, assigned)
    blank = _post(me, f"/requests/{request_id}/cancel", {"reason": " "})
    assert blank.status_code == 422
    assert 'data-field="reason">reason: say why the request is cancelled.' in blank.text
    cancelled = _post(me, f"/requests/{request_id}/cancel", {"reason": "patient moved"})
    assert "Request cancelled." in _follow(me, cancelled)
    again = _post(me, f"/requests/{request_id}/cancel", {"reason": "twice"})
    assert again.status_code == 409
    assert "cancelled is a final status" in again.text

    denied_id = _draft(site, "Appealed")
    requests.mark_ready(site.ctx, me.actor, denied_id, override_reason="notes faxed")
    _post(me, f"/requests/{denied_id}/submit", {"how": "manual", "method": "fax", "reference": "F"})
    denial = {"outcome": "denied", "method": "fax", "reference": "LTR-1", "reason_codes": "N115"}
    assert _post(me, f"/requests/{denied_id}/decision", denial).status_code == 303
    no_grounds = _post(me, f"/requests/{denied_id}/appeal", {"note": ""})
    assert no_grounds.status_code == 422
    appealed = _post(me, f"/requests/{denied_id}/appeal", {"note": "new imaging shows necessity"})
    assert "Appeal recorded" in _follow(me, appealed)
    status = requests.get_request(site.ctx, me.actor, denied_id).request.status.value
    assert status == "appealed"


def test_send_to_payer_goes_through_the_payers_fax_channel(site: Site) -> None:
    from tests.support.requests import web_payer_body

    me = site.specialist
    created = requests.create_request(
        site.ctx, me.actor, web_payer_body(service_day=SERVICE_DAY, last_name="Faxsent")
    )
    requests.mark_ready(site.ctx, me.actor, created.id, override_reason="documents by post")
    sent = _post(me, f"/requests/{created.id}/submit", {"how": "channel"})
    page = _follow(me, sent)
    assert "Sent through the fax channel (reference " in page
    detail = requests.get_request(site.ctx, me.actor, created.id)
    assert detail.request.status.value == "submitted"
    outbox = list((site.ctx.settings.data_dir).rglob("*.pdf"))
    assert outbox, "the fax packet was not written to the outbox"


def test_a_channel_that_is_not_set_up_says_which_setting_to_fix(site: Site) -> None:
    from tests.support.requests import web_payer_body

    me = site.specialist
    created = requests.create_request(
        site.ctx, me.actor, web_payer_body(service_day=SERVICE_DAY, last_name="Nofax")
    )
    requests.mark_ready(site.ctx, me.actor, created.id, override_reason="documents by post")
    site.ctx.settings = site.ctx.settings.model_copy(update={"fax_sender_number": ""})
    try:
        refused = _post(me, f"/requests/{created.id}/submit", {"how": "channel"})
    finally:
        site.ctx.settings = site.ctx.settings.model_copy(
            update={"fax_sender_number": "+1-555-0198"}
        )
    assert refused.status_code == 503
    form = refused.text.split('value="channel">', 1)[1].split("</form>", 1)[0]
    assert "Set PRECERT_FAX_SENDER_NUMBER: a fax packet must tell the payer where to answer" in form
