"""Work-queue exports: the organization's requests as rows, written to CSV or XLSX for a person
(with patient names: PHI, so every export writes an audit event), or appended to a Google Sheet
(without PHI unless PRECERT_SHEETS_INCLUDE_PHI allows it).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx

from precert.domain.authorizations import AuthorizationRequest, Status
from precert.errors import InvalidInput, Issue, NotFound
from precert.notify.export import Row, write_csv, write_xlsx
from precert.notify.sheets import ServiceAccount, SheetsAppender
from precert.services.accounts import Actor, actor_for, normalise_email
from precert.services.audit import SYSTEM, record
from precert.services.authorization_requests import ENTITY, request_repository
from precert.services.context import Context
from precert.services.notifications import HTTP_TIMEOUT, request_link
from precert.store.accounts import OrganizationRepository, UserRepository
from precert.store.uow import UnitOfWork

# The queue without PHI, and the columns a person's export adds (patient names).
COLUMNS = (
    "request",
    "status",
    "urgency",
    "needs_attention",
    "payer",
    "plan",
    "codes",
    "service_date",
    "assignee",
    "created_at",
    "link",
)
PHI_COLUMNS = ("patient",)
# Finished requests are not work; an export of the queue leaves them out unless asked by status.
CLOSED = frozenset({Status.CANCELLED, Status.EXPIRED, Status.NOT_REQUIRED})


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True, slots=True)
class Export:
    """A finished export file: its bytes, a download name without PHI and its media type."""

    filename: str
    media_type: str
    data: bytes
    rows: int


def export_queue(ctx: Context, actor: Actor, *, format: str, status: str | None = None) -> Export:
    """The queue (open requests, or those with `status`) as CSV or XLSX, soonest service first.

    Any signed-in role may export (an export shows what the queue page shows); each export is
    audited with its format and row count.
    """
    chosen = _format(format)
    at = ctx.now()
    with ctx.uow() as uow:
        found = _requests(ctx, uow, actor.organization_id, status)
        record(
            uow,
            actor=actor.email,
            action="export",
            entity=ENTITY,
            entity_id="*",
            organization_id=actor.organization_id,
            reason=f"work queue export ({chosen.value}): {len(found)} requests",
            at=at,
        )
        uow.commit()
    rows = queue_rows(found, base_url=ctx.settings.base_url, include_phi=True)
    columns = [*COLUMNS[:1], *PHI_COLUMNS, *COLUMNS[1:]]
    data = _written(rows, columns, chosen)
    name = f"work-queue-{at:%Y%m%d-%H%M}.{chosen.value}"
    return Export(name, MEDIA_TYPES[chosen], data, len(rows))


def exporter_by_email(ctx: Context, email: str) -> Actor:
    """The user a command-line export acts as (`--as EMAIL`); any role may export."""
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(normalise_email(email))
        actor = actor_for(user) if user is not None else None
    if actor is None:
        message = f"--as: no user has the email {email.strip().lower()}; create one first."
        raise NotFound(message, [Issue("not-found", message, "--as")])
    return actor


def queue_rows(
    requests: Sequence[AuthorizationRequest], *, base_url: str, include_phi: bool
) -> list[Row]:
    """One row per request; the patient's name only when `include_phi`."""
    rows: list[Row] = []
    for request in requests:
        row: dict[str, object] = {
            "request": request.id,
            "status": request.status.value,
            "urgency": request.urgency.value,
            "needs_attention": request.needs_attention or "",
            "payer": request.coverage.payer_id,
            "plan": request.coverage.plan,
            "codes": " ".join(dict.fromkeys(line.code for line in request.lines)),
            "service_date": request.first_service_date,
            "assignee": request.assignee or "",
            "created_at": request.created_at,
            "link": request_link(base_url, request.id),
        }
        if include_phi:
            row["patient"] = f"{request.patient.last_name}, {request.patient.first_name}"
        rows.append(row)
    return rows


def push_queue_to_sheet(ctx: Context, *, client: httpx.Client | None = None) -> int:
    """Append the configured organization's open queue to the configured Google Sheet, one row
    per request after a `pushed_at` cell; returns the rows appended (0 when not configured).

    Patient names go only with PRECERT_SHEETS_INCLUDE_PHI=true (then the push is audited like
    an export); raises NotifyError when Google refuses or cannot be reached.
    """
    settings = ctx.settings
    if not settings.sheets_spreadsheet_id or settings.sheets_credentials_file is None:
        return 0
    account = ServiceAccount.from_file(settings.sheets_credentials_file)
    at = ctx.now()
    with ctx.uow() as uow:
        organization = OrganizationRepository(uow.session).by_name(
            settings.sheets_organization or ""
        )
        if organization is None:
            raise InvalidInput.field(
                "PRECERT_SHEETS_ORGANIZATION",
                "PRECERT_SHEETS_ORGANIZATION names no organization; use a name from "
                "`precert orgs create`.",
            )
        found = _requests(ctx, uow, organization.id, None)
        phi = settings.sheets_include_phi
        if phi:
            reason = f"Google Sheets push with patient names: {len(found)} requests"
            record(
                uow,
                actor=SYSTEM,
                action="export",
                entity=ENTITY,
                entity_id="*",
                organization_id=organization.id,
                reason=reason,
                at=at,
            )
        uow.commit()
    columns = ["pushed_at", *COLUMNS[:1], *(PHI_COLUMNS if phi else ()), *COLUMNS[1:]]
    rows = queue_rows(found, base_url=settings.base_url, include_phi=phi)
    values = [
        [_sheet_cell(at if c == "pushed_at" else row.get(c)) for c in columns] for row in rows
    ]
    if not values:
        return 0
    with httpx.Client(timeout=HTTP_TIMEOUT) if client is None else _borrowed(client) as http:
        appender = SheetsAppender(http, account, api_url=settings.sheets_api_url, now=ctx.now)
        return appender.append(settings.sheets_spreadsheet_id, settings.sheets_range, values)


def _sheet_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@contextmanager
def _borrowed(client: httpx.Client) -> Iterator[httpx.Client]:
    yield client  # the caller's client: used, not closed


def _requests(
    ctx: Context, uow: UnitOfWork, organization_id: str, status: str | None
) -> list[AuthorizationRequest]:
    repo = request_repository(ctx, uow)
    wanted = None if status is None else _status(status)
    found = repo.search(organization_id, status=wanted)
    if wanted is None:
        found = [request for request in found if request.status not in CLOSED]
    return sorted(found, key=lambda r: (r.first_service_date, r.created_at, r.id))


def _written(rows: list[Row], columns: list[str], chosen: ExportFormat) -> bytes:
    # The writers write files atomically; a private temp folder keeps the PHI file short-lived.
    with tempfile.TemporaryDirectory(prefix="precert-export-") as folder:
        path = Path(folder) / f"queue.{chosen.value}"
        if chosen is ExportFormat.CSV:
            write_csv(rows, columns, path)
        else:
            write_xlsx(rows, columns, path, title="Work queue")
        return path.read_bytes()


def _format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value.strip().lower())
    except ValueError:
        raise InvalidInput.field(
            "format", f"format: {value!r} is not an export format; use csv or xlsx."
        ) from None


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        options = ", ".join(s.value for s in Status)
        raise InvalidInput.field(
            "status", f"status: {value!r} is not a status; use one of {options}."
        ) from None
