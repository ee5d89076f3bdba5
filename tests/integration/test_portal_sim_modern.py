"""Mock portal (a), the modern wizard, over real HTTP on 127.0.0.1: sign-in with password and
authenticator code, the session cookie and its idle timeout, the wizard's steps and checks (the
draft is the user's: it survives a new sign-in), decisions by member id prefix, "A request already
exists" for a reused "Your reference", the status search, and the variant (same labels, other
ids/classes/order). Forms are filled by their visible labels (the <label for> -> control -> name
chain), as an SOP runner would.

One Chromium test walks the wizard by role and label only (and, on the variant, the status search
and the session-timeout warning).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.integration.web.live_server import serving

from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Step
from precert.errors import InvalidInput
from precert.portal_sim.modern import create_modern_portal

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"

SECRET = pyotp.random_base32()
USERS = {"clinic-user": "correct horse battery"}
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


class Clock:
    """The portal's time, moved by the test (TOTP codes, idle timeout, decision delay)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


class FormReader(HTMLParser):
    """Labels -> control names, ids in order, classes, the form's action, and the buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: dict[str, str] = {}  # label text -> id
        self.names: dict[str, str] = {}  # id -> name
        self.ids: list[str] = []  # control ids in document order
        self.classes: set[str] = set()
        self.buttons: list[str] = []
        self._label: str | None = None
        self._button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.classes.update((a.get("class") or "").split())
        if tag == "label":
            self._label = a.get("for") or ""
            self.label_for[""] = ""
        if tag in ("input", "select") and a.get("id"):
            self.ids.append(a["id"] or "")
            self.names[a["id"] or ""] = a.get("name") or ""
        self._button = tag == "button"

    def handle_data(self, data: str) -> None:
        if self._label is not None and data.strip():
            self.label_for[data.strip()] = self._label
        if self._button and data.strip():
            self.buttons.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None
        self._button = False

    def name_of(self, label: str) -> str:
        return self.names[self.label_for[label]]

    def labels_in_order(self) -> list[str]:
        by_id = {v: k for k, v in self.label_for.items() if k}
        return [by_id[i] for i in self.ids if i in by_id]


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def text_after(html: str, label: str) -> str:
    """The <dd> right after <dt>label</dt> (what "Read the text after" reads)."""
    match = re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]*)</dd>", html)
    assert match, f"no {label!r} on the page"
    return match.group(1)


class Visitor:
    """One browser-less user of the portal: fills forms by label, follows redirects."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=True, timeout=30)
        self.clock = clock
        self.last: httpx.Response | None = None

    @property
    def page(self) -> httpx.Response:
        """The last page received."""
        assert self.last is not None
        return self.last

    def get(self, path: str, **params: str) -> httpx.Response:
        self.last = self.http.get(path, params=params)
        return self.last

    def send(
        self,
        action: str,
        values: Mapping[str, str],
        files: Mapping[str, list[tuple[str, bytes]]] | None = None,
    ) -> httpx.Response:
        """Post `values` (by label) to the form on the last page."""
        assert self.last is not None
        form = read_form(self.last.text)
        data = {form.name_of(label): value for label, value in values.items()}
        uploads = [
            (form.name_of(label), (name, body, "application/pdf"))
            for label, items in (files or {}).items()
            for name, body in items
        ]
        self.last = self.http.post(action, data=data, files=uploads or None)
        return self.last

    def sign_in(self, username: str = "clinic-user", password: str = USERS["clinic-user"]) -> None:
        self.get("/login")
        self.send("/login", {"Username": username, "Password": password})
        code = pyotp.TOTP(SECRET).at(self.clock())
        page = self.send("/login/verify", {"Authenticator code": code})
        assert page.status_code == 200
        assert "<h1>Dashboard</h1>" in page.text

    def wizard_to_review(
        self,
        reference: str,
        member: str = "MEM-1001",
        service: str = "Imaging",
        code: str = "72148",
    ) -> httpx.Response:
        self.get("/requests/new")
        assert "<h1>Prescreen</h1>" in self.page.text
        page = self.send(
            "/wizard/prescreen",
            {
                "Your reference": reference,
                "Member ID": member,
                "Date of birth": "1970-01-01",
                "Service type": service,
                "Procedure code": code,
            },
        )
        assert "<h1>Details</h1>" in page.text, page.text
        page = self.send(
            "/wizard/details",
            {
                "Ordering provider NPI": "1234567893",
                "Diagnosis": "M54.16",
                "Date of service": "2026-11-20",
            },
        )
        assert "<h1>Services</h1>" in page.text
        values = {"Units": "1"}
        if service == "Imaging":
            values["Body part"] = "Lumbar spine"
        page = self.send("/wizard/services", values)
        assert "<h1>Attachments</h1>" in page.text
        page = self.send(
            "/wizard/attachments",
            {},
            files={"Clinical documents": [("notes.pdf", b"%PDF-1.4 synthetic")]},
        )
        assert "<h1>Review</h1>" in page.text
        return page

    def submit(self) -> httpx.Response:
        return self.send("/wizard/submit", {"I confirm the information is accurate": "yes"})


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def portal(tmp_path: Path, clock: Clock, **options: Any) -> Iterator[Visitor]:
    app = create_modern_portal(
        tmp_path / "portal",
        clock=clock,
        totp_secret=SECRET,
        users=USERS,
        **options,
    )
    with serving(app) as url:
        visitor = Visitor(url, clock)
        yield visitor
        visitor.http.close()


