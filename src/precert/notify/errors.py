"""NotifyError: a notification that could not be delivered, and whether trying again may help.

Messages name the channel and the receiver's answer but never the receiver's URL (Slack webhook
URLs are secrets) and never the notice's contents.
"""

from __future__ import annotations

import httpx

from precert.errors import Issue, PrecertError


class NotifyError(PrecertError):
    """A Slack post, webhook delivery or email failed; `retryable` for 5xx, 429 and timeouts."""


def error_for_status(channel: str, status: int) -> NotifyError:
    """The error for a receiver's non-2xx answer: 5xx and 429 (rate limited) are worth a retry."""
    retryable = status >= 500 or status == 429
    advice = (
        "it will be retried"
        if retryable
        else "check the receiver's URL and configuration; retrying will not help"
    )
    message = f"The {channel} receiver answered HTTP {status}; {advice}."
    return NotifyError(message, [Issue(f"http-{status}", message, channel)], retryable=retryable)


def error_for_transport(channel: str, exc: httpx.HTTPError) -> NotifyError:
    """The error for a request that got no answer; only a malformed URL is not worth a retry."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        message = f"The {channel} URL is not a valid http(s) URL; fix it in the settings."
        return NotifyError(message, [Issue("invalid-url", message, channel)])
    if isinstance(exc, httpx.TimeoutException):
        message = f"The {channel} receiver did not answer in time; it will be retried."
        code = "timeout"
    else:
        # The exception text can hold the host name; its class says enough to act on.
        message = (
            f"Could not reach the {channel} receiver ({type(exc).__name__}); it will be retried."
        )
        code = "unreachable"
    return NotifyError(message, [Issue(code, message, channel)], retryable=True)
