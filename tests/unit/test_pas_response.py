"""Reading PAS responses: every IG example maps, each review action lands on the right outcome,
and malformed responses raise InvalidInput naming the element, never anything else."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.pas_fixtures import EXAMPLES, load, make_request, response_examples

from precert.channels.fhir.pas_response import (
    EXT_AUTHORIZED_DETAIL,
    EXT_PREAUTH_ISSUE_DATE,
    EXT_PREAUTH_PERIOD,
    EXT_REVIEW_ACTION,
    EXT_REVIEW_ACTION_CODE,
    PasResult,
    ResultKind,
    ReviewAction,
    read_response,
)
from precert.domain.authorizations import Event
from precert.domain.determinations import (
    LineDecision,
    LineStatus,
    Method,
    Outcome,
    event_for,
    validate_determination,
)
from precert.errors import InvalidInput

X12_306 = "https://codesystem.x12.org/005010/306"

EXPECTED_KIND = {
    "Bundle-ErrorResponseBundleExample.json": {
        "2.0.1": ResultKind.DECIDED,  # the 2.0.1 "error" example carries an A1 item
        "2.2.1": ResultKind.ERROR,
    },
    "Bundle-ReferralPendingAuthorizationResponseBundleExample.json": ResultKind.PENDED,
    "ClaimResponse-PractitionerRequestorPendingResponseExample.json": ResultKind.PENDED,
    "ClaimResponse-ErrorResponseExample.json": ResultKind.ERROR,
    "OperationOutcome-InvalidRequestResponse.json": ResultKind.ERROR,
}


def _kind(path: Path) -> ResultKind:
    expected = EXPECTED_KIND.get(path.name, ResultKind.DECIDED)
    return expected[path.parent.name] if isinstance(expected, dict) else expected


def test_the_corpus_holds_responses_of_both_versions() -> None:
    assert {p.parent.name for p in response_examples()} == {"2.0.1", "2.2.1"}
    assert len(response_examples()) >= 15


@pytest.mark.parametrize("path", response_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_ig_example_response_maps(path: Path) -> None:
    result = read_response(load(path))
    assert result.kind is _kind(path)
    if result.kind is ResultKind.ERROR:
        assert result.issues and all(i.location and i.message for i in result.issues)
        assert result.determination is None
        return
    d = result.determination
    assert d is not None and d.method is Method.FHIR
    if result.kind is ResultKind.PENDED:
        assert d.outcome is Outcome.PENDED and result.reference == "PEND0001"
        assert event_for(d) is Event.PAYER_PENDED
    elif d.outcome is Outcome.APPROVED:
        assert d.authorization_number == "AUTH0001"
        assert [line.status for line in d.lines] == [LineStatus.APPROVED]
    else:
        assert d.outcome is Outcome.DENIED
        assert [line.status for line in d.lines] == [LineStatus.DENIED]


def test_the_approval_example_gives_number_window_issue_date_and_provider() -> None:
    path = EXAMPLES / "2.2.1" / "Bundle-ReferralAuthorizationResponseBundleExample.json"
    d = read_response(load(path)).determination
    assert d is not None
    assert d.outcome is Outcome.APPROVED
    assert (d.valid_from, d.valid_to) == (dt.date(2005, 5, 2), dt.date(2005, 6, 2))
    assert d.decision_date == dt.date(2005, 5, 2)
    assert d.provider_npi == "1234567893"  # the authorized Practitioner's NPI, from the Bundle
    assert d.lines == (LineDecision("3", 1, LineStatus.APPROVED),)


def test_the_error_example_names_the_failing_element_and_reject_codes() -> None:
    path = EXAMPLES / "2.2.1" / "Bundle-ErrorResponseBundleExample.json"
    issues = read_response(load(path)).issues
    assert [i.code for i in issues] == ["x12-04", "x12-T4"]
    assert issues[1].location == "Bundle.entry[1].Organization.name"
    assert "follow-up action C" in issues[1].message


# -- synthetic responses for the review actions the examples lack ------------------------------


def _item(
    sequence: int,
    action: str,
    *,
    number: str = "",
    reason: str = "",
    period: tuple[str, str] | None = None,
    detail: tuple[str, int] | None = None,
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {
            "url": EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": {"coding": [{"system": X12_306, "code": action}]},
        }
    ]
    if number:
        parts.append({"url": "number", "valueString": number})
    if reason:
        parts.append({"url": "reasonCode", "valueCodeableConcept": {"coding": [{"code": reason}]}})
    extensions: list[dict[str, Any]] = [{"url": EXT_PREAUTH_ISSUE_DATE, "valueDate": "2030-03-01"}]
    if period:
        extensions.append(
            {"url": EXT_PREAUTH_PERIOD, "valuePeriod": {"start": period[0], "end": period[1]}}
        )
    if detail:
        extensions.append(
            {
                "url": EXT_AUTHORIZED_DETAIL,
                "extension": [
                    {
                        "url": "productOrServiceCode",
                        "valueCodeableConcept": {"coding": [{"code": detail[0]}]},
                    },
                    {"url": "quantity", "valueQuantity": {"value": detail[1]}},
                ],
            }
        )
    return {
        "extension": extensions,
        "itemSequence": sequence,
        "adjudication": [
            {
                "category": {"coding": [{"code": "submitted"}]},
                "extension": [{"url": EXT_REVIEW_ACTION, "extension": parts}],
            }
        ],
    }


def _response(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    claim_response = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "use": "preauthorization",
        "created": "2030-03-01T10:00:00Z",
        "outcome": "complete",
        "item": list(items),
        **extra,
    }
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": claim_response}]}


LINES = make_request().lines  # 70551 x1, J1745 x3
WINDOW = ("2030-03-02", "2030-05-01")


def _read(*items: dict[str, Any], **extra: Any) -> PasResult:
    return read_response(_response(*items, **extra), lines=LINES)


def test_all_lines_certified_is_an_approval_with_the_requested_units() -> None:
    result = _read(
        _item(1, "A1", number="AUTH-9", period=WINDOW),
        _item(2, "A1", number="AUTH-9", period=WINDOW),
    )
    d = result.determination
    assert d is not None and d.outcome is Outcome.APPROVED
    assert d.authorization_number == "AUTH-9"
    assert (d.valid_from, d.valid_to) == (dt.date(2030, 3, 2), dt.date(2030, 5, 1))
    assert d.lines == (LineDecision("70551", 1), LineDecision("J1745", 3))
    assert event_for(d) is Event.APPROVE


def test_a_read_decision_can_be_recorded_on_the_request_it_answers() -> None:
    request = make_request()
    approval = _read(
        _item(1, "A1", number="N-1", period=WINDOW),
        _item(2, "A6", number="N-1", period=WINDOW, detail=("J1745", 2)),
    )
    denial = _read(_item(1, "A3", reason="85"), _item(2, "A3", reason="85"))
    for result in (approval, denial):
        assert result.determination is not None
        assert validate_determination(request, result.determination) == []


def test_one_line_denied_is_a_partial_approval_with_the_reason() -> None:
    d = _read(
        _item(1, "A1", number="AUTH-9", period=WINDOW), _item(2, "A3", reason="85")
    ).determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    assert d.lines[1] == LineDecision("J1745", 0, LineStatus.DENIED)
    assert d.reason_codes == ("85",)
    assert event_for(d) is Event.PARTIALLY_APPROVE


def test_certified_partial_gives_the_fewer_units_approved() -> None:
    d = _read(
        _item(1, "A1", number="A", period=WINDOW),
        _item(2, "A2", number="A", period=WINDOW, detail=("J1745", 2)),
    ).determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    assert d.lines[1] == LineDecision("J1745", 2, LineStatus.MODIFIED)


def test_modified_to_another_code_in_authorized_detail() -> None:
    d = _read(_item(1, "A6", number="M-1", period=WINDOW, detail=("70553", 1))).determination
    assert d is not None and d.outcome is Outcome.PARTIALLY_APPROVED
    assert d.lines == (LineDecision("70551", 1, LineStatus.MODIFIED, "70553"),)


def test_modified_approval_named_in_an_add_item() -> None:
    add = {
        "itemSequence": [2],
        "productOrService": {"coding": [{"code": "J1746"}]},
        "quantity": {"value": 2},
    }
    d = _read(
        _item(1, "A1", number="M-2", period=WINDOW),
        _item(2, "A6", number="M-2", period=WINDOW),
        addItem=[add],
    ).determination
    assert d is not None
    assert d.lines[1] == LineDecision("J1745", 2, LineStatus.MODIFIED, "J1746")


def test_all_lines_denied_is_a_denial() -> None:
    d = _read(_item(1, "A3", reason="85"), _item(2, "A3", reason="85")).determination
    assert d is not None and d.outcome is Outcome.DENIED and d.reason_codes == ("85",)
    assert event_for(d) is Event.DENY


def test_no_authorization_required() -> None:
    d = _read(_item(1, "NA"), _item(2, "NA")).determination
    assert d is not None and d.outcome is Outcome.NOT_REQUIRED
    assert event_for(d) is Event.PAYER_NOT_REQUIRED


def test_contact_payer_and_cancelled() -> None:
    contact = _read(_item(1, "CT"), _item(2, "A1", number="X"))
    assert contact.kind is ResultKind.CONTACT_PAYER
    assert contact.determination is not None and contact.determination.outcome is Outcome.PENDED
    cancelled = _read(_item(1, "C"), _item(2, "C"))
    assert cancelled.kind is ResultKind.CANCELLED and cancelled.determination is None
    assert [i.action for i in cancelled.items] == [ReviewAction.CANCELLED] * 2


def test_the_number_falls_back_to_pre_auth_ref_and_the_window_to_pre_auth_period() -> None:
    d = _read(
        _item(1, "A1"),
        _item(2, "A1"),
        preAuthRef="REF-77",
        preAuthPeriod={"start": "2030-03-02", "end": "2030-06-30"},
    ).determination
    assert d is not None and d.authorization_number == "REF-77"
    assert (d.valid_from, d.valid_to) == (dt.date(2030, 3, 2), dt.date(2030, 6, 30))


BAD: list[tuple[str, Any, str]] = [
    ("not an object", [], "response"),
    ("unknown resource", {"resourceType": "Patient"}, "resourceType"),
    ("empty bundle", {"resourceType": "Bundle", "entry": []}, "Bundle.entry"),
    (
        "claim first",
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Claim"}}]},
        "Bundle.entry[0].resource",
    ),
    (
        "no review action",
        _response({"itemSequence": 1}),
        "Bundle.entry[0].resource.item[0].adjudication",
    ),
    (
        "no sequence",
        _response({"adjudication": []}),
        "Bundle.entry[0].resource.item[0].itemSequence",
    ),
    (
        "unknown action",
        _response(_item(1, "ZZ")),
        "Bundle.entry[0].resource.item[0].adjudication[0].extension(reviewAction).reviewActionCode",
    ),
    (
        "bad date",
        _response(_item(1, "A1", period=("2030-13-01", "2030-14-01"))),
        "Bundle.entry[0].resource.item[0].extension(itemPreAuthPeriod).start",
    ),
    ("item not a list", _response(), "Bundle.entry[0].resource.item"),
]


@pytest.mark.parametrize(("name", "document", "location"), BAD, ids=[b[0] for b in BAD])
def test_malformed_responses_name_the_element(name: str, document: Any, location: str) -> None:
    if name == "item not a list":
        document = copy.deepcopy(document)
        document["entry"][0]["resource"]["item"] = {"x": 1}
    with pytest.raises(InvalidInput) as caught:
        read_response(document, lines=LINES)
    assert [i.location for i in caught.value.issues] == [location]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "entry",
                    "resource",
                    "item",
                    "itemSequence",
                    "adjudication",
                    "extension",
                    "url",
                    "valueCodeableConcept",
                    "coding",
                    "code",
                    "error",
                    "created",
                    "addItem",
                    "valuePeriod",
                    "start",
                    "issue",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_reads_or_raises_invalid_input_only(document: object) -> None:
    try:
        read_response(document)
    except InvalidInput as error:
        assert error.issues and error.issues[0].location


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_an_approval_with_one_element_replaced_reads_or_raises_invalid_input(data: Any) -> None:
    document = _response(_item(1, "A1", number="N", period=WINDOW, detail=("70551", 1)))
    item = document["entry"][0]["resource"]["item"][0]
    path = data.draw(st.sampled_from(["item", "adjudication", "extension", "ext0", "review"]))
    value = data.draw(JSON)
    if path == "item":
        document["entry"][0]["resource"]["item"][0] = value
    elif path == "adjudication":
        item["adjudication"][0] = value
    elif path == "extension":
        item["extension"][1]["valuePeriod"] = value
    elif path == "ext0":
        item["extension"][0]["valueDate"] = value
    else:
        item["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"] = value
    with contextlib.suppress(InvalidInput):
        read_response(document, lines=LINES)


def test_an_undated_response_takes_the_day_it_was_received_and_is_refused_without_it() -> None:
    item = _item(1, "A3", reason="85")
    item["extension"] = []  # no review issue date
    undated = _response(item)
    del undated["entry"][0]["resource"]["created"]

    received = read_response(undated, lines=LINES, received_on=dt.date(2030, 3, 4))
    assert received.determination is not None
    assert received.determination.decision_date == dt.date(2030, 3, 4)

    with pytest.raises(InvalidInput) as refused:
        read_response(undated, lines=LINES)
    assert refused.value.issues[0].location.endswith("created")
    assert "day it was received" in refused.value.issues[0].message
