"""The portal SOP runner in real Chromium against small FastAPI pages on 127.0.0.1: each way of
finding an element, ambiguity and absence, blocks, reads, handlers, hand-over, the single submit
guarded by the about-to-submit record, stop-before-submit, and PHI masking in screenshots.

One browser for the module (a new context per run); the pages are plain HTML built to exercise
one behaviour each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser
from tests.integration.web.live_server import serving

from precert.channels.portal.locate import AmbiguousElement, ElementNotFound
from precert.channels.portal.runner import (
    BrowserSettings,
    HandOver,
    RunResult,
    run_workflow,
)
from precert.channels.portal.sop import compile_sop
from precert.errors import PortalChanged


def page(body: str, script: str = "") -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><body>{body}<script>{script}</script></body></html>")


FORM = """
<h1>Form</h1>
<form action="/saved" method="get">
  <label for="user">Username</label><input id="user" name="user">
  <input aria-label="q" name="term" placeholder="Search term">
  <label for="member">Member ID:*</label><input id="member" name="member">
  <table><tr><td>Ordering provider NPI</td><td><input name="npi"></td></tr></table>
  <div>Units</div><input name="units">
  <label for="docs">Clinical documents</label><input id="docs" type="file" name="docs">
  <label for="svc">Service type</label>
  <select id="svc" name="svc"><option>Surgery</option><option>Imaging</option></select>
  <label><input type="checkbox" name="ok" value="yes"> I confirm</label>
  <label for="dob">Date of birth</label><input id="dob" type="date" name="dob">
  <div class="btn" onclick="this.closest('form').submit()">Save form</div>
</form>"""

SAVED_FIELDS = ("user", "term", "member", "npi", "units", "docs", "svc", "ok", "dob")

POPUP = """
<h1>Home</h1>
<div id="modal" style="position:fixed;inset:0;background:#fff;z-index:9">
  <p>Your session is about to expire</p>
  <button onclick="document.getElementById('modal').remove()">Stay signed in</button>
</div>
<button onclick="document.body.insertAdjacentHTML('beforeend','<p>Continued</p>')">Continue</button>
"""

TABLES = """
<h1>Results</h1>
<section><h2>Pending</h2><button onclick="done('pending')">Open</button></section>
<section><h2>Closed</h2><button onclick="done('closed')">Open</button></section>
<h2>Requests</h2>
<table><thead><tr><th>Reference</th><th>Status</th><th></th></tr></thead>
<tbody>
<tr><td>R-1</td><td>Pended</td><td><a href="#" onclick="done('R-1')">View</a></td></tr>
<tr><td>R-2</td><td>Approved</td><td><a href="#" onclick="done('R-2')">View</a></td></tr>
</tbody></table>
<dl><dt>Reference number</dt><dd>ABC-123 (new)</dd></dl>
<p>Status: Approved</p>
"""
TABLES_JS = "function done(x){document.body.insertAdjacentHTML('beforeend','<p>Opened '+x+'</p>')}"

REVIEW = """
<h1>Review</h1>
<p>Two ways to send</p>
<button onclick="fetch('/sent',{method:'POST'}).then(()=>document.body.insertAdjacentHTML(
'beforeend','<p>Confirmation</p>'))">Submit request</button>
<button>Send</button><a href="#">Send</a>
"""


LOGIN = """
<h1>Sign in</h1>
<form action="/code" method="get">
  <label for="u">Username</label><input id="u" name="u">
  <label for="p">Password</label><input id="p" type="password" name="p">
  <button>Sign in</button>
</form>"""

CODE = """
<form action="/dashboard" method="get">
  <label for="c">Authenticator code</label><input id="c" name="c">
  <label for="e">Email code</label><input id="e" name="e">
  <button>Verify</button>
</form>"""

SEARCH = """
<h1>Search</h1>
<p id="loading">Loading codes</p>
<label for="code">Procedure code</label><input id="code" autocomplete="off">
<ul role="listbox" id="hints"></ul>
<label><input type="checkbox" id="urgent" checked> Urgent</label>
<form onsubmit="event.preventDefault(); document.body.insertAdjacentHTML('beforeend',
  '<p>Chosen '+document.getElementById('code').value+' urgent '
  +document.getElementById('urgent').checked+'</p>')">
  <label for="note">Note</label><input id="note">
