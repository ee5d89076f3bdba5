"""Portal runs: a submit or status task on a payer portal, kept in the database while it runs.

A person (or the sweep, for a status check) starts a run; it is queued and handed to the portal
job queue (`ctx.dispatch_portal_run`) or picked up by the sweep (`queued_due`). `execute` claims
it (one atomic UPDATE, so two consumers never run one run), leases every credential the SOP names
under the holder "run-<id>" (a credential another run holds puts this run back in the queue for
BUSY_RETRY_SECONDS), then runs it through services.submission or services.payer_exchanges with a
RunObserverImpl that persists steps, encrypted screenshots and traces, and waits for a person when
the runner asks (services/portal_run_observer.py). `resolve` is that person's answer. The end
state is on the row; `execute` never raises for a run's own failure.

A killed worker (a BaseException, a lost process) leaves the run "running": `queued_due` never
returns it, because its submit click may have happened. `stale_runs` lists such runs for a person
(see docs/portal-runs.md); the next submit of the request asks the portal first anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from precert.channels.portal.channel import PortalHandOver, sop_for
from precert.channels.portal.record import ACTIONS, Question, StepRecord
from precert.channels.registry import choose
from precert.domain.authorizations import (
    AuthorizationRequest,
    Event,
    TimelineEvent,
    apply,
    clear_attention,
)
from precert.domain.authorizations import flag_attention as flag
from precert.errors import (
    ChannelMisconfigured,
    Conflict,
    InvalidInput,
    Issue,
    NotFound,
    PrecertError,
)
from precert.security.crypto import FieldCipher
from precert.services import credentials, payer_exchanges, submission
from precert.services.accounts import actor_for
from precert.services.audit import SYSTEM, record
from precert.services.authorization_requests import (
    Requester,
    next_action,
    request_repository,
    require_changer,
)
from precert.services.context import Context
from precert.services.portal_run_observer import (
    UNANSWERED_PREFIX,
    WAITING_PREFIX,
    RunObserverImpl,
    artifact_context,
    artifact_path,
    run_repository,
)
from precert.store.accounts import UserRepository
from precert.store.exchanges import ExchangeRepository
from precert.store.portal_runs import ACTIVE, PortalRunRecord, new_run_id
from precert.store.uow import UnitOfWork

log = logging.getLogger(__name__)

STATUSES = (
    "queued",
    "running",
    "waiting_for_person",
    "succeeded",
    "failed",
    "handed_over",
    "finished_by_hand",
    "stopped",
)
PURPOSES = ("submit", "status")
ENTITY = "portal_run"
QUEUED_EVENT = "portal_run_queued"
BY_HAND_EVENT = "portal_run_finished_by_hand"
BUSY_RETRY_SECONDS = 30  # a credential held by another run: try again this much later
STALE_AFTER = dt.timedelta(minutes=20)  # a running run silent this long is reported, not re-run
# Ended runs a person may still mark "finished by hand" (they took over on the portal).
ENDED_FOR_A_PERSON = ("handed_over", "failed", "stopped")
MEDIA_TYPES = {".png": "image/png", ".zip": "application/zip"}
# needs_attention reasons a portal run (or its submit) sets; "finished by hand" clears them.
_PORTAL_ATTENTION = (
    WAITING_PREFIX,
    UNANSWERED_PREFIX,
    f"{submission.ATTENTION_PREFIX} through portal",
    "Portal status check handed over",
)


@dataclass(frozen=True)
class PortalRun:
    """One run as a person sees it (no answer text, no values read: those stay encrypted)."""

    id: str
    organization_id: str
    request_id: str
    purpose: str
    sop: str
    status: str
    actor_email: str
    created_at: dt.datetime
    not_before: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    worker: str
    outcome: str
    message: str
    steps: list[StepRecord]
    screenshots: list[str]
    traces: list[str]
    question: Question | None
    answer: dict[str, Any] | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class _Ending:
    status: str
    outcome: str = ""
    message: str = ""
    values: dict[str, Any] | None = None


# -- starting --------------------------------------------------------------------------------------


def goes_by_portal(ctx: Context, actor: Requester, request_id: str, channel: str | None) -> bool:
    """Whether submitting the request through `channel` (None or "auto": the payer's own first
    channel) runs the payer's portal SOP: the choice services.submission makes. Reads the request
    without an audit row (the submit that follows is audited)."""
    if channel is not None and channel != "auto":
        return channel == "portal"
    with ctx.uow() as uow:
        request = request_repository(ctx, uow).get(actor.organization_id, request_id)
    return portal_chosen(ctx, request)


def portal_chosen(ctx: Context, request: AuthorizationRequest) -> bool:
    """Whether the payer's own first channel for this request is its portal."""
    try:
        name, _ = choose(request, None, ctx.settings)
    except ChannelMisconfigured:
        return False  # the submit itself says what is missing
    return name == "portal"


