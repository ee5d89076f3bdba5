"""The portal credentials vault: add or replace a login, list names (never secrets), lease a
credential to one run at a time, and produce the second factor a portal asks for — an
authenticator (TOTP) code, or the code the portal emailed, read over IMAP.

Every use of a secret writes an audit event. Secrets travel as SecretStr, are hidden from every
repr, and no message here ever contains one (messages name the credential and the setting).
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import email
import html
import imaplib
import ipaddress
import re
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pyotp
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    Conflict,
    InvalidInput,
    Issue,
    NotFound,
)
from precert.security import totp
from precert.security.crypto import FieldCipher
from precert.services.audit import SYSTEM, record
from precert.services.context import Context
from precert.store.accounts import OrganizationRepository
from precert.store.credentials import (
    HOLDER_LENGTH,
    NAME_LENGTH,
    CredentialRepository,
    CredentialSummary,
    PortalCredential,
    PortalCredentialRecord,
)
from precert.store.credentials import ImapSettings as ImapSettings  # re-exported for entry points
from precert.store.uow import UnitOfWork

ENTITY = "portal_credential"
DEFAULT_LEASE = dt.timedelta(minutes=15)
SECURITY_CHOICES = ("ssl", "starttls", "plain")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "plain": 143}
POLL_SECONDS = 2.0  # how often the mailbox is asked again while a code has not arrived
MAX_CANDIDATES = 20  # newest messages looked at per poll; older ones cannot be a fresh code
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A code next to the word that announces it wins over any other number ("Order 2026: code 4821").
_CODE_AFTER_WORD = re.compile(
    r"(?i)\b(?:code|passcode|pin|otp|password)\b[^0-9]{0,40}?(?<!\d)(\d{4,8})(?!\d)"
)
_ANY_CODE = re.compile(r"(?<!\d)(\d{4,8})(?!\d)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_HTML_DROP = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_HTML_TAG = re.compile(r"(?s)<[^>]+>")


@dataclass(frozen=True, slots=True)
class Lease:
    """A credential held by one run until `expires_at` (renew by leasing again before then)."""

    credential: str
    credential_id: str
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PortalLogin:
    """What a run types into the login form; hidden from repr so it never reaches a log."""

    username: str = field(repr=False)
    password: SecretStr | None = field(repr=False)


# -- adding and listing ----------------------------------------------------------------------------


def organization_id_named(ctx: Context, name: str) -> str:
    """The id of the organization called `name`, or NotFound saying how to create it."""
    with ctx.uow() as uow:
        organization = OrganizationRepository(uow.session).by_name(name.strip())
        if organization is not None:
            return organization.id
    message = f"No organization is named {name!r}; create it with `precert orgs create`."
    raise NotFound(message, [Issue("not-found", message, "org")])


def add_credential(
    ctx: Context,
    organization_id: str,
    name: str,
    *,
    username: str,
    password: str | None = None,
    totp_secret: str | None = None,
    imap: ImapSettings | None = None,
    actor: str = SYSTEM,
) -> bool:
    """Store a login (replacing every secret of an existing one of that name); True when new.
    A lease held on a replaced credential stays with its run."""
    name = check_name(name)
    if not username.strip():
        raise InvalidInput.field("username", "A portal username is required.", "required")
    secret = None if totp_secret is None else _normalised_totp_secret(totp_secret)
    checked_imap = None if imap is None else check_imap(imap)
    now = ctx.now()
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        existing = repo.record_named(organization_id, name)
        credential = PortalCredential(
            id=existing.id if existing else str(uuid.uuid4()),
            organization_id=organization_id,
            name=name,
            username=username.strip(),
            password=None if password is None else SecretStr(password),
            totp_secret=None if secret is None else SecretStr(secret),
            imap=checked_imap,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        try:
            created = repo.save(credential)
        except IntegrityError:  # added by someone else between the look-up and the insert
            raise Conflict(
                f"The credential {name!r} was added at the same moment by someone else; "
                "run the command again to replace it."
            ) from None
        _audit(uow, credential.id, organization_id, actor, "create" if created else "replace", now)
        uow.commit()
    return created


def list_credentials(ctx: Context, organization_id: str) -> list[CredentialSummary]:
    """Names and which factors are set up, alphabetically; no secret is decrypted."""
    with ctx.uow() as uow:
        return _repository(ctx, uow).summaries(organization_id)


def check_name(name: str) -> str:
    name = name.strip()
    if len(name) > NAME_LENGTH or not _NAME.fullmatch(name):
        raise InvalidInput.field(
            "name",
            f"A credential name is 1 to {NAME_LENGTH} letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit (e.g. acme-portal); {name!r} is not.",
            "bad-name",
        )
    return name


def check_imap(imap: ImapSettings) -> ImapSettings:
    """The settings as stored, or InvalidInput naming the option to fix."""
    if imap.security not in SECURITY_CHOICES:
        raise _imap_error("security", f"choose one of {', '.join(SECURITY_CHOICES)}")
    if not imap.host.strip() or any(c.isspace() for c in imap.host.strip()):
        raise _imap_error("host", "give the mail server's host name, e.g. imap.example.org")
    if imap.security == "plain" and not _is_loopback(imap.host.strip()):
        # Plain IMAP sends the mailbox password in the clear; only a local bridge may have it.
        raise _imap_error("security", "plain IMAP is allowed only to 127.0.0.1 or localhost")
    if not 0 < imap.port < 65536:
        raise _imap_error("port", "give a port between 1 and 65535 (993 for IMAP over TLS)")
    if not imap.username.strip():
        raise _imap_error("user", "give the mailbox login")
    for option, value in (("folder", imap.folder), ("sender", imap.sender or "")):
        if not value.isascii() or any(c in value for c in '\r\n"\\'):
            raise _imap_error(option, "use plain ASCII without quotes or line breaks")
    if not imap.folder.strip():
        raise _imap_error("folder", "give the folder the codes arrive in, e.g. INBOX")
    return ImapSettings(
        host=imap.host.strip(),
        port=imap.port,
        username=imap.username.strip(),
        password=imap.password,
        folder=imap.folder.strip(),
        sender=(imap.sender or "").strip() or None,
        security=imap.security,
    )


# -- leases ----------------------------------------------------------------------------------------


def lease(
    ctx: Context,
    organization_id: str,
    name: str,
    holder: str,
    ttl: dt.timedelta = DEFAULT_LEASE,
) -> Lease | None:
    """Hold the credential for `holder` (a run id) until now + ttl, or None when another run
    holds it. Leasing again as the same holder renews; an expired lease is free for anyone."""
    holder = _check_holder(holder)
    if ttl <= dt.timedelta(0):
        raise InvalidInput.field("ttl", "A lease must last longer than zero seconds.", "bad-ttl")
    now = ctx.now()
    expires_at = now + ttl
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        credential = _record(repo, organization_id, name)
        # The look-up above ran outside a write transaction; the UPDATE is the first write, so on
        # SQLite it waits for the write lock instead of failing on a stale snapshot.
        if not repo.try_lease(credential.id, holder=holder, now=now, expires_at=expires_at):
            return None
        _audit(uow, credential.id, organization_id, holder, "lease", now, f"until {expires_at}")
        uow.commit()
    return Lease(credential.name, credential.id, holder, now, expires_at)


def release(ctx: Context, organization_id: str, name: str, holder: str) -> bool:
    """Free the credential if `holder` holds it; False when it did not (expired and taken)."""
    holder = _check_holder(holder)
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        credential = _record(repo, organization_id, name)
        if not repo.release(credential.id, holder=holder):
            return False
        _audit(uow, credential.id, organization_id, holder, "release", ctx.now())
        uow.commit()
    return True


def login(ctx: Context, organization_id: str, name: str, *, holder: str) -> PortalLogin:
    """The username and password, only for the run that holds the lease right now."""
    now = ctx.now()
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        credential = _record(repo, organization_id, name)
        held = repo.lease_of(credential.id)
        if (
            held is None
            or held.holder != holder
            or held.expires_at is None
            or held.expires_at <= now
        ):
            raise Conflict(
                f"Run {holder} does not hold the lease on credential {credential.name!r}; lease "
                "it first (leases expire, so a long run renews before then)."
            )
        decrypted = _decrypted(repo, organization_id, credential.name)
        _audit(uow, credential.id, organization_id, holder, "use-login", now)
        uow.commit()
    return PortalLogin(decrypted.username, decrypted.password)


# -- second factors --------------------------------------------------------------------------------


def totp_code(ctx: Context, organization_id: str, name: str, at: dt.datetime) -> str:
    """The authenticator code for the credential at that moment (what the phone app would show)."""
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        credential = _decrypted(repo, organization_id, name)
        if credential.totp_secret is None:
            raise _missing(credential.name, "an authenticator secret", "--totp-secret-stdin")
        _audit(uow, credential.id, organization_id, SYSTEM, "use-totp", ctx.now())
        uow.commit()
    return totp.code_at(credential.totp_secret.get_secret_value(), at)


def email_code(
    ctx: Context,
    organization_id: str,
    name: str,
    sender: str | None,
    since: dt.datetime,
    timeout: float,
    *,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The code in the newest message from `sender` (else the credential's sender filter) that
    arrived at or after `since`, asking the mailbox again until `timeout` seconds have passed.
    ChannelUnavailable when none came: the portal may be asked to send another."""
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware (UTC)")
    with ctx.uow() as uow:
        repo = _repository(ctx, uow)
        credential = _decrypted(repo, organization_id, name)
        if credential.imap is None:
            raise _missing(credential.name, "IMAP settings", "--imap-host")
        wanted = (sender or "").strip() or credential.imap.sender
        if not wanted:
            raise _missing(credential.name, "an IMAP sender filter", "--imap-sender")
        _audit(uow, credential.id, organization_id, SYSTEM, "use-email-code", ctx.now())
        uow.commit()
    # The database session is closed before waiting on the mailbox: a wait holds no connection.
    deadline = time.monotonic() + timeout
    while True:
        code = _newest_code(credential.name, credential.imap, wanted, since, timeout)
        if code is not None:
            return code
        if time.monotonic() >= deadline:
            raise ChannelUnavailable(
                f"No email code from {wanted} arrived in the {credential.imap.folder} folder for "
                f"credential {credential.name!r} within {timeout:g} seconds; check that the "
                "portal sent one and that the sender filter matches its From address."
            )
        sleep(poll_seconds)


