"""`precert serve`: the web app (check page, JSON API, OpenAPI at /docs) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from precert.cli.console import stderr
from precert.cli.state import state_of


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (PRECERT_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (PRECERT_PORT).", min=1, max=65535),
    ] = None,
) -> None:
    """Serve the web app and the API until interrupted (Ctrl-C)."""
    import uvicorn

    # Imported here so that other commands do not pay for loading the web stack.
    from precert.web.app import create_app

    settings = state_of(ctx).settings
    app = create_app(settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    stderr.print(f"precert serving on http://{bind_host}:{bind_port} (Ctrl-C stops)")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level.lower())
