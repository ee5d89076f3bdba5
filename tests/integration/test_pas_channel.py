"""The PAS channel over real HTTP on 127.0.0.1: against the payer simulator (every kind of
decision, pended then inquired, an unknown member, a dropped answer retried, a Subscription whose
notification reaches a receiver of our own) and against small scripted payers (bearer token,
401, addItem, answers that are not JSON, server errors)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from tests.integration.web.live_server import serving
from tests.unit.pas_fixtures import EXAMPLES, make_request

from precert.channels.base import AnswerKind, Destination, Receipt, Submission
from precert.channels.fhir.channel import (
    PAS_TOPIC,
    PasChannel,
    notification_request_id,
    pas_channel,
    read_notification,
)
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest, Coverage, Patient, ServiceLine
from precert.domain.determinations import LineStatus, Outcome
from precert.errors import ChannelMisconfigured, ChannelUnavailable, InvalidInput, PayerRejected
from precert.payer_sim import subscriptions
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.rules import parse_rules
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
            {"match": {"code": "70553"}, "decision": "modify", "code": "70551"},
        ],
        "default": {"decision": "approve"},
    }
)
START = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
PAYER = "acme-health"
MRI = ServiceLine("70551", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
INFUSION = ServiceLine("J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 4, 30), "11", ("K50.90",))


class Clock:
    """Time for the simulator and the channel, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def request_for(request_id: str, member: str, *lines: ServiceLine) -> AuthorizationRequest:
    return make_request(
        id=request_id,
        patient=Patient("Testpatient", "Synthetic", dt.date(1970, 1, 1), member),
        coverage=Coverage(PAYER, "commercial", member, "G-100"),
        lines=lines or (MRI, INFUSION),
    )


def submission(request: AuthorizationRequest, attempt: int = 1) -> Submission:
    return Submission(request, (), f"{request.id}-{attempt}", Destination("fhir-pas"))


class Sim:
    def __init__(self, base: str, clock: Clock, state_dir: Path) -> None:
        self.base = base  # the FHIR base, .../fhir
        self.clock = clock
        self.state_dir = state_dir

    def channel(self, base: str | None = None, token: str | None = None) -> PasChannel:
        settings = Settings(
            pas_endpoints=f"{PAYER}={base or self.base}",
            pas_token=token,
            pas_timeout_seconds=10,
        )
        return pas_channel(settings, self.clock)

    def authorizations(self) -> int:
        state = State(self.state_dir)
        try:
            return state.authorization_count()
        finally:
            state.close()


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[Sim]:
    clock = Clock()
    where = tmp_path / "sim"
    with serving(create_sim_app(RULES, where, clock, interval=0.02)) as url:
        yield Sim(f"{url}/fhir", clock, where)


def answer_of(receipt: Receipt) -> Any:
    assert receipt.answer is not None
    return receipt.answer


# -- decisions from the simulator -------------------------------------------------------------


def test_an_approval_comes_back_with_its_number_window_and_a_receipt(sim: Sim) -> None:
    request = request_for("req-approve", "OK-1")
    receipt = sim.channel().submit(submission(request))
    answer = answer_of(receipt)
    assert answer.kind is AnswerKind.DECIDED
    determination = answer.determination
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number.startswith("SIM")
    assert determination.valid_from == dt.date(2030, 3, 2)
    assert determination.decision_date == START.date()
    assert [(line.code, line.approved_units) for line in determination.lines] == [
        ("70551", 1),
        ("J1745", 3),
    ]
    assert receipt.channel == "fhir-pas"
    assert receipt.reference == determination.authorization_number
    assert receipt.sent_at == START
    assert receipt.details == {
        "claim_identifier": "req-approve",
        "payer_reference": determination.authorization_number,
        "endpoint": sim.base,
    }


