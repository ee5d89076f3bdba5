"""A coverage check in real time: one 270 for a request sent through the CORE HTTP transport, and
the payer's 271 read back into a CoverageCheck (domain/eligibility.py).

Only real time is used: a coverage check answers a person waiting at the request page, so a batch
drop folder (answers hours later) is no use; without PRECERT_X12_URL the check is
ChannelMisconfigured. The interchange control numbers come from the same durable file as the 278
channel's (channel.x12_channel), so an ISA13 is never repeated between the two.

Failures: the transport's own (ChannelUnavailable, ChannelMisconfigured, PayerRejected for an
HTTP 4xx); a rejecting 999 or a 271 that only holds AAA rejects -> PayerRejected carrying the
payer's codes; an answer that is neither a readable 271 nor a 999 -> ChannelUnavailable. Nothing
here logs or raises PHI: messages carry codes, control and trace numbers only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from precert.channels.x12.ack999 import GroupAcknowledgment, read_999
from precert.channels.x12.controls import ControlFile
from precert.channels.x12.envelope import Party, read
from precert.channels.x12.transport import (
    PAYLOAD_270_REQUEST,
    CoreHttpTransport,
    Envelope,
    Transport,
)
from precert.channels.x12.tx270 import build_270, inquiry_from_request
from precert.channels.x12.tx271 import Reading271, read_271
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest
from precert.domain.eligibility import CoverageCheck
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    InvalidInput,
    Issue,
    PayerRejected,
)

Clock = Callable[[], dt.datetime]
# ISA13, GS06 and ST02 of one interchange: one visit to the control file per check.
_NUMBERS_PER_INTERCHANGE = 3


def check_coverage(
    request: AuthorizationRequest,
    *,
    settings: Settings,
    clock: Clock,
    payer_name: str,
    provider_name: str = "",
    transport: Transport | None = None,
) -> CoverageCheck:
    """Ask the payer about `request`'s member and service types (one 270) and read its 271.

    `provider_name` goes in NM103 of 2100B (our organization; the sender id when empty).
    `transport` is the I/O seam; by default a CoreHttpTransport on PRECERT_X12_URL.
    """
    own = transport is None
    used = transport or _real_time(settings)
    try:
        return _ask(
            request,
            used,
            settings=settings,
            at=clock(),
            payer_name=payer_name,
            provider_name=provider_name or settings.x12_sender_id,
        )
    finally:
        if own and isinstance(used, CoreHttpTransport):
            used.close()


def _real_time(settings: Settings) -> CoreHttpTransport:
    if not settings.x12_url:
        message = (
            "Checking coverage needs a real-time X12 connection to the payer or clearinghouse: "
            "set PRECERT_X12_URL (CORE HTTP); a batch drop folder cannot answer while you wait."
        )
        raise ChannelMisconfigured(
            message, [Issue("x12.270.not_configured", message, "PRECERT_X12_URL")]
        )
    password = settings.x12_password.get_secret_value() if settings.x12_password else None
    return CoreHttpTransport(
        settings.x12_url, settings.x12_username, password, settings.x12_timeout_seconds
    )


def _ask(
    request: AuthorizationRequest,
    transport: Transport,
    *,
    settings: Settings,
    at: dt.datetime,
    payer_name: str,
    provider_name: str,
) -> CoverageCheck:
    inquiry = inquiry_from_request(request, payer_name=payer_name, provider_name=provider_name)
    sender = Party("ZZ", settings.x12_sender_id)
    receiver = Party("ZZ", _party_id(inquiry.payer_id))
    controls = ControlFile(
        settings.data_dir / "x12" / "control-number", block=_NUMBERS_PER_INTERCHANGE
    )
    text = build_270(inquiry, sender=sender, receiver=receiver, at=at, next_control=controls)
    envelope = Envelope(PAYLOAD_270_REQUEST, sender.id, receiver.id)
    sent = transport.send(text, key=f"{inquiry.trace}.270", envelope=envelope)
    if sent.answer is None:  # a batch transport handed in: nothing to read while we wait
        message = (
            "The X12 transport did not answer the coverage inquiry at once; coverage checks need "
            "real time: set PRECERT_X12_URL."
        )
        raise ChannelMisconfigured(message, [Issue("x12.270.batch", message, "PRECERT_X12_URL")])
    return coverage_from_answer(sent.answer, trace=inquiry.trace)


def coverage_from_answer(text: str, *, trace: str) -> CoverageCheck:
    """The CoverageCheck for our `trace` in the payer's answer, or the error it amounts to."""
    codes = _set_codes(text)
    if not codes:
        raise _unreadable(())
    if "999" in codes and "271" not in codes:
        try:
            groups = read_999(text)
        except InvalidInput as bad:
            raise _unreadable(bad.issues) from None
        _raise_if_rejected(groups)
        message = (
            "The payer acknowledged the coverage inquiry (999) but sent no 271; check coverage "
            "again in a few minutes."
        )
        raise ChannelUnavailable(message, [Issue("x12.270.no_271", message, "ST01")])
    reading = read_271(text, lenient=True)  # a miscounted trailer still says what coverage is
    if not reading.checks and not reading.rejects:
        raise _unreadable(reading.issues)
    check = _ours(reading, trace)
    if check.active is None and check.rejects:
        raise _rejected(check)
    return check


