"""`precert portal run FILE.md --input FILE.json --base-url URL`: run an SOP in Chromium.

Credentials come from the vault (`--org NAME`, `--credential NAME` maps every credential the SOP
names to that vault entry, leased for the run), or for a quick start from `--username` with the
password (and optionally a TOTP secret) on stdin. Prints {"outcome", "values", "steps"} as JSON
with --json, else one line per step and the outcome. Artifacts (screenshots) go under
PRECERT_DATA_DIR/portal-runs/<run id>.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyotp
import typer

from precert.channels.portal.sop import compile_sop, missing_inputs
from precert.cli.state import state_of
from precert.errors import InvalidInput
from precert.services import credentials as vault
from precert.services.context import Context

if TYPE_CHECKING:  # the runner pulls in Playwright: imported only when a run starts
    from precert.channels.portal.runner import RunResult


class _QuickCredentials:
    """One username/password (and TOTP secret) given on the command line, for any SOP name."""

    def __init__(self, username: str, password: str, totp_secret: str | None) -> None:
        self._pair = (username, password)
        self._totp = totp_secret
        if totp_secret:
            try:
                pyotp.TOTP(totp_secret).now()
            except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
                raise InvalidInput.field(
                    "--totp-secret-stdin", f"the TOTP secret is not usable base32 ({exc})"
                ) from None

    def login(self, name: str) -> tuple[str, str]:
        return self._pair

    def totp(self, name: str) -> str:
        if not self._totp:
            raise InvalidInput("this SOP needs an authenticator code: add --totp-secret-stdin")
        return pyotp.TOTP(self._totp).now()

    def email_code(self, name: str, sender: str) -> str:
        raise InvalidInput("email codes need the vault: use --org and --credential")


class _VaultCredentials:
    """The vault entry `credential` for every SOP credential name, under the run's lease."""

    def __init__(self, ctx: Context, organization_id: str, credential: str, holder: str) -> None:
        self._ctx, self._org, self._name, self._holder = ctx, organization_id, credential, holder
        self._since = dt.datetime.now(dt.UTC)  # only codes sent during this run count

    def login(self, name: str) -> tuple[str, str]:
        found = vault.login(self._ctx, self._org, self._name, holder=self._holder)
        password = found.password.get_secret_value() if found.password is not None else ""
        return found.username, password

    def totp(self, name: str) -> str:
        return vault.totp_code(self._ctx, self._org, self._name, dt.datetime.now(dt.UTC))

    def email_code(self, name: str, sender: str) -> str:
        return vault.email_code(self._ctx, self._org, self._name, sender, self._since, 120.0)


def run_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.md", help="An SOP workflow file.")],
    input_file: Annotated[Path, typer.Option("--input", help="The run's inputs (JSON object).")],
    base_url: Annotated[str, typer.Option("--base-url", help="The portal's address.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Organization owning the credential.")
    ] = None,
    credential: Annotated[
        str | None, typer.Option("--credential", help="Vault credential to log in with.")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="Quick start: log in as this user.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Quick start: read the password from stdin.")
    ] = False,
    totp_secret_stdin: Annotated[
        bool,
        typer.Option("--totp-secret-stdin", help="Quick start: a 2nd stdin line, TOTP secret."),
    ] = False,
    stop_before_submit: Annotated[
        bool, typer.Option("--stop-before-submit", help="Do everything but the submit click.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run FILE.md in Chromium against --base-url with the inputs in --input."""
    from precert.channels.portal.runner import run_workflow

    state = state_of(ctx)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("FILE.md", f"{file}: cannot read the SOP file ({exc})") from None
    workflow = compile_sop(text, source=str(file))
    inputs = _inputs(input_file)
    missing = missing_inputs(workflow, inputs)
    if missing:
        raise InvalidInput("; ".join(missing))
    run_id = uuid.uuid4().hex[:12]
    artifacts = Path(state.settings.data_dir) / "portal-runs" / run_id
    creds: Any
    organization_id = ""
    if credential:
        if not org:
            raise InvalidInput("--credential needs --org (the organization that owns it)")
        services = state.context()
        organization_id = vault.organization_id_named(services, org)
        if vault.lease(services, organization_id, credential, run_id) is None:
            raise InvalidInput(f"the credential {credential!r} is in use by another run")
        creds = _VaultCredentials(services, organization_id, credential, run_id)
    elif username:
        lines = sys.stdin.read().splitlines() if (password_stdin or totp_secret_stdin) else []
        password = lines[0] if password_stdin and lines else ""
        secret = lines[1 if password_stdin else 0] if totp_secret_stdin and lines else None
        creds = _QuickCredentials(username, password, secret)
    else:
        raise InvalidInput("name the login: --org and --credential, or --username --password-stdin")
    try:
        result = run_workflow(
            workflow, inputs, base_url=base_url, credentials=creds,
            stop_before_submit=stop_before_submit, artifacts_dir=artifacts,
        )  # fmt: skip
    finally:
        if credential and org:
            vault.release(state.context(), organization_id, credential, run_id)
    _print(result, as_json)


def _inputs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput.field("--input", f"{path}: cannot read a JSON object ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput.field("--input", f"{path}: the inputs must be a JSON object")
    return data


def _print(result: RunResult, as_json: bool) -> None:
    view = result.as_dict()
    if as_json:
        sys.stdout.write(
            json.dumps({k: view[k] for k in ("outcome", "values", "steps")}, indent=2) + "\n"
        )
        return
    for step in result.steps:
        sys.stdout.write(f"line {step.line}: {step.kind} {step.status} ({step.strategy or '-'})\n")
    sys.stdout.write(f"outcome: {result.outcome}\n")
