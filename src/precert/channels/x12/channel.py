"""The X12 channel: a 278 request (005010X217) sent through a Transport (transport.py), real
time over CORE-style HTTP or batch through a drop folder, and the payer's answer read back.

`submit` builds the 278 for the submission's attempt (trace "<request key>.<attempt>", the
attempt being the number after the last "-" of the idempotency key), sends it, and for real
time reads the answer: a 278 response becomes a PayerAnswer; an AAA rejection, a cancellation or
a rejecting 999 raises PayerRejected with the payer's located issues. Batch returns a Receipt
with no answer; `check` finds it in the inbox later.

`check` in real time sends a 278 inquiry (005010X215, channels/x12/tx215.py) about our trace,
with the payer's certification number when we have one; the payer answers with its current
decision (our simulator decides a pend once its delay has passed). A TA1 alone (the payer could
not read our interchange envelope) raises PayerRejected.

Nothing here logs or raises PHI: messages carry codes, controls and trace numbers only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from precert.channels.base import AnswerKind, PayerAnswer, Receipt, Submission
from precert.channels.x12 import ta1
from precert.channels.x12.ack999 import GroupAcknowledgment, read_999
from precert.channels.x12.controls import ControlFile
from precert.channels.x12.envelope import Party, read
from precert.channels.x12.transport import (
    PAYLOAD_278_REQUEST,
    CoreHttpTransport,
    Envelope,
    FileDropTransport,
    Sent,
    Transport,
    bht_references,
)
from precert.channels.x12.tx215 import build_215, is_215, read_inquiry_responses
from precert.channels.x12.tx278 import (
    Request278,
    amended_lines,
    amendment_278,
    build_278,
    trace_key,
    trace_number,
    write_278,
)
from precert.channels.x12.tx278_read import Response278, ResultKind, read_responses
from precert.channels.x12.x217 import AAA04_FOLLOW_UPS
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    InvalidInput,
    Issue,
    PayerRejected,
)

Clock = Callable[[], dt.datetime]

_KINDS = {
    ResultKind.DECIDED: AnswerKind.DECIDED,
    ResultKind.PENDED: AnswerKind.PENDED,
    ResultKind.INFO_REQUESTED: AnswerKind.INFO_REQUESTED,
    ResultKind.CONTACT_PAYER: AnswerKind.CONTACT_PAYER,
}
# PWK01 report types a payer asks for most, in our words (the code itself when not listed).
_REPORT_TYPES = {
    "03": "report justifying treatment beyond utilization guidelines",
    "04": "drugs administered",
    "05": "treatment diagnosis",
    "06": "initial assessment",
    "07": "functional goals",
    "08": "plan of treatment",
    "09": "progress report",
    "10": "continued treatment",
    "11": "chemical analysis",
    "13": "certified test report",
    "15": "justification for admission",
    "21": "recovery plan",
    "48": "social security benefit letter",
    "55": "rental price quote",
    "59": "benefit letter",
    "77": "support data for verification",
    "A3": "allergies/sensitivities document",
    "A4": "autopsy report",
    "AM": "ambulance certification",
    "AS": "admission summary",
    "B2": "prescription",
    "B3": "physician order",
    "BR": "benchmark testing results",
    "BS": "baseline",
    "BT": "blanket test results",
    "CB": "chiropractic justification",
    "CK": "consent form(s)",
    "D2": "drug profile document",
    "DA": "dental models",
    "DB": "durable medical equipment prescription",
    "DG": "diagnostic report",
    "DJ": "discharge monitoring report",
    "DS": "discharge summary",
    "FM": "family medical history document",
    "HC": "health certificate",
    "HR": "health clinic records",
    "I5": "immunization record",
    "IR": "state school immunization records",
    "LA": "laboratory results",
    "M1": "medical record attachment",
    "NN": "nursing notes",
    "OB": "operative note",
    "OC": "oxygen content averaging report",
    "OD": "orders and treatments document",
    "OE": "objective physical examination",
    "OX": "oxygen therapy certification",
    "OZ": "support data for claim",
    "P4": "pathology report",
    "P5": "patient medical history document",
    "PE": "parenteral or enteral certification",
    "PN": "physical therapy notes",
    "PO": "prosthetics or orthotic certification",
    "PQ": "paramedical results",
    "PY": "physician's report",
    "PZ": "physical therapy certification",
    "RB": "radiology films",
    "RR": "radiology reports",
    "RT": "report of tests and analysis report",
    "RX": "renewable oxygen content averaging report",
    "SG": "symptoms document",
    "V5": "death notification",
    "XP": "photographs",
}


class X12Channel:
    """278 requests through `transport`; control numbers from `controls` (a ControlFile in
    production, so no ISA13 is ever reused)."""

    name: ClassVar[str] = "x12"
    transmits: ClassVar[bool] = True
    inquires: ClassVar[bool] = True

    def __init__(
        self,
        transport: Transport,
        controls: Callable[[], int],
        *,
        sender_id: str = "PRECERT",
        clock: Clock,
    ) -> None:
        self.transport = transport
        self._controls = controls
        self._sender = Party("ZZ", sender_id)
        self._clock = clock

    def __repr__(self) -> str:
        return f"X12Channel({self.transport!r})"

    # -- the Channel protocol ------------------------------------------------------------------

    def submit(self, submission: Submission) -> Receipt:
        attempt = attempt_of(submission.idempotency_key)
        return self._send(submission, attempt, key=submission.idempotency_key)

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        """The payer's current answer: real time asks again with the receipt's trace (see the
        module docstring); batch looks in the inbox and gives None until an answer is there."""
        trace = str(receipt.details.get("trace") or receipt.reference)
        if self.transport.mode == "batch":
            found = self.transport.collect(
                trace=trace,
                group_control=str(receipt.details.get("group_control", "")),
                set_control=str(receipt.details.get("set_control", "")),
            )
            if found is None:
                return None
            return self._answer(found, submission.request, trace)
        # A 278 inquiry (005010X215) about our trace, with the payer's number when we have one.
        now = self._clock()
        number = ""
        if receipt.answer is not None and receipt.answer.determination is not None:
            number = receipt.answer.determination.authorization_number
        inquiry = build_215(
            submission.request,
            trace=trace,
            at=now,
            next_control=self._controls,
            certification_number=number,
            payer_name=submission.payer_name or None,
            sender=self._sender,
        )
        envelope = Envelope(PAYLOAD_278_REQUEST, self._sender.id, _receiver_of(inquiry))
        key = f"{submission.idempotency_key}.inquiry.{now:%Y%m%d%H%M%S}"
        sent = self.transport.send(inquiry, key=key, envelope=envelope)
        if sent.answer is None:
            return None
        return self._answer(sent.answer, submission.request, trace)

    def amend(
        self,
        submission: Submission,
        receipt: Receipt,
        *,
        kind: str,
        authorization_number: str,
        to_date: dt.date | None = None,
        units: Mapping[str, int] | None = None,
    ) -> PayerAnswer:
        """Cancel ("cancel"), extend ("extend") or revise ("revise") the certification
        `authorization_number` the payer gave the request of `submission` (see the module
        docstring). `units`: the units asked per procedure code. A confirmed cancel is
        AnswerKind.CANCELLED; an extension or revision is answered like a submission (DECIDED
        under the same number, PENDED...); an unknown number raises PayerRejected (AAA)."""
        request = submission.request
        trace = str(receipt.details.get("trace") or receipt.reference)
        attempt = trace_key(trace)[1] or attempt_of(submission.idempotency_key)
        now = self._clock()
        amended = amendment_278(
            request,
            kind=kind,
            authorization_number=authorization_number,
            attempt=attempt,
            at=now,
            to_date=to_date,
            units=units,
            payer_name=submission.payer_name or None,
        )
        interchange = write_278(amended, at=now, next_control=self._controls, sender=self._sender)
        envelope = Envelope(PAYLOAD_278_REQUEST, self._sender.id, _receiver_of(interchange))
        key = _amendment_key(submission.idempotency_key, amended)
        sent = self.transport.send(interchange, key=key, envelope=envelope)
        if sent.answer is None:
            return _amendment_sent(kind, amended.trace)
        # The lines as amended, so fewer units than the new ask read as a modification.
        lines = amended_lines(request, kind=kind, to_date=to_date, units=units)
        result = self._result(sent.answer, lines, amended.trace)
        if result is None:
            return _amendment_sent(kind, amended.trace)
        if kind == "cancel" and result.kind is ResultKind.CANCELLED:
            number = result.certification_number or amended.authorization_number
            return PayerAnswer(
                AnswerKind.CANCELLED,
                reference=result.reference,
                message=f"The payer cancelled certification {number} (HCR01 C).",
            )
        return payer_answer(result)

    # -- sending and reading -------------------------------------------------------------------

    def _send(self, submission: Submission, attempt: int, *, key: str) -> Receipt:
        request = submission.request
        now = self._clock()
        interchange = build_278(
            request,
            at=now,
            next_control=self._controls,
            attempt=attempt,
            payer_name=submission.payer_name or None,
            sender=self._sender,
        )
        envelope = Envelope(PAYLOAD_278_REQUEST, self._sender.id, _receiver_of(interchange))
        sent = self.transport.send(interchange, key=key, envelope=envelope)
        trace = trace_number(request.id, attempt)
        answer = None
        if sent.answer is not None:
            answer = self._answer(sent.answer, request, trace)
        return Receipt(
            channel=self.name,
            reference=trace,
            sent_at=now,
            details=_details(sent, trace, answer, self.transport.mode),
            answer=answer,
        )

    def _answer(self, text: str, request: AuthorizationRequest, trace: str) -> PayerAnswer | None:
        """The PayerAnswer in the payer's interchange `text` for our `trace`; None when it is
        only an accepting 999 (the 278 response comes later)."""
        result = self._result(text, request.lines, trace)
        return payer_answer(result) if result is not None else None

    def _result(self, text: str, lines: Sequence[ServiceLine], trace: str) -> Response278 | None:
        """The 278 response in `text` for our `trace` (`lines`: what we asked); None when it is
        only an accepting 999. A rejecting 999 raises PayerRejected."""
        codes = _set_codes(text)
        if not codes and "TA1" in text:  # an interchange acknowledgment only (the ISA was bad)
            ta1.raise_if_rejected(ta1.read_ta1(text))
            return None
        if "999" in codes and "278" not in codes:
            _raise_if_rejected(read_999(text))
            return None
        reader = read_inquiry_responses if is_215(text) else read_responses
        try:
            results = reader(text, lines=lines, received_on=self._clock().date())
        except InvalidInput as bad:
            raise _unreadable(bad) from None
        # Our trace first; else the same request under another attempt's trace: a payer answers
        # a resubmitted request with the answer it gave the first attempt.
        key = trace_key(trace)[0]
        # A rejection above the patient event carries no TRN: BHT03 says whose it is.
        mine = (
            [r for r in results if r.trace == trace]
            or [r for r in results if r.trace and trace_key(r.trace)[0] == key]
            or [r for r in results if not r.trace and _bht_names(text, key)]
        )
        if not mine:
            message = (
                f"The payer's answer holds no response for trace {trace}; it may belong to "
                "another request. Ask the payer or clearinghouse, or check again later."
            )
            raise ChannelUnavailable(message, [Issue("x12.no_trace", message, "TRN02")])
        return mine[0]


def payer_answer(result: Response278) -> PayerAnswer:
    """A 278 response as our PayerAnswer; PayerRejected for an AAA rejection or a cancellation."""
    if result.kind is ResultKind.REJECTED:
        follow = AAA04_FOLLOW_UPS.get(result.follow_up, "")
        then = f" Next step: {follow} (AAA04 {result.follow_up})." if follow else ""
        message = f"The payer rejected the 278 (trace {result.trace}).{then}"
        raise PayerRejected(message, list(result.issues))
    if result.kind is ResultKind.CANCELLED:
        message = f"The payer answered the 278 (trace {result.trace}) as cancelled (HCR01 C)."
        raise PayerRejected(message, [Issue("x12.cancelled", message, "HCR01")])
    kind = _KINDS[result.kind]
    documents = tuple(_document(a.report_type, a.transmission) for a in result.attachments)
    message = " ".join(result.messages)
    if kind is AnswerKind.INFO_REQUESTED and not message:
        message = "The payer asks for documents: " + "; ".join(documents) + "."
    if kind is AnswerKind.CONTACT_PAYER and not message:
        message = "The payer asks that someone call them about this request."
    return PayerAnswer(
        kind,
        determination=result.determination if kind is AnswerKind.DECIDED else None,
        reference=result.reference,
        message=message,
        documents=documents,
    )


def _amendment_key(idempotency_key: str, amended: Request278) -> str:
    """The transport key of an amendment: the submission's key, the kind and a digest of what
    it asks, so a retry of the same amendment is never sent twice and another one is sent."""
    asked = [amended.certification_type, amended.authorization_number]
    asked += [f"{line.code}:{line.units}:{line.to_date.isoformat()}" for line in amended.lines]
    digest = hashlib.sha256("|".join(asked).encode()).hexdigest()[:12]
    return f"{idempotency_key}.um{amended.certification_type}.{digest}"


def _amendment_sent(kind: str, trace: str) -> PayerAnswer:
    """What an amendment gets when no 278 came back yet (batch drop, an accepting 999)."""
    return PayerAnswer(
        AnswerKind.PENDED,
        reference=trace,
        message=(
            f"The {kind} request was sent (trace {trace}); the payer's 278 answer comes later. "
            "Check the batch inbox or ask the payer."
        ),
    )


def attempt_of(idempotency_key: str) -> int:
    """The attempt number: what follows the last "-" of the key ("<request id>-<attempt>")."""
    _, _, tail = idempotency_key.rpartition("-")
    if not tail.isdigit() or int(tail) < 1:
        message = (
            "The submission key must end in -<attempt> (e.g. req-1-2); the X12 trace number is "
            "built from it."
        )
        raise InvalidInput.field("idempotency_key", message, "x12.attempt")
    return int(tail)


def _document(report_type: str, transmission: str) -> str:
    what = _REPORT_TYPES.get(report_type, f"report type {report_type}")
    return f"{what} (PWK01 {report_type}, send by {transmission or 'any means'})"


def _details(sent: Sent, trace: str, answer: PayerAnswer | None, mode: str) -> dict[str, Any]:
    isa, group, transaction = _controls_of(sent.interchange)
    details: dict[str, Any] = {
        "trace": trace,
        "payer_reference": answer.reference if answer is not None else "",
        "control": isa,
        "group_control": group,
        "set_control": transaction,
        "mode": mode,
    }
    if sent.location:
        details["file"] = sent.location
    return details


def _controls_of(text: str) -> tuple[str, str, str]:
    """ISA13, GS06 and ST02 of the (first) set we sent."""
    document = read(text)
    for interchange in document.interchanges:
        for group in interchange.groups:
            for transaction in group.sets:
                return (
                    interchange.control_number.strip(),
                    group.control_number,
                    transaction.control_number,
                )
    return "", "", ""


def _receiver_of(text: str) -> str:
    interchange = read(text).interchanges[0]
    return interchange.element(8).strip()


def _set_codes(text: str) -> set[str]:
    return {s.code for g in read(text).groups() for s in g.sets}


def _bht_names(text: str, key: str) -> bool:
    return any(trace_key(reference)[0] == key for reference in bht_references(text))


def _raise_if_rejected(groups: list[GroupAcknowledgment]) -> None:
    issues: list[Issue] = []
    for group in groups:
        for answered in group.sets:
            if answered.accepted:
                continue
            for error in answered.errors:
                where = f"278 set {answered.control_number} segment {error.position} ({error.tag})"
                elements = ", ".join(
                    f"element {e.position} (IK403 {e.code})" for e in error.elements
                )
                text = f"The payer's 999 rejects segment {error.tag} (IK304 {error.code})"
                text += f": {elements}." if elements else "."
                issues.append(Issue("x12.999", text, where))
            if not answered.errors:
                codes = ", ".join(answered.codes) or "none given"
                text = f"The payer's 999 rejects the 278 (IK5 codes {codes})."
                issues.append(Issue("x12.999", text, f"278 set {answered.control_number}"))
        if group.status == "R" and not issues:
            codes = ", ".join(group.codes) or "none given"
            issues.append(
                Issue("x12.999", f"The payer's 999 rejects the group (AK9 codes {codes}).", "AK9")
            )
    if issues:
        message = (
            "The payer could not process the 278 (999 rejection); fix what each issue names "
            "and submit again."
        )
        raise PayerRejected(message, issues)


def _unreadable(bad: InvalidInput) -> ChannelUnavailable:
    # Only codes and places: a reader message may quote a value from the payer's file.
    issues = [
        Issue(i.code, "The payer's answer breaks an X12 rule here.", i.location) for i in bad.issues
    ]
    message = (
        "The payer's answer could not be read as a 278 response; check again later or ask the "
        "clearinghouse."
    )
    return ChannelUnavailable(message, issues or [Issue("x12.unreadable", message, "")])


def x12_channel(settings: Settings, clock: Clock) -> X12Channel:
    """The X12 channel on `settings`: real time when PRECERT_X12_URL is set, else the drop folder
    PRECERT_X12_DROP_DIR; ChannelMisconfigured when neither is."""
    transport: Transport
    if settings.x12_url:
        password = settings.x12_password.get_secret_value() if settings.x12_password else None
        transport = CoreHttpTransport(
            settings.x12_url,
            settings.x12_username,
            password,
            settings.x12_timeout_seconds,
        )
    elif settings.x12_drop_dir is not None:
        transport = FileDropTransport(settings.x12_drop_dir)
    else:
        message = (
            "The X12 channel is not configured: set PRECERT_X12_URL (CORE real time) or "
            "PRECERT_X12_DROP_DIR (batch file drop)."
        )
        raise ChannelMisconfigured(
            message, [Issue("x12.not_configured", message, "PRECERT_X12_URL")]
        )
    # Three numbers per interchange (ISA13, GS06, ST02): reserve a few interchanges at a time.
    controls = ControlFile(settings.data_dir / "x12" / "control-number", block=12)
    return X12Channel(transport, controls, sender_id=settings.x12_sender_id, clock=clock)
