"""The `precert` command: the Typer app, its global options, and how errors reach the terminal.

Settings come from the environment (PRECERT_DATABASE_URL, PRECERT_DATA_DIR...) and are built once
in the root callback. Any PrecertError a command raises is printed as its messages on stderr, one
line each, without a traceback (--debug shows it): exit 2 for input the person can fix (bad value,
unknown payer, unusable file), 1 otherwise. A database that cannot be opened is named (without
its password) with exit 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from precert.cli import accounts, db, demo, payers, remits, serve, worker, x12
from precert.cli import authorizations as authorizations_cli
from precert.cli import check as check_module
from precert.cli import claims as claims_cli
from precert.cli import credentials as credentials_cli
from precert.cli import exports as exports_cli
from precert.cli import fhir as fhir_cli
from precert.cli import payer_sim as payer_sim_cli
from precert.cli import portal as portal_cli
from precert.cli import portal_run as portal_run_cli
from precert.cli import portal_sim as portal_sim_cli
from precert.cli import requests as requests_module
from precert.cli.console import FAILURE_EXIT, USAGE_EXIT, exit_code_for, print_error, stderr
from precert.cli.state import State
from precert.config import load_settings
from precert.errors import PrecertError


class _PrecertGroup(TyperGroup):
    """The root group: every subcommand runs inside its invoke, so errors are rendered here once."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except PrecertError as error:
            state = ctx.find_object(State)
            if state is None or state.debug:
                raise
            print_error(error)
            raise typer.Exit(exit_code_for(error)) from None
        except OperationalError as error:
            # The database cannot be opened or reached: a setting to fix, not a bug to trace.
            state = ctx.find_object(State)
            if state is None or state.debug:
                raise
            url = make_url(state.settings.database_url).render_as_string(hide_password=True)
            reason = str(error.orig or error).strip().splitlines()[0]
            stderr.print(
                f"Cannot use the database {url}: {reason}. Check PRECERT_DATABASE_URL.",
                soft_wrap=True,
            )
            raise typer.Exit(FAILURE_EXIT) from None


app = typer.Typer(
    cls=_PrecertGroup,
    name="precert",
    help="Prior authorization: is approval required, for which payer, and how to ask.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold request data; never print them
)
app.command("check")(check_module.check)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(payers.app, name="payers")
app.add_typer(db.app, name="db")
app.add_typer(accounts.orgs_app, name="orgs")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.tokens_app, name="tokens")
requests_module.app.command("export")(exports_cli.export)
app.add_typer(requests_module.app, name="requests")
app.add_typer(demo.app, name="demo")
app.add_typer(x12.app, name="x12")
app.add_typer(fhir_cli.app, name="fhir")
app.add_typer(authorizations_cli.app, name="authorizations")
app.add_typer(remits.app, name="remits")
app.add_typer(claims_cli.app, name="claims")
app.add_typer(portal_cli.app, name="portal")
portal_cli.app.command("run")(portal_run_cli.run_command)
app.add_typer(credentials_cli.app, name="credentials")
app.command("payer-sim")(payer_sim_cli.payer_sim)
app.command("portal-sim")(portal_sim_cli.portal_sim)


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Settings are read from the environment (PRECERT_ prefix) once, here."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            name = f"PRECERT_{where.upper()}" if where else "settings"
            stderr.print(f"{name}: {error['msg'].removeprefix('Value error, ')}", soft_wrap=True)
        raise typer.Exit(USAGE_EXIT) from None
    ctx.obj = State(settings, debug=debug)


def main() -> None:
    """The console script (`precert = precert.cli.main:main`)."""
    app()
