"""`precert portal`: payer-portal SOP workflows. `check` compiles an SOP and reports its errors.

`check FILE.md` prints one summary line (exit 0), or one `FILE:LINE: message` line per error on
stderr (exit 1); a file that cannot be read is exit 2. `--json` prints the compiled workflow.
Compiling is pure (channels.portal.sop): no browser, database or settings are touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from precert.channels.portal.sop import check_sop, required_inputs
from precert.channels.portal.workflow import Step, Workflow
from precert.cli.console import FAILURE_EXIT, USAGE_EXIT

app = typer.Typer(help="Payer-portal SOP workflows: check (compile) an SOP file.")


@app.callback()
def portal() -> None:
    """Payer-portal SOP workflows (a group even with one command, so `portal check` reads right)."""


@app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.md", help="An SOP workflow file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the compiled workflow as JSON.")
    ] = False,
) -> None:
    """Compile FILE.md: a one-line summary, or every error as FILE:LINE: message (exit 1)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        sys.stderr.write(f"{file}: cannot read the SOP file ({reason})\n")
        raise typer.Exit(USAGE_EXIT) from None
    workflow, errors = check_sop(text)
    if errors or workflow is None:
        for error in errors:
            sys.stderr.write(error.render(str(file)) + "\n")
        raise typer.Exit(FAILURE_EXIT)
    if as_json:
        sys.stdout.write(json.dumps(workflow.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(f"{file}: {summary(workflow)}\n")


def summary(workflow: Workflow) -> str:
    """One line: the workflow's name, portal, size, and the inputs a run must supply."""
    count = _count(workflow)
    needs = ", ".join(required_inputs(workflow)) or "none"
    return (
        f"ok: {workflow.header.name!r} for portal {workflow.header.portal!r}, "
        f"{_many(count, 'step')}, {_many(len(workflow.groups), 'group')}, "
        f"{_many(len(workflow.handlers), 'handler')}; inputs: {needs}"
    )


def _count(workflow: Workflow) -> int:
    def steps_in(steps: list[Step]) -> int:
        return sum(1 + steps_in(s.body) + steps_in(s.otherwise) for s in steps)

    return steps_in(workflow.steps) + sum(steps_in(g) for g in workflow.groups.values())


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
