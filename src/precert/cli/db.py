"""`precert db`: the database schema (Alembic migrations shipped in the package)."""

from __future__ import annotations

import typer

from precert.cli.console import stdout
from precert.cli.state import state_of
from precert.services.context import build_context

app = typer.Typer(help="The database precert keeps its data in.")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Bring the configured database (PRECERT_DATABASE_URL) to the current schema."""
    settings = state_of(ctx).settings
    # build_context runs store.db.upgrade (Alembic to head) on the configured database.
    context = build_context(settings, migrate=True)
    try:
        url = context.engine.url.render_as_string(hide_password=True)
        stdout.print(f"Database {url} is at the current schema.", soft_wrap=True)
    finally:
        context.engine.dispose()
