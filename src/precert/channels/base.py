"""The Channel protocol every way of reaching a payer implements, and the values it passes:
the Submission going out and the Receipt coming back.

A channel translates its own library's failures into the ChannelError family (precert.errors):
ChannelUnavailable (nothing sent, retry), PayerRejected, PortalChanged, ChannelMisconfigured.
Channels never import services or store: everything they need arrives in the Submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol

from precert.domain.authorizations import AuthorizationRequest
from precert.domain.determinations import Determination


class SubmittedDocument(NamedTuple):
    """One decrypted document going to the payer: the checklist item it answers, its type, bytes."""

    name: str
    media_type: str
    data: bytes

    def __repr__(self) -> str:  # never the bytes
        return f"SubmittedDocument(name={self.name!r}, media_type={self.media_type!r})"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the payer's configuration says to send it: the pack's channel entry (type, address)."""

    type: str
    address: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class Submission:
    """Everything a channel needs to send one request once.

    `idempotency_key` is the request id plus the attempt number: a channel must never transmit
    the same key twice (a repeat returns the first receipt). `details` are the facts a person
    gives for work done by hand (method, reference, rep name, fax confirmation, note).
    """

    request: AuthorizationRequest
    documents: tuple[SubmittedDocument, ...]
    idempotency_key: str
    destination: Destination
    payer_name: str = ""
    organization_name: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the request holds PHI
        return (
            f"Submission(request={self.request.id!r}, key={self.idempotency_key!r}, "
            f"documents={len(self.documents)})"
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof the request reached the payer's channel: which channel, its reference, when, and
    what else the channel learnt (page count, rep name...). Kept in the timeline event's data."""

    channel: str
    reference: str
    sent_at: dt.datetime
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "reference": self.reference,
            "sent_at": self.sent_at.isoformat(),
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Receipt:
        return cls(
            channel=str(value["channel"]),
            reference=str(value["reference"]),
            sent_at=dt.datetime.fromisoformat(str(value["sent_at"])),
            details=dict(value.get("details") or {}),
        )


class Channel(Protocol):
    """One way of reaching a payer. `transmits`: submit itself sends something irreversible (a
    fax, an X12 278), so the caller writes a durable "about to submit" record first; the manual
    channel only records what a person already did."""

    name: ClassVar[str]
    transmits: ClassVar[bool]

    def submit(self, submission: Submission) -> Receipt: ...

    def check(self, receipt: Receipt) -> Determination | None:
        """The payer's decision if the channel can look it up; None while it is still pending
        (or when the channel has no look-up, as with fax and phone)."""
        ...
