"""The `portal` channel: a payer whose pack lists a portal, and for whom the settings name an SOP
and the portal's address (PRECERT_PORTALS "payer-id=sop-name@https://base"), is submitted to by
running the SOP `<sop-name>-submit` in a browser and asked about by running `<sop-name>-status`.

What belongs here: turning a Submission into the SOP's inputs, the SOP's outcomes into a
PayerAnswer, and a hand-over into PortalHandOver. Running steps is runner.py; credentials arrive
in the Submission (`access`, leased by the service); the durable "about to click" record is the
Submission's `before_irreversible`, called by the runner right before the one submit click.

The SOP's `request_key` is the REQUEST id, not the attempt key: a retry after a lost answer types
the same "Your reference", so the portal (and the status SOP) recognise the same request.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from precert.channels.base import (
    AnswerKind,
    PayerAnswer,
    PortalAccess,
    Receipt,
    Submission,
)
from precert.channels.portal.runner import (
    FINISHED_BY_HAND,
    BrowserSettings,
    HandOver,
    RunResult,
    run_workflow,
)
from precert.channels.portal.sop import compile_sop
from precert.channels.portal.workflow import Workflow
from precert.config import Settings
from precert.domain.determinations import (
    Determination,
    LineDecision,
    LineStatus,
    Method,
    Outcome,
)
from precert.errors import ChannelError, ChannelMisconfigured, Issue

SHIPPED_SOPS = Path(__file__).resolve().parents[2] / "data" / "portal_sops"
SETTING = "PRECERT_PORTALS"
# Service types the shipped SOPs choose from, by CPT/HCPCS code (the pack gives no category).
_IMAGING = ("70", "71", "72", "73", "74", "75", "76", "77", "78", "79")
_BODY_PARTS = {"70": "Head", "71": "Chest", "72": "Spine", "73": "Extremity", "74": "Abdomen"}

# The browser a thread's portal runs share (a worker thread's kept Chromium, a test module's);
# unset: each run launches and closes its own. Per thread: Playwright's sync objects belong to
# the thread that made them.
_shared = threading.local()


def use_browser(settings: BrowserSettings | None) -> None:
    """Share one browser between this thread's portal runs (None: launch one per run)."""
    _shared.settings = settings


class PortalHandOver(ChannelError):
    """The SOP handed the run to a person: a person must take over, looking at `screenshot`.
    `may_have_submitted`: the submit click had happened before the hand-over."""

    screenshot: str | None = None
    may_have_submitted: bool = False
    # A person chose to finish the task on the portal by hand (the runner's outcome
    # "finished_by_hand"): nothing is wrong, but precert must not record or retry it itself.
    by_hand: bool = False


def sop_for(settings: Settings, payer_id: str, purpose: str) -> Workflow:
    """The compiled SOP a run for `payer_id` would use: `purpose` is "submit" or "status" (a
    portal run leases the credentials its header names before it starts)."""
    channel = PortalChannel(settings, clock=lambda: dt.datetime.now(dt.UTC))
    sop, _ = channel._payer_target(payer_id)
    return channel._workflow(f"{sop}-{purpose}")


def portal_channel(settings: Settings, clock: Callable[[], dt.datetime]) -> PortalChannel:
    return PortalChannel(settings, clock=clock, browser=getattr(_shared, "settings", None))


