"""The PAS profile checks: every IG example request passes, every broken rule is located, and
nothing a client sends makes them crash. Also our errors as OperationOutcomes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.pas_fixtures import EXAMPLES, load, make_request, request_examples

from precert.channels.fhir.operation_outcome import operation_outcome
from precert.channels.fhir.pas_bundle import build_request_bundle, update_bundle
from precert.channels.fhir.pas_checks import check_request_bundle, require_valid_request
from precert.errors import InvalidInput, Issue, NotFound

CLAIM = "Bundle.entry[0].resource"


def test_the_corpus_holds_request_examples_of_both_versions() -> None:
    versions = {p.parent.name for p in request_examples()}
    assert versions == {"2.0.1", "2.2.1"}
    assert len(request_examples()) >= 12


@pytest.mark.parametrize("path", request_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_ig_example_request_bundle_passes(path: Path) -> None:
    assert check_request_bundle(load(path)) == []


def _built() -> dict[str, Any]:
    return build_request_bundle(make_request())


def _claim(bundle: dict[str, Any]) -> dict[str, Any]:
    claim: dict[str, Any] = bundle["entry"][0]["resource"]
    return claim


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda b: _claim(b).pop(name)


def _drop_item(i: int, name: str) -> Callable[[dict[str, Any]], None]:
    return lambda b: _claim(b)["item"][i].pop(name)


def _second_claim_extension_gone(b: dict[str, Any]) -> None:
    item = _claim(b)["item"][1]
    item["extension"] = [e for e in item["extension"] if "certificationType" not in e["url"]]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("use", lambda b: _claim(b).update(use="claim"), "invalid", f"{CLAIM}.use"),
    ("patient", _drop("patient"), "required", f"{CLAIM}.patient"),
    ("insurer", _drop("insurer"), "required", f"{CLAIM}.insurer"),
    ("provider", _drop("provider"), "required", f"{CLAIM}.provider"),
    ("priority", _drop("priority"), "required", f"{CLAIM}.priority"),
    ("insurance", _drop("insurance"), "required", f"{CLAIM}.insurance"),
    ("item", _drop("item"), "required", f"{CLAIM}.item"),
    (
        "code",
        _drop_item(1, "productOrService"),
        "required",
        f"{CLAIM}.item[1].productOrService",
    ),
    ("sequence", _drop_item(0, "sequence"), "required", f"{CLAIM}.item[0].sequence"),
    (
        "same sequence",
        lambda b: _claim(b)["item"][1].update(sequence=1),
        "duplicate",
        f"{CLAIM}.item",
    ),
    (
        "certification type",
        _second_claim_extension_gone,
        "required",
        f"{CLAIM}.item[1].extension(certificationType)",
    ),
    (
        "zero units",
        lambda b: _claim(b)["item"][0].update(quantity={"value": 0}),
        "invalid",
        f"{CLAIM}.item[0].quantity",
    ),
    ("type", lambda b: b.update(type="transaction"), "invalid", "Bundle.type"),
    ("claim not first", lambda b: b["entry"].reverse(), "invalid", "Bundle.entry[0].resource"),
    (
        "missing coverage",
        lambda b: b["entry"].pop(2),
        "not-found",
        f"{CLAIM}.insurance[0].coverage.reference",
    ),
    (
        "twice",
        lambda b: b["entry"].append(copy.deepcopy(b["entry"][1])),
        "duplicate",
        "Bundle.entry[7]",
    ),
    ("entry not a list", lambda b: b.update(entry={}), "invalid", "Bundle.entry"),
    (
        "entry without resource",
        lambda b: b["entry"].append({}),
        "invalid",
        "Bundle.entry[7].resource",
    ),
]


@pytest.mark.parametrize(("name", "breaks", "code", "location"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_rule_is_named_where_it_fails(
    name: str, breaks: Callable[[dict[str, Any]], None], code: str, location: str
) -> None:
    bundle = _built()
    breaks(bundle)
    issues = check_request_bundle(bundle)
    assert (code, location) in {(i.code, i.location) for i in issues}, issues
    assert all(i.message.startswith(i.location) for i in issues)


def test_not_an_object_is_one_issue_not_a_crash() -> None:
    assert check_request_bundle([1, 2]) == [
        Issue("invalid", "Bundle: a PAS request must be a JSON object (a Bundle).", "Bundle")
    ]


def test_require_valid_raises_every_issue_at_once() -> None:
    bundle = _built()
    _claim(bundle).pop("patient")
    _claim(bundle).pop("insurer")
    with pytest.raises(InvalidInput) as caught:
        require_valid_request(bundle)
    assert "2 problems" in caught.value.message
    assert {i.location for i in caught.value.issues} == {f"{CLAIM}.patient", f"{CLAIM}.insurer"}
    assert require_valid_request(_built())["type"] == "collection"


def test_an_invalid_bundle_becomes_an_operation_outcome_naming_the_element() -> None:
    bundle = _built()
    _claim(bundle)["item"][1].pop("productOrService")
    with pytest.raises(InvalidInput) as caught:
        require_valid_request(bundle)
    outcome = operation_outcome(caught.value)
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["severity"] == "error"
    assert issue["code"] == "required"
    assert issue["expression"] == [f"{CLAIM}.item[1].productOrService"]
    assert "code of the service" in issue["diagnostics"]


def test_an_error_without_issues_still_gives_one_outcome_issue() -> None:
    outcome = operation_outcome(NotFound("No such request."))
    assert outcome["issue"] == [
        {"severity": "error", "code": "not-found", "diagnostics": "No such request."}
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "entry",
                    "resource",
                    "type",
                    "item",
                    "use",
                    "reference",
                    "sequence",
                    "extension",
                    "url",
                    "fullUrl",
                    "id",
                    "quantity",
                    "value",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_gives_issues_never_a_crash(document: object) -> None:
    for issue in check_request_bundle(document):
        assert issue.location and issue.message


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_built_bundle_with_one_element_replaced_gives_issues_never_a_crash(data: Any) -> None:
    bundle = _built()
    claim = _claim(bundle)
    key = data.draw(st.sampled_from(sorted(claim)))
    claim[key] = data.draw(JSON)
    check_request_bundle(bundle)


def test_fixtures_are_present() -> None:
    # A test must be able to fail: an empty corpus folder would pass every parametrized case.
    assert (EXAMPLES / "2.2.1" / "SOURCE.txt").exists()


# -- updates (PAS Claim Update) ------------------------------------------------------------------


def _cancel() -> dict[str, Any]:
    return update_bundle(make_request(), kind="cancel", authorization_number="AUTH-1")


def _prior_entry(b: dict[str, Any]) -> dict[str, Any]:
    reference = _claim(b)["related"][0]["claim"]["reference"]
    entry: dict[str, Any] = next(e for e in b["entry"] if e["fullUrl"] == reference)
    return entry


UPDATE_BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "relationship not prior",
        lambda b: _claim(b)["related"][0]["relationship"]["coding"][0].update(code="associated"),
        "required",
        f"{CLAIM}.related",
    ),
    (
        "related without a claim",
        lambda b: _claim(b)["related"][0].pop("claim"),
        "required",
        f"{CLAIM}.related",
    ),
    (
        "cancelled item without infoCancelled",
        _drop_item(1, "modifierExtension"),
        "required",
        f"{CLAIM}.item[1].modifierExtension(infoCancelled)",
    ),
    (
        "prior Claim left out",
        lambda b: b["entry"].remove(_prior_entry(b)),
        "not-found",
        f"{CLAIM}.related[0].claim.reference",
    ),
    (
        "same identifier as the prior Claim",
        lambda b: _claim(b).update(identifier=_prior_entry(b)["resource"]["identifier"]),
        "invalid",
        f"{CLAIM}.related[0].claim.reference",
    ),
    (
        "related names a Patient",
        lambda b: _claim(b)["related"][0]["claim"].update(
            reference=_claim(b)["patient"]["reference"]
        ),
        "invalid",
        f"{CLAIM}.related[0].claim.reference",
    ),
]


@pytest.mark.parametrize(
    ("name", "breaks", "code", "location"), UPDATE_BROKEN, ids=[b[0] for b in UPDATE_BROKEN]
)
def test_each_broken_update_rule_is_named_where_it_fails(
    name: str, breaks: Callable[[dict[str, Any]], None], code: str, location: str
) -> None:
    bundle = _cancel()
    assert check_request_bundle(bundle) == []
    breaks(bundle)
    issues = check_request_bundle(bundle)
    assert (code, location) in {(i.code, i.location) for i in issues}, issues
    assert all(i.message.startswith(i.location) for i in issues)


def test_the_ig_update_example_passes_and_its_cancelled_item_is_checked() -> None:
    (path,) = [p for p in request_examples() if "2.2.1" in str(p) and "Update" in p.name]
    bundle = load(path)
    assert check_request_bundle(bundle) == []
    del _claim(bundle)["item"][1]["modifierExtension"]
    (issue,) = check_request_bundle(bundle)
    assert issue.location == f"{CLAIM}.item[1].modifierExtension(infoCancelled)"
