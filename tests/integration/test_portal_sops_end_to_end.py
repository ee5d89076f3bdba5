"""The shipped SOPs (src/precert/data/portal_sops/) end to end: the runner drives one Chromium
against mock portal (a), the modern wizard, and mock portal (b), the legacy table layout, each in
its normal and its variant skin, with logins leased from the real credentials vault (TOTP codes
from the stored secret; email codes delivered to a real IMAP server, pymap, and read back by the
vault). Also: the session-timeout warning dismissed by the SOP's handler mid-wizard, a CAPTCHA
handed over with a screenshot when no person is in the loop (tests/integration/
test_portal_person.py has one typing it), and `precert portal run --json` in process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import Request
from playwright.sync_api import Browser
from pydantic import SecretStr
from tests.conftest import TODAY
from tests.integration.test_credentials import (  # noqa: F401  (imap_server is a fixture)
    IMAP_PASSWORD,
    IMAP_USER,
    ImapServer,
    imap_server,
)
from tests.integration.web.live_server import serving
from typer.testing import CliRunner, Result

from precert.channels.portal.runner import (
    BrowserSettings,
    HandOver,
    RunResult,
    run_workflow,
)
from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Workflow
from precert.cli.main import app as cli_app
from precert.cli.portal_run import _VaultCredentials
from precert.config import Settings
from precert.errors import PortalChanged
from precert.portal_sim.legacy.app import create_legacy_portal, imap_append_sink
from precert.portal_sim.legacy.state import SENDER as LEGACY_SENDER
from precert.portal_sim.legacy.state import PortalState as LegacyState
from precert.portal_sim.modern import create_modern_portal
from precert.services import accounts
from precert.services import credentials as vault
from precert.services.context import Context, build_context
from precert.services.credentials import ImapSettings

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"
TOTP_SECRET = pyotp.random_base32()
MODERN_USER, MODERN_PASSWORD = "clinic.portal.user", "Modern-Pa55word"
LEGACY_USER, LEGACY_PASSWORD = "clinic.user", "Legacy-Pa55"  # the legacy portal's default user
ORG = "Northside Clinic"
DECISION_DELAY = dt.timedelta(seconds=20)


def workflow(name: str) -> Workflow:
    return compile_sop((SOPS / f"{name}.md").read_text(encoding="utf-8"), source=name)


MODERN_SUBMIT = workflow("modern-wizard-submit")
MODERN_STATUS = workflow("modern-wizard-status")
LEGACY_SUBMIT = workflow("legacy-portal-submit")
LEGACY_STATUS = workflow("legacy-portal-status")


@pytest.fixture
def org(ctx: Context) -> str:
    return accounts.create_organization(ctx, ORG)


@pytest.fixture
def documents(tmp_path: Path) -> list[str]:
    pdf = tmp_path / "clinical-notes.pdf"
    pdf.write_bytes(b"%PDF-1.4 synthetic clinical notes")
    return [str(pdf)]


def run(
    browser: Browser,
    ctx: Context,
    org: str,
    flow: Workflow,
    url: str,
    inputs: dict[str, Any],
    artifacts: Path,
) -> RunResult:
    """One run as `precert portal run --org --credential` makes it: lease, run, release."""
    holder = uuid.uuid4().hex[:12]
    assert vault.lease(ctx, org, "portal", holder) is not None
    credentials = _VaultCredentials(ctx, org, "portal", holder)
    try:
        return run_workflow(
            flow, inputs, base_url=url, credentials=credentials,
            browser=BrowserSettings(browser=browser), artifacts_dir=artifacts,
        )  # fmt: skip
    finally:
        assert vault.release(ctx, org, "portal", holder)


def request(key: str, member: str, service: str, code: str, docs: list[str]) -> dict[str, Any]:
    return {
        "request_key": key,
        "member_id": member,
        "date_of_birth": "1961-04-12",
        "provider_npi": "1234567893",
        "service_type": service,
        "procedure_code": code,
        "diagnosis_code": "M54.16",
        "service_date": "2026-12-02",
        "units": "1",
        "documents": docs,
        "body_part": "Lumbar spine",
    }


def kinds(result: RunResult) -> list[str]:
    return [step.kind for step in result.steps]


# -- portal (a): the modern wizard ----------------------------------------------------------------


def modern_rows(state_dir: Path, key: str) -> int:
    with sqlite3.connect(state_dir / "modern-portal.db") as db:
        found = db.execute("SELECT COUNT(*) FROM requests WHERE your_reference = ?", (key,))
        count: int = found.fetchone()[0]
    return count


@pytest.fixture
def modern_login(ctx: Context, org: str) -> str:
    vault.add_credential(
        ctx, org, "portal", username=MODERN_USER, password=MODERN_PASSWORD, totp_secret=TOTP_SECRET
    )
    return org


class PortalClock:
    """The portal's wall clock: real time (the authenticator codes are real) plus a jump the test
    makes to let the portal's decision delay pass without waiting for it."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


