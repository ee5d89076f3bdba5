"""The seam between precert and whatever transmits a fax: the `FaxSender` protocol and its receipt.

A sender takes finished PDF bytes, a destination number and the caller's reference (an idempotency
key that carries no PHI) and must never transmit the same reference twice.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol

from precert.errors import InvalidInput

# A reference becomes a file name or a gateway job id: keep it short, plain and free of PHI.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
_NUMBER_PUNCTUATION = re.compile(r"[\s().-]")


@dataclass(frozen=True, slots=True)
class FaxReceipt:
    """Proof a packet was handed over: the reference, when, and where it now is."""

    reference: str
    sent_at: dt.datetime
    location: str


class FaxSender(Protocol):
    def send(self, packet_pdf: bytes, *, to_number: str, reference: str) -> FaxReceipt:
        """Hand the packet over once; a repeated reference returns the first receipt."""
        ...


def checked_reference(reference: str) -> str:
    """The reference unchanged, or InvalidInput saying what a reference may contain."""
    if not _REFERENCE.fullmatch(reference):
        raise InvalidInput.field(
            "reference",
            "A fax reference is 1-80 letters, digits, '-' or '_', starting with a letter or digit.",
        )
    return reference


def normalized_number(to_number: str) -> str:
    """The fax number with spacing and punctuation removed ('+' kept), or InvalidInput."""
    number = _NUMBER_PUNCTUATION.sub("", to_number)
    digits = number.removeprefix("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise InvalidInput.field(
            "to_number",
            "The fax number must have 7 to 15 digits (spaces, dashes, dots, brackets and a "
            "leading '+' are allowed).",
        )
    return number
