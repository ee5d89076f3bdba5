"""The X12 channel over real HTTP on 127.0.0.1 against the payer simulator: every kind of answer,
a pend decided on a later check, rejections (AAA, 999), credentials, a lost response retried
without a second authorization, the batch drop folder, the persistent control numbers, and
amendments (cancel, extend, revise) of a certification."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from tests.integration.test_payer_sim_pas import INFUSION, RULES, START, Clock, request_for
from tests.integration.web.live_server import serving

from precert.channels.base import AnswerKind, Destination, Receipt, Submission
from precert.channels.x12.channel import X12Channel, attempt_of, x12_channel
from precert.channels.x12.controls import LARGEST, ControlFile
from precert.channels.x12.transport import (
    CoreHttpTransport,
    Envelope,
    FileDropTransport,
    Sent,
    Transport,
)
from precert.channels.x12.tx278 import build_278
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest, ServiceLine
from precert.domain.determinations import LineStatus, Outcome
from precert.errors import ChannelMisconfigured, ChannelUnavailable, InvalidInput, PayerRejected
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.simulator import Simulator
from precert.payer_sim.state import State
from precert.payer_sim.x12 import X12Payer

VISIT = ServiceLine("99214", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "11", ("I10",))
BRAIN = ServiceLine("70553", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",))


def submission(request: AuthorizationRequest, attempt: int = 1) -> Submission:
    return Submission(request, (), f"{request.id}-{attempt}", Destination("x12"))


@dataclass
class Live:
    url: str
    clock: Clock
    state_dir: Path
    controls: ControlFile

    def channel(self, transport: Transport | None = None, timeout: float = 30) -> X12Channel:
        transport = transport or CoreHttpTransport(self.url + "/x12", timeout=timeout)
        return X12Channel(transport, self.controls, clock=self.clock)

    def authorizations(self) -> int:
        state = State(self.state_dir)
        try:
            return state.authorization_count()
        finally:
            state.close()


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[Live]:
    clock = Clock()
    with serving(create_sim_app(RULES, tmp_path / "sim", clock, interval=0.02)) as url:
        yield Live(url, clock, tmp_path / "sim", ControlFile(tmp_path / "var" / "controls"))


# -- answers ---------------------------------------------------------------------------------


def test_an_approval_gives_the_number_window_lines_and_receipt(live: Live) -> None:
    request = request_for("x12c-approve", "OK-1")
    receipt = live.channel().submit(submission(request))
    assert receipt.channel == "x12"
    assert receipt.reference == "x12c-approve.1"
    assert receipt.sent_at == START
    assert receipt.details["mode"] == "real-time"
    assert receipt.details["trace"] == "x12c-approve.1"
    assert receipt.details["control"] == "000000001"  # ISA13 from the control file
    answer = receipt.answer
    assert answer is not None and answer.kind is AnswerKind.DECIDED
    determination = answer.determination
    assert determination is not None
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number.startswith("SIM")
    assert determination.valid_from == dt.date(2030, 3, 2)
    assert determination.valid_to is not None and determination.valid_to > dt.date(2030, 3, 2)
    assert [(d.code, d.approved_units) for d in determination.lines] == [
        ("70551", 1),
        ("J1745", 3),
    ]


def test_a_denial_carries_its_reason_code(live: Live) -> None:
    answer = live.channel().submit(submission(request_for("x12c-deny", "DENY-1"))).answer
    assert answer is not None and answer.determination is not None
    assert answer.determination.outcome is Outcome.DENIED
    assert answer.determination.reason_codes == ("0U",)
    assert answer.determination.authorization_number == ""
    assert live.authorizations() == 0


def test_a_partial_approval_grants_fewer_units(live: Live) -> None:
    request = request_for("x12c-part", "PART-1", INFUSION)
    answer = live.channel().submit(submission(request)).answer
    assert answer is not None and answer.determination is not None
    assert answer.determination.outcome is Outcome.PARTIALLY_APPROVED
    (line,) = answer.determination.lines
    assert (line.code, line.approved_units, line.status) == ("J1745", 1, LineStatus.MODIFIED)


def test_a_modified_approval_names_the_code_granted_instead(live: Live) -> None:
    answer = live.channel().submit(submission(request_for("x12c-mod", "OK-2", BRAIN))).answer
    assert answer is not None and answer.determination is not None
    (line,) = answer.determination.lines
    assert (line.code, line.covered_code, line.status) == ("70553", "70551", LineStatus.MODIFIED)
    assert answer.determination.authorization_number.startswith("SIM")


def test_not_required_and_contact_payer(live: Live) -> None:
    channel = live.channel()
    free = channel.submit(submission(request_for("x12c-free", "OK-3", VISIT))).answer
    assert free is not None and free.determination is not None
    assert free.determination.outcome is Outcome.NOT_REQUIRED
    call = channel.submit(submission(request_for("x12c-call", "CALL-1"))).answer
    assert call is not None
    assert call.kind is AnswerKind.CONTACT_PAYER
    assert call.determination is None
    assert call.reference.startswith("SIMREF")
    assert "call" in call.message


def test_a_pend_is_decided_by_a_later_check(live: Live) -> None:
    channel = live.channel()
    sent = submission(request_for("x12c-pend", "PEND-1"))
    receipt = channel.submit(sent)
    assert receipt.answer is not None and receipt.answer.kind is AnswerKind.PENDED
    assert receipt.answer.reference.startswith("SIMREF")
    assert receipt.details["payer_reference"] == receipt.answer.reference
    stored = Receipt.from_dict(receipt.as_dict())  # what the timeline keeps
    still = channel.check(sent, stored)
    assert still is not None and still.kind is AnswerKind.PENDED
    live.clock.now = START + dt.timedelta(seconds=61)
    later = channel.check(sent, stored)
    assert later is not None and later.kind is AnswerKind.DECIDED
    assert later.determination is not None
    assert later.determination.outcome is Outcome.APPROVED
    assert later.determination.authorization_number.startswith("SIM")
    assert live.authorizations() == 1


# -- rejections ------------------------------------------------------------------------------


def test_an_unknown_member_is_rejected_with_the_aaa_and_what_to_do(live: Live) -> None:
    with pytest.raises(PayerRejected) as raised:
        live.channel().submit(submission(request_for("x12c-unknown", "UNK-1")))
    assert "correct the request and send it again" in raised.value.message
    assert "UNK-1" not in str(raised.value.as_dict())  # no member id anywhere
    (issue,) = raised.value.issues
    assert "AAA03 75" in issue.message
    assert issue.location.endswith("loop 2000C")


class Corrupting:
    """A transport that breaks the birth date on its way out: the payer answers with a 999."""

    mode: ClassVar[str] = "real-time"

    def __init__(self, inner: CoreHttpTransport) -> None:
        self.inner = inner

    def send(self, interchange: str, *, key: str, envelope: Envelope) -> Sent:
        broken = interchange.replace("DMG*D8*19700101", "DMG*D8*19701399")
        assert broken != interchange
        return self.inner.send(broken, key=key, envelope=envelope)

    def collect(self, *, trace: str, group_control: str, set_control: str) -> str | None:
        return None


def test_a_broken_interchange_is_answered_by_a_999_and_rejected(live: Live) -> None:
    channel = live.channel(Corrupting(CoreHttpTransport(live.url + "/x12")))
    with pytest.raises(PayerRejected) as raised:
        channel.submit(submission(request_for("x12c-bad", "OK-6")))
    assert "999" in raised.value.message
    assert raised.value.issues
    assert raised.value.issues[0].message.startswith("The payer's 999 rejects segment DMG")
    assert "19701399" not in str(raised.value.as_dict())
    assert live.authorizations() == 0


# -- the HTTP edge: credentials, headers, lost answers ---------------------------------------


CLINIC_AUTH = "Basic " + base64.b64encode(b"clinic:s3cret").decode()


class Gateway:
    """A tiny clearinghouse in front of an in-process simulator: checks basic auth, keeps the
    headers it was sent, answers with the simulator's X12."""

    def __init__(self, state_dir: Path, clock: Clock) -> None:
        self.payer = X12Payer(Simulator(RULES, State(state_dir), clock))
        self.headers: list[dict[str, str]] = []
        self.app = FastAPI()

        @self.app.post("/x12")
        async def x12(request: Request) -> Response:
            self.headers.append(dict(request.headers))
            if request.headers.get("authorization") != CLINIC_AUTH:
                return Response("bad credentials", status_code=401)
            text = self.payer.answer((await request.body()).decode())
            return Response(text, media_type="application/edi-x12")


