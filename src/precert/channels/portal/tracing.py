"""The Playwright trace of a portal run, written in chunks and paused around secrets.

What belongs here: `Tracer` (start, pause, resume, finish; each chunk handed to the observer)
and when to pause and resume it: before a step that types a secret, and again once the page has
moved on to another URL or the step group the secret was typed in is over. The walk calls it
around every step (runner.py); the run record notes each pause and resume.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext
from playwright.sync_api import Error as PlaywrightError

from precert.channels.portal.record import RunObserver, StepRecord
from precert.channels.portal.workflow import Step

# Steps that type a secret (the Ask step types a person's answer, e.g. a CAPTCHA's characters);
# `Fill ... with secret` is one too (its `secret` argument says so).
SECRET_STEPS = ("log_in", "enter_totp", "enter_email_code", "ask")


def types_secret(step: Step) -> bool:
    return step.kind in SECRET_STEPS or (step.kind == "fill" and bool(step.args.get("secret")))


@dataclass
class Tracer:
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

    def before(self, step: Step, url: str, depth: int) -> str | None:
        """Pause before a step that types a secret; resume once the page has moved on to another
        URL (the typed value left with the old page). Returns "paused" or "resumed" when the
        trace did so (for the run record), else None. `depth`: the walk's step-group depth."""
        if types_secret(step):
            status = None
            if self.recording:
                self.pause()
                self.paused_urls = set()
                status = "paused"
            self.paused_urls.add(url)
            self.paused_depth = depth
            return status
        if not self.recording and url not in self.paused_urls:
            self.resume()
            return "resumed"
        return None

    def after(self, step: Step, url: str) -> None:
        """A secret step is done: the URL it left the page on still holds the typed value."""
        if not self.recording and types_secret(step):
            self.paused_urls.add(url)

    def group_end(self, depth: int) -> str | None:
        """The step group a secret was typed in is over (the walk is back at `depth`): record
        again (a sign-in that stays on one URL). Returns "resumed" when it did, else None."""
        if not self.recording and self.paused_depth > depth:
            self.resume()
            return "resumed"
        return None

    def _save(self) -> None:
        self.chunks += 1
        path = self.artifacts_dir / f"trace-{self.chunks:02d}.zip"
        self.context.tracing.stop(path=str(path))
        self.recording = False
        self.observer.trace(path)


def trace_record(step: Step, status: str) -> StepRecord:
    """The run record's line for a pause ("paused") or resume ("resumed") before `step`."""
    text = (
        "the trace is paused while a secret is typed"
        if status == "paused"
        else "the trace records again"
    )
    return StepRecord(step.line, "trace", text, None, 0.0, status)
