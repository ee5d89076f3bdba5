"""Blind indexes for member-id search: stable, blind to formatting, separate per organization."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from precert.config import Settings
from precert.errors import InvalidInput
from precert.security.blind_index import BlindIndex, normalise_member_id

MEMBER_ID = "ZZT-900 11 22"


@pytest.fixture
def index() -> BlindIndex:
    return BlindIndex(b"k" * 32)


def test_member_ids_are_normalised_to_upper_case_without_spaces_or_dashes() -> None:
    assert normalise_member_id(" zzt-900 11\t22 ") == "ZZT9001122"
    assert normalise_member_id("zzt\u2013900") == "ZZT900"


def test_the_digest_is_stable_hex_and_does_not_contain_the_member_id(index: BlindIndex) -> None:
    first = index.member_id(MEMBER_ID, organization_id=1)

    assert first == index.member_id(MEMBER_ID, organization_id=1)
    assert len(first) == 64
    int(first, 16)
    assert "ZZT" not in first.upper()


def test_the_same_member_id_written_differently_gives_the_same_digest(index: BlindIndex) -> None:
    assert index.member_id("zzt90011-22", organization_id=1) == index.member_id(
        MEMBER_ID, organization_id=1
    )


def test_the_same_member_id_in_two_organizations_gives_different_digests(
    index: BlindIndex,
) -> None:
    assert index.member_id(MEMBER_ID, organization_id=1) != index.member_id(
        MEMBER_ID, organization_id=2
    )


def test_a_different_key_gives_a_different_digest(index: BlindIndex) -> None:
    other = BlindIndex(b"o" * 32)

    assert index.member_id(MEMBER_ID, organization_id=1) != other.member_id(
        MEMBER_ID, organization_id=1
    )


def test_the_digest_is_a_keyed_hmac_over_length_prefixed_parts(index: BlindIndex) -> None:
    expected = hmac.new(b"k" * 32, b"9:member_id1:710:ZZT9001122", hashlib.sha256).hexdigest()

    assert index.member_id(MEMBER_ID, organization_id=7) == expected


def test_fields_and_organizations_cannot_bleed_into_each_other(index: BlindIndex) -> None:
    # Without length prefixes ("ab" + "c") and ("a" + "bc") would be the same message.
    assert index.digest("f", "c", organization_id="ab") != index.digest(
        "f", "bc", organization_id="a"
    )
    assert index.digest("member_id", "X", organization_id=1) != index.digest(
        "last_name", "X", organization_id=1
    )


def test_an_empty_member_id_is_refused(index: BlindIndex) -> None:
    with pytest.raises(InvalidInput) as caught:
        index.member_id(" - ", organization_id=1)

    assert str(caught.value) == (
        "A member id is required: it was empty after removing spaces and dashes."
    )
    assert caught.value.issues[0].location == "member_id"


def test_the_index_is_built_from_settings_and_hides_its_key() -> None:
    index = BlindIndex.from_settings(Settings())

    assert repr(index) == "BlindIndex(key=<hidden>)"
    assert index.member_id(MEMBER_ID, organization_id=1) == index.member_id(
        "zzt9001122", organization_id=1
    )
