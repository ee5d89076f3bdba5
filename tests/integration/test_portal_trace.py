"""The Playwright trace of a portal run, in real Chromium against both mock portals with the shipped
submit SOPs: chunks `trace-01.zip`, ... are handed to the observer as each completes; tracing
pauses while a secret is typed, so no entry of any chunk holds the password, an authenticator or
emailed code typed, or a person's CAPTCHA answer, while the member id (the page's PHI, which is why
the service encrypts traces) is in some chunk: the trace is real.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser
from tests.integration.test_portal_heal import MODERN_SUBMIT, PASSWORD, SECRET, USER, request
from tests.integration.test_portal_person import (
    LEGACY_SUBMIT,
    Logins,
    Person,
    challenge,
    legacy_request,
)
from tests.integration.web.live_server import serving

from precert.channels.portal.record import Answer, StepRecord
from precert.channels.portal.runner import BrowserSettings, RunResult, run_workflow
from precert.portal_sim.legacy.app import create_legacy_portal
from precert.portal_sim.legacy.state import DEFAULT_USERS
from precert.portal_sim.legacy.state import PortalState as LegacyState
from precert.portal_sim.modern import create_modern_portal

MEMBER_ID = "XJH400123"  # both requests' member id (synthetic)


def entries(chunk: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(chunk) as archive:
        for name in archive.namelist():
            yield name, archive.read(name)


def holds(data: bytes, secret: str) -> bool:
    """Whether `secret` is in an entry; a numeric code only as a whole token (not inside a
    timestamp such as 1764412345.123456)."""
    if secret.isdigit():
        return re.search(rb"(?<![\d.])" + secret.encode() + rb"(?![\d.])", data) is not None
    return secret.encode() in data


def assert_no_secret_and_the_member_id(chunks: list[Path], secrets: list[str]) -> None:
    assert chunks, "no trace chunk was handed over"
    found_member = False
    for chunk in chunks:
        for name, data in entries(chunk):
            for secret in secrets:
                assert not holds(data, secret), f"{chunk.name}:{name} holds a typed secret"
            found_member = found_member or MEMBER_ID.encode() in data
    assert found_member, "the member id is in no chunk: the trace recorded nothing real"


def trace_records(result: RunResult) -> list[StepRecord]:
    return [s for s in result.steps if s.kind == "trace"]


class Codes(Logins):
    """The modern portal's user, with every authenticator code it typed kept for the check."""

    def __init__(self) -> None:
        super().__init__([], USER)
        self.typed: list[str] = []

    def login(self, name: str) -> tuple[str, str]:
        return USER, PASSWORD

    def totp(self, name: str) -> str:
        code = pyotp.TOTP(SECRET).now()
        self.typed.append(code)
        return code


class EmailCodes(Logins):
    """The legacy portal's user, with every emailed code it typed kept for the check."""

    def __init__(self, mail: list[EmailMessage]) -> None:
        super().__init__(mail)
        self.typed: list[str] = []

    def email_code(self, name: str, sender: str) -> str:
        code = super().email_code(name, sender)
        self.typed.append(code)
        return code


def test_a_modern_portal_trace_holds_no_password_or_authenticator_code(
    browser: Browser, tmp_path: Path
) -> None:
    app = create_modern_portal(tmp_path / "portal-a", totp_secret=SECRET, users={USER: PASSWORD})
    person = Person()
    codes = Codes()
    artifacts = tmp_path / "artifacts"
    with serving(app) as url:
        result = run_workflow(
            MODERN_SUBMIT, request("K-TRACE", tmp_path / "notes.pdf"), base_url=url,
            credentials=codes, browser=BrowserSettings(browser=browser), artifacts_dir=artifacts,
            observer=person, trace=True,
        )  # fmt: skip

    assert result.outcome == "approved"
    assert codes.typed
    chunks = sorted(artifacts.glob("trace-*.zip"))
    assert person.traces == chunks  # every chunk reached the observer, in order
    assert [p.name for p in chunks] == [f"trace-{n:02d}.zip" for n in range(1, len(chunks) + 1)]
    assert_no_secret_and_the_member_id(chunks, [PASSWORD, *codes.typed])
    # paused at the password, resumed on the next page; the code pause is one with it (the
    # page moved to the code form only), resumed on the dashboard
    assert [s.status for s in trace_records(result)] == ["paused", "resumed"]
    assert len(chunks) == 2


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[tuple[str, LegacyState, list[EmailMessage]]]:
    mail: list[EmailMessage] = []
    app = create_legacy_portal(tmp_path / "portal-b", mail_sink=mail.append, captcha_every=1)
    with serving(app) as url:
        yield url, app.state.portal, mail


def test_a_legacy_portal_trace_holds_no_password_captcha_answer_or_emailed_code(
    browser: Browser, legacy: tuple[str, LegacyState, list[EmailMessage]], tmp_path: Path
) -> None:
    url, portal, mail = legacy
    typed: list[str] = []

    def read_the_picture(question: object) -> Answer:
        # Typed in lower case (the portal accepts either): the page shows the characters in
        # upper case, so only a recording of what was TYPED could hold this string.
        typed.append(challenge(portal).lower())
        return Answer("answer", typed[-1], by="nurse")

    person = Person(read_the_picture)
    codes = EmailCodes(mail)
    artifacts = tmp_path / "artifacts"
    result = run_workflow(
        LEGACY_SUBMIT, legacy_request(tmp_path / "notes.pdf"), base_url=url, credentials=codes,
        browser=BrowserSettings(browser=browser), artifacts_dir=artifacts, observer=person,
        trace=True,
    )  # fmt: skip

    assert (result.outcome, result.submitted) == ("approved", True)
    assert typed and codes.typed
    chunks = sorted(artifacts.glob("trace-*.zip"))
    assert person.traces == chunks
    password = DEFAULT_USERS["clinic.user"].password
    assert_no_secret_and_the_member_id(chunks, [password, *typed, *codes.typed])
    statuses = [s.status for s in trace_records(result)]
    assert statuses[0] == "paused" and statuses.count("paused") == statuses.count("resumed")
    assert len(chunks) == statuses.count("resumed") + 1
