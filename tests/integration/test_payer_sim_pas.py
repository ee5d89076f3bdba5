"""The payer simulator over real HTTP on 127.0.0.1: request Bundles built by our PAS channel,
answers read by our PAS reader, pended decisions delivered to a real local Subscription receiver,
duplicates and restarts, and malformed input answered with located OperationOutcomes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.web.live_server import serving
from tests.unit.pas_fixtures import make_request
from typer.testing import CliRunner

from precert.channels.fhir.pas_bundle import build_request_bundle, update_bundle
from precert.channels.fhir.pas_response import (
    PasResult,
    ResultKind,
    ReviewAction,
    read_response,
)
from precert.cli.main import app
from precert.domain.authorizations import AuthorizationRequest, Coverage, Patient, ServiceLine
from precert.domain.determinations import LineStatus, Outcome
from precert.errors import InvalidInput, PrecertError
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.rules import load_rules, parse_rules
from precert.payer_sim.simulator import Simulator
from precert.payer_sim.state import State

RULES = parse_rules(
    {
        "rules": [
            {"match": {"member_prefix": "UNK"}, "decision": "unknown-member"},
            {"match": {"member_prefix": "DENY"}, "decision": "deny", "reason": "0U"},
            {
                "match": {"member_prefix": "PEND"},
                "decision": "pend",
                "after_seconds": 60,
                "then": {"decision": "approve"},
            },
            {"match": {"member_prefix": "CALL"}, "decision": "contact-payer"},
            {"match": {"code": "9921*"}, "decision": "not-required"},
            {
                "match": {"code": "J1745", "member_prefix": "PART"},
                "decision": "partial",
                "units": 1,
            },
            {
                "match": {"payer": "acme-health", "code": "70553"},
                "decision": "modify",
                "code": "70551",
            },
        ],
        "default": {"decision": "approve"},
    }
)
START = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
MRI = ServiceLine("70551", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
INFUSION = ServiceLine("J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 4, 30), "11", ("K50.90",))


class Clock:
    """The simulator's time, moved by the test: a pend falls due when the test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def request_for(
    request_id: str, member: str, *lines: ServiceLine, payer: str = "acme-health"
) -> AuthorizationRequest:
    return make_request(
        id=request_id,
        patient=Patient("Testpatient", "Synthetic", dt.date(1970, 1, 1), member),
        coverage=Coverage(payer, "commercial", member, "G-100"),
        lines=lines or (MRI, INFUSION),
    )


class Sim:
    def __init__(self, url: str, clock: Clock, state_dir: Path) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.clock = clock
        self.state_dir = state_dir

    def submit(self, request: AuthorizationRequest) -> httpx.Response:
        return self.http.post("/fhir/Claim/$submit", json=build_request_bundle(request))

    def decision(self, request: AuthorizationRequest) -> PasResult:
        response = self.submit(request)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        return read_response(response.json(), lines=request.lines)

    def inquire(self, request: AuthorizationRequest) -> httpx.Response:
        bundle = build_request_bundle(request)
        return self.http.post("/fhir/Claim/$inquire", json=bundle)


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[Sim]:
    clock = Clock()
    with serving(create_sim_app(RULES, tmp_path / "sim", clock, interval=0.02)) as url:
        sim = Sim(url, clock, tmp_path / "sim")
        yield sim
        sim.http.close()


