"""The corrected 837: REF*G1 inserted in TR3 order, nothing else changed but SE01, the input's
delimiters and line breaks kept, refusals for what a person must decide, and pyx12 finding the
same problems (and no new ones) in the output as in the input."""

from __future__ import annotations

import difflib
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import pyx12.params
import pyx12.x12n_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.channels.x12.tokens import tokenize
from precert.channels.x12.tx837 import read_claims
from precert.channels.x12.tx837_fix import FixKey, insert_authorization_numbers
from precert.domain.claims import ClaimKind
from precert.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "lfh-x12-5010-samples"
FIXTURES = ROOT / "tests" / "fixtures" / "x12" / "837"
PROFESSIONAL = FIXTURES / "professional_auth.837"
INSTITUTIONAL = FIXTURES / "institutional_statement.837i"
INSTITUTIONAL_NO_AUTH = FIXTURES / "institutional_no_auth.837i"  # the same, without REF*G1
FILES = [*sorted(CORPUS.glob("837_*/*")), PROFESSIONAL, INSTITUTIONAL_NO_AUTH]


def _segments(text: str) -> list[tuple[str, ...]]:
    return [(segment.tag, *segment.elements) for segment in tokenize(text)]


def _fixes_for_every_claim(text: str) -> dict[FixKey, str]:
    """A number for each claim that has none, and for the first line of each 837P claim."""
    fixes: dict[FixKey, str] = {}
    for n, claim in enumerate(read_claims(text).claims, start=1):
        if not claim.authorization_numbers:
            fixes[(claim.claim_id, None)] = f"PA-CLAIM-{n}"
        line = claim.lines[0]
        if claim.kind is ClaimKind.PROFESSIONAL and not line.authorization_numbers:
            fixes[(claim.claim_id, line.number)] = f"PA-LINE-{n}"
    return fixes