def test_basic_auth_and_the_core_envelope_headers_are_sent(tmp_path: Path) -> None:
    clock = Clock()
    gateway = Gateway(tmp_path / "sim", clock)
    with serving(gateway.app) as url:
        transport = CoreHttpTransport(url + "/x12", "clinic", "s3cret", 30)
        channel = X12Channel(
            transport, ControlFile(tmp_path / "c"), sender_id="CLINIC1", clock=clock
        )
        answer = channel.submit(submission(request_for("x12c-auth", "OK-8"))).answer
    assert answer is not None and answer.kind is AnswerKind.DECIDED
    (headers,) = gateway.headers
    assert headers["authorization"].startswith("Basic ")
    assert headers["content-type"] == "application/EDI-X12"
    assert headers["x-core-payloadtype"] == "X12_278_Request_005010X217E1_2"
    assert headers["x-core-processingmode"] == "RealTime"
    assert headers["x-core-senderid"] == "CLINIC1"
    assert headers["x-core-receiverid"] == "ACMEHEALTH"
    assert headers["x-core-ruleversion"] == "2.2.0"
    assert len(headers["x-core-payloadid"]) == 36
    assert headers["x-core-timestamp"].endswith("Z")


def test_refused_credentials_name_the_settings_to_fix(tmp_path: Path) -> None:
    clock = Clock()
    gateway = Gateway(tmp_path / "sim", clock)
    with serving(gateway.app) as url:
        transport = CoreHttpTransport(url + "/x12", "clinic", "wrong", 30)
        channel = X12Channel(transport, ControlFile(tmp_path / "c"), clock=clock)
        with pytest.raises(ChannelMisconfigured) as raised:
            channel.submit(submission(request_for("x12c-401", "OK-9")))
    assert "PRECERT_X12_USERNAME" in raised.value.message
    assert "PRECERT_X12_PASSWORD" in raised.value.message
    assert "wrong" not in raised.value.message


