"""People and access: organizations, users with roles, password + TOTP login, API tokens.

Every failed sign-in answers the same sentence whatever was wrong (unknown email, wrong password,
wrong code), so the answer never tells an attacker which part to keep guessing. Changes here
write audit events in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from precert.errors import InvalidInput, Issue, NotFound, PermissionDenied
from precert.security import passwords, tokens, totp
from precert.security.crypto import FieldCipher
from precert.services.audit import SYSTEM, record
from precert.store.accounts import (
    ApiTokenRecord,
    ApiTokenRepository,
    OrganizationRecord,
    OrganizationRepository,
    UserRecord,
    UserRepository,
)
from precert.store.uow import UnitOfWork

if TYPE_CHECKING:
    from precert.services.context import Context

MAX_ORG_NAME = 200
MAX_EMAIL = 320
# Deliberately loose: one "@", no spaces, a dot in the domain. Real validation is a mail that
# arrives; this only catches typos like a missing "@" or a pasted name.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
BAD_LOGIN = "Wrong email, password or code."
BAD_TOKEN = "invalid or revoked token"
# Writing last_used_at on every API call would turn each read into a write; once a minute is
# precise enough to tell a live token from a forgotten one.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# Verified against when the email is unknown, so an unknown email costs as long as a wrong password.
_DUMMY_HASH = passwords.hash_password("precert-dummy-password-for-timing")


class Role(StrEnum):
    ADMIN = "admin"
    SPECIALIST = "specialist"
    BILLER = "biller"
    VIEWER = "viewer"


ROLE_NAMES = ", ".join(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: what every scoped query and role check needs, nothing secret."""

    user_id: str
    organization_id: str
    email: str
    role: Role


@dataclass(frozen=True, slots=True)
class TokenInfo:
    display_prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def require_role(actor: Actor, *roles: Role | str, action: str = "change requests") -> None:
    """Refuse unless the actor has one of `roles`, saying who can do it instead."""
    allowed = [Role(role) for role in roles]
    if actor.role in allowed:
        return
    names = [role.value for role in allowed]
    who = _article(names[0]) if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    if len(names) > 1:
        who = _article(who)
    message = f"{actor.role.value}s cannot {action}; ask {who}"
    raise PermissionDenied(message, [Issue("forbidden", message, "role")])


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput.field(
            "role", f"Unknown role {value!r}: choose one of {ROLE_NAMES}.", code="unknown-role"
        ) from None


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
        raise InvalidInput.field(
            "email",
            f"{value!r} is not an email address: write it as name@example.org.",
            code="bad-email",
        )
    return email


# -- organizations and users -----------------------------------------------------------------------


def create_organization(ctx: Context, name: str, *, actor: str = SYSTEM) -> str:
    """A new tenant; returns its id. Names are unique, ignoring surrounding spaces."""
    name = name.strip()
    if not name or len(name) > MAX_ORG_NAME:
        raise InvalidInput.field(
            "name", f"An organization name needs 1 to {MAX_ORG_NAME} characters.", code="bad-name"
        )
    duplicate = InvalidInput.field(
        "name",
        f"An organization named {name!r} already exists; choose another name.",
        code="duplicate",
    )
    with ctx.uow() as uow:
        repo = OrganizationRepository(uow.session)
        if repo.by_name(name) is not None:
            raise duplicate
        org = OrganizationRecord(name=name, created_at=_now())
        try:
            repo.add(org)
        except IntegrityError:  # created by someone else between the check and the insert
            raise duplicate from None
        record(
            uow,
            actor=actor,
            action="create",
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
        )
        uow.commit()
        return org.id


