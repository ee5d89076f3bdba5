"""Organizations, users, API tokens, login and the audit trail, on SQLite and PostgreSQL
(`any_ctx` runs each test twice through the real Alembic migrations)."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import pytest
from sqlalchemy import text

from precert.errors import InvalidInput, NotFound, PermissionDenied
from precert.security import totp
from precert.services import accounts
from precert.services.accounts import Actor, Role, require_role
from precert.services.audit import events_about, events_for, record
from precert.services.context import Context

PASSWORD = "correct horse battery staple"
NOON = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)
EMAIL = "spec.alpha@clinic.example"
BAD_LOGIN = re.escape("Wrong email, password or code.")


def setup_user(ctx: Context, role: str = "specialist", *, password: str | None = PASSWORD) -> str:
    accounts.create_organization(ctx, "Northside Clinic")
    return accounts.create_user(
        ctx, org="Northside Clinic", email=EMAIL, role=role, password=password
    )


def secret_of(uri: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


def raw(ctx: Context, sql: str, **params: object) -> list[tuple[object, ...]]:
    with ctx.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


# -- organizations and users ----------------------------------------------------------------------


def test_an_organization_and_its_user_are_stored_with_a_lower_cased_email(
    any_ctx: Context,
) -> None:
    org_id = accounts.create_organization(any_ctx, "  Northside Clinic ")
    user_id = accounts.create_user(
        any_ctx,
        org="Northside Clinic",
        email=" Spec.Alpha@Clinic.EXAMPLE",
        role="Biller",
        password=PASSWORD,
    )

    rows = raw(any_ctx, "SELECT organization_id, email, role, disabled FROM users")
    assert rows == [(org_id, EMAIL, "biller", False)]
    assert raw(any_ctx, "SELECT name FROM organizations") == [("Northside Clinic",)]
    [(stored_hash,)] = raw(any_ctx, "SELECT password_hash FROM users WHERE id = :id", id=user_id)
    assert str(stored_hash).startswith("$argon2id$")


def test_a_duplicate_organization_name_is_refused_by_name(any_ctx: Context) -> None:
    accounts.create_organization(any_ctx, "Northside Clinic")

    with pytest.raises(InvalidInput) as caught:
        accounts.create_organization(any_ctx, "Northside Clinic")

    assert caught.value.message == (
        "An organization named 'Northside Clinic' already exists; choose another name."
    )


def test_an_unknown_role_is_refused_listing_the_roles(any_ctx: Context) -> None:
    accounts.create_organization(any_ctx, "Northside Clinic")

    with pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            any_ctx, org="Northside Clinic", email=EMAIL, role="owner", password=None
        )

    assert caught.value.message == (
        "Unknown role 'owner': choose one of admin, specialist, biller, viewer."
    )


@pytest.mark.parametrize("email", ["alpha", "alpha@clinic", "al pha@clinic.example", "a@b@c.org"])
def test_a_malformed_email_is_refused(ctx: Context, email: str) -> None:
    accounts.create_organization(ctx, "Northside Clinic")

    with pytest.raises(InvalidInput) as caught:
        accounts.create_user(ctx, org="Northside Clinic", email=email, role="viewer", password=None)

    assert caught.value.issues[0].location == "email"
    assert "is not an email address: write it as name@example.org." in caught.value.message


def test_a_second_user_with_the_same_email_is_refused(any_ctx: Context) -> None:
    setup_user(any_ctx)

    with pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            any_ctx, org="Northside Clinic", email=EMAIL.upper(), role="viewer", password=None
        )

    assert caught.value.message == f"A user with the email {EMAIL} already exists."


def test_a_user_for_an_unknown_organization_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound) as caught:
        accounts.create_user(ctx, org="Nowhere", email=EMAIL, role="viewer", password=None)

    assert caught.value.message == (
        "No organization is named 'Nowhere'; create it with `precert orgs create`."
    )


def test_a_short_password_is_refused_and_no_user_is_created(ctx: Context) -> None:
    accounts.create_organization(ctx, "Northside Clinic")

    with pytest.raises(InvalidInput, match="at least 12 characters"):
        accounts.create_user(ctx, org="Northside Clinic", email=EMAIL, role="viewer", password="x")

    assert raw(ctx, "SELECT count(*) FROM users") == [(0,)]


# -- API tokens -----------------------------------------------------------------------------------


def test_a_token_authenticates_as_its_user_and_only_its_digest_is_stored(
    any_ctx: Context,
) -> None:
    user_id = setup_user(any_ctx)
    token = accounts.create_token(any_ctx, email=EMAIL)

    actor = accounts.authenticate_token(any_ctx, token, now=NOON)

    org_id = raw(any_ctx, "SELECT id FROM organizations")[0][0]
    assert actor == Actor(user_id, str(org_id), EMAIL, Role.SPECIALIST)
    [(digest, prefix, last_used)] = raw(
        any_ctx, "SELECT digest, display_prefix, last_used_at FROM api_tokens"
    )
    assert token not in str(digest) and token.startswith(str(prefix))
    assert last_used is not None


@pytest.mark.parametrize(
    "presented", ["pct_wrong-token-of-the-right-shape-000000000", "nonsense", ""]
)
def test_a_wrong_token_is_refused(any_ctx: Context, presented: str) -> None:
    setup_user(any_ctx)
    accounts.create_token(any_ctx, email=EMAIL)

    with pytest.raises(PermissionDenied) as caught:
        accounts.authenticate_token(any_ctx, presented)

    assert caught.value.message == "invalid or revoked token"


def test_a_revoked_token_is_refused_and_others_still_work(any_ctx: Context) -> None:
    setup_user(any_ctx)
    first = accounts.create_token(any_ctx, email=EMAIL)
    second = accounts.create_token(any_ctx, email=EMAIL)

    revoked = accounts.revoke_token(any_ctx, email=EMAIL, display_prefix=first[:12])

    assert revoked == 1
    with pytest.raises(PermissionDenied, match="invalid or revoked token"):
        accounts.authenticate_token(any_ctx, first)
    assert accounts.authenticate_token(any_ctx, second).email == EMAIL
    listed = accounts.list_tokens(any_ctx, email=EMAIL)
    assert sorted(t.revoked_at is None for t in listed) == [False, True]


def test_a_token_for_an_unknown_email_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound) as caught:
        accounts.create_token(ctx, email="nobody@clinic.example")

    assert caught.value.message == (
        "No user has the email nobody@clinic.example; create one with `precert users create`."
    )


# -- roles ----------------------------------------------------------------------------------------


def actor(role: Role) -> Actor:
    return Actor("u-1", "o-1", "someone@clinic.example", role)


def test_a_viewer_cannot_change_requests_and_is_told_whom_to_ask() -> None:
    with pytest.raises(PermissionDenied) as caught:
        require_role(actor(Role.VIEWER), Role.ADMIN, Role.SPECIALIST)

    assert caught.value.message == "viewers cannot change requests; ask an admin or specialist"


def test_a_role_check_names_the_action_and_a_single_allowed_role() -> None:
    with pytest.raises(PermissionDenied) as caught:
        require_role(actor(Role.BILLER), "admin", action="manage users")

    assert caught.value.message == "billers cannot manage users; ask an admin"


def test_an_allowed_role_passes_the_check() -> None:
    require_role(actor(Role.SPECIALIST), Role.ADMIN, Role.SPECIALIST)


# -- password and TOTP login ----------------------------------------------------------------------


def test_a_password_login_without_totp_answers_the_actor(any_ctx: Context) -> None:
    user_id = setup_user(any_ctx)

    logged_in = accounts.verify_login(
        any_ctx, " SPEC.alpha@clinic.example", PASSWORD, None, now=NOON
    )

    assert (logged_in.user_id, logged_in.role) == (user_id, Role.SPECIALIST)


@pytest.mark.parametrize(
    ("email", "password"),
    [(EMAIL, PASSWORD + "!"), ("nobody@clinic.example", PASSWORD)],
    ids=["wrong password", "unknown email"],
)
def test_a_bad_login_says_the_same_thing_whatever_was_wrong(
    any_ctx: Context, email: str, password: str
) -> None:
    setup_user(any_ctx)

    with pytest.raises(PermissionDenied) as caught:
        accounts.verify_login(any_ctx, email, password, None, now=NOON)

    assert caught.value.message == "Wrong email, password or code."
    assert raw(any_ctx, "SELECT action FROM audit_events WHERE action = 'login-failed'") == [
        ("login-failed",)
    ]


def test_a_user_without_a_password_cannot_log_in_with_an_empty_one(ctx: Context) -> None:
    setup_user(ctx, password=None)

    with pytest.raises(PermissionDenied, match=BAD_LOGIN):
        accounts.verify_login(ctx, EMAIL, "", None, now=NOON)


def test_totp_login_accepts_the_current_code_once_and_refuses_its_replay(
    any_ctx: Context,
) -> None:
    setup_user(any_ctx)
    secret = secret_of(accounts.enable_totp(any_ctx, EMAIL))
    code = totp.code_at(secret, NOON)

    assert accounts.verify_login(any_ctx, EMAIL, PASSWORD, code, now=NOON).email == EMAIL
    with pytest.raises(PermissionDenied, match=BAD_LOGIN):
        accounts.verify_login(any_ctx, EMAIL, PASSWORD, code, now=NOON + dt.timedelta(seconds=5))
    later = NOON + dt.timedelta(seconds=60)
    assert accounts.verify_login(any_ctx, EMAIL, PASSWORD, totp.code_at(secret, later), now=later)


def test_a_totp_user_without_a_code_is_asked_for_one(any_ctx: Context) -> None:
    setup_user(any_ctx)
    accounts.enable_totp(any_ctx, EMAIL)

    with pytest.raises(PermissionDenied) as caught:
        accounts.verify_login(any_ctx, EMAIL, PASSWORD, None, now=NOON)

    assert caught.value.message == "Enter the 6-digit code from your authenticator app."
    assert caught.value.issues[0].code == "totp-required"


def test_a_code_from_a_stale_clock_is_refused(ctx: Context) -> None:
    setup_user(ctx)
    secret = secret_of(accounts.enable_totp(ctx, EMAIL))

    stale = totp.code_at(secret, NOON - dt.timedelta(minutes=5))
    with pytest.raises(PermissionDenied, match=BAD_LOGIN):
        accounts.verify_login(ctx, EMAIL, PASSWORD, stale, now=NOON)


def test_the_totp_secret_is_stored_encrypted_not_in_clear(any_ctx: Context) -> None:
    setup_user(any_ctx)
    uri = accounts.enable_totp(any_ctx, EMAIL)

    [(stored,)] = raw(any_ctx, "SELECT totp_secret FROM users")

    assert uri.startswith("otpauth://totp/precert:")
    assert secret_of(uri) not in str(stored)
    assert str(stored).startswith("v1.")


# -- audit ----------------------------------------------------------------------------------------


def test_set_up_and_login_write_audit_events_for_the_organization(any_ctx: Context) -> None:
    user_id = setup_user(any_ctx)
    accounts.create_token(any_ctx, email=EMAIL)
    # after the set-up events, which carry the real clock
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    accounts.verify_login(any_ctx, EMAIL, PASSWORD, None, now=later)
    org_id = str(raw(any_ctx, "SELECT id FROM organizations")[0][0])

    events = events_for(any_ctx, org_id)

    assert [(e.actor, e.action, e.entity) for e in events] == [
        (EMAIL, "login", "user"),
        ("system", "create", "api_token"),
        ("system", "create", "user"),
        ("system", "create", "organization"),
    ]
    assert [e.action for e in events_about(any_ctx, "user", user_id)] == ["create", "login"]


def test_an_audit_event_commits_with_its_unit_of_work_and_not_without(any_ctx: Context) -> None:
    with any_ctx.uow() as uow:
        record(
            uow,
            actor="viewer@clinic.example",
            action="view",
            entity="request",
            entity_id="r-1",
            organization_id="o-1",
            reason="queue",
        )
        uow.commit()
    with any_ctx.uow() as uow:
        record(
            uow.session,
            actor="system",
            action="export",
            entity="request",
            entity_id="r-1",
            organization_id="o-1",
        )
        # no commit: a failed use case leaves no trace that it happened

    [entry] = events_for(any_ctx, "o-1")

    assert (entry.actor, entry.action, entry.reason) == ("viewer@clinic.example", "view", "queue")
    assert entry.at.tzinfo is not None
    assert events_for(any_ctx, "o-2") == []
