"""The manual channel: a person reached the payer by phone, fax or portal and records what
happened (method, call or fax reference, the representative's name, the fax confirmation).

Nothing is sent from here, so a repeat is harmless; `check` has nothing to look up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from precert.channels.base import PayerAnswer, Receipt, Submission
from precert.errors import InvalidInput

METHODS = ("phone", "fax", "portal")
MAX_TEXT = 200
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class ManualSubmission:
    """What a person did: how it was sent, its reference, who they spoke to, and a note."""

    method: str | None = None
    reference: str | None = None
    rep_name: str | None = None
    fax_confirmation: str | None = None
    note: str = ""

    def as_details(self) -> dict[str, str]:
        """The facts as Submission.details (empty values left out); InvalidInput when wrong."""
        if self.method is not None and self.method not in METHODS:
            options = ", ".join(METHODS)
            raise InvalidInput.field(
                "method", f"method: {self.method!r} is not a way to submit; use {options}."
            )
        values = {
            "method": self.method or "",
            "reference": (self.reference or "").strip(),
            "rep_name": (self.rep_name or "").strip(),
            "fax_confirmation": (self.fax_confirmation or "").strip(),
            "note": self.note.strip(),
        }
        for key, value in values.items():
            limit = MAX_NOTE if key == "note" else MAX_TEXT
            if len(value) > limit:
                raise InvalidInput.field(key, f"{key}: at most {limit} characters.")
        return {key: value for key, value in values.items() if value}


def manual_note(details: dict[str, str] | None) -> str:
    """The timeline note for a manual submission, in a fixed form a person reads at a glance:
    "sent by fax, reference FAX-991: cover sheet attached"."""
    details = details or {}
    parts = [f"sent by {details['method']}" if details.get("method") else ""]
    if details.get("reference"):
        parts.append(f"reference {details['reference']}")
    if details.get("rep_name"):
        parts.append(f"spoke to {details['rep_name']}")
    if details.get("fax_confirmation"):
        parts.append(f"fax confirmation {details['fax_confirmation']}")
    head = ", ".join(part for part in parts if part)
    note = details.get("note", "")
    return f"{head}: {note}" if head and note else head or note


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ManualChannel:
    """Records a submission a person made; the receipt's reference is theirs (call or fax)."""

    name: ClassVar[str] = "manual"
    transmits: ClassVar[bool] = False
    inquires: ClassVar[bool] = False

    def __init__(self, *, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self._clock = clock

    def submit(self, submission: Submission) -> Receipt:
        details = dict(submission.details)
        reference = details.get("reference") or details.get("fax_confirmation") or ""
        return Receipt(self.name, reference, self._clock(), details)

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        return None  # the person records the decision when the payer calls or faxes back
