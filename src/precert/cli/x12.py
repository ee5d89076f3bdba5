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
from precert.channels.x12.implementation import Implementation, check_document
from precert.channels.x12.pretty import document_view
from precert.channels.x12.tx271 import read_271_document, reading_view
from precert.channels.x12.tx278 import build_278
from precert.channels.x12.x215 import X215
from precert.channels.x12.x217 import X217, check_situational
from precert.channels.x12.x279 import X270, X271
from precert.cli.console import FAILURE_EXIT, stderr
from precert.cli.state import state_of
from precert.errors import InvalidInput, Issue

app = typer.Typer(help="X12 5010 files: envelopes, validation and 999 acknowledgments.")

# Transaction rules `validate` applies, by ST01 (sets of other codes get envelope checks only).
IMPLEMENTATIONS: list[Implementation] = [X217, X215, X270, X271]

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
    delimiters) and the rules of each transaction precert knows (278: loops, required segments
    and elements, codes, lengths, NPI check digits); exit 0 valid, 1 invalid with each error
    located."""
    document = _read_or_exit(file)
    check_document(document, IMPLEMENTATIONS)
    check_situational(document)  # the 278 rules that span segments (UM02 3/4/S needs REF*BB)
    if document.findings:
        _print_issues(document.issues)
        raise typer.Exit(FAILURE_EXIT)
    _summary(document)
    known = ", ".join(i.code for i in IMPLEMENTATIONS)
    sys.stdout.write(f"Envelopes are valid; transaction rules checked for {known}.\n")


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
    check_document(document, IMPLEMENTATIONS)  # a 278 that breaks its rules gets IK3/IK4
    check_situational(document)
    try:
        text = acknowledge(
            document, at=dt.datetime.now(dt.UTC), next_control=ControlCounter(control_start)
        )
    except InvalidInput as error:  # no functional group: nothing a 999 could answer
        _print_issues(error.issues)
        raise typer.Exit(FAILURE_EXIT) from None
    sys.stdout.write(text)


@app.command("read-271")
def read_271_command(
    file: FileArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Print the coverage check(s) of a 271 eligibility response: active coverage, plan and
    dates, and per service type whether it is covered and needs authorization (EB11). Envelope
    problems are printed with their location and exit 1, after the content read leniently."""
    reading = read_271_document(_read_or_exit(file), lenient=True)
    if as_json:
        sys.stdout.write(json.dumps(reading_view(reading), indent=2) + "\n")
    else:
        for check in reading.checks:
            state = {True: "active", False: "inactive", None: "not stated"}[check.active]
            dates = " to ".join(
                d.isoformat() for d in (check.plan_begin, check.plan_end) if d is not None
            )
            sys.stdout.write(
                f"{check.member.capitalize()} coverage with {check.payer_name or 'the payer'}: "
                f"{state}; plan {check.plan or '(not named)'}"
                f"{f' from {dates}' if dates else ''}\n"
            )
            for service_type in check.service_types:
                coverage = check.for_service(service_type)
                covered = {True: "covered", False: "not covered", None: "coverage not stated"}
                sys.stdout.write(
                    f"  service type {service_type}: {covered[coverage.covered]}, authorization "
                    f"{coverage.authorization.value.replace('_', ' ')}\n"
                )
        for reject in reading.rejects:
            sys.stdout.write(f"Rejected: {reject.issue.message} ({reject.issue.location})\n")
    if reading.issues:
        _print_issues(list(reading.issues))
        raise typer.Exit(FAILURE_EXIT)


@app.command("build-278")
def build_278_command(
    ctx: typer.Context,
    request: Annotated[
        Path,
        typer.Option(
            "--request",
            metavar="FILE.json",
            exists=True,
            dir_okay=False,
            help="A request body as sent to the work-queue API.",
        ),
    ],
    request_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="The request id the trace number derives from (default: the file's content "
            "hash, so the same file always gives the same trace number).",
        ),
    ] = None,
    attempt: Annotated[int, typer.Option("--attempt", min=1, help="Submission attempt.")] = 1,
    payer_name: Annotated[str | None, typer.Option("--payer-name", help="NM103 of 2010A.")] = None,
) -> None:
    """Print the X12 278 request (005010X217) for a request body; it passes `validate`."""
    import hashlib

    from precert.channels.x12.tx278_read import check_278
    from precert.services.request_payloads import parse_request

    raw = request.read_bytes()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput.field(
            request.name, f"{request.name}: not valid JSON ({error}); fix the file and try again."
        ) from None
    context = state_of(ctx).context()
    now = context.now()
    parsed = parse_request(context, body, organization_id="cli", at=now, requirement=())
    rid = request_id or "cli-" + hashlib.sha256(raw).hexdigest()[:16]
    text = build_278(
        parsed.build(rid),
        at=now,
        next_control=ControlCounter(),
        attempt=attempt,
        payer_name=payer_name,
    )
    document = check_278(text)  # what we send must pass our own rules
    if document.findings:
        _print_issues(document.issues)
        raise typer.Exit(FAILURE_EXIT)
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
