"""Mock payer portal (b), the older table-layout portal, over real HTTP on 127.0.0.1: log on with
an emailed code (the mail sink a list, and once a real IMAP mailbox under pymap), the CAPTCHA on
every Nth log-on, the "Important notice" pop-up, the submit form with its checks, duplicates by
"Your reference", the status search and detail page, the variant skin (other names, ids and order,
the same texts), the shipped legacy SOPs' labels against the pages, and one Chromium test that
fills the form by the label in the neighbouring table cell."""

from __future__ import annotations

import datetime as dt
import imaplib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from tests.integration.test_credentials import (  # noqa: F401  (imap_server is a fixture)
    IMAP_PASSWORD,
    IMAP_USER,
    ImapServer,
    imap_server,
)
from tests.integration.web.live_server import serving

from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Step
from precert.portal_sim.legacy.app import create_legacy_portal, imap_append_sink
from precert.portal_sim.legacy.state import SENDER, LegacyUser, PortalState
from precert.services.credentials import code_in_message

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
USER, PASSWORD, EMAIL = "clinic.user", "Legacy-Pa55", "codes@clinic.example"
USERS = {USER: LegacyUser(PASSWORD, EMAIL)}
FORM = {
    "Your reference": "REQ-7F3A",
    "Member ID": "XJH400123456",
    "Date of birth": "04/12/1961",
    "Requesting provider NPI": "1234567893",
    "Service type": "Imaging",
    "Procedure code": "70553",
    "Diagnosis code": "G43.909",
    "Date of service": "2026-12-02",  # the ISO form a runner's date step may type
    "Units": "1",
}
CERTIFY = "I certify that the information provided is accurate"
PDF = ("notes.pdf", b"%PDF-1.4 clinical notes", "application/pdf")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


# -- reading the table layout the way a label-driven client must -------------------------------


@dataclass
class Cell:
    text: str = ""
    controls: list[dict[str, str]] = field(default_factory=list)


