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
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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

# The events precert can notify about: follow-up work items and recorded decisions.
NOTIFY_EVENTS = (
    "work_item.pended_past_turnaround",
    "work_item.info_requested",
    "work_item.approval_expires_before_service",
    "work_item.units_nearly_used",
    "work_item.service_soon_without_approval",
    "work_item.decision_overdue",
    "request.approved",
    "request.partially_approved",
    "request.denied",
)
MIN_WEBHOOK_SECRET_CHARS = 16
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+")


class WebhookSetting(BaseModel):
    """One generic webhook subscriber from PRECERT_WEBHOOKS: where to POST and the HMAC secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: SecretStr  # a subscriber URL may carry a token of its own
    secret: SecretStr


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
    # The fax channel (docs/channels.md): who a faxed packet is from, where the payer answers.
    fax_sender_name: str = "Prior authorization team"
    fax_sender_phone: str = ""
    fax_sender_number: str = ""
    # Electronic channels (docs/channels.md). X12 278 goes to one clearinghouse: real time by a
    # CORE-style HTTP POST (x12_url with its credentials), or batch through a drop folder
    # (x12_drop_dir/outbox, answers read from x12_drop_dir/inbox). Neither set = no x12 channel.
    x12_url: str | None = None
    x12_username: str = ""
    x12_password: SecretStr | None = None
    x12_drop_dir: Path | None = None
    x12_sender_id: str = "PRECERT"  # ISA06/GS02: the id the clearinghouse knows us by
    x12_timeout_seconds: float = 60.0  # CORE real time: an answer within 60 s or none
    # Da Vinci PAS: the payers whose FHIR API we may use, "payer-id=https://base/fhir,..."; a payer
    # not listed is not sent PAS requests even if its pack lists fhir-pas (it needs registration).
    pas_endpoints: Annotated[dict[str, str], NoDecode] = {}
    pas_token: SecretStr | None = None  # a bearer token for the payers' PAS APIs
    # Payer portals driven by SOPs (docs/portal-sops.md): "payer-id=sop-name@https://base,..."; the
    # SOP `sop-name` submits (`sop-name-submit` when that exists) and `...-status` checks.
    portals: Annotated[dict[str, str], NoDecode] = {}
    # How long a paused portal run waits for a person's answer (a CAPTCHA, a page to confirm)
    # before it ends as handed over; shorter than a credential's 15-minute lease.
    portal_handover_minutes: float = 10.0
    # Portal runs (browsers) one consumer runs at once, on the portal queue (docs/portal-runs.md).
    portal_workers: int = 1
    pas_timeout_seconds: float = 30.0
    # How often a submitted, undecided electronic request is asked about (278 inquiry/$inquire).
    inquiry_minutes: int = 60

    # Notifications (docs/notifications.md). Nothing configured = nothing sent.
    base_url: str = "http://127.0.0.1:8000"  # links in notices: <base_url>/requests/<id>
    notify_events: Annotated[tuple[str, ...], NoDecode] = NOTIFY_EVENTS
    slack_webhook_url: SecretStr | None = None
    webhooks: tuple[WebhookSetting, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_implicit_tls: bool = False
    notify_email_to: Annotated[tuple[str, ...], NoDecode] = ()
    # Google Sheets push of the work queue (off unless a spreadsheet id is set).
    sheets_spreadsheet_id: str | None = None
    sheets_organization: str | None = None  # whose queue goes to the sheet (one tenant only)
    sheets_credentials_file: Path | None = None
    sheets_range: str = "Queue!A1"
    sheets_api_url: str = "https://sheets.googleapis.com"
    sheets_include_phi: bool = False

    @field_validator("pas_endpoints", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = {}
            for item in (part.strip() for part in value.split(",")):
                payer, sep, url = item.partition("=")
                if not item:
                    continue
                if not sep or not payer.strip() or not url.strip():
                    raise ValueError(
                        "PRECERT_PAS_ENDPOINTS must look like payer-id=https://payer/fhir, "
                        "entries separated by commas"
                    )
                pairs[payer.strip()] = url.strip().rstrip("/")
            return pairs
        return value

    @field_validator("portals", mode="before")
    @classmethod
    def _portal_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = {}
            for item in (part.strip() for part in value.split(",")):
                if not item:
                    continue
                payer, sep, target = item.partition("=")
                sop, at, url = target.partition("@")
                if not sep or not at or not payer.strip() or not sop.strip() or not url.strip():
                    raise ValueError(
                        "PRECERT_PORTALS must look like payer-id=sop-name@https://portal.example, "
                        "entries separated by commas"
                    )
                pairs[payer.strip()] = f"{sop.strip()}@{url.strip().rstrip('/')}"
            return pairs
        return value

    @field_validator("notify_events", "notify_email_to", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _notifications_are_usable(self) -> Settings:
        problems = notification_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

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


def notification_problems(settings: Settings) -> list[str]:
    """What is wrong with the notification settings, each naming the setting to fix."""
    problems = []
    unknown = [event for event in settings.notify_events if event not in NOTIFY_EVENTS]
    if unknown:
        problems.append(
            f"PRECERT_NOTIFY_EVENTS has unknown event(s) {', '.join(unknown)}; "
            f"use a comma-separated list of: {', '.join(NOTIFY_EVENTS)}"
        )
    if not settings.base_url.startswith(("http://", "https://")):
        problems.append("PRECERT_BASE_URL must start with http:// or https://")
    if settings.slack_webhook_url is not None and not _is_http(settings.slack_webhook_url):
        problems.append(
            "PRECERT_SLACK_WEBHOOK_URL must be an http(s) URL (Slack's starts "
            "with https://hooks.slack.com/)"
        )
    for position, hook in enumerate(settings.webhooks, start=1):
        if not _is_http(hook.url):
            problems.append(f"PRECERT_WEBHOOKS entry {position}: url must be an http(s) URL")
        if len(hook.secret.get_secret_value()) < MIN_WEBHOOK_SECRET_CHARS:
            problems.append(
                f"PRECERT_WEBHOOKS entry {position}: secret must be at least "
                f"{MIN_WEBHOOK_SECRET_CHARS} characters; generate one with: {KEY_COMMAND}"
            )
    problems.extend(_smtp_problems(settings))
    problems.extend(channel_problems(settings))
    if settings.sheets_spreadsheet_id:
        if settings.sheets_credentials_file is None:
            problems.append(
                "PRECERT_SHEETS_CREDENTIALS_FILE must name a Google service-account JSON key "
                "file when PRECERT_SHEETS_SPREADSHEET_ID is set"
            )
        if not settings.sheets_organization:
            problems.append(
                "PRECERT_SHEETS_ORGANIZATION must name the organization whose queue is pushed "
                "when PRECERT_SHEETS_SPREADSHEET_ID is set (a sheet never mixes organizations)"
            )
    if not settings.sheets_api_url.startswith(("http://", "https://")):
        problems.append("PRECERT_SHEETS_API_URL must start with http:// or https://")
    return problems


def channel_problems(settings: Settings) -> list[str]:
    """What is wrong with the electronic channel settings, each naming the setting to fix."""
    problems = []
    if settings.x12_url is not None and not settings.x12_url.startswith(("http://", "https://")):
        problems.append("PRECERT_X12_URL must be the clearinghouse's http(s) real-time address")
    if settings.x12_password is not None and not settings.x12_username:
        problems.append("PRECERT_X12_USERNAME must be set when PRECERT_X12_PASSWORD is")
    if not 1 <= len(settings.x12_sender_id) <= 15 or not settings.x12_sender_id.isalnum():
        problems.append("PRECERT_X12_SENDER_ID must be 1-15 letters or digits (ISA06)")
    for payer, url in settings.pas_endpoints.items():
        if not url.startswith(("http://", "https://")):
            problems.append(f"PRECERT_PAS_ENDPOINTS: {payer}'s address must be an http(s) URL")
    for payer, target in settings.portals.items():
        sop, _, url = target.partition("@")
        if not sop or not url.startswith(("http://", "https://")):
            problems.append(
                f"PRECERT_PORTALS: {payer}'s entry must be sop-name@https://portal.example"
            )
    if settings.inquiry_minutes < 1:
        problems.append("PRECERT_INQUIRY_MINUTES must be at least 1")
    if not 0 < settings.portal_handover_minutes < 15:
        problems.append("PRECERT_PORTAL_HANDOVER_MINUTES must be above 0 and below 15")
    if settings.portal_workers < 1:
        problems.append("PRECERT_PORTAL_WORKERS must be at least 1")
    return problems


def _smtp_problems(settings: Settings) -> list[str]:
    problems = []
    bad = [address for address in settings.notify_email_to if not _EMAIL.fullmatch(address)]
    if bad:
        problems.append(
            f"PRECERT_NOTIFY_EMAIL_TO has {len(bad)} entry(ies) that are not email addresses; "
            "give a comma-separated list like a@example.org,b@example.org"
        )
    if settings.smtp_host is None:
        if settings.notify_email_to:
            problems.append("PRECERT_SMTP_HOST must be set to send to PRECERT_NOTIFY_EMAIL_TO")
        return problems
    if not settings.smtp_from or not _EMAIL.fullmatch(settings.smtp_from):
        problems.append(
            "PRECERT_SMTP_FROM must be the sender's email address when PRECERT_SMTP_HOST is set"
        )
    if not settings.notify_email_to:
        problems.append(
            "PRECERT_NOTIFY_EMAIL_TO must list at least one recipient when PRECERT_SMTP_HOST is set"
        )
    if not 0 < settings.smtp_port < 65536:
        problems.append("PRECERT_SMTP_PORT must be a port number (587 STARTTLS, 465 TLS, 25)")
    if settings.smtp_starttls and settings.smtp_implicit_tls:
        problems.append(
            "PRECERT_SMTP_STARTTLS and PRECERT_SMTP_IMPLICIT_TLS exclude each other; "
            "set PRECERT_SMTP_STARTTLS=false for port 465"
        )
    if settings.smtp_password is not None and not settings.smtp_username:
        problems.append("PRECERT_SMTP_USERNAME must be set when PRECERT_SMTP_PASSWORD is")
    return problems


def _is_http(url: SecretStr) -> bool:
    return url.get_secret_value().startswith(("http://", "https://"))


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
