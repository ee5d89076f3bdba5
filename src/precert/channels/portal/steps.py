"""The step kinds that act on the portal page, and what they share.

`PageSteps` is the half of a run (runner.py's `_Run`) that acts on one page: Go to (with its
reload-once self-heal before the submit), Click, Fill, Choose, Check, Set the date, Type and
choose, Upload, Press Enter, the waits and expectations, Read, and the sign-in steps (Log in,
authenticator and email codes). Secrets they type are never recorded.

What belongs here: one `_do_<kind>` method per such step kind and the helpers they share: run
values (`_text`, `_value`), finding elements (locate.py, never CSS paths), PHI-masked screenshots
(masking.py), the run record's lines and the errors that say the portal may have changed. The
walk, the block steps (If the page shows, For each, Use the steps), the submit and Stop are
runner.py; the steps that ask a person are person.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from precert.channels.portal import locate as loc
from precert.channels.portal.browser import BrowserSettings
from precert.channels.portal.inputs import Credentials, Secret, date_for, document_files
from precert.channels.portal.masking import masked_screenshot
from precert.channels.portal.record import RunObserver, StepRecord
from precert.channels.portal.workflow import Ref, Step, interpolate, resolve
from precert.errors import ChannelUnavailable, Issue, PortalChanged


class PageSteps:
    """The page-acting steps of a run; the run (runner.py's `_Run`, a dataclass) holds the state
    declared here."""

    page: Page
    settings: BrowserSettings
    credentials: Credentials
    artifacts_dir: Path
    tmp: Path  # a directory for document files made from inputs, gone after the run
    clock: Callable[[], float]
    observer: RunObserver
    values: dict[str, Any]  # inputs, credentials and what the run read so far
    read: dict[str, Any]  # what the run read (the result's values)
    steps: list[StepRecord]
    screenshots: list[str]
    submitted: bool

    # -- the run record, values and the page ------------------------------------------------------

    def _record(self, step: Step, strategy: str | None, started: float, status: str) -> None:
        seconds = max(0.0, self.clock() - started)
        self._append(StepRecord(step.line, step.kind, step.text, strategy, seconds, status))

    def _append(self, record: StepRecord) -> None:
        self.steps.append(record)
        self.observer.step(record)

    def _text(self, template: str) -> str:
        return interpolate(template, self.values)

    def _value(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return resolve(value, self.values)
        if isinstance(value, str):
            return self._text(value)
        return value

    def _shoot(self, reason: str) -> str | None:
        """A PHI-masked full-page screenshot in the artifacts dir; its path (None if it failed)."""
        slug = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-")[:40] or "shot"
        path = self.artifacts_dir / f"{len(self.screenshots) + 1:02d}-{slug}.png"
        try:
            masked_screenshot(self.page, path)
        except PlaywrightError:
            return None  # a screenshot must never hide the error it illustrates
        self.screenshots.append(str(path))
        self.observer.screenshot(path)  # it may encrypt and remove the file: never read it again
        return str(path)

    def _locate(
        self, label: str, *, kind: loc.Kind, role: str | None = None, scope: Any = None
    ) -> loc.Located:
        return loc.locate(
            self.page, label, kind=kind, role=role, scope=scope,
            timeout_seconds=self.settings.locate_timeout_seconds, shoot=self._shoot,
        )  # fmt: skip

    def _shows(self, text: str) -> bool:
        """Whether `text` is visible now (after the page finished loading; no waiting for it)."""
        try:
            self.page.wait_for_load_state("load")
            return self.page.get_by_text(text).filter(visible=True).count() > 0
        except PlaywrightError:
            return False

    def _changed(self, step: Step, error: PlaywrightError) -> PortalChanged:
        path = self._shoot(f"line {step.line} {step.kind}")
        first = (str(error.message) or "").splitlines()[0][:200]
        message = f"line {step.line} ({step.kind}) failed on the portal: {first}."
        if self.submitted:
            message += " The submit already happened: check the status before trying again."
        if path:
            message += f" Screenshot: {path}"
        return PortalChanged(message, [Issue("portal_step_failed", message, path or "")])

    def _missing(self, step: Step, what: str) -> PortalChanged:
        path = self._shoot(f"line {step.line} {step.kind}")
        message = f"line {step.line}: {what}; the portal may have changed"
        if self.submitted:
            message += ". The submit already happened: check the status before trying again"
        return loc._error(loc.ElementNotFound, message, "text_not_found", path)  # type: ignore[no-any-return]

    # -- step kinds --------------------------------------------------------------------------------

    def _do_go_to(self, step: Step) -> tuple[str | None, str]:
        url = str(self._value(step.args["url"]))
        try:
            response = self.page.goto(url)
            if response is None or response.status < 500:
                return None, "ok"
            failure: str = f"HTTP {response.status}"
        except PlaywrightError as error:
            failure = (str(error.message) or "").splitlines()[0][:200]
        if self.submitted:
            raise PortalChanged(
                f"line {step.line}: {url} did not load after the submit ({failure}); check the "
                "status before trying again"
            )
        # Self-healing, before the submit only: one reload, logged on the run record.
        self._append(StepRecord(step.line, "reload", step.text, None, 0.0, "healed"))
        try:
            response = self.page.goto(url)
        except PlaywrightError as error:
            raise ChannelUnavailable(
                f"line {step.line}: {url} did not load twice ({error.message.splitlines()[0]}); "
                "nothing was submitted, try again later"
            ) from None
        if response is not None and response.status >= 500:
            raise ChannelUnavailable(
                f"line {step.line}: {url} answered HTTP {response.status} twice; nothing was "
                "submitted, try again later"
            )
        return None, "ok"

    def _do_click(self, step: Step) -> tuple[str | None, str]:
        scope = None
        if step.args.get("section"):
            scope = loc.section(self.page, self._text(step.args["section"]), shoot=self._shoot)
        if step.args.get("row") is not None:
            row_text = str(self._value(step.args["row"]))
            scope = loc.row(self.page, row_text, scope=scope, shoot=self._shoot)
        found = self._locate(
            self._text(step.args["target"]), kind="click", role=step.args.get("role"), scope=scope
        )
        found.locator.click()
        return found.strategy, "ok"

    def _do_fill(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="field")
        found.locator.fill(str(self._value(step.args["value"])))
        return found.strategy, "ok"

    def _do_choose(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="select")
        value = str(self._value(step.args["value"]))
        try:
            found.locator.select_option(label=value, timeout=2000)
        except PlaywrightError:
            found.locator.select_option(value=value)
        return found.strategy, "ok"

    def _do_check(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="checkbox")
        found.locator.check()
        return found.strategy, "ok"

    def _do_uncheck(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="checkbox")
        found.locator.uncheck()
        return found.strategy, "ok"

    def _do_set_date(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="field")
        raw = str(self._value(step.args["value"]))
        found.locator.fill(date_for(raw, found.locator.get_attribute("type") or "text",
                                     found.locator.get_attribute("placeholder") or ""))  # fmt: skip
        return found.strategy, "ok"

    def _do_type_and_choose(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="field")
        found.locator.fill("")
        found.locator.press_sequentially(str(self._value(step.args["value"])))
        prefix = str(self._value(step.args["prefix"]))
        starts = re.compile(r"^\s*" + re.escape(prefix), re.IGNORECASE)
        options = self.page.locator("[role=option], [role=listbox] li, datalist option, ul li")
        options = options.filter(has_text=starts).filter(visible=True)
        try:
            expect(options.first).to_be_visible(timeout=self.settings.locate_timeout_seconds * 1000)
        except AssertionError:  # Playwright's expect fails with AssertionError, not its Error
            raise self._missing(
                step,
                f'no suggestion starting with "{prefix}" appeared; the portal may not offer '
                "this code (check it, or finish this request on the portal by hand)",
            ) from None
        if options.count() > 1:
            path = self._shoot(f"ambiguous suggestion line {step.line}")
            raise loc._error(
                loc.AmbiguousElement,
                f"line {step.line}: {options.count()} suggestions start with the typed value; "
                "type more of it",
                "ambiguous_element",
                path,
            )
        options.first.click()
        return found.strategy, "ok"

    def _do_upload(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="file")
        paths = document_files(self._value(step.args["value"]), self.tmp)
        found.locator.set_input_files([str(p) for p in paths])
        return found.strategy, "ok"

    def _do_press_enter(self, step: Step) -> tuple[str | None, str]:
        self.page.keyboard.press("Enter")
        return None, "ok"

    def _do_wait_for_text(self, step: Step) -> tuple[str | None, str]:
        seconds = step.args.get("timeout_seconds") or self.settings.wait_timeout_seconds
        text = self._text(step.args["text"])
        try:
            expect(self.page.get_by_text(text).filter(visible=True).first).to_be_visible(
                timeout=seconds * 1000
            )
        except AssertionError:
            raise self._missing(step, f'"{text}" did not appear within {seconds} seconds') from None
        return None, "ok"

    def _do_wait_until_gone(self, step: Step) -> tuple[str | None, str]:
        text = self._text(step.args["text"])
        try:
            expect(self.page.get_by_text(text).filter(visible=True)).to_have_count(
                0, timeout=self.settings.wait_timeout_seconds * 1000
            )
        except AssertionError:
            raise self._missing(step, f'"{text}" did not go away') from None
        return None, "ok"

    def _do_expect_text(self, step: Step) -> tuple[str | None, str]:
        text = self._text(step.args["text"])
        try:
            expect(self.page.get_by_text(text).filter(visible=True).first).to_be_visible(
                timeout=self.settings.locate_timeout_seconds * 1000
            )
        except AssertionError:
            raise self._missing(step, f'the page does not show "{text}"') from None
        return None, "ok"

    def _do_read_text(self, step: Step) -> tuple[str | None, str]:
        label = self._text(step.args["label"])
        self.page.wait_for_load_state("load")
        texts = [t for t in loc.text_after(self.page, label) if t]
        pattern = step.args.get("pattern")
        if pattern:
            matches = [m for m in (re.search(pattern, t) for t in texts) if m]
            texts = [m.group(1) if m.re.groups else m.group(0) for m in matches]
        unique = sorted(set(texts))
        if len(unique) != 1:
            what = "no text" if not unique else f"{len(unique)} different texts"
            raise self._missing(step, f'found {what} after "{label}"')
        self.values[step.args["into"].name] = self.read[step.args["into"].name] = unique[0]
        return "text_after", "ok"

    def _do_read_table(self, step: Step) -> tuple[str | None, str]:
        title = self._text(step.args["title"])
        self.page.wait_for_load_state("load")
        tables = loc.table_rows(self.page, title)
        if len(tables) != 1:
            what = "no table" if not tables else f"{len(tables)} tables"
            raise self._missing(step, f'found {what} titled "{title}"')
        self.values[step.args["into"].name] = self.read[step.args["into"].name] = tables[0]
        return "table", "ok"

    def _do_log_in(self, step: Step) -> tuple[str | None, str]:
        secret = Secret(self.credentials, step.args["credential"].root)
        self._locate("Username", kind="field").locator.fill(secret.username)
        self._locate("Password", kind="field").locator.fill(secret.password)
        found = self._locate("Sign in", kind="click")
        found.locator.click()
        return found.strategy, "ok"

    def _do_enter_totp(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="field")
        found.locator.fill(self.credentials.totp(step.args["credential"].root))
        return found.strategy, "ok"

    def _do_enter_email_code(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["label"]), kind="field")
        code = self.credentials.email_code(
            step.args["credential"].root, self._text(step.args["sender"])
        )
        found.locator.fill(code)
        return found.strategy, "ok"
