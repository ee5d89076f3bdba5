"""Settings: one pydantic-settings object (prefix PRECERT_), built once at each entry point.

Development defaults work with no settings at all: an SQLite file in the working directory, a
data folder beside it and clearly named placeholder keys. Production (PRECERT_ENV=production) must
name its database explicitly and refuses the placeholder keys.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Placeholders for development and tests only: public, so production refuses them by value.
DEV_KEY_ID = "dev-placeholder"
DEV_ENCRYPTION_KEYS = (
    DEV_KEY_ID + ":" + base64.b64encode(b"precert-dev-placeholder-aes-key!").decode()
)
DEV_BLIND_INDEX_KEY = "precert-dev-placeholder-blind-index-key-not-secret"
DEV_SECRET_KEY = "precert-dev-placeholder-secret-key-not-secret"

AES_KEY_BYTES = 32
MIN_SECRET_CHARS = 32
KEY_COMMAND = 'python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"'
# Key ids appear inside ciphertext tokens ("v1.<kid>.<data>"), so no dots, colons or commas.
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Settings(BaseSettings):
    """Everything a deployment may set, read from the environment with the PRECERT_ prefix."""

    # hide_input_in_errors: a validation error must never echo a key back into a log or terminal.
    model_config = SettingsConfigDict(
        env_prefix="PRECERT_", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///precert.db"
    data_dir: Path = Path("var")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    encryption_keys: SecretStr = SecretStr(DEV_ENCRYPTION_KEYS)
    encryption_key_id: str = DEV_KEY_ID
    blind_index_key: SecretStr = SecretStr(DEV_BLIND_INDEX_KEY)
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite:///precert.db"):
            raise ValueError(
                "PRECERT_DATABASE_URL must be set in production "
                "(e.g. postgresql+psycopg://user@host/precert)"
            )
        return self

    @model_validator(mode="after")
    def _keys_are_usable(self) -> Settings:
        keyring = parse_keyring(self.encryption_keys.get_secret_value())
        if self.encryption_key_id not in keyring:
            raise ValueError(
                f"PRECERT_ENCRYPTION_KEY_ID {self.encryption_key_id!r} is not a key id in "
                f"PRECERT_ENCRYPTION_KEYS (key ids there: {', '.join(sorted(keyring))})"
            )
        for name, secret in (
            ("BLIND_INDEX_KEY", self.blind_index_key),
            ("SECRET_KEY", self.secret_key),
        ):
            if len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                raise ValueError(
                    f"PRECERT_{name} must be at least {MIN_SECRET_CHARS} characters; "
                    f"generate one with: {KEY_COMMAND}"
                )
        if self.env == "production":
            _refuse_placeholders(self, keyring)
        return self

    def keyring(self) -> dict[str, bytes]:
        """The encryption keys by key id (already validated when the settings were built)."""
        return parse_keyring(self.encryption_keys.get_secret_value())


def parse_keyring(text: str) -> dict[str, bytes]:
    """Parse "kid1:base64key,kid2:base64key" into 32-byte AES keys; errors never echo a key."""
    keyring: dict[str, bytes] = {}
    for position, entry in enumerate(text.split(","), start=1):
        kid, sep, encoded = entry.strip().partition(":")
        where = f"PRECERT_ENCRYPTION_KEYS entry {position}"
        if not sep or not _KEY_ID.fullmatch(kid):
            raise ValueError(
                f"{where} must look like <key id>:<base64 key>, the key id 1-32 letters, digits, "
                "'-' or '_' (entries are separated by commas)"
            )
        if kid in keyring:
            raise ValueError(f"{where} repeats key id {kid!r}; each key id must be unique")
        keyring[kid] = _decode_key(where, kid, encoded.strip())
    return keyring


def _decode_key(where: str, kid: str, encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{where} (key id {kid!r}) is not valid base64; generate a key with: {KEY_COMMAND}"
        ) from None
    if len(key) != AES_KEY_BYTES:
        raise ValueError(
            f"{where} (key id {kid!r}) decodes to {len(key)} bytes; AES-256 needs "
            f"{AES_KEY_BYTES}. Generate a key with: {KEY_COMMAND}"
        )
    return key


def _refuse_placeholders(settings: Settings, keyring: dict[str, bytes]) -> None:
    placeholder_keys = parse_keyring(DEV_ENCRYPTION_KEYS)
    if DEV_KEY_ID in keyring or set(keyring.values()) & set(placeholder_keys.values()):
        raise ValueError(
            "PRECERT_ENCRYPTION_KEYS still holds the development placeholder key, which is public; "
            f"in production generate a key with: {KEY_COMMAND} and set "
            "PRECERT_ENCRYPTION_KEYS=<key id>:<key> and PRECERT_ENCRYPTION_KEY_ID=<key id>"
        )
    for name, secret, placeholder in (
        ("BLIND_INDEX_KEY", settings.blind_index_key, DEV_BLIND_INDEX_KEY),
        ("SECRET_KEY", settings.secret_key, DEV_SECRET_KEY),
    ):
        if secret.get_secret_value() == placeholder:
            raise ValueError(
                f"PRECERT_{name} is the development placeholder, which is public; in production "
                f"generate one with: {KEY_COMMAND}"
            )


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; entry points pass overrides from their own flags."""
    return Settings(**overrides)  # type: ignore[arg-type]