def _only_inserts_and_se01(before: str, after: str) -> list[tuple[str, ...]]:
    """The inserted segments; fails if anything else but SE01 changed."""
    old, new = _segments(before), _segments(after)
    inserted: list[tuple[str, ...]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "insert":
            inserted.extend(new[b1:b2])
            continue
        # The only other change allowed: SE with a new count (SE02 unchanged).
        assert op == "replace", (op, old[a1:a2], new[b1:b2])
        changed_old, changed_new = old[a1:a2], new[b1:b2]
        ses = [s for s in changed_new if s[0] == "SE"]
        assert [s[0] for s in changed_old] == ["SE"] and len(ses) == 1
        assert ses[0][2:] == changed_old[0][2:]
        inserted.extend(s for s in changed_new if s[0] != "SE")
    assert all(segment[:2] == ("REF", "G1") for segment in inserted), inserted
    return inserted


def _pyx12_errors(text: str) -> list[str]:
    """pyx12's findings, without positions (they move by the inserted segments). pyx12 4 has no
    maps for X222A2/X223A3 (the corpus versions), so both sides are read as X222A1/X223A2."""
    text = text.replace("005010X222A2", "005010X222A1").replace("005010X223A3", "005010X223A2")
    out = io.StringIO()
    logging.disable(logging.CRITICAL)
    try:
        pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), None, None, fd_json=out
        )
    finally:
        logging.disable(logging.NOTSET)
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for error in node.get("errors") or []:
                message = re.sub(r"\s+Started at .*", "", str(error.get("err_str")))
                found.append(f"{node.get('seg_id')} {error.get('err_cde')} {message}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(out.getvalue()))
    return sorted(found)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corrected_file_differs_only_by_inserted_g1_and_se01_and_reads_back(path: Path) -> None:
    text = path.read_text()
    fixes = _fixes_for_every_claim(text)
    assert fixes
    corrected = insert_authorization_numbers(text, fixes)
    inserted = _only_inserts_and_se01(text, corrected)
    assert sorted(segment[2] for segment in inserted) == sorted(fixes.values())
    after = read_claims(corrected)
    assert after.errors == []
    for claim, before in zip(after.claims, read_claims(text).claims, strict=True):
        if (claim.claim_id, None) in fixes:
            assert claim.authorization_numbers == (fixes[(claim.claim_id, None)],)
        else:
            assert claim.authorization_numbers == before.authorization_numbers
        line = claim.lines[0]
        if (claim.claim_id, line.number) in fixes:
            assert line.authorization_numbers == (fixes[(claim.claim_id, line.number)],)
        # codes, units, dates and charges are the same, line by line
        assert [(x.code, x.units, x.from_date, x.to_date, x.charge) for x in claim.lines] == [
            (x.code, x.units, x.from_date, x.to_date, x.charge) for x in before.lines
        ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_pyx12_finds_no_new_problem_in_the_corrected_file(path: Path) -> None:
    text = path.read_text()
    corrected = insert_authorization_numbers(text, _fixes_for_every_claim(text))
    assert _pyx12_errors(corrected) == _pyx12_errors(text)


def test_our_variants_are_clean_for_pyx12_before_and_after() -> None:
    for path in (PROFESSIONAL, INSTITUTIONAL, INSTITUTIONAL_NO_AUTH):
        text = path.read_text()
        assert _pyx12_errors(text) == []
        assert _pyx12_errors(insert_authorization_numbers(text, _fixes_for_every_claim(text))) == []


def test_claim_g1_goes_after_9f_and_before_d9_as_the_tr3_orders_2300() -> None:
    text = PROFESSIONAL.read_text().replace("REF*G1*AUTH-0001~\n", "")
    text = text.replace("SE*59*0001", "SE*58*0001")
    corrected = insert_authorization_numbers(text, {("SYN-CLAIM-1", None): "NEW-1"})
    assert "REF*9F*REF-0001~\nREF*G1*NEW-1~\nREF*D9*TRACE0001~\n" in corrected
    assert "SE*59*0001~" in corrected


def test_line_g1_goes_after_dtp_and_claim_g1_right_after_clm_when_nothing_else_is_there() -> None:
    corrected = insert_authorization_numbers(
        PROFESSIONAL.read_text(),
        {("SYN-CLAIM-1", 1): "LINE-1", ("SYN-CLAIM-2", None): "CLAIM-2"},
    )
    assert "DTP*472*D8*20261015~\nREF*G1*LINE-1~\nLX*2~" in corrected
    assert "CLM*SYN-CLAIM-2*250.00***21:B:1*Y*A*Y*Y~\nREF*G1*CLAIM-2~\nHI*ABK:S7200~" in corrected
    assert "SE*61*0001~" in corrected


def test_837i_claim_g1_goes_after_cl1_and_before_hi() -> None:
    text = INSTITUTIONAL_NO_AUTH.read_text()
    corrected = insert_authorization_numbers(text, {("SYN-INPT-2", None): "PRECERT-9"})
    assert "CL1*1*1*01~\nREF*G1*PRECERT-9~\nHI*ABK:I214~" in corrected


def test_the_same_number_already_there_changes_nothing() -> None:
    text = PROFESSIONAL.read_text()
    fixes: dict[FixKey, str] = {
        ("SYN-CLAIM-1", None): "AUTH-0001",
        ("SYN-CLAIM-1", 2): "AUTH-LINE-2",
    }
    assert insert_authorization_numbers(text, fixes) == text


def test_a_line_number_equal_to_the_claims_is_not_repeated_in_2400() -> None:
    # X12 RFI 2459: a 2400 REF*G1 is sent only when it differs from the 2300 one.
    text = PROFESSIONAL.read_text()
    assert insert_authorization_numbers(text, {("SYN-CLAIM-1", 1): "AUTH-0001"}) == text
    corrected = insert_authorization_numbers(
        text, {("SYN-CLAIM-2", None): "NEW-2", ("SYN-CLAIM-2", 1): "NEW-2"}
    )
    assert corrected.count("REF*G1*NEW-2~") == 1


def test_a_different_number_already_there_is_refused_for_a_person_to_decide() -> None:
    with pytest.raises(InvalidInput) as caught:
        insert_authorization_numbers(PROFESSIONAL.read_text(), {("SYN-CLAIM-1", None): "AUTH-9"})
    (issue,) = caught.value.issues
    assert issue.message == (
        "Claim 'SYN-CLAIM-1' already carries prior authorization number 'AUTH-0001', not "
        "'AUTH-9'; a person must decide which is right (it is not replaced)."
    )
    assert issue.location == "ISA/GS[1]/ST[1]/segment 22 (REF) element 02"


def test_the_other_payers_g1_in_2330b_is_not_taken_for_the_claims_own() -> None:
    text = PROFESSIONAL.read_text().replace("REF*G1*AUTH-0001~\n", "")
    text = text.replace("SE*59*0001", "SE*58*0001")
    corrected = insert_authorization_numbers(text, {("SYN-CLAIM-1", None): "NEW-1"})
    assert corrected.count("REF*G1*OTHER-PAYER-AUTH~") == 1
    assert read_claims(corrected).claims[0].authorization_numbers == ("NEW-1",)


def test_a_line_fix_on_an_837i_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        insert_authorization_numbers(INSTITUTIONAL.read_text(), {("SYN-INPT-1", 1): "X1"})
    assert "an 837I carries the prior authorization number on the claim only" in (
        caught.value.issues[0].message
    )


@pytest.mark.parametrize(
    ("fixes", "message"),
    [
        ({("NO-SUCH-CLAIM", None): "A1"}, "Claim 'NO-SUCH-CLAIM' is not in this 837."),
        ({("SYN-CLAIM-2", 7): "A1"}, "Claim 'SYN-CLAIM-2' has no line 7."),
        (
            {("SYN-CLAIM-2", None): "A*1"},
            "The authorization number for claim 'SYN-CLAIM-2' must be 1 to 50 printable "
            "characters without outer spaces or the file's delimiters (* : ^ ~).",
        ),
        (
            {("SYN-CLAIM-2", None): ""},
            "The authorization number for claim 'SYN-CLAIM-2' must be 1 to 50 printable "
            "characters without outer spaces or the file's delimiters (* : ^ ~).",
        ),
    ],
)
def test_fixes_that_cannot_be_made_are_refused_with_a_reason(
    fixes: dict[FixKey, str], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        insert_authorization_numbers(PROFESSIONAL.read_text(), fixes)
    assert [issue.message for issue in caught.value.issues] == [message]


def test_a_claim_id_used_twice_is_refused() -> None:
    text = PROFESSIONAL.read_text().replace("SYN-CLAIM-2", "SYN-CLAIM-1")
    with pytest.raises(InvalidInput) as caught:
        insert_authorization_numbers(text, {("SYN-CLAIM-1", 3): "A1"})
    assert "is used by more than one claim" in caught.value.issues[0].message


def test_a_broken_envelope_is_refused_before_anything_is_written() -> None:
    text = PROFESSIONAL.read_text().replace("SE*59*0001", "SE*59*9999")
    with pytest.raises(InvalidInput) as caught:
        insert_authorization_numbers(text, {("SYN-CLAIM-2", None): "A1"})
    assert "envelope problems" in caught.value.message
    assert caught.value.issues


@pytest.mark.parametrize(
    "convert",
    [
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace("~\n", "~"),
        lambda t: t.replace("*", "|").replace("~\n", "}"),
    ],
    ids=["crlf", "no line breaks", "other delimiters"],
)
def test_the_inputs_delimiters_and_line_breaks_are_kept(convert: Any) -> None:
    text = convert(PROFESSIONAL.read_text())
    fixes: dict[FixKey, str] = {("SYN-CLAIM-2", None): "CLAIM-2"}
    corrected = insert_authorization_numbers(text, fixes)
    expected_text = convert(insert_authorization_numbers(PROFESSIONAL.read_text(), fixes))
    assert corrected == expected_text
    assert read_claims(corrected).claims[1].authorization_numbers == ("CLAIM-2",)


@st.composite
def _mutated_professional(draw: st.DrawFn) -> str:
    text = PROFESSIONAL.read_text()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.text(alphabet="*:^~\nREFG1CLMLXSE0123456789", max_size=6))
        if draw(st.booleans()):
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + text[at + len(piece) + 1 :]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_professional())
def test_mutated_input_gives_a_corrected_file_or_our_refusal_never_another_error(
    text: str,
) -> None:
    fixes: dict[FixKey, str] = {("SYN-CLAIM-2", None): "NEW-2", ("SYN-CLAIM-1", 1): "NEW-L1"}
    try:
        corrected = insert_authorization_numbers(text, fixes)
    except InvalidInput as error:
        assert error.issues and all(issue.message for issue in error.issues)
        return
    _only_inserts_and_se01(text, corrected)