def test_a_denial_carries_the_payers_reason(sim: Sim) -> None:
    answer = answer_of(sim.channel().submit(submission(request_for("req-deny", "DENY-1"))))
    assert answer.kind is AnswerKind.DECIDED
    assert answer.determination.outcome is Outcome.DENIED
    assert answer.determination.reason_codes == ("0U",)
    assert answer.determination.authorization_number == ""


def test_a_partial_approval_grants_fewer_units(sim: Sim) -> None:
    request = request_for("req-partial", "PART-1", INFUSION)
    answer = answer_of(sim.channel().submit(submission(request)))
    assert answer.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = answer.determination.lines
    assert (line.code, line.approved_units, line.status) == ("J1745", 1, LineStatus.MODIFIED)


def test_a_modified_approval_names_the_code_granted_instead(sim: Sim) -> None:
    asked = ServiceLine("70553", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
    answer = answer_of(sim.channel().submit(submission(request_for("req-mod", "OK-2", asked))))
    assert answer.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = answer.determination.lines
    assert (line.code, line.covered_code, line.status) == ("70553", "70551", LineStatus.MODIFIED)


def test_not_required_and_contact_payer(sim: Sim) -> None:
    visit = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
    free = answer_of(sim.channel().submit(submission(request_for("req-free", "OK-3", visit))))
    assert free.kind is AnswerKind.DECIDED
    assert free.determination.outcome is Outcome.NOT_REQUIRED
    receipt = sim.channel().submit(submission(request_for("req-call", "CALL-1")))
    call = answer_of(receipt)
    assert call.kind is AnswerKind.CONTACT_PAYER
    assert call.reference.startswith("SIMREF")
    assert (
        call.message
        == f"The payer asks that someone call them about this request (reference {call.reference})."
    )
    assert receipt.reference == call.reference


def test_a_pended_request_is_decided_when_checked_after_the_payers_delay(sim: Sim) -> None:
    request = request_for("req-pend", "PEND-1")
    channel = sim.channel()
    receipt = channel.submit(submission(request))
    pended = answer_of(receipt)
    assert pended.kind is AnswerKind.PENDED
    assert pended.reference.startswith("SIMREF")
    assert receipt.reference == pended.reference
    still = channel.check(submission(request), receipt)
    assert still is not None and still.kind is AnswerKind.PENDED

    sim.clock.now = START + dt.timedelta(seconds=61)
    decided = channel.check(submission(request), receipt)
    assert decided is not None and decided.kind is AnswerKind.DECIDED
    assert decided.determination is not None
    assert decided.determination.outcome is Outcome.APPROVED
    assert decided.determination.authorization_number.startswith("SIM")
    assert [line.code for line in decided.determination.lines] == ["70551", "J1745"]


def test_an_inquiry_about_a_request_never_submitted_is_refused_by_the_payer(sim: Sim) -> None:
    request = request_for("req-never", "OK-4")
    receipt = Receipt("fhir-pas", "req-never", START)
    with pytest.raises(PayerRejected) as raised:
        sim.channel().check(submission(request), receipt)
    assert str(raised.value) == (
        "The payer has no request with this Claim identifier: it never received the "
        "submission. Submit the request again."
    )
    assert raised.value.issues[0].code == "not-found"


def test_an_unknown_member_is_a_payer_rejection_located_at_the_coverage(sim: Sim) -> None:
    with pytest.raises(PayerRejected) as raised:
        sim.channel().submit(submission(request_for("req-unknown", "UNK-1")))
    (issue,) = raised.value.issues
    assert (issue.code, issue.location) == ("x12-75", "Claim.insurance[0].coverage")
    assert "X12 reject reason 75" in str(raised.value)
    assert "UNK-1" not in str(raised.value)  # no member id in what a person or a log reads


def test_a_bundle_the_payer_refuses_is_a_rejection_naming_the_element(sim: Sim) -> None:
    request = request_for("req-empty", "OK-5")
    empty = make_request(id="req-empty", coverage=request.coverage, lines=())
    with pytest.raises(PayerRejected) as raised:
        sim.channel().submit(submission(empty))
    locations = [issue.location for issue in raised.value.issues]
    assert "Bundle.entry[0].resource.item" in locations
    assert str(raised.value).endswith("Fix the request and submit again.")


# -- configuration ------------------------------------------------------------------------------


def test_a_payer_without_an_endpoint_names_the_setting() -> None:
    channel = pas_channel(Settings(pas_endpoints="other-payer=http://127.0.0.1:9/fhir"), Clock())
    with pytest.raises(ChannelMisconfigured) as raised:
        channel.submit(submission(request_for("req-nowhere", "OK-6")))
    message = str(raised.value)
    assert "'acme-health'" in message
    assert "PRECERT_PAS_ENDPOINTS" in message
    assert raised.value.issues[0].location == "PRECERT_PAS_ENDPOINTS"


# -- scripted payers: what we send, and answers the simulator never gives -------------------------


class ScriptedPayer:
    """A FHIR base that keeps what it receives and answers what the test scripted."""

    def __init__(self, token: str = "payer-issued-token") -> None:
        self.token = token
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.status = 200
        self.body: bytes = b"{}"
        self.media_type = "application/fhir+json"
        self.app = FastAPI()

        @self.app.post("/fhir/{operation:path}")
        async def answer(operation: str, request: Request) -> Response:
            self.received.append((operation, dict(request.headers), await request.json()))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                outcome = {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "login"}],
                }
                return Response(json.dumps(outcome), 401, media_type=self.media_type)
            return Response(self.body, self.status, media_type=self.media_type)

    def answers(self, resource: object, status: int = 200) -> None:
        self.body = json.dumps(resource).encode()
        self.status = status