def start_submit(ctx: Context, actor: Requester, request_id: str) -> PortalRun:
    """Queue a portal submit of a request that may be submitted and goes through the portal; an
    active submit run of the request is returned instead of a second one."""
    require_changer(actor, "submit requests on a payer portal")
    at = ctx.now()
    with ctx.uow() as uow:
        requests = request_repository(ctx, uow)
        request = requests.get(actor.organization_id, request_id)
        apply(request, Event.SUBMIT, at=at, actor=actor.email)  # refuses now, not in the worker
        name, _ = choose(request, None, ctx.settings)
        if name != "portal":
            message = (
                f"This request goes to its payer through the {name} channel, not a portal; "
                "submit it with the ordinary submit action."
            )
            raise InvalidInput(message, [Issue("not-a-portal-request", message, "channel")])
        repo = run_repository(ctx, uow)
        running = repo.active(actor.organization_id, request_id, "submit")
        if running is not None:
            return _to_run(running)
        run = _new(actor.organization_id, request_id, "submit", actor.email, at)
        repo.add(run)
        status = request.status
        data = {"run": run.id, "purpose": "submit"}
        queued = TimelineEvent(at, actor.email, QUEUED_EVENT, status, status, "", data)
        requests.add_event(actor.organization_id, request_id, queued)
        _audit(uow, actor.email, "create", run, at, "portal submit queued")
        uow.commit()
        started = _to_run(run)
    _dispatch(ctx, started.id)
    return started


def start_status(ctx: Context, organization_id: str, request_id: str) -> PortalRun | None:
    """Queue a status check on the portal (the sweep's inquiry); None when one is active."""
    at = ctx.now()
    with ctx.uow() as uow:
        request_repository(ctx, uow).get(organization_id, request_id)  # NotFound across tenants
        repo = run_repository(ctx, uow)
        if repo.active(organization_id, request_id, "status") is not None:
            return None
        run = _new(organization_id, request_id, "status", SYSTEM, at)
        repo.add(run)
        _audit(uow, SYSTEM, "create", run, at, "portal status check queued")
        uow.commit()
        started = _to_run(run)
    _dispatch(ctx, started.id)
    return started


def start_status_for(ctx: Context, actor: Requester, request_id: str) -> tuple[PortalRun, bool]:
    """A person's "Check status on the portal now": queue a status run of a request whose
    submission went by the portal and awaits the payer's answer. Returns (run, started): the
    active status run of the request, if there is one, comes back with started False."""
    require_changer(actor, "check a request's status on a payer portal")
    at = ctx.now()
    with ctx.uow() as uow:
        requests = request_repository(ctx, uow)
        request = requests.get(actor.organization_id, request_id)  # NotFound across tenants
        repo = run_repository(ctx, uow)
        running = repo.active(actor.organization_id, request_id, "status")
        if running is not None:
            return _to_run(running), False
        awaited = ExchangeRepository(uow.session).awaiting(actor.organization_id, request_id)
        if awaited is None or awaited.channel != payer_exchanges.PORTAL:
            message = (
                "This request has no submission made through the payer's portal that still "
                "awaits an answer; check its status the way it was sent, or record the decision."
            )
            raise InvalidInput(message, [Issue("no-portal-submission", message, "request")])
        run = _new(actor.organization_id, request_id, "status", actor.email, at)
        repo.add(run)
        status = request.status
        data = {"run": run.id, "purpose": "status"}
        queued = TimelineEvent(at, actor.email, QUEUED_EVENT, status, status, "", data)
        requests.add_event(actor.organization_id, request_id, queued)
        _audit(uow, actor.email, "create", run, at, "portal status check queued")
        uow.commit()
        started = _to_run(run)
    _dispatch(ctx, started.id)
    return started, True


