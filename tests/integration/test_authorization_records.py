"""Authorization records on SQLite and PostgreSQL: importing a team's CSV or JSON (bad rows
reported by row and column, good rows kept, a re-import replacing), records derived from our own
requests' decisions in a few queries however many requests there are, export and re-import, the
units ledger of earlier claim files, and the parser under fuzzing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from tests.support.requests import NOW, approval_body, denial_body, request_body

from precert.domain.authorizations import Event
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus, Setting
from precert.errors import InvalidInput, NotFound
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_for
from precert.services.authorization_records import (
    COLUMNS,
    OrganizationActor,
    export_records,
    import_records,
    organization_actor,
    parse_records,
    record_usage,
    records_for,
    usage_before,
)
from precert.services.context import Context
from precert.store.authorization_records import UsageRow

HEADER = ",".join(COLUMNS)
GOOD = "PA-100,medicare,MBR-0001-A,70551;70553,2,2026-12-01,2027-02-28,1234567893,,approved"


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


@pytest.fixture
def clinic(any_ctx: Context) -> Actor:
    org = create_organization(any_ctx, "Clinic Records")
    return Actor("user-records", org, "records@example.org", Role.SPECIALIST)


def _imported(ctx: Context, org: str) -> list[AuthorizationRecord]:
    return [r for r in records_for(ctx, org) if r.source == "import"]


def test_good_rows_are_kept_and_found_by_member_id_however_it_is_written(
    any_ctx: Context, clinic: Actor
) -> None:
    other = "PA-200,medicare,MBR-0002-B,J0585,,2026-12-01,2026-12-31,,1245319599,denied"
    result = import_records(any_ctx, clinic, _csv(GOOD, other), "csv")
    assert (result.rows_read, result.imported, result.replaced, result.errors) == (2, 2, 0, ())
    found = records_for(any_ctx, clinic.organization_id, member_ids=["mbr 0001 a"])
    assert found == [
        AuthorizationRecord(
            number="PA-100",
            payer_id="medicare",
            member_id="MBR-0001-A",
            status=AuthorizationStatus.APPROVED,
            codes=frozenset({"70551", "70553"}),
            total_units=2,
            valid_from=dt.date(2026, 12, 1),
            valid_to=dt.date(2027, 2, 28),
            rendering_npi="1234567893",
            source="import",
        )
    ]
    assert records_for(any_ctx, clinic.organization_id, payer_ids=["aetna"]) == []
    actions = [(e.action, e.entity) for e in events_for(any_ctx, clinic.organization_id)]
    assert ("import", "authorization_records") in actions


def test_every_bad_row_is_reported_by_row_and_column_and_the_good_rows_are_kept(
    any_ctx: Context, clinic: Actor
) -> None:
    text = "\ufeff" + _csv(
        GOOD,
        "PA-101,medicare,MBR-3,70551,1,2026-13-01,2027-01-31,,,approved",
        "PA-102,medicare,MBR-4,70551,1,2026-12-01,2027-01-31,1234567890,,approved",
        "PA-103,medicare,MBR-5,70551,1,2026-12-01,2027-01-31,,,maybe",
        "PA-104,medicare,MBR-6,,1,2026-12-01,2027-01-31,,,approved",
        "PA-105,medicare,,70551,1,2026-12-01,2027-01-31,,,approved",
        "PA-106,medicare,MBR-7,70551,1,2026-12-01,,,,approved",
        "PA-107,medicare,MBR-8,70551,1,2026-12-01,2027-01-31,,,approved,surplus",
        "",
    )
    result = import_records(any_ctx, clinic, text, "csv")
    assert (result.rows_read, result.imported, result.invalid) == (8, 1, 7)
    by_row = {error.row: (error.column, error.message) for error in result.errors}
    assert by_row[3] == (
        "valid_from",
        "row 3: valid_from: '2026-13-01' is not valid; expected a date written YYYY-MM-DD "
        "such as 2026-12-01.",
    )
    assert by_row[4][0] == "rendering_npi"
    assert "fails the NPI check digit" in by_row[4][1]
    assert by_row[5] == (
        "status",
        "row 5: status 'maybe' is not known; write one of approved, partially_approved, "
        "denied, pending, expired, cancelled.",
    )
    assert by_row[6] == (
        "codes",
        "row 6: codes is empty; list the authorized CPT/HCPCS codes separated by ';' "
        "(such as 70551;70553).",
    )
    assert by_row[7] == (
        "member_id",
        "row 7: member_id is empty; fill in the member id from the insurance card.",
    )
    assert by_row[8][0] == "valid_to"
    assert "an approval needs its valid window" in by_row[8][1]
    assert "11 values but the header names 10 columns" in by_row[9][1]
    assert [r.number for r in _imported(any_ctx, clinic.organization_id)] == ["PA-100"]


def test_member_ids_never_appear_in_the_messages(any_ctx: Context, clinic: Actor) -> None:
    row = "PA-9,medicare,SECRET-MEMBER-9,7055,1,2026-12-01,2027-01-31,,,approved"
    result = import_records(any_ctx, clinic, _csv(row), "csv")
    assert result.errors and all("SECRET-MEMBER" not in e.message for e in result.errors)


def test_a_missing_column_refuses_the_file_naming_the_column_and_extra_ones_are_ignored(
    any_ctx: Context, clinic: Actor
) -> None:
    header = HEADER.replace(",facility_npi", "")
    with pytest.raises(InvalidInput) as refused:
        import_records(any_ctx, clinic, _csv("x", header=header), "csv")
    assert refused.value.message.startswith("The file has no column facility_npi;")
    assert _imported(any_ctx, clinic.organization_id) == []
    result = import_records(any_ctx, clinic, _csv(GOOD + ",note", header=HEADER + ",Notes"), "csv")
    assert result.imported == 1
    assert result.warnings == ("Ignored the column(s) notes: not a known column.",)


def test_a_reimport_of_the_same_number_payer_and_member_replaces_it(
    any_ctx: Context, clinic: Actor
) -> None:
    import_records(any_ctx, clinic, _csv(GOOD), "csv")
    updated = GOOD.replace(",2,", ",5,").replace("MBR-0001-A", "mbr0001a")
    other_member = GOOD.replace("MBR-0001-A", "MBR-0009-Z")
    result = import_records(any_ctx, clinic, _csv(updated, other_member), "csv")
    assert (result.imported, result.replaced) == (2, 1)
    units = {r.member_id: r.total_units for r in _imported(any_ctx, clinic.organization_id)}
    assert units == {"mbr0001a": 5, "MBR-0009-Z": 2}


def test_json_imports_take_codes_as_a_list_and_report_items_by_number(
    any_ctx: Context, clinic: Actor, tmp_path: Path
) -> None:
    good: dict[str, Any] = dict(zip(COLUMNS, GOOD.split(","), strict=True))
    good.update(codes=["70551", "70553"], units=2, facility_npi=None)
    missing = {k: v for k, v in good.items() if k != "status"}
    path = tmp_path / "auths.json"
    path.write_text(json.dumps([good, missing, "not an object"]))
    result = import_records(any_ctx, clinic, path)
    assert result.imported == 1
    assert [(e.row, e.column) for e in result.errors] == [(2, "status"), (3, "")]
    assert result.errors[0].message == "item 2: no status; add the key (null if empty)."
    with pytest.raises(InvalidInput, match="must be a list of objects"):
        import_records(any_ctx, clinic, '{"a": 1}', "json")


def _decided(ctx: Context, actor: Actor, body: dict[str, Any], decision: dict[str, Any]) -> str:
    request = requests.create_request(ctx, actor, body, now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.OVERRIDE_READY, "notes faxed", now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.SUBMIT, now=NOW)
    if decision:
        requests.record_determination(ctx, actor, request.id, decision, now=NOW)
    return request.id


def _two_lines(member_id: str) -> dict[str, Any]:
    body = request_body(member_id=member_id)
    extra = {**body["services"][0], "code": "15822", "units": 2}
    body["services"] = [body["services"][0], extra]
    return body


def test_our_requests_decisions_become_records_with_codes_units_window_and_providers(
    any_ctx: Context, clinic: Actor
) -> None:
    approved = _decided(any_ctx, clinic, request_body(member_id="MBR-A"), approval_body())
    partial = approval_body(
        authorization_number="AUTH-900",
        outcome="partially_approved",
        lines=[
            {"code": "15823", "approved_units": 1, "status": "modified", "approved_code": "15820"},
            {"code": "15822", "approved_units": 0, "status": "denied"},
        ],
    )
    partly = _decided(any_ctx, clinic, _two_lines("MBR-B"), partial)
    denied = _decided(any_ctx, clinic, request_body(member_id="MBR-C"), denial_body())
    waiting = _decided(any_ctx, clinic, request_body(member_id="MBR-D"), {})
    requests.create_request(any_ctx, clinic, request_body(member_id="MBR-E"), now=NOW)  # a draft
    found = {r.request_id: r for r in records_for(any_ctx, clinic.organization_id)}
    assert set(found) == {approved, partly, denied, waiting}
    assert found[approved] == AuthorizationRecord(
        number="AUTH-778",
        payer_id="medicare",
        member_id="MBR-A",
        status=AuthorizationStatus.APPROVED,
        codes=frozenset({"15823"}),
        units={"15823": 1},
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2027, 2, 28),
        rendering_npi="1234567893",
        setting=Setting.OUTPATIENT,  # pos 22
        source="request",
        request_id=approved,
    )
    assert found[partly].codes == frozenset({"15820"})
    assert found[partly].denied_codes == frozenset({"15822"})
    assert found[partly].status is AuthorizationStatus.PARTIALLY_APPROVED
    assert found[denied].status is AuthorizationStatus.DENIED
    assert found[denied].denied_codes == frozenset({"15823"})
    assert found[denied].codes == frozenset()
    assert (found[waiting].status, found[waiting].number) == ("pending", "")
    only_b = records_for(any_ctx, clinic.organization_id, member_ids=["mbr-b"])
    assert [r.request_id for r in only_b] == [partly]
    # A claim file naming thousands of members takes the one-pass path: the same answer.
    many = ["mbr b", *(f"OTHER-{n}" for n in range(2_500))]
    assert records_for(any_ctx, clinic.organization_id, member_ids=many) == only_b
    stranger = create_organization(any_ctx, "Clinic Elsewhere")
    assert records_for(any_ctx, stranger) == []


@contextmanager
def _statements(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)


def test_deriving_records_costs_the_same_few_queries_for_many_requests_as_for_one(
    any_ctx: Context, clinic: Actor
) -> None:
    _decided(any_ctx, clinic, request_body(member_id="MBR-0"), approval_body())
    with _statements(any_ctx) as one:
        assert len(records_for(any_ctx, clinic.organization_id)) == 1
    for n in range(1, 6):
        _decided(any_ctx, clinic, request_body(member_id=f"MBR-{n}"), approval_body())
    with _statements(any_ctx) as six:
        assert len(records_for(any_ctx, clinic.organization_id)) == 6
    assert len(six) == len(one) <= 6


def test_an_export_imports_elsewhere_to_the_same_records(any_ctx: Context, clinic: Actor) -> None:
    _decided(any_ctx, clinic, request_body(member_id="MBR-A"), approval_body())
    import_records(any_ctx, clinic, _csv(GOOD), "csv")
    _decided(any_ctx, clinic, request_body(member_id="MBR-D"), {})  # no number yet: left out
    elsewhere = OrganizationActor(create_organization(any_ctx, "Clinic Copy"), "copy@example.org")
    for format in ("csv", "json"):
        data = export_records(any_ctx, clinic, format)
        result = import_records(any_ctx, elsewhere, data.decode(), format)
        assert (result.imported, result.errors) == (2, ())
    copied = {
        (r.number, r.member_id, r.total_units, r.codes, r.status)
        for r in _imported(any_ctx, elsewhere.organization_id)
    }
    assert copied == {
        ("PA-100", "MBR-0001-A", 2, frozenset({"70551", "70553"}), "approved"),
        ("AUTH-778", "MBR-A", 1, frozenset({"15823"}), "approved"),
    }
    actions = [e.action for e in events_for(any_ctx, clinic.organization_id)]
    assert actions.count("export") == 2


def test_an_unknown_organization_is_named_as_the_thing_to_fix(any_ctx: Context) -> None:
    with pytest.raises(NotFound, match="--org: no organization is named 'Nobody'"):
        organization_actor(any_ctx, "Nobody")


def test_units_billed_are_counted_once_per_claim_line_across_files(
    any_ctx: Context, clinic: Actor
) -> None:
    org = clinic.organization_id
    first = [
        UsageRow("PA-100", "70551", "CLM-1", 1, 2, "file-1"),
        UsageRow("PA-100", "70551", "CLM-1", 2, 1, "file-1"),
        UsageRow("PA-200", "*", "CLM-2", 1, 4, "file-1"),
    ]
    record_usage(any_ctx, org, first)
    record_usage(any_ctx, org, first)  # the same file scrubbed again
    record_usage(any_ctx, org, [UsageRow("PA-100", "70551", "CLM-3", 1, 3, "file-2")])
    assert usage_before(any_ctx, org, ["PA-100", "PA-200", "PA-300"]) == {
        ("PA-100", "70551"): 6,
        ("PA-200", "*"): 4,
    }
    assert usage_before(any_ctx, org, ["PA-100"], excluding_file="file-2") == {
        ("PA-100", "70551"): 3
    }
    stranger = create_organization(any_ctx, "Clinic Other")
    assert usage_before(any_ctx, stranger, ["PA-100"]) == {}


# -- the parser alone (pure) -----------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_either_refused_as_a_file_or_parsed_into_rows_and_errors(text: str) -> None:
    for body in (text, HEADER + "\n" + text):
        try:
            parsed = parse_records(body, "csv")
        except InvalidInput as refused:
            assert refused.message
            continue
        assert len(parsed.records) + len({e.row for e in parsed.errors}) <= parsed.rows_read


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, min_size=10, max_size=10), max_size=5))
def test_every_written_row_is_kept_or_reported_with_a_known_column(
    rows: list[list[str]],
) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    parsed = parse_records(out.getvalue(), "csv")
    bad_rows = {error.row for error in parsed.errors}
    assert len(parsed.records) + len(bad_rows) == parsed.rows_read
    assert {error.column for error in parsed.errors} <= {*COLUMNS, ""}