class PortalChannel:
    name: ClassVar[str] = "portal"
    transmits: ClassVar[bool] = True
    inquires: ClassVar[bool] = True

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime],
        browser: BrowserSettings | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._browser = browser

    # -- the Channel protocol ----------------------------------------------------------------------

    def submit(self, submission: Submission) -> Receipt:
        """Run the payer's submit SOP; the receipt carries the portal's reference and answer."""
        sop, base_url = self._target(submission)
        clicked: list[dt.datetime] = []

        def about_to_click() -> None:
            if submission.before_irreversible is not None:
                submission.before_irreversible()  # durable when it returns; raising stops it
            clicked.append(self._clock())  # the receipt's time is the click's

        inputs = submit_inputs(submission)
        try:
            result = self._run(
                submission, f"{sop}-submit", base_url, inputs, about_to_click, "submit"
            )
        except PortalHandOver as handover:
            handover.may_have_submitted = bool(clicked)
            raise
        if result.outcome == FINISHED_BY_HAND:
            raise _by_hand(result, submitted=bool(clicked))
        if result.outcome == "duplicate":  # the portal has it already: read its answer instead
            return self._found(submission, sop, base_url, result)
        answer = _submit_answer(submission, result, self._clock().date())
        sent_at = clicked[0] if clicked else self._clock()
        return Receipt(
            channel=self.name,
            reference=answer.reference,
            sent_at=sent_at,
            details={"sop": f"{sop}-submit", "outcome": result.outcome, "clicked": bool(clicked)},
            answer=answer,
        )

    def check(self, submission: Submission, receipt: Receipt) -> PayerAnswer | None:
        """The portal's current answer, found by our reference; None when it has no such request
        (a submission in doubt never reached it)."""
        sop, base_url = self._target(submission)
        inputs = {"request_key": submission.request.id}
        result = self._run(submission, f"{sop}-status", base_url, inputs, None, "status")
        if result.outcome == FINISHED_BY_HAND:
            raise _by_hand(result, submitted=False)
        if result.outcome == "not_found":
            return None
        return _status_answer(submission, result, self._clock().date())

    # -- running -----------------------------------------------------------------------------------

    def _found(self, submission: Submission, sop: str, base_url: str, run: RunResult) -> Receipt:
        answer = self.check(submission, Receipt(self.name, "", self._clock()))
        reference = str(run.values.get("existing_reference") or "")
        if answer is None:  # the review said it exists, the search cannot find it
            message = (
                "The portal says this request exists but its status search cannot find it; a "
                "person must look it up on the portal."
            )
            raise PortalHandOver(message, [Issue("portal_duplicate_unfound", message, "portal")])
        return Receipt(
            channel=self.name,
            reference=answer.reference or reference,
            sent_at=self._clock(),
            details={"sop": f"{sop}-submit", "outcome": "duplicate", "clicked": False},
            answer=answer,
        )

    def _run(
        self,
        submission: Submission,
        sop_name: str,
        base_url: str,
        inputs: Mapping[str, Any],
        about_to_click: Callable[[], None] | None,
        purpose: str,
    ) -> RunResult:
        access = _access(submission)
        workflow = self._workflow(sop_name)
        stamp = self._clock().strftime("%Y%m%dT%H%M%S%f")
        runs = self._settings.data_dir / "portal-runs" / submission.request.id
        folder = runs / f"{stamp}-{purpose}"
        try:
            return run_workflow(
                workflow,
                inputs,
                base_url=base_url,
                credentials=access,
                browser=self._browser,
                about_to_submit=about_to_click or _refuse_click,
                artifacts_dir=folder,
                observer=submission.observer,
                trace=submission.observer is not None,  # a persisted run keeps its trace
                clock=lambda: self._clock().timestamp(),
            )
        except HandOver as handover:
            raise _handed_over(handover, kept=submission.observer is not None) from None

    def _target(self, submission: Submission) -> tuple[str, str]:
        return self._payer_target(submission.request.coverage.payer_id)

    def _payer_target(self, payer: str) -> tuple[str, str]:
        """(SOP name without -submit/-status, portal base address) for the payer."""
        target = self._settings.portals.get(payer, "")
        sop, _, base_url = target.partition("@")
        if not sop or not base_url:
            message = (
                f"{SETTING} names no SOP and portal address for payer {payer!r}; add "
                f'"{payer}=sop-name@https://portal.example" to use its portal.'
            )
            raise ChannelMisconfigured(message, [Issue("portal-not-set-up", message, SETTING)])
        return sop, base_url

    def _workflow(self, sop_name: str) -> Workflow:
        """The SOP from the data directory's portal-sops (a site's own), else the shipped one."""
        for folder in (self._settings.data_dir / "portal-sops", SHIPPED_SOPS):
            path = folder / f"{sop_name}.md"
            if path.is_file():
                return compile_sop(path.read_text(encoding="utf-8"), source=str(path))
        message = (
            f"There is no SOP {sop_name}.md in {self._settings.data_dir / 'portal-sops'} or the "
            f"shipped SOPs; fix the SOP name in {SETTING} or add the file."
        )
        raise ChannelMisconfigured(message, [Issue("portal-sop-missing", message, SETTING)])


def _refuse_click() -> None:
    # The status SOP must never submit anything; an SOP that tries is misconfigured.
    raise ChannelMisconfigured("A status SOP may not submit; remove its Submit step.")


def _access(submission: Submission) -> PortalAccess:
    if submission.access is None:
        message = "A portal run needs the credentials vault; submit through precert's service."
        raise ChannelMisconfigured(message, [Issue("portal-no-access", message, "access")])
    return submission.access


def _handed_over(handover: HandOver, *, kept: bool) -> PortalHandOver:
    """`kept`: an observer took the screenshot into the run record (encrypted, the file gone), so
    the message names it on the run page instead of by a path."""
    message = f"A person must take over on the portal: {handover.reason or handover.message}"
    if handover.screenshot and kept:
        message += f" (screenshot {Path(handover.screenshot).name} on the portal run's page)"
    elif handover.screenshot:
        message += f" (screenshot: {handover.screenshot})"
    error = PortalHandOver(message, [Issue("hand_over", message, handover.screenshot or "")])
    error.screenshot = handover.screenshot
    return error