def _ours(reading: Reading271, trace: str) -> CoverageCheck:
    """The member loop that returns our trace (TRN*2), else the first one."""
    for check in reading.checks:
        if trace in check.trace_numbers:
            return check
    return reading.coverage_check()


def _rejected(check: CoverageCheck) -> PayerRejected:
    first = check.rejects[0]
    then = (
        "correct the request's member or provider data and check again"
        if first.can_resubmit
        else "do not check again; call the payer"
    )
    reasons = ", ".join(f"AAA03 {r.reason}" for r in check.rejects)
    message = f"The payer could not answer the coverage inquiry ({reasons}): {then}."
    return PayerRejected(message, [r.issue for r in check.rejects])


def _unreadable(found: Sequence[Issue]) -> ChannelUnavailable:
    # Codes and places only: a reader message may quote a value from the payer's file.
    issues = [
        Issue(i.code, "The payer's answer breaks an X12 rule here.", i.location) for i in found
    ]
    message = (
        "The payer's answer to the coverage inquiry could not be read as a 271; check again "
        "later or ask the clearinghouse."
    )
    return ChannelUnavailable(message, issues or [Issue("x12.270.unreadable", message, "")])


def _raise_if_rejected(groups: list[GroupAcknowledgment]) -> None:
    issues: list[Issue] = []
    for group in groups:
        for answered in group.sets:
            if answered.accepted:
                continue
            for error in answered.errors:
                where = f"270 set {answered.control_number} segment {error.position} ({error.tag})"
                text = f"The payer's 999 rejects segment {error.tag} (IK304 {error.code})."
                issues.append(Issue("x12.999", text, where))
            if not answered.errors:
                codes = ", ".join(answered.codes) or "none given"
                text = f"The payer's 999 rejects the 270 (IK5 codes {codes})."
                issues.append(Issue("x12.999", text, f"270 set {answered.control_number}"))
        if group.status == "R" and not issues:
            codes = ", ".join(group.codes) or "none given"
            text = f"The payer's 999 rejects the group (AK9 codes {codes})."
            issues.append(Issue("x12.999", text, "AK9"))
    if issues:
        message = (
            "The payer could not process the coverage inquiry (999 rejection); fix what each "
            "issue names and check again."
        )
        raise PayerRejected(message, issues)


def _set_codes(text: str) -> set[str]:
    try:
        return {s.code for g in read(text).groups() for s in g.sets}
    except InvalidInput:
        return set()


def _party_id(payer_id: str) -> str:
    cleaned = "".join(c for c in payer_id.upper() if c.isalnum())
    return (cleaned or "PAYER")[:15]
