"""`precert requests import FILE.csv --as EMAIL`: a scheduling system's export turned into draft
requests (services.schedule_import), with a summary as a table or JSON.

Exit status: 0 every row handled, 1 some rows invalid (the good rows are still imported), 2 for a
file that cannot be imported at all (missing, missing columns) or an unknown --as user.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from precert.cli.console import FAILURE_EXIT, stderr, stdout
from precert.cli.state import state_of
from precert.services.schedule_import import (
    ImportSummary,
    actor_by_email,
    count_rows,
    import_schedule,
)

# Smaller files import in well under a second: a bar would only flicker.
PROGRESS_FROM_ROWS = 1_000

app = typer.Typer(help="Authorization requests: importing a schedule of services.")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="The scheduling export.")],
    as_email: Annotated[
        str, typer.Option("--as", metavar="EMAIL", help="The admin or specialist importing.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar (it shows only on a terminal).")
    ] = False,
) -> None:
    """Create draft requests for the scheduled services that need approval (run it again: nothing
    is created twice)."""
    context = state_of(ctx).context()
    actor = actor_by_email(context, as_email)
    with _progress(file, quiet) as progress:
        summary = import_schedule(context, actor, file, progress=progress)
    if as_json:
        stdout.print(json.dumps(summary.as_dict(), indent=2), soft_wrap=True)
    else:
        _print_summary(summary)
    for error in summary.errors:
        stderr.print(Text(error.message, style="red"), soft_wrap=True)
    if summary.invalid:
        raise typer.Exit(FAILURE_EXIT)


@contextmanager
def _progress(file: Path, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for files big enough to wait for, only on a terminal."""
    if quiet or not stderr.is_terminal:
        yield None
        return
    total = count_rows(file)
    if total < PROGRESS_FROM_ROWS:
        yield None
        return
    columns = (TextColumn("importing {task.fields[name]}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task("rows", total=total, name=file.name)
        yield lambda rows: bar.advance(task, rows)


def _print_summary(summary: ImportSummary) -> None:
    table = Table(box=box.SIMPLE_HEAVY, title="Schedule import")
    table.add_column("rows")
    table.add_column("count", justify="right")
    counts = (
        ("rows read", summary.rows_read),
        ("created", len(summary.created)),
        ("already imported", summary.already_imported),
        ("not required", summary.not_required),
        ("unknown payer / needs verification", summary.unknown),
        ("invalid", summary.invalid),
        ("due soon", len(summary.due_soon)),
    )
    for label, count in counts:
        table.add_row(label, str(count))
    stdout.print(table)
    if summary.due_soon:
        due = Table(box=box.SIMPLE_HEAVY, title="Due soon without an approval")
        for heading in ("row", "service date", "payer", "code", "request"):
            due.add_column(heading)
        for item in summary.due_soon:
            due.add_row(
                str(item.row),
                item.service_date.isoformat(),
                item.payer_id,
                item.code,
                item.request_id,
            )
        stdout.print(due)
