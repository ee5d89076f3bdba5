"""Recovery work from 835 denials on SQLite and PostgreSQL: the fixture and files derived from
it become the right actions (corrected claim, retro-authorization, appeal, review) with the
payer's deadlines and the evidence of the linked request; a re-import creates nothing; items are
listed, closed and audited; viewers may only read; the appeal letter says what the payer needs."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.support.requests import NOW, approval_body, pdf_document, request_body

from precert.domain.authorizations import Event
from precert.errors import InvalidInput, PermissionDenied
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor, Role, create_organization
from precert.services.audit import events_for
from precert.services.context import Context
from precert.services.documents import upload_document
from precert.services.recovery import (
    appeal_letter,
    import_remittance,
    item_view,
    mark,
    recovery_page,
)

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "x12" / "835" / "authorization-denials.835"
)
MEDICARE_X12_ID = "00882"  # a Medicare contractor listed in the Medicare pack's x12_payer_ids


def fixture_text() -> str:
    return FIXTURE.read_text()


def medicare_file() -> str:
    """The fixture as a Medicare remittance for services on 2026-12-15..19, paid 2026-12-30,
    with the denied codes changed to 15823 (the code the test requests ask for)."""
    text = fixture_text().replace("XV*SYNPAYER01", f"XV*{MEDICARE_X12_ID}")
    text = text.replace("20300115", "20261230").replace("20300114", "20261229")
    text = text.replace("2030010", "2026121")
    for code in ("HC:70553", "HC:27447", "HC:70551"):
        text = text.replace(code, "HC:15823")
    return text


def emergency_file() -> str:
    """The fixture from Acme Health (found by its name), its absent-authorization claim an
    emergency room visit (CLP08 23) on 2026-11-20, three days before the tests' today."""
    text = fixture_text().replace("N1*PR*SYNTHETIC HEALTH PLAN*XV*SYNPAYER01", "N1*PR*ACME HEALTH")
    text = text.replace("*PCN0001~", "*PCN0001*23~")
    return text.replace("20300105", "20261120")


@pytest.fixture
def clinic(any_ctx: Context) -> Actor:
    org = create_organization(any_ctx, "Clinic Recovery")
    return Actor("user-recovery", org, "recovery@example.org", Role.SPECIALIST)


def approved(ctx: Context, actor: Actor, member_id: str, number: str) -> str:
    """A Medicare 15823 request for `member_id`, approved as `number` for 2026-12-01..2027-02-28."""
    body = request_body(member_id=member_id, service_day="2026-12-16")
    request = requests.create_request(ctx, actor, body, now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.OVERRIDE_READY, "notes faxed", now=NOW)
    requests.apply_event(ctx, actor, request.id, Event.SUBMIT, now=NOW)
    decision = approval_body(authorization_number=number)
    requests.record_determination(ctx, actor, request.id, decision, now=NOW)
    return request.id


