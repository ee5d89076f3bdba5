"""X12 tokenizer: delimiters from the ISA, every corpus sample, custom delimiters, line breaks;
split_segments gives tokenize's segments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precert.channels.x12.tokens import Delimiters, split_segments, tokenize
from precert.errors import InvalidInput

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "lfh-x12-5010-samples"
FILES = sorted(p for p in SAMPLES.glob("*/*") if p.name != "SOURCE.txt")


def sample(name: str) -> str:
    return next(p for p in FILES if p.name == name).read_text()


def with_delimiters(text: str, d: Delimiters) -> str:
    """The sample rewritten with other delimiters (its data holds none of the new characters)."""
    table = str.maketrans({"*": d.element, ":": d.component, "^": d.repetition, "~": d.segment})
    return text.translate(table)


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_sample_tokenizes_into_its_segments(path: Path) -> None:
    text = path.read_text()
    segments = list(tokenize(text))
    assert segments[0].tag == "ISA" and segments[-1].tag == "IEA"
    assert [s.number for s in segments] == list(range(1, len(segments) + 1))
    assert len(segments) == text.count("~")
    for segment in segments:
        assert text[segment.offset :].startswith(segment.tag + "*")


def test_delimiters_come_from_the_fixed_width_isa() -> None:
    d = Delimiters.from_isa(sample("demo.example1.837"))
    assert d == Delimiters("*", ":", "^", "~")


def test_elements_components_and_repetitions() -> None:
    segments = {s.tag: s for s in tokenize(sample("demo.example1.837"))}
    clm = segments["CLM"]
    assert clm.element(1) == "26463774"
    assert clm.components(5) == ("11", "B", "1")
    assert clm.element(99) == ""
    assert clm.repetitions(5) == ("11:B:1",)
    assert clm.repetitions(3) == ()  # an empty element has no repeats


def test_repeating_elements_split_on_the_isa11_separator() -> None:
    text = sample("dependent-health-benefit-check.271")
    eb = next(s for s in tokenize(text) if s.tag == "EB" and "^" in s.element(3))
    assert eb.element(3) == "1^33^35^47^86^88^98^AL^MH^UC"
    assert eb.repetitions(3) == ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")
    assert eb.encode() == "EB*1**1^33^35^47^86^88^98^AL^MH^UC~"


@pytest.mark.parametrize(
    "delimiters",
    [
        Delimiters("|", ">", "!", "\n"),
        Delimiters("+", "<", "{", "'"),
        Delimiters("~", "\\", "`", "!"),
    ],
    ids=["pipe-newline", "edifact-like", "tilde-as-element"],
)
def test_custom_delimiters_round_trip(delimiters: Delimiters) -> None:
    original = list(tokenize(sample("demo.example1.837")))
    text = with_delimiters(sample("demo.example1.837").replace("\n", ""), delimiters)
    rewritten = list(tokenize(text))
    assert rewritten[0].delimiters == delimiters
    assert [(s.tag, s.elements) for s in rewritten[1:]] == [
        (
            s.tag,
            tuple(
                e.translate(str.maketrans("^:", delimiters.repetition + delimiters.component))
                for e in s.elements
            ),
        )
        for s in original[1:]
    ]
    assert "".join(s.encode() for s in rewritten) == text


@pytest.mark.parametrize("newline", ["", "\n", "\r\n", "\r"], ids=["none", "lf", "crlf", "cr"])
def test_line_breaks_after_terminators_are_not_data(newline: str) -> None:
    flat = sample("demo.example1.837").replace("\n", "")
    expected = [(s.tag, s.elements) for s in tokenize(flat)]
    text = flat.replace("~", "~" + newline)
    got = list(tokenize(text))
    assert [(s.tag, s.elements) for s in got] == expected
    assert all(text.startswith(s.tag + "*", s.offset) for s in got)


def test_a_second_interchange_may_declare_other_delimiters() -> None:
    first = sample("demo.example1.837").replace("\n", "")
    second = with_delimiters(first, Delimiters("|", ">", "!", "\n"))
    segments = list(tokenize(first + second))
    isas = [s for s in segments if s.tag == "ISA"]
    assert [s.delimiters.element for s in isas] == ["*", "|"]
    assert len(segments) == 2 * first.count("~")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "must start with an ISA"),
        ("GS*HC*1~", "starts with 'GS*'"),
        ("ISA*00*          *00*", "is cut off"),
        ("ISA*03*9876543210*01*9876543210*30*000000005  *30*12345", "ISA06 must be exactly 15"),
    ],
)
def test_unreadable_isa_is_refused_with_a_located_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(tokenize(text))
    assert words in caught.value.issues[0].message
    assert caught.value.issues[0].location.startswith("ISA")


def test_isa_that_reuses_a_delimiter_is_refused() -> None:
    text = sample("demo.example1.837")
    broken = text[:104] + "*" + text[105:]  # ISA16 = element separator
    with pytest.raises(InvalidInput, match="same character"):
        list(tokenize(broken))


# -- split_segments: the same segments as tokenize, as field lists -----------------------------

Flat = list[tuple[str, tuple[str, ...], int, Delimiters]]


def tokenized(text: str) -> Flat:
    return [(s.tag, s.elements, s.number, s.delimiters) for s in tokenize(text)]


def split(text: str) -> Flat:
    """split_segments' runs flattened, numbered by their index as the docstring says."""
    found: Flat = []
    for delimiters, segments in split_segments(text):
        for fields in segments:
            found.append((fields[0], tuple(fields[1:]), len(found) + 1, delimiters))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_split_segments_gives_every_sample_as_tokenize_does(path: Path) -> None:
    text = path.read_text()
    assert split(text) == tokenized(text)


