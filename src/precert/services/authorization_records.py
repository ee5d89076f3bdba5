"""Authorization records for the claim check: the ones derived from our own requests' decisions
and the ones a team imports (CSV or JSON) from a spreadsheet or another system; their export; and
the units earlier claim files billed against them.

Parsing an import file is pure (`parse_records`): every bad row is reported with its row number,
column and what to fix, and the good rows are kept. Member ids are PHI: they are never put in a
message, and reading or writing them is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from precert.domain import codes as code_values
from precert.domain.authorizations import Status
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus, Setting
from precert.domain.determinations import standing_determination
from precert.errors import InvalidInput, Issue, NotFound
from precert.notify.export import csv_cell
from precert.security.blind_index import BlindIndex, normalise_member_id
from precert.security.crypto import FieldCipher
from precert.services import audit
from precert.services.context import Context
from precert.store.accounts import OrganizationRepository
from precert.store.authorization_records import (
    ImportedAuthorizationRepository,
    RequestDecisions,
    RequestDecisionView,
    UsageRepository,
    UsageRow,
)
from precert.store.uow import UnitOfWork

COLUMNS = (
    "authorization_number",
    "payer_id",
    "member_id",
    "codes",
    "units",
    "valid_from",
    "valid_to",
    "rendering_npi",
    "facility_npi",
    "status",
)
FORMATS = ("csv", "json")
STATUS_NAMES = ", ".join(status.value for status in AuthorizationStatus)
MAX_NUMBER = 50  # REF02 of a REF*G1 holds at most 50 characters: a longer number cannot be billed
MAX_PAYER_ID = 80
INPATIENT_POS = frozenset({"21", "51", "61"})  # inpatient hospital, psychiatric, rehabilitation
_GRANTS = (AuthorizationStatus.APPROVED, AuthorizationStatus.PARTIALLY_APPROVED)
# Our requests that stand behind a claim: decided ones, and those still waiting for the payer.
DERIVED_STATUS = {
    Status.APPROVED: AuthorizationStatus.APPROVED,
    Status.PARTIALLY_APPROVED: AuthorizationStatus.PARTIALLY_APPROVED,
    Status.DENIED: AuthorizationStatus.DENIED,
    Status.EXPIRED: AuthorizationStatus.EXPIRED,
    Status.CANCELLED: AuthorizationStatus.CANCELLED,
    Status.SUBMITTED: AuthorizationStatus.PENDING,
    Status.PENDED: AuthorizationStatus.PENDING,
}
ENTITY = "authorization_records"


class Importer(Protocol):
    """Who imports or exports: services.accounts.Actor is one, OrganizationActor another."""

    @property
    def organization_id(self) -> str: ...
    @property
    def email(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OrganizationActor:
    """An organization acted for from the command line (`--org NAME`), audited as `email`."""

    organization_id: str
    email: str = "cli"


def organization_actor(ctx: Context, name: str, *, actor: str = "cli") -> OrganizationActor:
    """The organization named `name`, for commands run by an administrator of this host."""
    with ctx.uow() as uow:
        organization = OrganizationRepository(uow.session).by_name(name.strip())
        found = None if organization is None else organization.id
    if found is None:
        message = f"--org: no organization is named {name.strip()!r}; check `precert orgs`."
        raise NotFound(message, [Issue("not-found", message, "--org")])
    return OrganizationActor(found, actor)


# -- parsing an import file (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one row: `row` counts as a spreadsheet does (the CSV header is row 1;
    JSON items count from 1)."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedFile:
    records: list[AuthorizationRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows_read: int
    imported: int
    replaced: int
    errors: tuple[RowError, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def invalid(self) -> int:
        return len({error.row for error in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "imported": self.imported,
            "replaced": self.replaced,
            "invalid": self.invalid,
            "errors": [error.as_dict() for error in self.errors],
            "warnings": list(self.warnings),
        }


def parse_records(text: str, format: str) -> ParsedFile:
    """The authorization records in an import file; a file that cannot be read at all (no
    header, missing columns, not a JSON list) raises InvalidInput, a bad row is reported."""
    if format == "csv":
        return _parse_csv(text.removeprefix("\ufeff"))
    if format == "json":
        return _parse_json(text.removeprefix("\ufeff"))
    raise InvalidInput.field("format", f"--format: {format!r} is not csv or json; choose one.")


def _parse_csv(text: str) -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    parsed = ParsedFile()
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header, parsed)
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue  # a blank line, as spreadsheets leave at the end
            parsed.rows_read += 1
            if len(values) > len(header):
                parsed.errors.append(
                    RowError(
                        number,
                        "",
                        f"row {number}: {len(values)} values but the header names "
                        f"{len(header)} columns; quote values that contain a comma.",
                    )
                )
                continue
            _add_row(parsed, number, dict(zip(header, values, strict=False)))
    except csv.Error as error:
        message = f"The CSV cannot be read past row {reader.line_num}: {error}; fix the quoting."
        raise InvalidInput.field("file", message) from None
    return parsed


def _check_header(header: list[str], parsed: ParsedFile) -> None:
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        message = (
            f"The file has no column {', '.join(missing)}; the first row must name the columns "
            f"{','.join(COLUMNS)}."
        )
        raise InvalidInput(message, [Issue("missing-column", message, name) for name in missing])
    extra = [name for name in header if name not in COLUMNS]
    if extra:
        parsed.warnings.append(f"Ignored the column(s) {', '.join(extra)}: not a known column.")


def _parse_json(text: str) -> ParsedFile:
    try:
        items = json.loads(text)
    except (ValueError, RecursionError) as error:
        message = f"The file is not JSON ({error}); export it as a list of objects."
        raise InvalidInput.field("file", message) from None
    if not isinstance(items, list):
        message = "The JSON must be a list of objects, one per authorization."
        raise InvalidInput.field("file", message)
    parsed = ParsedFile()
    for number, item in enumerate(items, start=1):
        parsed.rows_read += 1
        if not isinstance(item, dict):
            parsed.errors.append(
                RowError(number, "", f"item {number}: not an object; write one object per row.")
            )
            continue
        missing = [name for name in COLUMNS if name not in item]
        for name in missing:
            parsed.errors.append(
                RowError(number, name, f"item {number}: no {name}; add the key (null if empty).")
            )
        if not missing:
            _add_row(parsed, number, {k: _json_text(k, item[k]) for k in COLUMNS}, label="item")
    return parsed


def _json_text(column: str, value: object) -> str:
    """A JSON value as the CSV cell it stands for (codes may be a list)."""
    if value is None:
        return ""
    if column == "codes" and isinstance(value, list):
        return ";".join(str(code) for code in value)
    return str(value)


def _add_row(parsed: ParsedFile, number: int, row: Mapping[str, str], label: str = "row") -> None:
    problems: list[RowError] = []
    record = _record_of(row, number, label, problems)
    if problems or record is None:
        parsed.errors.extend(problems)
    else:
        parsed.records.append(record)


def _record_of(
    row: Mapping[str, str], number: int, label: str, problems: list[RowError]
) -> AuthorizationRecord | None:
    """One row as a record, or None with every problem of the row added to `problems`."""

    def cell(column: str) -> str:
        return (row.get(column) or "").strip()

    def checked(column: str, check: Any) -> Any:
        try:
            return check(cell(column))
        except InvalidInput as error:
            problems.append(
                RowError(number, column, f"{label} {number}: {error.issues[0].message}")
            )
            return None

    authorization_number = checked("authorization_number", _number)
    payer_id = checked("payer_id", _payer_id)
    member_id = checked("member_id", _member_id)
    codes = checked("codes", _codes)
    units = checked("units", lambda v: code_values.units(v, "units") if v else None)
    valid_from = checked("valid_from", lambda v: _optional_date(v, "valid_from"))
    valid_to = checked("valid_to", lambda v: _optional_date(v, "valid_to"))
    rendering = checked(
        "rendering_npi", lambda v: code_values.npi(v, "rendering_npi") if v else None
    )
    facility = checked("facility_npi", lambda v: code_values.npi(v, "facility_npi") if v else None)
    status = checked("status", _status)
    if problems:
        return None
    window_problem = _window_problem(status, valid_from, valid_to)
    if window_problem:
        column, message = window_problem
        problems.append(RowError(number, column, f"{label} {number}: {message}"))
        return None
    return AuthorizationRecord(
        number=authorization_number,
        payer_id=payer_id,
        member_id=member_id,
        status=status,
        codes=codes,
        total_units=units,
        valid_from=valid_from,
        valid_to=valid_to,
        rendering_npi=rendering,
        facility_npi=facility,
        source="import",
    )


def _number(value: str) -> str:
    if not value:
        raise InvalidInput.field(
            "authorization_number",
            "authorization_number is empty; fill in the payer's authorization number.",
        )
    if len(value) > MAX_NUMBER:
        raise InvalidInput.field(
            "authorization_number",
            f"authorization_number is {len(value)} characters; a claim's REF*G1 holds at most "
            f"{MAX_NUMBER}: check the number.",
        )
    return value


def _payer_id(value: str) -> str:
    if not value or len(value) > MAX_PAYER_ID:
        raise InvalidInput.field(
            "payer_id",
            f"payer_id must be 1 to {MAX_PAYER_ID} characters: the payer id the claims carry.",
        )
    return value


def _member_id(value: str) -> str:
    # Never echo the value: a member id is PHI.
    if not normalise_member_id(value):
        raise InvalidInput.field(
            "member_id", "member_id is empty; fill in the member id from the insurance card."
        )
    if len(value) > 80:
        raise InvalidInput.field("member_id", "member_id is over 80 characters; check the id.")
    return value


def _codes(value: str) -> frozenset[str]:
    found = [part.strip() for part in value.split(";") if part.strip()]
    if not found:
        raise InvalidInput.field(
            "codes",
            "codes is empty; list the authorized CPT/HCPCS codes separated by ';' "
            "(such as 70551;70553).",
        )
    return frozenset(code_values.procedure_code(code, "codes") for code in found)


def _optional_date(value: str, column: str) -> dt.date | None:
    return code_values.iso_date(value, column) if value else None


def _status(value: str) -> AuthorizationStatus:
    name = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return AuthorizationStatus(name)
    except ValueError:
        shown = repr(value) if value else "empty"
        raise InvalidInput.field(
            "status", f"status {shown} is not known; write one of {STATUS_NAMES}."
        ) from None


def _window_problem(
    status: AuthorizationStatus, start: dt.date | None, end: dt.date | None
) -> tuple[str, str] | None:
    if start and end and end < start:
        return "valid_to", "valid_to is before valid_from; check the dates."
    if status in _GRANTS and (start is None or end is None):
        column = "valid_from" if start is None else "valid_to"
        return column, (
            f"an approval needs its valid window: fill in {column} (YYYY-MM-DD) from the "
            "payer's approval."
        )
    return None


# -- import and export -----------------------------------------------------------------------------


def import_records(
    ctx: Context, actor: Importer, path_or_text: Path | str, format: str | None = None
) -> ImportResult:
    """Keep every good row of an import file (a row with the same payer, member and number as
    one imported before replaces it) and report every bad one. `path_or_text` is a Path to read
    or the file's text; `format` defaults to the path's suffix, else csv."""
    if format is None:
        suffix = path_or_text.suffix.lower() if isinstance(path_or_text, Path) else ""
        format = "json" if suffix == ".json" else "csv"
    parsed = parse_records(_text_of(path_or_text), format.lower())
    with ctx.uow() as uow:
        replaced = _imported(ctx, uow).replace(actor.organization_id, parsed.records, ctx.now())
        audit.record(
            uow,
            actor=actor.email,
            action="import",
            entity=ENTITY,
            entity_id=f"{len(parsed.records)} record(s)",
            organization_id=actor.organization_id,
            reason=f"authorization import ({format})",
            at=ctx.now(),
        )
        uow.commit()
    return ImportResult(
        rows_read=parsed.rows_read,
        imported=len(parsed.records),
        replaced=replaced,
        errors=tuple(parsed.errors),
        warnings=tuple(parsed.warnings),
    )


def _text_of(path_or_text: Path | str) -> str:
    if isinstance(path_or_text, str):
        return path_or_text
    try:
        data = path_or_text.read_bytes()
    except OSError as error:
        message = f"Cannot read {path_or_text}: {error.strerror}; check the path."
        raise InvalidInput.field("FILE", message) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = f"{path_or_text} is not UTF-8 text; save it as CSV UTF-8 or JSON."
        raise InvalidInput.field("FILE", message) from None


def export_records(ctx: Context, actor: Importer, format: str) -> bytes:
    """Every authorization record of the organization (imported, then derived from our requests),
    in the import's columns, so the file can be imported elsewhere. Records still without a
    payer number (requests waiting for a decision) are left out: a row needs its number."""
    if format not in FORMATS:
        raise InvalidInput.field("format", f"--format: {format!r} is not csv or json; choose one.")
    records = [r for r in records_for(ctx, actor.organization_id) if r.number]
    rows = [_export_row(record) for record in records]
    with ctx.uow() as uow:
        audit.record(
            uow,
            actor=actor.email,
            action="export",
            entity=ENTITY,
            entity_id=f"{len(rows)} record(s)",
            organization_id=actor.organization_id,
            reason=f"authorization export ({format})",
            at=ctx.now(),
        )
        uow.commit()
    if format == "json":
        return (json.dumps(rows, indent=2) + "\n").encode()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[name]) for name in COLUMNS])
    return out.getvalue().encode()


def _export_row(record: AuthorizationRecord) -> dict[str, Any]:
    units = record.total_units
    if units is None and record.units and set(record.units) >= record.codes:
        # The file has one units figure: a derived record's per-code units, added up.
        units = sum(record.units[code] for code in record.codes)
    return {
        "authorization_number": record.number,
        "payer_id": record.payer_id,
        "member_id": record.member_id,
        "codes": ";".join(sorted(record.codes or record.denied_codes)),
        "units": units,
        "valid_from": record.valid_from.isoformat() if record.valid_from else None,
        "valid_to": record.valid_to.isoformat() if record.valid_to else None,
        "rendering_npi": record.rendering_npi,
        "facility_npi": record.facility_npi,
        "status": record.status.value,
    }


# -- the records the claim check matches against ---------------------------------------------------


MEMBER_FILTER_LIMIT = 2_000


def records_for(
    ctx: Context,
    organization_id: str,
    *,
    payer_ids: Iterable[str] | None = None,
    member_ids: Iterable[str] | None = None,
) -> list[AuthorizationRecord]:
    """Imported records, then those derived from this organization's requests (decided or
    waiting), optionally only for some payers and members (exact member-id match)."""
    payers = None if payer_ids is None else list(payer_ids)
    members = None if member_ids is None else list(member_ids)
    # A big claim file names most members: one pass over the organization's records, filtered
    # here, is cheaper than a blind-index digest and an IN chunk per thousand members.
    wanted = None
    if members is not None and len(members) > MEMBER_FILTER_LIMIT:
        wanted, members = {normalise_member_id(m) for m in members}, None
    with ctx.uow() as uow:
        imported = _imported(ctx, uow).search(organization_id, payer_ids=payers, member_ids=members)
        views = RequestDecisions(uow.session, *_keys(ctx)).load(
            organization_id, DERIVED_STATUS, payer_ids=payers, member_ids=members
        )
    derived = [record for view in views if (record := derive_record(view)) is not None]
    found = imported + derived
    if wanted is not None:
        found = [r for r in found if normalise_member_id(r.member_id) in wanted]
    return found


def derive_record(view: RequestDecisionView) -> AuthorizationRecord | None:
    """A request's standing determination as an authorization record; the request's own lines,
    dates and providers where the determination does not say. None for a request with no lines."""
    if not view.lines:
        return None
    decision = standing_determination(view.timeline) or {}
    status = DERIVED_STATUS[view.status]
    asked = frozenset(line.code for line in view.lines)
    granted, denied, units = _decided_codes(decision.get("lines") or [])
    if not (granted or denied):
        # No per-line decision: a grant covers what was asked, a refusal refuses it.
        if status in (AuthorizationStatus.DENIED,):
            denied = set(asked)
        else:
            granted = set(asked)
            if status in _GRANTS:
                units = _asked_units(view)
    return AuthorizationRecord(
        number=str(decision.get("authorization_number") or ""),
        payer_id=view.payer_id,
        member_id=view.member_id,
        status=status,
        codes=frozenset(granted),
        denied_codes=frozenset(denied),
        units=units,
        valid_from=_date(decision.get("valid_from")) or min(ln.from_date for ln in view.lines),
        valid_to=_date(decision.get("valid_to")) or max(ln.to_date for ln in view.lines),
        rendering_npi=decision.get("provider_npi") or view.rendering_npi,
        facility_npi=decision.get("facility_npi") or view.facility_npi,
        setting=_setting(view),
        source="request",
        request_id=view.request_id,
    )


def _decided_codes(lines: Sequence[Mapping[str, Any]]) -> tuple[set[str], set[str], dict[str, int]]:
    """(covered codes, denied codes, approved units per covered code) of a decision's lines."""
    granted: set[str] = set()
    denied: set[str] = set()
    units: dict[str, int] = {}
    for line in lines:
        if line.get("status") == "denied":
            denied.add(str(line.get("code")))
            continue
        code = str(line.get("approved_code") or line.get("code"))
        granted.add(code)
        units[code] = units.get(code, 0) + int(line.get("approved_units") or 0)
    return granted, denied - granted, {code: n for code, n in units.items() if n > 0}


