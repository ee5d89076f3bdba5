"""Where the CLI writes and how errors read: answers on stdout, messages and progress on stderr.

Markup and emoji codes are off: payer names, rule ids ("[acme-mri]") and input values are data,
never Rich markup. Styling is applied with `Text` objects instead.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from precert.errors import InvalidInput, NotFound, PrecertError

stdout = Console(markup=False, emoji=False, highlight=False)
stderr = Console(stderr=True, markup=False, emoji=False, highlight=False)

USAGE_EXIT = 2  # bad input, unknown payer, unusable file: the person can fix the command
FAILURE_EXIT = 1


def exit_code_for(error: PrecertError) -> int:
    return USAGE_EXIT if isinstance(error, InvalidInput | NotFound) else FAILURE_EXIT


def error_lines(error: PrecertError) -> list[str]:
    """One line per issue (each names its field and value), repeated messages said once."""
    lines = list(dict.fromkeys(issue.message for issue in error.issues))
    return lines or [error.message]


def print_error(error: PrecertError) -> None:
    for line in error_lines(error):
        stderr.print(Text(line, style="red"), soft_wrap=True)
