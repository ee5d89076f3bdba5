"""The portal channel through services.submission on SQLite against mock portal (a), the modern
wizard, in one shared Chromium: an approval lands on the request; a pended request is later found
decided by the status SOP; and crashes injected around the submit (before the about-to-click
record, after it before the click, after the click before the confirmation is read, or anywhere)
followed by a retry never leave the portal with a second submission nor lose a request.

A crash is a BaseException raised from the Context's clock (every step of the run, the service and
the before-the-click record read it), so nothing in precert can catch it: like a killed process,
no failure is recorded. The mock portal counts every POST of its submit button.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from playwright.sync_api import Browser
from tests.integration.web.live_server import WEB_PACK, serving
from tests.support.requests import NOW, WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body

from precert.channels.base import (
    AnswerKind,
    Destination,
    Receipt,
    Submission,
    SubmittedDocument,
)
from precert.channels.portal import channel as portal
from precert.channels.portal.runner import BrowserSettings
from precert.channels.registry import channel_named
from precert.domain.authorizations import Status
from precert.errors import PrecertError
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.services import authorization_requests as requests
from precert.services import documents
from precert.services.accounts import Actor, Role, create_organization
from precert.services.catalog import import_pack
from precert.services.context import Context
from precert.services.credentials import add_credential
from precert.services.payer_exchanges import land, submission_for
from precert.services.portal_access import portal_access
from precert.services.submission import CLICKING, submit_request
from precert.store.exchanges import ExchangeRepository

# The suite runs 8; bench/portal_faults.py sets PORTAL_FAULT_RUNS=50 and reports the ends.
FAULT_RUNS = int(os.environ.get("PORTAL_FAULT_RUNS", "8"))
SUBMIT_PATH = "/wizard/submit"
POINTS = ("before_record", "after_record", "after_click", "anywhere")


class Crash(BaseException):
    """A killed process: not an Exception, so no except clause in precert records it."""


@dataclass
class MockPortal:
    url: str
    state_dir: Path
    submit_posts: list[str] = field(default_factory=list)

    def stored(self) -> dict[str, str]:
        """your reference -> the portal's reference number, for every stored request."""
        with sqlite3.connect(self.state_dir / "modern-portal.db") as db:
            rows = db.execute("SELECT your_reference, reference_number FROM requests").fetchall()
        return {str(mine): str(theirs) for mine, theirs in rows}


@pytest.fixture(scope="module")
def mock_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockPortal]:
    state_dir = tmp_path_factory.mktemp("modern-portal")
    # The portal runs on the wall clock: it checks authenticator codes against its own real time.
    app = create_modern_portal(state_dir)
    found = MockPortal("", state_dir)
    counting(app, found.submit_posts)
    with serving(app) as url:
        found.url = url
        yield found


def counting(app: FastAPI, posts: list[str]) -> None:
    """Remember every POST of the portal's submit button (a refused duplicate too)."""

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], object]) -> Response:
        if request.method == "POST" and request.url.path == SUBMIT_PATH:
            posts.append(request.cookies.get("session", ""))
        response: Response = await call_next(request)  # type: ignore[misc]
        return response


@pytest.fixture(scope="module")
def chromium(browser: Browser) -> Iterator[None]:
    """The process's Chromium (tests/conftest.py), shared by every portal run of the module."""
    portal.use_browser(BrowserSettings(browser=browser, locate_timeout_seconds=5.0))
    try:
        yield
    finally:
        portal.use_browser(None)


@dataclass
class Setup:
    ctx: Context
    actor: Actor
    portal: MockPortal