@pytest.fixture()
def user(tmp_path: Path, clock: Clock) -> Iterator[Visitor]:
    yield from portal(tmp_path, clock, decision_delay=dt.timedelta(hours=1))


def test_sign_in_needs_the_password_and_then_the_authenticator_code(user: Visitor) -> None:
    assert "<h1>Dashboard</h1>" not in user.get("/dashboard").text  # sent to the sign-in page
    assert read_form(user.page.text).buttons == ["Sign in"]
    wrong = user.send("/login", {"Username": "clinic-user", "Password": "guess"})
    assert wrong.status_code == 401
    assert "The username or password is wrong." in wrong.text
    user.send("/login", {"Username": "clinic-user", "Password": USERS["clinic-user"]})
    assert read_form(user.page.text).buttons == ["Verify"]
    assert "<h1>Dashboard</h1>" not in user.get("/dashboard").text  # not before the code
    user.get("/login/verify")
    stale = pyotp.TOTP(SECRET).at(START - dt.timedelta(minutes=5))
    assert user.send("/login/verify", {"Authenticator code": stale}).status_code == 401
    user.sign_in()
    assert user.http.cookies.get("portal_session")
    assert 'href="/requests/new">New authorization request</a>' in user.page.text
    assert 'href="/status">Check status</a>' in user.page.text


def test_an_approved_request_gets_a_reference_and_an_authorization_number(user: Visitor) -> None:
    user.sign_in()
    review = user.wizard_to_review("pc-001")
    assert text_after(review.text, "Body part") == "Lumbar spine"
    assert text_after(review.text, "Clinical documents") == "notes.pdf"
    confirmation = user.submit()
    assert "<h1>Confirmation</h1>" in confirmation.text
    reference = text_after(confirmation.text, "Reference number")
    assert re.fullmatch(r"PA-2026-\d{6}", reference)
    assert ">Approved<" in confirmation.text
    assert re.fullmatch(r"AUTH\d{9}", text_after(confirmation.text, "Authorization number"))

    results = user.get(
        "/status", **{read_form(user.get("/status").text).name_of("Your reference"): "pc-001"}
    )
    assert '<h2 id="results-heading">Results</h2>' in results.text
    assert f'<a href="/requests/{reference}">View</a>' in results.text
    details = user.get(f"/requests/{reference}")
    assert "<h1>Request details</h1>" in details.text
    assert text_after(details.text, "Status") == "Approved"
    assert text_after(details.text, "Authorization number") == text_after(
        confirmation.text, "Authorization number"
    )


@pytest.mark.parametrize(
    ("member", "shown"),
    [("SIM-PEND-7", "Pended"), ("SIM-NA-7", "No authorization required")],
)
def test_member_prefixes_decide_pended_and_not_required(
    user: Visitor, member: str, shown: str
) -> None:
    user.sign_in()
    user.wizard_to_review("pc-" + member, member=member)
    confirmation = user.submit()
    assert f">{shown}<" in confirmation.text
    assert "Authorization number" not in confirmation.text
    assert ">Approved<" not in confirmation.text


def test_the_prescreen_answers_no_authorization_required_for_an_office_visit(user: Visitor) -> None:
    user.sign_in()
    user.get("/requests/new")
    page = user.send(
        "/wizard/prescreen",
        {
            "Your reference": "pc-ov",
            "Member ID": "MEM-2",
            "Date of birth": "1980-05-05",
            "Service type": "Therapy",
            "Procedure code": "99213",
        },
    )
    assert "<h1>No authorization required</h1>" in page.text
    assert "<h1>Prescreen</h1>" in user.get("/wizard/details").text  # the wizard ended there
    assert "No requests found" in user.get("/status", **{"your_reference": "pc-ov"}).text


