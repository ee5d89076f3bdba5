"""`precert payer-sim [--host H] --port P [--rules FILE] [--state DIR]`: the payer simulator
(precert.payer_sim) under uvicorn until interrupted; one access-log line per request."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of


def payer_sim(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            metavar="FILE",
            help="Adjudication rules (YAML); default: the shipped rules for the demo payers.",
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="DIR",
            help="Where submissions, subscriptions and the "
            "received log are kept (default: PRECERT_DATA_DIR/payer-sim).",
        ),
    ] = None,
) -> None:
    """Answer X12 278 and 270 (POST /x12) and Da Vinci PAS $submit / $inquire, and notify
    Subscriptions, by the rules."""
    import uvicorn

    from precert.payer_sim.app import create_sim_app
    from precert.payer_sim.rules import load_rules

    loaded = load_rules(rules)  # a bad rules file stops here with each problem named
    where = state_dir or state_of(ctx).settings.data_dir / "payer-sim"
    app = create_sim_app(loaded, where)
    stderr.print(
        f"payer simulator on http://{host}:{port}/fhir ({len(loaded.rules)} rules, "
        f"state in {where}; Ctrl-C stops)",
        soft_wrap=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is stopped
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=True)
