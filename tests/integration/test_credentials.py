"""The portal credentials vault on SQLite and PostgreSQL: secrets encrypted at rest, replace, list
without secrets, authenticator codes, leases (with a 20-thread race), email codes read from a real
IMAP server (pymap, in-process on 127.0.0.1) and `precert credentials` through the Typer app."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import imaplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from precert.cli.main import app
from precert.config import Settings
from precert.errors import (
    ChannelMisconfigured,
    ChannelUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
)
from precert.security.crypto import DecryptionFailed
from precert.services import accounts
from precert.services import credentials as vault
from precert.services.audit import events_for
from precert.services.context import Context
from precert.services.credentials import ImapSettings

NOON = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)
USERNAME = "clinic.portal.user"
PASSWORD = "Portal-Pa55word-canary"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
IMAP_USER = "codes@clinic.example"
IMAP_PASSWORD = "imap-canary-secret"
SENDER = "no-reply@portal.example"
SECRETS = (USERNAME, PASSWORD, TOTP_SECRET, IMAP_USER, IMAP_PASSWORD)


class Clock:
    """A wall clock the test moves by hand; leases read it through ctx.now."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(any_ctx: Context) -> Clock:
    fixed = Clock(NOON)
    any_ctx.now = fixed
    return fixed


@pytest.fixture
def org(any_ctx: Context) -> str:
    return accounts.create_organization(any_ctx, "Northside Clinic")


def imap_settings(port: int = 993, **changes: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "username": IMAP_USER,
        "password": SecretStr(IMAP_PASSWORD),
        "folder": "INBOX",
        "sender": SENDER,
        "security": "plain",
    }
    values.update(changes)
    return ImapSettings(**values)  # type: ignore[arg-type]


def add_full(ctx: Context, org: str, name: str = "acme", port: int = 993) -> bool:
    return vault.add_credential(
        ctx,
        org,
        name,
        username=USERNAME,
        password=PASSWORD,
        totp_secret=TOTP_SECRET,
        imap=imap_settings(port),
    )


def raw_rows(ctx: Context, table: str) -> list[tuple[object, ...]]:
    with ctx.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))]


# -- schema ---------------------------------------------------------------------------------------


def test_the_migration_creates_the_tables_the_models_describe(any_ctx: Context) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from precert.store.models import Base

    with any_ctx.engine.connect() as connection:
        migration = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(migration, Base.metadata)
    ours = ("portal_credentials", "credential_leases")
    assert [d for d in differences if any(table in repr(d) for table in ours)] == []


# -- storing --------------------------------------------------------------------------------------


def test_no_secret_is_stored_in_plain_text_and_each_reads_back(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    assert add_full(any_ctx, org) is True

    [row] = raw_rows(any_ctx, "portal_credentials")
    stored = " ".join(str(value) for value in row)
    for secret in SECRETS:
        assert secret not in stored
    assert "acme" in stored and "127.0.0.1" in stored  # names and hosts are not secret

    assert vault.lease(any_ctx, org, "acme", "run-1") is not None
    login = vault.login(any_ctx, org, "acme", holder="run-1")
    assert login.username == USERNAME
    assert login.password is not None and login.password.get_secret_value() == PASSWORD


def test_a_secret_copied_into_another_credential_does_not_decrypt(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org, "acme")
    add_full(any_ctx, org, "beacon")
    with any_ctx.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE portal_credentials SET password = "
                "(SELECT password FROM portal_credentials WHERE name = 'acme') "
                "WHERE name = 'beacon'"
            )
        )
    vault.lease(any_ctx, org, "beacon", "run-1")

    with pytest.raises(DecryptionFailed, match="failed its integrity check"):
        vault.login(any_ctx, org, "beacon", holder="run-1")


def test_adding_a_name_again_replaces_every_secret(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org)
    clock.at = NOON + dt.timedelta(hours=1)

    replaced = vault.add_credential(
        any_ctx, org, "acme", username="new.user", password="Another-pass-2"
    )

    assert replaced is False
    [summary] = vault.list_credentials(any_ctx, org)
    assert (summary.has_password, summary.has_totp, summary.has_imap) == (True, False, False)
    assert summary.updated_at == clock.at
    vault.lease(any_ctx, org, "acme", "run-1")
    login = vault.login(any_ctx, org, "acme", holder="run-1")
    assert login.username == "new.user"
    assert login.password == SecretStr("Another-pass-2")
    actions = [event.action for event in events_for(any_ctx, org) if event.entity == vault.ENTITY]
    assert actions[::-1] == ["create", "replace", "lease", "use-login"]


