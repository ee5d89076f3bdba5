"""Send a Notice by email over SMTP: a plain-text body with an HTML alternative.

Settings are a plain `SmtpConfig` (host, port, sender, optional STARTTLS or implicit TLS, optional
login); the entry point fills it from its settings. SMTP failures become NotifyError, retryable for
4xx answers and lost connections, not for refused recipients or a failed login.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import escape

from precert.errors import Issue
from precert.notify.errors import NotifyError
from precert.notify.notice import Notice

CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """How to reach the mail server. `starttls` upgrades a plain connection (port 587);
    `implicit_tls` connects over TLS from the start (port 465); login only when a username is set.
    """

    host: str
    port: int
    sender: str
    starttls: bool = False
    implicit_tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0


def _one_line(text: str) -> str:
    # A newline in a header would let a title inject headers; the email package refuses it anyway.
    return " ".join(text.split())


def notice_html(notice: Notice) -> str:
    """The HTML part: the same content as the text part, every value escaped."""
    rows = "".join(
        f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
        for k, v in notice.fields.items()
    )
    link = f"<p><a href='{escape(notice.link)}'>Open in precert</a></p>" if notice.link else ""
    table = f"<table>{rows}</table>" if rows else ""
    head = f"<h2>{escape(notice.title)}</h2><p>{escape(notice.text)}</p>"
    return f"<html><body>{head}{table}{link}</body></html>"


def notice_text(notice: Notice) -> str:
    """The plain-text part, for mail clients that do not show HTML."""
    lines = [notice.title, "", notice.text]
    if notice.fields:
        lines += ["", *(f"{k}: {v}" for k, v in notice.fields.items())]
    if notice.link:
        lines += ["", f"Open in precert: {notice.link}"]
    return "\n".join(lines) + "\n"


def build_message(notice: Notice, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A multipart/alternative message: text first, HTML last (the part clients prefer)."""
    message = EmailMessage()
    message["Subject"] = _one_line(notice.title)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(notice_text(notice))
    message.add_alternative(notice_html(notice), subtype="html")
    return message


def send_email(
    config: SmtpConfig,
    notice: Notice,
    recipients: Sequence[str],
    *,
    tls_context: ssl.SSLContext | None = None,
) -> None:
    """Deliver one notice to `recipients`; raises NotifyError when the server does not take it."""
    if not recipients:
        raise NotifyError("An email needs at least one recipient; add one to the settings.")
    message = build_message(notice, sender=config.sender, recipients=recipients)
    context = tls_context or ssl.create_default_context()
    try:
        with _connect(config, context) as smtp:
            if config.starttls:
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, config.password)
            smtp.send_message(message, from_addr=config.sender, to_addrs=list(recipients))
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(exc) from None


def _connect(config: SmtpConfig, context: ssl.SSLContext) -> smtplib.SMTP:
    if config.implicit_tls:
        return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _smtp_error(exc: smtplib.SMTPException | OSError) -> NotifyError:
    """Translate smtplib's errors; messages hold the server's code, never addresses or content."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        message = "The mail server refused the login; check the SMTP username and password."
        code, retryable = "smtp-login", False
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        count = len(exc.recipients)
        message = f"The mail server refused {count} recipient(s); check the addresses."
        code, retryable = "smtp-recipients", False
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        message = "The mail server does not support STARTTLS or login as configured."
        code, retryable = "smtp-unsupported", False
    elif isinstance(exc, smtplib.SMTPResponseException):
        # 4xx is "try again later" in SMTP (greylisting, full queue); 5xx is permanent.
        retryable = 400 <= exc.smtp_code < 500
        message = f"The mail server answered {exc.smtp_code}" + (
            "; it will be retried." if retryable else "; retrying will not help."
        )
        code = f"smtp-{exc.smtp_code}"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        message = "The mail server's TLS certificate is not trusted; check the SMTP host name."
        code, retryable = "smtp-certificate", False
    else:
        message = f"Could not talk to the mail server ({type(exc).__name__}); it will be retried."
        code, retryable = "smtp-unreachable", True
    return NotifyError(message, [Issue(code, message, CHANNEL)], retryable=retryable)


class EmailNotifier:
    """Sends notices to a fixed list of recipients (the same `send(notice)` shape as Slack)."""

    def __init__(
        self,
        config: SmtpConfig,
        recipients: Sequence[str],
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._config = config
        self._recipients = tuple(recipients)
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"EmailNotifier(host={self._config.host!r}, recipients={len(self._recipients)})"

    def send(self, notice: Notice) -> None:
        send_email(self._config, notice, self._recipients, tls_context=self._tls_context)