def create_user(
    ctx: Context, *, org: str, email: str, role: str, password: str | None, actor: str = SYSTEM
) -> str:
    """A new user in the organization named `org`; returns the user id. No password = no login
    by password (tokens only) until one is set."""
    address = normalise_email(email)
    parsed = parse_role(role)
    password_hash = None if password is None else passwords.hash_password(password)
    duplicate = InvalidInput.field(
        "email", f"A user with the email {address} already exists.", code="duplicate"
    )
    with ctx.uow() as uow:
        organization = _organization_named(uow, org)
        users = UserRepository(uow.session)
        if users.by_email(address) is not None:
            raise duplicate
        user = UserRecord(
            organization_id=organization.id,
            email=address,
            role=parsed.value,
            password_hash=password_hash,
            disabled=False,
            created_at=_now(),
        )
        try:
            users.add(user)
        except IntegrityError:
            raise duplicate from None
        record(
            uow,
            actor=actor,
            action="create",
            entity="user",
            entity_id=user.id,
            organization_id=organization.id,
            reason=f"role {parsed.value}",
        )
        uow.commit()
        return user.id


def _organization_named(uow: UnitOfWork, name: str) -> OrganizationRecord:
    organization = OrganizationRepository(uow.session).by_name(name.strip())
    if organization is None:
        message = f"No organization is named {name!r}; create it with `precert orgs create`."
        raise NotFound(message, [Issue("not-found", message, "org")])
    return organization


def _user_by_email(uow: UnitOfWork, email: str) -> UserRecord:
    user = UserRepository(uow.session).by_email(normalise_email(email))
    if user is None:
        message = (
            f"No user has the email {email.strip().lower()}; "
            "create one with `precert users create`."
        )
        raise NotFound(message, [Issue("not-found", message, "email")])
    return user


def actor_for(user: UserRecord) -> Actor:
    return Actor(user.id, user.organization_id, user.email, Role(user.role))


# -- API tokens ------------------------------------------------------------------------------------


def create_token(ctx: Context, *, email: str, actor: str = SYSTEM) -> str:
    """A new bearer token for the user; the plaintext is returned once and never stored."""
    made = tokens.new_token()
    with ctx.uow() as uow:
        user = _user_by_email(uow, email)
        if user.disabled:
            raise InvalidInput.field(
                "email", f"The user {user.email} is disabled; enable them before making a token."
            )
        token = ApiTokenRecord(
            user_id=user.id,
            digest=made.digest,
            display_prefix=made.display_prefix,
            created_at=_now(),
        )
        ApiTokenRepository(uow.session).add(token)
        record(
            uow,
            actor=actor,
            action="create",
            entity="api_token",
            entity_id=token.id,
            organization_id=user.organization_id,
            reason=f"for {user.email}",
        )
        uow.commit()
    return made.plaintext


def authenticate_token(ctx: Context, plaintext: str, *, now: dt.datetime | None = None) -> Actor:
    """The actor a bearer token stands for; PermissionDenied for any token that does not work."""
    refused = PermissionDenied(BAD_TOKEN, [Issue("invalid-token", BAD_TOKEN, "Authorization")])
    if not tokens.looks_like_token(plaintext):
        raise refused
    now = now or _now()
    with ctx.uow() as uow:
        found = ApiTokenRepository(uow.session).with_user(tokens.token_digest(plaintext))
        if found is None:
            raise refused
        token, user = found
        if token.revoked_at is not None or user.disabled:
            raise refused
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            token.last_used_at = now
            uow.commit()
        return actor_for(user)


def revoke_token(ctx: Context, *, email: str, display_prefix: str, actor: str = SYSTEM) -> int:
    """Revoke the user's live tokens that start with `display_prefix`; returns how many."""
    with ctx.uow() as uow:
        user = _user_by_email(uow, email)
        live = [
            token
            for token in ApiTokenRepository(uow.session).for_user(user.id)
            if token.revoked_at is None and token.display_prefix == display_prefix
        ]
        if not live:
            message = f"{user.email} has no live token starting {display_prefix!r}."
            raise NotFound(message, [Issue("not-found", message, "token")])
        for token in live:
            token.revoked_at = _now()
            record(
                uow,
                actor=actor,
                action="revoke",
                entity="api_token",
                entity_id=token.id,
                organization_id=user.organization_id,
            )
        uow.commit()
        return len(live)