@pytest.mark.parametrize("variant", [False, True], ids=["normal", "variant"])
def test_modern_submit_and_status_sops_reach_every_outcome(
    browser: Browser,
    ctx: Context,
    modern_login: str,
    documents: list[str],
    tmp_path: Path,
    variant: bool,
) -> None:
    state_dir = tmp_path / "portal-a"
    clock = PortalClock()
    # SIM-DENY requests are pended at submission and denied once DECISION_DELAY has passed; the
    # jump stays inside the portal's authenticator window (one 30-second step either side).
    app = create_modern_portal(
        state_dir, variant=variant, clock=clock, totp_secret=TOTP_SECRET,
        users={MODERN_USER: MODERN_PASSWORD}, decision_delay=DECISION_DELAY,
    )  # fmt: skip
    with serving(app) as url:

        def go(flow: Workflow, inputs: dict[str, Any]) -> RunResult:
            return run(browser, ctx, modern_login, flow, url, inputs, tmp_path / "runs" / "x")

        approved = go(MODERN_SUBMIT, request("K-APP", "XJH400123", "Imaging", "72148", documents))
        pended = go(MODERN_SUBMIT, request("K-DENY", "SIM-DENY-1", "Surgery", "27447", documents))
        # Checked at once: the delay runs on real time, and a loaded machine makes runs slow.
        status = {"K-DENY": go(MODERN_STATUS, {"request_key": "K-DENY"})}
        # "No authorization required" answered by the prescreen, before anything is submitted.
        free = go(MODERN_SUBMIT, request("K-FREE", "XJH400124", "Therapy", "99213", documents))
        again = go(MODERN_SUBMIT, request("K-APP", "XJH400123", "Imaging", "72148", documents))
        status |= {key: go(MODERN_STATUS, {"request_key": key}) for key in ("K-APP", "K-NONE")}
        clock.ahead = DECISION_DELAY + dt.timedelta(seconds=5)
        denied = go(MODERN_STATUS, {"request_key": "K-DENY"})

    assert (approved.outcome, approved.submitted) == ("approved", True)
    assert approved.values["authorization_number"].startswith("AUTH")
    assert (pended.outcome, pended.submitted) == ("pended", True)
    assert "authorization_number" not in pended.values
    assert (free.outcome, free.submitted) == ("not_required", False)
    assert (again.outcome, again.submitted) == ("duplicate", False)
    assert again.values["existing_reference"] == approved.values["reference"]
    assert modern_rows(state_dir, "K-APP") == 1
    assert status["K-APP"].outcome == "approved"
    assert status["K-APP"].values["authorization_number"] == approved.values["authorization_number"]
    assert status["K-DENY"].outcome == "pended"
    assert status["K-NONE"].outcome == "not_found"
    assert denied.outcome == "denied" and denied.values["denial_reason"]
    assert all("enter_totp" in kinds(result) for result in (approved, denied))


def test_a_request_without_documents_is_handed_to_a_person_before_anything_is_submitted(
    browser: Browser, ctx: Context, modern_login: str, tmp_path: Path
) -> None:
    app = create_modern_portal(
        tmp_path / "portal-a", totp_secret=TOTP_SECRET, users={MODERN_USER: MODERN_PASSWORD}
    )
    with serving(app) as url, pytest.raises(HandOver) as handed:
        run(
            browser, ctx, modern_login, MODERN_SUBMIT, url,
            request("K-NODOCS", "XJH400126", "Imaging", "72148", []), tmp_path / "runs" / "n",
        )  # fmt: skip

    assert handed.value.reason.startswith("The portal needs at least one clinical document")
    assert "submit" not in [step.kind for step in handed.value.steps]


