"""The key settings: development works with none, production refuses the public placeholders,
and a malformed keyring is reported by setting name without ever echoing a key.
"""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from precert.config import KEY_COMMAND, Settings
from precert.security.crypto import FieldCipher

PG = "postgresql+psycopg://precert@127.0.0.1/precert"
SECRET = "x" * 44


def b64key(size: int = 32) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def production(**overrides: str) -> Settings:
    values = {
        "env": "production",
        "database_url": PG,
        "encryption_keys": f"prod1:{b64key()}",
        "encryption_key_id": "prod1",
        "blind_index_key": SECRET,
        "secret_key": "y" * 44,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(error.value.errors()[0]["msg"]).removeprefix("Value error, ")


def test_production_with_real_keys_is_accepted() -> None:
    settings = production()

    assert list(settings.keyring()) == ["prod1"]


def test_production_refuses_the_placeholder_encryption_key_and_says_how_to_make_one() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(env="production", database_url=PG)

    assert message(caught) == (
        "PRECERT_ENCRYPTION_KEYS still holds the development placeholder key, which is public; in "
        f"production generate a key with: {KEY_COMMAND} and set "
        "PRECERT_ENCRYPTION_KEYS=<key id>:<key> and PRECERT_ENCRYPTION_KEY_ID=<key id>"
    )


def test_production_refuses_the_placeholder_blind_index_key() -> None:
    with pytest.raises(ValidationError) as caught:
        production(blind_index_key=Settings().blind_index_key.get_secret_value())

    assert message(caught) == (
        "PRECERT_BLIND_INDEX_KEY is the development placeholder, which is public; in production "
        f"generate one with: {KEY_COMMAND}"
    )


def test_production_refuses_the_placeholder_secret_key() -> None:
    with pytest.raises(ValidationError, match="PRECERT_SECRET_KEY is the development placeholder"):
        production(secret_key=Settings().secret_key.get_secret_value())


def test_production_still_insists_on_a_real_database() -> None:
    with pytest.raises(ValidationError, match="PRECERT_DATABASE_URL must be set in production"):
        production(database_url="sqlite:///precert.db")


def test_keys_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = os.urandom(32), os.urandom(32)
    keyring = f"old:{base64.b64encode(old).decode()}, new:{base64.b64encode(new).decode()}"
    monkeypatch.setenv("PRECERT_ENCRYPTION_KEYS", keyring)
    monkeypatch.setenv("PRECERT_ENCRYPTION_KEY_ID", "new")

    settings = Settings()

    assert settings.keyring() == {"old": old, "new": new}
    assert FieldCipher.from_settings(settings).active_key_id == "new"


def test_a_key_of_the_wrong_size_is_reported_without_echoing_it() -> None:
    short = b64key(16)
    with pytest.raises(ValidationError) as caught:
        Settings(encryption_keys=f"k1:{short}", encryption_key_id="k1")

    assert message(caught) == (
        "PRECERT_ENCRYPTION_KEYS entry 1 (key id 'k1') decodes to 16 bytes; AES-256 needs 32. "
        f"Generate a key with: {KEY_COMMAND}"
    )
    assert short not in str(caught.value)


def test_a_key_that_is_not_base64_is_reported_without_echoing_it() -> None:
    bad = "not*base64*at*all*" + "z" * 30
    with pytest.raises(ValidationError) as caught:
        Settings(encryption_keys=f"k1:{b64key()},k2:{bad}", encryption_key_id="k1")

    assert message(caught) == (
        "PRECERT_ENCRYPTION_KEYS entry 2 (key id 'k2') is not valid base64; generate a key with: "
        f"{KEY_COMMAND}"
    )
    assert bad not in str(caught.value)


def test_an_entry_without_a_key_id_is_reported_without_echoing_it() -> None:
    key = b64key()
    with pytest.raises(ValidationError) as caught:
        Settings(encryption_keys=key, encryption_key_id="k1")

    assert message(caught) == (
        "PRECERT_ENCRYPTION_KEYS entry 1 must look like <key id>:<base64 key>, the key id 1-32 "
        "letters, digits, '-' or '_' (entries are separated by commas)"
    )
    assert key not in str(caught.value)


def test_a_repeated_key_id_is_refused() -> None:
    with pytest.raises(ValidationError, match="entry 2 repeats key id 'k1'"):
        Settings(encryption_keys=f"k1:{b64key()},k1:{b64key()}", encryption_key_id="k1")


def test_an_active_key_id_missing_from_the_keyring_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(encryption_keys=f"a:{b64key()},b:{b64key()}", encryption_key_id="c")

    assert message(caught) == (
        "PRECERT_ENCRYPTION_KEY_ID 'c' is not a key id in PRECERT_ENCRYPTION_KEYS "
        "(key ids there: a, b)"
    )


def test_a_short_blind_index_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(blind_index_key="tooshort-secret")

    assert message(caught) == (
        f"PRECERT_BLIND_INDEX_KEY must be at least 32 characters; generate one with: {KEY_COMMAND}"
    )
    assert "tooshort-secret" not in str(caught.value)


def test_settings_never_show_their_keys() -> None:
    settings = production()

    assert SECRET not in repr(settings)
    assert settings.encryption_keys.get_secret_value() not in repr(settings)
