"""How a portal run ends: its result, a Stop, or a hand-over to a person.

What belongs here: `RunResult` (the outcome, values read, the run record, screenshots), `Stop`
(a Stop step, a stop before the submit, a run a person finished by hand) and `HandOver` (the run
is a person's now). Deciding when a run ends is runner.py and person.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from precert.channels.portal.record import StepRecord
from precert.errors import ChannelError

FINISHED_BY_HAND = "finished_by_hand"


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


class Stop(Exception):
    """The run ends here with `outcome` (not an error): unwinds the walk to `execute`."""

    def __init__(self, outcome: str, reason: str | None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.reason = reason
