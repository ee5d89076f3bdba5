"""PortalAccess over the credentials vault for one portal run: each credential the SOP names is
leased on first use under the run's holder id, and every lease is released when the run ends.

What belongs here: the lease bookkeeping of one run. The vault itself (secrets, audit, TOTP, IMAP)
is services/credentials.py; the channel only sees the PortalAccess protocol (channels/base.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from precert.errors import ChannelUnavailable
from precert.services import credentials
from precert.services.context import Context

# How long a code sent by email may take to arrive before the run gives up (ChannelUnavailable).
EMAIL_CODE_TIMEOUT_SECONDS = 120.0


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class VaultAccess:
    """The vault's credentials for one run (`holder`); call `release_all` when the run ends.

    Authenticator codes use the wall clock, not ctx.now: the portal checks the code against its
    own real time, whatever clock the rest of precert runs on.
    """

    def __init__(
        self,
        ctx: Context,
        organization_id: str,
        holder: str,
        *,
        wall: Callable[[], dt.datetime] = wall_clock,
    ) -> None:
        self._ctx = ctx
        self._organization_id = organization_id
        self._holder = holder
        self._wall = wall
        self._held: list[str] = []

    def login(self, name: str) -> tuple[str, str]:
        self._hold(name)
        found = credentials.login(self._ctx, self._organization_id, name, holder=self._holder)
        password = found.password.get_secret_value() if found.password is not None else ""
        return found.username, password

    def totp(self, name: str) -> str:
        self._hold(name)
        return credentials.totp_code(self._ctx, self._organization_id, name, self._wall())

    def email_code(self, name: str, sender: str) -> str:
        self._hold(name)
        since = self._wall() - dt.timedelta(seconds=30)  # a code sent as the form was posted
        return credentials.email_code(
            self._ctx, self._organization_id, name, sender, since, EMAIL_CODE_TIMEOUT_SECONDS
        )

    def release_all(self) -> None:
        for name in self._held:
            credentials.release(self._ctx, self._organization_id, name, self._holder)
        self._held.clear()

    def _hold(self, name: str) -> None:
        if name in self._held:
            return
        if credentials.lease(self._ctx, self._organization_id, name, self._holder) is None:
            raise ChannelUnavailable(
                f"Another portal run holds the credential {name!r}; nothing was submitted, try "
                "again when it is done (a lease ends on its own after 15 minutes)."
            )
        self._held.append(name)


@contextmanager
def portal_access(
    ctx: Context, organization_id: str, holder: str | None = None
) -> Iterator[VaultAccess]:
    """A VaultAccess under `holder` (a portal run's, which may have leased the credentials
    already: leasing again as the same holder renews) or a fresh one, its leases released however
    the run ends."""
    access = VaultAccess(ctx, organization_id, holder or f"run-{uuid.uuid4().hex[:12]}")
    try:
        yield access
    finally:
        # A portal run's holder leased before the run and releases once the run's end is
        # recorded: released here, another run could start while this one is still recording.
        if holder is None:
            access.release_all()