def code_in_message(raw: bytes) -> str | None:
    """The first 4–8 digit code in a message's subject, else its body (plain text preferred)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    subject = str(message.get("subject", ""))
    return extract_code(subject) or extract_code(_body_text(message))


def extract_code(text: str) -> str | None:
    """A code announced by a word ("code", "PIN"…) first, else the first run of 4–8 digits."""
    announced = _CODE_AFTER_WORD.search(text)
    if announced:
        return announced.group(1)
    anywhere = _ANY_CODE.search(text)
    return anywhere.group(1) if anywhere else None


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = html.unescape(_HTML_TAG.sub(" ", _HTML_DROP.sub(" ", text)))
    return text


# -- the IMAP dialogue -----------------------------------------------------------------------------


def _newest_code(
    name: str, imap: ImapSettings, sender: str, since: dt.datetime, timeout: float
) -> str | None:
    """One look at the mailbox: log in, search, read the newest candidates, log out."""
    connection = _connect(name, imap, timeout)
    try:
        _login(name, imap, connection)
        status, _ = connection.select(_quoted(imap.folder), readonly=True)
        if status != "OK":
            raise ChannelMisconfigured(
                f"The IMAP folder {imap.folder!r} of credential {name!r} does not exist; fix it "
                f"with `precert credentials add {name} ... --imap-folder NAME`."
            )
        for _arrived, raw in _candidates(connection, sender, since):
            message = email.message_from_bytes(raw, policy=policy.default)
            if sender.lower() not in str(message.get("from", "")).lower():
                continue  # SEARCH FROM is a substring match on any header form; check it again
            code = code_in_message(raw)
            if code is not None:
                return code
        return None
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as error:
        raise _unavailable(name, imap, error) from None
    finally:
        _logout(connection)


def _connect(name: str, imap: ImapSettings, timeout: float) -> imaplib.IMAP4:
    wait = max(timeout, 5.0)  # a socket timeout, so a silent server cannot hang the run
    try:
        if imap.security == "ssl":
            return imaplib.IMAP4_SSL(imap.host, imap.port, timeout=wait)
        connection = imaplib.IMAP4(imap.host, imap.port, timeout=wait)
        if imap.security == "starttls":
            connection.starttls(ssl_context=ssl.create_default_context())
        return connection
    except (OSError, imaplib.IMAP4.error) as error:
        raise _unavailable(name, imap, error) from None


def _login(name: str, imap: ImapSettings, connection: imaplib.IMAP4) -> None:
    try:
        connection.login(imap.username, imap.password.get_secret_value())
    except imaplib.IMAP4.error:
        # The server's text is left out on purpose: some servers echo what was sent.
        raise ChannelMisconfigured(
            f"The IMAP server {imap.host} refused the mailbox login of credential {name!r}; set "
            f"the right one with `precert credentials add {name} ... --imap-user U "
            "--imap-password-stdin`."
        ) from None


def _candidates(
    connection: imaplib.IMAP4, sender: str, since: dt.datetime
) -> list[tuple[dt.datetime, bytes]]:
    """Messages from `sender` that arrived at or after `since`, newest first."""
    # SINCE compares dates in the server's time zone and ignores the time: ask from the day
    # before, then compare INTERNALDATE exactly.
    day = (since - dt.timedelta(days=1)).strftime("%d-%b-%Y")
    status, data = connection.uid("SEARCH", "FROM", _quoted(sender), "SINCE", day)
    if status != "OK" or not data or not data[0]:
        return []
    uids = data[0].split()[-MAX_CANDIDATES:]
    status, fetched = connection.uid(
        "FETCH", b",".join(uids).decode(), "(INTERNALDATE BODY.PEEK[])"
    )
    if status != "OK":
        return []
    found = []
    for position, item in enumerate(fetched):
        if not isinstance(item, tuple):
            continue  # the closing ")" of each message arrives as its own bytes element
        match = _INTERNALDATE.search(item[0])
        arrived = _internaldate(match.group(1)) if match else None
        # INTERNALDATE has whole seconds: a code sent in the run's first second still counts.
        if arrived is not None and arrived >= since.replace(microsecond=0):
            found.append((arrived, position, item[1]))
    # Newest first; within one second, the later UID (fetched later) is the newer message.
    return [(arrived, raw) for arrived, _, raw in sorted(found, reverse=True)]


def _internaldate(value: bytes) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value.decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _logout(connection: imaplib.IMAP4) -> None:
    # The answer is already known; a failed goodbye changes nothing.
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        connection.logout()


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unavailable(name: str, imap: ImapSettings, error: BaseException) -> ChannelUnavailable:
    # Only the exception's class: its text can quote server replies.
    return ChannelUnavailable(
        f"Cannot read email codes for credential {name!r} from {imap.host}:{imap.port} "
        f"({type(error).__name__}); check the IMAP host, port and security or try again."
    )


# -- helpers ---------------------------------------------------------------------------------------


def _repository(ctx: Context, uow: UnitOfWork) -> CredentialRepository:
    return CredentialRepository(uow.session, FieldCipher.from_settings(ctx.settings))


def _record(repo: CredentialRepository, organization_id: str, name: str) -> PortalCredentialRecord:
    record_ = repo.record_named(organization_id, name.strip())
    if record_ is None:
        raise _not_found(name)
    return record_


def _decrypted(repo: CredentialRepository, organization_id: str, name: str) -> PortalCredential:
    credential = repo.get(organization_id, name.strip())
    if credential is None:
        raise _not_found(name)
    return credential


def _not_found(name: str) -> NotFound:
    message = (
        f"No portal credential is named {name!r} in this organization; add it with "
        f"`precert credentials add {name.strip()} --org ORG --username U --password-stdin`."
    )
    return NotFound(message, [Issue("not-found", message, "credential")])


def _missing(name: str, what: str, option: str) -> ChannelMisconfigured:
    message = (
        f"Credential {name!r} has no {what}; add it with "
        f"`precert credentials add {name} ... {option}`."
    )
    return ChannelMisconfigured(message, [Issue("misconfigured", message, option.lstrip("-"))])


def _imap_error(option: str, what: str) -> InvalidInput:
    return InvalidInput.field(f"imap_{option}", f"--imap-{option}: {what}.", "bad-imap")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_holder(holder: str) -> str:
    holder = holder.strip()
    if not holder or len(holder) > HOLDER_LENGTH:
        raise InvalidInput.field(
            "holder", f"A lease holder (the run id) needs 1 to {HOLDER_LENGTH} characters."
        )
    return holder


def _normalised_totp_secret(value: str) -> str:
    """Base32 as authenticator apps show it (spaces, lower case) made canonical, or InvalidInput."""
    secret = "".join(value.split()).upper().rstrip("=")
    try:
        pyotp.TOTP(secret).generate_otp(0)
    except (binascii.Error, ValueError):
        secret = ""
    if len(secret) < 16:  # 80 bits: anything shorter is not what a portal hands out
        raise InvalidInput.field(
            "totp_secret",
            "The authenticator secret must be the base32 key the portal shows under "
            '"can\'t scan the QR code?" (16 or more letters A–Z and digits 2–7).',
            "bad-totp-secret",
        )
    return secret


def _audit(
    uow: UnitOfWork,
    credential_id: str,
    organization_id: str,
    actor: str,
    action: str,
    at: dt.datetime,
    reason: str | None = None,
) -> None:
    record(
        uow,
        actor=actor,
        action=action,
        entity=ENTITY,
        entity_id=credential_id,
        organization_id=organization_id,
        reason=reason,
        at=at,
    )
