"""`precert check`: is approval required? One encounter from the options, or a CSV batch (--file).

The command only gathers raw values and renders; parsing and rules live in
services.requirements.check_services, shared with the batch, the API and the web page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from precert.cli.batch import run_batch
from precert.cli.console import stdout
from precert.cli.render import print_requirements
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.services.requirements import check_services

# The option a person typed, for each service field, so messages name what they can fix.
FLAG_OF: dict[str, str] = {
    "payer": "--payer",
    "plan": "--plan",
    "code": "--code",
    "pos": "--pos",
    "setting": "--setting",
    "state": "--state",
    "date": "--date",
    "units": "--units",
    "diagnoses": "--dx",
    "network": "--network",
    "age": "--age",
    "encounter": "--code",
}
# Every --code of one command is one encounter, so pairing rules (J0585 with 64612) see each other.
ENCOUNTER = "command-line"

Opt = typer.Option


def check(
    ctx: typer.Context,
    payer: Annotated[
        str | None, Opt("--payer", help="Payer id (see `precert payers list`).")
    ] = None,
    plan: Annotated[str | None, Opt("--plan", help="Plan type, e.g. commercial.")] = None,
    code: Annotated[
        list[str] | None, Opt("--code", help="CPT or HCPCS code; repeat for an encounter.")
    ] = None,
    pos: Annotated[str | None, Opt("--pos", help="CMS place of service, e.g. 22.")] = None,
    setting: Annotated[str | None, Opt("--setting", help="Care setting, e.g. asc.")] = None,
    us_state: Annotated[str | None, Opt("--state", help="Two-letter state, e.g. TX.")] = None,
    date: Annotated[
        str | None, Opt("--date", help="Date of service YYYY-MM-DD (default: today).")
    ] = None,
    units: Annotated[str | None, Opt("--units", help="Units or visits this year.")] = None,
    dx: Annotated[list[str] | None, Opt("--dx", help="ICD-10-CM diagnosis; repeatable.")] = None,
    network: Annotated[str | None, Opt("--network", help="in or out (of network).")] = None,
    age: Annotated[str | None, Opt("--age", help="Patient age in years.")] = None,
    as_json: Annotated[
        bool, Opt("--json", help="Print one JSON object instead of a table.")
    ] = False,
    file: Annotated[
        Path | None, Opt("--file", help="Check every row of a services CSV.", dir_okay=False)
    ] = None,
    out: Annotated[
        Path | None, Opt("--out", help="With --file: write results.csv or results.json.")
    ] = None,
) -> None:
    """Is approval required? Answers each code with its decision, the process and the reasons."""
    state = state_of(ctx)
    one_service = {
        "payer": payer,
        "plan": plan,
        "pos": pos,
        "setting": setting,
        "state": us_state,
        "date": date,
        "units": units,
        "diagnoses": ";".join(dx) if dx else None,
        "network": network,
        "age": age,
    }
    if file is not None:
        given = [FLAG_OF[name] for name, value in one_service.items() if value]
        _refuse_single_options([*given, *(["--code"] if code else [])])
        raise typer.Exit(run_batch(state.context(), file, out=out, as_json=as_json))
    if out is not None:
        raise InvalidInput.field("--out", "--out: results files are for batches; add --file")
    if not code:
        raise InvalidInput.field(
            "--code", "--code: give at least one --code (or --file services.csv for a batch)"
        )
    items = [{**one_service, "code": c, "encounter": ENCOUNTER} for c in code]
    requirements = check_services(state.context(), items, locate=_flag)
    if as_json:
        print(json.dumps({"services": [r.as_dict() for r in requirements]}, indent=2))
    else:
        print_requirements(stdout, requirements)


def _refuse_single_options(given: list[str]) -> None:
    if given:
        raise InvalidInput.field(
            given[0],
            f"{given[0]}: a batch takes every value from the CSV; remove "
            f"{', '.join(given)} or put them in columns",
        )


def _flag(index: int, name: str) -> str:
    return FLAG_OF.get(name, name)
