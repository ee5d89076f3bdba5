"""`precert portal-sim [--host H] --port P [--variant] [--state DIR] [--session-warning S]`: mock
payer portal (a), the modern wizard (precert.portal_sim.modern), under uvicorn until interrupted.
It signs in the demo user with the demo authenticator secret (both printed at start: synthetic
accounts only, for pointing a vault credential at)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of


def portal_sim(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    variant: Annotated[
        bool,
        typer.Option(
            "--variant", help="Serve the variant: same labels, other ids, classes, field order."
        ),
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="DIR",
            help="Where sessions and submitted requests are kept "
            "(default: PRECERT_DATA_DIR/portal-sim[-variant]).",
        ),
    ] = None,
    session_warning: Annotated[
        float | None,
        typer.Option(
            "--session-warning",
            metavar="SECONDS",
            min=1,
            help="Show 'Your session is about to expire' after this long idle (default: never).",
        ),
    ] = None,
) -> None:
    """Serve the mock modern-wizard payer portal that the shipped modern-wizard SOPs drive."""
    import uvicorn

    from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, DEMO_USERS, create_modern_portal

    default = "portal-sim-variant" if variant else "portal-sim"
    where = state_dir or state_of(ctx).settings.data_dir / default
    app = create_modern_portal(where, variant=variant, session_warning_seconds=session_warning)
    users = ", ".join(DEMO_USERS)
    stderr.print(
        f"mock portal (modern wizard{', variant' if variant else ''}) on http://{host}:{port}/login"
        f" (demo users: {users}, passwords in docs/portal-sim.md; authenticator secret "
        f"{DEMO_TOTP_SECRET}; state in {where}; Ctrl-C stops)",
        soft_wrap=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is stopped
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=True)
