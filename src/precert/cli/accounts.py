"""`precert orgs`, `precert users` and `precert tokens`: setting up who may use precert.

A password is read from standard input (`--password-stdin`), never from an argument, so it stays
out of shell history and the process list. `tokens create` prints only the token, for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from precert.cli.console import stderr, stdout
from precert.cli.state import state_of
from precert.services.accounts import ROLE_NAMES, create_organization, create_token, create_user

orgs_app = typer.Typer(help="Organizations: the teams (tenants) whose data precert keeps apart.")
users_app = typer.Typer(help="The people who sign in, each with a role.")
tokens_app = typer.Typer(help="API tokens for scripts and other systems.")


@orgs_app.command("create")
def create_org_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME")]
) -> None:
    """Create an organization."""
    organization_id = create_organization(state_of(ctx).context(), name)
    stdout.print(f"Created organization {name.strip()} ({organization_id}).", soft_wrap=True)


@users_app.command("create")
def create_user_command(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", metavar="NAME", help="The organization's name.")],
    email: Annotated[str, typer.Option("--email", metavar="E", help="Their email (login).")],
    role: Annotated[str, typer.Option("--role", metavar="ROLE", help=f"One of {ROLE_NAMES}.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
) -> None:
    """Create a user in an organization (without --password-stdin they sign in by token only)."""
    password = _read_password() if password_stdin else None
    create_user(state_of(ctx).context(), org=org, email=email, role=role, password=password)
    stdout.print(
        f"Created {role.strip().lower()} {email.strip().lower()} in {org.strip()}.", soft_wrap=True
    )
    if password is None:
        stderr.print("No password set: this user can use API tokens but cannot sign in yet.")


def _read_password() -> str:
    # One line: `echo "$PW" | precert users create ...` adds a newline that is not the password.
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@tokens_app.command("create")
def create_token_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", metavar="E", help="The user it acts as.")],
) -> None:
    """Make an API token and print it (only the token: it is shown this once)."""
    token = create_token(state_of(ctx).context(), email=email)
    stdout.print(token, soft_wrap=True)