def list_tokens(ctx: Context, *, email: str) -> list[TokenInfo]:
    with ctx.uow() as uow:
        user = _user_by_email(uow, email)
        return [
            TokenInfo(t.display_prefix, t.created_at, t.last_used_at, t.revoked_at)
            for t in ApiTokenRepository(uow.session).for_user(user.id)
        ]


# -- password and TOTP login -----------------------------------------------------------------------


def enable_totp(ctx: Context, email: str, *, actor: str = SYSTEM) -> str:
    """Give the user a new authenticator secret (stored encrypted); returns the otpauth:// URI
    to show once as a QR code. From now on their login needs a code."""
    secret = totp.new_secret()
    with ctx.uow() as uow:
        user = _user_by_email(uow, email)
        user.totp_secret = FieldCipher.from_settings(ctx.settings).encrypt(
            secret, context=_totp_context(user)
        )
        user.totp_last_step = None
        record(
            uow,
            actor=actor,
            action="update",
            entity="user",
            entity_id=user.id,
            organization_id=user.organization_id,
            reason="authenticator enabled",
        )
        uow.commit()
        return totp.provisioning_uri(secret, account_name=user.email)


def _totp_context(user: UserRecord) -> str:
    # Bound into the ciphertext: a secret copied onto another organization's user does not decrypt.
    return f"users.totp_secret:{user.organization_id}"


def verify_login(
    ctx: Context, email: str, password: str, totp_code: str | None, *, now: dt.datetime
) -> Actor:
    """The actor for a correct email + password (+ code when the user has TOTP); otherwise
    PermissionDenied. A code is accepted once: its time step is remembered."""
    address = email.strip().lower()
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(address)
        if not _password_ok(user, password) or user is None or user.disabled:
            _refuse_login(uow, address, user, now)
        assert user is not None  # _refuse_login always raises; this narrows the type for mypy
        if user.totp_secret is not None:
            _check_totp(ctx, uow, user, totp_code, now)
        if user.password_hash is not None and passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        record(
            uow,
            actor=user.email,
            action="login",
            entity="user",
            entity_id=user.id,
            organization_id=user.organization_id,
            at=now,
        )
        uow.commit()
        return actor_for(user)


def _password_ok(user: UserRecord | None, password: str) -> bool:
    if user is None or user.password_hash is None:
        passwords.verify_password(_DUMMY_HASH, password)
        return False
    return passwords.verify_password(user.password_hash, password)


def _check_totp(
    ctx: Context, uow: UnitOfWork, user: UserRecord, code: str | None, now: dt.datetime
) -> None:
    if not code:
        message = "Enter the 6-digit code from your authenticator app."
        raise PermissionDenied(message, [Issue("totp-required", message, "totp_code")])
    assert user.totp_secret is not None
    secret = FieldCipher.from_settings(ctx.settings).decrypt(
        user.totp_secret, context=_totp_context(user)
    )
    step = totp.verify(secret, code, at=now, last_used_step=user.totp_last_step)
    if step is None:
        _refuse_login(uow, user.email, user, now)
    user.totp_last_step = step


def _refuse_login(uow: UnitOfWork, email: str, user: UserRecord | None, now: dt.datetime) -> None:
    """Record the failed attempt (committed: the refusal must not roll it back), then refuse."""
    record(
        uow,
        actor=email[:MAX_EMAIL],
        action="login-failed",
        entity="user",
        entity_id=user.id if user else "-",
        organization_id=user.organization_id if user else None,
        at=now,
    )
    uow.commit()
    raise PermissionDenied(BAD_LOGIN, [Issue("bad-login", BAD_LOGIN, "login")])
