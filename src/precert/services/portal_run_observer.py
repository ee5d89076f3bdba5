"""The RunObserver a persisted portal run hands to the runner: it keeps the run's row current.

What belongs here: everything that happens while one run is running — each step appended and
committed (the run page shows progress live), screenshots and traces encrypted into the data
directory (the plaintext the runner wrote is deleted), and a question for a person: the run waits
on the row, with the request flagged in the work queue, until `portal_runs.resolve` stores an
answer or the hand-over window (settings.portal_handover_minutes) passes. Starting, claiming and
finishing runs is services/portal_runs.py; the table is store/portal_runs.py.

Every method runs on the run's thread and opens its own short transaction: a person answering
(another process) writes the same row, so each write names only its own columns.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from precert.channels.portal.record import ACTIONS, Answer, Question, StepRecord
from precert.domain.authorizations import TimelineEvent, clear_attention, flag_attention
from precert.security.crypto import FieldCipher
from precert.services import credentials
from precert.services.audit import SYSTEM
from precert.services.authorization_requests import next_action, request_repository
from precert.services.context import Context
from precert.store.portal_runs import RUNNING, WAITING, PortalRunRecord, PortalRunRepository
from precert.store.uow import UnitOfWork

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often a waiting run reads its row for an answer
# How often a waiting run renews its credential leases (they last 15 minutes; the hand-over window
# is below 15 minutes, so one renewal in the middle would do — more often costs one audit row).
RENEW_SECONDS = 120.0
# needs_attention reasons this module sets; a later answer (or by-hand) clears only these.
WAITING_PREFIX = "Portal run waiting for a person"
UNANSWERED_PREFIX = "Portal run handed over"
WAITING_EVENT = "portal_run_waiting"
RESUMED_EVENT = "portal_run_resumed"
ARTIFACTS = "portal-runs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def artifact_path(ctx: Context, run_id: str, name: str) -> Path:
    """Where an artifact of a run is kept, encrypted."""
    return ctx.settings.data_dir / ARTIFACTS / run_id / f"{name}.enc"


def artifact_context(run_id: str, name: str) -> str:
    """The encryption context: a file copied to another run or name does not decrypt."""
    return f"portal-run:{run_id}:{name}"


def run_repository(ctx: Context, uow: UnitOfWork) -> PortalRunRepository:
    return PortalRunRepository(uow.session, FieldCipher.from_settings(ctx.settings))


class RunObserverImpl:
    """Persists one run as the runner reports it (see the module docstring)."""

    def __init__(
        self,
        ctx: Context,
        *,
        run_id: str,
        organization_id: str,
        request_id: str,
        holder: str,
        credentials: tuple[str, ...] = (),
    ) -> None:
        self._ctx = ctx
        self._run_id = run_id
        self._organization_id = organization_id
        self._request_id = request_id
        self._holder = holder
        self._credentials = credentials
        self._names: dict[str, str] = {}  # a path the runner handed over -> its artifact name

    # -- the RunObserver protocol ------------------------------------------------------------------

    def step(self, record: StepRecord) -> None:
        with self._ctx.uow() as uow:
            repo = run_repository(self._ctx, uow)
            run = self._row(repo)
            steps = [*run.steps, record.as_dict()]
            repo.change(self._run_id, steps=steps, updated_at=self._ctx.now())
            uow.commit()

    def screenshot(self, path: Path) -> None:
        self._keep(path, "screenshots")

    def trace(self, path: Path) -> None:
        self._keep(path, "traces")

    def ask_person(self, question: Question) -> Answer | None:
        self._wait_for(question)
        deadline = time.monotonic() + self._ctx.settings.portal_handover_minutes * 60
        renew_at = time.monotonic() + RENEW_SECONDS
        while True:
            answered = self._answer()
            if answered is not None:
                return answered
            if time.monotonic() >= deadline:
                self._unanswered(question)
                return None
            if time.monotonic() >= renew_at:
                self._renew()
                renew_at = time.monotonic() + RENEW_SECONDS
            time.sleep(POLL_SECONDS)

    # -- artifacts ---------------------------------------------------------------------------------

    def _keep(self, path: Path, column: str) -> str | None:
        """Encrypt the file beside the run's other artifacts, delete the plaintext, list it."""
        known = self._names.get(str(path))
        if known is not None:
            return known
        if not path.is_file():  # nothing to keep (the runner could not write it)
            return None
        with self._ctx.uow() as uow:
            repo = run_repository(self._ctx, uow)
            run = self._row(repo)
            taken = {*run.screenshots, *run.traces}
            name = _unique(_UNSAFE.sub("-", path.name) or "artifact", taken)
            target = artifact_path(self._ctx, self._run_id, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            cipher = FieldCipher.from_settings(self._ctx.settings)
            sealed = cipher.encrypt_bytes(
                path.read_bytes(), context=artifact_context(self._run_id, name)
            )
            partial = target.with_suffix(".part")
            partial.write_bytes(sealed)
            partial.replace(target)  # a reader never sees half a file
            names = [*getattr(run, column), name]
            repo.change(self._run_id, **{column: names, "updated_at": self._ctx.now()})
            uow.commit()
        path.unlink(missing_ok=True)
        self._names[str(path)] = name
        return name

    # -- waiting for a person ----------------------------------------------------------------------

    def _wait_for(self, question: Question) -> None:
        """Status waiting, the question on the row, the request flagged (the work queue's
        exception) with a timeline event; one commit."""
        shot = self._keep(Path(question.screenshot), "screenshots") if question.screenshot else None
        asked: dict[str, Any] = {**question.as_dict(), "screenshot": shot}
        at = self._ctx.now()
        reason = f"{WAITING_PREFIX}: {question.reason}"
        data = {"run": self._run_id, "kind": question.kind, "line": question.line}
        with self._ctx.uow() as uow:
            repo = run_repository(self._ctx, uow)
            repo.change(
                self._run_id,
                status=WAITING,
                question=asked,
                answer=None,
                answer_text=None,
                updated_at=at,
            )
            requests = request_repository(self._ctx, uow)
            request = requests.get(self._organization_id, self._request_id)
            flagged, attention = flag_attention(request, reason, at=at, actor=SYSTEM)
            status = request.status
            waiting = TimelineEvent(
                at, SYSTEM, WAITING_EVENT, status, status, question.reason, data
            )
            requests.save(flagged, next_action_at=next_action(flagged, at))
            requests.add_event(self._organization_id, self._request_id, attention)
            requests.add_event(self._organization_id, self._request_id, waiting)
            uow.commit()

    def _answer(self) -> Answer | None:
        """The stored answer, taken: the run runs again, the flag is cleared, the typed text is
        removed from the row (it lives on only in the runner's memory)."""
        with self._ctx.uow() as uow:
            repo = run_repository(self._ctx, uow)
            run = self._row(repo)
            stored = run.answer
            if stored is None or stored.get("action") not in ACTIONS:
                return None
            text = repo.answer_text(run)
            at = self._ctx.now()
            repo.change(self._run_id, status=RUNNING, answer_text=None, updated_at=at)
            action, by = stored["action"], str(stored.get("by") or "")
            requests = request_repository(self._ctx, uow)
            request = requests.get(self._organization_id, self._request_id)
            status = request.status
            events: list[TimelineEvent] = []
            if (request.needs_attention or "").startswith(WAITING_PREFIX):
                note = f"{by} answered the portal run: {action}"
                request, cleared = clear_attention(request, at=at, actor=by or SYSTEM, note=note)
                requests.save(request, next_action_at=next_action(request, at))
                events.append(cleared)
            data = {"run": self._run_id, "action": action, "by": by}
            events.append(TimelineEvent(at, by or SYSTEM, RESUMED_EVENT, status, status, "", data))
            for event in events:
                requests.add_event(self._organization_id, self._request_id, event)
            uow.commit()
        return Answer(action, text, by)

    def _unanswered(self, question: Question) -> None:
        """Nobody answered in time: the run goes on to end as handed over, and the request keeps
        an exception saying so (the submit's failure record may word it again)."""
        at = self._ctx.now()
        minutes = self._ctx.settings.portal_handover_minutes
        reason = (
            f"{UNANSWERED_PREFIX}: nobody answered within {minutes:g} minutes "
            f"({question.reason}); a person must take over on the portal"
        )
        with self._ctx.uow() as uow:
            run_repository(self._ctx, uow).change(self._run_id, status=RUNNING, updated_at=at)
            requests = request_repository(self._ctx, uow)
            request = requests.get(self._organization_id, self._request_id)
            flagged, attention = flag_attention(request, reason, at=at, actor=SYSTEM)
            requests.save(flagged, next_action_at=next_action(flagged, at))
            requests.add_event(self._organization_id, self._request_id, attention)
            uow.commit()

    def _renew(self) -> None:
        """Keep the run's credentials while a person looks (the same holder re-leasing renews)."""
        for name in self._credentials:
            if credentials.lease(self._ctx, self._organization_id, name, self._holder) is None:
                log.warning("portal run %s lost its lease on %s while waiting", self._run_id, name)
        with self._ctx.uow() as uow:
            run_repository(self._ctx, uow).change(self._run_id, updated_at=self._ctx.now())
            uow.commit()

    def _row(self, repo: PortalRunRepository) -> PortalRunRecord:
        run = repo.get_any(self._run_id)
        if run is None:  # the run's own row: only a deleted database loses it
            raise LookupError(f"portal run {self._run_id} is not in the database")
        return run


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{n}-{name}" in taken:
        n += 1
    return f"{n}-{name}"