FLAT = sample("demo.example1.837").replace("\n", "")
PIPES = with_delimiters(FLAT, Delimiters("|", ">", "!", "\n"))


@pytest.mark.parametrize(
    "text",
    [
        FLAT,
        FLAT.replace("~", "~\n"),
        FLAT.replace("~", "~\r\n"),
        FLAT.replace("~", "~\r"),
        FLAT.replace("~", "~\n\n"),  # blank lines between segments
        FLAT.replace("~", "~\n").replace("CLM*", "CLM\n*"),  # a line break inside a segment
        FLAT.replace("~", "~\n", 5),  # line breaks after some segments only
        PIPES,
        PIPES.replace("\n", "\r\n"),  # LF terminator with CRLF line ends
        "\ufeff\n " + FLAT,
        FLAT + PIPES + FLAT.replace("~", "~\r\n"),  # three interchanges, two kinds of delimiters
        FLAT + FLAT,  # a second ISA with the same delimiters
        FLAT + "ISA*00*short~" + FLAT,  # an unreadable later ISA: read on with the current ones
        FLAT.replace("~", "~ISA-in-data*1~", 1),
        FLAT.replace("~", "~~", 3),  # empty segments
        FLAT[:-40],  # cut off: the last piece has no terminator
        FLAT + "\n \t",
    ],
)
def test_split_segments_gives_tokenizes_segments_and_numbers(text: str) -> None:
    assert split(text) == tokenized(text)


def test_split_segments_starts_a_run_where_an_isa_declares_other_delimiters() -> None:
    runs = [(d, len(list(segments))) for d, segments in split_segments(FLAT + PIPES + FLAT)]
    count = FLAT.count("~")
    assert runs == [
        (Delimiters(), count),
        (Delimiters("|", ">", "!", "\n"), count),
        (Delimiters(), count),
    ]


def test_split_segments_refuses_an_unreadable_isa_when_called() -> None:
    with pytest.raises(InvalidInput) as caught:
        split_segments("GS*HC*1~")  # not iterated: the ISA is read at the call
    assert "must start with an ISA" in caught.value.issues[0].message


PARTS = st.sampled_from(
    ["GS*HC*A*B", "ST*837*1", "N3*A\nB", "N4*\r", "NM1*IL**DISABILITY", "", "SE*2*1", "ISA*9"]
)
ENDS = st.sampled_from(["", "\n", "\r\n", "\r", " \n", "\n\n"])


@given(
    st.lists(
        st.tuples(st.sampled_from([FLAT[:106], PIPES[:106]]), st.lists(PARTS), ENDS),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["", "\n", "NM1*X", "\r\n~"]),
)
def test_split_segments_matches_tokenize_on_any_mix(
    interchanges: list[tuple[str, list[str], str]], tail: str
) -> None:
    text = ""
    for isa, parts, end in interchanges:
        terminator, element = isa[-1], isa[3]
        end = end.replace(terminator, "")
        text += isa + end + "".join(p.replace("*", element) + terminator + end for p in parts)
    text += tail
    assert split(text) == tokenized(text)
