"""The outbox fax sender against a real folder: what lands there, and that nothing is sent twice.

Packets are rendered for real with a synthetic patient, so the PHI checks look at real bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path

import pytest

from precert.channels.fax import FaxReceipt, FaxSender, OutboxFaxSender
from precert.errors import InvalidInput
from precert.reports.fax_packet import (
    Facility,
    FaxFrom,
    FaxPacket,
    FaxTo,
    Member,
    PacketLine,
    Provider,
    Urgency,
    render_fax_packet,
)

SENT_AT = dt.datetime(2026, 11, 23, 14, 5, tzinfo=dt.UTC)
PATIENT = Member("Testpatient", "Bravo", dt.date(1975, 6, 30), "ZZQ123456789", "GRP-1")


def render(reference: str = "PA-2026-000007", *, lines: int = 1) -> bytes:
    day = dt.date(2026, 12, 10)
    return render_fax_packet(
        FaxPacket(
            reference=reference,
            date=dt.date(2026, 11, 23),
            urgency=Urgency.STANDARD,
            to=FaxTo("Acme Health", "(312) 555-0199"),
            sender=FaxFrom("Lakeside Clinic", "Jordan Example", "(312) 555-0100", "(312) 555-0101"),
            member=PATIENT,
            ordering=Provider("Dr. Casey Ordering", "1234567893"),
            rendering=Provider("Dr. Casey Ordering", "1234567893"),
            facility=Facility("Lakeside Clinic"),
            lines=tuple(PacketLine("70551", 1, ("G43.909",), "11", day, day) for _ in range(lines)),
            term="Preauthorization",
            reviews="medical necessity",
        )
    )


@pytest.fixture
def sender(tmp_path: Path) -> OutboxFaxSender:
    return OutboxFaxSender(tmp_path / "var" / "fax-outbox", clock=lambda: SENT_AT)


def test_a_send_writes_the_pdf_and_a_sidecar_into_a_new_outbox_folder(
    sender: OutboxFaxSender,
) -> None:
    pdf = render()

    receipt = sender.send(pdf, to_number="(312) 555-0199", reference="PA-2026-000007")

    outbox = sender.folder
    assert sorted(p.name for p in outbox.iterdir()) == ["PA-2026-000007.json", "PA-2026-000007.pdf"]
    assert (outbox / "PA-2026-000007.pdf").read_bytes() == pdf
    assert json.loads((outbox / "PA-2026-000007.json").read_text()) == {
        "reference": "PA-2026-000007",
        "to_number": "3125550199",
        "pages": 3,
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "created": "2026-11-23T14:05:00+00:00",
    }
    assert receipt == FaxReceipt("PA-2026-000007", SENT_AT, str(outbox / "PA-2026-000007.pdf"))


def test_a_second_send_with_the_same_reference_returns_the_first_receipt_and_writes_nothing(
    tmp_path: Path,
) -> None:
    first_sender = OutboxFaxSender(tmp_path / "outbox", clock=lambda: SENT_AT)
    first = first_sender.send(render(), to_number="+1 312 555 0199", reference="PA-1")
    pdf_before = (tmp_path / "outbox" / "PA-1.pdf").read_bytes()
    sidecar_before = (tmp_path / "outbox" / "PA-1.json").read_bytes()

    later = OutboxFaxSender(tmp_path / "outbox", clock=lambda: SENT_AT + dt.timedelta(hours=1))
    second = later.send(render(lines=2), to_number="+1 312 555 0000", reference="PA-1")

    assert second == first
    assert (tmp_path / "outbox" / "PA-1.pdf").read_bytes() == pdf_before
    assert (tmp_path / "outbox" / "PA-1.json").read_bytes() == sidecar_before
    assert len(list((tmp_path / "outbox").iterdir())) == 2


def test_concurrent_sends_of_one_reference_leave_one_packet_and_agree_on_the_receipt(
    sender: OutboxFaxSender,
) -> None:
    packets = [render(lines=n) for n in (1, 2, 3, 4)]
    receipts: list[FaxReceipt] = []
    barrier = threading.Barrier(len(packets))

    def send(pdf: bytes) -> None:
        barrier.wait()
        receipts.append(sender.send(pdf, to_number="3125550199", reference="PA-RACE"))

    threads = [threading.Thread(target=send, args=(pdf,)) for pdf in packets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(receipts)) == 1
    written = (sender.folder / "PA-RACE.pdf").read_bytes()
    assert written in packets
    sidecar = json.loads((sender.folder / "PA-RACE.json").read_text())
    assert sidecar["sha256"] == hashlib.sha256(written).hexdigest()
    assert sorted(p.name for p in sender.folder.iterdir()) == ["PA-RACE.json", "PA-RACE.pdf"]


def test_a_packet_left_without_its_sidecar_by_a_crash_is_completed_not_resent(
    sender: OutboxFaxSender,
) -> None:
    pdf = render()
    sender.folder.mkdir(parents=True)
    (sender.folder / "PA-9.pdf").write_bytes(pdf)

    receipt = sender.send(render(lines=2), to_number="3125550199", reference="PA-9")

    assert (sender.folder / "PA-9.pdf").read_bytes() == pdf
    assert json.loads((sender.folder / "PA-9.json").read_text())["sha256"] == (
        hashlib.sha256(pdf).hexdigest()
    )
    assert receipt.sent_at == SENT_AT


def test_neither_file_names_nor_the_sidecar_carry_patient_data(sender: OutboxFaxSender) -> None:
    sender.send(render(), to_number="312-555-0199", reference="PA-2026-000007")

    for path in sender.folder.iterdir():
        assert "Testpatient" not in path.name and "ZZQ123456789" not in path.name
    sidecar = (sender.folder / "PA-2026-000007.json").read_text()
    for phi in ("Testpatient", "Bravo", "ZZQ123456789", "1975-06-30"):
        assert phi not in sidecar
    assert "Testpatient" not in repr(sender)


def test_the_outbox_sender_is_a_fax_sender() -> None:
    sender: FaxSender = OutboxFaxSender(Path("unused"))

    assert callable(sender.send)


@pytest.mark.parametrize("reference", ["../escape", "PA 1", "", "x" * 81, ".hidden", "a/b"])
def test_a_reference_that_could_not_be_a_plain_file_name_is_refused(
    sender: OutboxFaxSender, reference: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        sender.send(render(), to_number="3125550199", reference=reference)

    assert caught.value.message == (
        "A fax reference is 1-80 letters, digits, '-' or '_', starting with a letter or digit."
    )
    assert not sender.folder.exists()


@pytest.mark.parametrize("number", ["555", "call me", "+1 312 555 0199 ext 4", "1" * 16])
def test_a_fax_number_that_cannot_be_dialled_is_refused(
    sender: OutboxFaxSender, number: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        sender.send(render(), to_number=number, reference="PA-1")

    assert caught.value.message == (
        "The fax number must have 7 to 15 digits (spaces, dashes, dots, brackets and a "
        "leading '+' are allowed)."
    )


def test_bytes_that_are_not_a_pdf_are_refused_and_nothing_is_written(
    sender: OutboxFaxSender,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        sender.send(b"<html>not a fax</html>", to_number="3125550199", reference="PA-1")

    assert caught.value.message == "The fax packet is not a readable PDF; render it again."
    assert not sender.folder.exists()