class Rows(HTMLParser):
    """Table rows as cells (their text and their form controls), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[Cell]] = []
        self.cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.cell = Cell()
            self.rows[-1].append(self.cell)
        elif tag in ("input", "select", "textarea") and self.cell is not None:
            self.cell.controls.append({"tag": tag, **{k: v or "" for k, v in attrs}})

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.text += data


def bare(label: str) -> str:
    """A label without its trailing colon and required-asterisk: "Member ID: *" → "Member ID"."""
    return " ".join(label.split()).rstrip(" *").rstrip(":").strip()


def fields(page: str) -> dict[str, dict[str, str]]:
    """Each visible label → the control in the cell beside it (after it, or for a checkbox whose
    text follows it, before it)."""
    parser = Rows()
    parser.feed(page)
    found: dict[str, dict[str, str]] = {}
    for row in parser.rows:
        for i, cell in enumerate(row[:-1]):
            after = row[i + 1]
            if cell.text.strip() and not cell.controls and after.controls:
                found[bare(cell.text)] = after.controls[0]
            if cell.controls and cell.controls[0].get("type") == "checkbox" and after.text:
                found[bare(after.text)] = cell.controls[0]
    return found


def name_of(page: str, label: str) -> str:
    return fields(page)[label]["name"]


def labels_in_order(page: str) -> list[str]:
    return list(fields(page))


# -- the portal under test -----------------------------------------------------------------------


class Portal:
    """A served portal, its mail and an httpx client that keeps cookies and follows redirects."""

    def __init__(self, url: str, state: PortalState, mail: list[EmailMessage]) -> None:
        self.url = url
        self.state = state
        self.mail = mail
        self.http = httpx.Client(base_url=url, timeout=30, follow_redirects=True)

    def log_on(self, password: str = PASSWORD) -> httpx.Response:
        page = self.http.get("/login").text
        data = {name_of(page, "User ID"): USER, name_of(page, "Password"): password}
        return self.http.post("/login", data=data)

    def enter_code(self, page: str, code: str) -> httpx.Response:
        return self.http.post("/login/code", data={name_of(page, "Verification code"): code})

    def last_code(self) -> str:
        code = code_in_message(self.mail[-1].as_bytes())
        assert code is not None
        return code

    def signed_in(self) -> httpx.Response:
        answer = self.log_on()
        assert "Verification Code" in answer.text
        menu = self.enter_code(answer.text, self.last_code())
        assert "Main Menu" in menu.text
        return menu

    def submit(
        self, changes: dict[str, str] | None = None, *, certify: bool = True
    ) -> httpx.Response:
        page = self.http.get("/precert/new").text
        values = {**FORM, **(changes or {})}
        data = {name_of(page, label): value for label, value in values.items()}
        if certify:
            data[name_of(page, CERTIFY)] = "Y"
        files = [(name_of(page, "Clinical documents"), PDF)]
        return self.http.post("/precert/new", data=data, files=files)

    def search(self, reference: str) -> httpx.Response:
        page = self.http.get("/precert/status").text
        return self.http.get("/precert/status", params={name_of(page, "Your reference"): reference})


@contextmanager
def open_portal(
    root: Path, clock: Clock, *, variant: bool = False, captcha_every: int = 0
) -> Iterator[Portal]:
    mail: list[EmailMessage] = []
    app = create_legacy_portal(
        root,
        variant=variant,
        clock=clock,
        mail_sink=mail.append,
        captcha_every=captcha_every,
        users=USERS,
    )
    with serving(app) as url:
        portal = Portal(url, app.state.portal, mail)
        yield portal
        portal.http.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def portal(tmp_path: Path, clock: Clock) -> Iterator[Portal]:
    with open_portal(tmp_path / "portal", clock) as served:
        yield served


# -- logging on ----------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_sends_no_code(portal: Portal) -> None:
    answer = portal.log_on(password="not-the-password")
    assert "Invalid User ID or Password." in answer.text
    assert portal.mail == []
    assert portal.http.get("/main").url.path == "/login"


def test_the_code_is_emailed_and_only_the_right_one_signs_in(portal: Portal) -> None:
    answer = portal.log_on()
    assert answer.url.path == "/login/code"
    assert "A verification code has been sent" in answer.text
    [message] = portal.mail
    assert SENDER in message["From"] and message["To"] == EMAIL
    code = portal.last_code()
    assert re.fullmatch(r"\d{6}", code)

    wrong = "000000" if code != "000000" else "111111"
    refused = portal.enter_code(answer.text, wrong)
    assert "incorrect or has expired" in refused.text
    assert portal.http.get("/main").url.path == "/login"

    menu = portal.enter_code(refused.text, code)
    assert menu.url.path == "/main" and "Main Menu" in menu.text


def test_an_expired_code_is_refused_and_a_new_one_can_be_sent(portal: Portal, clock: Clock) -> None:
    answer = portal.log_on()
    first = portal.last_code()
    clock.now = START + dt.timedelta(minutes=11)
    assert "incorrect or has expired" in portal.enter_code(answer.text, first).text

    again = portal.http.post("/login/code/resend")
    assert len(portal.mail) == 2
    assert "Main Menu" in portal.enter_code(again.text, portal.last_code()).text


def test_the_notice_pops_up_after_log_on_until_closed(portal: Portal) -> None:
    menu = portal.signed_in()
    assert "Important notice" in menu.text and 'value="Close"' in menu.text
    assert "Important notice" in portal.http.get("/main").text  # it stays until closed

    closed = portal.http.post("/notice/close")
    assert closed.url.path == "/main" and "Important notice" not in closed.text
    assert "Submit a Precertification" in closed.text


def test_every_nth_log_on_must_pass_the_captcha_before_a_code_is_sent(
    tmp_path: Path, clock: Clock
) -> None:
    with open_portal(tmp_path / "portal", clock, captcha_every=2) as portal:
        first = portal.log_on()
        assert "Verify you are human" not in first.text and len(portal.mail) == 1

        second = portal.log_on()
        assert second.url.path == "/login/captcha"
        assert "Verify you are human" in second.text and len(portal.mail) == 1
        assert portal.http.get("/main").url.path == "/login"
        challenge = re.search(r"data-challenge>([A-Z0-9]+)<", second.text)
        assert challenge is not None
        answer_name = name_of(second.text, "Characters")

        wrong = portal.http.post("/login/captcha", data={answer_name: "WRONG1"})
        assert "did not match" in wrong.text and len(portal.mail) == 1
        fresh = re.search(r"data-challenge>([A-Z0-9]+)<", wrong.text)
        assert fresh is not None  # a wrong answer gets a new picture

        solved = portal.http.post("/login/captcha", data={answer_name: fresh.group(1).lower()})
        assert solved.url.path == "/login/code" and len(portal.mail) == 2
        assert "Main Menu" in portal.enter_code(solved.text, portal.last_code()).text

        third = portal.log_on()
        assert "Verify you are human" not in third.text


def test_unsigned_pages_send_you_to_log_on(portal: Portal) -> None:
    for path in ("/main", "/precert/new", "/precert/status", "/precert/PC0000001"):
        assert portal.http.get(path).url.path == "/login", path
    assert portal.http.post("/precert/new", data={}).url.path == "/login"


# -- submitting ----------------------------------------------------------------------------------


def test_the_form_has_each_label_in_the_cell_beside_its_field(portal: Portal) -> None:
    portal.signed_in()
    page = portal.http.get("/precert/new").text
    assert "<label" not in page
    assert '<td class="lbl" align="right">Member ID: <span class="req">*</span></td>' in page
    assert "Your reference:</td>" in page  # optional: a colon, no asterisk
    found = fields(page)
    assert found["Member ID"]["name"] == "fld_07"
    assert found["Service type"]["tag"] == "select"
    assert found["Clinical documents"]["type"] == "file"
    assert found[CERTIFY]["type"] == "checkbox"


def test_a_form_with_problems_is_shown_again_and_nothing_is_stored(portal: Portal) -> None:
    portal.signed_in()
    answer = portal.submit({"Member ID": "", "Date of birth": "12.04.61"}, certify=False)
    assert "Please correct the following" in answer.text
    assert "Member ID is required." in answer.text
    assert "Date of birth must be a date as MM/DD/YYYY." in answer.text
    assert "You must certify" in answer.text
    assert 'value="REQ-7F3A"' in answer.text  # what was typed stays
    assert portal.state.requests == []


def test_a_submission_is_approved_with_an_authorization_number(portal: Portal) -> None:
    portal.signed_in()
    answer = portal.submit()
    assert answer.url.path == "/precert/PC0000001/confirmation"
    assert "Submission Confirmation" in answer.text
    assert "<td class=lbl>Tracking number:</td><td><b>PC0000001</b></td>" in answer.text
    assert "<td class=lbl>Request status:</td><td><b>Approved</b></td>" in answer.text
    assert "Authorization number:</td><td><b>A5100001</b>" in answer.text
    [stored] = portal.state.requests
    assert stored.reference == "REQ-7F3A" and stored.documents == ["notes.pdf"]
    assert stored.date_of_birth == "1961-04-12" and stored.service_date == "2026-12-02"
    assert stored.submitted_at == START.isoformat()


def test_pended_and_denied_codes_give_those_outcomes(portal: Portal) -> None:
    portal.signed_in()
    pended = portal.submit({"Your reference": "REQ-P", "Procedure code": "72148"})
    assert "Request status:</td><td><b>Pended</b>" in pended.text
    assert "Pended for clinical review" in pended.text
    assert "Authorization number" not in pended.text
    denied = portal.submit({"Your reference": "REQ-D", "Procedure code": "97110"})
    assert "Request status:</td><td><b>Denied</b>" in denied.text
    assert "Denial reason:</td><td><b>Not medically necessary" in denied.text


def test_the_same_reference_is_refused_as_a_duplicate(portal: Portal) -> None:
    portal.signed_in()
    portal.submit()
    again = portal.submit({"Your reference": "req-7f3a", "Member ID": "XJH400999999"})
    assert "Duplicate Request" in again.text and "Nothing was submitted." in again.text
    assert "Existing tracking number:</td><td><b>PC0000001</b>" in again.text
    assert len(portal.state.requests) == 1


# -- status ---------------------------------------------------------------------------------------


def test_the_status_search_finds_a_request_by_reference_even_after_a_restart(
    tmp_path: Path, clock: Clock
) -> None:
    with open_portal(tmp_path / "portal", clock) as portal:
        portal.signed_in()
        portal.submit({"Procedure code": "72148"})
    with open_portal(tmp_path / "portal", clock) as portal:  # the same state directory
        portal.signed_in()
        none = portal.search("REQ-NOPE")
        assert "Search Results" in none.text and "No matching records found." in none.text

        found = portal.search("REQ-7F3A")
        assert "<caption>Search Results</caption>" in found.text
        assert re.search(r"<td>PC0000001</td><td>REQ-7F3A</td><td>2026-11-23</td>", found.text)
        detail = portal.http.get("/precert/PC0000001")
        assert "Precertification Detail" in detail.text
        assert "Request status:</td><td><b>Pended</b>" in detail.text

        portal.state.decide("PC0000001", "Approved")
        detail = portal.http.get("/precert/PC0000001")
        assert "Request status:</td><td><b>Approved</b>" in detail.text
        assert "Authorization number:</td><td><b>A5100001</b>" in detail.text
        assert portal.http.get("/precert/PC0009999").status_code == 404


# -- the variant ------------------------------------------------------------------------------


def test_the_variant_has_other_names_and_order_but_the_same_texts(
    tmp_path: Path, clock: Clock
) -> None:
    pages: dict[bool, str] = {}
    for variant in (False, True):
        with open_portal(tmp_path / f"portal-{variant}", clock, variant=variant) as portal:
            portal.signed_in()
            pages[variant] = portal.http.get("/precert/new").text
            if variant:
                normal_names = {name_of(pages[False], label): v for label, v in FORM.items()}
                refused = portal.http.post("/precert/new", data=normal_names)
                assert "Member ID is required." in refused.text  # the old names mean nothing
                assert "Request status:</td><td><b>Approved</b>" in portal.submit().text
    normal, variant_page = fields(pages[False]), fields(pages[True])
    assert set(normal) == set(variant_page)
    assert all(normal[k]["name"] != variant_page[k]["name"] for k in normal)
    assert all(normal[k].get("id") != variant_page[k].get("id") for k in normal)
    assert labels_in_order(pages[False]) != labels_in_order(pages[True])
    assert 'class="FormLabel2"' in pages[True] and 'class="lbl"' not in pages[True]


# -- the shipped SOPs against the pages -----------------------------------------------------------


def sop_labels(steps: list[Step]) -> set[str]:
    """The labels of the steps that find a field by its label."""
    found: set[str] = set()
    for step in steps:
        if step.kind in ("fill", "choose", "check", "set_date", "upload", "enter_email_code"):
            found.add(str(step.args["label"]))
        found |= sop_labels(list(step.body)) | sop_labels(list(step.otherwise or ()))
    return found


def all_steps(name: str) -> list[Step]:
    workflow = compile_sop((SOPS / name).read_text(encoding="utf-8"), source=name)
    return [*workflow.steps, *(s for group in workflow.groups.values() for s in group)]


def test_the_shipped_sops_name_labels_the_portal_shows(portal: Portal) -> None:
    log_on = fields(portal.http.get("/login").text)
    code_page = fields(portal.log_on().text)
    portal.enter_code(portal.http.get("/login/code").text, portal.last_code())
    form = fields(portal.http.get("/precert/new").text)
    search = fields(portal.http.get("/precert/status").text)
    shown = set(log_on) | set(code_page) | set(form)
    assert sop_labels(all_steps("legacy-portal-submit.md")) <= shown
    assert sop_labels(all_steps("legacy-portal-status.md")) <= set(log_on) | set(code_page) | set(
        search
    )


# -- the mail sink as a real mailbox (pymap) ---------------------------------------------------


def test_the_imap_sink_puts_the_code_in_a_real_mailbox(
    tmp_path: Path,
    clock: Clock,
    imap_server: ImapServer,  # noqa: F811
) -> None:
    sink = imap_append_sink("127.0.0.1", imap_server.port, IMAP_USER, IMAP_PASSWORD)
    app = create_legacy_portal(tmp_path / "portal", clock=clock, mail_sink=sink, users=USERS)
    with serving(app) as url, httpx.Client(base_url=url, follow_redirects=True) as http:
        page = http.get("/login").text
        answer = http.post(
            "/login", data={name_of(page, "User ID"): USER, name_of(page, "Password"): PASSWORD}
        )
        client = imaplib.IMAP4("127.0.0.1", imap_server.port)
        try:
            client.login(IMAP_USER, IMAP_PASSWORD)
            client.select("INBOX")
            _, ids = client.search(None, "FROM", SENDER)
            [number] = ids[0].split()
            _, data = client.fetch(number, "(RFC822)")
        finally:
            client.logout()
        raw = data[0][1]
        assert isinstance(raw, bytes)
        code = code_in_message(raw)
        assert code is not None
        menu = http.post("/login/code", data={name_of(answer.text, "Verification code"): code})
        assert "Main Menu" in menu.text


# -- a browser filling the form by the label in the neighbouring cell (one Chromium per module) ---

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONTROL = "*[self::input or self::select or self::textarea]"


def beside(label: str) -> str:
    """The XPath of the control in the cell after the cell reading `label` (colon, asterisk and
    spacing ignored) — the only way to find a field on this portal by what a person sees."""
    cell = f"//td[not(.//{CONTROL})][normalize-space(translate(., ':*', ''))='{label}']"
    return f"xpath={cell}/following-sibling::td[1]//{CONTROL}"


def box_before(text: str) -> str:
    return f"xpath=//td[normalize-space(.)='{text}']/preceding-sibling::td[1]//input"


def text_beside(page: Page, label: str) -> str:
    cell = f"//td[normalize-space(translate(., ':', ''))='{label}']/following-sibling::td[1]"
    return page.locator(f"xpath={cell}").inner_text().strip()


def test_chromium_fills_the_form_by_the_labels_in_neighbouring_cells(
    browser: Browser, tmp_path: Path, clock: Clock
) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(PDF[1])
    for variant in (False, True):
        with open_portal(tmp_path / f"portal-{variant}", clock, variant=variant) as portal:
            context = browser.new_context(base_url=portal.url)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto("/login")
            page.locator(beside("User ID")).fill(USER)
            page.locator(beside("Password")).fill(PASSWORD)
            page.get_by_role("button", name="Log On").click()
            page.locator(beside("Verification code")).fill(portal.last_code())
            page.get_by_role("button", name="Verify").click()

            notice = page.get_by_role("dialog")
            assert "Important notice" in notice.inner_text()
            notice.get_by_role("button", name="Close").click()
            page.get_by_role("link", name="Submit a Precertification").click()

            for label, value in FORM.items():
                field = page.locator(beside(label))
                if label == "Service type":
                    field.select_option(label=value)
                else:
                    field.fill(value)
            page.locator(beside("Clinical documents")).set_input_files(notes)
            page.locator(box_before(CERTIFY)).check()
            page.get_by_role("button", name="Submit Request").click()

            page.get_by_text("Submission Confirmation").wait_for()
            assert text_beside(page, "Tracking number") == "PC0000001"
            assert text_beside(page, "Request status") == "Approved"
            [stored] = portal.state.requests
            assert (stored.member_id, stored.service_type) == ("XJH400123456", "Imaging")
            assert stored.documents == ["notes.pdf"]
            context.close()
