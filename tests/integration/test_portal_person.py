"""A person in the loop of a portal run, in real Chromium against pages on 127.0.0.1: the observer
sees every step record and screenshot as they happen; a Hand over step goes on, ends by hand or
stops as a person says; the Ask step types a person's answer (the legacy portal's CAPTCHA, with the
shipped SOP); a stuck step (two "Save" buttons) is retried after a person fixed the page; a stuck
submit is never offered a retry. Without an answer every question ends the run as handed over.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser
from tests.integration.web.live_server import serving

from precert.channels.portal.locate import AmbiguousElement
from precert.channels.portal.record import Answer, Question, StepRecord
from precert.channels.portal.runner import BrowserSettings, HandOver, RunResult, run_workflow
from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Workflow
from precert.portal_sim.legacy.app import create_legacy_portal
from precert.portal_sim.legacy.state import DEFAULT_USERS
from precert.portal_sim.legacy.state import PortalState as LegacyState

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"
LEGACY_SUBMIT = compile_sop((SOPS / "legacy-portal-submit.md").read_text(encoding="utf-8"))
LEGACY_USER = "clinic.user"


class Person:
    """An observer that keeps what it is told and answers each question with `answer(question)`
    (None: nobody answered in time)."""

    def __init__(self, answer: Callable[[Question], Answer | None] = lambda q: None) -> None:
        self.answer = answer
        self.records: list[StepRecord] = []
        self.screenshots: list[Path] = []
        self.traces: list[Path] = []
        self.questions: list[Question] = []

    def step(self, record: StepRecord) -> None:
        self.records.append(record)

    def screenshot(self, path: Path) -> None:
        assert path.is_file()  # written before it is handed over
        self.screenshots.append(path)

    def trace(self, path: Path) -> None:
        assert path.is_file()
        self.traces.append(path)

    def ask_person(self, question: Question) -> Answer | None:
        self.questions.append(question)
        return self.answer(question)


def says(action: Any, text: str = "") -> Callable[[Question], Answer]:
    return lambda question: Answer(action, text, by="nurse@clinic.example")


class Logins:
    """Stands in for the credentials vault (an outside system): the legacy portal's default user,
    and the emailed code read from the portal's mail sink (a list here)."""

    def __init__(self, mail: list[EmailMessage], username: str = LEGACY_USER) -> None:
        self.mail = mail
        self.username = username

    def login(self, name: str) -> tuple[str, str]:
        return self.username, DEFAULT_USERS[LEGACY_USER].password

    def totp(self, name: str) -> str:
        raise AssertionError("the legacy portal asks for no authenticator code")

    def email_code(self, name: str, sender: str) -> str:
        body = str(self.mail[-1].get_content())
        found = re.search(r"code is (\d{6})", body)
        assert found, "no code in the last message"
        return found.group(1)


def html(body: str, script: str = "") -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><body>{body}<script>{script}</script></body></html>")


# Two "Save" buttons until the server says one is gone (a person fixed the page meanwhile).
SAVE = (
    '<h1>Claim</h1><button onclick="saved()">Save</button>'
    '<button id="b" onclick="saved()">Save</button>'
)
SAVE_JS = """
function saved() { document.body.insertAdjacentHTML('beforeend', '<p>Saved</p>'); }
setInterval(async () => {
  const state = await (await fetch('/buttons')).json();
  const extra = document.getElementById('b');
  if (state.buttons === 1 && extra) { extra.remove(); fetch('/removed', {method: 'POST'}); }
}, 100);
"""
REVIEW = (
    "<h1>Review</h1><button onclick=\"fetch('/sent',{method:'POST'})\">Submit request</button>"
    "<a href=\"#\" onclick=\"fetch('/sent',{method:'POST'})\">Submit request</a>"
)


def pages_app() -> FastAPI:
    app = FastAPI()
    app.state.buttons = 2
    app.state.removed = threading.Event()
    app.state.submits = 0

    @app.get("/start")
    def start() -> HTMLResponse:
        return html("<h1>Start</h1><p>Plan: Gold</p>")

    @app.get("/save")
    def save() -> HTMLResponse:
        return html(SAVE, SAVE_JS)

    @app.get("/buttons")
    def buttons() -> dict[str, int]:
        return {"buttons": app.state.buttons}

    @app.post("/removed")
    def removed() -> dict[str, bool]:
        app.state.removed.set()
        return {"ok": True}

    @app.get("/review")
    def review() -> HTMLResponse:
        return html(REVIEW)

    @app.post("/sent")
    def sent() -> dict[str, int]:
        app.state.submits += 1
        return {"submits": app.state.submits}

    return app


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, FastAPI]]:
    app = pages_app()
    with serving(app) as url:
        yield url, app


def sop(steps: str) -> Workflow:
    header = "---\nname: Test\nportal: test\noutcomes: [approved, pended]\n---\n\n"
    return compile_sop(header + steps)