def awaits_portal(ctx: Context, actor: Requester, request_id: str) -> bool:
    """Whether the request's submission went by the portal and still awaits the payer's answer
    (what "Check status on the portal now" needs). No audit row: the page showing it has one."""
    with ctx.uow() as uow:
        awaited = ExchangeRepository(uow.session).awaiting(actor.organization_id, request_id)
    return awaited is not None and awaited.channel == payer_exchanges.PORTAL


# -- running ---------------------------------------------------------------------------------------


def execute(ctx: Context, run_id: str, *, worker: str) -> str:
    """Claim and run a queued run: "done" (its end is on the row), "busy" (a credential is held
    by another run; queued again) or "not_queued" (not queued, not due, or taken by another)."""
    now = ctx.now()
    with ctx.uow() as uow:
        claimed = run_repository(ctx, uow).claim(run_id, now=now, worker=worker)
        uow.commit()
    if not claimed:
        return "not_queued"
    with ctx.uow() as uow:  # a snapshot: the row itself expires when the session closes
        run = _to_run(_found(run_repository(ctx, uow).get_any(run_id), run_id))
        request = request_repository(ctx, uow).get(run.organization_id, run.request_id)
        payer = request.coverage.payer_id
    holder = f"run-{run_id}"
    try:
        workflow = sop_for(ctx.settings, payer, run.purpose)
        sop = ctx.settings.portals.get(payer, "").partition("@")[0]
        _change(ctx, run_id, sop=f"{sop}-{run.purpose}")
        with _leased(ctx, run, holder, workflow.header.credentials) as held:
            if not held:
                return "busy"
            # The run starts when it holds its credentials (the claim came before the lease).
            _change(ctx, run_id, started_at=ctx.now())
            # Ids and names only: the request's patient never reaches a log line.
            log.info(
                "portal run %s started: %s-%s for request %s on %s",
                run_id, sop, run.purpose, run.request_id, worker,
            )  # fmt: skip
            observer = RunObserverImpl(
                ctx,
                run_id=run_id,
                organization_id=run.organization_id,
                request_id=run.request_id,
                holder=holder,
                credentials=workflow.header.credentials,
            )
            ending = _run(ctx, run, observer, holder)
            _finish(ctx, run_id, ending)  # recorded while the credentials are still held
            _log_end(run_id, ending)
            return "done"
    except PrecertError as failure:  # the SOP or a credential is missing: say what to fix
        ending = _Ending("failed", type(failure).__name__, failure.message)
    except Exception as bug:  # noqa: BLE001 — a run's failure is kept on the run, never raised
        # The type only: a library's message may quote the page (PHI).
        log.error("portal run %s failed unexpectedly: %s", run_id, type(bug).__name__)
        ending = _Ending("failed", type(bug).__name__, "precert failed unexpectedly; see the log")
    _finish(ctx, run_id, ending)
    _log_end(run_id, ending)
    return "done"


def _log_end(run_id: str, ending: _Ending) -> None:
    # The status and the outcome word (approved, PortalChanged ...), never the message: a
    # portal's own words may quote the page.
    log.info("portal run %s ended %s (%s)", run_id, ending.status, ending.outcome or "-")


def _run(ctx: Context, run: PortalRun, observer: RunObserverImpl, holder: str) -> _Ending:
    try:
        if run.purpose == "submit":
            return _submit(ctx, run, observer, holder)
        return _status(ctx, run, observer, holder)
    except PrecertError as failure:
        if isinstance(failure, PortalHandOver) and failure.by_hand:
            return _Ending("finished_by_hand", "by_hand", failure.message)
        # A person answered "stop" to the run's question: the hand-over or the failure that
        # follows is theirs (the request keeps the exception the submit recorded).
        if _last_action(ctx, run.id) == "stop":
            return _Ending("stopped", "stopped", failure.message)
        if not isinstance(failure, PortalHandOver):
            return _Ending("failed", type(failure).__name__, failure.message)
        if run.purpose == "status":  # a submit's failure record flags the request itself
            _flag(ctx, run, f"Portal status check handed over: {failure.message}")
        return _Ending("handed_over", "hand_over", failure.message)


