"""Our errors as FHIR R4 OperationOutcomes, for the FHIR endpoints: one issue per Issue, with the
failing element in `expression` and the sentence a person acts on in `diagnostics`."""

from __future__ import annotations

from typing import Any

from precert.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PrecertError,
    Unauthenticated,
)

# Our Issue codes -> FHIR issue-type codes (http://hl7.org/fhir/issue-type).
_ISSUE_TYPES = {
    "required": "required",
    "invalid": "invalid",
    "duplicate": "duplicate",
    "not-found": "not-found",
    "too-long": "too-long",
    "invalid-transition": "business-rule",
}
# When an error carries no issues, its class says what kind of failure it was.
_ERROR_TYPES: tuple[tuple[type[PrecertError], str], ...] = (
    (InvalidInput, "invalid"),
    (NotFound, "not-found"),
    (InvalidTransition, "business-rule"),
    (PermissionDenied, "forbidden"),
    (Unauthenticated, "login"),
    (Conflict, "conflict"),
)


def issue_type(code: str) -> str:
    """The FHIR issue type for one of our Issue codes (X12 reject codes are 'processing')."""
    return _ISSUE_TYPES.get(code, "processing")


def operation_outcome(error: PrecertError) -> dict[str, Any]:
    """The OperationOutcome for `error`; `expression` is set only when the issue has a location."""
    issues: list[dict[str, Any]] = []
    for issue in error.issues:
        entry: dict[str, Any] = {
            "severity": "error",
            "code": issue_type(issue.code),
            "details": {"text": issue.code},
            "diagnostics": issue.message,
        }
        if issue.location:
            entry["expression"] = [issue.location]
        issues.append(entry)
    if not issues:
        kind = next((t for cls, t in _ERROR_TYPES if isinstance(error, cls)), "exception")
        issues.append({"severity": "error", "code": kind, "diagnostics": error.message})
    return {"resourceType": "OperationOutcome", "issue": issues}
