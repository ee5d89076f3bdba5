"""`precert claims scrub FILE.837`: every claim line checked against its authorization before the
claim goes out (services.claims_scrub), printed as a table, or as JSON (--json), a CSV of the
findings (--csv FILE), an HTML page (--html FILE), and a corrected 837 where only the number was
missing (--fix FILE).

Authorizations come from the database (the organization's requests and imports; --org names the
organization when there are several) plus an optional --authorizations file (CSV or JSON, the
import columns) used for this scrub only. Exit status: 0 when every line is ok or needs no
authorization, 1 when there are findings (or claims that could not be read), 2 for usage errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from precert.cli.console import FAILURE_EXIT, stderr, stdout
from precert.cli.state import state_of
from precert.domain.claims import AuthorizationRecord
from precert.errors import InvalidInput, Issue, NotFound
from precert.notify.export import atomic_path
from precert.reports.scrub_report import render_scrub_html
from precert.services.authorization_records import (
    OrganizationActor,
    organization_actor,
    parse_records,
)
from precert.services.claims_scrub import (
    ScrubReport,
    finding_rows,
    result_json,
    result_json_text,
    scrub,
)
from precert.services.context import Context
from precert.store.accounts import OrganizationRepository

app = typer.Typer(help="Claims before they go out: check every line against its authorization.")

PROGRESS_FROM_BYTES = 2_000_000  # about 10,000 claim lines: worth a progress bar
CSV_COLUMNS = (
    "claim_id",
    "member_id",
    "payer_id",
    "line",
    "code",
    "date",
    "units",
    "kind",
    "severity",
    "message",
    "fix",
    "authorization_number",
)


@app.command("scrub")
def scrub_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.837", help="An 837P or 837I file.")],
    payer: Annotated[
        str | None, typer.Option("--payer", metavar="ID", help="The payer of every claim.")
    ] = None,
    authorizations: Annotated[
        Path | None,
        typer.Option("--authorizations", metavar="FILE", help="More authorizations (CSV or JSON)."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", metavar="NAME", help="Whose authorizations (when there are several)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", metavar="FILE", help="Write the findings as CSV.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write an HTML report.")
    ] = None,
    fix_out: Annotated[
        Path | None,
        typer.Option("--fix", metavar="FILE.837", help="Write the 837 with missing numbers added."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Check every claim line against the requirement on its date and the member's
    authorizations; list what the payer would deny and how to fix it."""
    text = _read(file)
    context = state_of(ctx).context()
    actor = _actor(context, org)
    extra = _extra(authorizations)
    with _progress(file, quiet) as progress:
        report = scrub(
            context,
            actor,
            text,
            payer_id=payer,
            extra=extra,
            fix=fix_out is not None,
            progress=progress,
        )
    if as_json:  # written directly: a 200,000-line report is one large document
        typer.echo(result_json_text(report))
    else:
        _print(report)
    if csv_out is not None:
        _write(csv_out, _csv(report))
    if html_out is not None:
        page = render_scrub_html(result_json(report), title=f"Claim scrub: {file.name}")
        _write(html_out, page)
    if fix_out is not None:
        if report.corrected is None:
            stderr.print("Nothing to fix automatically: no line lacks only its number.")
        else:
            _write(fix_out, report.corrected)
            stderr.print(
                f"Wrote the corrected 837 ({len(report.fixes)} number(s) added) to {fix_out}"
            )
    if not report.clean:
        raise typer.Exit(FAILURE_EXIT)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        message = f"FILE: cannot read {file} ({error.strerror or type(error).__name__})."
        raise InvalidInput(message, [Issue("unreadable", message, "FILE")]) from None


def _actor(context: Context, org: str | None) -> OrganizationActor:
    """--org, else the only organization of this installation."""
    if org is not None:
        return organization_actor(context, org)
    with context.uow() as uow:
        names = [o.name for o in OrganizationRepository(uow.session).all()]
    if len(names) == 1:
        return organization_actor(context, names[0])
    if not names:
        message = "--org: this installation has no organization yet; create one with precert orgs."
    else:
        message = f"--org: name the organization whose authorizations to use: {', '.join(names)}."
    raise NotFound(message, [Issue("org-required", message, "--org")])


def _extra(path: Path | None) -> list[AuthorizationRecord]:
    if path is None:
        return []
    suffix = path.suffix.lower().lstrip(".")
    text = _read(path)
    parsed = parse_records(text, "json" if suffix == "json" else "csv")
    for error in parsed.errors:
        stderr.print(Text(f"--authorizations {error.message}", style="yellow"), soft_wrap=True)
    return list(parsed.records)


@contextmanager
def _progress(file: Path, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    if quiet or not stderr.is_terminal or file.stat().st_size < PROGRESS_FROM_BYTES:
        yield None
        return
    columns = (TextColumn("checking {task.fields[name]}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("claims", total=None, name=file.name)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print(report: ScrubReport) -> None:
    summary = report.summary()
    table = Table(box=box.SIMPLE_HEAVY, title="Claim lines to fix before billing")
    for column in ("claim", "line", "code", "date", "finding", "what is wrong", "fix"):
        table.add_column(column, overflow="fold")
    for row in finding_rows(report):
        if row["severity"] == "info":
            continue
        style = "red" if row["severity"] == "error" else "yellow"
        table.add_row(
            str(row["claim_id"]),
            str(row["line"]),
            str(row["code"]),
            str(row["date"]),
            Text(str(row["kind"]).replace("_", " "), style=style),
            str(row["message"]),
            str(row["fix"]),
        )
    if table.row_count:
        stdout.print(table)
    for error in report.errors:
        for issue in error.issues:
            stderr.print(
                Text(
                    f"claim {error.claim_id or '(envelope)'}: {issue.message} ({issue.location})",
                    style="red",
                ),
                soft_wrap=True,
            )
    stdout.print(
        f"{summary['claims']} claim(s), {summary['lines']} line(s): {summary['clean_lines']} "
        f"clean, {summary['severities']['error']} error(s), {summary['severities']['warning']} "
        f"warning(s), {summary['fixable']} fixable automatically, "
        f"{summary['unreadable_claims']} unreadable.",
        soft_wrap=True,
    )


def _csv(report: ScrubReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in finding_rows(report):
        writer.writerow(row)
    return out.getvalue()


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
