"""Run a compiled SOP Workflow in a real browser (Playwright, sync API) and keep a run record.

`run_workflow` walks the step tree in order, checks the handlers ("Whenever the page shows T,
click X") before every step, finds elements with locate.py (never CSS paths) and records each
step (line, kind, text, strategy, seconds, status); secrets are never recorded. Every record and
every screenshot also goes to the run's observer as it happens (record.py). Handlers also run
during an action (Playwright locator handlers), for a pop-up that appears mid-step. The submit is
special: the element is found, `about_to_submit()` (the durable record) runs, then ONE click that
is never retried. Screenshots mask PHI fields (member id, names, date of birth) at capture time.

A person in the loop (only with an observer): a Hand over step, an Ask step and a step that is
stuck (element missing or ambiguous, a failed action) ask `observer.ask_person`; nobody answering
ends the run as it would without an observer. Self-healing happens only before the submit: a page
that failed to load is reloaded once, and a session that expired (the page shows the SOP's
sign-in form after a failed step) is signed in again and the current page section re-run, at most
twice a run. With `trace=True` a Playwright trace is written in chunks, paused while a secret is
typed (see `_Tracer`).

What belongs here: acting on the page per step kind, run values, the run record. Finding elements
is locate.py; compiling SOPs is sop.py; credentials come from the caller (the CLI or a service).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from precert.channels.portal import locate as loc
from precert.channels.portal.record import (
    Action,
    Answer,
    Question,
    QuietObserver,
    RunObserver,
    StepRecord,
)
from precert.channels.portal.workflow import Handler, Ref, Step, Workflow, interpolate, resolve
from precert.errors import (
    ChannelError,
    ChannelMisconfigured,
    ChannelUnavailable,
    Issue,
    PortalChanged,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Labels whose fields and values are PHI: masked in every screenshot.
PHI_LABELS = (
    "member id", "member number", "subscriber id", "patient name", "first name", "last name",
    "name", "date of birth", "dob", "birth date",
)  # fmt: skip
MASK_COLOR = "#000000"
_BLOCKS = ("if_shows", "for_each", "use_steps")
# Steps that type a secret (the Ask step types a person's answer, e.g. a CAPTCHA's characters);
# `Fill ... with secret` is one too (its `secret` argument says so).
SECRET_STEPS = ("log_in", "enter_totp", "enter_email_code", "ask")
MAX_SESSION_HEALS = 2  # an expired session is signed in again at most this often per run
FINISHED_BY_HAND = "finished_by_hand"


class Credentials(Protocol):
    """What a run may ask about a credential the SOP names (the vault or a quick-start stand-in)."""

    def login(self, name: str) -> tuple[str, str]: ...
    def totp(self, name: str) -> str: ...
    def email_code(self, name: str, sender: str) -> str: ...


@dataclass
class BrowserSettings:
    """How to get a browser: reuse `browser` (tests share one) or launch Chromium per run."""

    browser: Browser | None = None
    executable_path: str = CHROMIUM
    args: tuple[str, ...] = CHROMIUM_ARGS
    locate_timeout_seconds: float = 10.0
    wait_timeout_seconds: float = 15.0  # a `Wait for the text` without "up to N seconds"
    navigation_timeout_seconds: float = 30.0


@dataclass
class RunResult:
    """`outcome` is the Stop's outcome, "stopped_before_submit", or "completed" (no Stop)."""

    outcome: str
    values: dict[str, Any]
    steps: list[StepRecord]
    screenshots: list[str]
    reason: str | None = None
    submitted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "values": self.values,
            "steps": [step.as_dict() for step in self.steps],
            "screenshots": self.screenshots,
        }


class HandOver(ChannelError):
    """The SOP hands the run to a person (`Hand over to a person "reason"`): not a fault of the
    portal or of precert, so not a PortalChanged; `steps` is the run record up to here."""

    reason: str = ""
    screenshot: str | None = None
    steps: list[StepRecord]