def by_claim(items: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {item["claim_id"]: item for item in items}


def test_the_fixture_alone_makes_one_review_item_per_authorization_denial(
    any_ctx: Context, clinic: Actor
) -> None:
    result = import_remittance(any_ctx, clinic, fixture_text(), "authorization-denials.835")
    view = result.as_dict()
    assert view["file"]["claims"] == 7
    assert (view["file"]["denied"], view["file"]["authorization_related"]) == (6, 5)
    assert (view["file"]["charged"], view["file"]["paid"]) == ("6850.00", "1210.00")
    items = by_claim(view["recovery_items"])
    assert sorted(items) == [
        "SYN-ABSENT-1",
        "SYN-DENIED-3",
        "SYN-EXCEEDED-2",
        "SYN-MISMATCH-4",
        "SYN-REMARK-5",
    ]
    # No pack knows SYNPAYER01: default terms, appeal window 60 days from BPR16 (2030-01-15).
    assert {i["action"] for i in items.values()} == {"review"}
    assert {i["deadline"] for i in items.values()} == {"2030-03-16"}
    assert items["SYN-EXCEEDED-2"]["amount"] == "300.00"  # only the units cut, exact
    assert items["SYN-EXCEEDED-2"]["cause"] == "authorization_exceeded"
    assert items["SYN-ABSENT-1"]["carcs"] == ["197"] and items["SYN-ABSENT-1"]["rarcs"] == ["N210"]
    assert items["SYN-REMARK-5"]["cause"] == "authorization_absent"


def test_linked_authorizations_decide_corrected_claims_and_appeals_with_medicare_deadlines(
    any_ctx: Context, clinic: Actor
) -> None:
    first = approved(any_ctx, clinic, "SYNMEM0001", "AUTH-1")
    upload_document(
        any_ctx, clinic, first, kind="other", filename="notes.pdf", data=pdf_document("notes")
    )
    third = approved(any_ctx, clinic, "SYNMEM0003", "AUTH-3")
    fourth = approved(any_ctx, clinic, "SYNMEM0004", "AUTH-4")
    result = import_remittance(any_ctx, clinic, medicare_file(), "medicare.835")
    assert result.file.payer_id == "medicare"
    items = by_claim([item_view(i) for i in result.items])

    absent = items["SYN-ABSENT-1"]  # 197 + N210, and AUTH-1 covers 15823 on 2026-12-15
    assert absent["action"] == "corrected_claim"
    assert (absent["authorization_number"], absent["request_id"]) == ("AUTH-1", first)
    assert absent["evidence"]["number_to_add"] == "AUTH-1"
    assert absent["deadline"] == "2027-12-15"  # one year of timely filing (42 CFR 424.44)
    evidence = absent["evidence"]
    assert evidence["authorization"]["valid_from"] == "2026-12-01"
    assert evidence["authorization"]["valid_to"] == "2027-02-28"
    kinds = [event["kind"] for event in evidence["timeline"]]
    assert kinds[0] == "created" and "submit" in kinds and "approve" in kinds
    assert [d["kind"] for d in evidence["documents"]] == ["other"]

    denied = items["SYN-DENIED-3"]  # CARC 39 on a service AUTH-3 covers: appeal
    assert (denied["action"], denied["request_id"]) == ("appeal", third)
    assert denied["deadline"] == "2027-04-29"  # 2026-12-30 + 120 days (redetermination)

    wrong = items["SYN-MISMATCH-4"]  # the claim carried AUTH44444; AUTH-4 covers it
    assert (wrong["action"], wrong["authorization_number"]) == ("corrected_claim", "AUTH-4")
    assert wrong["request_id"] == fourth
    assert wrong["evidence"]["numbers_on_claim"] == ["AUTH44444"]

    for claim in ("SYN-EXCEEDED-2", "SYN-REMARK-5"):  # nothing on file for those members
        assert (items[claim]["action"], items[claim]["request_id"]) == ("review", None)
    shown = json.dumps([item_view(i) for i in result.items])
    assert "SYNMEM" not in shown and "Testpatient" not in shown


def test_an_emergency_service_without_authorization_gets_a_retro_authorization_item(
    any_ctx: Context, clinic: Actor
) -> None:
    result = import_remittance(any_ctx, clinic, emergency_file(), "acme.835")
    assert result.file.payer_id == "acme-health"
    items = by_claim([item_view(i) for i in result.items])
    retro = items["SYN-ABSENT-1"]
    assert retro["action"] == "retro_authorization"
    assert retro["deadline"] == "2026-12-04"  # Acme: 14 days from the service on 2026-11-20
    assert retro["evidence"]["emergency"] == ["place of service 23 (emergency room)"]
    assert items["SYN-DENIED-3"]["deadline"] == "2030-03-16"  # Acme: 60 days from 2030-01-15


def test_a_re_import_of_the_same_file_creates_nothing_new(any_ctx: Context, clinic: Actor) -> None:
    first = import_remittance(any_ctx, clinic, fixture_text(), "a.835")
    again = import_remittance(any_ctx, clinic, fixture_text(), "renamed.835")
    assert (first.already_imported, again.already_imported) == (False, True)
    assert again.file.id == first.file.id
    assert sorted(i.id for i in again.items) == sorted(i.id for i in first.items)
    assert len(recovery_page(any_ctx, clinic, None)) == 5
    changed = fixture_text().replace("SYNCHK0001", "SYNCHK0002")  # another file
    assert not import_remittance(any_ctx, clinic, changed, "b.835").already_imported
    assert len(recovery_page(any_ctx, clinic, None)) == 10


def test_items_are_listed_by_deadline_closed_with_a_note_and_audited(
    any_ctx: Context, clinic: Actor
) -> None:
    import_remittance(any_ctx, clinic, emergency_file(), "acme.835")
    open_items = recovery_page(any_ctx, clinic)
    assert open_items[0].action == "retro_authorization"  # the soonest deadline first
    biller = Actor("user-biller", clinic.organization_id, "biller@example.org", Role.BILLER)
    done = mark(any_ctx, biller, open_items[0].id, "done", "retro auth RA-9 granted")
    assert (done.status, done.note) == ("done", "retro auth RA-9 granted")
    assert [i.id for i in recovery_page(any_ctx, clinic, "done")] == [done.id]
    assert len(recovery_page(any_ctx, clinic)) == len(open_items) - 1
    viewer = Actor("user-viewer", clinic.organization_id, "viewer@example.org", Role.VIEWER)
    assert len(recovery_page(any_ctx, viewer, "open")) == len(open_items) - 1
    with pytest.raises(PermissionDenied, match="viewers cannot change recovery items"):
        mark(any_ctx, viewer, done.id, "open")
    with pytest.raises(PermissionDenied, match="viewers cannot import remittances"):
        import_remittance(any_ctx, viewer, fixture_text(), "x.835")
    with pytest.raises(InvalidInput, match="'closed' is not one of open, done, dismissed"):
        mark(any_ctx, biller, done.id, "closed")
    actions = {(e.action, e.entity, e.reason) for e in events_for(any_ctx, clinic.organization_id)}
    assert ("mark", "recovery_item", "done") in actions
    assert ("import", "remittance_file", "5 item(s)") in actions


def test_a_file_with_no_835_in_it_is_refused_and_creates_nothing(
    any_ctx: Context, clinic: Actor
) -> None:
    not_835 = fixture_text().replace("ST*835*", "ST*837*")
    with pytest.raises(InvalidInput, match=r"x\.837: no 835 remittance could be read"):
        import_remittance(any_ctx, clinic, not_835, "x.837")
    assert recovery_page(any_ctx, clinic, None) == []


def test_the_appeal_letter_names_the_claim_the_authorization_its_timeline_and_documents(
    any_ctx: Context, clinic: Actor
) -> None:
    third = approved(any_ctx, clinic, "SYNMEM0003", "AUTH-3")
    upload_document(
        any_ctx, clinic, third, kind="other", filename="notes.pdf", data=pdf_document("notes")
    )
    result = import_remittance(any_ctx, clinic, medicare_file(), "medicare.835")
    item = next(i for i in result.items if i.claim_id == "SYN-DENIED-3")
    pdf = appeal_letter(any_ctx, clinic, item.id)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    for expected in (
        "Request for reconsideration (appeal) of a denied claim",
        "Clinic Recovery",
        "SYN-DENIED-3",
        "PCN0003",
        "2026-12-17",  # the date of service
        "15823",
        "AUTH-3",
        "valid 2026-12-01 to 2027-02-28",
        "$2,400.00",
        "39:",  # the CARC with its text
        "submit",
        "1. other",
        "This appeal is filed before 2027-04-29",
        "Testpatient Alpha",  # the payer needs the patient's name and member id
        "SYNMEM0003",
    ):
        assert expected in text, expected
    actions = {(e.action, e.entity_id) for e in events_for(any_ctx, clinic.organization_id)}
    assert ("appeal_letter", item.id) in actions
    assert item.amount == Decimal("2400.00")
    assert item.service_date == dt.date(2026, 12, 17)


def test_imported_authorizations_under_the_payers_x12_id_decide_too(
    any_ctx: Context, clinic: Actor
) -> None:
    from precert.services.authorization_records import COLUMNS, import_records

    rows = [
        ",".join(COLUMNS),
        "AUTH22222,SYNPAYER01,SYNMEM0002,97110,4,2030-01-01,2030-03-31,,,approved",
        "AUTH55555,SYNPAYER01,SYN-MEM-0005,E0601,1,2030-01-01,2030-03-31,,,approved",
    ]
    assert not import_records(any_ctx, clinic, "\n".join(rows) + "\n", "csv").errors
    result = import_remittance(any_ctx, clinic, fixture_text(), "a.835")
    items = by_claim([item_view(i) for i in result.items])
    exceeded = items["SYN-EXCEEDED-2"]  # CO-198 on units AUTH22222 covers: appeal
    assert (exceeded["action"], exceeded["authorization_number"]) == ("appeal", "AUTH22222")
    assert exceeded["deadline"] == "2030-03-16"
    assert exceeded["evidence"]["authorization"]["source"] == "import"
    absent = items["SYN-REMARK-5"]  # M62: the number was missing; found by a normalised member id
    assert (absent["action"], absent["evidence"]["number_to_add"]) == (
        "corrected_claim",
        "AUTH55555",
    )
    assert absent["deadline"] == "2030-04-09"  # 2030-01-09 + 90 days of timely filing (default)
