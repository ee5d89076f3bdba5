"""Submitting through a channel on SQLite and PostgreSQL: the fax packet lands in the outbox once
with its receipt on the timeline, a retry never sends a second fax, an unavailable sender flags
the request for attention, a misconfigured channel names its setting, and the manual channel keeps
what a person did as structured data."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.integration.web.live_server import WEB_PACK
from tests.support.requests import (
    NOW,
    WEB_PAYER_DOCUMENTS,
    pdf_document,
    request_body,
    web_payer_body,
)

from precert.domain.authorizations import ATTENTION_CLEARED, ATTENTION_SET, Event, Status
from precert.errors import ChannelMisconfigured, ChannelUnavailable, InvalidTransition
from precert.services import authorization_requests as requests
from precert.services import documents
from precert.services.accounts import Actor, Role, create_organization
from precert.services.catalog import import_pack
from precert.services.context import Context
from precert.services.submission import ManualSubmission, submit_request

CANARY_LAST = "Zulucanary"
CANARY_MEMBER = "CANARY-M-5521"


@pytest.fixture
def fax_ctx(any_ctx: Context) -> Context:
    """Both databases, the clock fixed at NOW, the synthetic fax payer, the sender configured."""
    any_ctx.settings = any_ctx.settings.model_copy(
        update={"fax_sender_phone": "(555) 010-0199", "fax_sender_number": "(555) 010-0198"}
    )
    any_ctx.now = lambda: NOW
    import_pack(any_ctx, WEB_PACK)
    return any_ctx


@pytest.fixture
def alice(fax_ctx: Context) -> Actor:
    org = create_organization(fax_ctx, "Clinic Fax")
    return Actor("user-fax", org, "alice@clinic-fax.example.org", Role.SPECIALIST)


def _outbox(ctx: Context) -> Path:
    return ctx.settings.data_dir / "fax-outbox"


def _packets(ctx: Context) -> list[Path]:
    folder = _outbox(ctx)
    return sorted(folder.glob("*.pdf")) if folder.is_dir() else []


def _ready_for_fax(ctx: Context, actor: Actor) -> str:
    body = web_payer_body(last_name=CANARY_LAST, member_id=CANARY_MEMBER)
    request_id = requests.create_request(ctx, actor, body).id
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        upload = documents.upload_document(
            ctx,
            actor,
            request_id,
            kind=kind,
            filename=f"{CANARY_LAST} {n}.pdf",
            data=pdf_document(f"synthetic document {n}"),
        )
    assert upload.request.status is Status.READY
    return request_id


def test_a_fax_submission_writes_one_packet_and_records_the_receipt_on_the_timeline(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)

    result = submit_request(fax_ctx, alice, request_id, channel="fax")

    assert result.request.status is Status.SUBMITTED
    assert result.receipt.channel == "fax"
    assert result.receipt.reference == f"{request_id}-1"
    [packet] = _packets(fax_ctx)
    assert packet.name == f"{request_id}-1.pdf"
    pdf = PdfReader(io.BytesIO(packet.read_bytes()))
    # Cover, form, checklist, then one page per attached one-page document.
    assert len(pdf.pages) == 5 == result.receipt.details["pages"]
    cover, form = pdf.pages[0].extract_text(), pdf.pages[1].extract_text()
    assert CANARY_LAST not in cover and CANARY_MEMBER not in cover
    assert "Web Test Health (synthetic)" in cover
    assert CANARY_LAST in form and CANARY_MEMBER in form  # the form is where the member belongs
    timeline = requests.get_request(fax_ctx, alice, request_id).timeline
    assert [event.kind for event in timeline][-2:] == ["submission_started", "submit"]
    started, submitted = timeline[-2], timeline[-1]
    assert started.data == {"channel": "fax", "attempt": 1, "key": f"{request_id}-1"}
    receipt = submitted.data["receipt"]
    assert receipt["reference"] == f"{request_id}-1"
    assert receipt["details"]["to_number"] == "+15550101"
    assert receipt["details"]["pages"] == 5


def test_without_a_named_channel_the_payers_first_supported_channel_is_used(
    fax_ctx: Context, alice: Actor
) -> None:
    # The web-test-payer pack lists a portal (not supported yet), then fax.
    request_id = _ready_for_fax(fax_ctx, alice)
    result = submit_request(fax_ctx, alice, request_id)
    assert result.receipt.channel == "fax"
    assert len(_packets(fax_ctx)) == 1


def test_a_retry_after_success_sends_nothing_new(fax_ctx: Context, alice: Actor) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)
    first = submit_request(fax_ctx, alice, request_id, channel="fax", idempotency_key="try-1")
    sent = _packets(fax_ctx)[0].read_bytes()

    again = submit_request(fax_ctx, alice, request_id, channel="fax", idempotency_key="try-1")

    assert again.repeated and not first.repeated
    assert again.receipt == first.receipt
    assert [p.read_bytes() for p in _packets(fax_ctx)] == [sent]
    with pytest.raises(InvalidTransition) as refused:  # no key: the domain says it is sent
        submit_request(fax_ctx, alice, request_id, channel="fax")
    assert "already with the payer" in refused.value.message
    assert len(_packets(fax_ctx)) == 1
    kinds = [e.kind for e in requests.get_request(fax_ctx, alice, request_id).timeline]
    assert kinds.count("submit") == 1 and kinds.count("submission_started") == 1


def test_a_retry_after_a_crash_mid_send_finds_the_first_fax_instead_of_sending_again(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)
    # A previous process handed the packet over and died before recording it: the same key
    # (request id + attempt 1) is already in the outbox.
    earlier = pdf_document("the packet sent before the crash")
    _outbox(fax_ctx).mkdir(parents=True)
    (_outbox(fax_ctx) / f"{request_id}-1.pdf").write_bytes(earlier)

    result = submit_request(fax_ctx, alice, request_id, channel="fax")

    assert result.receipt.reference == f"{request_id}-1"
    assert [p.read_bytes() for p in _packets(fax_ctx)] == [earlier]
    assert result.request.status is Status.SUBMITTED


def test_an_unavailable_sender_flags_the_request_and_a_later_attempt_succeeds(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)
    _outbox(fax_ctx).parent.mkdir(parents=True, exist_ok=True)
    _outbox(fax_ctx).write_text("a file where the outbox folder should be")

    with pytest.raises(ChannelUnavailable) as failed:
        submit_request(fax_ctx, alice, request_id, channel="fax")

    assert failed.value.retryable
    assert failed.value.message.startswith("The fax could not be handed to the sender")
    detail = requests.get_request(fax_ctx, alice, request_id)
    assert detail.request.status is Status.READY
    assert (detail.request.needs_attention or "").startswith("Submission failed through fax")
    kinds = [event.kind for event in detail.timeline]
    assert kinds[-3:] == ["submission_started", "submission_failed", ATTENTION_SET]
    assert detail.timeline[-2].data["error"] == "ChannelUnavailable"

    _outbox(fax_ctx).unlink()
    result = submit_request(fax_ctx, alice, request_id, channel="fax")
    assert result.receipt.reference == f"{request_id}-2"  # a new attempt: nothing went out before
    assert result.request.needs_attention is None
    kinds = [e.kind for e in requests.get_request(fax_ctx, alice, request_id).timeline]
    assert kinds[-2:] == [ATTENTION_CLEARED, "submit"]


def test_a_fax_channel_without_the_senders_numbers_names_the_settings_to_set(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)
    fax_ctx.settings = fax_ctx.settings.model_copy(update={"fax_sender_phone": ""})
    with pytest.raises(ChannelMisconfigured) as refused:
        submit_request(fax_ctx, alice, request_id, channel="fax")
    assert refused.value.message.startswith("Set PRECERT_FAX_SENDER_PHONE")
    assert _packets(fax_ctx) == []


def test_a_payer_without_a_fax_number_is_refused_before_anything_is_sent(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = requests.create_request(fax_ctx, alice, request_body()).id
    requests.mark_ready(fax_ctx, alice, request_id, override_reason="notes sent separately")
    with pytest.raises(ChannelMisconfigured) as refused:
        submit_request(fax_ctx, alice, request_id, channel="fax")
    assert "gives no fax number" in refused.value.message
    assert _packets(fax_ctx) == []


def test_an_unknown_channel_is_refused_with_the_channels_there_are(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = _ready_for_fax(fax_ctx, alice)
    with pytest.raises(ChannelMisconfigured) as refused:
        submit_request(fax_ctx, alice, request_id, channel="carrier-pigeon")
    assert refused.value.message == (
        "channel: 'carrier-pigeon' is not a channel; use one of fax, fhir-pas, manual, portal, x12."
    )
    assert requests.get_request(fax_ctx, alice, request_id).request.status is Status.READY


def test_a_manual_submission_keeps_method_reference_and_rep_name_as_data(
    fax_ctx: Context, alice: Actor
) -> None:
    request_id = requests.create_request(fax_ctx, alice, request_body()).id
    requests.apply_event(fax_ctx, alice, request_id, Event.OVERRIDE_READY, "notes faxed")
    details = ManualSubmission(
        method="phone", reference="CALL-7", rep_name="Rep Testname", note="urgent review asked"
    )
    result = submit_request(fax_ctx, alice, request_id, details=details)
    assert result.receipt.channel == "manual"
    assert result.receipt.reference == "CALL-7"
    submitted = requests.get_request(fax_ctx, alice, request_id).timeline[-1]
    assert submitted.kind == "submit"
    assert (
        submitted.note
        == "sent by phone, reference CALL-7, spoke to Rep Testname: urgent review asked"
    )
    assert submitted.data["method"] == "phone"
    assert submitted.data["reference"] == "CALL-7"
    assert submitted.data["rep_name"] == "Rep Testname"
    assert submitted.data["channel"] == "manual"
    assert _packets(fax_ctx) == []
