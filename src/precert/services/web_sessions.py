"""Browser sign-in: password, then (for users with an authenticator) a code; then a session.

A session is a random cookie token whose SHA-256 is the `web_sessions` row id. It ends after
`IDLE_TIMEOUT` without a page view, `ABSOLUTE_TIMEOUT` after sign-in, or at sign-out. A user with
TOTP first gets an unverified session that can do one thing: take the code (within
`CODE_TIMEOUT`, at most `MAX_CODE_ATTEMPTS` wrong codes); the right code replaces it with a
verified one under a new token, so a token seen before the second factor is worth nothing after.

Every refusal says the same sentence as the accounts service (BAD_LOGIN), whatever was wrong.
Sign-in, failed sign-in and sign-out write audit events; times come from `ctx.now()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from precert.errors import Issue, PermissionDenied
from precert.security import passwords, totp
from precert.security.crypto import FieldCipher
from precert.services.accounts import (
    BAD_LOGIN,
    MAX_EMAIL,
    Actor,
    _password_ok,
    _totp_context,
    actor_for,
)
from precert.services.audit import record
from precert.store.accounts import UserRecord, UserRepository
from precert.store.audit import AuditEventRecord
from precert.store.uow import UnitOfWork
from precert.store.web_sessions import WebSessionRecord, WebSessionRepository

if TYPE_CHECKING:
    from precert.services.context import Context

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
CODE_TIMEOUT = dt.timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 5
# Writing last_seen_at on every page view would turn each read into a write; a minute is well
# inside the 30-minute idle timeout.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
TOKEN_BYTES = 32
EXPIRED = "Your session expired; sign in again."
SIGNED_OUT = "You are not signed in; sign in to continue."
WRONG_LOGIN_FAILED = "login-failed"


class SessionEnded(PermissionDenied):
    """The cookie names no live session. `expired` tells a timed-out session (worth a note to the
    person) from one that never existed or was signed out."""

    expired: bool = False


@dataclass(frozen=True, slots=True)
class NewSession:
    """What the browser gets after a step of sign-in: the cookie token (shown once)."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    needs_code: bool
    actor: Actor


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session as the web layer needs it."""

    actor: Actor
    csrf_token: str = field(repr=False)
    verified: bool


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(ctx: Context, email: str, password: str) -> NewSession:
    """Check email + password; a verified session, or an unverified one when a code is needed.
    PermissionDenied(BAD_LOGIN) for an unknown email, a wrong password or a disabled user."""
    now = ctx.now()
    address = email.strip().lower()[:MAX_EMAIL]
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(address)
        if not _password_ok(user, password) or user is None or user.disabled:
            reason = "unknown email" if user is None else "wrong password or disabled"
            _refuse(uow, user, now, reason=reason)
        assert user is not None  # _refuse always raises
        if user.password_hash is not None and passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        needs_code = user.totp_secret is not None
        made = _open(uow, user, now, verified=not needs_code)
        if not needs_code:
            _record_sign_in(uow, user, now)
        uow.commit()
        return made


def verify_code(ctx: Context, token: str, code: str) -> NewSession:
    """The authenticator step: the unverified session `token` plus the right code becomes a
    verified session under a new token. A code is accepted once (its time step is remembered)."""
    now = ctx.now()
    with ctx.uow() as uow:
        found = WebSessionRepository(uow.session).with_user(token_digest(token))
        if found is None or found[0].verified or not _live(found[0], now):
            raise _ended(found is not None and found[0].revoked_at is None)
        pending, user = found
        if user.disabled or user.totp_secret is None:
            _refuse(uow, user, now, reason="web code step: user changed")
        assert user.totp_secret is not None
        secret = FieldCipher.from_settings(ctx.settings).decrypt(
            user.totp_secret, context=_totp_context(user)
        )
        step = totp.verify(secret, code, at=now, last_used_step=user.totp_last_step)
        if step is None:
            if _failed_codes_since(uow, user, pending.created_at) + 1 >= MAX_CODE_ATTEMPTS:
                pending.revoked_at = now  # start again from the password
            _refuse(uow, user, now, reason="wrong or reused code")
        user.totp_last_step = step
        pending.revoked_at = now
        made = _open(uow, user, now, verified=True)
        _record_sign_in(uow, user, now)
        uow.commit()
        return made


def current(ctx: Context, token: str) -> WebSession:
    """The live session for a cookie token, verified or not; SessionEnded otherwise. Marks the
    session seen (at most once a minute), which is what keeps it from idling out."""
    now = ctx.now()
    with ctx.uow() as uow:
        found = WebSessionRepository(uow.session).with_user(token_digest(token))
        if found is None:
            raise _ended(False)
        session, user = found
        if session.revoked_at is not None or user.disabled:
            raise _ended(False)
        if not _live(session, now):
            raise _ended(True)
        if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
            session.last_seen_at = now
            uow.commit()
        return WebSession(actor_for(user), session.csrf_token, session.verified)


def resume(ctx: Context, token: str) -> Actor:
    """The actor of a verified, live session; SessionEnded for anything else."""
    session = current(ctx, token)
    if not session.verified:
        raise _ended(False)
    return session.actor


def sign_out(ctx: Context, token: str) -> None:
    """End the session (idempotent: an unknown or ended token is already signed out)."""
    now = ctx.now()
    with ctx.uow() as uow:
        found = WebSessionRepository(uow.session).with_user(token_digest(token))
        if found is None or found[0].revoked_at is not None:
            return
        session, user = found
        session.revoked_at = now
        record(
            uow,
            actor=user.email,
            action="logout",
            entity="user",
            entity_id=user.id,
            organization_id=user.organization_id,
            reason="web",
            at=now,
        )
        uow.commit()


def _open(uow: UnitOfWork, user: UserRecord, now: dt.datetime, *, verified: bool) -> NewSession:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES)
    lifetime = ABSOLUTE_TIMEOUT if verified else CODE_TIMEOUT
    WebSessionRepository(uow.session).add(
        WebSessionRecord(
            id=token_digest(token),
            user_id=user.id,
            organization_id=user.organization_id,
            csrf_token=csrf,
            verified=verified,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    return NewSession(token, csrf, not verified, actor_for(user))


def _live(session: WebSessionRecord, now: dt.datetime) -> bool:
    return (
        session.revoked_at is None
        and now < session.expires_at
        and now - session.last_seen_at < IDLE_TIMEOUT
    )


def _ended(expired: bool) -> SessionEnded:
    message = EXPIRED if expired else SIGNED_OUT
    ended = SessionEnded(message, [Issue("signed-out", message, "session")])
    ended.expired = expired
    return ended


def _failed_codes_since(uow: UnitOfWork, user: UserRecord, since: dt.datetime) -> int:
    query = select(func.count()).where(
        AuditEventRecord.entity == "user",
        AuditEventRecord.entity_id == user.id,
        AuditEventRecord.action == WRONG_LOGIN_FAILED,
        AuditEventRecord.at >= since,
    )
    return int(uow.session.scalar(query) or 0)


def _record_sign_in(uow: UnitOfWork, user: UserRecord, now: dt.datetime) -> None:
    record(
        uow,
        actor=user.email,
        action="login",
        entity="user",
        entity_id=user.id,
        organization_id=user.organization_id,
        reason="web",
        at=now,
    )


def _refuse(uow: UnitOfWork, user: UserRecord | None, now: dt.datetime, *, reason: str) -> None:
    """Record the failed attempt (committed: the refusal must not roll it back), then refuse.
    The typed email is not recorded when no user has it: it may be a password typed in the
    wrong box."""
    record(
        uow,
        actor=user.email if user else "anonymous",
        action=WRONG_LOGIN_FAILED,
        entity="user",
        entity_id=user.id if user else "-",
        organization_id=user.organization_id if user else None,
        reason=f"web: {reason}",
        at=now,
    )
    uow.commit()
    raise PermissionDenied(BAD_LOGIN, [Issue("bad-login", BAD_LOGIN, "login")])
