"""`precert authorizations import FILE --org NAME` and `precert authorizations export --org NAME`:
authorization records kept in a spreadsheet or another system, brought in for the claim check
(services.authorization_records), and every record written back out in the same columns.

Import exit status: 0 every row kept, 1 some rows invalid (listed on stderr; the good rows are
kept), 2 for a file that cannot be imported at all or an unknown organization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from precert.cli.console import FAILURE_EXIT, stderr, stdout
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.notify.export import atomic_path
from precert.services.authorization_records import (
    FORMATS,
    export_records,
    import_records,
    organization_actor,
)

app = typer.Typer(help="Authorization records from outside precert: import and export.")

OrgOption = Annotated[
    str, typer.Option("--org", metavar="NAME", help="The organization the records belong to.")
]
FormatOption = Annotated[
    str | None,
    typer.Option("--format", metavar="csv|json", help="The file's format (default: its suffix)."),
]


def _format(value: str | None, file: Path | None) -> str:
    """--format, else the file's suffix, else csv."""
    if value is None:
        suffix = file.suffix.lower().lstrip(".") if file is not None else ""
        return suffix if suffix in FORMATS else "csv"
    chosen = value.strip().lower()
    if chosen not in FORMATS:
        raise InvalidInput.field("--format", f"--format: {value!r} is not csv or json; choose one.")
    return chosen


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv or .json file.")],
    org: OrgOption,
    format: FormatOption = None,
) -> None:
    """Keep the file's authorizations (the same number for the same payer and member replaces
    the one imported before); every bad row is listed with its row and column."""
    chosen = _format(format, file)
    context = state_of(ctx).context()
    result = import_records(context, organization_actor(context, org), file, chosen)
    stdout.print(
        f"Read {result.rows_read} row(s): kept {result.imported} ({result.replaced} replaced "
        f"an earlier import), {result.invalid} invalid.",
        soft_wrap=True,
    )
    for warning in result.warnings:
        stderr.print(Text(warning, style="yellow"), soft_wrap=True)
    for error in result.errors:
        stderr.print(Text(error.message, style="red"), soft_wrap=True)
    if result.errors:
        raise typer.Exit(FAILURE_EXIT)


@app.command("export")
def export_command(
    ctx: typer.Context,
    org: OrgOption,
    format: FormatOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write here (mode 0600) instead of stdout."),
    ] = None,
) -> None:
    """Write every authorization record (imported and from our requests) as CSV or JSON."""
    chosen = _format(format, out)
    context = state_of(ctx).context()
    data = export_records(context, organization_actor(context, org), chosen)
    if out is None:
        typer.echo(data.decode(), nl=False)
        return
    with atomic_path(out) as temp:
        temp.write_bytes(data)
    stderr.print(f"Wrote the authorization records to {out}", soft_wrap=True)
