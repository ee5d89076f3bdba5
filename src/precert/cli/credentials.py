"""`precert credentials`: the portal logins runs use — add (or replace) one, list their names.

Secrets are read from standard input, one line each in the order of the flags given (password,
authenticator secret, IMAP password), never from arguments, so they stay out of shell history and
the process list. `list` shows names and which factors are set up, never a secret.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import SecretStr

from precert.cli.console import stdout
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.services.credentials import (
    DEFAULT_PORTS,
    SECURITY_CHOICES,
    ImapSettings,
    add_credential,
    list_credentials,
    organization_id_named,
)

app = typer.Typer(help="Portal logins (encrypted), authenticator secrets and email-code mailboxes.")

OrgOption = Annotated[str, typer.Option("--org", metavar="ORG", help="The organization's name.")]


@app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="How SOPs refer to it.")],
    org: OrgOption,
    username: Annotated[str, typer.Option("--username", metavar="U", help="The portal login.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the portal password (first line).")
    ] = False,
    totp_secret_stdin: Annotated[
        bool,
        typer.Option("--totp-secret-stdin", help="Read the authenticator secret (next line)."),
    ] = False,
    imap_host: Annotated[
        str | None, typer.Option("--imap-host", metavar="H", help="Mail server for email codes.")
    ] = None,
    imap_port: Annotated[
        int | None, typer.Option("--imap-port", metavar="N", help="Default 993 (143 starttls).")
    ] = None,
    imap_security: Annotated[
        str, typer.Option("--imap-security", metavar="S", help=", ".join(SECURITY_CHOICES))
    ] = "ssl",
    imap_user: Annotated[
        str | None, typer.Option("--imap-user", metavar="U", help="The mailbox login.")
    ] = None,
    imap_password_stdin: Annotated[
        bool,
        typer.Option("--imap-password-stdin", help="Read the mailbox password (next line)."),
    ] = False,
    imap_folder: Annotated[
        str, typer.Option("--imap-folder", metavar="F", help="Where codes arrive.")
    ] = "INBOX",
    imap_sender: Annotated[
        str | None,
        typer.Option("--imap-sender", metavar="S", help="The From address codes come from."),
    ] = None,
) -> None:
    """Add a portal credential, or replace every secret of the one with this name."""
    _require_imap_pairing(imap_host, imap_user, imap_password_stdin)
    # One line per flag, in this fixed order, so a script can pipe all secrets at once.
    password = _read_line("password") if password_stdin else None
    totp_secret = _read_line("authenticator secret") if totp_secret_stdin else None
    imap = None
    if imap_host is not None and imap_user is not None:
        imap = ImapSettings(
            host=imap_host,
            port=imap_port or DEFAULT_PORTS.get(imap_security, 993),
            username=imap_user,
            password=SecretStr(_read_line("IMAP password")),
            folder=imap_folder,
            sender=imap_sender,
            security=imap_security.strip().lower(),
        )
    context = state_of(ctx).context()
    created = add_credential(
        context,
        organization_id_named(context, org),
        name,
        username=username,
        password=password,
        totp_secret=totp_secret,
        imap=imap,
    )
    verb = "Added" if created else "Replaced"
    stdout.print(f"{verb} portal credential {name.strip()} in {org.strip()}.", soft_wrap=True)


@app.command("list")
def list_command(ctx: typer.Context, org: OrgOption) -> None:
    """The credential names of an organization and which factors each has (never a secret)."""
    context = state_of(ctx).context()
    summaries = list_credentials(context, organization_id_named(context, org))
    if not summaries:
        stdout.print(f"No portal credentials in {org.strip()}.", soft_wrap=True)
        return
    width = max(len(item.name) for item in summaries)
    for item in summaries:
        factors = [
            label
            for label, present in (
                ("password", item.has_password),
                ("authenticator", item.has_totp),
                ("email codes", item.has_imap),
            )
            if present
        ]
        updated = item.updated_at.strftime("%Y-%m-%d %H:%M UTC")
        stdout.print(
            f"{item.name.ljust(width)}  {', '.join(factors) or 'username only'} "
            f"(updated {updated})",
            soft_wrap=True,
        )


def _require_imap_pairing(host: str | None, user: str | None, password_stdin: bool) -> None:
    given = [host is not None, user is not None, password_stdin]
    if any(given) and not all(given):
        raise InvalidInput.field(
            "imap",
            "Email codes need --imap-host, --imap-user and --imap-password-stdin together.",
            "incomplete-imap",
        )


def _read_line(what: str) -> str:
    # One line each: `printf '%s\n' "$PW" | precert credentials add ...` adds newlines that are
    # not part of the secret.
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput.field(
            "stdin", f"Standard input ended before the {what}; give one line per secret.", "eof"
        )
    value = line.removesuffix("\n").removesuffix("\r")
    if not value:
        raise InvalidInput.field("stdin", f"The {what} line on standard input is empty.", "empty")
    return value
