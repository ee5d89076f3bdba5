"""Importing a scheduling system's CSV of services: a draft request for each service that needs
approval, nothing for the rest, and the services due soon without an approval.

Each row is read as one issue-3 request body and goes through `create_request`, so a draft holds
exactly what the API would have saved. Importing is idempotent: each row's key is a SHA-256 digest
over the organization and the appointment (or the member, payer, code and date), never the PHI
itself. Row errors name the row and the column, never a patient's value.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from precert.domain.authorizations import Status
from precert.domain.rules import Decision
from precert.errors import InvalidInput, Issue, NotFound
from precert.security.blind_index import normalise_member_id
from precert.services.accounts import Actor, Role, actor_for, normalise_email, require_role
from precert.services.audit import record
from precert.services.authorization_requests import ENTITY, create_drafts
from precert.services.context import Context
from precert.services.request_payloads import ParsedRequest, check_requests, parse_request
from precert.store.accounts import UserRepository

REQUIRED_COLUMNS: tuple[str, ...] = (
    "patient_first_name",
    "patient_last_name",
    "birth_date",
    "member_id",
    "payer_id",
    "plan",
    "state",
    "code",
    "units",
    "pos",
    "diagnoses",
    "service_date",
    "ordering_npi",
    "rendering_npi",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("appointment_id",)
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
# Patient columns: an error about them never repeats the value.
PHI_COLUMNS = frozenset({"patient_first_name", "patient_last_name", "birth_date", "member_id"})
# Decisions that get a draft request; approval itself is sought only for the first two.
DRAFT_DECISIONS = frozenset({Decision.REQUIRED, Decision.CONDITIONAL, Decision.NOTIFICATION})
APPROVAL_DECISIONS = frozenset({Decision.REQUIRED, Decision.CONDITIONAL})
DUE_SOON_DAYS = 7
# Rows saved per transaction: big enough for multi-row INSERTs, small enough to hold in memory.
CHUNK_ROWS = 500
# A request in one of these no longer waits for an approval, so its service is not "due soon".
_SETTLED = frozenset(
    {Status.APPROVED, Status.PARTIALLY_APPROVED, Status.NOT_REQUIRED, Status.CANCELLED}
)
# Where parse_request reports a problem -> the CSV column a person fixes.
_COLUMN_OF = {
    "patient.first_name": "patient_first_name",
    "patient.last_name": "patient_last_name",
    "patient.birth_date": "birth_date",
    "patient.member_id": "member_id",
    "patient": "patient_first_name",
    "payer_id": "payer_id",
    "plan": "plan",
    "state": "state",
    "ordering_npi": "ordering_npi",
    "rendering_npi": "rendering_npi",
    "code": "code",
    "units": "units",
    "pos": "pos",
    "diagnoses": "diagnoses",
    "from": "service_date",
    "to": "service_date",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row, located by spreadsheet row number (header = 1) and column."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class DueSoon:
    """A service within DUE_SOON_DAYS that needs approval and has none yet (no patient data)."""

    row: int
    request_id: str
    payer_id: str
    code: str
    service_date: dt.date

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "request_id": self.request_id,
            "payer_id": self.payer_id,
            "code": self.code,
            "service_date": self.service_date.isoformat(),
        }


@dataclass
class ImportSummary:
    """What an import did, row by row category; `created` holds the new requests' ids."""

    rows_read: int = 0
    created: list[str] = field(default_factory=list)
    already_imported: int = 0
    not_required: int = 0
    unknown: int = 0
    errors: list[RowError] = field(default_factory=list)
    due_soon: list[DueSoon] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return len({error.row for error in self.errors})

    def as_dict(self) -> dict[str, object]:
        return {
            "rows_read": self.rows_read,
            "created": len(self.created),
            "already_imported": self.already_imported,
            "not_required": self.not_required,
            "unknown": self.unknown,
            "invalid": self.invalid,
            "due_soon": [item.as_dict() for item in self.due_soon],
            "created_request_ids": list(self.created),
            "errors": [error.as_dict() for error in self.errors],
        }


def actor_by_email(ctx: Context, email: str) -> Actor:
    """The user an import acts as (`--as EMAIL`): they must exist and may create requests."""
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(normalise_email(email))
        # Read inside the unit of work: the record's attributes expire when it ends.
        actor = actor_for(user) if user is not None else None
    if actor is None:
        message = f"--as: no user has the email {email.strip().lower()}; create one first."
        raise NotFound(message, [Issue("not-found", message, "--as")])
    require_role(actor, Role.ADMIN, Role.SPECIALIST, action="import schedules")
    return actor


