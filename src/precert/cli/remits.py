"""`precert remits import FILE.835 --org NAME [--json]`: read an 835 remittance, show what the
payer paid and denied, and turn its authorization denials into recovery work
(services.recovery). Importing the same file again creates nothing new and shows the same items.

Exit status: 0 read cleanly, 1 the file had errors (located; every readable claim was still
imported), 2 usage errors (no such file, unknown organization, nothing readable as an 835).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from precert.cli.console import FAILURE_EXIT, USAGE_EXIT, stderr, stdout
from precert.cli.state import state_of
from precert.services.authorization_records import organization_actor
from precert.services.recovery import ImportedRemit, import_remittance

app = typer.Typer(help="835 remittances: import them and turn denials into recovery work.")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.835", help="An 835 remittance file.")],
    org: Annotated[
        str, typer.Option("--org", metavar="NAME", help="The organization the claims belong to.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the remittances and recovery items as JSON.")
    ] = False,
) -> None:
    """Read the 835 and create a recovery item (corrected claim, retro-authorization, appeal or
    review, with its deadline) for every authorization denial."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as problem:
        stderr.print(Text(f"{file}: cannot read the file: {problem.strerror}.", style="red"))
        raise typer.Exit(USAGE_EXIT) from None
    context = state_of(ctx).context()
    result = import_remittance(context, organization_actor(context, org), text, file.name)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        _print(result)
    for warning in result.read.warnings:
        stderr.print(Text(f"{warning.location}: {warning.message}", style="yellow"), soft_wrap=True)
    for error in result.read.errors:
        stderr.print(Text(f"{error.location}: {error.message}", style="red"), soft_wrap=True)
    if result.read.errors:
        raise typer.Exit(FAILURE_EXIT)


def _print(result: ImportedRemit) -> None:
    view = result.as_dict()
    info = view["file"]
    again = " (already imported: nothing new was created)" if result.already_imported else ""
    stdout.print(
        f"Remittance from {info['payer_name'] or info['payer_id']} paid "
        f"{info['payment_date'] or 'on an unknown date'}: {info['claims']} claim(s), "
        f"{info['denied']} denied, {info['authorization_related']} for authorization reasons; "
        f"charged {info['charged']}, paid {info['paid']}.{again}",
        soft_wrap=True,
    )
    for remittance in view["remittances"]:
        for claim in remittance["claims"]:
            stdout.print(_claim_line(claim), soft_wrap=True)
    items = view["recovery_items"]
    stdout.print(f"{len(items)} recovery item(s):", soft_wrap=True)
    for item in items:
        stdout.print(_item_line(item), soft_wrap=True)


def _claim_line(claim: dict[str, Any]) -> str:
    codes = ", ".join(
        f"{a['group']}-{a['reason']}" for line in claim["lines"] for a in line["adjustments"]
    )
    codes = codes or ", ".join(f"{a['group']}-{a['reason']}" for a in claim["adjustments"])
    return (
        f"  {claim['claim_id']}: {claim['status_text']}, charged {claim['charge']}, paid "
        f"{claim['paid']}, {claim['cause'].replace('_', ' ')}" + (f" ({codes})" if codes else "")
    )


def _item_line(item: dict[str, Any]) -> str:
    where = f" line {item['line']}" if item["line"] is not None else ""
    number = (
        f", authorization {item['authorization_number']}" if item["authorization_number"] else ""
    )
    return (
        f"  {item['action'].replace('_', ' ')} by {item['deadline'] or 'no deadline'}: claim "
        f"{item['claim_id']}{where} {item['code']}, {item['amount']} not paid{number} "
        f"({item['cause'].replace('_', ' ')}) [{item['id']}]"
    )
