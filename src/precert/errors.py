"""The one exception tree of precert, and the Issue each error carries.

    PrecertError (message, issues: list[Issue], retryable)
      InvalidInput       -> 422 / form field errors / CLI exit 2
      NotFound           -> 404 / CLI exit 2 (e.g. a payer id that is not configured)
      InvalidTransition  -> 409
      PermissionDenied   -> 403
      Unauthenticated    -> 401 (no token, or an invalid or revoked one)
      Conflict           -> 409 (the same idempotency key with a different body)
      PayloadTooLarge    -> 413 (a body over the limit, refused before it is read in full)
      ChannelError       -> 502 (a payer channel failed)
        ChannelMisconfigured -> 503 (names the setting to fix)
        ChannelUnavailable   -> 503, retryable (the payer or gateway is down; try again)
        PayerRejected        -> 422 (the payer said no or wants more; the issues carry its codes)
        PortalChanged        -> 502 (a portal no longer matches; a run or screenshot reference)

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


class Unauthenticated(PrecertError):
    """No usable credentials (no token, or one that is invalid or revoked): 401 with a challenge."""


class Conflict(PrecertError):
    """The request clashes with what is already recorded (e.g. an idempotency key reused for a
    different body)."""


class PayloadTooLarge(PrecertError):
    """The request body is over the limit for this endpoint."""


class ChannelError(PrecertError):
    """A payer channel failed; subclasses say whether to retry, fix settings or ask a person."""


class ChannelMisconfigured(ChannelError):
    """The channel cannot run as configured (a missing fax number, an unknown channel); the
    message names the setting or the payer configuration to fix."""


class ChannelUnavailable(ChannelError):
    """The payer or the gateway did not answer; nothing was sent, so trying again is safe."""

    def __post_init__(self) -> None:
        self.retryable = True
        super().__post_init__()


class PayerRejected(ChannelError):
    """The payer refused the submission or asks for more; the issues carry the payer's codes."""


class PortalChanged(ChannelError):
    """A payer portal no longer looks as expected; the message carries the run or screenshot
    reference a person needs to look at."""


HTTP_STATUS: dict[type[PrecertError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    InvalidTransition: 409,
    Conflict: 409,
    PermissionDenied: 403,
    Unauthenticated: 401,
    PayloadTooLarge: 413,
    ChannelMisconfigured: 503,
    ChannelUnavailable: 503,
    PayerRejected: 422,
    PortalChanged: 502,
    ChannelError: 502,
    PrecertError: 500,
}


def http_status_for(error: PrecertError) -> int:
    """The HTTP status for an error: the nearest class in HTTP_STATUS along its MRO."""
    for klass in type(error).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return 500