def test_a_code_the_portal_does_not_offer_stops_with_a_clear_message_before_any_submit(
    browser: Browser, ctx: Context, modern_login: str, tmp_path: Path, documents: list[str]
) -> None:
    app = create_modern_portal(
        tmp_path / "portal-a", totp_secret=TOTP_SECRET, users={MODERN_USER: MODERN_PASSWORD}
    )
    with serving(app) as url, pytest.raises(PortalChanged) as stopped:
        run(
            browser, ctx, modern_login, MODERN_SUBMIT, url,
            request("K-NOCODE", "XJH400127", "Surgery", "0001U", documents),
            tmp_path / "runs" / "c",
        )  # fmt: skip

    message = stopped.value.message
    assert 'no suggestion starting with "0001U" appeared' in message
    assert "Screenshot:" in message and modern_rows(tmp_path / "portal-a", "K-NOCODE") == 0


def test_a_session_warning_mid_wizard_is_dismissed_and_the_request_is_submitted_once(
    browser: Browser, ctx: Context, modern_login: str, documents: list[str], tmp_path: Path
) -> None:
    state_dir = tmp_path / "portal-a"
    app = create_modern_portal(
        state_dir,
        totp_secret=TOTP_SECRET,
        users={MODERN_USER: MODERN_PASSWORD},
        session_warning_seconds=1,
    )

    @app.middleware("http")
    async def slow_diagnosis_suggestions(request: Request, call_next: Any) -> Any:
        # A slow lookup on the wizard's second page: the run waits for the suggestion longer
        # than the portal's idle warning, so the warning shows while the step is under way.
        if request.url.path == "/suggest/diagnosis":
            await asyncio.sleep(2.0)
        return await call_next(request)

    with serving(app) as url:
        result = run(
            browser, ctx, modern_login, MODERN_SUBMIT, url,
            request("K-WARN", "XJH400125", "Imaging", "72148", documents), tmp_path / "runs" / "w",
        )  # fmt: skip

    assert result.outcome == "approved" and result.submitted
    handled = [step for step in result.steps if step.kind == "handler"]
    assert handled and all(step.status == "handled" for step in handled)
    lines = [step.line for step in result.steps]
    submit_line = next(step.line for step in result.steps if step.status == "submitted")
    assert lines.index(handled[0].line) < lines.index(submit_line)  # mid-wizard, then on
    assert [step.status for step in result.steps].count("submitted") == 1
    assert modern_rows(state_dir, "K-WARN") == 1


# -- portal (b): the legacy table layout, email codes through a real IMAP server -------------------


@pytest.fixture
def mailbox(request: pytest.FixtureRequest) -> ImapServer:
    """The pymap server of test_credentials.py (its `imap_server` fixture) under a name of ours."""
    server: ImapServer = request.getfixturevalue("imap_server")
    return server


@pytest.fixture
def legacy_login(ctx: Context, org: str, mailbox: ImapServer) -> str:
    imap = ImapSettings(
        host="127.0.0.1",
        port=mailbox.port,
        username=IMAP_USER,
        password=SecretStr(IMAP_PASSWORD),
        folder="INBOX",
        sender=LEGACY_SENDER,
        security="plain",
    )
    vault.add_credential(
        ctx, org, "portal", username=LEGACY_USER, password=LEGACY_PASSWORD, imap=imap
    )
    return org


def legacy_portal(
    tmp_path: Path, mailbox: ImapServer, variant: bool, captcha_every: int = 0
) -> Any:
    sink = imap_append_sink("127.0.0.1", mailbox.port, IMAP_USER, IMAP_PASSWORD)
    return create_legacy_portal(
        tmp_path / "portal-b", variant=variant, mail_sink=sink, captcha_every=captcha_every
    )


