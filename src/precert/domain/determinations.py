"""The payer's decision on a request: the Determination, its per-line decisions, and its checks.

`validate_determination` lists what is missing or inconsistent before a decision is recorded (an
approval without a number, a phone decision without the representative's name); `event_for` maps
the decision to the status-machine event. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from precert.domain import codes
from precert.domain.authorizations import AuthorizationRequest, Event, TimelineEvent
from precert.errors import InvalidInput, Issue


class Outcome(StrEnum):
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    NOT_REQUIRED = "not_required"
    PENDED = "pended"


class Method(StrEnum):
    """How the decision was obtained (DOMAIN.md: record how it was obtained)."""

    PORTAL = "portal"
    X12 = "x12"
    FHIR = "fhir"
    FAX = "fax"
    PHONE = "phone"


class LineStatus(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    MODIFIED = "modified"  # approved, but for another code or fewer units (X12 HCR01 A6)


@dataclass(frozen=True, slots=True)
class LineDecision:
    """The payer's decision on one requested code."""

    code: str
    approved_units: int
    status: LineStatus = LineStatus.APPROVED
    approved_code: str | None = None  # when modified to another code

    @property
    def covered_code(self) -> str:
        """The code a claim may carry under this decision."""
        return self.approved_code or self.code


@dataclass(frozen=True, slots=True)
class Determination:
    outcome: Outcome
    method: Method
    decision_date: dt.date
    authorization_number: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    provider_npi: str | None = None
    facility_npi: str | None = None
    reason_codes: tuple[str, ...] = ()
    reference: str = ""  # call reference, portal confirmation, fax confirmation, REF*NT
    rep_name: str = ""  # the payer representative on a phone decision
    letter_document_id: str | None = None
    lines: tuple[LineDecision, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "method": self.method.value,
            "decision_date": self.decision_date.isoformat(),
            "authorization_number": self.authorization_number,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "provider_npi": self.provider_npi,
            "facility_npi": self.facility_npi,
            "reason_codes": list(self.reason_codes),
            "reference": self.reference,
            "rep_name": self.rep_name,
            "letter_document_id": self.letter_document_id,
            "lines": [
                {
                    "code": line.code,
                    "approved_units": line.approved_units,
                    "status": line.status.value,
                    "approved_code": line.approved_code,
                }
                for line in self.lines
            ],
        }


_GRANTS = (Outcome.APPROVED, Outcome.PARTIALLY_APPROVED)

# Timeline events that carry a determination which is NOT the request's standing decision: a
# denied extension (the approval stands) and a payer answer that could not be recorded.
NOT_STANDING = frozenset({"extension_denied", "payer_answer_unrecorded"})


def standing_determination(timeline: Sequence[TimelineEvent]) -> Mapping[str, Any] | None:
    """The stored determination (as_dict form) in force: the newest on the timeline, an approved
    extension included, skipping those in NOT_STANDING."""
    for event in reversed(timeline):
        found = (event.data or {}).get("determination")
        if isinstance(found, Mapping) and event.kind not in NOT_STANDING:
            return found
    return None


def validate_determination(
    request: AuthorizationRequest, determination: Determination
) -> list[Issue]:
    """Every problem with recording `determination` on `request`; empty when it can be recorded."""
    d = determination
    found: list[Issue] = []
    if d.outcome in _GRANTS:
        found.extend(_grant_issues(d))
    if d.outcome is Outcome.DENIED and not d.reason_codes:
        # CMS-0057-F requires a specific reason for every denial; it is also what an appeal cites.
        found.append(_issue("reason_codes", "a denial needs the payer's reason code(s)."))
    found.extend(_method_issues(d))
    for location, value in (("provider_npi", d.provider_npi), ("facility_npi", d.facility_npi)):
        if value is not None:
            found.extend(_parse_issues(codes.npi, value, location))
    found.extend(_lines_issues(request, d))
    return found


def _grant_issues(d: Determination) -> list[Issue]:
    found: list[Issue] = []
    if not d.authorization_number.strip():
        found.append(
            _issue(
                "authorization_number",
                "an approval needs the payer's authorization number; it must go on the claim.",
            )
        )
    if d.valid_from is None or d.valid_to is None:
        found.append(
            _issue("valid_from", "an approval needs its valid window (valid_from and valid_to).")
        )
    elif d.valid_to < d.valid_from:
        found.append(
            _issue("valid_to", "the approval ends before it starts; check the dates.", "invalid")
        )
    if not any(line.status is not LineStatus.DENIED for line in d.lines):
        found.append(_issue("lines", "an approval needs at least one approved line."))
    if d.outcome is Outcome.PARTIALLY_APPROVED and not _partial(d):
        found.append(
            _issue(
                "lines",
                "a partial approval needs at least one denied or modified line; if every line "
                "was approved as asked, record an approval.",
                "invalid",
            )
        )
    return found


def _method_issues(d: Determination) -> list[Issue]:
    found: list[Issue] = []
    if d.method is Method.PHONE:
        if not d.rep_name.strip():
            found.append(_issue("rep_name", "a decision by phone needs the representative's name."))
        if not d.reference.strip():
            found.append(_issue("reference", "a decision by phone needs the call reference."))
    if d.method is Method.FAX and not (d.reference.strip() or d.letter_document_id):
        found.append(
            _issue("reference", "a decision by fax needs the fax confirmation or the letter.")
        )
    return found


def _lines_issues(request: AuthorizationRequest, d: Determination) -> list[Issue]:
    found: list[Issue] = []
    requested = {line.code for line in request.lines}
    for i, line in enumerate(d.lines):
        at = f"lines[{i}]"
        if line.code not in requested:
            found.append(
                _issue(
                    f"{at}.code",
                    f"code {line.code} is not on this request; decisions are per requested code.",
                    "invalid",
                )
            )
        if line.status is not LineStatus.DENIED and line.approved_units < 1:
            found.append(
                _issue(f"{at}.approved_units", "approved units must be at least 1.", "invalid")
            )
        if line.status is LineStatus.MODIFIED and line.approved_code is not None:
            found.extend(
                _parse_issues(codes.procedure_code, line.approved_code, f"{at}.approved_code")
            )
        elif line.approved_code not in (None, line.code):
            found.append(
                _issue(
                    f"{at}.approved_code",
                    "an approval for another code is a modified line; set its status to modified.",
                    "invalid",
                )
            )
    return found


def _partial(d: Determination) -> bool:
    return any(line.status is not LineStatus.APPROVED for line in d.lines)


def event_for(determination: Determination) -> Event:
    """The status-machine event a determination causes.

    A grant with any denied or modified line is a partial approval: the specialist must see that
    the claim cannot be billed exactly as requested.
    """
    outcome = determination.outcome
    if outcome in _GRANTS:
        return Event.PARTIALLY_APPROVE if _partial(determination) else Event.APPROVE
    return {
        Outcome.DENIED: Event.DENY,
        Outcome.NOT_REQUIRED: Event.PAYER_NOT_REQUIRED,
        Outcome.PENDED: Event.PAYER_PENDED,
    }[outcome]


def _issue(location: str, message: str, code: str = "required") -> Issue:
    return Issue(code, f"{location}: {message}", location)


def _parse_issues(parse: Any, value: str, location: str) -> list[Issue]:
    try:
        parse(value, location)
    except InvalidInput as error:
        return list(error.issues)
    return []
