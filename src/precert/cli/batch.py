"""`precert check --file`: run a services CSV through services.batch and render what comes back.

Results stream straight to their destination (a results file written atomically, JSON on stdout,
or terminal tables a page at a time); nothing holds the whole batch. Row errors go to stderr.
Exit status: 0 every row answered, 1 some rows invalid (their results still written).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO

from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from precert.cli.console import stderr, stdout
from precert.cli.files import atomic_text, check_writable
from precert.cli.render import decision_text, processes_text
from precert.errors import InvalidInput
from precert.services.batch import (
    BatchFile,
    RowResult,
    answer_batch,
    open_batch,
    output_columns,
    result_record,
)
from precert.services.context import Context

OUTPUT_SUFFIXES = (".csv", ".json")
PAGE_ROWS = 100  # terminal tables are printed a page at a time
ERRORS_SHOWN_WITH_OUT = 50  # the results file lists them all


def run_batch(ctx: Context, file: Path, *, out: Path | None, as_json: bool) -> int:
    """Check every row of `file`; return the exit status."""
    if out is not None:
        _check_out(out, file, as_json)
    batch = open_batch(file)
    counts = _Counts()
    with _progress(batch) as progress:
        results = counts.watch(answer_batch(ctx, batch), progress, shown=_error_limit(out))
        if out is not None:
            with atomic_text(out) as handle:
                if out.suffix.lower() == ".json":
                    _write_json(handle, results)
                else:
                    _write_csv(handle, batch, results)
        elif as_json:
            _write_json(sys.stdout, results)
        else:
            _print_tables(results)
    _summary(counts, out)
    return 1 if counts.invalid else 0


class _Counts:
    def __init__(self) -> None:
        self.answered = 0
        self.invalid = 0

    def watch(
        self, results: Iterator[RowResult], progress: Progress | None, *, shown: int | None
    ) -> Iterator[RowResult]:
        """Count rows, report row errors on stderr and move the progress bar as rows go by."""
        task = progress.tasks[0].id if progress else None
        for result in results:
            if result.requirement is None:
                self.invalid += 1
                if shown is None or self.invalid <= shown:
                    for error in result.errors:
                        _say(progress, Text(error.message, style="red"))
            else:
                self.answered += 1
            if progress is not None and task is not None:
                progress.advance(task)
            yield result


def _say(progress: Progress | None, text: Text) -> None:
    # Through the progress bar's console while it is live, so lines and bar do not tangle.
    (progress.console if progress else stderr).print(text, soft_wrap=True)


def _progress(batch: BatchFile) -> AbstractContextManager[Progress | None]:
    if not stderr.is_terminal:
        return nullcontext(None)
    progress = Progress(
        TextColumn("checking {task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    progress.add_task("rows", total=batch.total_rows, name=batch.path.name)
    return progress


def _error_limit(out: Path | None) -> int | None:
    return ERRORS_SHOWN_WITH_OUT if out is not None else None


def _check_out(out: Path, file: Path, as_json: bool) -> None:
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidInput.field(
            "--out", f"--out: {str(out)!r} must end in .csv or .json (the results format)"
        )
    if as_json and out.suffix.lower() != ".json":
        raise InvalidInput.field(
            "--json", "--json: with --out the file name decides the format; use results.json"
        )
    if out.resolve() == file.resolve():
        raise InvalidInput.field("--out", "--out: would overwrite the input file; name another")
    check_writable(out, "--out")


def _write_csv(handle: IO[str], batch: BatchFile, results: Iterator[RowResult]) -> None:
    writer = csv.DictWriter(handle, fieldnames=output_columns(batch), lineterminator="\r\n")
    writer.writeheader()
    for result in results:
        writer.writerow(result_record(result))


def _write_json(handle: IO[str], results: Iterator[RowResult]) -> None:
    """`{"services": [...], "errors": [...]}`, services written as they come, one per line."""
    errors: list[dict[str, object]] = []
    handle.write('{"services": [')
    first = True
    for result in results:
        if result.requirement is None:
            errors.extend(e.as_dict() for e in result.errors)
            continue
        handle.write("\n" if first else ",\n")
        handle.write(json.dumps({"row": result.row, **result.requirement.as_dict()}))
        first = False
    handle.write('\n], "errors": [')
    handle.write(",".join("\n" + json.dumps(error) for error in errors))
    handle.write("\n]}\n")


def _print_tables(results: Iterator[RowResult]) -> None:
    page: list[RowResult] = []
    for result in results:
        page.append(result)
        if len(page) == PAGE_ROWS:
            stdout.print(_table(page))
            page = []
    if page:
        stdout.print(_table(page))


def _table(page: list[RowResult]) -> Table:
    table = Table(box=box.SIMPLE_HEAVY)
    for heading in ("row", "payer", "code", "decision", "processes", "reasons"):
        table.add_column(heading, overflow="fold")
    for result in page:
        req = result.requirement
        values = result.values
        if req is None:
            errors = "\n".join(e.message for e in result.errors)
            table.add_row(
                str(result.row),
                values.get("payer", ""),
                values.get("code", ""),
                decision_text("invalid"),
                "",
                errors,
            )
            continue
        table.add_row(
            str(result.row),
            req.payer_id,
            req.code,
            decision_text(str(req.decision)),
            processes_text(req),
            "\n".join(req.reasons),
        )
    return table


def _summary(counts: _Counts, out: Path | None) -> None:
    total = counts.answered + counts.invalid
    rows = "row" if total == 1 else "rows"
    line = f"Checked {total} {rows}: {counts.answered} answered, {counts.invalid} invalid."
    if out is not None:
        line += f" Results written to {out}."
        if counts.invalid > ERRORS_SHOWN_WITH_OUT:
            line += f" (first {ERRORS_SHOWN_WITH_OUT} errors shown; all are in the file)"
    stderr.print(Text(line, style="bold" if not counts.invalid else "bold yellow"), soft_wrap=True)