def test_body_part_is_asked_only_for_imaging(user: Visitor) -> None:
    user.sign_in()
    user.wizard_to_review("pc-surgery", service="Surgery", code="29881")
    user.get("/wizard/services")
    assert "Units" in read_form(user.page.text).label_for
    assert "Body part" not in user.page.text
    user.wizard_to_review("pc-imaging")
    assert "Body part" in read_form(user.get("/wizard/services").text).label_for


def test_a_reused_reference_shows_the_existing_request_and_cannot_be_submitted(
    user: Visitor,
) -> None:
    user.sign_in()
    user.wizard_to_review("pc-dup")
    first = text_after(user.submit().text, "Reference number")
    review = user.wizard_to_review("pc-dup", member="MEM-OTHER")
    assert review.status_code == 409
    assert "A request already exists" in review.text
    assert text_after(review.text, "Existing reference") == first
    assert "Submit request" not in review.text
    # posting anyway (the plain portal names the box "confirm") is refused the same way
    refused = user.http.post("/wizard/submit", data={"confirm": "yes"})
    assert "A request already exists" in refused.text
    assert "<h1>Confirmation</h1>" not in refused.text
    results = user.get("/status", your_reference="pc-dup").text
    assert results.count(">View</a>") == 1


def test_the_wizard_checks_its_fields_and_cannot_be_entered_midway(user: Visitor) -> None:
    user.sign_in()
    user.get("/requests/new")
    assert "<h1>Prescreen</h1>" in user.get("/wizard/review").text  # sent back to the start
    page = user.send(
        "/wizard/prescreen",
        {
            "Your reference": "pc-bad",
            "Member ID": "",
            "Date of birth": "2999-01-01",
            "Service type": "Imaging",
            "Procedure code": "00000",
        },
    )
    assert page.status_code == 422
    assert "<h1>Prescreen</h1>" in page.text
    assert "This field is required." in page.text
    assert "This date cannot be in the future." in page.text
    assert "Pick a code from the suggestions." in page.text
    assert 'value="pc-bad"' in page.text  # what was typed stays
    review = user.wizard_to_review("pc-unconfirmed")
    assert review.status_code == 200
    unconfirmed = user.send("/wizard/submit", {})
    assert unconfirmed.status_code == 422
    assert "Tick the confirmation box to submit." in unconfirmed.text


def test_the_autocomplete_suggests_codes_by_prefix_and_description(user: Visitor) -> None:
    assert user.get("/suggest/procedure", q="721").status_code == 401  # signed-in users only
    user.sign_in()
    codes = [s["code"] for s in user.get("/suggest/procedure", q="7214").json()]
    assert codes == ["72141", "72148", "72149"]
    assert [s["code"] for s in user.get("/suggest/diagnosis", q="m5416").json()] == ["M54.16"]
    assert "G47.33" in [s["code"] for s in user.get("/suggest/diagnosis", q="apnea").json()]


def test_status_search_finds_nothing_and_decisions_arrive_after_the_delay(
    user: Visitor, clock: Clock
) -> None:
    user.sign_in()
    empty = user.get("/status", your_reference="never-sent")
    assert '<h2 id="results-heading">Results</h2>' in empty.text
    assert "No requests found" in empty.text
    assert "Results" not in user.get("/status").text  # before a search
    user.wizard_to_review("pc-deny", member="SIM-DENY-1")
    denied = text_after(user.submit().text, "Reference number")
    user.wizard_to_review("pc-info", member="SIM-INFO-1")
    info = text_after(user.submit().text, "Reference number")
    assert text_after(user.get(f"/requests/{denied}").text, "Status") == "Pended"
    clock.now += dt.timedelta(hours=2)
    user.get("/dashboard")  # (within the default: no idle timeout)
    page = user.get(f"/requests/{denied}").text
    assert text_after(page, "Status") == "Denied"
    assert text_after(page, "Denial reason")
    page = user.get(f"/requests/{info}").text
    assert text_after(page, "Status") == "More information requested"
    assert text_after(page, "Information requested")