def _submit(ctx: Context, run: PortalRun, observer: RunObserverImpl, holder: str) -> _Ending:
    actor = _starter(ctx, run)
    result = submission.submit_request(ctx, actor, run.request_id, observer=observer, holder=holder)
    receipt = result.receipt
    said = str(receipt.details.get("outcome") or "")
    if not said and receipt.answer is not None:
        said = receipt.answer.kind.value
    message = f"Submitted on the portal; it answered {said or 'nothing yet'}"
    if receipt.reference:
        message += f" (reference {receipt.reference})"
    return _Ending("succeeded", said or "submitted", message + ".", receipt.as_dict())


def _status(ctx: Context, run: PortalRun, observer: RunObserverImpl, holder: str) -> _Ending:
    found = payer_exchanges.inquire(
        ctx, run.organization_id, run.request_id, now=ctx.now(), observer=observer, holder=holder
    )
    if found is None:
        return _Ending("succeeded", "no_answer_yet", "The portal has no new answer yet.")
    message = f"The portal's answer landed; the request is {found.status.value}."
    return _Ending("succeeded", "answered", message, {"status": found.status.value})


@contextmanager
def _leased(ctx: Context, run: PortalRun, holder: str, names: tuple[str, ...]) -> Iterator[bool]:
    """Lease every credential first (True), or none and queue the run again (False): a run that
    logs in must not wait half-way for a login another run uses. Released however it ends."""
    taken: list[str] = []
    try:
        for name in names:
            if credentials.lease(ctx, run.organization_id, name, holder) is None:
                later = ctx.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS)
                # Not an attempt: nothing ran (the claim counted one).
                attempts = PortalRunRecord.attempts - 1
                _change(
                    ctx, run.id, status="queued", not_before=later, worker="", attempts=attempts
                )
                yield False
                return
            taken.append(name)
        yield True
    finally:
        for name in taken:
            credentials.release(ctx, run.organization_id, name, holder)


def _starter(ctx: Context, run: PortalRun) -> Requester:
    """The person who started the run, as they are now (a removed user or a lost role stops it)."""
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(run.actor_email)
        if user is not None and user.organization_id == run.organization_id and not user.disabled:
            return actor_for(user)
    message = (
        f"{run.actor_email}, who started this portal run, can no longer sign in here; "
        "someone who can submit requests must start it again."
    )
    raise PrecertError(message, [Issue("starter-gone", message, "actor")])


def _finish(ctx: Context, run_id: str, ending: _Ending) -> None:
    at = ctx.now()
    with ctx.uow() as uow:
        repo = run_repository(ctx, uow)
        run = _found(repo.get_any(run_id), run_id)
        if run.status == "queued":  # busy: it went back to the queue, nothing ended
            return
        values: dict[str, Any] = {}
        if ending.values is not None:
            values["values"] = repo.sealed_values(run.organization_id, run_id, ending.values)
        repo.change(
            run_id,
            status=ending.status,
            outcome=ending.outcome[:100],
            message=ending.message,
            finished_at=at,
            updated_at=at,
            answer_text=None,
            **values,
        )
        _audit(uow, SYSTEM, "change", run, at, f"portal run ended {ending.status}")
        uow.commit()


# -- a person's answer -----------------------------------------------------------------------------


def resolve(ctx: Context, actor: Requester, run_id: str, action: str, text: str = "") -> PortalRun:
    """A person's answer to the question the run waits on; or "by_hand" on a run that was handed
    over, stopped or failed: the person finished it on the portal, the request's flag is cleared."""
    require_changer(actor, "answer portal runs")
    if action not in ACTIONS:
        raise _bad_action(action, ACTIONS)
    at = ctx.now()
    with ctx.uow() as uow:
        repo = run_repository(ctx, uow)
        run = _visible(repo.get(actor.organization_id, run_id), run_id)
        if action == "by_hand" and run.status in ENDED_FOR_A_PERSON:
            _finished_by_hand(ctx, uow, actor, run, at)
            uow.commit()
            return _to_run(_found(repo.get_any(run_id), run_id))
        if run.status != "waiting_for_person" or run.question is None:
            message = (
                f"This portal run is {run.status.replace('_', ' ')}, not waiting for a person; "
                "there is nothing to answer."
            )
            raise Conflict(message, [Issue("not-waiting", message, "run")])
        offers = tuple(run.question.get("offers") or ())
        if action not in offers:
            raise _bad_action(action, offers)
        if action == "answer" and not text.strip():
            raise InvalidInput.field("text", "text: type what the portal asks for.", "required")
        answer = {"action": action, "by": actor.email, "at": at.isoformat()}
        typed = text if action == "answer" else None
        if not repo.answer_if_waiting(run_id, answer, typed, actor.organization_id):
            message = "Someone answered this portal run already, or it stopped waiting."
            raise Conflict(message, [Issue("answered", message, "run")])
        _audit(uow, actor.email, "change", run, at, f"answered {action}")  # never the text
        uow.commit()
        return _to_run(_found(repo.get_any(run_id), run_id))


