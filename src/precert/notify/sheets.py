"""Append rows to a Google Sheet through the Sheets API v4 `values:append`, as a service account.

Written on httpx rather than gspread: gspread builds every URL from the module constant
`https://sheets.googleapis.com/v4/spreadsheets` and authenticates through google-auth's own
session, so it cannot be pointed at another base URL (a local receiver in tests, a proxy) without
patching. Here the API base URL and the token endpoint (the key file's `token_uri`) are plain
values and the httpx client is passed in. Values go in `RAW`, so a cell is never run as a formula.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from precert.errors import Issue
from precert.notify.errors import NotifyError, error_for_status, error_for_transport

CHANNEL = "Google Sheets"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
DEFAULT_API_URL = "https://sheets.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = dt.timedelta(hours=1)  # Google's longest for a service-account assertion


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The parts of a Google service-account JSON key that sign a token request."""

    client_email: str
    private_key: str = field(repr=False)
    token_uri: str = DEFAULT_TOKEN_URI

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccount:
        """Read a key file downloaded from the Google Cloud console; errors name the file only."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                data["client_email"], data["private_key"], data.get("token_uri", DEFAULT_TOKEN_URI)
            )
        except (OSError, ValueError, KeyError, TypeError):
            message = (
                f"{path.name} is not a readable Google service-account key (JSON with "
                "client_email and private_key); check PRECERT_SHEETS_CREDENTIALS_FILE."
            )
            raise NotifyError(message, [Issue("sheets-credentials", message, CHANNEL)]) from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_assertion(account: ServiceAccount, now: dt.datetime) -> str:
    """The RS256 JWT a service account trades for an access token (RFC 7523)."""
    header = {"alg": "RS256", "typ": "JWT"}
    issued = int(now.timestamp())
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": issued,
        "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        message = "The service-account key is not an RSA key; download a new JSON key."
        raise NotifyError(message, [Issue("sheets-credentials", message, CHANNEL)])
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SheetsAppender:
    """Appends rows to one spreadsheet range, fetching an access token when it needs one."""

    client: httpx.Client
    account: ServiceAccount
    api_url: str = DEFAULT_API_URL
    now: Callable[[], dt.datetime] = _utc_now
    _token: tuple[str, dt.datetime] | None = field(default=None, repr=False)

    def append(self, spreadsheet_id: str, cell_range: str, rows: Sequence[Sequence[object]]) -> int:
        """Append `rows` after the table at `cell_range`; returns how many rows Google took."""
        url = (
            f"{self.api_url.rstrip('/')}/v4/spreadsheets/{quote(spreadsheet_id, safe='')}"
            f"/values/{quote(cell_range, safe='!:')}:append"
        )
        body = {"range": cell_range, "majorDimension": "ROWS", "values": [list(r) for r in rows]}
        params = {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        answer = _json(self._post(url, json=body, params=params, headers=headers))
        updates = answer.get("updates")
        counted = updates.get("updatedRows") if isinstance(updates, dict) else None
        return counted if isinstance(counted, int) else len(rows)

    def _access_token(self) -> str:
        now = self.now()
        if self._token is not None and self._token[1] > now + dt.timedelta(minutes=1):
            return self._token[0]
        form = {"grant_type": JWT_GRANT, "assertion": signed_assertion(self.account, now)}
        answer = _json(self._post(self.account.token_uri, data=form))
        token = answer.get("access_token")
        if not isinstance(token, str):
            message = "The Google token endpoint gave no access token; check the key file."
            raise NotifyError(message, [Issue("sheets-token", message, CHANNEL)])
        expires = answer.get("expires_in")
        lifetime = dt.timedelta(seconds=expires if isinstance(expires, int) else 3600)
        self._token = (token, now + lifetime)
        return token

    def _post(self, url: str, **options: object) -> httpx.Response:
        try:
            response = self.client.post(url, **options)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise error_for_transport(CHANNEL, exc) from None
        if not response.is_success:
            raise error_for_status(CHANNEL, response.status_code)
        return response


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        message = f"The {CHANNEL} API answered with something other than a JSON object."
        raise NotifyError(message, [Issue("sheets-answer", message, CHANNEL)], retryable=True)
    return answer