class Receiver:
    """A real local rest-hook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.arrived = threading.Event()
        self.app = FastAPI()

        @self.app.post("/notify")
        async def notify(request: Request) -> dict[str, str]:
            self.received.append((await request.json(), dict(request.headers)))
            self.arrived.set()
            return {}


@pytest.fixture()
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with serving(hook.app) as url:
        yield hook, url


# -- decisions ---------------------------------------------------------------------------------


def test_an_approval_carries_an_authorization_number_and_window(sim: Sim) -> None:
    result = sim.decision(request_for("req-approve", "OK-1"))
    assert result.kind is ResultKind.DECIDED
    determination = result.determination
    assert determination is not None
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number.startswith("SIM")
    assert determination.valid_from == dt.date(2030, 3, 2)
    assert determination.valid_to is not None and determination.valid_to >= dt.date(2030, 4, 30)
    assert determination.decision_date == START.date()
    assert [line.approved_units for line in determination.lines] == [1, 3]


def test_a_partial_approval_grants_fewer_units(sim: Sim) -> None:
    result = sim.decision(request_for("req-partial", "PART-1", INFUSION))
    assert result.determination is not None
    assert result.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = result.determination.lines
    assert (line.code, line.approved_units, line.status) == ("J1745", 1, LineStatus.MODIFIED)


def test_a_modified_approval_names_the_code_granted_instead(sim: Sim) -> None:
    asked = ServiceLine("70553", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
    result = sim.decision(request_for("req-modify", "OK-2", asked))
    assert result.determination is not None
    assert result.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = result.determination.lines
    assert line.status is LineStatus.MODIFIED
    assert line.covered_code == "70551"
    assert result.determination.authorization_number


def test_a_denial_carries_its_reason_and_no_authorization(sim: Sim) -> None:
    result = sim.decision(request_for("req-deny", "DENY-1"))
    assert result.determination is not None
    assert result.determination.outcome is Outcome.DENIED
    assert result.determination.reason_codes == ("0U",)
    assert result.determination.authorization_number == ""
    assert {line.status for line in result.determination.lines} == {LineStatus.DENIED}


def test_contact_payer_and_not_required(sim: Sim) -> None:
    call = sim.decision(request_for("req-call", "CALL-1"))
    assert call.kind is ResultKind.CONTACT_PAYER
    assert call.reference.startswith("SIMREF")
    visit = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
    free = sim.decision(request_for("req-free", "OK-3", visit))
    assert free.determination is not None
    assert free.determination.outcome is Outcome.NOT_REQUIRED


def test_an_unknown_member_is_rejected_at_the_coverage(sim: Sim) -> None:
    result = sim.decision(request_for("req-unknown", "UNK-1"))
    assert result.kind is ResultKind.ERROR
    (issue,) = result.issues
    assert issue.code == "x12-75"
    assert issue.location == "Claim.insurance[0].coverage"


def test_a_corrected_request_after_a_rejection_is_adjudicated_anew(sim: Sim) -> None:
    refused = sim.decision(request_for("req-corrected", "UNK-2"))
    assert refused.kind is ResultKind.ERROR
    assert sim.decision(request_for("req-corrected", "UNK-2")).kind is ResultKind.ERROR

    corrected = sim.decision(request_for("req-corrected", "OK-2"))  # the member id fixed

    assert corrected.kind is ResultKind.DECIDED
    assert corrected.determination is not None
    assert corrected.determination.authorization_number
    again = sim.decision(request_for("req-corrected", "OK-2"))
    assert again.determination == corrected.determination  # decided once, answered the same


# -- pended, then decided and delivered -----------------------------------------------------


def test_a_pended_request_is_decided_after_its_delay_and_delivered(
    sim: Sim, receiver: tuple[Receiver, str]
) -> None:
    hook, hook_url = receiver
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "PAS decisions",
        "criteria": "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic",
        "channel": {
            "type": "rest-hook",
            "endpoint": f"{hook_url}/notify",
            "payload": "application/fhir+json",
            "header": ["Authorization: Bearer synthetic-token"],
        },
    }
    created = sim.http.post("/fhir/Subscription", json=subscription)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"

    request = request_for("req-pend", "PEND-1")
    pended = sim.decision(request)
    assert pended.kind is ResultKind.PENDED
    assert pended.reference.startswith("SIMREF")
    assert not hook.arrived.wait(0.3)  # not due yet: nothing is sent

    sim.clock.now = START + dt.timedelta(seconds=61)
    assert hook.arrived.wait(20), "the decision was not delivered to the subscription"
    (notification, headers), *_ = hook.received
    assert headers["authorization"] == "Bearer synthetic-token"
    assert notification["type"] == "history"
    status, focus = notification["entry"]
    assert status["resource"]["resourceType"] == "Parameters"
    decided = read_response(focus["resource"], lines=request.lines)
    assert decided.determination is not None
    assert decided.determination.outcome is Outcome.APPROVED
    number = decided.determination.authorization_number
    assert number.startswith("SIM")

    resubmitted = read_response(sim.submit(request).json(), lines=request.lines)
    assert resubmitted.determination is not None
    assert resubmitted.determination.authorization_number == number

    inquiry = sim.inquire(request)
    assert inquiry.status_code == 200
    again = read_response(inquiry.json(), lines=request.lines)
    assert again.determination is not None
    assert again.determination.authorization_number == number


# -- duplicates and restarts ------------------------------------------------------------------


def test_the_same_request_again_gets_the_same_answer_and_no_second_authorization(
    sim: Sim,
) -> None:
    request = request_for("req-twice", "OK-4")
    first = sim.submit(request).json()
    sim.clock.now = START + dt.timedelta(hours=1)
    second = sim.submit(request).json()
    assert second == first
    other = sim.decision(request_for("req-other", "OK-5"))
    assert other.determination is not None
    numbers = {
        read_response(first).items[0].number,
        read_response(second).items[0].number,
    }
    assert len(numbers) == 1
    assert other.determination.authorization_number not in numbers
    # A retry rebuilt later (a new `created` time, same Claim identifier) is the same request.
    rebuilt = build_request_bundle(request, created=START + dt.timedelta(hours=2))
    retried = sim.http.post("/fhir/Claim/$submit", json=rebuilt).json()
    assert read_response(retried).items[0].number in numbers
    state = State(sim.state_dir)
    try:
        assert state.authorization_count() == 2  # req-twice once, req-other once
    finally:
        state.close()


def test_a_restart_keeps_answers_and_pended_requests(tmp_path: Path) -> None:
    clock = Clock()
    where = tmp_path / "sim"
    approved = request_for("req-kept", "OK-6")
    pended = request_for("req-kept-pend", "PEND-2")
    with serving(create_sim_app(RULES, where, clock, interval=0.02)) as url:
        sim = Sim(url, clock, where)
        first = sim.decision(approved).determination
        assert first is not None
        number = first.authorization_number
        assert sim.decision(pended).kind is ResultKind.PENDED
        sim.http.close()
    clock.now = START + dt.timedelta(minutes=5)
    with serving(create_sim_app(RULES, where, clock, interval=0.02)) as url:
        sim = Sim(url, clock, where)
        kept = read_response(sim.inquire(approved).json(), lines=approved.lines)
        assert kept.determination is not None
        assert kept.determination.authorization_number == number
        resubmitted = sim.decision(approved)
        assert resubmitted.determination is not None
        assert resubmitted.determination.authorization_number == number
        decided = read_response(sim.inquire(pended).json(), lines=pended.lines)
        assert decided.determination is not None
        assert decided.determination.outcome is Outcome.APPROVED
        sim.http.close()
    log = (where / "received.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == 5  # two submits, then two inquiries and one resubmit


# -- bad input --------------------------------------------------------------------------------


def test_a_malformed_bundle_gets_an_operation_outcome_naming_the_element(sim: Sim) -> None:
    bundle = build_request_bundle(request_for("req-bad", "OK-7"))
    del bundle["entry"][0]["resource"]["item"][1]["productOrService"]
    response = sim.http.post("/fhir/Claim/$submit", json=bundle)
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    expressions = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert "Bundle.entry[0].resource.item[1].productOrService" in expressions


def test_a_claim_without_identifier_is_refused_by_name(sim: Sim) -> None:
    bundle = build_request_bundle(request_for("req-anon", "OK-8"))
    del bundle["entry"][0]["resource"]["identifier"]
    response = sim.http.post("/fhir/Claim/$submit", json=bundle)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]


def test_not_json_unknown_inquiries_and_bad_subscriptions(sim: Sim) -> None:
    garbage = sim.http.post("/fhir/Claim/$submit", content=b"{not json")
    assert garbage.status_code == 400
    assert garbage.json()["resourceType"] == "OperationOutcome"
    unknown = sim.inquire(request_for("req-never-sent", "OK-9"))
    assert unknown.status_code == 404
    assert unknown.json()["issue"][0]["code"] == "not-found"
    bad = sim.http.post(
        "/fhir/Subscription",
        json={"resourceType": "Subscription", "channel": {"type": "rest-hook", "endpoint": "x"}},
    )
    assert bad.status_code == 422
    assert bad.json()["issue"][0]["expression"] == ["Subscription.channel.endpoint"]


def test_rules_problems_are_named_by_place(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - decision: approve-ish\n  - decision: partial\ndefault: {decision: approve}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised:
        load_rules(path)
    locations = [issue.location for issue in raised.value.issues]
    assert locations == ["rules[0].decision", "rules[1].units"]


def test_the_shipped_rules_load() -> None:
    rules = load_rules()
    assert rules.decide("medicare", "J0585", "DEMO000101").units == 50
    assert rules.decide("acme-health", "99213", "DEMO000101").kind.value == "not-required"


# -- never a crash ----------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _paths(node: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*path, index)))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mangled_bundle_is_answered_or_refused_never_a_crash(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bundle = build_request_bundle(request_for("req-fuzz", "OK-10"))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(bundle)[1:]))
        parent: Any = bundle
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON)
        if not _present(bundle, path[:-1]):
            break
    state = State(tmp_path_factory.mktemp("fuzz"))
    try:
        simulator = Simulator(RULES, state, Clock())
        try:
            answer = simulator.submit(bundle)
        except PrecertError as error:
            assert error.issues, "a refusal names what to fix"
        else:
            read_response(answer)  # what we answer, our own reader reads
    finally:
        state.close()


def _present(bundle: object, path: tuple[Any, ...]) -> bool:
    node = bundle
    for step in path:
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def test_the_command_refuses_a_bad_rules_file_with_each_problem_named(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - decision: deny\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["payer-sim", "--port", "9", "--rules", str(path)])
    assert result.exit_code == 2
    assert "rules[0].reason" in result.output


# -- updates: cancel, extend, revise (PAS Claim Update) ---------------------------------------


def _update(sim: Sim, request: AuthorizationRequest, **change: Any) -> httpx.Response:
    return sim.http.post("/fhir/Claim/$submit", json=update_bundle(request, **change))


def _authorizations(sim: Sim) -> int:
    state = State(sim.state_dir)
    try:
        return state.authorization_count()
    finally:
        state.close()


def test_a_cancel_answers_c_for_every_item_and_withdraws_the_authorization(sim: Sim) -> None:
    request = request_for("req-cancel", "OK-30")
    granted = sim.decision(request).determination
    assert granted is not None and _authorizations(sim) == 1
    sim.clock.now = START + dt.timedelta(days=1)
    response = _update(
        sim, request, kind="cancel", authorization_number=granted.authorization_number
    )
    assert response.status_code == 200, response.text
    cancelled = read_response(response.json(), lines=request.lines)
    assert cancelled.kind is ResultKind.CANCELLED
    assert [item.action for item in cancelled.items] == [ReviewAction.CANCELLED] * 2
    assert cancelled.reference == granted.authorization_number
    assert _authorizations(sim) == 0
    # Asked about later, the request is cancelled; the same cancel again is answered once.
    inquired = read_response(sim.inquire(request).json())
    assert inquired.kind is ResultKind.CANCELLED
    again = _update(sim, request, kind="cancel", authorization_number=granted.authorization_number)
    assert again.json() == response.json()


def test_a_cancelled_pended_request_is_never_decided(sim: Sim) -> None:
    request = request_for("req-cancel-pend", "PEND-30")
    pended = sim.decision(request)
    assert pended.kind is ResultKind.PENDED
    response = _update(sim, request, kind="cancel", authorization_number=pended.reference)
    assert read_response(response.json()).kind is ResultKind.CANCELLED
    sim.clock.now = START + dt.timedelta(seconds=61)
    assert read_response(sim.inquire(request).json()).kind is ResultKind.CANCELLED
    assert _authorizations(sim) == 0


def test_an_extension_is_approved_under_the_same_authorization_number(sim: Sim) -> None:
    request = request_for("req-extend", "OK-31")
    granted = sim.decision(request).determination
    assert granted is not None and granted.valid_to is not None
    later = dt.date(2030, 12, 31)
    number = granted.authorization_number
    response = _update(
        sim, request, kind="extend", authorization_number=number, to_date=later, units={"J1745": 8}
    )
    assert response.status_code == 200, response.text
    asked = [
        dataclasses.replace(line, to_date=later, units=8 if line.code == "J1745" else line.units)
        for line in request.lines
    ]
    extended = read_response(response.json(), lines=asked)
    assert extended.kind is ResultKind.DECIDED and extended.determination is not None
    assert extended.determination.outcome is Outcome.APPROVED
    assert extended.determination.authorization_number == number
    assert extended.determination.valid_to == later > granted.valid_to
    assert [(line.code, line.approved_units) for line in extended.determination.lines] == [
        ("70551", 1),
        ("J1745", 8),
    ]
    assert _authorizations(sim) == 1  # the same authorization, not a second one
    revised = _update(sim, request, kind="revise", authorization_number=number, units={"J1745": 2})
    revision = read_response(revised.json()).determination
    assert revision is not None and revision.authorization_number == number
    assert _authorizations(sim) == 1


@pytest.mark.parametrize(
    ("prepare", "number", "code", "location"),
    [
        ("never", "SIM00000001", "not-found", "Bundle.entry[0].resource.related"),
        ("denied", "SIM00000001", "business-rule", "Bundle.entry[0].resource.item[0]"),
        ("approved", "NOT-OURS", "business-rule", "Bundle.entry[0].resource.item[0]"),
        ("cancelled", "", "business-rule", "Bundle.entry[0].resource.item[0]"),
    ],
)
def test_an_update_the_payer_cannot_apply_is_refused_naming_the_element(
    sim: Sim, prepare: str, number: str, code: str, location: str
) -> None:
    member = "DENY-32" if prepare == "denied" else "OK-32"
    request = request_for(f"req-update-{prepare}", member)
    if prepare != "never":
        first = sim.decision(request)
        if prepare == "cancelled":
            assert first.determination is not None
            number = first.determination.authorization_number
            _update(sim, request, kind="cancel", authorization_number=number)
    response = _update(sim, request, kind="extend", authorization_number=number, units={"J1745": 5})
    assert response.status_code == 422, response.text
    (issue,) = response.json()["issue"]
    assert issue["code"] == code
    assert issue["expression"][0].startswith(location)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(["cancel", "extend"]))
def test_a_mangled_update_is_answered_or_refused_never_a_crash(
    data: st.DataObject, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    request = request_for("req-fuzz-update", "OK-11")
    bundle = update_bundle(
        request, kind=kind, authorization_number="SIM00000001", to_date=dt.date(2030, 9, 1)
    )
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(bundle)[1:]))
        parent: Any = bundle
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON)
        if not _present(bundle, path[:-1]):
            break
    state = State(tmp_path_factory.mktemp("fuzz-update"))
    try:
        simulator = Simulator(RULES, state, Clock())
        simulator.submit(build_request_bundle(request))  # the prior request, granted SIM00000001
        try:
            answer = simulator.submit(bundle)
        except PrecertError as error:
            assert error.issues, "a refusal names what to fix"
        else:
            read_response(answer)
    finally:
        state.close()