def run(
    browser: Browser,
    url: str,
    workflow: Workflow,
    tmp_path: Path,
    person: Person | None,
    inputs: dict[str, Any] | None = None,
    credentials: Any = None,
    **options: Any,
) -> RunResult:
    settings = BrowserSettings(browser=browser, locate_timeout_seconds=1.5, wait_timeout_seconds=5)
    return run_workflow(
        workflow, inputs or {}, base_url=url, credentials=credentials or Logins([]),
        browser=settings, artifacts_dir=tmp_path / "artifacts", observer=person, **options,
    )  # fmt: skip


HAND_OVER = sop(
    "1. Go to /start\n"
    '2. Hand over to a person "Check the member\'s plan"\n'
    '3. Expect the page to show "Plan: Gold"\n'
    "4. Stop with outcome approved\n"
)


# -- the observer and the hand-over -----------------------------------------------------------


def test_a_person_says_continue_and_the_run_goes_on_with_the_next_step(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = pages
    person = Person(says("continue"))
    result = run(browser, url, HAND_OVER, tmp_path, person)

    assert result.outcome == "approved"
    assert person.records == result.steps  # each record reached the observer, in order
    assert [(s.kind, s.status) for s in result.steps] == [
        ("go_to", "ok"), ("hand_over", "asked"), ("hand_over", "resumed"),
        ("expect_text", "ok"), ("stop", "stopped"),
    ]  # fmt: skip
    [question] = person.questions
    assert (question.kind, question.reason) == ("hand_over", "Check the member's plan")
    assert question.offers == ("continue", "by_hand", "stop")
    assert question.line == result.steps[1].line and not question.submitted
    assert question.screenshot == str(person.screenshots[0])
    assert [str(p) for p in person.screenshots] == result.screenshots


def test_a_person_finishing_by_hand_ends_the_run_with_that_outcome(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = pages
    result = run(browser, url, HAND_OVER, tmp_path, Person(says("by_hand")))
    assert (result.outcome, result.reason) == ("finished_by_hand", "Check the member's plan")
    assert "expect_text" not in [s.kind for s in result.steps]


@pytest.mark.parametrize("answer", ["stop", None, "retry"], ids=["stop", "nobody", "not-offered"])
def test_stop_no_answer_or_an_answer_not_offered_hands_over_as_without_a_person(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path, answer: Any
) -> None:
    url, _ = pages
    person = Person((lambda q: None) if answer is None else says(answer))
    with pytest.raises(HandOver) as handed:
        run(browser, url, HAND_OVER, tmp_path, person)
    assert handed.value.reason == "Check the member's plan"
    assert [s.status for s in handed.value.steps] == ["ok", "asked", "stopped"]
    assert len(person.questions) == 1


def test_the_observer_may_remove_each_screenshot_it_is_given(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    """The service encrypts and deletes the file: the runner must not read it again."""
    url, _ = pages

    class Encrypting(Person):
        def screenshot(self, path: Path) -> None:
            super().screenshot(path)
            path.unlink()

    person = Encrypting(says("continue"))
    result = run(browser, url, HAND_OVER, tmp_path, person)
    assert result.outcome == "approved"
    assert person.screenshots and not any(p.exists() for p in person.screenshots)


# -- stuck -------------------------------------------------------------------------------------


CLICK_SAVE = sop(
    '1. Go to /save\n2. Click "Save"\n3. Expect the page to show "Saved"\n4. Stop with outcome '
    "approved\n"
)


def test_a_stuck_step_is_retried_after_a_person_fixed_the_page(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = pages
    app.state.buttons = 2

    app.state.removed.clear()

    def fix_the_page(question: Question) -> Answer:
        app.state.buttons = 1  # the page's script removes the second button, then says so
        assert app.state.removed.wait(timeout=10), "the page never removed the button"
        return Answer("retry", by="nurse@clinic.example")

    person = Person(fix_the_page)
    result = run(browser, url, CLICK_SAVE, tmp_path, person)

    assert result.outcome == "approved"
    [question] = person.questions
    assert question.kind == "stuck" and question.offers == ("retry", "by_hand", "stop")
    assert '2 elements answer to "Save"' in question.reason
    assert question.screenshot and Path(question.screenshot).is_file()
    assert [(s.kind, s.status) for s in result.steps if s.kind == "click"] == [
        ("click", "failed"), ("click", "asked"), ("click", "resumed"), ("click", "ok"),
    ]  # fmt: skip


@pytest.mark.parametrize("answer", ["stop", None], ids=["stop", "nobody"])
def test_a_stuck_step_nobody_fixes_raises_its_own_error(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path, answer: Any
) -> None:
    url, app = pages
    app.state.buttons = 2
    person = Person((lambda q: None) if answer is None else says(answer))
    with pytest.raises(AmbiguousElement):
        run(browser, url, CLICK_SAVE, tmp_path, person)
    assert [q.kind for q in person.questions] == ["stuck"]


def test_a_stuck_step_finished_by_hand_ends_the_run(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = pages
    app.state.buttons = 2
    result = run(browser, url, CLICK_SAVE, tmp_path, Person(says("by_hand")))
    assert result.outcome == "finished_by_hand"
    assert result.reason and "finished by hand" in result.reason


SUBMIT = sop(
    '1. Go to /review\n2. Submit by clicking "Submit request"\n3. Stop with outcome pended\n'
)


@pytest.mark.parametrize("answer", ["retry", "stop"])
def test_a_stuck_submit_is_never_retried(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path, answer: str
) -> None:
    url, app = pages
    before = app.state.submits
    recorded: list[int] = []
    person = Person(says(answer))
    with pytest.raises(AmbiguousElement):
        run(
            browser, url, SUBMIT, tmp_path, person, about_to_submit=lambda: recorded.append(1)
        )  # fmt: skip
    [question] = person.questions
    assert question.kind == "stuck" and question.offers == ("by_hand", "stop")
    assert recorded == [] and app.state.submits == before
    assert "resumed" not in [s.status for s in person.records]


def test_a_stuck_submit_may_be_finished_by_hand(
    browser: Browser, pages: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = pages
    before = app.state.submits
    result = run(browser, url, SUBMIT, tmp_path, Person(says("by_hand")))
    assert (result.outcome, result.submitted) == ("finished_by_hand", False)
    assert app.state.submits == before


# -- the Ask step: the legacy portal's CAPTCHA with the shipped SOP ----------------------------


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[tuple[str, FastAPI, list[EmailMessage]]]:
    mail: list[EmailMessage] = []
    app = create_legacy_portal(tmp_path / "portal-b", mail_sink=mail.append, captcha_every=1)
    with serving(app) as url:
        yield url, app, mail


def legacy_request(documents: Path) -> dict[str, Any]:
    documents.write_bytes(b"%PDF-1.4 synthetic clinical notes")
    return {
        "request_key": "L-ASK-1", "member_id": "XJH400123", "date_of_birth": "1961-04-12",
        "provider_npi": "1234567893", "service_type": "Imaging", "procedure_code": "70553",
        "diagnosis_code": "M54.16", "service_date": "2026-12-02", "units": "1",
        "documents": [str(documents)],
    }  # fmt: skip


def challenge(portal: LegacyState) -> str:
    """The characters the CAPTCHA page shows now (what a person reads off the picture)."""
    [shown] = [s.captcha for s in portal.sessions.values() if s.stage == "captcha"]
    return shown


def test_a_person_types_the_captcha_and_the_shipped_legacy_sop_submits(
    browser: Browser, legacy: tuple[str, FastAPI, list[EmailMessage]], tmp_path: Path
) -> None:
    url, app, mail = legacy
    portal: LegacyState = app.state.portal
    person = Person(lambda question: Answer("answer", challenge(portal), by="nurse"))
    result = run(
        browser, url, LEGACY_SUBMIT, tmp_path, person,
        inputs=legacy_request(tmp_path / "notes.pdf"), credentials=Logins(mail),
    )  # fmt: skip

    assert (result.outcome, result.submitted) == ("approved", True)
    [question] = person.questions
    assert (question.kind, question.reason) == ("ask", "Type the characters shown in the picture")
    assert question.offers == ("answer", "by_hand", "stop")
    assert question.screenshot and Path(question.screenshot).is_file()
    asked = [s for s in result.steps if s.kind == "ask"]
    assert [s.status for s in asked] == ["asked", "ok"]
    assert len(portal.by_reference("L-ASK-1")) == 1


def test_nobody_answering_the_captcha_hands_the_run_over_before_anything_is_sent(
    browser: Browser, legacy: tuple[str, FastAPI, list[EmailMessage]], tmp_path: Path
) -> None:
    url, app, mail = legacy
    person = Person(lambda question: None)
    with pytest.raises(HandOver) as handed:
        run(
            browser, url, LEGACY_SUBMIT, tmp_path, person,
            inputs=legacy_request(tmp_path / "notes.pdf"), credentials=Logins(mail),
        )  # fmt: skip
    assert handed.value.reason == "Type the characters shown in the picture"
    assert handed.value.steps[-1].kind == "ask"
    assert app.state.portal.requests == []


def test_a_person_may_sign_in_by_hand_instead_of_typing_the_captcha(
    browser: Browser, legacy: tuple[str, FastAPI, list[EmailMessage]], tmp_path: Path
) -> None:
    url, app, mail = legacy
    result = run(
        browser, url, LEGACY_SUBMIT, tmp_path, Person(says("by_hand")),
        inputs=legacy_request(tmp_path / "notes.pdf"), credentials=Logins(mail),
    )  # fmt: skip
    assert result.outcome == "finished_by_hand" and not result.submitted
    assert app.state.portal.requests == []
