"""Recording a payer's decision: what each outcome and method must carry, line checks, events."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Event,
    Patient,
    ServiceLine,
    Status,
    apply,
)
from precert.domain.determinations import (
    Determination,
    LineDecision,
    LineStatus,
    Method,
    Outcome,
    event_for,
    validate_determination,
)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 23)
NPI = "1234567893"


def make_request() -> AuthorizationRequest:
    return AuthorizationRequest(
        id="req-1",
        organization_id="org-1",
        patient=Patient("Testpatient", "Beta", dt.date(1975, 5, 5), "ZZ-CANARY-456"),
        coverage=Coverage("acme", "commercial", "ZZ-CANARY-456"),
        ordering_npi=NPI,
        rendering_npi=NPI,
        lines=(
            ServiceLine("70551", 1, dt.date(2026, 12, 1), dt.date(2026, 12, 1), "22"),
            ServiceLine("97110", 12, dt.date(2026, 12, 1), dt.date(2027, 1, 31), "11"),
        ),
        created_at=NOW,
        updated_at=NOW,
        status=Status.SUBMITTED,
        awaiting_since=NOW,
    )


APPROVAL = Determination(
    outcome=Outcome.APPROVED,
    method=Method.PORTAL,
    decision_date=DAY,
    authorization_number="A123456",
    valid_from=dt.date(2026, 11, 25),
    valid_to=dt.date(2027, 2, 28),
    reference="PORTAL-778",
    lines=(LineDecision("70551", 1), LineDecision("97110", 12)),
)


def messages(determination: Determination) -> dict[str, str]:
    return {i.location: i.message for i in validate_determination(make_request(), determination)}


def test_a_complete_portal_approval_has_no_issues() -> None:
    assert validate_determination(make_request(), APPROVAL) == []


def test_an_approval_needs_an_authorization_number_and_a_valid_window() -> None:
    bare = replace(APPROVAL, authorization_number=" ", valid_from=None)

    assert messages(bare) == {
        "authorization_number": (
            "authorization_number: an approval needs the payer's authorization number; "
            "it must go on the claim."
        ),
        "valid_from": "valid_from: an approval needs its valid window (valid_from and valid_to).",
    }


def test_an_approval_window_that_ends_before_it_starts_is_refused() -> None:
    backwards = replace(APPROVAL, valid_to=dt.date(2026, 11, 24))

    assert messages(backwards) == {
        "valid_to": "valid_to: the approval ends before it starts; check the dates."
    }


def test_a_phone_decision_needs_the_representatives_name_and_the_call_reference() -> None:
    by_phone = replace(APPROVAL, method=Method.PHONE, reference="")

    assert messages(by_phone) == {
        "rep_name": "rep_name: a decision by phone needs the representative's name.",
        "reference": "reference: a decision by phone needs the call reference.",
    }
    complete = replace(by_phone, rep_name="Rep Testname", reference="CALL-991")
    assert messages(complete) == {}


def test_a_fax_decision_needs_the_confirmation_or_the_letter() -> None:
    by_fax = replace(APPROVAL, method=Method.FAX, reference="")

    assert messages(by_fax) == {
        "reference": "reference: a decision by fax needs the fax confirmation or the letter."
    }
    assert messages(replace(by_fax, letter_document_id="doc-9")) == {}


def test_a_denial_needs_the_payers_reason() -> None:
    denial = Determination(
        Outcome.DENIED, Method.X12, DAY, lines=(LineDecision("70551", 0, LineStatus.DENIED),)
    )

    assert messages(denial) == {
        "reason_codes": "reason_codes: a denial needs the payer's reason code(s)."
    }
    assert messages(replace(denial, reason_codes=("A3",))) == {}


def test_a_pended_answer_needs_no_authorization_number() -> None:
    assert messages(Determination(Outcome.PENDED, Method.FHIR, DAY, reference="NT-1")) == {}


def test_a_line_for_a_code_not_on_the_request_is_refused() -> None:
    stray = replace(APPROVAL, lines=(LineDecision("70553", 1),))

    assert messages(stray) == {
        "lines[0].code": (
            "lines[0].code: code 70553 is not on this request; decisions are per requested code."
        )
    }


def test_approved_units_must_be_at_least_one() -> None:
    zero = replace(APPROVAL, lines=(LineDecision("70551", 0),))

    assert messages(zero)["lines[0].approved_units"] == (
        "lines[0].approved_units: approved units must be at least 1."
    )


def test_an_approval_with_every_line_denied_is_not_an_approval() -> None:
    none_approved = replace(APPROVAL, lines=(LineDecision("70551", 0, LineStatus.DENIED),))

    assert messages(none_approved) == {
        "lines": "lines: an approval needs at least one approved line."
    }


def test_a_partial_approval_needs_a_line_that_was_not_approved_as_asked() -> None:
    partial = replace(APPROVAL, outcome=Outcome.PARTIALLY_APPROVED)

    assert messages(partial)["lines"].startswith(
        "lines: a partial approval needs at least one denied or modified line;"
    )


def test_a_modified_line_is_checked_as_a_procedure_code_and_a_changed_code_needs_modified() -> None:
    modified = LineDecision("70551", 1, LineStatus.MODIFIED, approved_code="7055X")
    unmarked = LineDecision("97110", 10, approved_code="97112")

    found = messages(replace(APPROVAL, lines=(modified, unmarked)))

    assert found["lines[0].approved_code"].startswith(
        "lines[0].approved_code: '7055X' is not valid;"
    )
    assert found["lines[1].approved_code"] == (
        "lines[1].approved_code: an approval for another code is a modified line; "
        "set its status to modified."
    )


def test_provider_and_facility_npis_are_checked() -> None:
    found = messages(replace(APPROVAL, provider_npi="1234567890", facility_npi="12"))

    assert set(found) == {"provider_npi", "facility_npi"}
    assert "fails the NPI check digit" in found["provider_npi"]


@pytest.mark.parametrize(
    ("determination", "event"),
    [
        (APPROVAL, Event.APPROVE),
        (
            replace(
                APPROVAL,
                lines=(LineDecision("70551", 1), LineDecision("97110", 0, LineStatus.DENIED)),
            ),
            Event.PARTIALLY_APPROVE,
        ),
        (
            replace(APPROVAL, lines=(LineDecision("97110", 8, LineStatus.MODIFIED),)),
            Event.PARTIALLY_APPROVE,
        ),
        (replace(APPROVAL, outcome=Outcome.PARTIALLY_APPROVED), Event.APPROVE),
        (Determination(Outcome.DENIED, Method.X12, DAY), Event.DENY),
        (Determination(Outcome.NOT_REQUIRED, Method.PORTAL, DAY), Event.PAYER_NOT_REQUIRED),
        (Determination(Outcome.PENDED, Method.FHIR, DAY), Event.PAYER_PENDED),
    ],
    ids=[
        "approved",
        "some-denied",
        "modified",
        "partial-all-approved",
        "denied",
        "not-required",
        "pended",
    ],
)
def test_each_outcome_maps_to_its_status_event(determination: Determination, event: Event) -> None:
    assert event_for(determination) is event


def test_a_determination_moves_the_request_through_its_event() -> None:
    partial = replace(
        APPROVAL, lines=(LineDecision("70551", 1), LineDecision("97110", 0, LineStatus.DENIED))
    )

    decided, event = apply(
        make_request(),
        event_for(partial),
        at=NOW,
        actor="u",
        data={"determination": partial.as_dict()},
    )

    assert decided.status is Status.PARTIALLY_APPROVED
    assert event.data["determination"]["authorization_number"] == "A123456"
    assert event.data["determination"]["lines"][1] == {
        "code": "97110",
        "approved_units": 0,
        "status": "denied",
        "approved_code": None,
    }