class _Stop(Exception):
    def __init__(self, outcome: str, reason: str | None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.reason = reason


class _Heal(Exception):
    """A step failed on the SOP's sign-in form: unwind to the top-level walk, which signs in
    again and re-runs the page section from `resume` (index of its first top-level step, URL)."""

    def __init__(self, error: Exception, step: Step, resume: tuple[int, str]) -> None:
        super().__init__("the portal session expired")
        self.error = error
        self.step = step
        self.resume = resume


class _Secret:
    """A credential's parts for `{cred.username}` / `{cred.password}`, fetched on first use."""

    def __init__(self, credentials: Credentials, name: str) -> None:
        self._credentials = credentials
        self._name = name
        self._pair: tuple[str, str] | None = None

    def _get(self) -> tuple[str, str]:
        if self._pair is None:
            self._pair = self._credentials.login(self._name)
        return self._pair

    @property
    def username(self) -> str:
        return self._get()[0]

    @property
    def password(self) -> str:
        return self._get()[1]

    def __repr__(self) -> str:
        return f"<credential {self._name}>"


def run_workflow(
    workflow: Workflow,
    inputs: Mapping[str, Any],
    *,
    base_url: str,
    credentials: Credentials,
    browser: BrowserSettings | None = None,
    stop_before_submit: bool = False,
    about_to_submit: Callable[[], None] = lambda: None,
    artifacts_dir: Path,
    clock: Callable[[], float] = time.monotonic,
    observer: RunObserver | None = None,
    trace: bool = False,
) -> RunResult:
    """Run `workflow` with `inputs` against the portal at `base_url`; see the module docstring.

    `observer` gets every step record, screenshot and trace chunk as it happens and answers the
    run's questions (None: nobody is asked; a question ends the run as handed over). `trace`
    writes a Playwright trace in chunks `trace-01.zip`, ... in `artifacts_dir` (PHI: the caller
    encrypts them), none holding a typed secret."""
    settings = browser or BrowserSettings()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    watcher = observer if observer is not None else QuietObserver()
    with _browser(settings) as chromium, tempfile.TemporaryDirectory() as tmp:
        context = chromium.new_context(base_url=base_url, accept_downloads=False)
        tracer = _Tracer(context, artifacts_dir, watcher) if trace else None
        try:
            if tracer is not None:
                tracer.start()
            page = context.new_page()
            page.set_default_navigation_timeout(settings.navigation_timeout_seconds * 1000)
            page.set_default_timeout(settings.locate_timeout_seconds * 1000)
            run = _Run(
                workflow, inputs, page, credentials, settings, stop_before_submit,
                about_to_submit, artifacts_dir, clock, Path(tmp), watcher,
                person=observer is not None, tracer=tracer,
            )  # fmt: skip
            return run.execute()
        finally:
            try:
                if tracer is not None:
                    tracer.finish()
            finally:
                context.close()


@dataclass
class _Tracer:
    """A Playwright trace in chunks. `pause` (before a step that types a secret) ends the chunk
    being written and hands it to the observer; `resume` starts the next one. While paused
    nothing is recorded: no DOM snapshot (snapshots keep input values), no action parameters, no
    request bodies, so no chunk holds a typed password, code or CAPTCHA answer.

    Each chunk is a whole trace (`tracing.stop(path)` / `tracing.start`), not a Playwright
    `stop_chunk` / `start_chunk` pair: between chunks Playwright keeps logging the network into
    the trace's one network log, and the next chunk then carries the sign-in POST with the
    password in its body."""

    context: BrowserContext
    artifacts_dir: Path
    observer: RunObserver
    chunks: int = 0
    recording: bool = False
    # The URLs the page had before and after each secret step of this pause: a click that
    # leaves a page may return before the browser commits the next URL, so only a URL outside
    # this set proves the typed values left with their page.
    paused_urls: set[str] = field(default_factory=set)
    paused_depth: int = 0  # the step-group depth of the last secret step (its group's end resumes)

    def start(self) -> None:
        self.context.tracing.start(screenshots=True, snapshots=True)
        self.recording = True

    def pause(self) -> None:
        self._save()

    def resume(self) -> None:
        self.start()

    def finish(self) -> None:
        # The browser may have gone away with the run's own error: that error is the news.
        with contextlib.suppress(PlaywrightError):
            if self.recording:
                self._save()

    def _save(self) -> None:
        self.chunks += 1
        path = self.artifacts_dir / f"trace-{self.chunks:02d}.zip"
        self.context.tracing.stop(path=str(path))
        self.recording = False
        self.observer.trace(path)


@contextmanager
def _browser(settings: BrowserSettings) -> Iterator[Browser]:
    if settings.browser is not None:
        yield settings.browser
        return
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=settings.executable_path, args=list(settings.args), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class _Run:
    workflow: Workflow
    inputs: Mapping[str, Any]
    page: Page
    credentials: Credentials
    settings: BrowserSettings
    stop_before_submit: bool
    about_to_submit: Callable[[], None]
    artifacts_dir: Path
    clock: Callable[[], float]
    tmp: Path
    observer: RunObserver = field(default_factory=QuietObserver)
    person: bool = False  # an observer was given: questions go to a person
    tracer: _Tracer | None = None
    values: dict[str, Any] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)
    submitted: bool = False
    dismissing: bool = False  # a handler is clicking its button now
    depth: int = 0  # how many `Use the steps` groups the walk is inside
    signing_in: int = 0  # > 0 while the SOP's sign-in group runs (no heal from inside it)
    heals: int = 0
    sign_in: tuple[str, str] | None = None  # the sign-in group's name and its secret field's label
    top: int = 0  # index of the top-level step running now
    # Where each page section of the top-level walk began: (index of its first step, page URL).
    sections: list[tuple[int, str]] = field(default_factory=list)

    def execute(self) -> RunResult:
        self.values = dict(self.inputs)
        for name in self.workflow.header.credentials:
            self.values[name] = _Secret(self.credentials, name)
        self.sign_in = _sign_in_group(self.workflow)
        self._watch_overlays()
        outcome, reason = "completed", None
        try:
            self._walk()
        except _Stop as stop:
            outcome, reason = stop.outcome, stop.reason
        except HandOver as handover:
            handover.steps = list(self.steps)
            raise
        return RunResult(
            outcome, dict(self.read), list(self.steps), list(self.screenshots), reason,
            self.submitted,
        )  # fmt: skip

    # -- the walk ----------------------------------------------------------------------------------

    def _walk(self) -> None:
        """The top-level steps, one at a time, noting where each page section begins (the page
        URL changed between two top-level steps) so an expired session can resume its section."""
        steps = self.workflow.steps
        self.sections = [(0, self.page.url)]
        self.top = 0
        while self.top < len(steps):
            before = self.page.url
            try:
                self._steps([steps[self.top]])
            except _Heal as heal:
                self._heal(heal)
                continue
            if self.page.url != before:
                self.sections.append((self.top + 1, self.page.url))
            self.top += 1

    def _steps(self, steps: list[Step]) -> None:
        for step in steps:
            self._trace_before(step)
            while True:  # once, or again when a person says "retry"
                started = self.clock()
                try:
                    self._handlers()
                    strategy, status = self._one(step)
                except (_Stop, HandOver, _Heal) as stop:
                    # a block's inner step already recorded the stop; a heal recorded "failed"
                    if step.kind not in _BLOCKS and not isinstance(stop, _Heal):
                        self._record(step, None, started, "stopped")
                    raise
                except (PortalChanged, PlaywrightError) as error:
                    if step.kind in _BLOCKS:
                        raise  # its inner step recorded the failure and asked about it
                    self._record(step, None, started, "failed")
                    resume = self._healable(error)
                    if resume is not None:
                        raise _Heal(error, step, resume) from None
                    failure = (
                        self._changed(step, error) if isinstance(error, PlaywrightError) else error
                    )
                    if self._stuck(step, failure):
                        continue
                    raise failure from None
                break
            self._trace_after(step)
            if status:
                self._record(step, strategy, started, status)

    def _record(self, step: Step, strategy: str | None, started: float, status: str) -> None:
        seconds = max(0.0, self.clock() - started)
        self._append(StepRecord(step.line, step.kind, step.text, strategy, seconds, status))

    def _append(self, record: StepRecord) -> None:
        self.steps.append(record)
        self.observer.step(record)

    # -- a person in the loop ----------------------------------------------------------------------

    def _ask(
        self,
        kind: Literal["hand_over", "ask", "stuck"],
        reason: str,
        step: Step,
        screenshot: str | None,
        offers: tuple[Action, ...],
    ) -> Answer | None:
        """The person's answer, or None: no observer, nobody answered in time, or an action the
        question did not offer (never acted on: a "retry" must not reach a submit)."""
        if not self.person:
            return None
        self._append(StepRecord(step.line, step.kind, step.text, None, 0.0, "asked"))
        question = Question(
            kind, reason, step.line, step.text, screenshot, offers, submitted=self.submitted
        )
        answer = self.observer.ask_person(question)
        if answer is None or answer.action not in offers:
            return None
        return answer

    def _stuck(self, step: Step, failure: PortalChanged) -> bool:
        """Ask a person about a failed step: True to run it again ("retry"); a "by_hand" answer
        ends the run; False (stop, no answer) lets the failure go on. A submit is never retried."""
        offers: tuple[Action, ...] = (
            ("by_hand", "stop") if step.kind == "submit" else ("retry", "by_hand", "stop")
        )
        screenshot = getattr(failure, "screenshot", None) or _issue_path(failure)
        reason = failure.message
        answer = self._ask("stuck", reason, step, screenshot, offers)
        if answer is None or answer.action == "stop":
            return False
        if answer.action == "by_hand":
            raise _Stop(FINISHED_BY_HAND, f"line {step.line}: finished by hand after: {reason}")
        self._record(step, None, self.clock(), "resumed")
        return True

    # -- self-healing an expired session -----------------------------------------------------------

    def _healable(self, error: Exception) -> tuple[int, str] | None:
        """Where to resume after signing in again, when the failed step found the SOP's sign-in
        form on the page; None when this failure is not an expired session we may heal."""
        if (
            self.submitted
            or self.sign_in is None
            or self.signing_in
            or self.heals >= MAX_SESSION_HEALS
            or not isinstance(error, loc.AmbiguousElement | loc.ElementNotFound | PlaywrightError)
        ):
            return None
        if not self._sign_in_form_shown():
            return None
        # The section the failure happened in, unless the expiry itself started it (the page
        # moved to the sign-in form): then the one before.
        here = self.page.url
        for index, url in reversed(self.sections):
            if index <= self.top and url != here and url.startswith(("http://", "https://")):
                return index, url
        return None

    def _sign_in_form_shown(self) -> bool:
        """Whether the sign-in group's first secret field is on the page now (no waiting)."""
        assert self.sign_in is not None
        try:
            self.page.wait_for_load_state("load")
            loc.locate(self.page, self._text(self.sign_in[1]), kind="field", timeout_seconds=0)
        except loc.AmbiguousElement:
            return True
        except (PortalChanged, PlaywrightError):
            return False
        return True

    def _heal(self, heal: _Heal) -> None:
        """Sign in again with the SOP's sign-in group, go back to where the section began and
        walk on from its first step (the failed one runs again in its turn)."""
        assert self.sign_in is not None
        self.heals += 1
        step = heal.step
        self._append(StepRecord(step.line, "session_expired", step.text, None, 0.0, "healed"))
        self.signing_in += 1
        try:
            self._steps(self.workflow.groups[self.sign_in[0]])
        finally:
            self.signing_in -= 1
        index, url = heal.resume
        try:
            self.page.goto(url)
        except PlaywrightError:
            raise heal.error from None
        self.sections = [section for section in self.sections if section[0] < index]
        self.sections.append((index, url))
        self.top = index

    # -- the trace ---------------------------------------------------------------------------------

    def _trace_before(self, step: Step) -> None:
        """Pause the trace before a step that types a secret; resume it once the page has moved
        on to another URL (the typed value left with the old page)."""
        tracer = self.tracer
        if tracer is None:
            return
        if _types_secret(step):
            if tracer.recording:
                tracer.pause()
                tracer.paused_urls = set()
                self._trace_record(step, "paused")
            tracer.paused_urls.add(self.page.url)
            tracer.paused_depth = self.depth
        elif not tracer.recording and self.page.url not in tracer.paused_urls:
            tracer.resume()
            self._trace_record(step, "resumed")

    def _trace_after(self, step: Step) -> None:
        if self.tracer is not None and not self.tracer.recording and _types_secret(step):
            self.tracer.paused_urls.add(self.page.url)

    def _trace_group_end(self, step: Step) -> None:
        """The step group a secret was typed in is over: record again (a sign-in that stays
        on one URL)."""
        tracer = self.tracer
        if tracer is not None and not tracer.recording and tracer.paused_depth > self.depth:
            tracer.resume()
            self._trace_record(step, "resumed")

    def _trace_record(self, step: Step, status: str) -> None:
        text = (
            "the trace is paused while a secret is typed"
            if status == "paused"
            else "the trace records again"
        )
        self._append(StepRecord(step.line, "trace", text, None, 0.0, status))

    def _one(self, step: Step) -> tuple[str | None, str]:
        """Run one step; returns (strategy, status), status "" for blocks (their steps record)."""
        handler = getattr(self, "_do_" + step.kind, None)
        if handler is None:
            raise ChannelMisconfigured(f"line {step.line}: this runner cannot run {step.kind!r}")
        result: tuple[str | None, str] = handler(step)
        return result

    def _handlers(self) -> None:
        for handler in self.workflow.handlers:
            if self._shows(handler.text):
                self._dismiss(handler)

    def _watch_overlays(self) -> None:
        """Handlers also run DURING an action: a pop-up that appears after the check before a step
        (a session warning on a timer) would otherwise cover the element the step clicks.
        Playwright runs a locator handler before each actionability check; the action then goes
        ahead. Not while a handler is already dismissing (its own click is an action too)."""
        for handler in self.workflow.handlers:
            shown = self._shown(handler.text)
            self.page.add_locator_handler(
                shown, lambda _=None, h=handler: self._dismiss(h), no_wait_after=True
            )

    def _shown(self, text: str) -> Locator:
        return self.page.get_by_text(text).filter(visible=True).first

    def _dismiss(self, handler: Handler) -> None:
        if self.dismissing:
            return
        self.dismissing = True
        try:
            started = self.clock()
            found = self._locate(handler.click, kind="click")
            found.locator.click()
            # Gone before the run goes on (a pop-up closed by a form post comes back without it).
            expect(self._shown(handler.text)).to_be_hidden(
                timeout=self.settings.locate_timeout_seconds * 1000
            )
        finally:
            self.dismissing = False
        self._append(
            StepRecord(
                handler.line, "handler", f'Whenever the page shows "{handler.text}", '
                f'click "{handler.click}"', found.strategy, self.clock() - started, "handled",
            )
        )  # fmt: skip

    # -- helpers -----------------------------------------------------------------------------------

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
            mask_phi(self.page)
            self.page.screenshot(
                path=str(path),
                full_page=True,
                mask=[self.page.locator("[data-precert-phi]")],
                mask_color=MASK_COLOR,
            )
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
        found.locator.fill(_date_for(raw, found.locator.get_attribute("type") or "text",
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
        expect(options.first).to_be_visible(timeout=self.settings.locate_timeout_seconds * 1000)
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
        paths = _document_files(self._value(step.args["value"]), self.tmp)
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

    def _missing(self, step: Step, what: str) -> PortalChanged:
        path = self._shoot(f"line {step.line} {step.kind}")
        message = f"line {step.line}: {what}; the portal may have changed"
        if self.submitted:
            message += ". The submit already happened: check the status before trying again"
        return loc._error(loc.ElementNotFound, message, "text_not_found", path)  # type: ignore[no-any-return]

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

    def _do_if_shows(self, step: Step) -> tuple[str | None, str]:
        shows = self._shows(self._text(step.args["text"]))
        started = self.clock()
        self._record(step, None, started, "ok" if shows else "skipped")
        self._steps(step.body if shows else step.otherwise)
        return None, ""

    def _do_for_each(self, step: Step) -> tuple[str | None, str]:
        items = resolve(step.args["items"], self.values)
        name = step.args["item"].name
        self._record(step, None, self.clock(), "ok")
        for item in items if isinstance(items, list | tuple) else []:
            self.values[name] = item
            self._steps(step.body)
        self.values.pop(name, None)
        return None, ""

    def _do_use_steps(self, step: Step) -> tuple[str | None, str]:
        self._record(step, None, self.clock(), "ok")
        group = step.args["group"]
        signs_in = self.sign_in is not None and group == self.sign_in[0]
        self.depth += 1
        self.signing_in += signs_in
        try:
            self._steps(self.workflow.groups[group])
        finally:
            self.depth -= 1
            self.signing_in -= signs_in
        self._trace_group_end(step)
        return None, ""

    def _do_log_in(self, step: Step) -> tuple[str | None, str]:
        secret = _Secret(self.credentials, step.args["credential"].root)
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

    def _do_hand_over(self, step: Step) -> tuple[str | None, str]:
        reason = self._text(step.args["reason"])
        path = self._shoot(f"hand over line {step.line}")
        offers: tuple[Action, ...] = ("continue", "by_hand", "stop")
        answer = self._ask("hand_over", reason, step, path, offers)
        if answer is not None and answer.action == "continue":
            return None, "resumed"  # the person saw to the page; the next step goes on
        if answer is not None and answer.action == "by_hand":
            raise _Stop(FINISHED_BY_HAND, reason)
        raise _hand_over(step, reason, path)

    def _do_ask(self, step: Step) -> tuple[str | None, str]:
        """Type a person's answer (a CAPTCHA's characters) into the field; the answer is never
        recorded. The field is found first, so nobody is asked about a page without it."""
        question = self._text(step.args["question"])
        found = self._locate(self._text(step.args["label"]), kind="field")
        path = self._shoot(f"ask line {step.line}")
        answer = self._ask("ask", question, step, path, ("answer", "by_hand", "stop"))
        if answer is None or answer.action == "stop":
            raise _hand_over(step, question, path)
        if answer.action == "by_hand":
            raise _Stop(FINISHED_BY_HAND, question)
        found.locator.fill(answer.text)
        return found.strategy, "ok"

    def _do_submit(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["target"]), kind="click")
        if self.stop_before_submit:
            raise _Stop("stopped_before_submit", "stopped before the submit, as asked")
        self.about_to_submit()  # if this raises, the click never happens
        self.submitted = True
        try:
            found.locator.click(timeout=self.settings.locate_timeout_seconds * 1000)
        except PlaywrightError as error:
            raise self._changed(step, error) from None
        return found.strategy, "submitted"

    def _do_stop(self, step: Step) -> tuple[str | None, str]:
        reason = step.args.get("reason")
        raise _Stop(step.args["outcome"], self._text(reason) if reason else None)


def _types_secret(step: Step) -> bool:
    return step.kind in SECRET_STEPS or (step.kind == "fill" and bool(step.args.get("secret")))


def _hand_over(step: Step, reason: str, path: str | None) -> HandOver:
    message = f"line {step.line}: handed over to a person: {reason}"
    if path:
        message += f". Screenshot: {path}"
    error = HandOver(message, [Issue("hand_over", reason, path or "")])
    error.reason = reason
    error.screenshot = path
    error.steps = []
    return error


def _issue_path(error: PortalChanged) -> str | None:
    """The screenshot path a PortalChanged carries in its issue (as `_changed` writes it)."""
    return next((issue.location for issue in error.issues if issue.location), None)


def _sign_in_group(workflow: Workflow) -> tuple[str, str] | None:
    """The `## ` group that signs in (it holds a `Log in with` or a `Fill ... with secret` step)
    and the label of its first secret field, whose presence on a page means "signed out"."""

    def first_secret(steps: list[Step]) -> str | None:
        for step in steps:
            if step.kind == "log_in":
                return "Password"  # the field `_do_log_in` fills
            if step.kind == "fill" and step.args.get("secret"):
                return str(step.args["label"])
            inner = first_secret(step.body) or first_secret(step.otherwise)
            if inner:
                return inner
        return None

    for name, steps in workflow.groups.items():
        label = first_secret(steps)
        if label:
            return name, label
    return None


def _date_for(value: str, input_type: str, placeholder: str) -> str:
    """ISO for <input type=date>; MM/DD/YYYY when the field asks for it; else as given."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    if input_type == "date":
        return day.isoformat()
    if placeholder.strip().lower() in ("mm/dd/yyyy", "mm/dd/yy"):
        return day.strftime("%m/%d/%Y")
    return day.isoformat()


def _document_files(value: Any, tmp: Path) -> list[Path]:
    """Documents as files: a path, {"path"}, or {"name", "content" | "content_base64"} each."""
    import base64

    items = value if isinstance(value, list | tuple) else [value]
    paths: list[Path] = []
    for index, item in enumerate(items):
        if isinstance(item, str | Path):
            paths.append(Path(item))
            continue
        if not isinstance(item, Mapping):
            raise ChannelMisconfigured("a document is a path or {name, content}; fix the input")
        if item.get("path"):
            paths.append(Path(str(item["path"])))
            continue
        name = Path(str(item.get("name") or f"document-{index + 1}.txt")).name
        target = tmp / f"{index + 1}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.get("content_base64") is not None:
            target.write_bytes(base64.b64decode(str(item["content_base64"])))
        else:
            target.write_text(str(item.get("content", "")), encoding="utf-8")
        paths.append(target)
    return paths


def mask_phi(page: Page) -> int:
    """Mark PHI fields and the values shown next to PHI labels with `data-precert-phi`, so the
    screenshot masks them; returns how many were marked."""
    count: int = page.locator("body").evaluate(_MASK_JS, {"labels": list(PHI_LABELS)})
    return count


_MASK_JS = r"""(root, a) => {
  const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
  const phi = new Set(a.labels);
  const mark = (el) => { if (el) el.setAttribute('data-precert-phi', '1'); };
  for (const el of root.querySelectorAll('input, select, textarea')) {
    const names = [el.getAttribute('aria-label'), el.getAttribute('placeholder'),
      el.getAttribute('title'),
      el.getAttribute('name') && el.getAttribute('name').replace(/[_-]/g, ' ')];
    for (const lab of el.labels || []) names.push(lab.textContent);
    if (names.some((n) => phi.has(norm(n)))) mark(el);
  }
  for (const el of root.querySelectorAll('label, th, td, dt, span, div, p, strong, b')) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join(' ');
    if (!phi.has(norm(own))) continue;
    if (el.tagName === 'LABEL' && el.control) { mark(el.control); continue; }
    mark(el.nextElementSibling);
  }
  return root.querySelectorAll('[data-precert-phi]').length;
}"""
