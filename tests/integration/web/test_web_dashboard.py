"""The dashboard's figures on requests seeded through the services, on SQLite and PostgreSQL, read
back from the page over real HTTP: counts by status, overdue and at-risk work, median turnaround
by payer, decision rates, and the staff minutes saved by month and by payer.

The seeded history (the clock is fixed at NOW; today is tests.conftest.TODAY):

| request | payer      | what happened                                   | days | saves        |
| r1      | medicare   | draft, service in 3 days                        |      | at risk      |
| r2      | medicare   | submitted by fax packet Nov 2, approved Nov 4   | 2    | 16 (portal)  |
| r3      | medicare   | submitted by phone (person) Nov 10, denied Nov 14 | 4  | 0            |
| r4      | medicare   | submitted by x12 Oct 20, partially approved Oct 21 | 1 | 16           |
| r5      | northwind  | submitted by fhir-pas Nov 1, approved Nov 7     | 6    | 24 (fhir-pas)|
| r6      | northwind  | submitted, no channel recorded, Nov 5; pended   |      | 0, overdue   |
| r7      | medicare   | cancelled, service tomorrow                     |      | not at risk  |
| r8      | medicare   | draft, service in 10 days                       |      |              |
Another organization's approved request must change nothing.

Claim findings: Dash Clinic keeps two scrubs at NOW (tests/integration/test_claims_scrub.py's
837 for coralbay-medicaid with its authorizations imported, and test_web_claims.py's Medicare
837 with no authorization) and one 91 days earlier; Elsewhere Clinic keeps one. Only the two
recent Dash Clinic scrubs count.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import TODAY
from tests.integration.test_claims_scrub import CLAIMS, import_file
from tests.integration.web.live_server import WEB_PACK, serving
from tests.integration.web.test_web_claims import derived_837
from tests.support.claims837 import build_837
from tests.support.web_login import sign_in

from precert.domain.authorizations import Event
from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.authorization_records import import_records, organization_actor
from precert.services.catalog import import_pack
from precert.services.claims_scrub import keep, scrub
from precert.services.context import Context
from precert.services.dashboard import (
    CLAIM_FINDINGS_DAYS,
    MANUAL_MINUTES,
    PORTAL_MINUTES,
    dashboard,
    payer_minutes,
)
from precert.store.accounts import UserRepository
from precert.web.app import create_app

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def _at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=dt.UTC)


def _body(payer: str, member: str, days_ahead: int) -> dict[str, Any]:
    day = (TODAY + dt.timedelta(days=days_ahead)).isoformat()
    if payer == "medicare":
        coverage: dict[str, Any] = {"payer_id": "medicare", "plan": "medicare-ffs", "state": "TX"}
        line = {"code": "15823", "pos": "22", "diagnoses": ["H02.831"]}
    else:
        coverage = {"payer_id": "northwind-health", "plan": "commercial", "state": "MA"}
        line = {"code": "95806", "pos": "12", "diagnoses": ["G47.33"]}
    return {
        **coverage,
        "urgency": "standard",
        "patient": {
            "first_name": "Testpatient",
            "last_name": "Dashboard",
            "birth_date": "1970-03-04",
            "member_id": member,
        },
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [{**line, "units": 1, "from": day, "to": day}],
    }


def _decision(outcome: str, code: str, day: dt.datetime, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"code": code, "approved_units": 1}
    if outcome == "denied":
        line = {"code": code, "status": "denied"}
        extra.setdefault("reason_codes", ["N-TEST"])
    return {
        "outcome": outcome,
        "method": "phone",
        "decision_date": day.date().isoformat(),
        "reference": "CALL-1",
        "rep_name": "Rep Testname",
        "lines": [line],
        **extra,
    }


class Seeder:
    def __init__(self, ctx: Context, actor: accounts.Actor) -> None:
        self.ctx = ctx
        self.actor = actor
        self.count = 0

    def draft(self, payer: str, days_ahead: int = 20) -> str:
        self.count += 1
        member = f"TEST-{self.count:04d}-D"
        body = _body(payer, member, days_ahead)
        return requests.create_request(self.ctx, self.actor, body, now=_at(10, 1)).id

    def submitted(self, payer: str, at: dt.datetime, data: dict[str, Any] | None) -> str:
        request_id = self.draft(payer)
        requests.mark_ready(self.ctx, self.actor, request_id, override_reason="seed", now=at)
        requests.apply_event(self.ctx, self.actor, request_id, Event.SUBMIT, data=data, now=at)
        return request_id

    def decide(self, request_id: str, payload: dict[str, Any], at: dt.datetime) -> None:
        requests.record_determination(self.ctx, self.actor, request_id, payload, now=at)


def seed(ctx: Context) -> None:
    accounts.create_organization(ctx, "Dash Clinic")
    accounts.create_organization(ctx, "Elsewhere Clinic")
    accounts.create_user(
        ctx, org="Dash Clinic", email="dash@dash.example", role="specialist", password=PASSWORD
    )
    accounts.create_user(  # any role sees the dashboard: it holds no PHI
        ctx, org="Dash Clinic", email="bill@dash.example", role="biller", password=PASSWORD
    )
    accounts.create_user(
        ctx, org="Elsewhere Clinic", email="else@else.example", role="admin", password=PASSWORD
    )
    seeder = Seeder(ctx, _actor(ctx, "dash@dash.example"))
    valid = {"valid_from": TODAY.isoformat(), "valid_to": (TODAY + dt.timedelta(60)).isoformat()}
    seeder.draft("medicare", days_ahead=3)  # r1
    r2 = seeder.submitted("medicare", _at(11, 2), {"channel": "fax", "receipt": {}})
    seeder.decide(
        r2,
        _decision("approved", "15823", _at(11, 4), authorization_number="A-2", **valid),
        _at(11, 4),
    )
    r3 = seeder.submitted("medicare", _at(11, 10), {"channel": "manual", "method": "phone"})
    seeder.decide(r3, _decision("denied", "15823", _at(11, 14)), _at(11, 14))
    r4 = seeder.submitted("medicare", _at(10, 20), {"channel": "x12"})
    partial = _decision("partially_approved", "15823", _at(10, 21), authorization_number="A-4")
    partial["lines"] = [{"code": "15823", "approved_units": 1, "status": "modified"}]
    seeder.decide(r4, {**partial, **valid}, _at(10, 21))
    r5 = seeder.submitted("northwind", _at(11, 1), {"channel": "fhir-pas"})
    seeder.decide(
        r5,
        _decision("approved", "95806", _at(11, 7), authorization_number="A-5", **valid),
        _at(11, 7),
    )
    r6 = seeder.submitted("northwind", _at(11, 5), None)
    requests.apply_event(ctx, seeder.actor, r6, Event.PAYER_PENDED, now=_at(11, 6))
    r7 = seeder.draft("medicare", days_ahead=1)
    requests.cancel_request(ctx, seeder.actor, r7, now=_at(11, 20))
    seeder.draft("medicare", days_ahead=10)  # r8
    elsewhere = Seeder(ctx, _actor(ctx, "else@else.example"))
    e1 = elsewhere.submitted("medicare", _at(11, 2), {"channel": "fax"})
    elsewhere.decide(
        e1,
        _decision("approved", "15823", _at(11, 3), authorization_number="E-1", **valid),
        _at(11, 3),
    )


def _actor(ctx: Context, email: str) -> accounts.Actor:
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(email)
        assert user is not None
        return accounts.actor_for(user)


@pytest.fixture
def site(any_ctx: Context) -> Iterator[tuple[str, Context]]:
    any_ctx.now = lambda: NOW
    import_pack(any_ctx, WEB_PACK)
    seed(any_ctx)
    with serving(create_app(any_ctx.settings, ctx=any_ctx)) as url:
        yield url, any_ctx


def test_the_payers_channels_set_the_minutes_each(any_ctx: Context) -> None:
    book = any_ctx.rulebook()
    assert payer_minutes(book, "medicare") == PORTAL_MINUTES  # its first channel is the portal
    assert payer_minutes(book, "northwind-health") == MANUAL_MINUTES  # FHIR PAS first
    assert payer_minutes(book, "no-such-payer") == MANUAL_MINUTES


def test_dashboard_figures_on_both_databases(site: tuple[str, Context]) -> None:
    _, ctx = site
    figures = dashboard(ctx, _actor(ctx, "dash@dash.example"))
    counts = dict(figures.by_status)
    assert figures.total == 8
    assert counts["draft"] == 2
    assert counts["approved"] == 2
    assert counts["partially_approved"] == 1
    assert counts["denied"] == 1
    assert counts["pended"] == 1
    assert counts["cancelled"] == 1
    assert figures.at_risk == 1  # r1 only: r7 is cancelled, r8 is 10 days out
    turnaround = {row.payer_id: (row.decided, row.median_days) for row in figures.turnaround}
    assert turnaround == {"medicare": (3, 2.0), "northwind-health": (1, 6.0)}
    assert (figures.rates.approved, figures.rates.partially_approved, figures.rates.denied) == (
        2,
        1,
        1,
    )
    savings = {
        row.payer_id: (row.automated, row.recorded, row.minutes) for row in figures.savings_by_payer
    }
    assert savings == {"medicare": (2, 1, 32), "northwind-health": (1, 1, 24)}
    assert [(m.month, m.automated, m.minutes) for m in figures.savings_by_month] == [
        ("2026-10", 1, 16),
        ("2026-11", 2, 40),
    ]
    assert figures.minutes_saved == 56
    assert figures.overdue >= 1  # r6: its decision was due long before NOW
    assert figures.overdue == _overdue_by_hand(ctx)


def test_the_page_shows_the_figures_as_charts(site: tuple[str, Context]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=30) as client:
        sign_in(client, url, "bill@dash.example", PASSWORD)
        page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert _figure(html, "total") == 8
    assert _figure(html, "at-risk") == 1
    assert _figure(html, "minutes-saved") == 56
    assert "<svg" in html and "<script" not in html.split("</head>")[1]
    assert re.search(r"<title>Approved: 2</title>", html)
    assert re.search(r"<title>Approved: 2 \(50%\)</title>", html)
    assert re.search(r"<title>Partially approved: 1 \(25%\)</title>", html)
    assert "<title>Medicare" in html and ": 2 days</title>" in html
    assert "<title>2026-11: 40 min</title>" in html
    assert "<title>2026-10: 16 min</title>" in html
    assert f"{PORTAL_MINUTES} minutes when the payer" in html  # the formula is on the page
    northwind = "<td>Northwind Health (synthetic demo)</td>" + "".join(
        f"<td>{n}</td>"
        for n in (1, 1, 24, 24)  # by precert, by a person, minutes each, saved
    )
    assert f'data-payer="northwind-health">{northwind}' in html
    assert "Testpatient" not in html and "TEST-0001-D" not in html


def test_each_view_is_audited(site: tuple[str, Context]) -> None:
    from precert.services.audit import events_for

    _, ctx = site
    actor = _actor(ctx, "dash@dash.example")
    dashboard(ctx, actor)
    views = [e for e in events_for(ctx, actor.organization_id) if e.entity == "dashboard"]
    assert views and views[0].actor == "dash@dash.example" and views[0].action == "view"


def _keep_scrub(ctx: Context, email: str, text: str, payer: str, at: dt.datetime) -> None:
    ctx.now = lambda: at
    try:
        actor = _actor(ctx, email)
        keep(ctx, actor, "batch.837", "0" * 64, scrub(ctx, actor, text, payer_id=payer))
    finally:
        ctx.now = lambda: NOW


def test_claim_findings_of_the_last_90_days_by_kind_and_by_payer(
    site: tuple[str, Context],
) -> None:
    url, ctx = site
    imported = import_records(ctx, organization_actor(ctx, "Dash Clinic"), import_file(), "csv")
    assert imported.errors == ()
    every_kind, medicare = build_837(CLAIMS), derived_837("TEST-DASH-1")
    _keep_scrub(ctx, "dash@dash.example", every_kind, "coralbay-medicaid", NOW)
    _keep_scrub(ctx, "bill@dash.example", medicare, "medicare", NOW)
    too_old = NOW - dt.timedelta(days=CLAIM_FINDINGS_DAYS + 1)
    _keep_scrub(ctx, "dash@dash.example", every_kind, "coralbay-medicaid", too_old)
    _keep_scrub(ctx, "else@else.example", every_kind, "coralbay-medicaid", NOW)

    found = dashboard(ctx, _actor(ctx, "dash@dash.example")).claim_findings
    # 15 lines in the coralbay file (CL-UNITS has 2) + 4 in the Medicare file; clean: CL-OK,
    # CL-NR, CL-UNITS' first line, and the Medicare file's 3 lines that need no authorization.
    assert (found.scrubs, found.lines, found.lines_with_findings) == (2, 19, 13)
    by_kind = {row.kind: row.count for row in found.by_kind}
    assert "ok" not in by_kind and "not_required" not in by_kind
    assert by_kind["missing_authorization"] == 2  # CL-NONE (and CL-SET, no AUTH-INPT here)
    for kind in ("code_not_authorized", "outside_date_window", "units_exceeded"):
        assert by_kind[kind] == 1, kind
    by_payer = {row.payer_id: {k.kind: k.count for k in row.kinds} for row in found.by_payer}
    assert set(by_payer) == {"coralbay-medicaid", "medicare"}
    assert by_payer["medicare"] == {"missing_authorization": 1}
    assert by_payer["coralbay-medicaid"]["units_exceeded"] == 1
    assert sum(by_payer["coralbay-medicaid"].values()) == sum(by_kind.values()) - 1
    assert found.by_payer[0].payer_id == "coralbay-medicaid"  # most findings first

    with httpx.Client(base_url=url, timeout=30) as client:
        sign_in(client, url, "bill@dash.example", PASSWORD)
        html = client.get("/dashboard").text
    assert _figure(html, "claim-lines") == 19
    assert 'data-figure="claim-lines-with-findings">13<' in html
    assert "Claim findings by kind" in html and "Claim findings by payer" in html
    assert "<title>Units exceeded: 1</title>" in html
    assert "<title>Missing authorization: 2</title>" in html
    medicare_bar = html[html.index('data-payer="medicare"') :]
    assert "<title>Missing authorization: 1 (100%)</title>" in medicare_bar
    assert "MBR-" not in html and "TEST-DASH-1" not in html and "CL-NONE" not in html


def _overdue_by_hand(ctx: Context) -> int:
    from sqlalchemy import select

    from precert.store.requests import AuthorizationRequestRecord as R

    org = _actor(ctx, "dash@dash.example").organization_id
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(R.status, R.needs_attention, R.next_action_at).where(R.organization_id == org)
        ).all()
    closed = {"cancelled", "expired", "not_required"}
    return sum(
        1
        for status, attention, due in rows
        if status not in closed and (attention or (due is not None and due < NOW))
    )


def _figure(html: str, name: str) -> int:
    start = html.index(f'data-figure="{name}"')
    number = html.index('class="dash-number">', start) + len('class="dash-number">')
    return int(html[number : html.index("<", number)])
