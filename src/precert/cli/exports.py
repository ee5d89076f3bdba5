"""`precert requests export FILE --as EMAIL`: the work queue written to a CSV or XLSX file (the
format from the file's suffix), as the export API gives it, audited as that user's export.

The file holds patient names: it is created readable by its owner only (mode 0600).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from precert.cli.console import stdout
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.notify.export import atomic_path
from precert.services.exports import export_queue, exporter_by_email


def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="queue.csv or queue.xlsx")],
    as_email: Annotated[
        str, typer.Option("--as", metavar="EMAIL", help="The user exporting (any role).")
    ],
    status: Annotated[
        str | None, typer.Option("--status", help="Only requests with this status.")
    ] = None,
) -> None:
    """Write the work queue (open requests, soonest service first) to FILE.csv or FILE.xlsx."""
    format = file.suffix.lower().lstrip(".")
    if format not in ("csv", "xlsx"):
        raise InvalidInput.field(
            "FILE", "FILE: name a .csv or .xlsx file; its suffix is the format."
        )
    context = state_of(ctx).context()
    found = export_queue(
        context, exporter_by_email(context, as_email), format=format, status=status
    )
    with atomic_path(file) as temp:
        temp.write_bytes(found.data)
    stdout.print(f"Wrote {found.rows} request(s) to {file}", soft_wrap=True)
