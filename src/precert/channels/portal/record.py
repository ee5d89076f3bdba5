"""What a portal run tells the outside while it runs, and what it may ask a person.

What belongs here: the plain data and the protocol shared by the runner (which produces step
records, screenshots and trace files, and asks questions), the portal channel (which passes an
observer through), and the service that persists runs and waits for a person's answer
(services/portal_runs.py). No Playwright here: the channel protocol in channels/base.py imports
this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

# What a person may do about a question; a Question offers a subset.
#   continue: the page is fine as it is, go on with the next step (a plain hand-over)
#   retry:    try the step that failed again (the person checked the page; nothing else clicked)
#   answer:   type `text` where the SOP's "Ask a person" step says (a CAPTCHA's characters)
#   by_hand:  the person finishes this task on the portal and records it; the run ends
#   stop:     end the run here as handed over (the request keeps its exception)
Action = Literal["continue", "retry", "answer", "by_hand", "stop"]
ACTIONS: tuple[Action, ...] = ("continue", "retry", "answer", "by_hand", "stop")


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a run: SOP line, step kind, its text as written (no values, no secrets), the
    strategy that found the element, seconds taken, and what happened."""

    line: int
    kind: str
    text: str
    strategy: str | None
    seconds: float
    # ok, skipped, failed, healed, handled, stopped, submitted, asked, resumed, paused; besides
    # step kinds, `kind` may be handler, reload, session_expired or trace (pause/resume).
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "text": self.text,
            "strategy": self.strategy,
            "seconds": round(self.seconds, 3),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(
            int(data["line"]),
            str(data["kind"]),
            str(data["text"]),
            data.get("strategy"),
            float(data.get("seconds", 0.0)),
            str(data["status"]),
        )


@dataclass(frozen=True, slots=True)
class Question:
    """The run is paused on a page a person must look at.

    `kind`: "hand_over" (the SOP's Hand over step), "ask" (the SOP's Ask a person step: the
    answer is typed into the page), "stuck" (an element was missing or ambiguous, or a step
    failed). `screenshot` is the PHI-masked picture of the page now (a path the observer was
    given through `screenshot`). `submitted`: the submit click already happened.
    """

    kind: Literal["hand_over", "ask", "stuck"]
    reason: str
    line: int
    step: str
    screenshot: str | None
    offers: tuple[Action, ...]
    submitted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "line": self.line,
            "step": self.step,
            "screenshot": self.screenshot,
            "offers": list(self.offers),
            "submitted": self.submitted,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A person's answer to a Question: one of its `offers`; `text` for "answer"; `by` is who."""

    action: Action
    text: str = ""
    by: str = ""

    def __repr__(self) -> str:  # the text may be a code typed into a portal
        return f"Answer(action={self.action!r}, by={self.by!r})"


class RunObserver(Protocol):
    """Told about a run as it happens (the service persists it; the CLI may print it).

    Every method is called on the run's thread. `screenshot` and `trace` hand over a file the
    runner wrote (the observer may move or encrypt it; the runner does not read it again).
    `ask_person` blocks until a person answers, or returns None when nobody answered in time
    (the run then ends as handed over, as without an observer).
    """

    def step(self, record: StepRecord) -> None: ...
    def screenshot(self, path: Path) -> None: ...
    def trace(self, path: Path) -> None: ...
    def ask_person(self, question: Question) -> Answer | None: ...


class QuietObserver:
    """An observer that keeps nothing and answers nothing (a run without a person in the loop)."""

    def step(self, record: StepRecord) -> None:
        return None

    def screenshot(self, path: Path) -> None:
        return None

    def trace(self, path: Path) -> None:
        return None

    def ask_person(self, question: Question) -> Answer | None:
        return None
