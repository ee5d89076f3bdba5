"""Importing a scheduling system's CSV on SQLite and PostgreSQL: drafts only where approval is
needed, a second import creates nothing, due-soon services listed, bad rows located without PHI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from precert.domain.authorizations import Status
from precert.errors import InvalidInput, PermissionDenied
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.context import Context
from precert.services.schedule_import import DueSoon, idempotency_key, import_schedule

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # conftest's TODAY is 2026-11-23
SCHEDULE = Path(__file__).resolve().parents[1] / "fixtures" / "schedule"
MIXED = SCHEDULE / "schedule-mixed.csv"  # rows 6 and 8 invalid, row 7 blank
HEADER = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi"
)
PHI = ("Alpha", "Bravo", "Echo", "Canaryname", "02/01/1980", "1970-07-07", "TEST-0005-E")


def _actor(ctx: Context, name: str, role: Role = Role.SPECIALIST) -> Actor:
    org = create_organization(ctx, name)
    return Actor("user-" + name, org, f"{name.lower().replace(' ', '.')}@example.org", role)


@pytest.fixture
def alice(any_ctx: Context) -> Actor:
    return _actor(any_ctx, "Clinic A")


def test_a_mixed_file_creates_drafts_only_for_the_services_that_need_approval(
    any_ctx: Context, alice: Actor
) -> None:
    summary = import_schedule(any_ctx, alice, MIXED, now=NOW)

    assert summary.rows_read == 6  # the blank line is not a row
    assert len(summary.created) == 2
    assert (summary.already_imported, summary.not_required, summary.unknown) == (0, 1, 1)
    assert summary.invalid == 2
    drafts = requests.list_requests(any_ctx, alice)
    assert sorted(r.patient.last_name for r in drafts) == ["Alpha", "Bravo"]
    assert all(r.status is Status.DRAFT for r in drafts)
    bravo = next(r for r in drafts if r.patient.last_name == "Bravo")
    assert bravo.lines[0].diagnoses == ("H02.831", "H02.834")
    assert bravo.requirement[0]["decision"] == "required"  # captured as create_request does


def test_importing_the_same_file_again_creates_nothing_and_reports_already_imported(
    any_ctx: Context, alice: Actor
) -> None:
    first = import_schedule(any_ctx, alice, MIXED, now=NOW)
    second = import_schedule(any_ctx, alice, MIXED, now=NOW + dt.timedelta(hours=1))

    assert second.created == []
    assert second.already_imported == 2
    assert len(requests.list_requests(any_ctx, alice)) == len(first.created) == 2


def test_another_organization_importing_the_same_file_gets_its_own_drafts(
    any_ctx: Context, alice: Actor
) -> None:
    bob = _actor(any_ctx, "Clinic B")
    import_schedule(any_ctx, alice, MIXED, now=NOW)
    theirs = import_schedule(any_ctx, bob, MIXED, now=NOW)
    assert len(theirs.created) == 2
    assert theirs.already_imported == 0


def test_services_within_seven_days_needing_approval_are_listed_as_due_soon(
    any_ctx: Context, alice: Actor
) -> None:
    summary = import_schedule(any_ctx, alice, MIXED, now=NOW)

    # Row 2 (Nov 27) needs approval; row 3 (Dec 10) is too far off; row 4 needs none.
    assert summary.due_soon == [
        DueSoon(2, summary.created[0], "medicare", "15823", dt.date(2026, 11, 27))
    ]
    again = import_schedule(any_ctx, alice, MIXED, now=NOW)
    assert [item.row for item in again.due_soon] == [2]  # still without an approval


def test_an_approved_service_is_no_longer_due_soon(any_ctx: Context, alice: Actor) -> None:
    summary = import_schedule(any_ctx, alice, MIXED, now=NOW)
    request_id = summary.due_soon[0].request_id
    requests.apply_event(any_ctx, alice, request_id, "override_ready", "faxed", now=NOW)
    requests.apply_event(any_ctx, alice, request_id, "submit", now=NOW)
    approval = {
        "outcome": "approved",
        "authorization_number": "AUTH-1",
        "valid_from": "2026-11-23",
        "valid_to": "2027-02-28",
        "method": "phone",
        "reference": "CALL-1",
        "rep_name": "Rep Testname",
        "lines": [{"code": "15823", "approved_units": 1}],
    }
    requests.record_determination(any_ctx, alice, request_id, approval, now=NOW)

    assert import_schedule(any_ctx, alice, MIXED, now=NOW).due_soon == []


def test_invalid_rows_are_located_by_row_and_column_without_patient_values(
    any_ctx: Context, alice: Actor
) -> None:
    summary = import_schedule(any_ctx, alice, MIXED, now=NOW)

    located = {(e.row, e.field) for e in summary.errors}
    assert located == {
        (6, "birth_date"),
        (6, "code"),
        (8, "member_id"),
        (8, "ordering_npi"),
    }
    messages = {(e.row, e.field): e.message for e in summary.errors}
    assert messages[6, "birth_date"] == "row 6: birth_date: expected a date written YYYY-MM-DD."
    assert messages[8, "member_id"] == "row 8: member_id: this field is required."
    assert messages[6, "code"].startswith("row 6: code: '7055' is not valid")
    text = json.dumps(summary.as_dict())
    assert not [value for value in PHI if value in text]


def test_the_key_is_a_digest_of_the_appointment_or_the_identifying_fields() -> None:
    row = {"member_id": "test-0001 a", "payer_id": "Medicare", "code": "15823"}
    row["service_date"] = "2026-12-10"
    same = {"member_id": "TEST0001A", "payer_id": "medicare", "code": "15823"}
    same["service_date"] = "2026-12-10"
    key = idempotency_key("org-1", row)
    assert key == idempotency_key("org-1", same)  # the member id as payers print it differently
    assert key != idempotency_key("org-2", row)
    assert len(key) == 64 and "TEST" not in key.upper()
    appointment = idempotency_key("org-1", {**row, "appointment_id": "APPT-9"})
    assert appointment == idempotency_key("org-1", {"appointment_id": "APPT-9", "code": "15823"})


def test_two_codes_of_one_appointment_are_two_requests_not_a_repeat() -> None:
    visit = {"appointment_id": "APPT-9", "member_id": "TEST0001A", "payer_id": "medicare"}

    first = idempotency_key("org-1", {**visit, "code": "64612"})
    second = idempotency_key("org-1", {**visit, "code": "J0585"})

    assert first != second


def test_a_malformed_csv_is_refused_with_its_line_and_nothing_is_imported(
    any_ctx: Context, alice: Actor, tmp_path: Path
) -> None:
    header = (
        "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,"
        "units,pos,diagnoses,service_date,ordering_npi,rendering_npi\n"
    )
    bad = tmp_path / "bad.csv"
    # A field longer than the csv module's limit (131,072 characters) is what a broken export
    # with an unclosed quote produces; the reader raises csv.Error on it.
    runaway = "x" * 200_000
    bad.write_text(header + f"Testpatient,Alpha,1980-01-01,T1,medicare,,TX,15823,1,22,{runaway}\n")

    with pytest.raises(InvalidInput) as refused:
        import_schedule(any_ctx, alice, bad, now=NOW)

    assert "line 2 is not valid CSV" in refused.value.message
    assert "Testpatient" not in refused.value.message


def test_a_header_missing_columns_names_them_and_imports_nothing(
    any_ctx: Context, alice: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "short.csv"
    path.write_text("patient_first_name,patient_last_name,payer_id,code\nA,B,medicare,15823\n")

    with pytest.raises(InvalidInput) as caught:
        import_schedule(any_ctx, alice, path, now=NOW)

    assert caught.value.issues[0].message == (
        f"{path}: the header is missing the columns birth_date, member_id, plan, state, units, "
        "pos, diagnoses, service_date, ordering_npi, rendering_npi"
    )
    assert requests.list_requests(any_ctx, alice) == []


def test_a_byte_order_mark_and_crlf_are_read_like_any_file(
    any_ctx: Context, alice: Actor, tmp_path: Path
) -> None:
    row = (
        "Testpatient,Foxtrot,1981-01-01,TEST-0006-F,medicare,medicare-ffs,TX,15823,1,22,H02.831,"
        "2026-12-01,1234567893,1234567893"
    )
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + row + "\r\n").encode("utf-8"))

    summary = import_schedule(any_ctx, alice, path, now=NOW)

    assert (summary.rows_read, len(summary.created), summary.errors) == (1, 1, [])


def test_a_viewer_cannot_import(any_ctx: Context) -> None:
    viewer = _actor(any_ctx, "Clinic V", Role.VIEWER)
    with pytest.raises(PermissionDenied) as caught:
        import_schedule(any_ctx, viewer, MIXED, now=NOW)
    assert str(caught.value) == "viewers cannot import schedules; ask an admin or specialist"


def _schedule(tmp_path: Path, codes: list[str], *, name: str = "chunks.csv") -> Path:
    """One row per code, each its own appointment, all needing approval from Medicare."""
    rows = [HEADER + ",appointment_id"]
    for n, code in enumerate(codes):
        rows.append(
            f"Testpatient,Row{n},1980-01-01,TEST-10{n:02d},medicare,medicare-ffs,TX,{code},1,22,"
            f"H02.831,2026-12-15,1234567893,1234567893,APPT-{n}"
        )
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_chunk_the_database_refuses_saves_none_of_its_rows_and_a_rerun_completes_the_file(
    ctx: Context, tmp_path: Path
) -> None:
    from sqlalchemy import text

    alice = _actor(ctx, "Clinic A")

    # Rows 2-3 are chunk 1, rows 4-5 chunk 2 (row 5 refused by the database), row 6 chunk 3.
    path = _schedule(tmp_path, ["15823", "15823", "15823", "67900", "15823"])
    with ctx.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_67900 BEFORE INSERT ON service_lines "
                "WHEN NEW.code = '67900' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    done: list[int] = []

    with pytest.raises(Exception, match="refused"):
        import_schedule(ctx, alice, path, now=NOW, chunk_rows=2, progress=done.append)

    saved = requests.list_requests(ctx, alice)
    assert sorted(r.patient.last_name for r in saved) == ["Row0", "Row1"]  # chunk 2 left nothing
    assert done == [2]
    with ctx.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_67900"))
    again = import_schedule(ctx, alice, path, now=NOW, chunk_rows=2)
    assert (len(again.created), again.already_imported) == (3, 2)
    assert len(requests.list_requests(ctx, alice)) == 5


def test_one_audit_event_records_the_whole_import_with_its_counts(
    any_ctx: Context, alice: Actor
) -> None:
    from precert.services.audit import events_for

    import_schedule(any_ctx, alice, MIXED, now=NOW)

    events = [e for e in events_for(any_ctx, alice.organization_id) if e.actor == alice.email]
    assert [(e.action, e.entity_id, e.reason) for e in events] == [
        ("create", "*", "schedule import: 6 rows read, 2 created, 0 already imported, 2 invalid")
    ]


def test_the_same_appointment_twice_in_one_file_is_one_draft(
    any_ctx: Context, alice: Actor, tmp_path: Path
) -> None:
    path = _schedule(tmp_path, ["15823", "15823"])
    path.write_text(path.read_text().replace("APPT-1", "APPT-0"), encoding="utf-8")

    summary = import_schedule(any_ctx, alice, path, now=NOW)

    assert (len(summary.created), summary.already_imported) == (1, 1)


def test_an_imported_draft_reads_back_like_one_created_through_the_api(
    any_ctx: Context, alice: Actor, tmp_path: Path
) -> None:
    path = _schedule(tmp_path, ["15823"])
    summary = import_schedule(any_ctx, alice, path, now=NOW)
    payload = {
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "urgency": "standard",
        "patient": {
            "first_name": "Testpatient",
            "last_name": "Row0",
            "birth_date": "1980-01-01",
            "member_id": "TEST-1000",
        },
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": "15823",
                "units": 1,
                "pos": "22",
                "diagnoses": ["H02.831"],
                "from": "2026-12-15",
                "to": "2026-12-15",
            }
        ],
    }
    made = requests.create_request(any_ctx, alice, payload, now=NOW)

    imported = requests.get_request(any_ctx, alice, summary.created[0])
    direct = requests.get_request(any_ctx, alice, made.id)
    same = ("patient", "coverage", "lines", "requirement", "status", "urgency", "created_at")
    for name in same:
        assert getattr(imported.request, name) == getattr(direct.request, name), name
    assert imported.next_action_at == direct.next_action_at
    assert [(e.kind, e.to_status) for e in imported.timeline] == [("created", Status.DRAFT)]
    found = requests.list_requests(any_ctx, alice, member_id="TEST1000")
    assert len(found) == 2  # the blind index was written the same way
