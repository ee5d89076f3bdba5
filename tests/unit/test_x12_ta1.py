"""The TA1 interchange acknowledgment: written for an interchange whose ISA/IEA is broken, read
back into Issues that say what the note code means."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.unit.pas_fixtures import NOW, make_request

from precert.channels.x12.envelope import ControlCounter, read
from precert.channels.x12.ta1 import (
    NOTE_CODES,
    needs_ta1,
    raise_if_rejected,
    read_ta1,
    write_ta1,
)
from precert.channels.x12.tx278 import build_278
from precert.errors import InvalidInput, PayerRejected

LATER = dt.datetime(2030, 3, 1, 9, 5, tzinfo=dt.UTC)


def _interchange() -> str:
    return build_278(make_request(), at=NOW, next_control=ControlCounter(41))


def _ta1_for(text: str) -> str:
    return write_ta1(read(text), at=LATER, next_control=ControlCounter(900))


def test_an_iea_that_does_not_close_its_isa_gets_a_ta1_with_note_001() -> None:
    text = _interchange().replace("IEA*1*000000041", "IEA*1*000000042")
    answer = _ta1_for(text)
    assert "TA1*000000041*300301*0900*E*001~" in answer
    # The TA1 goes back from the receiver to the sender, in an interchange of its own.
    assert answer.startswith("ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*PRECERT  ")
    assert answer.rstrip().endswith("IEA*0*000000900~")
    (ack,) = read_ta1(answer)
    assert ack.accepted  # E: accepted with errors
    assert ack.issue().message == (
        "The payer accepted with errors interchange 000000041: the interchange control numbers "
        "in the ISA13 header and IEA02 trailer differ (TA105 001)."
    )
    raise_if_rejected([ack])  # nothing to raise: the interchange went through


def test_a_cut_off_file_is_rejected_with_note_023() -> None:
    text = _interchange().split("GE*")[0]
    (ack,) = read_ta1(_ta1_for(text))
    assert (ack.control_number, ack.status, ack.note) == ("000000041", "R", "023")
    with pytest.raises(PayerRejected) as caught:
        raise_if_rejected([ack])
    assert "fix the ISA/IEA named in each issue" in caught.value.message
    assert caught.value.issues[0].message == (
        "The payer rejected interchange 000000041: the file ended too early (improper end of "
        "file) (TA105 023)."
    )
    assert caught.value.issues[0].location == "ISA/TA1 (segment 2)"


def test_isa_element_problems_get_their_own_note_codes() -> None:
    text = _interchange().replace("*00501*000000041*0*P*", "*00401*000000041*0*X*")
    acks = read_ta1(_ta1_for(text))
    assert [(a.status, a.note) for a in acks] == [("R", "017"), ("E", "020")]


def test_an_interchange_with_a_sound_envelope_needs_no_ta1() -> None:
    document = read(_interchange())
    assert not needs_ta1(document)
    with pytest.raises(InvalidInput, match="No interchange here has an envelope problem"):
        write_ta1(document, at=LATER, next_control=ControlCounter())
    accepted = write_ta1(document, at=LATER, next_control=ControlCounter(), accepted_too=True)
    (ack,) = read_ta1(accepted)
    assert (ack.status, ack.note, ack.accepted) == ("A", "000", True)
    assert ack.issue().message == "The payer accepted interchange 000000041."


def test_a_ta1_missing_its_note_code_cannot_be_read() -> None:
    text = _ta1_for(_interchange().split("GE*")[0]).replace("*R*023~", "*R~")
    with pytest.raises(InvalidInput) as caught:
        read_ta1(text)
    assert caught.value.issues[0].message == "The TA1 lacks TA105; it cannot be read."


def test_an_unknown_note_code_is_said_to_be_unknown() -> None:
    text = _ta1_for(_interchange().split("GE*")[0]).replace("*R*023~", "*R*099~")
    (ack,) = read_ta1(text)
    assert "a note code this reader does not know (TA105 099)" in ack.issue().message


def test_every_note_code_is_three_digits_with_words() -> None:
    assert all(len(code) == 3 and code.isdigit() and words for code, words in NOTE_CODES.items())
    assert sorted(NOTE_CODES) == [f"{n:03d}" for n in range(32)]