@pytest.fixture()
def payer() -> Iterator[tuple[ScriptedPayer, str]]:
    scripted = ScriptedPayer()
    with serving(scripted.app) as url:
        yield scripted, f"{url}/fhir"


def ig_approval() -> dict[str, Any]:
    path = EXAMPLES / "2.2.1" / "Bundle-ReferralAuthorizationResponseBundleExample.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_the_bearer_token_and_fhir_media_types_are_sent(
    payer: tuple[ScriptedPayer, str],
) -> None:
    scripted, base = payer
    scripted.answers(ig_approval())
    channel = pas_channel(
        Settings(pas_endpoints=f"{PAYER}={base}", pas_token=scripted.token), Clock()
    )
    request = request_for("req-token", "OK-7")
    answer = answer_of(channel.submit(submission(request)))
    assert answer.determination.authorization_number == "AUTH0001"
    ((operation, headers, body),) = scripted.received
    assert operation == "Claim/$submit"
    assert headers["authorization"] == "Bearer payer-issued-token"
    assert headers["content-type"] == "application/fhir+json"
    assert headers["accept"] == "application/fhir+json"
    claim = body["entry"][0]["resource"]
    assert claim["identifier"] == [
        {"system": "urn:precert:authorization-request", "value": "req-token"}
    ]


def test_every_attempt_sends_the_same_bundle(payer: tuple[ScriptedPayer, str]) -> None:
    scripted, base = payer
    scripted.answers(ig_approval())
    clock = Clock()
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=clock)
    request = request_for("req-same", "OK-8")
    channel.submit(submission(request, attempt=1))
    clock.now = START + dt.timedelta(hours=3)
    channel.submit(submission(request, attempt=2))
    first, second = (body for _, _, body in scripted.received)
    assert first == second


def test_a_refused_token_names_the_token_setting(payer: tuple[ScriptedPayer, str]) -> None:
    _, base = payer
    channel = pas_channel(Settings(pas_endpoints=f"{PAYER}={base}", pas_token="wrong"), Clock())
    with pytest.raises(ChannelMisconfigured) as raised:
        channel.submit(submission(request_for("req-401", "OK-9")))
    assert "PRECERT_PAS_TOKEN" in str(raised.value)
    assert "HTTP 401" in str(raised.value)
    assert "wrong" not in str(raised.value)