# -- inputs and answers ----------------------------------------------------------------------------


def submit_inputs(submission: Submission) -> dict[str, Any]:
    """The submit SOP's inputs from the request's first line (a portal request is one service)."""
    request = submission.request
    line = request.lines[0]
    return {
        "request_key": request.id,
        "member_id": request.coverage.member_id or request.patient.member_id,
        "date_of_birth": request.patient.birth_date.isoformat(),
        "provider_npi": request.ordering_npi,
        "service_type": service_type(line.code),
        "procedure_code": line.code,
        "diagnosis_code": line.diagnoses[0] if line.diagnoses else "",
        "service_date": line.from_date.isoformat(),
        "units": str(line.units),
        "body_part": _BODY_PARTS.get(line.code[:2], "Other") if line.code[:2] in _IMAGING else "",
        "documents": [
            {
                "name": _file_name(d.name, d.media_type),
                "content_base64": base64.b64encode(d.data).decode("ascii"),
            }
            for d in submission.documents
        ],
    }


def service_type(code: str) -> str:
    """The portal's service type for a procedure code."""
    if code[:1].isalpha():
        return "Durable medical equipment"
    if code[:2] in _IMAGING:
        return "Imaging"
    if code.startswith("97"):
        return "Therapy"
    return "Surgery"


def _file_name(name: str, media_type: str) -> str:
    stem = "".join(c if c.isalnum() else "-" for c in name).strip("-")[:60] or "document"
    suffix = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
    return stem + suffix.get(media_type, ".bin")


def _submit_answer(submission: Submission, run: RunResult, day: dt.date) -> PayerAnswer:
    reference = str(run.values.get("reference") or "")
    if run.outcome == "approved":
        return _decided(submission, Outcome.APPROVED, run.values, reference, day)
    if run.outcome == "not_required":
        return _decided(submission, Outcome.NOT_REQUIRED, run.values, reference, day)
    if run.outcome == "pended":
        return PayerAnswer(AnswerKind.PENDED, reference=reference, message=run.reason or "")
    raise _unknown(run)


def _status_answer(submission: Submission, run: RunResult, day: dt.date) -> PayerAnswer:
    values, reference = run.values, str(run.values.get("reference") or "")
    if run.outcome == "approved":
        return _decided(submission, Outcome.APPROVED, values, reference, day)
    if run.outcome == "denied":
        return _decided(submission, Outcome.DENIED, values, reference, day)
    if run.outcome == "more_info":
        wanted = str(values.get("information_requested") or "")
        return PayerAnswer(
            AnswerKind.INFO_REQUESTED,
            reference=reference,
            message=wanted,
            documents=(wanted,) if wanted else (),
        )
    if run.outcome == "pended":
        return PayerAnswer(AnswerKind.PENDED, reference=reference)
    raise _unknown(run)


def _decided(
    submission: Submission,
    outcome: Outcome,
    values: Mapping[str, Any],
    reference: str,
    day: dt.date,
) -> PayerAnswer:
    request = submission.request
    approved = outcome is Outcome.APPROVED
    reason = str(values.get("denial_reason") or "")
    lines = tuple(
        LineDecision(
            line.code,
            line.units if approved else 0,
            LineStatus.APPROVED if approved else LineStatus.DENIED,
        )
        for line in request.lines
    )
    determination = Determination(
        outcome,
        Method.PORTAL,
        day,
        authorization_number=str(values.get("authorization_number") or ""),
        valid_from=min(line.from_date for line in request.lines) if approved else None,
        valid_to=max(line.to_date for line in request.lines) if approved else None,
        # A portal states its reason in words, not a code: the words are the payer's reason.
        reason_codes=(reason,) if reason and outcome is Outcome.DENIED else (),
        reference=reference,
        lines=lines if outcome is not Outcome.NOT_REQUIRED else (),
    )
    message = reason
    return PayerAnswer(AnswerKind.DECIDED, determination, reference=reference, message=message)


def _by_hand(run: RunResult, *, submitted: bool) -> PortalHandOver:
    message = "A person is finishing this on the portal by hand" + (
        f": {run.reason}" if run.reason else ""
    )
    shot = run.screenshots[-1] if run.screenshots else None
    error = PortalHandOver(message, [Issue("portal_finished_by_hand", message, shot or "")])
    error.screenshot = shot
    error.may_have_submitted = submitted or run.submitted
    error.by_hand = True
    return error


def _unknown(run: RunResult) -> PortalHandOver:
    message = (
        f"The portal SOP ended with {run.outcome!r}, which precert cannot record; a person must "
        "read the portal and record the answer."
    )
    shot = run.screenshots[-1] if run.screenshots else None
    error = PortalHandOver(message, [Issue("portal_unknown_outcome", message, shot or "")])
    error.screenshot = shot
    error.may_have_submitted = run.submitted
    return error