def test_an_unreachable_gateway_is_unavailable_and_nothing_was_received(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = CoreHttpTransport(f"http://127.0.0.1:{port}/x12", timeout=5)
    channel = X12Channel(transport, ControlFile(tmp_path / "c"), clock=Clock())
    with pytest.raises(ChannelUnavailable) as raised:
        channel.submit(submission(request_for("x12c-down", "OK-10")))
    assert "nothing was received" in raised.value.message
    assert raised.value.retryable


class DroppingProxy:
    """A raw TCP proxy to `upstream` that forwards the first request, lets the payer answer it,
    and then closes the connection instead of passing the answer on; later ones go through."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.dropped = 0
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self._one(connection)

    def _one(self, connection: socket.socket) -> None:
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += connection.recv(65536)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int({k.lower(): v for k, v in headers.items()}["content-length"])
        while len(body) < length:
            body += connection.recv(65536)
        answer = httpx.post(
            self.upstream + lines[0].split(" ")[1],
            content=body,
            headers={"content-type": "application/edi-x12"},
        )
        if self.dropped == 0:
            self.dropped += 1
            return  # the payer decided; its answer is lost on the way back
        payload = answer.content
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/edi-x12\r\nConnection: close\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )

    def close(self) -> None:
        self.server.close()


def test_a_lost_answer_is_retried_with_the_same_authorization_and_only_one(live: Live) -> None:
    proxy = DroppingProxy(live.url)
    try:
        channel = live.channel(CoreHttpTransport(proxy.url + "/x12", timeout=30))
        request = request_for("x12c-lost", "OK-11")
        with pytest.raises(ChannelUnavailable) as raised:
            channel.submit(submission(request, attempt=1))
        assert "may have received" in raised.value.message
        assert "safe" in raised.value.message
        assert live.authorizations() == 1  # the payer did decide the first attempt
        receipt = channel.submit(submission(request, attempt=2))
    finally:
        proxy.close()
    assert receipt.reference == "x12c-lost.2"
    answer = receipt.answer
    assert answer is not None and answer.determination is not None
    number = answer.determination.authorization_number
    assert number.startswith("SIM")
    assert live.authorizations() == 1
    # The same request asked directly gets that same number.
    again = live.channel().submit(submission(request, attempt=3)).answer
    assert again is not None and again.determination is not None
    assert again.determination.authorization_number == number
    assert live.authorizations() == 1


# -- batch: the drop folder ------------------------------------------------------------------


def test_the_drop_folder_writes_once_and_finds_the_answer_in_the_inbox(tmp_path: Path) -> None:
    clock = Clock()
    drop = tmp_path / "drop"
    channel = X12Channel(FileDropTransport(drop), ControlFile(tmp_path / "c"), clock=clock)
    request = request_for("x12c-batch", "OK-12")
    sent = submission(request)
    receipt = channel.submit(sent)
    assert receipt.answer is None
    assert receipt.details["mode"] == "batch"
    outbox = sorted((drop / "outbox").iterdir())
    assert [p.name for p in outbox] == ["x12c-batch-1.x12"]
    first = outbox[0].read_text()
    again = channel.submit(sent)  # the same key: not written again
    assert (drop / "outbox" / "x12c-batch-1.x12").read_text() == first
    assert sorted(p.name for p in (drop / "outbox").iterdir()) == ["x12c-batch-1.x12"]
    assert again.details["control"] == receipt.details["control"]
    assert channel.check(sent, receipt) is None  # nothing in the inbox yet
    payer = X12Payer(Simulator(RULES, State(tmp_path / "sim"), clock))
    other = payer.answer(_interchange_for(request_for("x12c-other", "OK-13"), clock, tmp_path))
    (drop / "inbox" / "a-someone-else.x12").write_text(other)
    assert channel.check(sent, receipt) is None  # an answer, but not to us
    (drop / "inbox" / "b-ours.x12").write_text(payer.answer(first))
    answer = channel.check(sent, receipt)
    assert answer is not None and answer.kind is AnswerKind.DECIDED
    assert answer.determination is not None
    assert answer.determination.authorization_number.startswith("SIM")


def _interchange_for(request: AuthorizationRequest, clock: Clock, tmp: Path) -> str:
    return build_278(request, at=clock(), next_control=ControlFile(tmp / "c3"))


def test_a_batch_999_rejection_in_the_inbox_is_a_payer_rejection(tmp_path: Path) -> None:
    clock = Clock()
    drop = tmp_path / "drop"
    channel = X12Channel(FileDropTransport(drop), ControlFile(tmp_path / "c"), clock=clock)
    sent = submission(request_for("x12c-batch-bad", "OK-14"))
    receipt = channel.submit(sent)
    text = (drop / "outbox" / "x12c-batch-bad-1.x12").read_text()
    payer = X12Payer(Simulator(RULES, State(tmp_path / "sim"), clock))
    ack = payer.answer(text.replace("DMG*D8*19700101", "DMG*D8*19701399"))
    (drop / "inbox" / "ack.x12").write_text(ack)
    with pytest.raises(PayerRejected):
        channel.check(sent, receipt)


# -- control numbers and settings ------------------------------------------------------------


def test_two_counters_on_one_file_never_repeat_a_number(tmp_path: Path) -> None:
    path = tmp_path / "x12" / "control-number"
    counters = [ControlFile(path, durable=False), ControlFile(path, durable=False)]
    taken: list[list[int]] = [[], [], [], []]

    def take(n: int) -> None:
        for _ in range(150):
            taken[n].append(counters[n % 2]())

    threads = [threading.Thread(target=take, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = [n for chunk in taken for n in chunk]
    assert len(numbers) == 600
    assert sorted(numbers) == list(range(1, 601))


def test_counters_reserving_blocks_in_two_processes_never_repeat(tmp_path: Path) -> None:
    path = tmp_path / "control-number"
    code = (
        "import sys; from pathlib import Path; "
        "from precert.channels.x12.controls import ControlFile; "
        "c = ControlFile(Path(sys.argv[1]), durable=False, block=5); "
        "print(' '.join(str(c()) for _ in range(203)))"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    mine = ControlFile(path, block=7)
    here = [mine() for _ in range(50)]
    outputs = [run.communicate(timeout=60)[0].decode().split() for run in runs]
    numbers = [int(n) for out in outputs for n in out] + here
    assert len(numbers) == 456
    assert len(set(numbers)) == len(numbers)
    assert int(path.read_text()) >= max(numbers)


def test_the_control_number_wraps_after_nine_digits(tmp_path: Path) -> None:
    path = tmp_path / "control-number"
    path.write_text(f"{LARGEST - 1}\n")
    counter = ControlFile(path)
    assert [counter(), counter()] == [LARGEST, 1]
    path.write_text(f"{LARGEST - 2}\n")
    assert [ControlFile(path, block=3)() for _ in range(2)] == [1, 4]  # no block across the end
    path.write_text("garbage")
    with pytest.raises(ChannelMisconfigured):
        counter()


def test_settings_choose_the_transport(tmp_path: Path) -> None:
    with pytest.raises(ChannelMisconfigured) as raised:
        x12_channel(Settings(data_dir=tmp_path), Clock())
    assert "PRECERT_X12_URL" in raised.value.message
    assert "PRECERT_X12_DROP_DIR" in raised.value.message
    batch = x12_channel(Settings(data_dir=tmp_path, x12_drop_dir=tmp_path / "drop"), Clock())
    assert isinstance(batch.transport, FileDropTransport)
    both = Settings(data_dir=tmp_path, x12_drop_dir=tmp_path, x12_url="http://127.0.0.1:9/x12")
    assert isinstance(x12_channel(both, Clock()).transport, CoreHttpTransport)


def test_the_attempt_is_the_number_after_the_last_hyphen() -> None:
    assert attempt_of("req-7-3") == 3
    assert attempt_of("7f3c-e1-12") == 12
    with pytest.raises(InvalidInput, match="-<attempt>"):
        attempt_of("req-first")


# -- amendments: cancel, extend, revise a certification --------------------------------------


def _approved(live: Live, request: AuthorizationRequest) -> tuple[Submission, Receipt, str]:
    sent = submission(request)
    receipt = live.channel().submit(sent)
    assert receipt.answer is not None and receipt.answer.determination is not None
    return sent, receipt, receipt.answer.determination.authorization_number


def test_a_cancel_is_confirmed_as_cancelled_and_issues_no_number(live: Live) -> None:
    sent, receipt, number = _approved(live, request_for("x12c-cancel", "OK-30"))
    answer = live.channel().amend(sent, receipt, kind="cancel", authorization_number=number)
    assert answer.kind is AnswerKind.CANCELLED
    assert answer.determination is None
    assert answer.message == f"The payer cancelled certification {number} (HCR01 C)."
    assert live.authorizations() == 1
    # Sent again (a retry after a lost answer): the same confirmation, still one authorization.
    again = live.channel().amend(sent, receipt, kind="cancel", authorization_number=number)
    assert again == answer


def test_an_extension_is_decided_under_the_same_number_with_the_new_end_and_units(
    live: Live,
) -> None:
    sent, receipt, number = _approved(live, request_for("x12c-extend", "OK-31"))
    new_end = dt.date(2030, 9, 30)
    answer = live.channel().amend(
        sent,
        receipt,
        kind="extend",
        authorization_number=number,
        to_date=new_end,
        units={"J1745": 6},
    )
    assert answer.kind is AnswerKind.DECIDED
    determination = answer.determination
    assert determination is not None
    assert determination.outcome is Outcome.APPROVED
    assert determination.authorization_number == number
    assert determination.valid_to == new_end
    assert [(d.code, d.approved_units) for d in determination.lines] == [
        ("70551", 1),
        ("J1745", 6),
    ]
    assert live.authorizations() == 1


def test_a_revision_granted_in_part_reads_as_a_modification_of_the_new_ask(live: Live) -> None:
    request = request_for("x12c-revise", "PART-32", INFUSION)
    sent = submission(request)
    receipt = live.channel().submit(sent)
    assert receipt.answer is not None and receipt.answer.determination is not None
    number = receipt.answer.determination.authorization_number
    answer = live.channel().amend(
        sent, receipt, kind="revise", authorization_number=number, units={"J1745": 2}
    )
    assert answer.determination is not None
    assert answer.determination.outcome is Outcome.PARTIALLY_APPROVED
    assert answer.determination.authorization_number == number
    (line,) = answer.determination.lines
    assert (line.code, line.approved_units, line.status) == ("J1745", 1, LineStatus.MODIFIED)


def test_an_unknown_certification_number_is_a_payer_rejection_saying_what_to_do(
    live: Live,
) -> None:
    sent, receipt, _ = _approved(live, request_for("x12c-wrong-number", "OK-33"))
    with pytest.raises(PayerRejected) as raised:
        live.channel().amend(sent, receipt, kind="cancel", authorization_number="SIM00000999")
    assert raised.value.message == (
        "The payer rejected the 278 (trace x12c-wrong-number.1). Next step: correct the request "
        "and send it again (AAA04 C)."
    )
    (issue,) = raised.value.issues
    assert "authorization number not found (AAA03 AA)" in issue.message
    assert issue.location.endswith("loop 2000E")


def test_an_amendment_the_278_cannot_carry_is_refused_before_sending(live: Live) -> None:
    sent, receipt, number = _approved(live, request_for("x12c-bad-amend", "OK-34"))
    channel = live.channel()
    with pytest.raises(InvalidInput) as raised:
        channel.amend(sent, receipt, kind="renew", authorization_number=number)
    assert raised.value.issues[0].location == "kind"
    with pytest.raises(InvalidInput) as raised:
        channel.amend(sent, receipt, kind="extend", authorization_number=number)
    assert "an extension needs a new end date or new units" in raised.value.message


def test_an_amendment_by_drop_folder_is_written_once_per_content_and_pends(
    tmp_path: Path,
) -> None:
    clock = Clock()
    drop = tmp_path / "drop"
    channel = X12Channel(FileDropTransport(drop), ControlFile(tmp_path / "c"), clock=clock)
    sent = submission(request_for("x12c-batch-amend", "OK-35"))
    receipt = channel.submit(sent)
    first = channel.amend(
        sent, receipt, kind="extend", authorization_number="N1", units={"J1745": 4}
    )
    assert first.kind is AnswerKind.PENDED
    assert "the payer's 278 answer comes later" in first.message
    channel.amend(sent, receipt, kind="extend", authorization_number="N1", units={"J1745": 4})
    channel.amend(sent, receipt, kind="cancel", authorization_number="N1")
    names = sorted(p.name for p in (drop / "outbox").iterdir())
    assert len(names) == 3  # the submission, one extension (sent twice), one cancel
    assert "x12c-batch-amend-1.x12" in names
    assert sorted(n.split(".")[1] for n in names if ".um" in n) == ["um3", "um4"]
