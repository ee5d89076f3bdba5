"""Email notices through a real aiosmtpd server on 127.0.0.1: plain, with login, with STARTTLS."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope
from tests.integration.notify.receivers import (
    accept_login,
    free_port,
    self_signed_tls,
    smtp_receiver,
)

from precert.notify.email import EmailNotifier, SmtpConfig, send_email
from precert.notify.errors import NotifyError
from precert.notify.notice import Notice

SENDER = "precert@clinic.example.test"
TEAM = ["auth-team@clinic.example.test", "lead@clinic.example.test"]
NOTICE = Notice(
    kind="request.denied",
    title="Request AR-3003 denied",
    text="Acme Health denied line 1 <reason 50>; an appeal is due by 2026-12-23.",
    link="https://precert.example.test/requests/AR-3003",
    fields={"Request": "AR-3003", "Status": "denied"},
)


def parsed(envelope: Envelope) -> EmailMessage:
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_notice_arrives_with_subject_recipients_and_text_and_html_parts() -> None:
    with smtp_receiver() as (inbox, port):
        send_email(SmtpConfig("127.0.0.1", port, SENDER), NOTICE, TEAM)
    [envelope] = inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == TEAM
    message = parsed(envelope)
    assert message["Subject"] == "Request AR-3003 denied"
    assert message["To"] == ", ".join(TEAM)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == (
        "Request AR-3003 denied\n\n"
        "Acme Health denied line 1 <reason 50>; an appeal is due by 2026-12-23.\n\n"
        "Request: AR-3003\nStatus: denied\n\n"
        "Open in precert: https://precert.example.test/requests/AR-3003\n"
    )
    html_content = html.get_content()
    assert "<h2>Request AR-3003 denied</h2>" in html_content
    assert "line 1 &lt;reason 50&gt;" in html_content
    assert "<th align='left'>Status</th><td>denied</td>" in html_content
    assert "<a href='https://precert.example.test/requests/AR-3003'>" in html_content


def test_the_email_notifier_sends_each_notice_to_its_recipients() -> None:
    with smtp_receiver() as (inbox, port):
        notifier = EmailNotifier(SmtpConfig("127.0.0.1", port, SENDER), TEAM)
        notifier.send(NOTICE)
        notifier.send(Notice("sweep.done", "Sweep done", "3 follow-ups due."))
    assert [parsed(e)["Subject"] for e in inbox.envelopes] == [NOTICE.title, "Sweep done"]
    assert all(e.rcpt_tos == TEAM for e in inbox.envelopes)


def test_a_title_with_a_newline_cannot_add_headers() -> None:
    sneaky = Notice("x", "Hello\r\nBcc: someone@evil.example.test", "text")
    with smtp_receiver() as (inbox, port):
        send_email(SmtpConfig("127.0.0.1", port, SENDER), sneaky, TEAM[:1])
    message = parsed(inbox.envelopes[0])
    assert message["Bcc"] is None
    assert message["Subject"] == "Hello Bcc: someone@evil.example.test"


def test_starttls_and_login_send_through_a_server_that_requires_both(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed_tls(tmp_path)
    options = {
        "tls_context": server_tls,
        "require_starttls": True,
        "authenticator": accept_login("precert", "s3cret"),
        "auth_required": True,
    }
    config = SmtpConfig(
        "127.0.0.1", 0, SENDER, starttls=True, username="precert", password="s3cret"
    )
    with smtp_receiver(**options) as (inbox, port):
        send_email(_on(config, port), NOTICE, TEAM[:1], tls_context=client_tls)
    assert len(inbox.envelopes) == 1
    assert "s3cret" not in repr(config)


def test_a_wrong_password_is_a_non_retryable_error_that_names_the_setting(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed_tls(tmp_path)
    config = SmtpConfig("127.0.0.1", 0, SENDER, starttls=True, username="precert", password="no")
    with (
        smtp_receiver(tls_context=server_tls, authenticator=accept_login("precert", "s3cret")) as (
            inbox,
            port,
        ),
        pytest.raises(NotifyError) as refused,
    ):
        send_email(_on(config, port), NOTICE, TEAM[:1], tls_context=client_tls)
    assert str(refused.value) == (
        "The mail server refused the login; check the SMTP username and password."
    )
    assert not refused.value.retryable
    assert inbox.envelopes == []


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    server_tls, _ = self_signed_tls(tmp_path)
    config = SmtpConfig("127.0.0.1", 0, SENDER, starttls=True)
    with smtp_receiver(tls_context=server_tls) as (inbox, port), pytest.raises(NotifyError) as bad:
        send_email(_on(config, port), NOTICE, TEAM[:1])
    assert str(bad.value) == (
        "The mail server's TLS certificate is not trusted; check the SMTP host name."
    )
    assert inbox.envelopes == []


def test_no_mail_server_listening_is_a_retryable_error() -> None:
    with pytest.raises(NotifyError) as down:
        send_email(SmtpConfig("127.0.0.1", free_port(), SENDER, timeout=5), NOTICE, TEAM)
    assert str(down.value) == (
        "Could not talk to the mail server (ConnectionRefusedError); it will be retried."
    )
    assert down.value.retryable


def test_sending_to_nobody_is_refused_before_connecting() -> None:
    with pytest.raises(NotifyError) as nobody:
        send_email(SmtpConfig("127.0.0.1", free_port(), SENDER), NOTICE, [])
    assert str(nobody.value) == "An email needs at least one recipient; add one to the settings."


def _on(config: SmtpConfig, port: int) -> SmtpConfig:
    from dataclasses import replace

    return replace(config, port=port)
