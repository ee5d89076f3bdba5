"""Submitting through the fax channel over real HTTP: one packet in the outbox with the receipt on
the timeline, a retry with the same Idempotency-Key answers the first receipt and sends nothing,
and an unavailable sender answers 503 (retryable) with the request flagged for attention."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.integration.web.live_server import sqlite_settings_in
from tests.integration.web.test_web_api_requests import Site, _site, auth
from tests.support.requests import WEB_PAYER_DOCUMENTS, pdf_document, web_payer_body

CANARY_LAST = "Quokkacanary"
CANARY_MEMBER = "CANARY-W-3301"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = sqlite_settings_in(tmp_path_factory.mktemp("submission-api")).model_copy(
        update={"fax_sender_phone": "(555) 010-0199", "fax_sender_number": "(555) 010-0198"}
    )
    yield from _site(settings)


def _outbox(site: Site) -> Path:
    return site.ctx.settings.data_dir / "fax-outbox"


def _packets(site: Site, request_id: str) -> list[Path]:
    folder = _outbox(site)
    return sorted(folder.glob(f"{request_id}-*.pdf")) if folder.is_dir() else []


def _ready(site: Site) -> str:
    token = auth(site.north.specialist)
    body = web_payer_body(last_name=CANARY_LAST, member_id=CANARY_MEMBER)
    created = site.http.post("/api/v1/requests", json=body, headers=token)
    assert created.status_code == 201, created.text
    request_id: str = created.json()["id"]
    for n, kind in enumerate(WEB_PAYER_DOCUMENTS, 1):
        uploaded = site.http.post(
            f"/api/v1/requests/{request_id}/documents",
            data={"kind": kind},
            files={"file": (f"{CANARY_LAST}.pdf", pdf_document(f"page {n}"), "application/pdf")},
            headers=token,
        )
        assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["status"] == "ready"
    return request_id


def test_a_fax_submission_puts_one_packet_in_the_outbox_and_the_receipt_on_the_timeline(
    site: Site,
) -> None:
    request_id = _ready(site)
    sent = site.http.post(
        f"/api/v1/requests/{request_id}/submit",
        json={"channel": "fax"},
        headers=auth(site.north.specialist),
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "submitted"
    assert body["receipt"]["channel"] == "fax"
    assert body["receipt"]["reference"] == f"{request_id}-1"
    assert body["repeated"] is False

    [packet] = _packets(site, request_id)
    pdf = PdfReader(io.BytesIO(packet.read_bytes()))
    assert len(pdf.pages) == 5 == body["receipt"]["details"]["pages"]
    cover = pdf.pages[0].extract_text()
    assert "FAX" in cover and f"{request_id}-1" in cover
    assert CANARY_LAST not in cover and CANARY_MEMBER not in cover
    assert CANARY_LAST in pdf.pages[1].extract_text()

    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.north.viewer))
    timeline = shown.json()["timeline"]
    assert [e["kind"] for e in timeline][-2:] == ["submission_started", "submit"]
    assert timeline[-1]["data"]["receipt"]["details"]["file"] == f"{request_id}-1.pdf"


def test_a_retry_with_the_same_idempotency_key_sends_nothing_new(site: Site) -> None:
    request_id = _ready(site)
    url = f"/api/v1/requests/{request_id}/submit"
    headers = {**auth(site.north.specialist), "Idempotency-Key": "submit-7"}
    first = site.http.post(url, json={"channel": "fax"}, headers=headers)
    assert first.status_code == 200, first.text
    written = _packets(site, request_id)[0].stat().st_mtime_ns

    again = site.http.post(url, json={"channel": "fax"}, headers=headers)

    assert again.status_code == 200
    assert again.json()["repeated"] is True
    assert again.json()["receipt"] == first.json()["receipt"]
    [packet] = _packets(site, request_id)
    assert packet.stat().st_mtime_ns == written
    plain = site.http.post(url, json={"channel": "fax"}, headers=auth(site.north.specialist))
    assert plain.status_code == 409  # without the key it is a second submission: refused
    assert len(_packets(site, request_id)) == 1


def test_an_unavailable_fax_sender_answers_503_and_flags_the_request(site: Site) -> None:
    request_id = _ready(site)
    outbox = _outbox(site)
    moved = outbox.with_name("fax-outbox.moved")
    if outbox.exists():
        outbox.rename(moved)
    outbox.write_text("a file where the outbox folder should be")
    try:
        failed = site.http.post(
            f"/api/v1/requests/{request_id}/submit",
            json={"channel": "fax"},
            headers=auth(site.north.specialist),
        )
    finally:
        outbox.unlink()
        if moved.exists():
            moved.rename(outbox)
    assert failed.status_code == 503
    assert failed.json()["error"] == "ChannelUnavailable"
    assert failed.json()["retryable"] is True
    shown = site.http.get(f"/api/v1/requests/{request_id}", headers=auth(site.north.viewer)).json()
    assert shown["status"] == "ready"
    assert shown["needs_attention"].startswith("Submission failed through fax")
    assert _packets(site, request_id) == []


def test_an_unknown_channel_answers_503_naming_the_channels(site: Site) -> None:
    request_id = _ready(site)
    refused = site.http.post(
        f"/api/v1/requests/{request_id}/submit",
        json={"channel": "telegraph"},
        headers=auth(site.north.specialist),
    )
    assert refused.status_code == 503
    assert refused.json()["message"] == (
        "channel: 'telegraph' is not a channel; use one of fax, fhir-pas, manual, portal, x12."
    )
