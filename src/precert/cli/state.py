"""What every command shares: the settings built once by the root callback, --debug, the context."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from precert.config import Settings
from precert.services.context import Context, build_context


@dataclass
class State:
    settings: Settings
    debug: bool = False
    _context: Context | None = field(default=None, repr=False)

    def context(self) -> Context:
        """The services context, built on first use (commands like --help never touch the DB)."""
        if self._context is None:
            self._context = build_context(self.settings)
        return self._context


def state_of(ctx: typer.Context) -> State:
    state = ctx.find_object(State)
    if state is None:  # only when a command is invoked without the root callback
        raise RuntimeError("precert commands run under the root `precert` app")
    return state
