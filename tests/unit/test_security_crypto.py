"""Field encryption: round trips, key rotation, and the errors a tampered or misplaced value gives.

Every error test also asserts the plaintext is nowhere in the message: these errors reach logs.
"""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precert.config import Settings
from precert.errors import PrecertError, http_status_for
from precert.security.crypto import DecryptionFailed, FieldCipher

NAME = "Testpatient Alpha"
ORG = "org-1"
CONTEXT = f"patient.last_name:{ORG}"


def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({"k1": key()}, "k1")


def test_a_value_round_trips_and_the_token_names_its_version_and_key(cipher: FieldCipher) -> None:
    token = cipher.encrypt(NAME, context=CONTEXT)

    assert token.startswith("v1.k1.")
    assert NAME not in token
    assert cipher.decrypt(token, context=CONTEXT) == NAME


def test_the_same_value_encrypts_differently_each_time(cipher: FieldCipher) -> None:
    assert cipher.encrypt(NAME, context=CONTEXT) != cipher.encrypt(NAME, context=CONTEXT)


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    cipher = FieldCipher({"k1": b"k" * 32}, "k1")
    assert cipher.decrypt(cipher.encrypt(text, context=CONTEXT), context=CONTEXT) == text


def test_a_value_written_with_the_old_key_still_reads_after_a_new_key_becomes_active() -> None:
    old_key, new_key = key(), key()
    old = FieldCipher({"2025": old_key}, "2025")
    token = old.encrypt(NAME, context=CONTEXT)

    rotated = FieldCipher({"2025": old_key, "2026": new_key}, "2026")

    assert rotated.needs_rotation(token)
    assert rotated.decrypt(token, context=CONTEXT) == NAME
    fresh = rotated.rotate(token, context=CONTEXT)
    assert fresh.startswith("v1.2026.")
    assert not rotated.needs_rotation(fresh)
    assert rotated.rotate(fresh, context=CONTEXT) == fresh
    assert FieldCipher({"2026": new_key}, "2026").decrypt(fresh, context=CONTEXT) == NAME


def test_a_tampered_value_is_refused_without_showing_the_plaintext(cipher: FieldCipher) -> None:
    token = cipher.encrypt(NAME, context=CONTEXT)
    head, data = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(data))
    raw[-1] ^= 0x01
    tampered = f"{head}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"

    with pytest.raises(DecryptionFailed) as caught:
        cipher.decrypt(tampered, context=CONTEXT)

    assert str(caught.value) == (
        "An encrypted value for patient.last_name:org-1 (key id 'k1') failed its integrity "
        "check: it was altered, copied from another field or organization, or the key under this "
        "key id changed. Restore the original key or the original value."
    )
    assert NAME not in str(caught.value)
    assert NAME not in repr(caught.value)


def test_a_value_copied_to_another_organization_does_not_decrypt(cipher: FieldCipher) -> None:
    token = cipher.encrypt(NAME, context=CONTEXT)

    with pytest.raises(DecryptionFailed, match="failed its integrity check") as caught:
        cipher.decrypt(token, context="patient.last_name:org-2")

    assert NAME not in str(caught.value)


def test_a_value_copied_to_another_field_does_not_decrypt(cipher: FieldCipher) -> None:
    token = cipher.encrypt(NAME, context=CONTEXT)

    with pytest.raises(DecryptionFailed, match="failed its integrity check"):
        cipher.decrypt(token, context=f"patient.first_name:{ORG}")


def test_a_value_under_an_unknown_key_id_says_to_put_the_key_back(cipher: FieldCipher) -> None:
    other = FieldCipher({"retired": key()}, "retired")
    token = other.encrypt(NAME, context=CONTEXT)

    with pytest.raises(DecryptionFailed) as caught:
        cipher.decrypt(token, context=CONTEXT)

    assert str(caught.value) == (
        "An encrypted value for patient.last_name:org-1 was written with key id 'retired', which "
        "is not in PRECERT_ENCRYPTION_KEYS; add that key back to the keyring to read it."
    )


def test_a_value_that_was_never_encrypted_is_refused_without_echoing_it(
    cipher: FieldCipher,
) -> None:
    with pytest.raises(DecryptionFailed) as caught:
        cipher.decrypt(NAME, context=CONTEXT)

    assert str(caught.value) == (
        "An encrypted value for patient.last_name:org-1 is not in the form v1.<key id>.<data>; "
        "it was altered or was never encrypted."
    )


def test_a_truncated_value_is_refused(cipher: FieldCipher) -> None:
    token = cipher.encrypt(NAME, context=CONTEXT)

    with pytest.raises(DecryptionFailed, match="is truncated or not base64"):
        cipher.decrypt(token[:20], context=CONTEXT)
    with pytest.raises(DecryptionFailed, match="is truncated or not base64"):
        cipher.decrypt("v1.k1.!!!not-base64!!!", context=CONTEXT)


def test_decryption_failures_are_precert_errors_answered_as_server_errors(
    cipher: FieldCipher,
) -> None:
    with pytest.raises(PrecertError) as caught:
        cipher.decrypt("v1.k1.", context=CONTEXT)

    assert http_status_for(caught.value) == 500
    assert caught.value.issues[0].location == CONTEXT


def test_an_empty_context_is_a_programming_error(cipher: FieldCipher) -> None:
    with pytest.raises(ValueError, match="an encryption context is required"):
        cipher.encrypt(NAME, context="")


def test_the_cipher_never_shows_its_keys() -> None:
    secret = b"s" * 32
    cipher = FieldCipher({"k1": secret}, "k1")

    assert repr(cipher) == "FieldCipher(key_ids=['k1'], active='k1')"


def test_a_cipher_built_from_default_settings_works_with_no_configuration() -> None:
    cipher = FieldCipher.from_settings(Settings())

    assert cipher.active_key_id == "dev-placeholder"
    assert cipher.decrypt(cipher.encrypt(NAME, context=CONTEXT), context=CONTEXT) == NAME
