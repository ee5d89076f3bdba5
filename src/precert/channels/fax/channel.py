"""The fax channel: the request, its requirement and its documents become one fax packet
(reports.fax_packet) handed to a FaxSender (by default the outbox folder) under the submission's
idempotency key, so a repeat never sends a second fax.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pypdf import PdfReader

from precert.channels.base import PayerAnswer, Receipt, Submission
from precert.channels.fax.sender import FaxSender, normalized_number
from precert.domain.authorizations import AuthorizationRequest
from precert.errors import ChannelMisconfigured, ChannelUnavailable, InvalidInput, Issue
from precert.reports.fax_packet import (
    IMAGE_TYPES,
    PDF,
    Attachment,
    Facility,
    FaxFrom,
    FaxPacket,
    FaxTo,
    Member,
    PacketLine,
    Provider,
    render_fax_packet,
)


@dataclass(frozen=True, slots=True)
class FaxIdentity:
    """Who the packet is from and where the payer answers (PRECERT_FAX_SENDER_*)."""

    contact_name: str
    phone: str
    fax: str


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FaxChannel:
    """Renders the packet and hands it to `sender`; `check` returns None (a fax has no look-up:
    the decision comes back by fax or phone and a person records it)."""

    name: ClassVar[str] = "fax"
    transmits: ClassVar[bool] = True
    inquires: ClassVar[bool] = False

    def __init__(
        self,
        sender: FaxSender,
        identity: FaxIdentity,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._sender = sender
        self._identity = identity
        self._clock = clock

    def __repr__(self) -> str:
        return f"FaxChannel({self._sender!r})"

    def submit(self, submission: Submission) -> Receipt:
        to_number = self._check_configured(submission)
        now = self._clock()
        packet = self.packet(submission, on=now.date())
        pdf = render_fax_packet(packet)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        try:
            faxed = self._sender.send(
                pdf, to_number=to_number, reference=submission.idempotency_key
            )
        except OSError as exc:  # a full disk, a missing mount, no permission: nothing was sent
            why = exc.strerror or type(exc).__name__
            message = (
                f"The fax could not be handed to the sender ({why}); nothing was sent. Check the "
                "fax outbox folder or gateway and submit again."
            )
            raise ChannelUnavailable(
                message, [Issue("fax-unavailable", message, "channel")]
            ) from exc
        details = {
            "to_number": to_number,
            "pages": pages,
            "file": Path(faxed.location).name,  # where the gateway finds it, not a server path
            "attachments": len(packet.attachments),
        }
        return Receipt(self.name, faxed.reference, faxed.sent_at, details)

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        return None

    def packet(self, submission: Submission, *, on: dt.date) -> FaxPacket:
        """The packet for `submission` (public so a person can preview what would be sent)."""
        request = submission.request
        process = _first_process(request)
        identity = self._identity
        payer = submission.payer_name or request.coverage.payer_id
        facility = request.facility_npi or ""
        return FaxPacket(
            reference=submission.idempotency_key,
            date=on,
            urgency=request.urgency,
            to=FaxTo(payer, submission.destination.address),
            sender=FaxFrom(
                submission.organization_name or identity.contact_name,
                identity.contact_name,
                identity.phone,
                identity.fax,
            ),
            member=Member(
                request.patient.first_name,
                request.patient.last_name,
                request.patient.birth_date,
                request.coverage.member_id,
                request.coverage.group,
                request.coverage.plan,
            ),
            ordering=Provider("Ordering provider", request.ordering_npi),
            rendering=Provider("Rendering provider", request.rendering_npi),
            facility=Facility("Facility" if facility else "-", facility),
            lines=tuple(_line(line) for line in request.lines),
            term=_capitalised(process.get("term") or "prior authorization"),
            reviews=(process.get("reviews") or "medical_necessity").replace("_", " "),
            required_documents=tuple(_required(request)),
            attachments=tuple(
                Attachment(document.name, document.data, document.media_type, document.name)
                for document in submission.documents
            ),
        )

    def _check_configured(self, submission: Submission) -> str:
        """The payer's fax number, or ChannelMisconfigured naming what to set."""
        if not submission.destination.address.strip():
            payer = submission.payer_name or submission.request.coverage.payer_id
            message = (
                f"The payer configuration for {payer} gives no fax number for this service; add "
                "the address to the fax channel in its payer pack, or submit by hand (manual)."
            )
            raise ChannelMisconfigured(message, [Issue("no-fax-number", message, "channel")])
        missing = [
            setting
            for setting, value in (
                ("PRECERT_FAX_SENDER_PHONE", self._identity.phone),
                ("PRECERT_FAX_SENDER_NUMBER", self._identity.fax),
            )
            if not value.strip()
        ]
        if missing:
            message = (
                f"Set {' and '.join(missing)}: a fax packet must tell the payer where to answer."
            )
            raise ChannelMisconfigured(message, [Issue("not-configured", message, missing[0])])
        unsupported = [
            d.name for d in submission.documents if d.media_type not in IMAGE_TYPES | {PDF}
        ]
        if unsupported:
            message = (
                "A fax packet takes PDF, PNG or JPEG documents; convert these to PDF and upload "
                f"them again: {', '.join(unsupported)}."
            )
            raise InvalidInput.field("documents", message, "unsupported-type")
        try:
            return normalized_number(submission.destination.address)
        except InvalidInput as bad:
            message = (
                f"The fax number in the payer configuration is not usable: {bad.message} "
                "Correct it in the payer pack."
            )
            raise ChannelMisconfigured(
                message, [Issue("bad-fax-number", message, "channel")]
            ) from None


def _first_process(request: AuthorizationRequest) -> Mapping[str, Any]:
    for answer in request.requirement:
        for process in answer.get("processes") or ():
            return dict(process)
    return {}


def _required(request: AuthorizationRequest) -> list[str]:
    seen: dict[str, str] = {}
    for answer in request.requirement:
        for name in answer.get("documents") or ():
            seen.setdefault(str(name).casefold(), str(name))
    return list(seen.values())


def _line(line: Any) -> PacketLine:
    return PacketLine(
        line.code, line.units, tuple(line.diagnoses), line.pos, line.from_date, line.to_date
    )


def _capitalised(term: str) -> str:
    return term[:1].upper() + term[1:]
