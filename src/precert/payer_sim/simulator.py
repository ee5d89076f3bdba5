"""The payer's behaviour, without HTTP: adjudicate a submission by the rules, remember the answer
under the Claim identifier (so the same request again gets the same answer and the same
authorization number, never a second authorization), answer inquiries, and decide pended
submissions when their delay is over.

An update (PAS Claim Update, see pas.Update) changes a request the payer already answered: a
cancel answers C and withdraws the authorization (and any pending decision) of the prior Claim;
an extension or revision is certified under the SAME authorization number with the dates and
units now asked. The update is remembered under its own Claim identifier, so a repeat gets the
first answer; an update of a Claim never submitted, or naming an authorization the payer did not
grant for it, is refused with an OperationOutcome naming the element.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from precert.channels.fhir.pas_checks import check_request_bundle
from precert.errors import InvalidInput, InvalidTransition, Issue, NotFound
from precert.payer_sim.pas import (
    GRANTED,
    Submitted,
    amendment_bundle,
    claim_identifiers,
    read_submission,
    rejection_bundle,
    response_bundle,
)
from precert.payer_sim.rules import Decision, Kind, Rules
from precert.payer_sim.state import State, Submission

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class Decided:
    """A pended submission that was just decided: its final response Bundle."""

    submission: Submission
    response: dict[str, Any]


class Simulator:
    def __init__(
        self,
        rules: Rules,
        state: State,
        clock: Clock,
        on_decided: Callable[[Decided], None] | None = None,
    ) -> None:
        self.rules = rules
        self.state = state
        self.clock = clock
        self.on_decided = on_decided  # the subscriptions hear of every pended decision
        # One adjudication at a time: a retry racing its original must not decide twice.
        self._lock = threading.Lock()

    def submit(self, bundle: object) -> dict[str, Any]:
        """The response Bundle for a `Claim/$submit` body; InvalidInput for a Bundle that fails
        our PAS checks (each issue located at the failing element)."""
        self.decide_due()
        repeated = self._repeated(bundle)
        if repeated is not None:
            return repeated
        issues = check_request_bundle(bundle)
        if issues:
            raise InvalidInput("The PAS request Bundle has problems.", list(issues))
        assert isinstance(bundle, Mapping)
        submitted = read_submission(bundle)
        if submitted.update is not None:
            return self._amend(submitted, bundle)
        with self._lock:
            now = self.clock()
            stored, new = self.state.add(submitted.identifier, dict(bundle), now)
            if not new and stored.response:
                if not _rejected(stored.response):
                    return stored.response  # a resubmission: the same answer, nothing new
                # The payer refused it (unknown member): a corrected request is adjudicated anew.
                self.state.replace_request(stored.number, dict(bundle))
            decisions = self._decisions(submitted)
            if any(d.kind is Kind.UNKNOWN_MEMBER for d in decisions):
                response = rejection_bundle(submitted, now)
                self.state.answer(stored.number, response, None, None)
                return response
            pended = [d for d in decisions if d.kind is Kind.PEND]
            decide_at = (
                now + dt.timedelta(seconds=max(d.after_seconds for d in pended)) if pended else None
            )
            number = _authorization(stored.number, decisions) if not pended else None
            response = response_bundle(
                submitted,
                decisions,
                now=now,
                authorization_number=number,
                reference=reference_for(stored.number),
            )
            self.state.answer(stored.number, response, number, decide_at)
            return response

    def _amend(self, submitted: Submitted, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """The answer to an update of an earlier request (see the module docstring)."""
        update = submitted.update
        assert update is not None
        with self._lock:
            now = self.clock()
            stored = self.state.find(submitted.identifier)
            if stored is not None and stored.response:
                return stored.response  # the same update again: answered once
            prior = self.state.find(update.prior)
            _check_amendable(prior, update.certification, update.authorization_number)
            assert prior is not None
            kept = None if update.certification == "3" else prior.authorization_number
            response = amendment_bundle(
                submitted, now=now, authorization_number=prior.authorization_number
            )
            row, _ = self.state.add(submitted.identifier, dict(bundle), now)
            self.state.answer(row.number, response, None, None)  # one authorization, not two
            if kept is None:
                self.state.withdraw(prior.number, response)
            else:
                self.state.answer(prior.number, response, kept, None)
            return response

    def _repeated(self, bundle: object) -> dict[str, Any] | None:
        """The stored answer when this exact Bundle was submitted and answered before: a retry
        after a lost response costs a lookup, not another round of checks."""
        if not isinstance(bundle, Mapping):
            return None
        for identifier in claim_identifiers(bundle)[:1]:
            found = self.state.find(identifier)
            if found is not None and found.response and found.request == bundle:
                return found.response
        return None

    def inquire(self, bundle: object) -> dict[str, Any]:
        """The current answer for the request a `Claim/$inquire` Bundle names by identifier."""
        if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
            raise InvalidInput.field("", "an inquiry is a Bundle whose first entry is the Claim.")
        identifiers = claim_identifiers(bundle)
        if not identifiers:
            raise InvalidInput.field(
                "Bundle.entry[0].resource.identifier",
                "Bundle.entry[0].resource.identifier: the inquiry names the request by the "
                "Claim identifier it was submitted with.",
                "required",
            )
        self.decide_due()
        for identifier in identifiers:
            found = self.state.find(identifier)
            if found is not None and found.response:
                return found.response
        raise NotFound("No request was submitted with that Claim identifier.")

    def decide_due(self) -> list[Decided]:
        """Decide every pended submission whose delay is over, tell `on_decided` of each, and
        return them. Run by the decision thread, and before every answer so that an inquiry
        never sees a pend whose time is up."""
        decided = []
        with self._lock:
            now = self.clock()
            for submission in self.state.due(now):
                submitted = read_submission(submission.request)
                decisions = [
                    d.then if d.kind is Kind.PEND and d.then else d
                    for d in self._decisions(submitted)
                ]
                number = _authorization(submission.number, decisions)
                response = response_bundle(
                    submitted,
                    decisions,
                    now=now,
                    authorization_number=number,
                    reference=reference_for(submission.number),
                )
                self.state.answer(submission.number, response, number, None)
                decided.append(Decided(submission, response))
        if self.on_decided is not None:
            for one in decided:
                self.on_decided(one)
        return decided

    def _decisions(self, submitted: Submitted) -> list[Decision]:
        return [
            self.rules.decide(submitted.payer, item.code, submitted.member_id)
            for item in submitted.items
        ]


def _rejected(response: Mapping[str, Any]) -> bool:
    """Whether a stored answer is a rejection (ClaimResponse.outcome error), not a decision."""
    entries = response.get("entry") or []
    first = entries[0].get("resource", {}) if entries else {}
    return first.get("resourceType") == "ClaimResponse" and first.get("outcome") == "error"


_RELATED = "Bundle.entry[0].resource.related"
_NUMBER = "Bundle.entry[0].resource.item[0].extension(authorizationNumber)"


def _check_amendable(prior: Submission | None, certification: str, number: str) -> None:
    """InvalidInput when no request was accepted under the prior Claim's identifier;
    InvalidTransition unless `number` is what the payer gave that request: its authorization
    number, or for a cancel of a pended request its reference."""
    if prior is None or not prior.response or _rejected(prior.response):
        raise InvalidInput.field(
            _RELATED,
            f"{_RELATED}: no request was accepted under the prior Claim's identifier; an update "
            "can only change a request the payer answered. Submit it as a new request.",
            "not-found",
        )
    accepted = {prior.authorization_number} - {None}
    if certification == "3":
        accepted.add(reference_for(prior.number))
    if number not in accepted:
        what = "authorization" if prior.authorization_number else "authorization (none granted)"
        message = (
            f"{_NUMBER}: the number does not match the {what} of the prior request; send the "
            "authorization number the payer gave."
        )
        raise InvalidTransition(message, [Issue("invalid-transition", message, _NUMBER)])


def reference_for(number: int) -> str:
    """The payer's reference for a submission (REF*NT), to inquire or call about it."""
    return f"SIMREF{number:08d}"


def _authorization(number: int, decisions: list[Decision]) -> str | None:
    """The authorization number, derived from the submission's row so it can never be issued
    twice; only when something was granted."""
    return f"SIM{number:08d}" if any(d.kind in GRANTED for d in decisions) else None