</form>"""
SEARCH_JS = """
setTimeout(() => document.getElementById('loading').remove(), 300);
const codes = ['72148 - MRI lumbar spine', '72149 - MRI with contrast', '73721 - MRI knee'];
document.getElementById('code').addEventListener('input', (e) => {
  const typed = e.target.value;
  document.getElementById('hints').innerHTML = codes.filter((c) => c.startsWith(typed))
    .map((c) => `<li role="option" onclick="pick('${c}')">${c}</li>`).join('');
});
function pick(c) {
  document.getElementById('code').value = c.split(' ')[0];
  document.getElementById('hints').innerHTML = '';
}"""


def portal_app() -> FastAPI:
    app = FastAPI()
    app.state.submits = 0
    app.state.loads = 0

    @app.get("/form")
    def form() -> HTMLResponse:
        return page(FORM)

    @app.get("/saved")
    def saved(request: Request) -> HTMLResponse:
        rows = "".join(
            f"<dt>Saved {name}</dt><dd>{request.query_params.get(name, '-')}</dd>"
            for name in SAVED_FIELDS
        )
        return page(f"<h1>Saved</h1><dl>{rows}</dl>")

    @app.get("/login")
    def login() -> HTMLResponse:
        return page(LOGIN)

    @app.get("/code")
    def code(u: str, p: str) -> HTMLResponse:
        ok = (u, p) == ("clinic-user", "s3cret-pass")
        return page(CODE if ok else "<h1>Wrong password</h1>")

    @app.get("/dashboard")
    def dashboard(c: str, e: str) -> HTMLResponse:
        ok = (c, e) == ("123456", "654321")
        return page("<h1>Dashboard</h1>" if ok else "<h1>Wrong code</h1>")

    @app.get("/search")
    def search() -> HTMLResponse:
        return page(SEARCH, SEARCH_JS)

    @app.get("/popup")
    def popup() -> HTMLResponse:
        return page(POPUP)

    @app.get("/tables")
    def tables() -> HTMLResponse:
        return page(TABLES, TABLES_JS)

    @app.get("/review")
    def review() -> HTMLResponse:
        return page(REVIEW)

    @app.post("/sent")
    def sent() -> dict[str, int]:
        app.state.submits += 1
        return {"submits": app.state.submits}

    @app.get("/flaky")
    def flaky() -> HTMLResponse:
        app.state.loads += 1
        if app.state.loads == 1:
            return HTMLResponse("down", status_code=503)
        return page("<h1>Back up</h1>")

    @app.get("/phi")
    def phi() -> HTMLResponse:
        return page(
            '<label for="m">Member ID</label><input id="m" value="W123456789" '
            'style="font-size:30px;width:400px;height:60px;color:#fff;background:#fff">'
        )

    return app


@pytest.fixture(scope="module")
def portal() -> Iterator[tuple[str, FastAPI]]:
    app = portal_app()
    with serving(app) as url:
        yield url, app


class FakeVault:
    """Stands in for the credentials vault (a test double of an outside system, not our code)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def login(self, name: str) -> tuple[str, str]:
        self.asked.append(f"login {name}")
        return "clinic-user", "s3cret-pass"

    def totp(self, name: str) -> str:
        return "123456"

    def email_code(self, name: str, sender: str) -> str:
        return "654321"


def sop(
    steps: str, *, inputs: str = "", outcomes: str = "[approved, pended]", extra: str = ""
) -> Any:
    header = (
        "---\nname: Test\nportal: test\n"
        + (f"inputs:\n{inputs}" if inputs else "")
        + "credentials: [portal_login]\n"
        + f"outcomes: {outcomes}\n---\n\n"
    )
    return compile_sop(header + extra + steps)


