"""`precert payers`: list the configured payers, show one, import a pack, print its checklist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from precert.cli.console import USAGE_EXIT, print_error, stderr, stdout
from precert.cli.files import check_writable, write_bytes_atomically
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.services.catalog import import_pack
from precert.services.payers import (
    Checklist,
    ChecklistSection,
    HowToAsk,
    checklist_pdf,
    describe_channel,
    list_payers,
    numbered,
    payer_checklist,
    show_payer,
)

app = typer.Typer(help="The payers precert knows: their rule packs and checklists.")


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every configured payer: shipped with precert or imported here."""
    table = Table(box=box.SIMPLE_HEAVY)
    for heading in ("id", "name", "plans", "version", "rules", "origin", "synthetic"):
        table.add_column(heading, overflow="fold")
    for payer in list_payers(state_of(ctx).context()):
        table.add_row(
            payer.id,
            payer.name,
            ", ".join(payer.plans),
            payer.version,
            str(payer.rules),
            payer.origin,
            Text("synthetic", style="yellow") if payer.synthetic else "",
        )
    # Piped into a file or another program, a payer list wrapped at 80 columns breaks ids and
    # names apart; a terminal keeps its own width.
    piped_width = None if stdout.is_terminal else 140
    Console(markup=False, emoji=False, highlight=False, width=piped_width).print(table)


@app.command("show")
def show_command(
    ctx: typer.Context, payer_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """One payer's pack and all of its rules."""
    details = show_payer(state_of(ctx).context(), payer_id)
    pack = details.pack
    facts = [
        ("payer", f"{pack.name} ({pack.id})"),
        ("version", pack.version + (f", published {pack.published}" if pack.published else "")),
        ("plans", ", ".join(pack.plans)),
        ("origin", pack.origin + (", SYNTHETIC demo data" if pack.synthetic else "")),
        ("source", pack.source or "-"),
        ("codes on no list", details.not_listed),
        ("contact", "; ".join(describe_channel(c) for c in pack.contact) or "-"),
    ]
    if pack.x12_payer_ids:
        facts.append(("X12 payer ids", ", ".join(pack.x12_payer_ids)))
    summary = Table.grid(padding=(0, 2))
    for label, value in facts:
        summary.add_row(Text(label, style="bold"), value)
    rules = Table(box=box.SIMPLE_HEAVY, title=f"{len(details.rules)} rules")
    for heading in ("id", "name", "codes", "where", "when", "outcome", "term", "reviews"):
        rules.add_column(heading, overflow="fold")
    for rule in details.rules:
        rules.add_row(
            rule.id,
            rule.name,
            rule.codes,
            rule.where,
            rule.when,
            rule.outcome,
            rule.term,
            rule.reviews,
        )
    stdout.print(Group(summary, rules))


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A payer pack (YAML).")],
) -> None:
    """Import a payer pack; it replaces the pack in force for its payer id."""
    state = state_of(ctx)
    try:
        result = import_pack(state.context(), file)
    except InvalidInput as error:
        if state.debug:
            raise
        print_error(error)
        stderr.print(Text(f"{file}: nothing was imported.", style="bold red"), soft_wrap=True)
        raise typer.Exit(USAGE_EXIT) from None
    pack = result.pack
    what = f"{pack.id} version {pack.version} ({len(pack.rules)} rules)"
    if result.unchanged:
        line = f"Unchanged: {what} is already in force."
    elif result.replaced_version is None:
        line = f"Imported {what}: new payer."
    else:
        line = f"Imported {what}: replaced version {result.replaced_version}."
    stdout.print(line, soft_wrap=True)


@app.command("checklist")
def checklist_command(
    ctx: typer.Context,
    payer_id: Annotated[str, typer.Argument(metavar="ID")],
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Write the checklist as a PDF.", dir_okay=False)
    ] = None,
) -> None:
    """The per-payer reference to pin on the wall: what needs approval and how to ask."""
    context = state_of(ctx).context()
    if pdf is None:
        stdout.print(checklist_view(payer_checklist(context, payer_id)))
        return
    check_writable(pdf, "--pdf")
    checklist, data = checklist_pdf(context, payer_id)
    write_bytes_atomically(pdf, data)
    items = sum(len(section.items) for section in checklist.sections)
    stdout.print(f"Wrote the {checklist.payer_name} checklist ({items} services) to {pdf}.")


def checklist_view(checklist: Checklist) -> Group:
    parts: list[Text | Table] = [
        Text(f"{checklist.payer_name}: prior authorization checklist", style="bold"),
        Text(
            f"payer id {checklist.payer_id}, pack version {checklist.version}, "
            f"as of {checklist.as_of.isoformat()}"
        ),
    ]
    if checklist.synthetic:
        parts.append(Text("SYNTHETIC demo pack: not a real payer's rules.", style="bold yellow"))
    for section in checklist.sections:
        parts.append(Text(f"\n{section.title}", style="bold"))
        parts.append(Text(how_line(section.how)))
        parts.append(_section_table(section))
    parts.append(Text(f"Codes on no list: {checklist.not_listed}"))
    if checklist.contact:
        parts.append(Text(f"Payer contact: {'; '.join(checklist.contact)}"))
    return Group(*parts)


def how_line(how: HowToAsk) -> str:
    lines = [f"Submit (in order): {numbered(how.submit, sep='  ')}"]
    if how.turnaround:
        lines.append(f"Turnaround: {how.turnaround}")
    if how.documents:
        lines.append(f"Documents: {'; '.join(how.documents)}")
    return "\n".join(lines)


def _section_table(section: ChecklistSection) -> Table:
    table = Table(box=box.SIMPLE_HEAVY)
    for heading in ("service", "codes", "where / when"):
        table.add_column(heading, overflow="fold")
    for item in section.items:
        table.add_row(item.service, item.codes, item.where_when)
    return table
