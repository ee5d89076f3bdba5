"""`precert x12`: read an X12 file's envelopes (parse, validate) and answer it with a 999 (ack).

Errors in the file are printed one per line as "location: message" on stderr with exit 1; an
unreadable command line (no such file) is exit 2. `ack` exits 0 even when its 999 rejects: the
999 is the answer. Output goes to stdout unwrapped, since it is data (JSON or X12).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from precert.channels.x12.ack999 import acknowledge
from precert.channels.x12.envelope import ControlCounter, X12Document, read
from precert.channels.x12.pretty import document_view
from precert.cli.console import FAILURE_EXIT, stderr
from precert.errors import InvalidInput, Issue

app = typer.Typer(help="X12 5010 files: envelopes, validation and 999 acknowledgments.")

FileArgument = Annotated[
    Path,
    typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True, help="An X12 file."),
]


@app.command("parse")
def parse_command(
    file: FileArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structure as JSON.")] = False,
) -> None:
    """Print the interchanges, groups, sets and segments of FILE; exit 1 with located errors if
    its envelopes are broken."""
    document = _read_or_exit(file)
    if as_json:
        sys.stdout.write(json.dumps(document_view(document), indent=2) + "\n")
    else:
        _summary(document)
    if document.findings:
        _print_issues(document.issues)
        raise typer.Exit(FAILURE_EXIT)


@app.command("validate")
def validate_command(file: FileArgument) -> None:
    """Check FILE's envelopes (ISA/IEA, GS/GE, ST/SE: control numbers, counts, trailers,
    delimiters); exit 0 valid, 1 invalid with each error located. Transaction-specific
    validation (278, 270/271 loops, codes, NPIs) is not done yet: it comes with issue 4's next
    part."""
    document = _read_or_exit(file)
    if document.findings:
        _print_issues(document.issues)
        raise typer.Exit(FAILURE_EXIT)
    _summary(document)
    sys.stdout.write("Envelopes are valid (transaction contents are not checked yet).\n")


@app.command("ack")
def ack_command(
    file: FileArgument,
    control_start: Annotated[
        int, typer.Option("--control-start", min=1, help="First control number to use.")
    ] = 1,
) -> None:
    """Print the 999 acknowledgment for every functional group in FILE (exit 0 even when the
    999 rejects them; exit 1 when FILE has no readable ISA or no functional group to answer)."""
    document = _read_or_exit(file)
    try:
        text = acknowledge(
            document, at=dt.datetime.now(dt.UTC), next_control=ControlCounter(control_start)
        )
    except InvalidInput as error:  # no functional group: nothing a 999 could answer
        _print_issues(error.issues)
        raise typer.Exit(FAILURE_EXIT) from None
    sys.stdout.write(text)


def _read_or_exit(file: Path) -> X12Document:
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # X12 is ASCII; keep going so errors can be located
    try:
        return read(text)
    except InvalidInput as error:
        _print_issues(error.issues or [Issue("x12", error.message, "")])
        raise typer.Exit(FAILURE_EXIT) from None


def _print_issues(issues: list[Issue]) -> None:
    for found in issues:
        where = f"{found.location}: " if found.location else ""
        stderr.print(f"{where}{found.message}", soft_wrap=True, highlight=False)


def _summary(document: X12Document) -> None:
    for interchange in document.interchanges:
        sys.stdout.write(
            f"Interchange {interchange.control_number} from {interchange.element(6)} to "
            f"{interchange.element(8)}: {len(interchange.groups)} group(s)\n"
        )
        for group in interchange.groups:
            sys.stdout.write(
                f"  Group {group.control_number} {group.functional_id} {group.version}: "
                f"{len(group.sets)} set(s)\n"
            )
            for transaction in group.sets:
                sys.stdout.write(
                    f"    Set {transaction.control_number} {transaction.code} "
                    f"{transaction.implementation}: {len(transaction.segments)} segments\n"
                )