def _finished_by_hand(
    ctx: Context, uow: UnitOfWork, actor: Requester, run: PortalRunRecord, at: dt.datetime
) -> None:
    repo = run_repository(ctx, uow)
    answer = {"action": "by_hand", "by": actor.email, "at": at.isoformat()}
    note = f"{actor.email} is finishing it on the portal by hand; record the submission when done"
    repo.change(run.id, status="finished_by_hand", answer=answer, updated_at=at)
    requests = request_repository(ctx, uow)
    request = requests.get(run.organization_id, run.request_id)
    events: list[TimelineEvent] = []
    if (request.needs_attention or "").startswith(_PORTAL_ATTENTION):
        request, cleared = clear_attention(request, at=at, actor=actor.email, note=note)
        requests.save(request, next_action_at=next_action(request, at))
        events.append(cleared)
    status = request.status
    data = {"run": run.id, "by": actor.email}
    events.append(TimelineEvent(at, actor.email, BY_HAND_EVENT, status, status, note, data))
    for event in events:
        requests.add_event(run.organization_id, run.request_id, event)
    _audit(uow, actor.email, "change", run, at, "finished by hand")


# -- reading ---------------------------------------------------------------------------------------


def get_run(ctx: Context, actor: Requester, run_id: str) -> PortalRun:
    with ctx.uow() as uow:
        return _to_run(
            _visible(run_repository(ctx, uow).get(actor.organization_id, run_id), run_id)
        )


def runs_for_request(ctx: Context, actor: Requester, request_id: str) -> list[PortalRun]:
    """The request's runs, newest first."""
    with ctx.uow() as uow:
        rows = run_repository(ctx, uow).for_request(actor.organization_id, request_id)
        return [_to_run(row) for row in rows]


def artifact(ctx: Context, actor: Requester, run_id: str, name: str) -> tuple[bytes, str]:
    """(bytes, media type) of a screenshot or trace of the run, decrypted; every view audited."""
    with ctx.uow() as uow:
        run = _visible(run_repository(ctx, uow).get(actor.organization_id, run_id), run_id)
        if name not in (*run.screenshots, *run.traces):
            message = f"Portal run {run_id} has no screenshot or trace named {name!r}."
            raise NotFound(message, [Issue("not-found", message, "name")])
        path = artifact_path(ctx, run_id, name)
        if not path.is_file():
            message = f"The file of {name!r} is missing from {path.parent}; restore it from backup."
            raise NotFound(message, [Issue("artifact-missing", message, "name")])
        cipher = FieldCipher.from_settings(ctx.settings)
        data = cipher.decrypt_bytes(path.read_bytes(), context=artifact_context(run_id, name))
        record(
            uow,
            actor=actor.email,
            action="view",
            entity=ENTITY,
            entity_id=run_id,
            organization_id=actor.organization_id,
            reason=f"artifact {name}",
            at=ctx.now(),
        )
        uow.commit()
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return data, MEDIA_TYPES.get(suffix, "application/octet-stream")


def waiting_runs(ctx: Context, actor: Requester, request_ids: list[str]) -> dict[str, str]:
    """For a page of the work queue: request id -> id of its run waiting for a person, in one
    query whatever the number of rows. Should a submit and a status run both wait, the newest
    is linked (the rows come oldest first; a later one replaces an earlier in the dict)."""
    if not request_ids:
        return {}
    with ctx.uow() as uow:
        return run_repository(ctx, uow).waiting_for(actor.organization_id, request_ids)


def queued_due(ctx: Context, *, now: dt.datetime, limit: int = 50) -> list[str]:
    """Ids of queued runs whose time has come (a running run is never here: it may have clicked)."""
    with ctx.uow() as uow:
        return run_repository(ctx, uow).due(now, limit)