def test_a_modification_given_as_an_add_item_is_read(payer: tuple[ScriptedPayer, str]) -> None:
    scripted, base = payer
    response = ig_approval()
    claim_response = response["entry"][0]["resource"]
    (item,) = claim_response["item"][:1]
    review = item["adjudication"][0]["extension"][0]["extension"]
    for part in review:
        if part["url"].endswith("reviewActionCode"):
            part["valueCodeableConcept"]["coding"][0]["code"] = "A6"
    # The payer names what it approved in an addItem only (no itemAuthorizedDetail).
    item["extension"] = [e for e in item["extension"] if "AuthorizedDetail" not in e["url"]]
    claim_response["item"] = [item]
    claim_response["addItem"] = [
        {
            "itemSequence": [item["itemSequence"]],
            "productOrService": {"coding": [{"code": "70551"}]},
            "quantity": {"value": 1},
        }
    ]
    scripted.answers(response)
    asked = ServiceLine("70553", 2, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    answer = answer_of(channel.submit(submission(request_for("req-add", "OK-10", asked))))
    assert answer.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = answer.determination.lines
    assert (line.code, line.covered_code, line.approved_units) == ("70553", "70551", 1)
    assert line.status is LineStatus.MODIFIED


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (200, b"<html>gateway</html>", "the payer may have received it"),
        (200, b'{"resourceType": "Bundle", "entry": []}', "the payer may have received"),
        (503, b"down for maintenance", "nothing was received"),
    ],
)
def test_unusable_answers_are_unavailable_and_say_whether_a_retry_is_safe(
    payer: tuple[ScriptedPayer, str], status: int, body: bytes, says: str
) -> None:
    scripted, base = payer
    scripted.body, scripted.status, scripted.media_type = body, status, "text/html"
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    with pytest.raises(ChannelUnavailable) as raised:
        channel.submit(submission(request_for("req-garbled", "OK-11")))
    assert says in str(raised.value)
    assert raised.value.retryable


def test_a_payer_that_cannot_be_reached_received_nothing() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    channel = PasChannel({PAYER: f"http://127.0.0.1:{port}/fhir"}, clock=Clock())
    with pytest.raises(ChannelUnavailable) as raised:
        channel.submit(submission(request_for("req-down", "OK-12")))
    assert "nothing was received" in str(raised.value)


def test_credentials_in_an_endpoint_never_reach_the_receipt(
    payer: tuple[ScriptedPayer, str],
) -> None:
    scripted, base = payer
    scripted.answers(ig_approval())
    with_user = base.replace("http://", "http://gateway-user:gateway-secret@")
    channel = PasChannel({PAYER: with_user}, token=scripted.token, clock=Clock())
    receipt = channel.submit(submission(request_for("req-creds", "OK-13")))
    assert receipt.details["endpoint"] == base
    assert "gateway-secret" not in repr(channel)


# -- a lost answer, retried ----------------------------------------------------------------------


