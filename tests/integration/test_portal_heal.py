"""Self-healing an expired portal session, in real Chromium against mock portal (a) with the
shipped modern wizard SOP: the portal signs everybody out mid-wizard (the observer does it right
after "Wait for the text Services"); the run notices the sign-in form, signs in again, goes back to
the page the section began on (the wizard draft survived: it is the user's) and submits exactly one
request. At most two heals a run; after the submit click nothing is healed and the error says to
check the status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser
from tests.integration.test_portal_person import Person
from tests.integration.web.live_server import serving

from precert.channels.portal.locate import ElementNotFound
from precert.channels.portal.record import StepRecord
from precert.channels.portal.runner import BrowserSettings, RunResult, run_workflow
from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Workflow
from precert.errors import PortalChanged
from precert.portal_sim.modern import create_modern_portal
from precert.portal_sim.modern.state import PortalState

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"
SUBMIT_TEXT = (SOPS / "modern-wizard-submit.md").read_text(encoding="utf-8")
MODERN_SUBMIT = compile_sop(SUBMIT_TEXT)
SECRET = pyotp.random_base32()
USER, PASSWORD = "clinic.portal.user", "Modern-Pa55word"


def after_the_submit_sop() -> Workflow:
    """The shipped SOP whose confirmation steps go back to the dashboard (a page load after the
    submit click, where an expired session shows)."""
    head, tail = SUBMIT_TEXT.split("28. Wait for the text", 1)
    group = tail[tail.index("## Sign in") :]
    return compile_sop(
        head + '28. Wait for the text "Confirmation" up to 30 seconds\n'
        '29. Click the link "Back to the start page"\n'
        '30. Wait for the text "Dashboard"\n'
        "31. Stop with outcome approved\n\n" + group
    )


class Logins:
    """Stands in for the credentials vault: the portal user and its authenticator codes."""

    def login(self, name: str) -> tuple[str, str]:
        return USER, PASSWORD

    def totp(self, name: str) -> str:
        return pyotp.TOTP(SECRET).now()

    def email_code(self, name: str, sender: str) -> str:
        raise AssertionError("the modern portal sends no email codes")


class SignsEveryoneOut(Person):
    """An observer that ends all the portal's sessions right after a chosen step was recorded,
    `times` times at most (like an idle timeout striking mid-run)."""

    def __init__(self, state: PortalState, after: Callable[[StepRecord], bool], times: int) -> None:
        super().__init__()
        self.state, self.after, self.times = state, after, times
        self.ended = 0

    def step(self, record: StepRecord) -> None:
        super().step(record)
        if self.ended < self.times and self.after(record):
            self.ended += 1
            assert self.state.end_all_sessions() == 1


def waited_for(text: str) -> Callable[[StepRecord], bool]:
    return lambda r: r.kind == "wait_for_text" and f'"{text}"' in r.text and r.status == "ok"


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[tuple[str, FastAPI]]:
    app = create_modern_portal(tmp_path / "portal-a", totp_secret=SECRET, users={USER: PASSWORD})
    with serving(app) as url:
        yield url, app


def request(key: str, documents: Path) -> dict[str, Any]:
    documents.write_bytes(b"%PDF-1.4 synthetic clinical notes")
    return {
        "request_key": key, "member_id": "XJH400123", "date_of_birth": "1961-04-12",
        "provider_npi": "1234567893", "service_type": "Imaging", "procedure_code": "72148",
        "diagnosis_code": "M54.16", "service_date": "2026-12-02", "units": "1",
        "body_part": "Lumbar spine", "documents": [str(documents)],
    }  # fmt: skip


def run(
    browser: Browser, url: str, flow: Workflow, tmp_path: Path, person: Person, key: str
) -> RunResult:
    settings = BrowserSettings(browser=browser, locate_timeout_seconds=3, wait_timeout_seconds=3)
    return run_workflow(
        flow, request(key, tmp_path / "notes.pdf"), base_url=url, credentials=Logins(),
        browser=settings, artifacts_dir=tmp_path / "artifacts", observer=person,
    )  # fmt: skip


def rows(state: PortalState, key: str) -> int:
    return 1 if state.by_your_reference(key) is not None else 0


def test_a_session_that_expires_mid_wizard_is_signed_in_again_and_submits_once(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = portal
    state: PortalState = app.state.portal
    person = SignsEveryoneOut(state, waited_for("Services"), times=1)
    result = run(browser, url, MODERN_SUBMIT, tmp_path, person, "K-HEAL")

    assert (result.outcome, result.submitted) == ("approved", True)
    assert person.ended == 1
    healed = [s for s in result.steps if s.kind == "session_expired"]
    assert [s.status for s in healed] == ["healed"]
    assert healed[0].text == 'Wait for the text "Attachments"'  # the step that found the sign-in
    assert person.records == result.steps
    assert state.sign_in_count() == 2
    assert rows(state, "K-HEAL") == 1
    assert [s.status for s in result.steps].count("submitted") == 1
    # the section re-ran from the wizard's Services page: "Units" was filled twice
    filled = [s.text for s in result.steps if s.status == "ok" and s.kind == "fill"]
    assert filled.count('Fill "Units" with {units}') == 2
    assert not person.questions  # nobody was asked


def test_at_most_two_heals_a_run_then_the_failure_goes_on(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = portal
    state: PortalState = app.state.portal
    person = SignsEveryoneOut(state, waited_for("Services"), times=3)
    with pytest.raises(ElementNotFound):
        run(browser, url, MODERN_SUBMIT, tmp_path, person, "K-HEAL3")

    assert [r.status for r in person.records if r.kind == "session_expired"] == ["healed"] * 2
    assert [q.kind for q in person.questions] == ["stuck"]  # the third time, a person is asked
    assert state.sign_in_count() == 3
    assert rows(state, "K-HEAL3") == 0


def test_a_session_that_expires_after_the_submit_is_not_healed(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = portal
    state: PortalState = app.state.portal
    person = SignsEveryoneOut(state, waited_for("Confirmation"), times=1)
    with pytest.raises(PortalChanged) as failed:
        run(browser, url, after_the_submit_sop(), tmp_path, person, "K-LATE")

    assert "check the status" in failed.value.message
    assert "session_expired" not in [r.kind for r in person.records]
    [question] = person.questions
    assert question.kind == "stuck" and question.submitted
    assert state.sign_in_count() == 1
    assert rows(state, "K-LATE") == 1
