"""`precert fhir build-pas --request FILE.json` and `precert fhir validate-pas FILE.json`: the Da
Vinci PAS request Bundle for a work-queue request body, and our PAS checks on any Bundle.

Exit status: validate-pas 0 valid, 1 with one located issue per line on stderr; 2 for a file that
cannot be read as JSON or a request body with problems (each named).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from precert.channels.fhir.pas_bundle import build_request_bundle
from precert.channels.fhir.pas_checks import check_request_bundle, require_valid_request
from precert.cli.console import FAILURE_EXIT, stderr, stdout
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.services.request_payloads import parse_request

app = typer.Typer(help="HL7 Da Vinci PAS: build and check prior authorization Bundles.")


@app.command("build-pas")
def build_pas(
    ctx: typer.Context,
    request: Annotated[
        Path,
        typer.Option(
            "--request", metavar="FILE.json", help="A request body as sent to the work-queue API."
        ),
    ],
    request_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="The request id the Bundle's identifiers derive from (default: the "
            "file's content hash, so the same file always gives the same Bundle).",
        ),
    ] = None,
) -> None:
    """Print the PAS request Bundle (Claim first) for a request body."""
    raw = _read(request)
    context = state_of(ctx).context()
    parsed = parse_request(
        context, _json(raw, request), organization_id="cli", at=context.now(), requirement=()
    )
    rid = request_id or "cli-" + hashlib.sha256(raw).hexdigest()[:16]
    bundle = build_request_bundle(parsed.build(rid))
    require_valid_request(bundle)  # what we send must pass our own checks
    sys.stdout.write(json.dumps(bundle, indent=2) + "\n")


@app.command("validate-pas")
def validate_pas(
    file: Annotated[Path, typer.Argument(metavar="FILE.json", help="A PAS request Bundle.")],
) -> None:
    """Check a PAS request Bundle against the profile rules precert relies on."""
    issues = check_request_bundle(_json(_read(file), file))
    if issues:
        for issue in issues:
            stderr.print(Text(issue.message, style="red"), soft_wrap=True)
        stderr.print(f"{file.name}: {len(issues)} problem(s).", soft_wrap=True)
        raise typer.Exit(FAILURE_EXIT)
    stdout.print(f"{file.name}: valid PAS request Bundle.", soft_wrap=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput.field(
            str(path), f"{path}: cannot read the file ({error.strerror}); check the path."
        ) from None


def _json(raw: bytes, path: Path) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput.field(
            path.name, f"{path.name}: not valid JSON ({error}); fix the file and try again."
        ) from None