@pytest.fixture
def setup(ctx: Context, mock_portal: MockPortal, chromium: None) -> Setup:
    ctx.settings = ctx.settings.model_copy(
        update={"portals": {"web-test-payer": f"modern-wizard@{mock_portal.url}"}}
    )
    ctx.now = lambda: NOW
    import_pack(ctx, WEB_PACK)
    org = create_organization(ctx, "Clinic Portal")
    add_credential(
        ctx, org, "portal_login", username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    return Setup(ctx, Actor("user-portal", org, "pat@clinic-portal.example.org", Role.SPECIALIST),
                 mock_portal)  # fmt: skip


def ready_request(setup: Setup, member_id: str) -> str:
    # The portal refuses a date of service in its (wall clock) past.
    service_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    body = web_payer_body(last_name="Portalcanary", member_id=member_id, service_day=service_day)
    request_id = requests.create_request(setup.ctx, setup.actor, body).id
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        upload = documents.upload_document(
            setup.ctx, setup.actor, request_id, kind=kind, filename=f"notes {n}.pdf",
            data=pdf_document(f"synthetic document {n}"),
        )  # fmt: skip
    assert upload.request.status is Status.READY
    return request_id


# -- the happy paths -------------------------------------------------------------------------------


def test_an_approval_on_the_portal_lands_on_the_request(setup: Setup) -> None:
    request_id = ready_request(setup, "SIM-OK-1")
    posts = len(setup.portal.submit_posts)

    result = submit_request(setup.ctx, setup.actor, request_id)

    assert result.receipt.channel == "portal"
    assert result.request.status is Status.APPROVED
    reference = setup.portal.stored()[request_id]  # our reference is the request id
    assert result.receipt.reference == reference
    assert len(setup.portal.submit_posts) == posts + 1
    kinds = [e.kind for e in requests.get_request(setup.ctx, setup.actor, request_id).timeline]
    assert kinds.index("submission_started") < kinds.index(CLICKING) < kinds.index("submit")
    assert "Portalcanary" not in repr(result.receipt)


def test_a_pended_request_is_found_decided_by_the_status_sop(setup: Setup) -> None:
    # SIM-DENY: the confirmation says pended; the status pages say denied (no decision delay).
    request_id = ready_request(setup, "SIM-DENY-1")
    result = submit_request(setup.ctx, setup.actor, request_id)
    assert result.receipt.answer is not None
    assert result.receipt.answer.kind is AnswerKind.PENDED
    assert result.request.status is not Status.DENIED

    # What the scheduled inquiry does, with the vault's access handed to the portal run.
    ctx, org = setup.ctx, setup.actor.organization_id
    with ctx.uow() as uow:
        exchange = ExchangeRepository(uow.session).awaiting(org, request_id)
        request = requests.request_repository(ctx, uow).get(org, request_id)
    assert exchange is not None
    channel = channel_named("portal", ctx.settings, clock=ctx.now)
    with portal_access(ctx, org) as access:
        submission = replace(submission_for(ctx, request, exchange), access=access)
        answer = channel.check(submission, Receipt.from_dict(exchange.receipt))
    assert answer is not None and answer.kind is AnswerKind.DECIDED
    assert answer.reference == result.receipt.reference
    landed = land(ctx, org, request_id, answer, source="portal inquiry", at=NOW,
                  exchange_key=exchange.key)  # fmt: skip
    assert landed.status is Status.DENIED, landed.needs_attention


def test_the_same_request_again_is_answered_from_the_portal_without_a_second_click(
    setup: Setup,
) -> None:
    request_id = ready_request(setup, "SIM-OK-2")
    first = submit_request(setup.ctx, setup.actor, request_id).receipt
    posts = len(setup.portal.submit_posts)
    with setup.ctx.uow() as uow:
        org = setup.actor.organization_id
        exchange = ExchangeRepository(uow.session).awaiting(org, request_id)
        request = requests.request_repository(setup.ctx, uow).get(org, request_id)
    assert exchange is None  # the approval settled it
    channel = channel_named("portal", setup.ctx.settings, clock=setup.ctx.now)
    notes = SubmittedDocument("Clinical notes", "application/pdf", pdf_document("synthetic"))
    base = Submission(request, (notes,), f"{request_id}-9", Destination("portal"))
    with portal_access(setup.ctx, org) as access:
        again = channel.submit(replace(base, access=access))
    # The review page said "A request already exists": the status SOP answered instead.
    assert again.reference == first.reference
    assert again.details["outcome"] == "duplicate"
    assert again.answer is not None and again.answer.kind is AnswerKind.DECIDED
    assert len(setup.portal.submit_posts) == posts


def test_a_hand_over_asks_a_person_to_take_over_with_the_screenshot(setup: Setup) -> None:
    # A site's own SOP (the data directory's portal-sops win over the shipped ones) that hands
    # over on the review page.
    shipped = portal.SHIPPED_SOPS / "modern-wizard-submit.md"
    text = re.sub(
        r'(\d+)\. Check "I confirm the information is accurate"',
        r'\1. Hand over to a person "A person reviews this one"',
        shipped.read_text(encoding="utf-8"),
    )
    own = setup.ctx.settings.data_dir / "portal-sops" / "modern-wizard-submit.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(text, encoding="utf-8")
    request_id = ready_request(setup, "SIM-OK-3")
    posts = len(setup.portal.submit_posts)

    with pytest.raises(portal.PortalHandOver) as handed:
        submit_request(setup.ctx, setup.actor, request_id)

    assert handed.value.screenshot and Path(handed.value.screenshot).is_file()
    assert len(setup.portal.submit_posts) == posts
    detail = requests.get_request(setup.ctx, setup.actor, request_id)
    assert detail.request.status is Status.READY
    assert "a person must take over" in (detail.request.needs_attention or "")
    failed = [e for e in detail.timeline if e.kind == "submission_failed"][-1]
    assert failed.data["person_must_take_over"] is True
    assert failed.data["screenshot"] == handed.value.screenshot
    assert "may_have_submitted" not in failed.data  # it stopped before the click


# -- crashes around the submit ---------------------------------------------------------------------


class FaultClock:
    """NOW, stepping a millisecond per call, that raises Crash once at the chosen point."""

    def __init__(self, point: str, anywhere_at: int = 0) -> None:
        self.point, self.anywhere_at = point, anywhere_at
        self.calls, self.armed, self.fired = 0, point != "none", False
        self.after_about = False

    def __call__(self) -> dt.datetime:
        self.calls += 1
        caller = sys._getframe(1).f_code.co_name
        if self.armed and self._now(caller):
            self.armed, self.fired = False, True
            raise Crash(f"killed at {self.point} (call {self.calls})")
        if caller == "about_to_click":
            self.after_about = True
        return NOW + dt.timedelta(milliseconds=self.calls)

    def _now(self, caller: str) -> bool:
        if self.point == "before_record":  # the record's own time: read before it is written
            return caller == "before_irreversible"
        if self.point == "after_record":  # the click's time, read after the record committed
            return caller == "about_to_click"
        if self.point == "after_click":  # the submit step's record, right after the click
            return self.after_about
        return self.calls == self.anywhere_at


def calls_in_a_clean_submit(setup: Setup) -> int:
    clock = FaultClock("none")
    setup.ctx.now = clock
    try:
        submit_request(setup.ctx, setup.actor, ready_request(setup, "SIM-OK-CLEAN"))
    finally:
        setup.ctx.now = lambda: NOW
    return clock.calls


def fault_run(setup: Setup, rng: random.Random, point: str, total_calls: int) -> str:
    """Crash one submit at `point`, submit again, and check the invariant; returns the end."""
    member = rng.choice(["SIM-OK-", "SIM-PEND-", "SIM-DENY-"]) + str(rng.randrange(10**6))
    request_id = ready_request(setup, member)
    posts = len(setup.portal.submit_posts)
    clock = FaultClock(point, rng.randint(1, total_calls))
    setup.ctx.now = clock
    try:
        submit_request(setup.ctx, setup.actor, request_id)
    except Crash:
        pass
    except PrecertError:
        pass  # a recorded failure: the retry below must still settle it
    finally:
        setup.ctx.now = lambda: NOW
    assert clock.fired or point == "anywhere", f"{point}: the crash never happened"
    retried = submit_attempts(setup, request_id)
    stored = setup.portal.stored()
    detail = requests.get_request(setup.ctx, setup.actor, request_id)
    request = detail.request
    new_posts = len(setup.portal.submit_posts) - posts
    assert new_posts <= 1, f"{point}: the portal saw {new_posts} submit clicks"
    if request.status is Status.READY:  # only acceptable when a person was asked to decide
        assert request.needs_attention, f"{point}: a request neither submitted nor flagged"
        return f"{point}: flagged after {retried} retries"
    assert request_id in stored, f"{point}: submitted here but not on the portal"
    assert new_posts == 1
    submitted = [e for e in detail.timeline if e.kind == "submit"]
    assert len(submitted) == 1
    assert submitted[0].data["receipt"]["reference"] == stored[request_id]
    settled = "settled_by" in submitted[0].data["receipt"]["details"]
    return f"{point}: " + ("found by the status check" if settled else "submitted")


def submit_attempts(setup: Setup, request_id: str, tries: int = 3) -> int:
    """Submit again until it is recorded (a retryable failure is tried again, as a person would)."""
    for n in range(1, tries + 1):
        try:
            submit_request(setup.ctx, setup.actor, request_id)
            return n
        except PrecertError as failure:
            if "not be submitted" in failure.message or not failure.retryable:
                return n
    return tries


def fault_runs(setup: Setup, runs: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    total = calls_in_a_clean_submit(setup)
    ends = [fault_run(setup, rng, POINTS[i % len(POINTS)], total) for i in range(runs)]
    # the invariant over the whole portal: one stored request per click, never a second
    assert len(setup.portal.submit_posts) == len(setup.portal.stored())
    return ends


def test_crashes_around_the_submit_never_duplicate_nor_lose_a_request(setup: Setup) -> None:
    ends = fault_runs(setup, FAULT_RUNS, seed=int(os.environ.get("PORTAL_FAULT_SEED", "6")))
    print("".join(f"\nFAULT-RUN {end}" for end in ends))  # read by bench/portal_faults.py
    # A click that reached the portal is found by the status check, never clicked again; a
    # click recorded but never made is found missing by the check and submitted once.
    for end in ends:
        if end.startswith(("after_click", "after_record", "before_record")):
            settled = end.endswith("found by the status check")
            assert settled is end.startswith("after_click"), end
    # every point was exercised and each crash fired
    assert {end.split(":")[0] for end in ends} == set(POINTS)