def test_an_idle_session_expires_and_keep_alive_extends_it(tmp_path: Path, clock: Clock) -> None:
    for user in portal(tmp_path, clock, session_warning_seconds=60, session_timeout_seconds=300):
        user.sign_in()
        assert "Your session is about to expire" in user.page.text
        assert 'data-warn-after="60"' in user.page.text
        clock.now += dt.timedelta(seconds=200)
        assert user.http.post("/session/keep-alive").json() == {"signed_in": True}
        clock.now += dt.timedelta(seconds=200)
        assert "<h1>Dashboard</h1>" in user.get("/dashboard").text
        clock.now += dt.timedelta(seconds=301)
        assert "<h1>Dashboard</h1>" not in user.get("/dashboard").text
        assert read_form(user.page.text).buttons == ["Sign in"]
        assert user.http.post("/session/keep-alive").status_code == 401


def test_the_wizard_draft_survives_a_new_sign_in_of_the_same_user(
    tmp_path: Path, clock: Clock
) -> None:
    app = create_modern_portal(tmp_path / "portal", clock=clock, totp_secret=SECRET, users=USERS)
    with serving(app) as url:
        user = Visitor(url, clock)
        user.sign_in()
        user.wizard_to_review("pc-draft")
        assert app.state.portal.end_all_sessions() == 1
        assert "<h1>Review</h1>" not in user.get("/wizard/review").text  # signed out
        assert read_form(user.page.text).buttons == ["Sign in"]
        user.sign_in()
        review = user.get("/wizard/review")  # the draft is the user's, not the session's
        assert "<h1>Review</h1>" in review.text
        assert text_after(review.text, "Your reference") == "pc-draft"
        assert app.state.portal.sign_in_count() == 2
        other = Visitor(url, clock)  # another browser of the same user shares the draft too
        other.sign_in()
        assert "<h1>Review</h1>" in other.get("/wizard/review").text
        user.http.close()
        other.http.close()


def test_a_secret_that_is_not_base32_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="totp_secret"):
        create_modern_portal(tmp_path, totp_secret="not a secret!")


def test_no_session_warning_unless_turned_on(user: Visitor) -> None:
    user.sign_in()
    assert "Your session is about to expire" not in user.page.text


def test_the_variant_shows_the_same_labels_with_other_ids_classes_and_order(
    tmp_path: Path, clock: Clock
) -> None:
    pages: dict[bool, list[FormReader]] = {}
    for variant in (False, True):
        for user in portal(tmp_path / str(variant), clock, variant=variant):
            user.sign_in()
            seen = [read_form(user.get("/login").text)]
            for step in ("prescreen", "details", "services", "attachments"):
                user.wizard_to_review(f"pc-{variant}")
                seen.append(read_form(user.get(f"/wizard/{step}").text))
            review = user.wizard_to_review(f"pc-{variant}")
            seen.append(read_form(review.text))
            confirmation = user.submit()  # the variant works end to end by label
            assert ">Approved<" in confirmation.text
            assert text_after(confirmation.text, "Reference number")
            pages[variant] = seen
    for plain, other in zip(pages[False], pages[True], strict=True):
        assert sorted(plain.labels_in_order()) == sorted(other.labels_in_order())
        assert plain.buttons == other.buttons
        assert not set(plain.ids) & set(other.ids)
        assert not (plain.classes - {""}) & (other.classes - {""})
        if len(plain.ids) > 1:
            assert plain.labels_in_order() != other.labels_in_order()


def _sop_targets(steps: list[Step]) -> Iterator[tuple[str, str, str | None]]:
    """(kind, literal text, role) of every step naming a label, button, link or page text."""
    for step in steps:
        for key in ("label", "target", "text", "title"):
            value = step.args.get(key)
            if isinstance(value, str) and "{" not in value:
                yield step.kind, value, step.args.get("role")
        yield from _sop_targets(step.body)
        yield from _sop_targets(step.otherwise)


