"""The Channel protocol every way of reaching a payer implements, and the values it passes:
the Submission going out and the Receipt coming back.

A channel translates its own library's failures into the ChannelError family (precert.errors):
ChannelUnavailable (nothing sent, retry), PayerRejected, PortalChanged, ChannelMisconfigured.
Channels never import services or store: everything they need arrives in the Submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from precert.channels.portal.record import RunObserver
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
    """Where the payer's configuration says to send it: the pack's channel entry (type, address,
    and for electronic channels how a pended decision comes back: `inquiry` or `subscription`)."""

    type: str
    address: str = ""
    note: str = ""
    pended: str = ""


class PortalAccess(Protocol):
    """What a portal run may ask about a credential its SOP names: the login, an authenticator
    code, the code the portal emailed. The service hands one in (the vault, leased for the run);
    channels never read the vault themselves."""

    def login(self, name: str) -> tuple[str, str]: ...
    def totp(self, name: str) -> str: ...
    def email_code(self, name: str, sender: str) -> str: ...


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
    # A portal run's credentials (None for channels that need none).
    access: PortalAccess | None = None
    # Called right before an irreversible click (the portal's submit); it must be durable when it
    # returns, and if it raises the click never happens.
    before_irreversible: Callable[[], None] | None = None
    # Told about a portal run's steps, screenshots and trace, and asked when a person must look
    # (None: a run without a person in the loop; see channels/portal/record.py).
    observer: RunObserver | None = None

    def __repr__(self) -> str:  # the request holds PHI
        return (
            f"Submission(request={self.request.id!r}, key={self.idempotency_key!r}, "
            f"documents={len(self.documents)})"
        )


class AnswerKind(StrEnum):
    """What an electronic payer said back, as far as the request's status is concerned."""

    DECIDED = "decided"  # a Determination to record: approved, partial, denied, not required
    PENDED = "pended"  # under review; the decision comes later (inquiry or subscription)
    INFO_REQUESTED = "info_requested"  # pended, and the payer asks for documents
    CONTACT_PAYER = "contact_payer"  # a person must call the payer (X12 CT, PAS CT)
    CANCELLED = "cancelled"  # the payer confirms a cancellation we sent (X12 HCR01 C, PAS C)


@dataclass(frozen=True, slots=True)
class PayerAnswer:
    """The payer's answer to a submission or an inquiry, read by the channel from its own format
    (278 response, PAS ClaimResponse). A payer *rejection* (AAA, a 999 reject, an
    OperationOutcome) is not an answer: the channel raises PayerRejected instead.

    `reference` is the payer's tracking number (REF*NT, the pending preAuthRef); `message` what a
    person should read (MSG, the documents asked for); `documents` the payer's requested items.
    """

    kind: AnswerKind
    determination: Determination | None = None
    reference: str = ""
    message: str = ""
    documents: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "determination": self.determination.as_dict() if self.determination else None,
            "reference": self.reference,
            "message": self.message,
            "documents": list(self.documents),
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof the request reached the payer's channel: which channel, its reference, when, and
    what else the channel learnt (page count, rep name...). Kept in the timeline event's data."""

    channel: str
    reference: str
    sent_at: dt.datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    # An electronic channel's synchronous answer (X12 278 real time, PAS $submit); None for a fax,
    # a person's record, or a batch file drop whose answer comes later.
    answer: PayerAnswer | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "channel": self.channel,
            "reference": self.reference,
            "sent_at": self.sent_at.isoformat(),
            "details": dict(self.details),
        }
        if self.answer is not None:
            out["answer"] = self.answer.kind.value
        return out

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
    channel only records what a person already did. `inquires`: `check` can ask the payer (X12
    278 inquiry, PAS $inquire); the scheduled inquiry only runs for such channels.

    A submission whose response was lost is retried with a new attempt number but the same
    request identity (278 TRN prefix, PAS Claim identifier), so the payer answers it once."""

    name: ClassVar[str]
    transmits: ClassVar[bool]
    inquires: ClassVar[bool]

    def submit(self, submission: Submission) -> Receipt: ...

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        """The payer's current answer on an earlier submission if the channel can look it up;
        None when it cannot (fax and phone: a person records the decision)."""
        ...


@runtime_checkable
class Amending(Protocol):
    """A channel that can change what the payer certified: cancel it, extend it (more time or
    units) or revise it, referring to the payer's number (X12 UM02 3/4/S with REF*BB; a PAS
    update Claim). A confirmed cancellation answers AnswerKind.CANCELLED."""

    def amend(
        self,
        submission: Submission,
        receipt: Receipt,
        *,
        kind: str,
        authorization_number: str,
        to_date: dt.date | None = None,
        units: Mapping[str, int] | None = None,
    ) -> PayerAnswer: ...