def test_the_list_has_names_and_factors_but_no_secret(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org, "zeta")
    vault.add_credential(any_ctx, org, "alpha", username="someone")
    other_org = accounts.create_organization(any_ctx, "Elsewhere")
    vault.add_credential(any_ctx, other_org, "hidden", username="x")

    summaries = vault.list_credentials(any_ctx, org)

    assert [(s.name, s.has_password, s.has_totp, s.has_imap) for s in summaries] == [
        ("alpha", False, False, False),
        ("zeta", True, True, True),
    ]
    for secret in SECRETS:
        assert secret not in repr(summaries)


def test_secrets_never_show_in_a_repr(any_ctx: Context, org: str, clock: Clock) -> None:
    add_full(any_ctx, org)
    vault.lease(any_ctx, org, "acme", "run-1")
    login = vault.login(any_ctx, org, "acme", holder="run-1")
    with any_ctx.uow() as uow:
        credential = vault._repository(any_ctx, uow).get(org, "acme")

    shown = repr(login) + repr(credential) + str(credential) + repr(imap_settings())
    for secret in SECRETS:
        assert secret not in shown


def test_bad_input_is_refused_saying_what_to_fix(any_ctx: Context, org: str) -> None:
    with pytest.raises(InvalidInput, match="credential name is 1 to 100 letters"):
        vault.add_credential(any_ctx, org, "acme portal", username="u")
    with pytest.raises(InvalidInput, match="base32 key the portal shows"):
        vault.add_credential(any_ctx, org, "acme", username="u", totp_secret="not base32 !!")
    with pytest.raises(InvalidInput, match=r"plain IMAP is allowed only to 127\.0\.0\.1"):
        vault.add_credential(
            any_ctx, org, "acme", username="u", imap=imap_settings(host="imap.example.org")
        )
    assert vault.list_credentials(any_ctx, org) == []


def test_a_missing_credential_says_how_to_add_it(any_ctx: Context, org: str) -> None:
    other_org = accounts.create_organization(any_ctx, "Elsewhere")
    vault.add_credential(any_ctx, other_org, "acme", username="x")  # another tenant's

    with pytest.raises(NotFound, match=r"No portal credential is named 'acme'.*credentials add"):
        vault.lease(any_ctx, org, "acme", "run-1")
    with pytest.raises(NotFound, match="No portal credential"):
        vault.totp_code(any_ctx, org, "acme", NOON)


# -- authenticator codes ---------------------------------------------------------------------------


def test_authenticator_codes_are_the_ones_an_app_shows(any_ctx: Context, org: str) -> None:
    # Written the way portals display it: lower case in groups of four.
    shown = " ".join(TOTP_SECRET[i : i + 4] for i in range(0, len(TOTP_SECRET), 4)).lower()
    vault.add_credential(any_ctx, org, "acme", username="u", totp_secret=shown)

    for offset in (0, 29, 30, 3600):
        at = NOON + dt.timedelta(seconds=offset)
        assert vault.totp_code(any_ctx, org, "acme", at) == pyotp.TOTP(TOTP_SECRET).at(at)
    assert vault.totp_code(any_ctx, org, "acme", NOON) != vault.totp_code(
        any_ctx, org, "acme", NOON + dt.timedelta(seconds=30)
    )
    assert "use-totp" in [event.action for event in events_for(any_ctx, org)]


def test_a_credential_without_an_authenticator_names_the_option(any_ctx: Context, org: str) -> None:
    vault.add_credential(any_ctx, org, "acme", username="u")

    with pytest.raises(ChannelMisconfigured, match="--totp-secret-stdin"):
        vault.totp_code(any_ctx, org, "acme", NOON)


# -- leases ----------------------------------------------------------------------------------------


