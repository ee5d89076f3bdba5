"""Rich renderings of answers for the terminal: the requirements table and the reasons under it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from precert.domain.requirements import Requirement
from precert.services.payers import describe_channel, describe_reviews, describe_turnaround

DECISION_STYLE: dict[str, str] = {
    "required": "bold red",
    "notification": "bold yellow",
    "conditional": "bold magenta",
    "not_required": "bold green",
    "unknown": "bold cyan",
    "invalid": "bold red reverse",
}


def decision_text(decision: str) -> Text:
    return Text(decision, style=DECISION_STYLE.get(decision, ""))


def process_text(process: Mapping[str, str]) -> str:
    """'precertification (coverage and medical necessity)', and the fact it hangs on if any."""
    text = f"{process['term']} ({describe_reviews(process['reviews'])})"
    if process.get("condition"):
        text += f", depending on {process['condition']}"
    return text


def processes_text(req: Requirement) -> str:
    return "\n".join(process_text(p) for p in req.processes) or "-"


def channels_text(req: Requirement) -> str:
    return "\n".join(describe_channel(c) for c in req.channels) or "-"


def turnaround_text(req: Requirement) -> str:
    return describe_turnaround(req.turnaround).replace(", ", "\n") or "-"


def requirements_table(requirements: Sequence[Requirement]) -> Table:
    """One row per code: code, decision, processes, channels (in order), turnaround."""
    table = Table(box=box.SIMPLE_HEAVY)
    for heading in ("code", "decision", "processes", "channels", "turnaround"):
        table.add_column(heading, overflow="fold")
    for req in requirements:
        table.add_row(
            req.code,
            decision_text(str(req.decision)),
            processes_text(req),
            channels_text(req),
            turnaround_text(req),
        )
    return table


def reasons_block(requirements: Sequence[Requirement]) -> Group:
    """Under the table, for each code: why (every reason) and the documents to gather."""
    parts: list[Table | Text] = []
    for req in requirements:
        head = Text(f"{req.code} ", style="bold")
        head.append_text(decision_text(str(req.decision)))
        head.append(f" on {req.date.isoformat()} for payer {req.payer_id}")
        parts.append(head)
        # A grid gives each wrapped sentence a hanging indent under its bullet.
        lines = Table.grid(padding=(0, 1))
        lines.add_column(justify="right", min_width=3)
        lines.add_column()
        for reason in req.reasons:
            lines.add_row("-", reason)
        if req.documents:
            lines.add_row("", f"Documents: {'; '.join(req.documents)}")
        parts.append(lines)
    return Group(*parts)


def print_requirements(console: Console, requirements: Sequence[Requirement]) -> None:
    console.print(requirements_table(requirements))
    console.print(reasons_block(requirements))