def stale_runs(ctx: Context, *, now: dt.datetime) -> list[PortalRun]:
    """Runs running or waiting with no write for STALE_AFTER: their worker likely died. They are
    reported, never re-run automatically (the submit click may have happened)."""
    with ctx.uow() as uow:
        return [_to_run(row) for row in run_repository(ctx, uow).running_since(now - STALE_AFTER)]


# -- helpers ---------------------------------------------------------------------------------------


def _new(
    organization_id: str, request_id: str, purpose: str, actor_email: str, at: dt.datetime
) -> PortalRunRecord:
    return PortalRunRecord(
        id=new_run_id(),
        organization_id=organization_id,
        request_id=request_id,
        purpose=purpose,
        sop="",
        status="queued",
        actor_email=actor_email,
        created_at=at,
        updated_at=at,
        not_before=at,
        attempts=0,
        worker="",
        outcome="",
        message="",
        steps=[],
        screenshots=[],
        traces=[],
    )


def _dispatch(ctx: Context, run_id: str) -> None:
    if ctx.dispatch_portal_run is None:
        return  # the worker's sweep picks queued runs up
    try:
        ctx.dispatch_portal_run(run_id)
    except Exception:  # noqa: BLE001 — the run is queued durably; the sweep picks it up anyway
        log.warning("could not hand portal run %s to the queue; the sweep will run it", run_id)


def _change(ctx: Context, run_id: str, **values: Any) -> None:
    with ctx.uow() as uow:
        run_repository(ctx, uow).change(run_id, updated_at=ctx.now(), **values)
        uow.commit()


def _flag(ctx: Context, run: PortalRun, reason: str) -> None:
    at = ctx.now()
    with ctx.uow() as uow:
        requests = request_repository(ctx, uow)
        request = requests.get(run.organization_id, run.request_id)
        flagged, attention = flag(request, reason, at=at, actor=SYSTEM)
        requests.save(flagged, next_action_at=next_action(flagged, at))
        requests.add_event(run.organization_id, run.request_id, attention)
        uow.commit()


def _last_action(ctx: Context, run_id: str) -> str:
    with ctx.uow() as uow:
        run = run_repository(ctx, uow).get_any(run_id)
        return str((run.answer or {}).get("action") or "") if run is not None else ""


def _found(run: PortalRunRecord | None, run_id: str) -> PortalRunRecord:
    if run is None:
        raise LookupError(f"portal run {run_id} is not in the database")
    return run


def _visible(run: PortalRunRecord | None, run_id: str) -> PortalRunRecord:
    if run is None:
        message = f"There is no portal run {run_id} in your organization."
        raise NotFound(message, [Issue("not-found", message, "run")])
    return run


def _bad_action(action: str, offered: tuple[str, ...]) -> InvalidInput:
    listed = ", ".join(offered) or "none"
    message = f"action: {action!r} is not offered here; choose one of {listed}."
    return InvalidInput(message, [Issue("bad-action", message, "action")])


def _audit(
    uow: UnitOfWork,
    actor: str,
    action: str,
    run: PortalRunRecord | PortalRun,
    at: dt.datetime,
    reason: str,
) -> None:
    record(
        uow,
        actor=actor,
        action=action,
        entity=ENTITY,
        entity_id=run.id,
        organization_id=run.organization_id,
        reason=reason,
        at=at,
    )


def _to_run(row: PortalRunRecord) -> PortalRun:
    return PortalRun(
        id=row.id,
        organization_id=row.organization_id,
        request_id=row.request_id,
        purpose=row.purpose,
        sop=row.sop,
        status=row.status,
        actor_email=row.actor_email,
        created_at=row.created_at,
        not_before=row.not_before,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        worker=row.worker,
        outcome=row.outcome,
        message=row.message,
        steps=[StepRecord.from_dict(step) for step in row.steps or []],
        screenshots=list(row.screenshots or []),
        traces=list(row.traces or []),
        question=_question(row.question),
        answer=dict(row.answer) if row.answer else None,
    )


def _question(data: dict[str, Any] | None) -> Question | None:
    if not data:
        return None
    return Question(
        kind=data["kind"],
        reason=str(data.get("reason") or ""),
        line=int(data.get("line") or 0),
        step=str(data.get("step") or ""),
        screenshot=data.get("screenshot"),
        offers=tuple(data.get("offers") or ()),
        submitted=bool(data.get("submitted")),
    )
