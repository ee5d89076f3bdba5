"""X12 envelopes: every corpus sample checks out; each malformed case of issue 4 is located;
written envelopes read back identical; mutated samples never raise anything but InvalidInput."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precert.channels.x12.ack999 import acknowledge, read_999
from precert.channels.x12.envelope import (
    ControlCounter,
    GroupSpec,
    Party,
    TransactionBody,
    parse,
    read,
    write_interchange,
)
from precert.channels.x12.tokens import Delimiters
from precert.errors import InvalidInput

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "lfh-x12-5010-samples"
FILES = sorted(p for p in SAMPLES.glob("*/*") if p.name != "SOURCE.txt")
KNOWN_BAD = "subscriber-health-benefit-check-error.271"  # its SE02 (4323) differs from ST02 (4321)
GOOD = "demo.example1.837"


def sample(name: str) -> str:
    return next(p for p in FILES if p.name == name).read_text()


def issues_of(text: str) -> list[tuple[str, str, str]]:
    return [(i.code, i.location, i.message) for i in read(text).issues]


@pytest.mark.parametrize("path", [p for p in FILES if p.name != KNOWN_BAD], ids=lambda p: p.name)
def test_every_sample_has_sound_envelopes(path: Path) -> None:
    document = parse(path.read_text())
    assert len(document.interchanges) == 1
    (group,) = document.interchanges[0].groups
    assert group.sets and all(s.trailer is not None for s in group.sets)
    assert group.sets[0].implementation in ("", group.version)  # ST03 is optional


def test_the_sample_with_a_wrong_se02_is_caught_where_it_is() -> None:
    (found,) = issues_of(sample(KNOWN_BAD))
    assert found[0] == "x12.control_number"
    assert found[1] == "ISA/GS[1]/ST[1]/segment 8 (SE) element 02"
    assert "'4323'" in found[2] and "'4321'" in found[2]


def test_wrong_counts_and_control_numbers_at_every_level() -> None:
    text = (
        sample(GOOD)
        .replace("SE*40*0021~", "SE*39*0021~")
        .replace("GE*1*1~", "GE*2*7~")
        .replace("IEA*1*000000907~", "IEA*3*000000908~")
    )
    found = {(code, where) for code, where, _ in issues_of(text)}
    assert found == {
        ("x12.count", "ISA/GS[1]/ST[1]/segment 40 (SE) element 01"),
        ("x12.control_number", "ISA/GS[1]/GE element 02"),
        ("x12.count", "ISA/GS[1]/GE element 01"),
        ("x12.control_number", "ISA/IEA element 02"),
        ("x12.count", "ISA/IEA element 01"),
    }


def test_a_cut_off_interchange_names_what_is_missing() -> None:
    text = sample(GOOD)
    cut = text[: text.index("SV1*HC:86663") + 9]
    found = issues_of(cut)
    codes = [c for c, _, _ in found]
    assert codes == [
        "x12.truncated",
        "x12.missing_trailer",
        "x12.missing_trailer",
        "x12.missing_trailer",
    ]
    assert "cut off" in found[0][2]
    assert found[1][1] == "ISA/GS[1]/ST[1]" and "no SE trailer" in found[1][2]
    assert "no GE trailer" in found[2][2] and "no IEA trailer" in found[3][2]


def test_missing_trailers_between_whole_segments() -> None:
    text = sample(GOOD).replace("SE*40*0021~\n", "").replace("GE*1*1~\n", "")
    messages = [m for _, _, m in issues_of(text)]
    assert any("no SE trailer" in m for m in messages)
    assert any("no GE trailer" in m for m in messages)


def test_mixed_delimiters_are_located_on_the_segment() -> None:
    text = sample(GOOD).replace("NM1*41*2*", "NM1|41|2|", 1)
    ((code, where, message),) = issues_of(text)
    assert code == "x12.segment_id"
    assert where == "ISA/GS[1]/ST[1]/segment 3 (NM1)"
    assert "'NM1|' is not a segment ID" in message
    assert "element separator" in message and "'*'" in message
    assert "PREMIER" not in message + where  # data (possibly PHI) is never echoed


def test_a_missing_terminator_before_a_line_break_is_located() -> None:
    text = sample(GOOD).replace("N3*234 SEAWAY ST~", "N3*234 SEAWAY ST", 1)
    assert "N3*234 SEAWAY ST\n" in text
    (code, where, message), count = issues_of(text)
    assert count[0] == "x12.count"  # two segments ran together, so SE01 is one too many
    assert code == "x12.line_break"
    assert where.startswith("ISA/GS[1]/ST[1]/segment ") and where.endswith("(N3)")
    assert "terminator '~' is probably missing" in message


@pytest.mark.parametrize("newline", ["", "\n", "\r\n", "\r"], ids=["none", "lf", "crlf", "cr"])
def test_line_break_variants_read_clean_and_a_lost_terminator_is_still_found(newline: str) -> None:
    flat = sample(GOOD).replace("\n", "")
    parse(flat.replace("~", "~" + newline))
    joined = flat.replace("N3*234 SEAWAY ST~", "N3*234 SEAWAY ST" + (newline or "\n"), 1)
    codes = [code for code, _, _ in issues_of(joined.replace("~", "~" + newline))]
    assert codes == ["x12.line_break", "x12.count"]


def test_segments_outside_envelopes_and_empty_segments() -> None:
    text = sample(GOOD).replace("GE*1*1~", "NM1*XX~GE*1*1~").replace("BHT*", "~BHT*", 1)
    found = issues_of(text)
    assert "x12.outside_envelope" in {c for c, _, _ in found}
    assert any("empty" in m for _, _, m in found)


def test_duplicate_set_control_numbers_in_a_group() -> None:
    text = sample(GOOD)
    start, end = text.index("ST*837"), text.index("GE*")
    doubled = text[:end] + text[start:end] + text[end:].replace("GE*1*", "GE*2*")
    ((code, where, _),) = issues_of(doubled)
    assert code == "x12.duplicate_control_number" and where.startswith("ISA/GS[1]/ST[2]")


def test_a_non_x12_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not an X12 interchange"):
        read("hello, this is a letter")


BODY = (
    ("BHT", "0007", "13", "TRACE1", "20261201", "1200"),
    ("HL", "1", "", "20", "1"),
    ("NM1", "X3", "2", "SYNTHETIC PAYER", "", "", "", "", "PI", "12345"),
    ("HI", "ABK:R51^ABF:G44209"),
)


@pytest.mark.parametrize(
    "delimiters", [Delimiters(), Delimiters("|", ">", "!", "\n")], ids=["default", "custom"]
)
def test_written_envelopes_read_back_identical(delimiters: Delimiters) -> None:
    counter = ControlCounter(41)
    text = write_interchange(
        [
            GroupSpec(
                "HI",
                "SENDERAPP",
                "RECEIVERAPP",
                "005010X217",
                [
                    TransactionBody("278", "005010X217", BODY),
                    TransactionBody("278", "005010X217", BODY[:2]),
                ],
            )
        ],
        sender=Party("ZZ", "PRECERT"),
        receiver=Party("PI", "PAYER1"),
        at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        next_control=counter,
        usage="T",
        delimiters=delimiters,
        newline="" if delimiters.segment == "\n" else "\n",
    )
    assert text.index(delimiters.segment) == 105  # ISA is fixed width
    document = parse(text)
    interchange = document.interchanges[0]
    assert interchange.control_number == "000000041"
    assert interchange.element(6) == "PRECERT" and len(interchange.header.element(6)) == 15
    (group,) = interchange.groups
    assert group.control_number == "42"
    assert [s.control_number for s in group.sets] == ["0043", "0044"]
    assert [tuple((seg.tag, *seg.elements) for seg in s.body) for s in group.sets] == [
        BODY,
        BODY[:2],
    ]
    assert group.sets[0].segments[-1].elements == ("6", "0043")
    hi = group.sets[0].body[-1]
    if delimiters.repetition == "^":  # BODY writes HI01 with the default separators
        assert hi.repetitions(1) == ("ABK:R51", "ABF:G44209")


def test_an_isa_element_too_long_to_write_is_refused() -> None:
    with pytest.raises(InvalidInput, match="ISA06"):
        write_interchange(
            [],
            sender=Party("ZZ", "X" * 16),
            receiver=Party("ZZ", "Y"),
            at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            next_control=ControlCounter(),
        )


MUTABLE = [p.read_text() for p in FILES]
NOISE = "*:^~|\n\r ISAGSTEIQ0123456789"


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(MUTABLE) - 1),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3), st.text(NOISE, max_size=4)), max_size=6
    ),
)
def test_mutated_samples_never_raise_anything_but_invalid_input(
    index: int, edits: list[tuple[float, int, str]]
) -> None:
    text = MUTABLE[index]
    for where, length, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    try:
        document = read(text)
        if any(document.groups()):
            answer = acknowledge(
                document, at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), next_control=ControlCounter()
            )
            read_999(answer)  # our own 999 always reads back
    except InvalidInput as error:
        assert error.issues and all(i.location for i in error.issues)