def test_a_leased_credential_is_not_leased_to_another_run_until_released(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org)
    first = vault.lease(any_ctx, org, "acme", "run-1", dt.timedelta(minutes=5))

    assert first is not None and first.expires_at == NOON + dt.timedelta(minutes=5)
    assert vault.lease(any_ctx, org, "acme", "run-2") is None
    with pytest.raises(Conflict, match="Run run-2 does not hold the lease"):
        vault.login(any_ctx, org, "acme", holder="run-2")
    assert vault.release(any_ctx, org, "acme", "run-2") is False  # not theirs to release
    assert vault.lease(any_ctx, org, "acme", "run-2") is None

    assert vault.release(any_ctx, org, "acme", "run-1") is True
    assert vault.lease(any_ctx, org, "acme", "run-2") is not None


def test_the_holder_renews_and_an_expired_lease_is_free(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org)
    vault.lease(any_ctx, org, "acme", "run-1", dt.timedelta(minutes=5))
    clock.at = NOON + dt.timedelta(minutes=4)
    renewed = vault.lease(any_ctx, org, "acme", "run-1", dt.timedelta(minutes=5))
    assert renewed is not None and renewed.expires_at == NOON + dt.timedelta(minutes=9)

    clock.at = NOON + dt.timedelta(minutes=8, seconds=59)
    assert vault.lease(any_ctx, org, "acme", "run-2") is None
    clock.at = NOON + dt.timedelta(minutes=9)  # a crashed run-1 never released it
    assert vault.lease(any_ctx, org, "acme", "run-2") is not None

    with pytest.raises(Conflict):
        vault.login(any_ctx, org, "acme", holder="run-1")
    assert vault.release(any_ctx, org, "acme", "run-1") is False
    assert vault.login(any_ctx, org, "acme", holder="run-2").username == USERNAME


def test_twenty_threads_racing_for_one_credential_never_share_it(
    any_ctx: Context, org: str, clock: Clock
) -> None:
    add_full(any_ctx, org)
    threads = 20
    start = threading.Barrier(threads)
    guard = threading.Lock()
    holding: set[str] = set()
    overlaps: list[set[str]] = []
    winners_first_round: list[str] = []
    acquired: list[str] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        holder = f"run-{index}"
        try:
            start.wait()
            if vault.lease(any_ctx, org, "acme", holder) is not None:
                winners_first_round.append(holder)
            start.wait()  # every thread has tried once while the winner still holds it
            if holder in winners_first_round:
                assert vault.release(any_ctx, org, "acme", holder)
            start.wait()
            for _ in range(5):
                if vault.lease(any_ctx, org, "acme", holder) is None:
                    continue
                with guard:
                    holding.add(holder)
                    if len(holding) > 1:
                        overlaps.append(set(holding))
                acquired.append(holder)
                with guard:
                    holding.discard(holder)
                assert vault.release(any_ctx, org, "acme", holder)
        except Exception as error:  # noqa: BLE001 - surfaced below; a thread cannot fail a test
            errors.append(error)
            start.abort()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    assert len(winners_first_round) == 1, winners_first_round
    assert overlaps == []
    assert acquired  # the credential was used in round two too, one run at a time
    audited = [event for event in events_for(any_ctx, org, limit=1000) if event.action == "lease"]
    assert len(audited) == 1 + len(acquired)


# -- email codes over IMAP (pymap, a real IMAP server, in this process) ---------------------------