def test_every_label_and_text_of_the_shipped_sops_is_on_the_portal(
    tmp_path: Path, clock: Clock
) -> None:
    pages: list[str] = []
    for user in portal(tmp_path, clock, session_warning_seconds=60):
        pages += [user.get("/login").text]
        user.send("/login", {"Username": "clinic-user", "Password": USERS["clinic-user"]})
        pages.append(user.page.text)
        user.sign_in()
        pages.append(user.page.text)
        for member in ("MEM-1", "SIM-PEND-1", "SIM-NA-1", "SIM-DENY-1", "SIM-INFO-1"):
            for step in ("prescreen", "details", "services", "attachments"):
                user.wizard_to_review(member)
                pages.append(user.get(f"/wizard/{step}").text)
            pages.append(user.wizard_to_review(member, member=member).text)
            reference = text_after(user.submit().text, "Reference number")
            pages += [user.page.text, user.get(f"/requests/{reference}").text]
        pages.append(user.wizard_to_review("MEM-1").text)  # the duplicate warning
        user.get("/wizard/attachments")
        pages.append(user.send("/wizard/attachments", {}).text)  # "attach at least one document"
        pages += [user.get("/status").text, user.get("/status", your_reference="MEM-1").text]
        pages.append(user.get("/status", your_reference="nothing").text)
    forms = [read_form(page) for page in pages]
    labels = {label for form in forms for label in form.label_for}
    buttons = {button for form in forms for button in form.buttons}
    everything = "\n".join(pages)
    for name in ("modern-wizard-submit.md", "modern-wizard-status.md"):
        workflow = compile_sop((SOPS / name).read_text(), source=name)
        steps = workflow.steps + [s for group in workflow.groups.values() for s in group]
        for kind, text, role in _sop_targets(steps):
            if kind in (
                "fill",
                "choose",
                "set_date",
                "type_and_choose",
                "upload",
                "check",
                "enter_totp",
            ):
                assert text in labels, f"{name}: no label {text!r}"
            elif kind == "submit" or role == "button":
                assert text in buttons, f"{name}: no button {text!r}"
            elif role == "link":
                assert f">{text}</a>" in everything, f"{name}: no link {text!r}"
            else:
                assert text in everything, f"{name}: no text {text!r}"
        for handler in workflow.handlers:
            assert handler.text in everything
            assert handler.click in buttons


# -- one browser, by role and label only --------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_a_browser_walks_the_wizard_by_role_and_label(browser: Browser, tmp_path: Path) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4 synthetic clinical notes")

    def sign_in(page: Page) -> None:
        page.goto("/login")
        page.get_by_label("Username").fill("clinic-user")
        page.get_by_label("Password").fill(USERS["clinic-user"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Authenticator code").fill(pyotp.TOTP(SECRET).now())
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_text("Dashboard")).to_be_visible()

    def choose_suggestion(page: Page, label: str, typed: str, code: str) -> None:
        page.get_by_label(label).press_sequentially(typed)
        page.get_by_role("option", name=re.compile("^" + re.escape(code))).click()
        expect(page.get_by_label(label)).to_have_value(code)

    app = create_modern_portal(tmp_path / "a", totp_secret=SECRET, users=USERS)
    with serving(app) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        sign_in(page)
        page.get_by_role("link", name="New authorization request").click()
        expect(page.get_by_text("Prescreen")).to_be_visible()
        page.get_by_label("Your reference").fill("browser-1")
        page.get_by_label("Member ID").fill("MEM-3003")
        page.get_by_label("Date of birth").fill("1975-03-04")
        page.get_by_label("Service type").select_option(label="Imaging")
        choose_suggestion(page, "Procedure code", "7214", "72148")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Details")).to_be_visible()
        page.get_by_label("Ordering provider NPI").fill("1234567893")
        choose_suggestion(page, "Diagnosis", "M54.1", "M54.16")
        page.get_by_label("Date of service").fill("2026-12-01")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Services")).to_be_visible()
        page.get_by_label("Units").fill("1")
        page.get_by_label("Body part").fill("Lumbar spine")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Attachments")).to_be_visible()
        page.get_by_label("Clinical documents").set_input_files(notes)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Review")).to_be_visible()
        page.get_by_label("I confirm the information is accurate").check()
        page.get_by_role("button", name="Submit request").click()
        expect(page.get_by_text("Confirmation")).to_be_visible()
        expect(page.get_by_text("Approved", exact=True)).to_be_visible()
        reference = page.locator("dt:text-is('Reference number') + dd").inner_text()
        assert re.fullmatch(r"PA-\d{4}-\d{6}", reference)
        context.close()

    # the variant, same labels: status search, then the session warning (on after 1 s idle)
    variant = create_modern_portal(
        tmp_path / "b",
        variant=True,
        totp_secret=SECRET,
        users=USERS,
        session_warning_seconds=1,
    )
    with serving(variant) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        sign_in(page)
        page.get_by_role("link", name="Check status").click()
        expect(page.get_by_text("Status search")).to_be_visible()
        page.get_by_label("Your reference").fill("browser-1")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("No requests found")).to_be_visible()
        expect(page.get_by_text("Your session is about to expire")).to_be_visible()
        page.get_by_role("button", name="Stay signed in").click()
        expect(page.get_by_text("Your session is about to expire")).to_be_hidden()
        context.close()
