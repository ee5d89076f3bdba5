"""The contract every registered channel keeps, run over the whole registry: a receipt from this
channel with a reference and an aware time; the same idempotency key answers the same receipt
(never a second transmission); `check` answers a Determination or None; a submission the channel
cannot serve is refused with a precert error a person can act on, never a library exception."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.web.live_server import serving
from tests.support.requests import WEB_PAYER_FAX, pdf_document

from precert.channels.base import Channel, Destination, PayerAnswer, Submission, SubmittedDocument
from precert.channels.registry import CHANNELS, channel_named
from precert.config import Settings
from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)
from precert.errors import PrecertError
from precert.payer_sim.app import create_sim_app
from precert.payer_sim.rules import load_rules

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
REQUIREMENT = {
    "code": "70551",
    "decision": "required",
    "processes": [{"term": "preauthorization", "reviews": "medical_necessity", "rule": "r"}],
    "documents": ["Clinical notes from the last 60 days"],
    "channels": [{"type": "fax", "address": WEB_PAYER_FAX}],
}


def _request() -> AuthorizationRequest:
    day = dt.date(2026, 12, 10)
    return AuthorizationRequest(
        id="3f0c8a3e-0000-4000-8000-00000000c0de",
        organization_id="org-contract",
        patient=Patient("Testpatient", "Contract", dt.date(1980, 2, 1), "TEST-CONTRACT-1"),
        coverage=Coverage("web-test-payer", "commercial", "TEST-CONTRACT-1"),
        ordering_npi="1234567893",
        rendering_npi="1234567893",
        lines=(ServiceLine("70551", 1, day, day, "22", ("G43.909",)),),
        created_at=NOW,
        updated_at=NOW,
        urgency=Urgency.STANDARD,
        requirement=(REQUIREMENT,),
    )


def _submission(name: str, *, key: str = "contract-1", address: str = WEB_PAYER_FAX) -> Submission:
    notes = pdf_document("synthetic clinical notes")
    return Submission(
        request=_request(),
        documents=(
            SubmittedDocument("Clinical notes from the last 60 days", "application/pdf", notes),
        ),
        idempotency_key=key,
        destination=Destination(_pack_type(name), address),
        payer_name="Web Test Health (synthetic)",
        organization_name="Contract Clinic",
        details={"method": "phone", "reference": "CALL-1", "rep_name": "Rep Testname"},
    )


def _pack_type(name: str) -> str:
    return {"manual": "phone"}.get(name, name)


@pytest.fixture(scope="module")
def payer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The payer simulator, for the electronic channels (its default rules approve)."""
    state = tmp_path_factory.mktemp("contract-sim")
    with serving(create_sim_app(load_rules(), state, lambda: NOW)) as url:
        yield url


@pytest.fixture
def make_channel(payer: str, tmp_path: Path) -> Callable[[str], Channel]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path / "var",
        fax_sender_phone="(555) 010-0199",
        fax_sender_number="(555) 010-0198",
        x12_url=f"{payer}/x12",
        pas_endpoints={"web-test-payer": f"{payer}/fhir"},
    )
    return lambda name: channel_named(name, settings, clock=lambda: NOW)


# The portal channel needs a mock portal, a browser and vault access to give a receipt; its
# contract (receipt, the same key answered once, check) runs in test_portal_channel.py.
@pytest.fixture(params=sorted(set(CHANNELS) - {"portal"}))
def name(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_the_registry_builds_each_channel_under_its_own_name(
    name: str, make_channel: Callable[[str], Channel]
) -> None:
    channel = make_channel(name)
    assert channel.name == name
    assert isinstance(channel.transmits, bool)


def test_a_submission_answers_a_receipt_from_this_channel(
    name: str, make_channel: Callable[[str], Channel]
) -> None:
    receipt = make_channel(name).submit(_submission(name))
    assert receipt.channel == name
    assert receipt.reference
    assert receipt.sent_at.tzinfo is not None
    assert "Testpatient" not in repr(receipt) and "Contract" not in str(receipt.details)


def test_the_same_idempotency_key_answers_the_same_receipt(
    name: str, make_channel: Callable[[str], Channel], tmp_path: Path
) -> None:
    channel = make_channel(name)
    first = channel.submit(_submission(name, key="contract-2"))
    again = make_channel(name).submit(_submission(name, key="contract-2"))
    assert again.reference == first.reference
    if channel.transmits:  # the first hand-over stands
        assert again.sent_at == first.sent_at
    outbox = tmp_path / "var" / "fax-outbox"
    if outbox.exists():  # a transmitting channel handed over one packet, not two
        assert len(list(outbox.glob("*.pdf"))) == 1
    if first.answer is not None:  # an electronic payer answered the repeat with the same decision
        assert again.answer == first.answer


def test_check_answers_a_payer_answer_or_none(
    name: str, make_channel: Callable[[str], Channel]
) -> None:
    channel = make_channel(name)
    submission = _submission(name, key="contract-3")
    receipt = channel.submit(submission)
    found = channel.check(submission, receipt)
    assert found is None or isinstance(found, PayerAnswer)
    assert (found is not None) is channel.inquires


@pytest.mark.parametrize("address", ["", "not a number"])
def test_a_submission_the_channel_cannot_serve_is_a_precert_error_or_a_receipt(
    name: str, make_channel: Callable[[str], Channel], address: str
) -> None:
    channel = make_channel(name)
    try:
        receipt = channel.submit(_submission(name, key="contract-4", address=address))
    except PrecertError as refused:
        assert refused.message and refused.issues
        assert "Testpatient" not in refused.message
    else:
        assert receipt.channel == name


def test_the_submission_repr_carries_no_patient_data(name: str) -> None:
    shown = repr(_submission(name))
    assert "Testpatient" not in shown and "TEST-CONTRACT-1" not in shown