def run(
    browser: Browser,
    url: str,
    workflow: Any,
    tmp_path: Path,
    inputs: dict[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    settings = BrowserSettings(browser=browser, locate_timeout_seconds=1.5, wait_timeout_seconds=3)
    return run_workflow(
        workflow, inputs or {}, base_url=url, credentials=FakeVault(), browser=settings,
        artifacts_dir=tmp_path / "artifacts", **options,
    )  # fmt: skip


def strategies(result: RunResult) -> dict[int, str | None]:
    """Strategy per step number as written ("2. Fill ..." is 2)."""
    first = result.steps[0].line  # "1." is the first step, one step a line
    return {step.line - first + 1: step.strategy for step in result.steps}


def test_each_strategy_finds_its_field_and_the_values_reach_the_portal(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop(
        "1. Go to /form\n"
        '2. Fill "Username" with {portal_login.username}\n'
        '3. Fill "Search term" with "knee"\n'
        '4. Fill "Member ID" with {member_id}\n'
        '5. Fill "Ordering provider NPI" with "1234567893"\n'
        '6. Fill "Units" with "3"\n'
        '7. Upload {documents} to "Clinical documents"\n'
        '8. Choose "Imaging" in "Service type"\n'
        '9. Check "I confirm"\n'
        '10. Set the date "Date of birth" to {dob}\n'
        '11. Click "Save form"\n'
        '12. Wait for the text "Saved"\n'
        + "".join(
            f'{13 + i}. Read the text after "Saved {name}" as {{saved_{name}}}\n'
            for i, name in enumerate(SAVED_FIELDS)
        ),
        inputs="  member_id: text\n  documents: documents\n  dob: date\n",
    )
    result = run(
        browser, url, workflow, tmp_path,
        {"member_id": "W1", "dob": "1980-02-03",
         "documents": [{"name": "notes.txt", "content": "clinical notes"}]},
    )  # fmt: skip
    assert result.outcome == "completed"
    found = strategies(result)
    assert found[2] == "role"
    assert found[3] == "placeholder"
    assert found[4] == "normalised_label"
    assert found[5] == "neighbour_text"  # same row, to the right
    assert found[6] == "neighbour_text"  # just below
    assert found[7] == "label"
    assert found[11] == "button_text"
    saved = {name: result.values[f"saved_{name}"] for name in SAVED_FIELDS}
    assert saved == {
        "user": "clinic-user", "term": "knee", "member": "W1", "npi": "1234567893", "units": "3",
        "docs": "notes.txt", "svc": "Imaging", "ok": "yes", "dob": "1980-02-03",
    }  # fmt: skip
    # The secret never reaches the run record.
    assert "clinic-user" not in repr(result.as_dict()).replace(repr(result.values), "")


def test_two_matches_are_ambiguous_and_none_is_a_portal_change(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    two = sop('1. Go to /review\n2. Click "Send"\n')
    with pytest.raises(AmbiguousElement) as ambiguous:
        run(browser, url, two, tmp_path)
    assert ambiguous.value.screenshot and Path(ambiguous.value.screenshot).is_file()
    missing = sop('1. Go to /review\n2. Fill "Fax number" with "1"\n')
    with pytest.raises(PortalChanged) as changed:
        run(browser, url, missing, tmp_path)
    assert isinstance(changed.value, ElementNotFound)
    assert changed.value.screenshot and Path(changed.value.screenshot).is_file()
    gone = sop('1. Go to /review\n2. Expect the page to show "Approved"\n')
    with pytest.raises(PortalChanged):
        run(browser, url, gone, tmp_path)


def test_sections_rows_tables_texts_and_branches(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop(
        "1. Go to /tables\n"
        '2. Click the button "Open" in the section "Closed"\n'
        '3. Expect the page to show "Opened closed"\n'
        '4. Click the link "View" in the row containing "R-2"\n'
        '5. Expect the page to show "Opened R-2"\n'
        '6. Read the table "Requests" as {rows}\n'
        "7. For each {row} in {rows}:\n"
        '    1. Click "View" in the row containing {row.Reference}\n'
        '8. Read the text after "Reference number" as {reference} matching /[A-Z]+-[0-9]+/\n'
        '9. Read the text after "Status" as {status}\n'
        '10. If the page shows "Denied" then Stop with outcome pended "not expected"\n'
        "11. Otherwise:\n"
        '    1. If the page shows "Opened R-1" then Stop with outcome approved "looped"\n'
    )
    result = run(browser, url, workflow, tmp_path)
    assert result.outcome == "approved" and result.reason == "looped"
    assert result.values["rows"] == [
        {"Reference": "R-1", "Status": "Pended", "column 3": "View"},
        {"Reference": "R-2", "Status": "Approved", "column 3": "View"},
    ]
    assert result.values["reference"] == "ABC-123"
    assert result.values["status"] == "Approved"
    loop_clicks = [s for s in result.steps if "{row.Reference}" in s.text]
    assert len(loop_clicks) == 2
    assert [s.status for s in result.steps if s.kind == "if_shows"] == ["skipped", "ok"]
    with pytest.raises(AmbiguousElement):
        run(browser, url, sop('1. Go to /tables\n2. Click "Open"\n'), tmp_path)


def test_log_in_with_codes_never_records_the_secrets(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop(
        "1. Go to /login\n"
        "2. Log in with {portal_login}\n"
        '3. Enter the authenticator code for {portal_login} into "Authenticator code"\n'
        '4. Enter the email code for {portal_login} from "noreply@payer.example" '
        'into "Email code"\n'
        '5. Click the button "Verify"\n'
        '6. Wait for the text "Dashboard" up to 5 seconds\n'
    )
    result = run(browser, url, workflow, tmp_path)
    assert result.outcome == "completed"
    recorded = json.dumps(result.as_dict())
    for secret in ("s3cret-pass", "clinic-user", "123456", "654321"):
        assert secret not in recorded


def test_autocomplete_waiting_checkboxes_and_enter(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop(
        "1. Go to /search\n"
        '2. Wait until "Loading codes" disappears\n'
        '3. Type "7214" into "Procedure code" and choose the suggestion starting with "72148"\n'
        '4. Uncheck "Urgent"\n'
        '5. Fill "Note" with "see notes"\n'
        "6. Press Enter\n"
        '7. Expect the page to show "Chosen 72148 urgent false"\n'
    )
    result = run(browser, url, workflow, tmp_path)
    assert [s.status for s in result.steps] == ["ok"] * 7
    two = sop(
        '1. Go to /search\n2. Type "72" into "Procedure code" and choose the suggestion '
        'starting with "72"\n'
    )
    with pytest.raises(AmbiguousElement):
        run(browser, url, two, tmp_path)


def test_a_handler_dismisses_the_popup_before_the_next_step(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop(
        '1. Go to /popup\n2. Click "Continue"\n3. Wait for the text "Continued"\n',
        extra='- Whenever the page shows "Your session is about to expire", '
        'click "Stay signed in"\n\n',
    )
    result = run(browser, url, workflow, tmp_path)
    assert [s.kind for s in result.steps] == ["go_to", "handler", "click", "wait_for_text"]


def test_hand_over_carries_the_reason_and_a_screenshot(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    workflow = sop('1. Go to /review\n2. Hand over to a person "Needs a nurse review"\n')
    with pytest.raises(HandOver) as handed:
        run(browser, url, workflow, tmp_path)
    assert handed.value.reason == "Needs a nurse review"
    assert handed.value.screenshot and Path(handed.value.screenshot).is_file()
    assert [s.kind for s in handed.value.steps] == ["go_to", "hand_over"]


SUBMIT = sop(
    '1. Go to /review\n2. Submit by clicking "Submit request"\n'
    '3. Wait for the text "Confirmation"\n4. Stop with outcome pended\n'
)


def test_submit_clicks_once_after_the_record(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = portal
    before = app.state.submits
    order: list[str] = []

    def record() -> None:
        order.append(f"record at {app.state.submits - before} submits")

    result = run(browser, url, SUBMIT, tmp_path, about_to_submit=record)
    assert result.outcome == "pended" and result.submitted
    assert order == ["record at 0 submits"]
    assert app.state.submits - before == 1
    assert [s.status for s in result.steps if s.kind == "submit"] == ["submitted"]


def test_no_click_when_the_record_fails_and_none_when_stopping_before_submit(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, app = portal
    before = app.state.submits

    def refuse() -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        run(browser, url, SUBMIT, tmp_path, about_to_submit=refuse)
    called: list[int] = []
    result = run(
        browser, url, SUBMIT, tmp_path, stop_before_submit=True,
        about_to_submit=lambda: called.append(1),
    )  # fmt: skip
    assert result.outcome == "stopped_before_submit" and not result.submitted
    assert called == []
    assert app.state.submits == before


def test_a_page_that_failed_to_load_is_reloaded_once_and_logged(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = portal
    result = run(
        browser, url, sop('1. Go to /flaky\n2. Expect the page to show "Back up"\n'), tmp_path
    )
    assert [(s.kind, s.status) for s in result.steps] == [
        ("reload", "healed"), ("go_to", "ok"), ("expect_text", "ok"),
    ]  # fmt: skip


def test_screenshots_mask_phi_fields(
    browser: Browser, portal: tuple[str, FastAPI], tmp_path: Path
) -> None:
    from PIL import Image

    url, _ = portal
    workflow = sop('1. Go to /phi\n2. Hand over to a person "look"\n')
    with pytest.raises(HandOver) as handed:
        run(browser, url, workflow, tmp_path)
    assert handed.value.screenshot
    image = Image.open(handed.value.screenshot).convert("RGB")
    # The input is white on a white page; only the mask paints black.
    assert _has_black_box(image)


def _has_black_box(image: Any) -> bool:
    width, height = image.size
    black = sum(
        1 for x in range(0, width, 4) for y in range(0, min(height, 200), 4)
        if image.getpixel((x, y)) == (0, 0, 0)
    )  # fmt: skip
    return black > 200  # a 400x60 box sampled every 4 px gives ~1500; unmasked gives none
