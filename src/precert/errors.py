"""The one exception tree of precert, and the Issue each error carries.

    PrecertError (message, issues: list[Issue], retryable)
      InvalidInput       -> 422 / form field errors / CLI exit 2
      NotFound           -> 404 / CLI exit 2 (e.g. a payer id that is not configured)
      InvalidTransition  -> 409
      PermissionDenied   -> 403
      ChannelError       -> 502/503 (misconfigured, unavailable, payer rejected, portal changed)

`Issue(code, message, location)` mirrors FHIR OperationOutcome.issue, so one error renders as API
JSON, an OperationOutcome, a form-field message or a CLI line. `HTTP_STATUS` is the one table that
maps classes to HTTP status codes. Messages say what to do next and never carry PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: a machine code, a sentence a person can act on, and where it is."""

    code: str
    message: str
    location: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "location": self.location}


@dataclass
class PrecertError(Exception):
    """Base of every error precert raises on purpose."""

    message: str
    issues: list[Issue] = field(default_factory=list)
    retryable: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "issues": [issue.as_dict() for issue in self.issues],
            "retryable": self.retryable,
        }


class InvalidInput(PrecertError):
    """The caller sent something we cannot use; the issues name each field and what is accepted."""

    @classmethod
    def field(cls, location: str, message: str, code: str = "invalid") -> InvalidInput:
        return cls(message, [Issue(code, message, location)])


class NotFound(PrecertError):
    """The thing named does not exist (or is not visible to this caller)."""


class InvalidTransition(PrecertError):
    """The change asked for is not possible from the current state."""


class PermissionDenied(PrecertError):
    """The caller's role does not allow this."""


class ChannelError(PrecertError):
    """A payer channel failed; subclasses say whether to retry, fix settings or ask a person."""


HTTP_STATUS: dict[type[PrecertError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    InvalidTransition: 409,
    PermissionDenied: 403,
    ChannelError: 502,
    PrecertError: 500,
}


def http_status_for(error: PrecertError) -> int:
    """The HTTP status for an error: the nearest class in HTTP_STATUS along its MRO."""
    for klass in type(error).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return 500
