"""Run a compiled SOP Workflow in a real browser (Playwright, sync API) and keep a run record.

`run_workflow` walks the step tree in order, checks the handlers ("Whenever the page shows T,
click X") before every step and records each step (line, kind, text, strategy, seconds, status);
secrets are never recorded. Every record and every screenshot also goes to the run's observer as
it happens (record.py). Handlers also run during an action (Playwright locator handlers), for a
pop-up that appears mid-step. The submit is special: the element is found, `about_to_submit()`
(the durable record) runs, then ONE click that is never retried.

What belongs here: the walk (steps in order, blocks, handlers, a failed step's way out), the
submit and Stop, and starting and ending a run. The rest has a module of its own:
steps.py, the step kinds that act on the page (elements found by locate.py, never CSS paths);
person.py, a person in the loop (Hand over, Ask, a stuck step); healing.py, an expired session
signed in again; tracing.py, the Playwright trace paused around secrets; masking.py, PHI masked
in screenshots; inputs.py, credentials, dates and documents; browser.py, getting Chromium;
outcome.py, how a run ends. Compiling SOPs is sop.py; credentials come from the caller (the CLI
or a service).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from precert.channels.portal.browser import CHROMIUM, CHROMIUM_ARGS, BrowserSettings, open_browser
from precert.channels.portal.healing import (
    MAX_SESSION_HEALS,
    SessionExpired,
    Sessions,
    sign_in_group,
)
from precert.channels.portal.inputs import Credentials, Secret
from precert.channels.portal.masking import MASK_COLOR, PHI_LABELS, mask_phi
from precert.channels.portal.outcome import FINISHED_BY_HAND, HandOver, RunResult, Stop
from precert.channels.portal.person import PersonSteps
from precert.channels.portal.record import QuietObserver, RunObserver, StepRecord
from precert.channels.portal.tracing import SECRET_STEPS, Tracer, trace_record
from precert.channels.portal.workflow import Handler, Step, Workflow, resolve
from precert.errors import ChannelMisconfigured, PortalChanged

# What callers import from here (the runner's public face); each lives in its own module.
__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "FINISHED_BY_HAND",
    "MASK_COLOR",
    "MAX_SESSION_HEALS",
    "PHI_LABELS",
    "SECRET_STEPS",
    "BrowserSettings",
    "Credentials",
    "HandOver",
    "RunResult",
    "mask_phi",
    "run_workflow",
]

_BLOCKS = ("if_shows", "for_each", "use_steps")


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
    encrypts them), none holding a typed secret (tracing.py)."""
    settings = browser or BrowserSettings()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    watcher = observer if observer is not None else QuietObserver()
    with open_browser(settings) as chromium, tempfile.TemporaryDirectory() as tmp:
        context = chromium.new_context(base_url=base_url, accept_downloads=False)
        tracer = Tracer(context, artifacts_dir, watcher) if trace else None
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
class _Run(PersonSteps):
    """One run: the walk over the workflow's steps (the page-acting step kinds are steps.py's,
    the questions person.py's)."""

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
    tracer: Tracer | None = None
    values: dict[str, Any] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)
    submitted: bool = False
    dismissing: bool = False  # a handler is clicking its button now
    depth: int = 0  # how many `Use the steps` groups the walk is inside
    top: int = 0  # index of the top-level step running now
    sessions: Sessions = field(default_factory=lambda: Sessions(None))  # healing.py

    def execute(self) -> RunResult:
        self.values = dict(self.inputs)
        for name in self.workflow.header.credentials:
            self.values[name] = Secret(self.credentials, name)
        self.sessions = Sessions(sign_in_group(self.workflow))
        self._watch_overlays()
        outcome, reason = "completed", None
        try:
            self._walk()
        except Stop as stop:
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
        self.sessions.begin(self.page.url)
        self.top = 0
        while self.top < len(steps):
            before = self.page.url
            try:
                self._steps([steps[self.top]])
            except SessionExpired as expired:
                self._heal(expired)
                continue
            if self.page.url != before:
                self.sessions.moved(self.top, self.page.url)
            self.top += 1

    def _steps(self, steps: list[Step]) -> None:
        for step in steps:
            self._trace_before(step)
            while True:  # once, or again when a person says "retry"
                started = self.clock()
                try:
                    self._handlers()
                    strategy, status = self._one(step)
                except (Stop, HandOver, SessionExpired) as stop:
                    # a block's inner step already recorded the stop; a heal recorded "failed"
                    if step.kind not in _BLOCKS and not isinstance(stop, SessionExpired):
                        self._record(step, None, started, "stopped")
                    raise
                except (PortalChanged, PlaywrightError) as error:
                    if step.kind in _BLOCKS:
                        raise  # its inner step recorded the failure and asked about it
                    self._record(step, None, started, "failed")
                    resume = self.sessions.healable(
                        error, page=self.page, top=self.top, submitted=self.submitted,
                        text=self._text,
                    )  # fmt: skip
                    if resume is not None:
                        raise SessionExpired(error, step, resume) from None
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

    def _one(self, step: Step) -> tuple[str | None, str]:
        """Run one step; returns (strategy, status), status "" for blocks (their steps record)."""
        handler = getattr(self, "_do_" + step.kind, None)
        if handler is None:
            raise ChannelMisconfigured(f"line {step.line}: this runner cannot run {step.kind!r}")
        result: tuple[str | None, str] = handler(step)
        return result

    # -- an expired session (healing.py decides when and where; the walk signs in again) --------

    def _heal(self, expired: SessionExpired) -> None:
        """Sign in again with the SOP's sign-in group, go back to where the section began and
        walk on from its first step (the failed one runs again in its turn)."""
        group = self.sessions.heal()
        step = expired.step
        self._append(StepRecord(step.line, "session_expired", step.text, None, 0.0, "healed"))
        with self.sessions.running(group):
            self._steps(self.workflow.groups[group])
        index, url = expired.resume
        try:
            self.page.goto(url)
        except PlaywrightError:
            raise expired.error from None
        self.sessions.resumed(index, url)
        self.top = index

    # -- the trace (tracing.py decides; the run record notes each pause and resume) ---------------

    def _trace_before(self, step: Step) -> None:
        if self.tracer is not None:
            self._traced(step, self.tracer.before(step, self.page.url, self.depth))

    def _trace_after(self, step: Step) -> None:
        if self.tracer is not None:
            self.tracer.after(step, self.page.url)

    def _trace_group_end(self, step: Step) -> None:
        if self.tracer is not None:
            self._traced(step, self.tracer.group_end(self.depth))

    def _traced(self, step: Step, status: str | None) -> None:
        if status:
            self._append(trace_record(step, status))

    # -- handlers ----------------------------------------------------------------------------------

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

    # -- blocks, the submit and Stop ---------------------------------------------------------------

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
        self.depth += 1
        try:
            with self.sessions.running(group):  # no heal from inside the sign-in group
                self._steps(self.workflow.groups[group])
        finally:
            self.depth -= 1
        self._trace_group_end(step)
        return None, ""

    def _do_submit(self, step: Step) -> tuple[str | None, str]:
        found = self._locate(self._text(step.args["target"]), kind="click")
        if self.stop_before_submit:
            raise Stop("stopped_before_submit", "stopped before the submit, as asked")
        self.about_to_submit()  # if this raises, the click never happens
        self.submitted = True
        try:
            found.locator.click(timeout=self.settings.locate_timeout_seconds * 1000)
        except PlaywrightError as error:
            raise self._changed(step, error) from None
        return found.strategy, "submitted"

    def _do_stop(self, step: Step) -> tuple[str | None, str]:
        # The page the outcome was read from, PHI masked: what the run page shows for a run that
        # ended well, and what a person checks when the outcome is questioned.
        self._shoot(f"outcome {step.args['outcome']}")
        reason = step.args.get("reason")
        raise Stop(step.args["outcome"], self._text(reason) if reason else None)
