"""Self-healing an expired portal session, before the submit only.

A step that fails on the SOP's sign-in form (the session expired) is healed: the run signs in
again with the SOP's sign-in group, goes back to where the current page section began and walks
on from its first step, at most `MAX_SESSION_HEALS` times a run.

What belongs here: finding the sign-in group and the field that proves "signed out", telling an
expired session from another failure, the page-section bookkeeping (where each section of the
top-level walk began) and where to resume. Running the sign-in steps and going back is the
walk's (runner.py); the reload of a page that failed to load is the Go to step's (steps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from precert.channels.portal import locate as loc
from precert.channels.portal.workflow import Step, Workflow
from precert.errors import PortalChanged

MAX_SESSION_HEALS = 2  # an expired session is signed in again at most this often per run


class SessionExpired(Exception):
    """A step failed on the SOP's sign-in form: unwind to the top-level walk, which signs in
    again and re-runs the page section from `resume` (index of its first top-level step, URL)."""

    def __init__(self, error: Exception, step: Step, resume: tuple[int, str]) -> None:
        super().__init__("the portal session expired")
        self.error = error
        self.step = step
        self.resume = resume


def sign_in_group(workflow: Workflow) -> tuple[str, str] | None:
    """The `## ` group that signs in (it holds a `Log in with` or a `Fill ... with secret` step)
    and the label of its first secret field, whose presence on a page means "signed out"."""

    def first_secret(steps: list[Step]) -> str | None:
        for step in steps:
            if step.kind == "log_in":
                return "Password"  # the field the Log in step fills
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


@dataclass
class Sessions:
    """One run's healing state: the sign-in group (None: the SOP signs in nowhere, no healing),
    how often it healed, whether the sign-in group runs now, and the page sections."""

    sign_in: tuple[str, str] | None  # the sign-in group's name and its secret field's label
    heals: int = 0
    signing_in: int = 0  # > 0 while the SOP's sign-in group runs (no heal from inside it)
    # Where each page section of the top-level walk began: (index of its first step, page URL).
    sections: list[tuple[int, str]] = field(default_factory=list)

    def begin(self, url: str) -> None:
        """The walk starts: its first section begins at step 0 on `url`."""
        self.sections = [(0, url)]

    def moved(self, top: int, url: str) -> None:
        """Top-level step `top` left the page on another URL: a new section begins after it."""
        self.sections.append((top + 1, url))

    @contextmanager
    def running(self, group: str) -> Iterator[None]:
        """The walk runs step group `group` inside this block (no heal inside the sign-in)."""
        signs_in = self.sign_in is not None and group == self.sign_in[0]
        self.signing_in += signs_in
        try:
            yield
        finally:
            self.signing_in -= signs_in

    def healable(
        self,
        error: Exception,
        *,
        page: Page,
        top: int,
        submitted: bool,
        text: Callable[[str], str],
    ) -> tuple[int, str] | None:
        """Where to resume after signing in again, when the failed step found the SOP's sign-in
        form on the page; None when this failure is not an expired session we may heal. `top`:
        the top-level step running now; `text` interpolates the sign-in field's label."""
        if (
            submitted
            or self.sign_in is None
            or self.signing_in
            or self.heals >= MAX_SESSION_HEALS
            or not isinstance(error, loc.AmbiguousElement | loc.ElementNotFound | PlaywrightError)
        ):
            return None
        if not sign_in_form_shown(page, self.sign_in[1], text):
            return None
        # The section the failure happened in, unless the expiry itself started it (the page
        # moved to the sign-in form): then the one before.
        here = page.url
        for index, url in reversed(self.sections):
            if index <= top and url != here and url.startswith(("http://", "https://")):
                return index, url
        return None

    def heal(self) -> str:
        """A heal starts: count it; the name of the group that signs in again."""
        assert self.sign_in is not None
        self.heals += 1
        return self.sign_in[0]

    def resumed(self, index: int, url: str) -> None:
        """The walk goes on from top-level step `index` on `url`: later sections are forgotten."""
        self.sections = [section for section in self.sections if section[0] < index]
        self.sections.append((index, url))


def sign_in_form_shown(page: Page, label: str, text: Callable[[str], str]) -> bool:
    """Whether the sign-in group's first secret field `label` (interpolated by `text`) is on the
    page now (no waiting)."""
    try:
        page.wait_for_load_state("load")
        loc.locate(page, text(label), kind="field", timeout_seconds=0)
    except loc.AmbiguousElement:
        return True
    except (PortalChanged, PlaywrightError):
        return False
    return True
