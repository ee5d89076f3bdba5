"""A person in the loop: the questions a run asks its observer, and what each answer does.

Only with an observer (`run_workflow(..., observer=...)`): a Hand over step, an Ask step and a
step that is stuck (element missing or ambiguous, a failed action) ask `observer.ask_person`;
nobody answering (or an answer the question did not offer) ends the run as it would without an
observer. A submit is never retried.

What belongs here: asking (the "asked" line on the run record), the Hand over and Ask step kinds,
the stuck question, and the HandOver error a run ends with when nobody takes it on. The walk
that asks about a stuck step is runner.py.
"""

from __future__ import annotations

from typing import Literal

from precert.channels.portal.outcome import FINISHED_BY_HAND, HandOver, Stop
from precert.channels.portal.record import Action, Answer, Question, StepRecord
from precert.channels.portal.steps import PageSteps
from precert.channels.portal.workflow import Step
from precert.errors import Issue, PortalChanged


class PersonSteps(PageSteps):
    """The questions of a run; `person` is whether an observer was given (someone may answer)."""

    person: bool

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
        screenshot = getattr(failure, "screenshot", None) or issue_path(failure)
        reason = failure.message
        answer = self._ask("stuck", reason, step, screenshot, offers)
        if answer is None or answer.action == "stop":
            return False
        if answer.action == "by_hand":
            raise Stop(FINISHED_BY_HAND, f"line {step.line}: finished by hand after: {reason}")
        self._record(step, None, self.clock(), "resumed")
        return True

    def _do_hand_over(self, step: Step) -> tuple[str | None, str]:
        reason = self._text(step.args["reason"])
        path = self._shoot(f"hand over line {step.line}")
        offers: tuple[Action, ...] = ("continue", "by_hand", "stop")
        answer = self._ask("hand_over", reason, step, path, offers)
        if answer is not None and answer.action == "continue":
            return None, "resumed"  # the person saw to the page; the next step goes on
        if answer is not None and answer.action == "by_hand":
            raise Stop(FINISHED_BY_HAND, reason)
        raise hand_over_error(step, reason, path)

    def _do_ask(self, step: Step) -> tuple[str | None, str]:
        """Type a person's answer (a CAPTCHA's characters) into the field; the answer is never
        recorded. The field is found first, so nobody is asked about a page without it."""
        question = self._text(step.args["question"])
        found = self._locate(self._text(step.args["label"]), kind="field")
        path = self._shoot(f"ask line {step.line}")
        answer = self._ask("ask", question, step, path, ("answer", "by_hand", "stop"))
        if answer is None or answer.action == "stop":
            raise hand_over_error(step, question, path)
        if answer.action == "by_hand":
            raise Stop(FINISHED_BY_HAND, question)
        found.locator.fill(answer.text)
        return found.strategy, "ok"


def hand_over_error(step: Step, reason: str, path: str | None) -> HandOver:
    """The HandOver a run ends with at `step` (its run record is added by the walk)."""
    message = f"line {step.line}: handed over to a person: {reason}"
    if path:
        message += f". Screenshot: {path}"
    error = HandOver(message, [Issue("hand_over", reason, path or "")])
    error.reason = reason
    error.screenshot = path
    error.steps = []
    return error


def issue_path(error: PortalChanged) -> str | None:
    """The screenshot path a PortalChanged carries in its issue (as `_changed` writes it)."""
    return next((issue.location for issue in error.issues if issue.location), None)