@dataclass
class ImapServer:
    port: int
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event

    def deliver(
        self, sender: str, subject: str, body: str, arrived: dt.datetime, **kw: str
    ) -> None:
        """Put a message in the mailbox as the portal's mail would arrive (IMAP APPEND)."""
        message = EmailMessage()
        message["From"] = f"Payer Portal <{sender}>"
        message["To"] = IMAP_USER
        message["Subject"] = subject
        message.set_content(body, subtype=kw.get("subtype", "plain"))
        client = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            client.login(IMAP_USER, IMAP_PASSWORD)
            status, _ = client.append(
                "INBOX", None, imaplib.Time2Internaldate(arrived), message.as_bytes()
            )
            assert status == "OK"
        finally:
            client.logout()


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    """pymap's in-memory backend on 127.0.0.1 with one mailbox, in a thread of this process."""
    from proxyprotocol.reader import ProxyProtocolReader
    from pymap.backend.dict import DictBackend
    from pymap.imap import IMAPServer

    ready = threading.Event()
    found: dict[str, object] = {}

    async def serve() -> None:
        args = argparse.Namespace(
            host="127.0.0.1",
            port=0,
            debug=False,
            cert=None,
            key=None,
            tls=False,
            passlib_cfg=None,
            proxy_protocol=None,
            demo_data=False,
            demo_user=IMAP_USER,
            demo_password=IMAP_PASSWORD,
            inherited_sockets=None,
        )
        # secure_auth=False: LOGIN without TLS, which our side allows only to loopback.
        backend, config = await DictBackend.init(args, secure_auth=False, invalid_user_sleep=0.0)
        config.apply_context()
        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(
            IMAPServer(backend.login, config)
        )
        server = await asyncio.start_server(callback, host="127.0.0.1", port=0)
        found["port"] = server.sockets[0].getsockname()[1]
        found["loop"] = asyncio.get_running_loop()
        found["stop"] = stop = asyncio.Event()
        ready.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30), "pymap did not start"
    running = ImapServer(found["port"], found["loop"], found["stop"])  # type: ignore[arg-type]
    yield running
    running.loop.call_soon_threadsafe(running.stop.set)
    thread.join(timeout=10)


@pytest.fixture
def mailbox_org(ctx: Context, imap_server: ImapServer) -> str:
    organization = accounts.create_organization(ctx, "Mail Clinic")
    add_full(ctx, organization, "acme", imap_server.port)
    return organization


def test_the_code_is_read_from_the_newest_message_of_the_sender_since_the_login(
    ctx: Context, imap_server: ImapServer, mailbox_org: str
) -> None:
    since = dt.datetime.now(dt.UTC).replace(microsecond=0)
    imap_server.deliver(SENDER, "Your code", "Code: 111111", since - dt.timedelta(minutes=10))
    imap_server.deliver(SENDER, "Your code", "Order 2026: your code is 482913.", since)
    imap_server.deliver("news@other.example", "Sale 999999", "9999", since)

    assert vault.email_code(ctx, mailbox_org, "acme", None, since, timeout=0) == "482913"

    imap_server.deliver(SENDER, "Verification 715530", "ignored 123456", since)
    assert vault.email_code(ctx, mailbox_org, "acme", SENDER, since, timeout=0) == "715530"
    assert "use-email-code" in [event.action for event in events_for(ctx, mailbox_org)]


def test_a_code_in_an_html_only_message_is_found(
    ctx: Context, imap_server: ImapServer, mailbox_org: str
) -> None:
    since = dt.datetime.now(dt.UTC).replace(microsecond=0)
    body = (
        "<html><head><style>.c{color:#123456}</style></head><body><p>Hello,</p>"
        "<p>Your one-time passcode is <b>30 41 92</b> or <span>204918</span></p></body></html>"
    )
    imap_server.deliver(SENDER, "Sign-in", body, since, subtype="html")

    assert vault.email_code(ctx, mailbox_org, "acme", SENDER, since, timeout=0) == "204918"


