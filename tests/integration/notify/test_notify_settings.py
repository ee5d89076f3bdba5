"""The notification settings as a deployment writes them (PRECERT_* environment variables): parsed,
validated with messages that name the setting to fix, and secrets kept out of reprs and errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from precert.config import NOTIFY_EVENTS, Settings, load_settings
from precert.services.notifications import outlets

HOOK_SECRET = "whsec-settings-0123456789"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SLACKSECRETTOKEN"


def test_nothing_configured_means_no_outlets_and_every_event_chosen() -> None:
    settings = Settings()
    assert outlets(settings) == []
    assert settings.notify_events == NOTIFY_EVENTS


def test_the_environment_configures_slack_webhooks_email_and_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRECERT_SLACK_WEBHOOK_URL", SLACK_URL)
    monkeypatch.setenv(
        "PRECERT_WEBHOOKS",
        f'[{{"url": "https://erp.example.org/hooks/precert", "secret": "{HOOK_SECRET}"}}]',
    )
    monkeypatch.setenv("PRECERT_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("PRECERT_SMTP_FROM", "precert@example.org")
    monkeypatch.setenv("PRECERT_SMTP_PASSWORD", "smtp-password-value")
    monkeypatch.setenv("PRECERT_SMTP_USERNAME", "precert")
    monkeypatch.setenv("PRECERT_NOTIFY_EMAIL_TO", "team@example.org, lead@example.org")
    monkeypatch.setenv("PRECERT_NOTIFY_EVENTS", "request.denied,work_item.decision_overdue")
    settings = load_settings()
    assert settings.notify_email_to == ("team@example.org", "lead@example.org")
    assert settings.notify_events == ("request.denied", "work_item.decision_overdue")
    assert settings.webhooks[0].secret.get_secret_value() == HOOK_SECRET
    assert [o.channel for o in outlets(settings)] == ["slack", "webhook", "email"]
    assert [o.target.split(" #")[0] for o in outlets(settings)] == [
        "slack hooks.slack.com",
        "webhook erp.example.org",
        "email 2 recipient(s)",
    ]
    shown = repr(settings) + " ".join(o.target for o in outlets(settings))
    for secret in ("SLACKSECRETTOKEN", HOOK_SECRET, "smtp-password-value", "/hooks/precert"):
        assert secret not in shown


def test_smtp_without_sender_or_recipients_is_refused_naming_each_setting() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_host="smtp.example.org")
    message = str(refused.value)
    assert "PRECERT_SMTP_FROM must be the sender's email address" in message
    assert "PRECERT_NOTIFY_EMAIL_TO must list at least one recipient" in message


def test_bad_notification_settings_are_refused_with_what_to_fix() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            slack_webhook_url="hooks.slack.com/services/T000",
            webhooks=[{"url": "ftp://erp.example.org", "secret": "short-secret-1"}],
            notify_events="request.approved,request.lost",
            notify_email_to="not-an-address",
            smtp_implicit_tls=True,
        )
    message = str(refused.value)
    assert "PRECERT_SLACK_WEBHOOK_URL must be an http(s) URL" in message
    assert "PRECERT_WEBHOOKS entry 1: url must be an http(s) URL" in message
    assert "PRECERT_WEBHOOKS entry 1: secret must be at least 16 characters" in message
    assert "PRECERT_NOTIFY_EVENTS has unknown event(s) request.lost" in message
    assert "PRECERT_NOTIFY_EMAIL_TO has 1 entry(ies) that are not email addresses" in message
    assert "short-secret-1" not in message  # validation errors never echo a secret


def test_a_webhook_entry_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(webhooks=[{"url": "https://x.example.org", "secret": HOOK_SECRET, "sig": "1"}])
    assert "webhooks.0.sig" in str(refused.value)
