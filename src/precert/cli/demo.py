"""`precert demo load [--org NAME]`: the demo organization, its users and a realistic queue of
synthetic requests (services.demo), then how to sign in. Loading twice adds nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from precert.cli.console import stdout
from precert.cli.state import state_of
from precert.services.demo import DEMO_ORG, DEMO_PASSWORD, TOTP_USER, USERS, load_demo

app = typer.Typer(help="Demo data for trying precert (refused in production).")


@app.command("load")
def load_command(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="The demo organization's name.")] = DEMO_ORG,
) -> None:
    """Create the demo organization, users and about forty synthetic requests (idempotent)."""
    state = state_of(ctx)
    result = load_demo(state.context(), org=org)
    if result.created_requests:
        stdout.print(
            f"Demo data loaded into {result.organization!r}: {result.created_requests} "
            f"synthetic requests, {result.needing_attention} needing attention.",
            soft_wrap=True,
        )
    else:
        stdout.print(
            f"Demo data already loaded in {result.organization!r} "
            f"({result.existing_requests} requests); nothing added.",
            soft_wrap=True,
        )
    settings = state.settings
    if result.claims_scrubbed or result.recovery_items:
        stdout.print(
            f"Billing: {result.claims_scrubbed} claims scrubbed against the approvals (Claims "
            f"page), {result.recovery_items} denials turned into recovery work (Denials page).",
            soft_wrap=True,
        )
    stdout.print(f"Sign in at http://{settings.host}:{settings.port}/login as:", soft_wrap=True)
    for email, role in USERS:
        stdout.print(f"  {email:<26} {role:<11} password {DEMO_PASSWORD}", soft_wrap=True)
    if result.totp_uri is not None:
        # Shown once: the secret is stored encrypted and never printed again.
        stdout.print(
            f"{TOTP_USER} also needs an authenticator code. Add this to an authenticator app "
            f"(shown only now):\n  {result.totp_uri}\n"
            f"  The code right now is {result.totp_code} (it changes every 30 seconds).",
            soft_wrap=True,
        )
    else:
        stdout.print(
            f"{TOTP_USER} signs in with the authenticator app set up when the demo was first "
            "loaded; the others need no code.",
            soft_wrap=True,
        )
