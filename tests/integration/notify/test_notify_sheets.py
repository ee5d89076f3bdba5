"""The Google Sheets push against a real local HTTP server standing in for Google: the service
account's signed token request, then `values:append` with the queue rows (RAW, no PHI by default).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from huey import MemoryHuey
from tests.conftest import TODAY
from tests.integration.notify.receivers import HttpReceiver, Received, http_receiver

from precert.config import Settings
from precert.notify.errors import NotifyError
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_for
from precert.services.context import Context, build_context
from precert.services.exports import push_queue_to_sheet
from precert.worker.tasks import register

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
CANARY_NAME = "Canarysheet"
CANARY_MEMBER = "CANARY-SHEET-31"
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": CANARY_NAME,
        "last_name": "Phiprobe",
        "birth_date": "1980-02-01",
        "member_id": CANARY_MEMBER,
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [
        {
            "code": "15823",
            "units": 1,
            "pos": "22",
            "diagnoses": ["H02.831"],
            "from": "2026-12-10",
            "to": "2026-12-10",
        }
    ],
}


def google(received: Received) -> object:
    """Answers like Google: a token for the token request, an update count for an append."""
    if received.path == "/token":
        return {"access_token": "ya29.local-test", "expires_in": 3600, "token_type": "Bearer"}
    return {"updates": {"updatedRows": len(json.loads(received.body)["values"])}}


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_file(directory: Path, key: rsa.RSAPrivateKey, base: str) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = directory / "service-account.json"
    document = {
        "type": "service_account",
        "client_email": "precert-push@test-project.iam.gserviceaccount.com",
        "private_key": pem,
        "token_uri": f"{base}/token",
    }
    path.write_text(json.dumps(document))
    return path


def sheet_context(
    base_settings: Settings, receiver: HttpReceiver, credentials: Path, **extra: Any
) -> Iterator[tuple[Context, str]]:
    """A context pushing "Sheet Clinic" (two draft requests) to the local stand-in for Google."""
    base = receiver.url.rsplit("/hooks", 1)[0]
    settings = Settings(
        database_url=base_settings.database_url,
        data_dir=base_settings.data_dir,
        sheets_spreadsheet_id="sheet-123",
        sheets_organization="Sheet Clinic",
        sheets_credentials_file=credentials,
        sheets_api_url=base,
        **extra,
    )
    ctx = build_context(settings, today=lambda: TODAY, now=lambda: NOW)
    org = create_organization(ctx, "Sheet Clinic")
    actor = Actor("user-sheet", org, "specialist@sheet.example.org", Role.SPECIALIST)
    for _ in range(2):
        requests.create_request(ctx, actor, copy.deepcopy(BODY), now=NOW)
    yield ctx, org
    ctx.engine.dispose()


def b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_queue_is_appended_to_the_sheet_without_phi_after_a_signed_token_request(
    sqlite_settings: Settings, key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    with http_receiver(200, reply=google) as receiver:
        credentials = key_file(tmp_path, key, receiver.url.rsplit("/hooks", 1)[0])
        for ctx, _ in sheet_context(sqlite_settings, receiver, credentials):
            assert push_queue_to_sheet(ctx) == 2
    token, append = receiver.requests
    form = {name: values[0] for name, values in parse_qs(token.body.decode()).items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    header, claims, signature = form["assertion"].split(".")
    assert b64json(header) == {"alg": "RS256", "typ": "JWT"}
    assert b64json(claims) == {
        "iss": "precert-push@test-project.iam.gserviceaccount.com",
        "scope": "https://www.googleapis.com/auth/spreadsheets",
        "aud": receiver.url.rsplit("/hooks", 1)[0] + "/token",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
    }
    key.public_key().verify(  # raises if the service account's signature is wrong
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    path, _, query = unquote(append.path).partition("?")
    assert path == "/v4/spreadsheets/sheet-123/values/Queue!A1:append"
    assert parse_qs(query) == {"valueInputOption": ["RAW"], "insertDataOption": ["INSERT_ROWS"]}
    assert append.headers["authorization"] == "Bearer ya29.local-test"
    body = json.loads(append.body)
    assert (body["range"], body["majorDimension"]) == ("Queue!A1", "ROWS")
    first = body["values"][0]
    assert first[0] == "2026-11-23 15:00 UTC"  # pushed_at
    assert first[2:5] == ["draft", "standard", ""]
    assert first[5:9] == ["medicare", "medicare-ffs", "15823", "2026-12-10"]
    assert len(first) == 12  # pushed_at + the queue columns, no patient column
    assert CANARY_NAME.encode() not in append.body and CANARY_MEMBER.encode() not in append.body
    assert b"Phiprobe" not in append.body


def test_patient_names_go_to_the_sheet_only_when_the_setting_allows_and_are_audited(
    sqlite_settings: Settings, key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    with http_receiver(200, reply=google) as receiver:
        credentials = key_file(tmp_path, key, receiver.url.rsplit("/hooks", 1)[0])
        phi = sheet_context(sqlite_settings, receiver, credentials, sheets_include_phi=True)
        for ctx, org in phi:
            assert push_queue_to_sheet(ctx) == 2
            audit = [e for e in events_for(ctx, org) if e.action == "export"]
    values = json.loads(receiver.requests[-1].body)["values"]
    assert values[0][2] == f"Phiprobe, {CANARY_NAME}"
    assert CANARY_MEMBER.encode() not in receiver.requests[-1].body  # never the member id
    assert [e.reason for e in audit] == ["Google Sheets push with patient names: 2 requests"]


def test_a_refused_push_raises_a_notify_error_and_the_hourly_task_logs_it_and_goes_on(
    sqlite_settings: Settings, key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    with http_receiver(200, 403, reply=google) as receiver:
        credentials = key_file(tmp_path, key, receiver.url.rsplit("/hooks", 1)[0])
        for ctx, _ in sheet_context(sqlite_settings, receiver, credentials):
            with pytest.raises(NotifyError) as refused:
                push_queue_to_sheet(ctx)
            jobs = register(MemoryHuey("sheets-immediate", immediate=True), lambda c=ctx: c)
            assert jobs.sheets_task.call_local() == 0
    assert refused.value.message == (
        "The Google Sheets receiver answered HTTP 403; "
        "check the receiver's URL and configuration; retrying will not help."
    )
    assert not refused.value.retryable


def test_no_spreadsheet_configured_pushes_nothing(ctx: Context) -> None:
    assert push_queue_to_sheet(ctx) == 0


def test_a_spreadsheet_without_credentials_or_organization_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError) as refused:
        Settings(sheets_spreadsheet_id="sheet-123")
    message = str(refused.value)
    assert "PRECERT_SHEETS_CREDENTIALS_FILE must name a Google service-account JSON key" in message
    assert "PRECERT_SHEETS_ORGANIZATION must name the organization whose queue" in message