def import_schedule(
    ctx: Context,
    actor: Actor,
    path: Path,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportSummary:
    """Import every row of `path`; a file that is not a usable schedule raises InvalidInput
    before anything is saved, a bad row is reported while the good rows are still imported.

    Rows are saved a chunk at a time, each chunk one transaction: a chunk that fails (the
    database refuses a row) saves none of its rows, earlier chunks stay saved, and importing the
    file again completes it without repeating them. `progress(n)` hears of each chunk's rows.
    One audit event records the whole import, with how many requests it created.
    """
    require_role(actor, Role.ADMIN, Role.SPECIALIST, action="import schedules")
    at = now or ctx.now()
    rows = _rows(path)  # checks the header before any row is imported
    summary = ImportSummary()
    try:
        for chunk in _chunks(rows, chunk_rows):
            _import_chunk(ctx, actor, chunk, at, summary)
            if progress is not None:
                progress(len(chunk))
    finally:
        _audit(ctx, actor, summary, at)
    return summary


def count_rows(path: Path) -> int:
    """How many data rows `path` has (for a progress bar); 0 when it cannot be read."""
    try:
        return max(0, sum(1 for _ in _records(path)) - 1)
    except InvalidInput:
        return 0


def idempotency_key(organization_id: str, values: Mapping[str, str]) -> str:
    """SHA-256 over the organization and the appointment id with the code, or the row's
    identifying fields. The code is part of the key because one visit often bills several
    codes, and each needs its own request."""
    appointment = values.get("appointment_id", "").strip()
    if appointment:
        parts = ["appointment", appointment, values.get("code", "").strip().upper()]
    else:
        parts = [
            "service",
            normalise_member_id(values.get("member_id", "")),
            values.get("payer_id", "").strip().lower(),
            values.get("code", "").strip().upper(),
            values.get("service_date", "").strip(),
        ]
    text = "\x1f".join([organization_id, *parts])  # a separator no field contains
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- one chunk ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Draft:
    number: int
    parsed: ParsedRequest
    key: str
    decision: Decision


def _import_chunk(
    ctx: Context,
    actor: Actor,
    chunk: list[tuple[int, dict[str, str]]],
    at: dt.datetime,
    summary: ImportSummary,
) -> None:
    """Check each row, then create the chunk's drafts in one unit of work (one bulk look-up of
    the keys already imported, one INSERT per table)."""
    payloads = [_payload(values) for _, values in chunk]
    answers = check_requests(ctx, payloads)  # the chunk's requirement checks in one pass
    drafts: list[_Draft] = []
    for (number, values), payload, answer in zip(chunk, payloads, answers, strict=True):
        summary.rows_read += 1
        draft = _draft(ctx, actor, (number, values, payload), answer, at, summary)
        if draft is not None:
            drafts.append(draft)
    if not drafts:
        return
    pairs = [(draft.parsed, draft.key) for draft in drafts]
    requests, created = create_drafts(ctx, actor, pairs, now=at)
    today = ctx.today()
    for draft in drafts:
        request = requests[draft.key]
        if draft.key in created:
            created.discard(draft.key)  # a key twice in the file: the second is a repeat
            summary.created.append(request.id)
        else:
            summary.already_imported += 1
        # The code is part of the key; the date is the stored one (an appointment may move).
        code = draft.parsed.draft.lines[0].code
        when = request.service_date or draft.parsed.draft.first_service_date
        soon = 0 <= (when - today).days <= DUE_SOON_DAYS
        if soon and draft.decision in APPROVAL_DECISIONS and request.status not in _SETTLED:
            summary.due_soon.append(DueSoon(draft.number, request.id, request.payer_id, code, when))


def _draft(
    ctx: Context,
    actor: Actor,
    row: tuple[int, dict[str, str], dict[str, Any]],
    answer: tuple[Mapping[str, Any], ...] | None,
    at: dt.datetime,
    summary: ImportSummary,
) -> _Draft | None:
    """The row's draft when its service needs one; otherwise counted (or its errors noted).
    A row without a checked `answer` is checked on its own, which names its problem."""
    number, values, payload = row
    try:
        parsed = parse_request(
            ctx, payload, organization_id=actor.organization_id, at=at, requirement=answer
        )
    except InvalidInput as error:
        problems = [i for i in error.issues if i.code != "unknown-payer"]
        if problems:
            summary.errors.extend(_row_errors(number, problems, values))
        else:  # only the payer has no pack: "verify with the payer", not a broken row
            summary.unknown += 1
        return None
    decision = Decision(parsed.draft.requirement[0]["decision"])
    if decision in DRAFT_DECISIONS:
        return _Draft(number, parsed, idempotency_key(actor.organization_id, values), decision)
    if decision is Decision.NOT_REQUIRED:
        summary.not_required += 1
    else:
        summary.unknown += 1
    return None


def _audit(ctx: Context, actor: Actor, summary: ImportSummary, at: dt.datetime) -> None:
    """One event for the import (not one per row): counts only, never a patient's value."""
    reason = (
        f"schedule import: {summary.rows_read} rows read, {len(summary.created)} created, "
        f"{summary.already_imported} already imported, {summary.invalid} invalid"
    )
    with ctx.uow() as uow:
        record(
            uow,
            actor=actor.email,
            action="create",
            entity=ENTITY,
            entity_id="*",
            organization_id=actor.organization_id,
            reason=reason,
            at=at,
        )
        uow.commit()


def _chunks(
    rows: Iterator[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _payload(values: Mapping[str, str]) -> dict[str, Any]:
    """The issue-3 request body for one row (one service line)."""
    diagnoses = [dx.strip() for dx in values["diagnoses"].split(";") if dx.strip()]
    units: object = values["units"] or 1
    return {
        "payer_id": values["payer_id"],
        "plan": values["plan"],
        "state": values["state"] or None,
        "urgency": "standard",
        "patient": {
            "first_name": values["patient_first_name"],
            "last_name": values["patient_last_name"],
            "birth_date": values["birth_date"],
            "member_id": values["member_id"],
        },
        "ordering_npi": values["ordering_npi"],
        "rendering_npi": values["rendering_npi"],
        "services": [
            {
                "code": values["code"],
                "units": units,
                "pos": values["pos"],
                "diagnoses": diagnoses,
                "from": values["service_date"],
                "to": values["service_date"],
            }
        ],
    }


def _row_errors(number: int, issues: list[Issue], values: Mapping[str, str]) -> list[RowError]:
    """Issues from parse_request, relocated to the row and column; patient values never shown."""
    out: dict[str, RowError] = {}
    for issue in issues:
        column = _column(issue.location)
        text = issue.message.partition(": ")[2] if ": " in issue.message else issue.message
        raw = values.get(column, "").strip()
        if column in PHI_COLUMNS and raw and raw in text:  # belt and braces: PHI stays out
            text = "the value is not valid."
        out.setdefault(column, RowError(number, column, f"row {number}: {column}: {text}"))
    return list(out.values())


def _column(location: str) -> str:
    """'services[0].diagnoses[1]' -> 'diagnoses'; 'patient.birth_date' -> 'birth_date'."""
    if location.startswith("services[") and "." in location:
        location = location.partition(".")[2].partition("[")[0]
    return _COLUMN_OF.get(location, location)


# -- reading ------------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Check the header now (InvalidInput naming missing or unknown columns), then yield
    (spreadsheet row number, values by column) for each non-blank row."""
    records = _records(path)
    header = next(records, None)
    if header is None:
        raise InvalidInput.field(
            str(path), f"{path}: the file is empty; the first row must name the columns"
        )
    columns = _header(path, header[1])
    return ((n, _values(columns, cells)) for n, cells in records)


def _values(columns: list[str], cells: list[str]) -> dict[str, str]:
    values = dict.fromkeys(COLUMNS, "")
    values.update({c: cell.strip() for c, cell in zip(columns, cells, strict=False) if c})
    return values


def _header(path: Path, cells: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in cells]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise InvalidInput.field(
            "columns",
            f"{path}: the header is missing the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}",
            code="missing-column",
        )
    unknown = [column for column in columns if column and column not in COLUMNS]
    if unknown:
        raise InvalidInput.field(
            "columns",
            f"{path}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the accepted columns are {', '.join(COLUMNS)}",
            code="unknown-column",
        )
    return columns


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank record. A byte-order mark is dropped, CRLF read
    as-is, and a quoted line break stays inside its row, as a spreadsheet shows it."""
    reader = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=False)
            for number, cells in enumerate(reader, start=1):
                if any(cell.strip() for cell in cells):
                    yield number, cells
    except csv.Error as exc:
        line = reader.line_num if reader is not None else 0
        raise InvalidInput.field(
            str(path), f"{path}: line {line} is not valid CSV ({exc}); fix the row and import again"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput.field(
            str(path), f"{path}: the file is not UTF-8 text; save it as 'CSV UTF-8'"
        ) from None
    except OSError as exc:
        raise InvalidInput.field(
            str(path), f"{path}: cannot read the file ({exc.strerror or exc})"
        ) from None