def _asked_units(view: RequestDecisionView) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in view.lines:
        units[line.code] = units.get(line.code, 0) + line.units
    return units


def _setting(view: RequestDecisionView) -> Setting | None:
    places = {line.pos for line in view.lines if line.pos}
    if not places:
        return None
    return Setting.INPATIENT if places & INPATIENT_POS else Setting.OUTPATIENT


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# -- units billed by earlier claim files -----------------------------------------------------------


def record_usage(ctx: Context, organization_id: str, rows: Sequence[UsageRow]) -> None:
    """Remember the units each claim line billed (recording a line again replaces it)."""
    if not rows:
        return
    with ctx.uow() as uow:
        UsageRepository(uow.session).record(organization_id, rows, ctx.now())
        uow.commit()


def usage_before(
    ctx: Context,
    organization_id: str,
    numbers: Iterable[str],
    *,
    excluding_file: str | None = None,
    excluding_lines: Collection[tuple[str, int]] = (),
) -> dict[tuple[str, str], int]:
    """Units already billed per (authorization number, code; "*" = all its codes), leaving out
    the file being scrubbed again (`excluding_file`) and the claim lines billed again
    (`excluding_lines`: (claim id, line number), e.g. the same claim corrected)."""
    with ctx.uow() as uow:
        return UsageRepository(uow.session).totals(
            organization_id, numbers, excluding_file=excluding_file, excluding_lines=excluding_lines
        )


# -- helpers ---------------------------------------------------------------------------------------


def _keys(ctx: Context) -> tuple[FieldCipher, BlindIndex]:
    return FieldCipher.from_settings(ctx.settings), BlindIndex.from_settings(ctx.settings)


def _imported(ctx: Context, uow: UnitOfWork) -> ImportedAuthorizationRepository:
    return ImportedAuthorizationRepository(uow.session, *_keys(ctx))
