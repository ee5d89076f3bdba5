"""Login secrets: argon2 passwords, authenticator-app codes with an injected clock, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse

import pytest
from argon2 import PasswordHasher

from precert.errors import InvalidInput
from precert.security import passwords, tokens, totp

PASSWORD = "correct horse battery staple"
NOON = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# -- passwords ------------------------------------------------------------------------------------


def test_a_password_hashes_with_argon2id_and_verifies() -> None:
    stored = passwords.hash_password(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert passwords.verify_password(stored, PASSWORD)


def test_a_wrong_password_is_false_not_an_error() -> None:
    stored = passwords.hash_password(PASSWORD)

    assert passwords.verify_password(stored, PASSWORD + "!") is False


def test_a_damaged_stored_hash_is_false_and_needs_rehash() -> None:
    assert passwords.verify_password("not-a-hash", PASSWORD) is False
    assert passwords.needs_rehash("not-a-hash")


def test_a_hash_made_with_weaker_parameters_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    stored = weak.hash(PASSWORD)

    assert passwords.verify_password(stored, PASSWORD)
    assert passwords.needs_rehash(stored)
    assert not passwords.needs_rehash(passwords.hash_password(PASSWORD))


def test_a_short_password_is_refused_with_what_is_accepted() -> None:
    with pytest.raises(InvalidInput) as caught:
        passwords.hash_password("hunter2")

    assert str(caught.value) == (
        "Choose a password of at least 12 characters; a short phrase of several words works well."
    )
    assert caught.value.issues[0].location == "password"
    assert "hunter2" not in repr(caught.value)


def test_an_absurdly_long_password_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 1024 characters"):
        passwords.check_policy("a" * 1025)


# -- TOTP -----------------------------------------------------------------------------------------


def test_the_current_code_is_accepted_and_its_time_step_returned() -> None:
    code = totp.code_at(SECRET, NOON)

    assert totp.verify(SECRET, code, at=NOON) == totp.time_step(NOON)


def test_a_code_from_the_previous_step_is_accepted_inside_the_window() -> None:
    code = totp.code_at(SECRET, NOON - dt.timedelta(seconds=30))

    assert totp.verify(SECRET, code, at=NOON) == totp.time_step(NOON) - 1
    assert totp.verify(SECRET, code, at=NOON, window=0) is None


def test_a_code_from_two_minutes_ago_is_refused() -> None:
    code = totp.code_at(SECRET, NOON - dt.timedelta(minutes=2))

    assert totp.verify(SECRET, code, at=NOON) is None


def test_a_code_cannot_be_used_twice() -> None:
    code = totp.code_at(SECRET, NOON)
    step = totp.verify(SECRET, code, at=NOON)

    assert step is not None
    assert totp.verify(SECRET, code, at=NOON + dt.timedelta(seconds=5), last_used_step=step) is None


def test_an_older_code_is_refused_after_a_newer_one_was_used() -> None:
    newer = totp.verify(SECRET, totp.code_at(SECRET, NOON), at=NOON)
    older = totp.code_at(SECRET, NOON - dt.timedelta(seconds=30))

    assert totp.verify(SECRET, older, at=NOON, last_used_step=newer) is None


def test_the_next_code_is_accepted_after_one_was_used() -> None:
    step = totp.verify(SECRET, totp.code_at(SECRET, NOON), at=NOON)
    later = NOON + dt.timedelta(seconds=30)

    assert totp.verify(SECRET, totp.code_at(SECRET, later), at=later, last_used_step=step) == (
        totp.time_step(later)
    )


def test_codes_with_spaces_are_accepted_and_malformed_codes_refused() -> None:
    code = totp.code_at(SECRET, NOON)

    assert totp.verify(SECRET, f"{code[:3]} {code[3:]}", at=NOON) is not None
    assert totp.verify(SECRET, "12345", at=NOON) is None
    assert totp.verify(SECRET, "abcdef", at=NOON) is None
    assert totp.verify(SECRET, "", at=NOON) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        totp.verify(SECRET, "123456", at=dt.datetime(2026, 11, 23, 12, 0))


def test_a_new_secret_gives_a_provisioning_uri_for_precert() -> None:
    secret = totp.new_secret()
    uri = urllib.parse.urlsplit(totp.provisioning_uri(secret, account_name="spec@example.org"))
    query = urllib.parse.parse_qs(uri.query)

    assert len(secret) == 32
    assert secret != totp.new_secret()
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(uri.path) == "/precert:spec@example.org"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["precert"]


# -- API tokens -----------------------------------------------------------------------------------


def test_a_new_token_is_random_prefixed_and_stored_only_as_its_digest() -> None:
    token = tokens.new_token()

    assert token.plaintext.startswith("pct_")
    assert len(token.plaintext) == 4 + 43
    assert token.digest == hashlib.sha256(token.plaintext.encode()).hexdigest()
    assert token.digest == tokens.token_digest(token.plaintext)
    assert token.display_prefix == token.plaintext[:12]
    assert tokens.new_token().plaintext != token.plaintext


def test_a_token_never_shows_its_plaintext_in_its_repr() -> None:
    token = tokens.new_token()

    assert token.plaintext not in repr(token)


def test_a_presented_token_verifies_against_its_stored_digest_only() -> None:
    token, other = tokens.new_token(), tokens.new_token()

    assert tokens.verify_token(token.plaintext, token.digest)
    assert not tokens.verify_token(other.plaintext, token.digest)
    assert tokens.digests_match(token.digest, token.digest)
    assert not tokens.digests_match(token.digest, other.digest)


def test_only_token_shaped_strings_look_like_tokens() -> None:
    assert tokens.looks_like_token(tokens.new_token().plaintext)
    assert not tokens.looks_like_token("Bearer abc")
    assert not tokens.looks_like_token("pct_short")