class DroppingProxy:
    """Forwards each HTTP request to `upstream`, but for the first `drops` requests closes the
    connection after the payer answered, so the answer never reaches the client."""

    def __init__(self, upstream: str, drops: int = 1) -> None:
        self.upstream = upstream
        self.drops = drops
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self._one(conn)

    def _one(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
        while len(body) < length:
            body += conn.recv(65536)
        forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        answer = httpx.request(method, self.upstream + path, content=body, headers=forward)
        if self.drops > 0:
            self.drops -= 1
            return  # the payer has it; the client hears nothing
        conn.sendall(
            f"HTTP/1.1 {answer.status_code} OK\r\nContent-Type: "
            f"{answer.headers['content-type']}\r\nContent-Length: {len(answer.content)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + answer.content
        )


def test_a_dropped_answer_is_retried_safely_and_the_payer_authorizes_once(sim: Sim) -> None:
    upstream = sim.base.removesuffix("/fhir")
    proxy = DroppingProxy(upstream)
    try:
        channel = sim.channel(base=f"{proxy.url}/fhir")
        request = request_for("req-dropped", "OK-14")
        with pytest.raises(ChannelUnavailable) as raised:
            channel.submit(submission(request, attempt=1))
        assert "the payer may have received it" in str(raised.value)
        assert "Submitting again is safe" in str(raised.value)
        assert sim.authorizations() == 1  # it did arrive

        sim.clock.now = START + dt.timedelta(minutes=10)
        retried = answer_of(channel.submit(submission(request, attempt=2)))
    finally:
        proxy.close()
    number = retried.determination.authorization_number
    direct = answer_of(sim.channel().submit(submission(request, attempt=3)))
    assert direct.determination.authorization_number == number
    assert sim.authorizations() == 1


# -- Subscription notifications ---------------------------------------------------------------


class Receiver:
    """Our own rest-hook endpoint: keeps each notification and its headers."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, dict[str, str]]] = []
        self.arrived = threading.Event()
        self.app = FastAPI()

        @self.app.post("/pas/notifications")
        async def notify(request: Request) -> dict[str, str]:
            self.received.append((await request.json(), dict(request.headers)))
            self.arrived.set()
            return {}


def test_a_subscription_delivers_the_decision_on_a_pended_request(sim: Sim) -> None:
    assert PAS_TOPIC == subscriptions.PAS_TOPIC
    hook = Receiver()
    with serving(hook.app) as hook_url:
        channel = sim.channel()
        endpoint = f"{hook_url}/pas/notifications"
        subscription_id = channel.subscribe(PAYER, endpoint, "notification-token")
        assert subscription_id == "1"
        request = request_for("req-notified", "PEND-2")
        assert answer_of(channel.submit(submission(request))).kind is AnswerKind.PENDED
        sim.clock.now = START + dt.timedelta(seconds=61)
        assert hook.arrived.wait(20), "the decision was not delivered to our endpoint"
    (notification, headers), *_ = hook.received
    assert headers["authorization"] == "Bearer notification-token"
    assert notification_request_id(notification) == "req-notified"
    request_id, answer = read_notification(notification, request.lines)
    assert request_id == "req-notified"
    assert answer.kind is AnswerKind.DECIDED
    assert answer.determination is not None
    assert answer.determination.outcome is Outcome.APPROVED
    assert answer.determination.authorization_number.startswith("SIM")
    assert [line.code for line in answer.determination.lines] == ["70551", "J1745"]


def test_the_ig_notification_example_is_read() -> None:
    path = EXAMPLES / "2.2.1" / "Bundle-PASSubscriptionNotification.json"
    request_id, answer = PasChannel.read_notification(json.loads(path.read_text("utf-8")))
    assert request_id == "111099"  # the Claim's trace number, echoed in ClaimResponse.identifier
    assert answer.determination is not None
    assert answer.determination.authorization_number == "AUTH0001"


def _notification() -> dict[str, Any]:
    response = ig_approval()
    response["entry"][0]["resource"]["identifier"] = [
        {"system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER", "value": "111099"},
        {"system": "urn:precert:authorization-request", "value": "req-ours"},
    ]
    status = {
        "resourceType": "Parameters",
        "parameter": [{"name": "type", "valueCode": "event-notification"}],
    }
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [{"resource": status}, {"fullUrl": "urn:uuid:x", "resource": response}],
    }


def test_our_identifier_system_wins_over_the_payers() -> None:
    request_id, _ = read_notification(_notification())
    assert request_id == "req-ours"


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        node: Any = body
        for step in path[:-1]:
            node = node[step]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return body

    return change


_DELETE = object()
CR = ("entry", 1, "resource", "entry", 0, "resource")


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (_set(("resourceType",), "Parameters"), "resourceType"),
        (_set(("type",), "collection"), "Bundle.type"),
        (_set(("entry",), []), "Bundle.entry"),
        (_set(("entry", 0, "resource", "resourceType"), "Basic"), "Bundle.entry[0].resource"),
        (
            _set(("entry", 0, "resource", "parameter", 0, "valueCode"), "heartbeat"),
            "Bundle.entry[0].resource.parameter(type)",
        ),
        (_set(("entry", 1, "resource"), "not a resource"), "Bundle.entry[1].resource"),
        (
            _set((*CR, "identifier"), _DELETE),
            "Bundle.entry[1].resource.entry[0].resource.identifier",
        ),
        (
            _set((*CR, "item", 0, "itemSequence"), "one"),
            "Bundle.entry[1].resource.entry[0].resource.item[0].itemSequence",
        ),
        (
            _set((*CR, "item", 0, "adjudication"), []),
            "Bundle.entry[1].resource.entry[0].resource.item[0].adjudication",
        ),
    ],
)
def test_a_malformed_notification_names_the_failing_element(change: Any, location: str) -> None:
    body = change(copy.deepcopy(_notification()))
    if location.endswith("resource.identifier"):
        del body["entry"][1]["resource"]["entry"][0]["resource"]["request"]
    with pytest.raises(InvalidInput) as raised:
        read_notification(body)
    assert raised.value.issues[0].location == location
    assert str(raised.value).startswith(f"{location}: ")


def test_a_cancelled_answer_is_a_rejection_a_person_must_look_at(
    payer: tuple[ScriptedPayer, str],
) -> None:
    scripted, base = payer
    response = ig_approval()
    item = response["entry"][0]["resource"]["item"][0]
    for part in item["adjudication"][0]["extension"][0]["extension"]:
        if part["url"].endswith("reviewActionCode"):
            part["valueCodeableConcept"]["coding"][0]["code"] = "C"
    scripted.answers(response)
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    with pytest.raises(PayerRejected) as raised:
        channel.submit(submission(request_for("req-cancelled", "OK-15")))
    assert "as cancelled (review action C)" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "resource", "error", "names"),
    [
        (404, None, ChannelMisconfigured, "PRECERT_PAS_ENDPOINTS"),
        (405, None, ChannelMisconfigured, "PRECERT_PAS_ENDPOINTS"),
        (400, None, PayerRejected, "HTTP 400"),
        (
            422,
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "required",
                        "diagnostics": "the Claim needs a billable period",
                        "expression": ["Bundle.entry[0].resource.billablePeriod"],
                    }
                ],
            },
            PayerRejected,
            "Bundle.entry[0].resource.billablePeriod: the Claim needs a billable period",
        ),
    ],
)
def test_other_refusals_name_what_to_fix(
    payer: tuple[ScriptedPayer, str],
    status: int,
    resource: object,
    error: type[Exception],
    names: str,
) -> None:
    scripted, base = payer
    if resource is not None:
        scripted.answers(resource, status)
    else:
        scripted.body, scripted.status, scripted.media_type = b"no", status, "text/plain"
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    with pytest.raises(error) as raised:
        channel.submit(submission(request_for("req-refused", "OK-16")))
    assert names in str(raised.value)


# -- amend: cancel, extend, revise an authorization (PAS Claim Update) --------------------------


def _approved(sim: Sim, request_id: str, member: str) -> tuple[PasChannel, Receipt, str]:
    channel = sim.channel()
    receipt = channel.submit(submission(request_for(request_id, member)))
    determination = answer_of(receipt).determination
    assert determination is not None
    return channel, receipt, determination.authorization_number


def test_a_cancellation_is_confirmed_and_the_authorization_withdrawn(sim: Sim) -> None:
    request = request_for("req-amend-cancel", "OK-40")
    channel, receipt, number = _approved(sim, request.id, "OK-40")
    assert sim.authorizations() == 1
    sim.clock.now = START + dt.timedelta(days=2)
    answer = channel.amend(
        submission(request, 2), receipt, kind="cancel", authorization_number=number
    )
    assert answer.kind is AnswerKind.CANCELLED
    assert answer.determination is None
    assert answer.reference == number
    assert sim.authorizations() == 0
    # Sent again later (a lost answer), the same cancellation gets the same confirmation.
    sim.clock.now += dt.timedelta(hours=1)
    again = channel.amend(
        submission(request, 3), receipt, kind="cancel", authorization_number=number
    )
    assert again == answer


def test_an_extension_keeps_the_authorization_number_with_new_dates_and_units(sim: Sim) -> None:
    request = request_for("req-amend-extend", "OK-41")
    channel, receipt, number = _approved(sim, request.id, "OK-41")
    answer = channel.amend(
        submission(request, 2),
        receipt,
        kind="extend",
        authorization_number=number,
        to_date=dt.date(2030, 10, 31),
        units={"J1745": 6},
    )
    assert answer.kind is AnswerKind.DECIDED and answer.determination is not None
    determination = answer.determination
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number == number
    assert determination.valid_to == dt.date(2030, 10, 31)
    assert [(line.code, line.approved_units) for line in determination.lines] == [
        ("70551", 1),
        ("J1745", 6),
    ]
    assert sim.authorizations() == 1


def test_an_amendment_the_payer_cannot_apply_is_a_rejection_naming_the_element(sim: Sim) -> None:
    request = request_for("req-amend-wrong", "OK-42")
    channel, receipt, _ = _approved(sim, request.id, "OK-42")
    with pytest.raises(PayerRejected) as raised:
        channel.amend(
            submission(request, 2),
            receipt,
            kind="revise",
            authorization_number="NOT-OURS",
            units={"J1745": 2},
        )
    assert raised.value.issues[0].location.endswith("extension(authorizationNumber)")
    never = request_for("req-amend-never", "OK-43")
    with pytest.raises(PayerRejected) as raised:
        channel.amend(
            submission(never),
            Receipt("fhir-pas", never.id, START),
            kind="cancel",
            authorization_number="SIM00000001",
        )
    assert raised.value.issues[0].location == "Bundle.entry[0].resource.related"
    assert "OK-43" not in str(raised.value)


def test_a_cancellation_the_payer_does_not_confirm_is_a_rejection(
    payer: tuple[ScriptedPayer, str],
) -> None:
    scripted, base = payer
    scripted.answers(ig_approval())
    request = request_for("req-amend-unconfirmed", "OK-44")
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    receipt = Receipt("fhir-pas", "AUTH-9", START)
    with pytest.raises(PayerRejected) as raised:
        channel.amend(submission(request), receipt, kind="cancel", authorization_number="AUTH-9")
    assert raised.value.issues[0].code == "pas.not-cancelled"
    (operation, _, sent) = scripted.received[0]
    assert operation == "Claim/$submit"
    assert sent["entry"][0]["resource"]["related"][0]["relationship"]["coding"][0]["code"] == (
        "prior"
    )


def test_amend_refuses_what_it_cannot_send_before_sending_anything(
    payer: tuple[ScriptedPayer, str],
) -> None:
    scripted, base = payer
    channel = PasChannel({PAYER: base}, token=scripted.token, clock=Clock())
    request = request_for("req-amend-bad", "OK-45")
    with pytest.raises(InvalidInput) as raised:
        channel.amend(
            submission(request),
            Receipt("x12", "R1", START),
            kind="cancel",
            authorization_number="A",
        )
    assert raised.value.issues[0].location == "receipt"
    with pytest.raises(InvalidInput) as raised:
        channel.amend(
            submission(request),
            Receipt("fhir-pas", "R1", START),
            kind="extend",
            authorization_number="A",
        )
    assert raised.value.issues[0].location == "to_date"
    assert scripted.received == []
