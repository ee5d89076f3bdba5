"""The fax packet as a payer's fax machine prints it: read back with pypdf, page by page.

A synthetic patient, two attachments made here (a two-page PDF drawn with reportlab and a PNG made
with Pillow), and the assertions a reviewer at the payer would make by eye.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from precert.errors import InvalidInput
from precert.reports.fax_packet import (
    PDF,
    Attachment,
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

DAY = dt.date(2026, 11, 23)


def small_pdf(*texts: str, pagesize: tuple[float, float] = A4) -> bytes:
    """A real PDF with one page per text (A4, so the packet must fit it onto letter)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=pagesize)
    for text in texts:
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, pagesize[1] - 100, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def packet(**changes: object) -> FaxPacket:
    base = FaxPacket(
        reference="PA-2026-000042",
        date=DAY,
        urgency=Urgency.EXPEDITED,
        to=FaxTo("Acme Health Utilization Management", "(312) 555-0199"),
        sender=FaxFrom(
            "Lakeside Surgery Center", "Jordan Example", "(312) 555-0100", "(312) 555-0101"
        ),
        member=Member("Testpatient", "Alpha", dt.date(1980, 2, 1), "ZZX900000001", "GRP-77", "PPO"),
        ordering=Provider("Dr. Casey Ordering", "1234567893"),
        rendering=Provider("Dr. Riley Rendering", "1245319599"),
        facility=Facility("Lakeside Surgery Center", "1003000126", "1 Lake St, Springfield"),
        lines=(
            PacketLine("15823", 1, ("H02.831", "H02.834"), "22", DAY, DAY),
            PacketLine("67904", 2, ("H02.401",), "22", DAY, dt.date(2026, 12, 1)),
        ),
        term="Preauthorization",
        reviews="medical necessity",
        required_documents=("Operative note", "Visual field test", "Photographs"),
        attachments=(
            Attachment(
                "Operative note",
                small_pdf("Opnote page one", "Opnote page two"),
                PDF,
                checklist_item="Operative note",
            ),
            Attachment("Clinical photograph", small_png(), "image/png", "Photographs"),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_packet_is_cover_form_checklist_then_every_attachment_page_in_order() -> None:
    reader = PdfReader(io.BytesIO(render_fax_packet(packet())))
    texts = [page.extract_text() for page in reader.pages]

    assert len(reader.pages) == 3 + 2 + 1
    assert "FAX" in texts[0] and "6 (including this cover)" in texts[0]
    assert "Preauthorization request form" in texts[1]
    assert "Documents checklist" in texts[2]
    assert (
        "Opnote page one" in texts[3]
        and "Attachment 1 of 2: Operative note (page 1 of 2)" in texts[3]
    )
    assert "Opnote page two" in texts[4]
    assert "Attachment 2 of 2: Clinical photograph" in texts[5]
    assert len(reader.pages[5].images) == 1


def test_every_page_says_page_n_of_m_across_the_whole_packet() -> None:
    texts = pages_text(render_fax_packet(packet()))

    for n, text in enumerate(texts, 1):
        assert f"page {n} of {len(texts)}" in text


def test_every_page_is_letter_size_even_when_an_attachment_is_a4_landscape() -> None:
    wide = Attachment("Referral letter", small_pdf("Wide page", pagesize=landscape(A4)), PDF)
    reader = PdfReader(io.BytesIO(render_fax_packet(packet(attachments=(wide,)))))

    assert {
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    } == {(612, 792)}
    assert "Wide page" in (reader.pages[3].extract_text() or "")


def test_the_form_carries_member_providers_and_each_service_line() -> None:
    form = pages_text(render_fax_packet(packet()))[1]

    for expected in (
        "Alpha, Testpatient",
        "1980-02-01",
        "ZZX900000001",
        "GRP-77",
        "Dr. Casey Ordering",
        "NPI 1234567893",
        "NPI 1245319599",
        "Lakeside Surgery Center",
        "15823",
        "67904",
        "H02.831, H02.834",
        "2026-12-01",
        "Preauthorization",
        "medical necessity",
    ):
        assert expected in form


def test_an_expedited_packet_says_so_on_the_cover_with_the_72_hour_note() -> None:
    texts = pages_text(render_fax_packet(packet()))

    assert "EXPEDITED REVIEW REQUESTED" in texts[0]
    assert "72 hours" in re.sub(r"\s+", " ", texts[0])
    assert all("EXPEDITED" in text for text in texts)


def test_a_standard_packet_names_the_7_day_timeframe_and_no_expedited_banner() -> None:
    texts = pages_text(render_fax_packet(packet(urgency=Urgency.STANDARD)))

    assert "EXPEDITED" not in "".join(texts)
    assert "7 calendar days" in re.sub(r"\s+", " ", texts[0])


def test_the_cover_has_the_confidentiality_notice_and_no_patient_data() -> None:
    cover = re.sub(r"\s+", " ", pages_text(render_fax_packet(packet()))[0])

    assert "contains protected health information" in cover
    assert "Testpatient" not in cover and "ZZX900000001" not in cover
    assert "Acme Health Utilization Management" in cover and "(312) 555-0101" in cover


def test_the_checklist_gives_each_required_document_its_pages_or_says_it_is_missing() -> None:
    checklist = re.sub(r"\s+", " ", pages_text(render_fax_packet(packet()))[2])

    assert "Operative note Attached: pages 4-5" in checklist
    assert "Photographs Attached: page 6" in checklist
    assert "Visual field test NOT INCLUDED" in checklist


def test_a_packet_without_attachments_is_three_pages() -> None:
    texts = pages_text(render_fax_packet(packet(attachments=())))

    assert len(texts) == 3
    assert "No documents are attached." in texts[2]


def test_many_service_lines_run_onto_more_pages_and_the_numbering_follows() -> None:
    lines = tuple(PacketLine("97110", 1, ("M54.50",), "11", DAY, DAY) for _ in range(60))
    texts = pages_text(render_fax_packet(packet(lines=lines)))

    assert len(texts) > 6
    assert f"{len(texts)} (including this cover)" in texts[0]
    assert f"page {len(texts)} of {len(texts)}" in texts[-1]


def test_the_packet_repr_carries_no_patient_data() -> None:
    assert "Testpatient" not in repr(packet())
    assert "ZZX900000001" not in repr(packet().member)


def test_an_unsupported_attachment_type_is_refused_with_what_is_accepted() -> None:
    word = Attachment("Letter", b"PK\x03\x04", "application/msword")

    with pytest.raises(InvalidInput) as caught:
        render_fax_packet(packet(attachments=(word,)))

    assert caught.value.message == (
        "Attachment 1 has type 'application/msword'; a fax packet takes PDF, PNG or JPEG documents."
    )
    assert caught.value.issues[0].location == "attachments[0]"


def test_a_damaged_pdf_attachment_is_refused_by_its_position() -> None:
    broken = Attachment("Scan", b"%PDF-1.4 this is not really a pdf", PDF)

    with pytest.raises(InvalidInput) as caught:
        render_fax_packet(packet(attachments=(packet().attachments[0], broken)))

    assert caught.value.message == (
        "Attachment 2 is not a readable PDF; save it again as PDF and re-upload."
    )


def test_an_image_that_is_not_an_image_is_refused() -> None:
    fake = Attachment("Photo", b"not a png at all", "image/png")

    with pytest.raises(InvalidInput) as caught:
        render_fax_packet(packet(attachments=(fake,)))

    assert caught.value.message == "Attachment 1 is not a readable PNG or JPEG image."


def test_a_rotated_scan_and_a_jpeg_are_placed_upright_on_letter_pages() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(small_pdf("Sideways scan")))
    writer.pages[0].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)
    jpeg = io.BytesIO()
    Image.new("RGB", (200, 300), (20, 20, 200)).save(jpeg, format="JPEG")
    attachments = (
        Attachment("Scan", rotated.getvalue(), PDF),
        Attachment("Photo", jpeg.getvalue(), "image/jpeg"),
    )
    reader = PdfReader(io.BytesIO(render_fax_packet(packet(attachments=attachments))))

    assert len(reader.pages) == 5
    assert [page.rotation for page in reader.pages] == [0] * 5
    assert "Sideways scan" in (reader.pages[3].extract_text() or "")
    assert len(reader.pages[4].images) == 1
