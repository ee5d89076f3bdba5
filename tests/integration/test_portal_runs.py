"""Portal runs (services/portal_runs.py) on SQLite and PostgreSQL, and end to end against mock
portal (a) in the process's Chromium.

The row keeps a run: claimed once however many consumers race for it; steps committed as they
happen; screenshots and traces encrypted on disk and decrypted only through `artifact` (audited);
a question waits on the row while the request is flagged, until a person's answer (whose typed
text never stays stored) or the hand-over window ends it. A credential another run holds puts the
run back in the queue untouched.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import text
from tests.integration.web.live_server import WEB_PACK, serving
from tests.support.requests import NOW, WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body

from precert.channels.portal import channel as portal
from precert.channels.portal.record import Answer, Question, StepRecord
from precert.channels.portal.runner import BrowserSettings
from precert.domain.authorizations import Status
from precert.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, create_modern_portal
from precert.services import authorization_requests as requests
from precert.services import credentials, documents, portal_run_observer, portal_runs
from precert.services.accounts import Actor, Role, create_organization, create_user
from precert.services.audit import events_about
from precert.services.catalog import import_pack
from precert.services.context import Context
from precert.services.portal_run_observer import RunObserverImpl, run_repository
from precert.services.portal_runs import PortalRun

CREDENTIAL = "portal_login"
# Enough for a thread to reach its wait on any machine; a test that needs it fails, never hangs.
PATIENCE_SECONDS = 30.0
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class World:
    def __init__(self, ctx: Context, actor: Actor) -> None:
        self.ctx, self.actor = ctx, actor
        self.dispatched: list[str] = []


def make_world(ctx: Context, portal_url: str, org_name: str = "Clinic Runs") -> World:
    ctx.settings = ctx.settings.model_copy(
        update={"portals": {"web-test-payer": f"modern-wizard@{portal_url}"}}
    )
    ctx.now = lambda: NOW
    import_pack(ctx, WEB_PACK)
    org = create_organization(ctx, org_name)
    email = f"pat@{org_name.lower().replace(' ', '-')}.example.org"
    user_id = create_user(ctx, org=org_name, email=email, role="specialist", password=None)
    credentials.add_credential(
        ctx, org, CREDENTIAL, username="demo", password="demo-password",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip
    world = World(ctx, Actor(user_id, org, email, Role.SPECIALIST))
    ctx.dispatch_portal_run = world.dispatched.append
    return world


@pytest.fixture
def world(any_ctx: Context) -> World:
    # No portal answers here: these tests never start a browser.
    return make_world(any_ctx, "http://127.0.0.1:9")


def ready_request(world: World, member_id: str, *, service_day: str | None = None) -> str:
    body = web_payer_body(last_name="Runcanary", member_id=member_id)
    if service_day is not None:
        body = web_payer_body(last_name="Runcanary", member_id=member_id, service_day=service_day)
    request_id = requests.create_request(world.ctx, world.actor, body).id
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        upload = documents.upload_document(
            world.ctx, world.actor, request_id, kind=kind, filename=f"notes {n}.pdf",
            data=pdf_document(f"synthetic document {n}"),
        )  # fmt: skip
    assert upload.request.status is Status.READY
    return request_id


def raw_run(ctx: Context, run_id: str) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM portal_runs WHERE id = :id"), {"id": run_id})
        return dict(row.mappings().one())


def observer_for(world: World, run: PortalRun) -> RunObserverImpl:
    return RunObserverImpl(
        world.ctx,
        run_id=run.id,
        organization_id=run.organization_id,
        request_id=run.request_id,
        holder=f"run-{run.id}",
        credentials=(CREDENTIAL,),
    )


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait for another thread to get somewhere (a condition, never a duration under test)."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.02)


def timeline_kinds(world: World, request_id: str) -> list[str]:
    return [e.kind for e in requests.get_request(world.ctx, world.actor, request_id).timeline]


def attention(world: World, request_id: str) -> str:
    return requests.get_request(world.ctx, world.actor, request_id).request.needs_attention or ""


# -- the row ---------------------------------------------------------------------------------------


def test_a_run_is_kept_and_read_back_with_its_secrets_encrypted(world: World) -> None:
    request_id = ready_request(world, "RUN-KEEP-1")
    run = portal_runs.start_submit(world.ctx, world.actor, request_id)
    world.ctx.now = lambda: NOW + dt.timedelta(minutes=1)
    status_run = portal_runs.start_status(world.ctx, world.actor.organization_id, request_id)
    world.ctx.now = lambda: NOW
    assert status_run is not None

    found = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert (found.purpose, found.status, found.sop, found.attempts) == ("submit", "queued", "", 0)
    assert found.actor_email == world.actor.email and found.active
    assert found.created_at == NOW and found.not_before == NOW and found.started_at is None
    assert (found.steps, found.screenshots, found.question, found.answer) == ([], [], None, None)
    assert status_run.actor_email == "system"
    newest_first = portal_runs.runs_for_request(world.ctx, world.actor, request_id)
    assert [r.id for r in newest_first] == [status_run.id, run.id]
    assert portal_runs.start_status(world.ctx, world.actor.organization_id, request_id) is None
    assert world.dispatched == [run.id, status_run.id]

    # The two encrypted columns: a person's typed text and the values read off the portal.
    with world.ctx.uow() as uow:
        repo = run_repository(world.ctx, uow)
        repo.change(run.id, status="waiting_for_person")
        answer = {"action": "answer", "by": world.actor.email, "at": NOW.isoformat()}
        assert repo.answer_if_waiting(run.id, answer, "XK42P", world.actor.organization_id)
        assert not repo.answer_if_waiting(run.id, answer, "AGAIN", world.actor.organization_id)
        sealed = repo.sealed_values(world.actor.organization_id, run.id, {"reference": "R-1"})
        repo.change(run.id, values=sealed)
        uow.commit()
    row = raw_run(world.ctx, run.id)
    assert "XK42P" not in str(row) and "R-1" not in str(row)
    with world.ctx.uow() as uow:
        repo = run_repository(world.ctx, uow)
        record = repo.get(world.actor.organization_id, run.id)
        assert record is not None
        assert repo.answer_text(record) == "XK42P"
        assert repo.values(record) == {"reference": "R-1"}

    stranger = other_organization(world)
    with pytest.raises(NotFound):
        portal_runs.get_run(world.ctx, stranger, run.id)
    assert portal_runs.runs_for_request(world.ctx, stranger, request_id) == []


def other_organization(world: World) -> Actor:
    org = create_organization(world.ctx, "Elsewhere Clinic")
    return Actor("user-elsewhere", org, "sam@elsewhere.example.org", Role.ADMIN)


def test_two_consumers_racing_for_one_run_never_both_claim_it(world: World) -> None:
    request_id = ready_request(world, "RUN-RACE-1")
    run = portal_runs.start_submit(world.ctx, world.actor, request_id)
    racers = 8
    start = threading.Barrier(racers)
    won: list[str] = []

    def claim(n: int) -> None:
        start.wait()
        with world.ctx.uow() as uow:
            if run_repository(world.ctx, uow).claim(run.id, now=NOW, worker=f"w{n}"):
                won.append(f"w{n}")
            uow.commit()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)

    assert len(won) == 1
    claimed = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert (claimed.status, claimed.worker, claimed.attempts) == ("running", won[0], 1)
    assert claimed.started_at == NOW
    assert portal_runs.queued_due(world.ctx, now=NOW + dt.timedelta(hours=1)) == []
    assert portal_runs.execute(world.ctx, run.id, worker="late") == "not_queued"


def test_a_run_not_yet_due_is_not_claimed(world: World) -> None:
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-DUE-1"))
    later = NOW + dt.timedelta(minutes=5)
    with world.ctx.uow() as uow:
        run_repository(world.ctx, uow).change(run.id, not_before=later)
        uow.commit()
    assert portal_runs.queued_due(world.ctx, now=NOW) == []
    assert portal_runs.execute(world.ctx, run.id, worker="w") == "not_queued"
    assert portal_runs.queued_due(world.ctx, now=later) == [run.id]


# -- starting --------------------------------------------------------------------------------------


def test_start_submit_refuses_what_a_portal_run_cannot_do(world: World) -> None:
    ready = ready_request(world, "RUN-START-1")
    viewer = Actor("user-viewer", world.actor.organization_id, "vi@clinic.example.org", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        portal_runs.start_submit(world.ctx, viewer, ready)

    draft = requests.create_request(world.ctx, world.actor, web_payer_body(member_id="RUN-D")).id
    with pytest.raises(InvalidTransition):
        portal_runs.start_submit(world.ctx, world.actor, draft)

    first = portal_runs.start_submit(world.ctx, world.actor, ready)
    again = portal_runs.start_submit(world.ctx, world.actor, ready)
    assert again.id == first.id
    assert timeline_kinds(world, ready).count("portal_run_queued") == 1
    assert world.dispatched == [first.id]
    actions = [(e.action, e.reason) for e in events_about(world.ctx, "portal_run", first.id)]
    assert actions == [("create", "portal submit queued")]

    world.ctx.settings = world.ctx.settings.model_copy(update={"portals": {}})
    other = ready_request(world, "RUN-START-2")
    with pytest.raises(InvalidInput, match="through the fax channel, not a portal"):
        portal_runs.start_submit(world.ctx, world.actor, other)
    assert portal_runs.runs_for_request(world.ctx, world.actor, other) == []


# -- the observer ----------------------------------------------------------------------------------


def test_the_observer_commits_steps_as_they_happen_and_encrypts_artifacts(
    world: World, tmp_path: Path
) -> None:
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-OBS-1"))
    observer = observer_for(world, run)

    observer.step(StepRecord(3, "click", 'Click "Next"', "role", 0.25, "ok"))
    assert [s.text for s in portal_runs.get_run(world.ctx, world.actor, run.id).steps] == [
        'Click "Next"'
    ]
    observer.step(StepRecord(4, "fill", 'Fill "Units"', "label", 0.1, "ok"))

    shot = tmp_path / "004-review.png"
    shot.write_bytes(PNG)
    trace = tmp_path / "trace.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("trace.trace", "synthetic trace")
    trace.write_bytes(buffer.getvalue())
    observer.screenshot(shot)
    observer.trace(trace)

    kept = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert [s.line for s in kept.steps] == [3, 4]
    assert (kept.screenshots, kept.traces) == (["004-review.png"], ["trace.zip"])
    assert not shot.exists() and not trace.exists()  # no plaintext left behind
    for name, plain in (("004-review.png", PNG), ("trace.zip", buffer.getvalue())):
        sealed = portal_run_observer.artifact_path(world.ctx, run.id, name).read_bytes()
        assert not sealed.startswith(plain[:4]) and plain[16:64] not in sealed
    assert portal_runs.artifact(world.ctx, world.actor, run.id, "004-review.png") == (
        PNG,
        "image/png",
    )
    assert portal_runs.artifact(world.ctx, world.actor, run.id, "trace.zip") == (
        buffer.getvalue(),
        "application/zip",
    )
    views = [
        (e.actor, e.reason)
        for e in events_about(world.ctx, "portal_run", run.id)
        if e.action == "view"
    ]
    assert sorted(views) == [
        (world.actor.email, "artifact 004-review.png"),
        (world.actor.email, "artifact trace.zip"),
    ]

    with pytest.raises(NotFound, match="no screenshot or trace named"):
        portal_runs.artifact(world.ctx, world.actor, run.id, "../precert.db")
    with pytest.raises(NotFound):
        portal_runs.artifact(world.ctx, other_organization(world), run.id, "004-review.png")


class Asking:
    """ask_person on its own thread, as the runner calls it."""

    def __init__(self, observer: RunObserverImpl, question: Question) -> None:
        self.answer: Answer | None = None
        self.done = threading.Event()

        def ask() -> None:
            try:
                self.answer = observer.ask_person(question)
            finally:
                self.done.set()

        self.thread = threading.Thread(target=ask, daemon=True)
        self.thread.start()

    def result(self) -> Answer | None:
        assert self.done.wait(PATIENCE_SECONDS), "ask_person never returned"
        return self.answer


def captcha_question(tmp_path: Path) -> Question:
    shot = tmp_path / "007-captcha.png"
    shot.write_bytes(PNG)
    return Question(
        "ask", "Type the characters in the picture", 7, 'Ask a person "Type the characters"',
        str(shot), ("answer", "stop"),
    )  # fmt: skip


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portal_run_observer, "POLL_SECONDS", 0.02)


def test_a_question_waits_for_a_persons_answer_and_the_run_resumes(
    world: World, tmp_path: Path, quick_polls: None
) -> None:
    request_id = ready_request(world, "RUN-ASK-1")
    run = portal_runs.start_submit(world.ctx, world.actor, request_id)
    asking = Asking(observer_for(world, run), captcha_question(tmp_path))

    eventually(
        lambda: portal_runs.get_run(world.ctx, world.actor, run.id).status == "waiting_for_person",
        "the run to wait for a person",
    )
    waiting = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert waiting.question is not None
    assert waiting.question.screenshot == "007-captcha.png"  # an artifact name, not a path
    assert waiting.screenshots == ["007-captcha.png"]
    assert waiting.question.offers == ("answer", "stop")
    assert attention(world, request_id) == (
        "Portal run waiting for a person: Type the characters in the picture"
    )
    assert "portal_run_waiting" in timeline_kinds(world, request_id)
    assert not asking.done.is_set()

    portal_runs.resolve(world.ctx, world.actor, run.id, "answer", "XK42P")
    answer = asking.result()

    assert answer == Answer("answer", "XK42P", world.actor.email)
    assert answer is not None and answer.text == "XK42P"
    resumed = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert resumed.status == "running"
    assert resumed.answer is not None and resumed.answer["action"] == "answer"
    assert attention(world, request_id) == ""
    timeline = requests.get_request(world.ctx, world.actor, request_id).timeline
    event = next(e for e in timeline if e.kind == "portal_run_resumed")
    assert dict(event.data) == {"run": run.id, "action": "answer", "by": world.actor.email}
    assert raw_run(world.ctx, run.id)["answer_text"] is None
    assert "XK42P" not in str(raw_run(world.ctx, run.id))
    audit = [e.reason or "" for e in events_about(world.ctx, "portal_run", run.id)]
    assert "answered answer" in audit and not any("XK42P" in reason for reason in audit)
    assert all("XK42P" not in str(e.data) + e.note for e in timeline)


def test_nobody_answering_in_time_ends_the_wait_with_no_answer(
    world: World, tmp_path: Path, quick_polls: None
) -> None:
    world.ctx.settings = world.ctx.settings.model_copy(update={"portal_handover_minutes": 0.002})
    request_id = ready_request(world, "RUN-LATE-1")
    run = portal_runs.start_submit(world.ctx, world.actor, request_id)

    answer = observer_for(world, run).ask_person(captcha_question(tmp_path))

    assert answer is None
    assert portal_runs.get_run(world.ctx, world.actor, run.id).status == "running"
    assert attention(world, request_id).startswith(
        "Portal run handed over: nobody answered within 0.002 minutes"
    )
    with pytest.raises(Conflict, match="not waiting for a person"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "answer", "late")

    # The run ended handed over; a person finished it on the portal by hand.
    with world.ctx.uow() as uow:
        run_repository(world.ctx, uow).change(run.id, status="handed_over")
        uow.commit()
    done = portal_runs.resolve(world.ctx, world.actor, run.id, "by_hand")
    assert done.status == "finished_by_hand"
    assert done.answer is not None and done.answer["by"] == world.actor.email
    assert attention(world, request_id) == ""
    assert "portal_run_finished_by_hand" in timeline_kinds(world, request_id)


def test_resolve_refuses_what_the_question_does_not_offer(
    world: World, tmp_path: Path, quick_polls: None
) -> None:
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-BAD-1"))
    with pytest.raises(Conflict, match="is queued, not waiting for a person"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "continue")
    with pytest.raises(Conflict, match="not waiting"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "by_hand")  # not handed over either
    asking = Asking(observer_for(world, run), captcha_question(tmp_path))
    eventually(
        lambda: portal_runs.get_run(world.ctx, world.actor, run.id).status == "waiting_for_person",
        "the run to wait for a person",
    )

    with pytest.raises(InvalidInput, match="choose one of answer, stop"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "continue")
    with pytest.raises(InvalidInput, match="choose one of continue, retry, answer"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "shrug")
    with pytest.raises(InvalidInput, match="type what the portal asks for"):
        portal_runs.resolve(world.ctx, world.actor, run.id, "answer", "  ")
    viewer = Actor("user-viewer", world.actor.organization_id, "vi@clinic.example.org", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        portal_runs.resolve(world.ctx, viewer, run.id, "stop")
    with pytest.raises(NotFound):
        portal_runs.resolve(world.ctx, other_organization(world), run.id, "stop")
    assert not asking.done.is_set()

    portal_runs.resolve(world.ctx, world.actor, run.id, "stop")
    assert asking.result() == Answer("stop", "", world.actor.email)


def test_a_credential_another_run_holds_puts_the_run_back_in_the_queue(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal_runs, "BUSY_RETRY_SECONDS", 5)
    org = world.actor.organization_id
    assert credentials.lease(world.ctx, org, CREDENTIAL, "run-another") is not None
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-BUSY-1"))

    assert portal_runs.execute(world.ctx, run.id, worker="w1") == "busy"

    back = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert (back.status, back.attempts, back.worker) == ("queued", 0, "")
    assert back.not_before == NOW + dt.timedelta(seconds=5)
    assert portal_runs.queued_due(world.ctx, now=NOW) == []
    assert portal_runs.queued_due(world.ctx, now=NOW + dt.timedelta(seconds=5)) == [run.id]
    # The other run's lease is untouched; this run holds nothing.
    assert credentials.lease(world.ctx, org, CREDENTIAL, f"run-{run.id}") is None
    assert credentials.release(world.ctx, org, CREDENTIAL, "run-another")
    assert credentials.lease(world.ctx, org, CREDENTIAL, f"run-{run.id}") is not None


def test_a_run_whose_sop_is_missing_fails_saying_what_to_fix(world: World) -> None:
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-SOP-1"))
    world.ctx.settings = world.ctx.settings.model_copy(
        update={"portals": {"web-test-payer": "no-such-sop@http://127.0.0.1:9"}}
    )

    assert portal_runs.execute(world.ctx, run.id, worker="w1") == "done"

    failed = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert failed.status == "failed" and not failed.active
    assert "There is no SOP no-such-sop-submit.md" in failed.message
    assert failed.finished_at == NOW
    # Its lease was never taken, so another run may use the login.
    assert credentials.lease(world.ctx, world.actor.organization_id, CREDENTIAL, "x") is not None


class Crash(BaseException):
    """A killed worker: not an Exception, so nothing in precert records it."""


def test_a_killed_worker_leaves_the_run_running_and_reported_never_re_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*args: object, **kwargs: object) -> None:
        raise Crash("killed mid-run")

    monkeypatch.setattr(portal_runs.submission, "submit_request", killed)
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-KILL-1"))

    with pytest.raises(Crash):
        portal_runs.execute(world.ctx, run.id, worker="w1")

    assert portal_runs.get_run(world.ctx, world.actor, run.id).status == "running"
    assert portal_runs.queued_due(world.ctx, now=NOW + dt.timedelta(days=1)) == []
    assert portal_runs.stale_runs(world.ctx, now=NOW + dt.timedelta(minutes=19)) == []
    stale = portal_runs.stale_runs(world.ctx, now=NOW + dt.timedelta(minutes=21))
    assert [r.id for r in stale] == [run.id]
    # Its lease was released on the way out, so the login is not stuck for 15 minutes.
    org = world.actor.organization_id
    assert credentials.lease(world.ctx, org, CREDENTIAL, "run-next") is not None


def test_a_run_whose_starter_was_removed_fails_saying_who_must_start_it(world: World) -> None:
    run = portal_runs.start_submit(world.ctx, world.actor, ready_request(world, "RUN-GONE-1"))
    with world.ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET disabled = :yes"), {"yes": True})

    assert portal_runs.execute(world.ctx, run.id, worker="w1") == "done"

    failed = portal_runs.get_run(world.ctx, world.actor, run.id)
    assert failed.status == "failed"
    assert failed.message.startswith(f"{world.actor.email}, who started this portal run")


# -- end to end against mock portal (a) -----------------------------------------------------------


@pytest.fixture(scope="module")
def portal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The portal runs on the wall clock: it checks authenticator codes against its own real time.
    with serving(create_modern_portal(tmp_path_factory.mktemp("modern-portal"))) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(browser: Browser) -> Iterator[None]:
    portal.use_browser(BrowserSettings(browser=browser, locate_timeout_seconds=5.0))
    try:
        yield
    finally:
        portal.use_browser(None)


@pytest.fixture
def live(ctx: Context, portal_url: str, chromium: None) -> World:
    return make_world(ctx, portal_url)


def portal_ready_request(world: World, member_id: str) -> str:
    # The portal refuses a date of service in its (wall clock) past.
    day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    return ready_request(world, member_id, service_day=day)


def test_a_queued_submit_runs_on_the_portal_and_the_approval_lands(
    live: World, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = portal_ready_request(live, "SIM-OK-RUN1")
    run = portal_runs.start_submit(live.ctx, live.actor, request_id)

    with caplog.at_level(logging.DEBUG):  # every logger, every level: nothing may name the patient
        assert portal_runs.execute(live.ctx, run.id, worker="test-worker") == "done"
    assert caplog.records, "the run logged nothing: the check below would prove nothing"
    for phi in ("Runcanary", "SIM-OK-RUN1"):
        assert phi not in caplog.text

    done = portal_runs.get_run(live.ctx, live.actor, run.id)
    assert (done.status, done.outcome) == ("succeeded", "approved"), done.message
    assert done.sop == "modern-wizard-submit" and done.worker == "test-worker"
    assert done.finished_at == NOW and done.attempts == 1
    assert "reference" in done.message and "Runcanary" not in done.message
    detail = requests.get_request(live.ctx, live.actor, request_id)
    assert detail.request.status is Status.APPROVED
    kinds = [e.kind for e in detail.timeline]
    assert kinds.index("portal_run_queued") < kinds.index("submission_started")
    # Every step the runner reported, committed as it happened: sign-in through to the Stop.
    statuses = [step.status for step in done.steps]
    assert statuses.count("submitted") == 1 and statuses[-1] == "stopped"
    assert {"enter_totp", "upload", "submit"} <= {step.kind for step in done.steps}
    for name in done.screenshots:
        data, media = portal_runs.artifact(live.ctx, live.actor, run.id, name)
        assert media == "image/png" and data.startswith(b"\x89PNG")
    # The run's lease was given back.
    org = live.actor.organization_id
    assert credentials.lease(live.ctx, org, CREDENTIAL, "run-after") is not None
    with live.ctx.uow() as uow:
        record = run_repository(live.ctx, uow).get(org, run.id)
        assert record is not None
        assert run_repository(live.ctx, uow).values(record)["channel"] == "portal"


def test_a_status_run_lands_the_portals_decision(live: World) -> None:
    # SIM-DENY: the confirmation says pended; the status pages say denied.
    request_id = portal_ready_request(live, "SIM-DENY-RUN1")
    submit = portal_runs.start_submit(live.ctx, live.actor, request_id)
    assert portal_runs.execute(live.ctx, submit.id, worker="w") == "done"
    submitted = portal_runs.get_run(live.ctx, live.actor, submit.id)
    assert (submitted.status, submitted.outcome) == ("succeeded", "pended"), submitted.message

    status = portal_runs.start_status(live.ctx, live.actor.organization_id, request_id)
    assert status is not None
    assert portal_runs.execute(live.ctx, status.id, worker="w") == "done"

    checked = portal_runs.get_run(live.ctx, live.actor, status.id)
    assert (checked.status, checked.outcome) == ("succeeded", "answered"), checked.message
    assert checked.sop == "modern-wizard-status"
    assert requests.get_request(live.ctx, live.actor, request_id).request.status is Status.DENIED


def hand_over_on_review(world: World) -> None:
    """A site's own SOP (the data directory's win over the shipped ones) that hands over on the
    review page instead of ticking the confirmation."""
    shipped = portal.SHIPPED_SOPS / "modern-wizard-submit.md"
    text_ = re.sub(
        r'(\d+)\. Check "I confirm the information is accurate"',
        r'\1. Hand over to a person "A person reviews this one"',
        shipped.read_text(encoding="utf-8"),
    )
    own = world.ctx.settings.data_dir / "portal-sops" / "modern-wizard-submit.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(text_, encoding="utf-8")


def test_a_hand_over_nobody_answers_ends_handed_over_and_a_person_finishes_by_hand(
    live: World, quick_polls: None
) -> None:
    live.ctx.settings = live.ctx.settings.model_copy(update={"portal_handover_minutes": 0.002})
    hand_over_on_review(live)
    request_id = portal_ready_request(live, "SIM-OK-RUN3")
    run = portal_runs.start_submit(live.ctx, live.actor, request_id)

    assert portal_runs.execute(live.ctx, run.id, worker="w") == "done"

    handed = portal_runs.get_run(live.ctx, live.actor, run.id)
    assert (handed.status, handed.outcome) == ("handed_over", "hand_over"), handed.message
    assert "A person reviews this one" in handed.message
    assert handed.question is not None and handed.question.kind == "hand_over"
    assert handed.question.screenshot in handed.screenshots
    data, media = portal_runs.artifact(live.ctx, live.actor, run.id, handed.question.screenshot)
    assert media == "image/png" and data.startswith(b"\x89PNG")
    assert "portal_run_waiting" in timeline_kinds(live, request_id)
    assert "a person must take over" in attention(live, request_id)

    done = portal_runs.resolve(live.ctx, live.actor, run.id, "by_hand")
    assert done.status == "finished_by_hand"
    assert attention(live, request_id) == ""
    detail = requests.get_request(live.ctx, live.actor, request_id)
    assert detail.request.status is Status.READY  # a person records the submission when done
    assert detail.timeline[-1].kind == "portal_run_finished_by_hand"


@pytest.mark.parametrize(
    ("action", "status", "attention_says"),
    [
        ("by_hand", "finished_by_hand", "a person is finishing it on the portal by hand; record "
         "the submission when done"),
        ("stop", "stopped", "a person must take over on the portal"),
    ],
    ids=["by_hand", "stop"],
)  # fmt: skip
def test_a_person_answering_while_the_run_waits_ends_it_their_way(
    live: World, quick_polls: None, action: str, status: str, attention_says: str
) -> None:
    hand_over_on_review(live)
    request_id = portal_ready_request(live, f"SIM-OK-RUN-{action}")
    run = portal_runs.start_submit(live.ctx, live.actor, request_id)
    answered: list[PortalRun] = []

    def person() -> None:  # on another thread: the browser belongs to this one
        eventually(
            lambda: (
                portal_runs.get_run(live.ctx, live.actor, run.id).status == "waiting_for_person"
            ),
            "the run to wait for a person",
        )
        answered.append(portal_runs.resolve(live.ctx, live.actor, run.id, action))

    helper = threading.Thread(target=person, daemon=True)
    helper.start()
    assert portal_runs.execute(live.ctx, run.id, worker="w") == "done"
    helper.join(PATIENCE_SECONDS)

    assert answered, "the person never answered"
    done = portal_runs.get_run(live.ctx, live.actor, run.id)
    assert done.status == status, done.message
    assert done.answer is not None and done.answer["action"] == action
    assert attention_says in attention(live, request_id)
    kinds = timeline_kinds(live, request_id)
    assert kinds.index("portal_run_waiting") < kinds.index("portal_run_resumed")
    assert requests.get_request(live.ctx, live.actor, request_id).request.status is Status.READY