def test_the_mailbox_is_asked_again_until_the_code_arrives(
    ctx: Context, imap_server: ImapServer, mailbox_org: str
) -> None:
    since = dt.datetime.now(dt.UTC).replace(microsecond=0)
    waits: list[float] = []

    def mail_arrives_while_waiting(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            imap_server.deliver(SENDER, "Login code 665544", "", since)

    code = vault.email_code(
        ctx, mailbox_org, "acme", SENDER, since, 600, sleep=mail_arrives_while_waiting
    )

    assert code == "665544"
    assert waits == [vault.POLL_SECONDS, vault.POLL_SECONDS]


def test_no_code_in_time_is_unavailable_and_names_the_sender(
    ctx: Context, imap_server: ImapServer, mailbox_org: str
) -> None:
    since = dt.datetime.now(dt.UTC)
    imap_server.deliver(SENDER, "Your code 123456", "", since - dt.timedelta(minutes=1))

    with pytest.raises(ChannelUnavailable, match=f"No email code from {SENDER} arrived"):
        vault.email_code(ctx, mailbox_org, "acme", None, since, timeout=0)


def test_a_refused_mailbox_login_names_the_setting_and_not_the_password(
    ctx: Context, imap_server: ImapServer
) -> None:
    organization = accounts.create_organization(ctx, "Wrong Mail")
    vault.add_credential(
        ctx,
        organization,
        "acme",
        username="u",
        imap=imap_settings(imap_server.port, password=SecretStr("wrong-imap-canary")),
    )

    with pytest.raises(ChannelMisconfigured, match="--imap-password-stdin") as caught:
        vault.email_code(ctx, organization, "acme", None, NOON, timeout=0)
    assert "wrong-imap-canary" not in str(caught.value.as_dict())


def test_an_unreachable_mail_server_is_unavailable(ctx: Context) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    organization = accounts.create_organization(ctx, "No Mail")
    add_full(ctx, organization, "acme", port)

    with pytest.raises(ChannelUnavailable, match=f"127.0.0.1:{port}.*ConnectionRefusedError"):
        vault.email_code(ctx, organization, "acme", None, NOON, timeout=0)


@pytest.mark.parametrize(
    ("subject", "body", "code"),
    [
        ("Your verification code is 4821", "", "4821"),
        ("Sign in", "Ref 2026-11-29. Your PIN: 93817265 (valid 10 minutes)", "93817265"),
        ("Sign in", "Use 558812 to sign in", "558812"),
        ("Sign in", "Call 555 010, ticket 123", None),
        ("Sign in", "code 123456789 is too long to be a code", None),
    ],
)
def test_the_code_is_the_announced_or_first_4_to_8_digits(
    subject: str, body: str, code: str | None
) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content(body)
    assert vault.code_in_message(message.as_bytes()) == code


# -- the command line ------------------------------------------------------------------------------


def cli(settings: Settings, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {
        "PRECERT_DATABASE_URL": settings.database_url,
        "PRECERT_DATA_DIR": str(settings.data_dir),
        "COLUMNS": "250",
    }
    result = CliRunner().invoke(app, ["credentials", *args], input=stdin, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_adds_replaces_and_lists_reading_secrets_from_stdin(
    any_settings: Settings, any_ctx: Context, org: str
) -> None:
    add = ["add", "acme", "--org", "Northside Clinic", "--username", USERNAME]
    imap = ["--imap-host", "127.0.0.1", "--imap-security", "plain", "--imap-user", IMAP_USER]
    imap += ["--imap-password-stdin", "--imap-sender", SENDER]
    stdin = f"{PASSWORD}\n{TOTP_SECRET}\n{IMAP_PASSWORD}\n"

    code, out, err = cli(
        any_settings, *add, "--password-stdin", "--totp-secret-stdin", *imap, stdin=stdin
    )
    assert (code, err) == (0, "")
    assert out == "Added portal credential acme in Northside Clinic.\n"
    assert cli(any_settings, *add, "--password-stdin", stdin="Second-pass-1\n")[1].startswith(
        "Replaced portal credential acme"
    )

    code, out, err = cli(any_settings, "list", "--org", "Northside Clinic")
    assert code == 0
    assert out.startswith("acme  password (updated 20")
    for secret in SECRETS:
        assert secret not in out + err
    vault.lease(any_ctx, org, "acme", "run-1")
    assert vault.login(any_ctx, org, "acme", holder="run-1").password == SecretStr("Second-pass-1")


def test_the_cli_refuses_half_an_imap_setup_and_an_unknown_org(
    any_settings: Settings, any_ctx: Context, org: str
) -> None:
    code, _, err = cli(
        any_settings,
        *("add", "acme", "--org", "Northside Clinic", "--username", "u"),
        *("--imap-host", "imap.example.org"),
    )
    assert code == 2
    assert "--imap-host, --imap-user and --imap-password-stdin together" in err

    code, _, err = cli(any_settings, "list", "--org", "Nowhere")
    assert code == 2
    assert "No organization is named 'Nowhere'" in err

    code, _, err = cli(
        any_settings,
        *("add", "acme", "--org", "Northside Clinic", "--username", "u", "--password-stdin"),
        stdin="",
    )
    assert code == 2
    assert "Standard input ended before the password" in err
    assert vault.list_credentials(any_ctx, org) == []


def test_no_option_takes_a_secret_as_an_argument(any_settings: Settings) -> None:
    code, _, err = cli(
        any_settings, "add", "acme", "--org", "x", "--username", "u", "--password", PASSWORD
    )
    assert code == 2
    assert "No such option: --password" in err
