"""The one status table: every error class answers its HTTP status, and an unavailable channel is
always retryable."""

from __future__ import annotations

import pytest

from precert.errors import (
    ChannelError,
    ChannelMisconfigured,
    ChannelUnavailable,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PayerRejected,
    PayloadTooLarge,
    PermissionDenied,
    PortalChanged,
    PrecertError,
    Unauthenticated,
    http_status_for,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("x"), 422),
        (NotFound("x"), 404),
        (InvalidTransition("x"), 409),
        (Conflict("x"), 409),
        (PermissionDenied("x"), 403),
        (Unauthenticated("x"), 401),
        (PayloadTooLarge("x"), 413),
        (ChannelMisconfigured("x"), 503),
        (ChannelUnavailable("x"), 503),
        (PayerRejected("x"), 422),
        (PortalChanged("x"), 502),
        (ChannelError("x"), 502),
        (PrecertError("x"), 500),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, PrecertError) else str(value),
)
def test_each_error_class_has_its_http_status(error: PrecertError, status: int) -> None:
    assert http_status_for(error) == status


def test_an_unavailable_channel_is_retryable_and_the_others_are_not() -> None:
    assert ChannelUnavailable("the gateway did not answer").retryable is True
    assert ChannelUnavailable("x").as_dict()["retryable"] is True
    for refused in (ChannelMisconfigured("x"), PayerRejected("x"), PortalChanged("x")):
        assert refused.retryable is False