@pytest.mark.parametrize("variant", [False, True], ids=["normal", "variant"])
def test_legacy_submit_and_status_sops_with_emailed_codes_and_the_popup(
    browser: Browser,
    ctx: Context,
    legacy_login: str,
    mailbox: ImapServer,
    documents: list[str],
    tmp_path: Path,
    variant: bool,
) -> None:
    app = legacy_portal(tmp_path, mailbox, variant)
    portal: LegacyState = app.state.portal
    with serving(app) as url:

        def go(flow: Workflow, inputs: dict[str, Any]) -> RunResult:
            return run(browser, ctx, legacy_login, flow, url, inputs, tmp_path / "runs" / "x")

        approved = go(LEGACY_SUBMIT, request("L-APP", "XJH400123", "Imaging", "70553", documents))
        pended = go(LEGACY_SUBMIT, request("L-PEND", "XJH400124", "Imaging", "72148", documents))
        again = go(LEGACY_SUBMIT, request("L-APP", "XJH400123", "Imaging", "70553", documents))
        portal.decide(pended.values["reference"], "Denied")
        denied = go(LEGACY_STATUS, {"request_key": "L-PEND"})

    assert (approved.outcome, approved.submitted) == ("approved", True)
    assert approved.values["reference"].startswith("PC")
    assert approved.values["authorization_number"]
    assert (pended.outcome, pended.submitted) == ("pended", True)
    # This portal refuses a repeated "Your reference" only after the submit click.
    assert (again.outcome, again.submitted) == ("duplicate", True)
    assert again.values["existing_reference"] == approved.values["reference"]
    assert len(portal.by_reference("L-APP")) == 1
    assert denied.outcome == "denied" and denied.values["denial_reason"]
    assert denied.values["reference"] == pended.values["reference"]
    for result in (approved, pended, again, denied):
        assert "enter_email_code" in kinds(result)  # a fresh code from the mailbox each time
        assert "handler" in kinds(result)  # the "Important notice" pop-up, closed


def test_a_captcha_at_log_on_is_handed_to_a_person_with_a_screenshot(
    browser: Browser,
    ctx: Context,
    legacy_login: str,
    mailbox: ImapServer,
    documents: list[str],
    tmp_path: Path,
) -> None:
    app = legacy_portal(tmp_path, mailbox, variant=True, captcha_every=1)
    with serving(app) as url, pytest.raises(HandOver) as handed:
        run(
            browser, ctx, legacy_login, LEGACY_SUBMIT, url,
            request("L-CAP", "XJH400123", "Imaging", "70553", documents), tmp_path / "runs" / "c",
        )  # fmt: skip

    # Without a person in the loop (no observer) the SOP's Ask step hands the run over.
    assert handed.value.reason == "Type the characters shown in the picture"
    assert handed.value.screenshot and Path(handed.value.screenshot).is_file()
    assert handed.value.steps[-1].kind == "ask"
    assert "submit" not in [step.kind for step in handed.value.steps]
    assert app.state.portal.requests == []


# -- the command line ------------------------------------------------------------------------------


def in_a_thread(call: Callable[[], Result]) -> Result:
    """The command launches its own Playwright, which cannot start on a thread already running
    one (the module's browser): run it on a thread of its own, still in this process."""
    done: list[Result] = []
    worker = threading.Thread(target=lambda: done.append(call()))
    worker.start()
    worker.join()
    assert done, "the command's thread died without a result"
    return done[0]


def test_portal_run_prints_the_outcome_values_and_steps_as_json(
    sqlite_settings: Settings, documents: list[str], tmp_path: Path
) -> None:
    ctx = build_context(sqlite_settings, today=lambda: TODAY)
    organization = accounts.create_organization(ctx, ORG)
    vault.add_credential(
        ctx, organization, "acme", username=MODERN_USER, password=MODERN_PASSWORD,
        totp_secret=TOTP_SECRET,
    )  # fmt: skip
    ctx.engine.dispose()
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(request("K-CLI", "XJH400126", "Imaging", "72148", documents)))
    app = create_modern_portal(
        tmp_path / "portal-a", totp_secret=TOTP_SECRET, users={MODERN_USER: MODERN_PASSWORD}
    )
    env = {
        "PRECERT_DATABASE_URL": sqlite_settings.database_url,
        "PRECERT_DATA_DIR": str(sqlite_settings.data_dir),
    }
    with serving(app) as url:
        args = ["portal", "run", str(SOPS / "modern-wizard-submit.md"), "--input", str(inputs)]
        args += ["--base-url", url, "--org", ORG, "--credential", "acme", "--json"]
        result = in_a_thread(lambda: CliRunner().invoke(cli_app, args, env=env))

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"outcome", "values", "steps"}
    assert printed["outcome"] == "approved"
    assert printed["values"]["authorization_number"].startswith("AUTH")
    assert "submitted" in [step["status"] for step in printed["steps"]]
    assert MODERN_PASSWORD not in result.stdout and TOTP_SECRET not in result.stdout
    assert modern_rows(tmp_path / "portal-a", "K-CLI") == 1
    # the lease was released: another run may take the credential now
    ctx = build_context(sqlite_settings, today=lambda: TODAY)
    assert vault.lease(ctx, organization, "acme", "next-run") is not None
    ctx.engine.dispose()
