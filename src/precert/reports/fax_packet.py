"""The fax packet a payer receives: cover sheet, request form, documents checklist, attachments.

It takes plain data (`FaxPacket`, filled by services) and returns one letter-size PDF whose pages
are numbered "page N of M" across everything, attachments included (PDFs merged with pypdf, images
placed one per page with reportlab). It reads no database; attachments arrive as decrypted bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

# One Urgency for the whole product: a packet states the request's own urgency.
from precert.domain.authorizations import Urgency
from precert.errors import InvalidInput

PDF = "application/pdf"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
PAGE_W, PAGE_H = letter
_SIDE = 0.6 * inch
_BAND = 0.55 * inch  # header and footer bands: fax machines print their own line at the very top
_CAPTION = 0.8 * inch  # an appended page's top band also names the attachment
_GRID = colors.HexColor("#555555")
_SHADE = colors.HexColor("#e4e4e4")  # light grey survives a fax's black-and-white rendering


@dataclass(frozen=True, slots=True)
class FaxTo:
    """The payer's utilization-management fax desk."""

    payer_name: str
    fax: str


@dataclass(frozen=True, slots=True)
class FaxFrom:
    """Who sends the packet and where the payer answers."""

    organization: str
    contact_name: str
    phone: str
    fax: str


@dataclass(frozen=True, slots=True, repr=False)
class Member:
    """The patient as the payer knows them (PHI: never in a repr)."""

    first_name: str
    last_name: str
    birth_date: dt.date
    member_id: str
    group: str = ""
    plan: str = ""

    def __repr__(self) -> str:
        return "Member(<phi>)"


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    npi: str


@dataclass(frozen=True, slots=True)
class Facility:
    name: str
    npi: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class PacketLine:
    """One requested service line as it appears on the form."""

    code: str
    units: int
    diagnoses: tuple[str, ...]
    place_of_service: str
    from_date: dt.date
    to_date: dt.date


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document appended to the packet; `checklist_item` names the requirement it satisfies."""

    title: str
    content: bytes = field(repr=False)
    media_type: str
    checklist_item: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class FaxPacket:
    """Everything printed on the packet. `term` and `reviews` are the payer's own words."""

    reference: str
    date: dt.date
    urgency: Urgency
    to: FaxTo
    sender: FaxFrom
    member: Member
    ordering: Provider
    rendering: Provider
    facility: Facility
    lines: tuple[PacketLine, ...]
    term: str  # "Preauthorization", "Precertification", …
    reviews: str  # "medical necessity", "coverage", "coverage and medical necessity"
    required_documents: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __repr__(self) -> str:
        return f"FaxPacket(reference={self.reference!r}, attachments={len(self.attachments)})"


def render_fax_packet(packet: FaxPacket) -> bytes:
    """The whole packet as one PDF: cover, form, checklist, then each attachment in order."""
    sources = [_load(n, attachment) for n, attachment in enumerate(packet.attachments, 1)]
    attached_pages = sum(source.page_count for source in sources)
    front_count = 3
    for _ in range(3):  # the front matter's length decides the page numbers printed inside it
        front = _render_front(packet, sources, front_count, front_count + attached_pages)
        reader = PdfReader(io.BytesIO(front))
        if len(reader.pages) == front_count:
            break
        front_count = len(reader.pages)
    total = front_count + attached_pages
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    number = front_count
    for n, source in enumerate(sources, 1):
        for index in range(source.page_count):
            number += 1
            caption = _caption(packet, n, source, index)
            source.add_letter_page(writer, index, _stamp(packet, caption, number, total))
    writer.add_metadata({"/Title": f"Fax {packet.reference}", "/Producer": "precert"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- attachments ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    """A loaded attachment: its pages (PDF) or its image, ready to place on letter pages."""

    attachment: Attachment
    reader: PdfReader | None = None
    image: ImageReader | None = None

    @property
    def page_count(self) -> int:
        return len(self.reader.pages) if self.reader is not None else 1

    def add_letter_page(
        self, writer: PdfWriter, index: int, stamp: Callable[[ImageReader | None], PageObject]
    ) -> None:
        if self.reader is None:
            writer.add_page(stamp(self.image))
            return
        page = writer.add_blank_page(PAGE_W, PAGE_H)
        _fit_on_letter(page, self.reader.pages[index])
        page.merge_page(stamp(None))


def _load(number: int, attachment: Attachment) -> _Source:
    where = f"attachments[{number - 1}]"
    if attachment.media_type == PDF:
        return _Source(attachment, reader=_read_pdf(attachment.content, number, where))
    if attachment.media_type in IMAGE_TYPES:
        try:
            image = ImageReader(io.BytesIO(attachment.content))
            image.getSize()
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidInput.field(
                where, f"Attachment {number} is not a readable PNG or JPEG image.", "unreadable"
            ) from exc
        return _Source(attachment, image=image)
    raise InvalidInput.field(
        where,
        f"Attachment {number} has type {attachment.media_type!r}; a fax packet takes PDF, "
        "PNG or JPEG documents.",
        "unsupported-type",
    )


def _read_pdf(content: bytes, number: int, where: str) -> PdfReader:
    unreadable = f"Attachment {number} is not a readable PDF; save it again as PDF and re-upload."
    if not content.startswith(b"%PDF-"):
        raise InvalidInput.field(where, unreadable, "unreadable")
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput.field(
                where,
                f"Attachment {number} is a password-protected PDF; upload an unprotected copy.",
                "encrypted",
            )
        if not reader.pages:
            raise InvalidInput.field(where, f"Attachment {number} has no pages.", "empty")
    except (PyPdfError, ValueError, KeyError) as exc:
        raise InvalidInput.field(where, unreadable, "unreadable") from exc
    return reader


def _fit_on_letter(page: PageObject, source: PageObject) -> None:
    """Draw the source page on `page`, scaled (never enlarged), between the header and footer."""
    if source.rotation:  # a rotated scan must come out upright; pypdf rotates writer pages only
        source = PdfWriter().add_page(source)
        source.transfer_rotation_to_content()
    box = source.cropbox
    width, height = float(box.width), float(box.height)
    scale = min((PAGE_W - 2 * _SIDE) / width, (PAGE_H - _CAPTION - _BAND) / height, 1.0)
    x = (PAGE_W - width * scale) / 2
    y = _BAND + (PAGE_H - _CAPTION - _BAND - height * scale) / 2
    placed = (
        Transformation()
        .translate(-float(box.left), -float(box.bottom))
        .scale(scale, scale)
        .translate(x, y)
    )
    page.merge_transformed_page(source, placed)


def _caption(packet: FaxPacket, number: int, source: _Source, index: int) -> str:
    count = len(packet.attachments)
    caption = f"Attachment {number} of {count}: {source.attachment.title}"
    if source.page_count > 1:
        caption += f" (page {index + 1} of {source.page_count})"
    return caption


def _stamp(
    packet: FaxPacket, caption: str, number: int, total: int
) -> Callable[[ImageReader | None], PageObject]:
    """A function drawing one attachment page's bands (and its image, if any) as a PDF page."""

    def draw(image: ImageReader | None) -> PageObject:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=letter)
        _bands(canvas, packet, number, total)
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(_SIDE, PAGE_H - 0.56 * inch, caption[:90])
        if image is not None:
            box_w, box_h = PAGE_W - 2 * _SIDE, PAGE_H - _CAPTION - _BAND
            canvas.drawImage(image, _SIDE, _BAND, box_w, box_h, preserveAspectRatio=True)
        canvas.showPage()
        canvas.save()
        return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]

    return draw


def _bands(canvas: Canvas, packet: FaxPacket, number: int, total: int) -> None:
    """The running header and footer every page carries, including appended documents."""
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    top = PAGE_H - 0.35 * inch
    canvas.drawString(
        _SIDE,
        top,
        f"From {packet.sender.organization} (fax {packet.sender.fax})  \u00b7  "
        f"To {packet.to.payer_name} (fax {packet.to.fax})  \u00b7  {packet.date.isoformat()}",
    )
    canvas.drawRightString(PAGE_W - _SIDE, top, f"Ref {packet.reference}")
    if packet.urgency is Urgency.EXPEDITED:
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawRightString(PAGE_W - _SIDE, top - 12, "EXPEDITED")
    canvas.setFont("Helvetica", 7.5)
    bottom = 0.35 * inch
    canvas.drawString(_SIDE, bottom, "Confidential: contains protected health information.")
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawRightString(PAGE_W - _SIDE, bottom, f"page {number} of {total}")
    canvas.restoreState()


# -- cover, form and checklist ----------------------------------------------------------------


def _render_front(packet: FaxPacket, sources: list[_Source], front_count: int, total: int) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=_SIDE,
        rightMargin=_SIDE,
        topMargin=_BAND + 0.15 * inch,
        bottomMargin=_BAND + 0.1 * inch,
        title=f"Fax {packet.reference}",
        author="precert",
    )
    styles = _Styles()
    story = [
        *_cover(packet, total, doc.width, styles),
        PageBreak(),
        *_form(packet, doc.width, styles),
        PageBreak(),
        *_checklist(packet, sources, front_count, doc.width, styles),
    ]

    def on_page(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        _bands(canvas, packet, canvas.getPageNumber(), total)

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


class _Styles:
    def __init__(self) -> None:
        base = getSampleStyleSheet()
        self.title = ParagraphStyle("title", parent=base["Title"], fontSize=22, spaceAfter=4)
        self.h2 = ParagraphStyle("h2", parent=base["Heading2"], fontSize=13, spaceAfter=4)
        self.h3 = ParagraphStyle(
            "h3", parent=base["Heading3"], fontSize=10, spaceBefore=8, spaceAfter=3
        )
        self.body = ParagraphStyle("body", parent=base["Normal"], fontSize=9.5, leading=12.5)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.cell = ParagraphStyle("cell", parent=base["Normal"], fontSize=9, leading=11)
        self.label = ParagraphStyle("label", parent=self.cell, fontName="Helvetica-Bold")
        self.banner = ParagraphStyle(
            "banner", parent=self.h2, textColor=colors.white, alignment=1, fontSize=15
        )


def _cover(packet: FaxPacket, total: int, width: float, styles: _Styles) -> list[Flowable]:
    """A cover that carries no patient data: it is the page most often seen by the wrong eyes."""
    sender, to = packet.sender, packet.to
    parties = [
        ("To", to.payer_name, "From", sender.organization),
        ("Fax", to.fax, "Contact", sender.contact_name),
        ("Date", packet.date.isoformat(), "Phone", sender.phone),
        ("Pages", f"{total} (including this cover)", "Fax", sender.fax),
        ("Reference", packet.reference, "Urgency", packet.urgency.value.capitalize()),
    ]
    rows = [
        [
            _cell(a, styles.label),
            _cell(b, styles.cell),
            _cell(c, styles.label),
            _cell(d, styles.cell),
        ]
        for a, b, c, d in parties
    ]
    out: list[Flowable] = [
        Paragraph("FAX", styles.title),
        Paragraph(_text(f"Prior authorization request: {packet.term.lower()}"), styles.h2),
        _grid(rows, width, (0.14, 0.36, 0.14, 0.36)),
        Spacer(1, 14),
        *_urgency_note(packet, width, styles),
        Spacer(1, 10),
        Paragraph(_text(_cover_message(packet)), styles.body),
        Spacer(1, 24),
        _boxed(Paragraph(_text(_confidentiality(packet)), styles.small), width),
    ]
    return out


def _urgency_note(packet: FaxPacket, width: float, styles: _Styles) -> list[Flowable]:
    if packet.urgency is Urgency.STANDARD:
        note = (
            "Standard request. Under CMS-0057-F (Medicare Advantage, Medicaid and CHIP, from "
            "1 January 2026) a standard prior authorization decision is due within 7 calendar days."
        )
        return [Paragraph(_text(note), styles.body)]
    banner = Table([[Paragraph("EXPEDITED REVIEW REQUESTED", styles.banner)]], colWidths=[width])
    banner.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.black)]))
    note = (
        "The requesting provider attests that applying the standard timeframe could seriously "
        "jeopardize the patient's life, health or ability to regain maximum function. Under "
        "CMS-0057-F (Medicare Advantage, Medicaid and CHIP, from 1 January 2026) an expedited "
        "decision is due within 72 hours of receipt."
    )
    return [banner, Spacer(1, 4), _boxed(Paragraph(f"<b>{_text(note)}</b>", styles.body), width)]


def _cover_message(packet: FaxPacket) -> str:
    lines = len(packet.lines)
    return (
        f"Enclosed: a {packet.term.lower()} request ({packet.reviews} review) for {lines} "
        f"service line{'s' if lines != 1 else ''}, the documents checklist and "
        f"{len(packet.attachments)} supporting document(s). Please fax the determination to "
        f"{packet.sender.fax} quoting reference {packet.reference}, or call "
        f"{packet.sender.contact_name} at {packet.sender.phone} with questions."
    )


def _confidentiality(packet: FaxPacket) -> str:
    return (
        "CONFIDENTIALITY NOTICE: This facsimile contains protected health information that is "
        "privileged and confidential under HIPAA (45 CFR Parts 160 and 164). It is intended only "
        "for the recipient named above, for the purpose of a prior authorization review. If you "
        f"received it in error, call {packet.sender.phone} at once and destroy every copy; any "
        "other review, disclosure, copying or distribution is prohibited."
    )


def _form(packet: FaxPacket, width: float, styles: _Styles) -> list[Flowable]:
    member, facility = packet.member, packet.facility
    pairs = {
        "1. Member": [
            ("Name (last, first)", f"{member.last_name}, {member.first_name}"),
            ("Date of birth", member.birth_date.isoformat()),
            ("Member id", member.member_id),
            ("Group", member.group or "-"),
            ("Plan", member.plan or "-"),
        ],
        "2. Providers": [
            ("Ordering provider", f"{packet.ordering.name}  \u00b7  NPI {packet.ordering.npi}"),
            ("Rendering provider", f"{packet.rendering.name}  \u00b7  NPI {packet.rendering.npi}"),
            ("Facility", _join(facility.name, f"NPI {facility.npi}" if facility.npi else "")),
            ("Facility address", facility.address or "-"),
        ],
        "3. Review requested": [
            ("Process", packet.term),
            ("Payer reviews", packet.reviews),
            ("Urgency", packet.urgency.value.capitalize()),
        ],
    }
    out: list[Flowable] = [Paragraph(_text(f"{packet.term} request form"), styles.h2)]
    for heading, fields in pairs.items():
        out.append(Paragraph(heading, styles.h3))
        rows = [[_cell(k, styles.label), _cell(v, styles.cell)] for k, v in fields]
        out.append(_grid(rows, width, (0.28, 0.72)))
    out.append(Paragraph("4. Services requested", styles.h3))
    out.append(_lines_table(packet.lines, width, styles))
    return out


def _lines_table(lines: tuple[PacketLine, ...], width: float, styles: _Styles) -> Table:
    head = ("#", "Code", "Units", "Diagnoses (ICD-10-CM)", "POS", "From", "To")
    rows = [[_cell(h, styles.label) for h in head]]
    for n, line in enumerate(lines, 1):
        dates = (line.from_date.isoformat(), line.to_date.isoformat())
        values = (
            str(n),
            line.code,
            str(line.units),
            ", ".join(line.diagnoses),
            line.place_of_service,
            *dates,
        )
        rows.append([_cell(v, styles.cell) for v in values])
    return _grid(rows, width, (0.05, 0.12, 0.08, 0.33, 0.08, 0.17, 0.17), header=True)


def _checklist(
    packet: FaxPacket, sources: list[_Source], front_count: int, width: float, styles: _Styles
) -> list[Flowable]:
    ranges: list[str] = []
    first = front_count + 1
    for source in sources:
        last = first + source.page_count - 1
        ranges.append(f"{first}" if first == last else f"{first}-{last}")
        first = last + 1
    attached = [["#", "Document", "Pages in this fax"]]
    attached += [
        [str(n), s.attachment.title, r]
        for n, (s, r) in enumerate(zip(sources, ranges, strict=True), 1)
    ]
    required = [["Document the payer requires", "Status"]]
    for name in packet.required_documents:
        pages = [
            r for s, r in zip(sources, ranges, strict=True) if s.attachment.checklist_item == name
        ]
        required.append([name, _attached(pages)])
    out: list[Flowable] = [Paragraph("Documents checklist", styles.h2)]
    if packet.required_documents:
        rows = [[_cell(v, styles.cell) for v in row] for row in required]
        out.append(_grid(rows, width, (0.6, 0.4), header=True))
    else:
        out.append(
            Paragraph("The payer lists no required documents for this request.", styles.body)
        )
    out.append(Paragraph("Documents attached", styles.h3))
    if sources:
        rows = [[_cell(v, styles.cell) for v in row] for row in attached]
        out.append(_grid(rows, width, (0.08, 0.62, 0.3), header=True))
    else:
        out.append(Paragraph("No documents are attached.", styles.body))
    return out


# -- small helpers ----------------------------------------------------------------------------


def _grid(
    rows: list[list[Paragraph]], width: float, shares: tuple[float, ...], *, header: bool = False
) -> Table:
    table = Table(rows, colWidths=[width * share for share in shares], repeatRows=int(header))
    style = [
        ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    table.setStyle(TableStyle(style))
    return table


def _boxed(content: Flowable, width: float) -> Table:
    box = Table([[content]], colWidths=[width])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


def _cell(value: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_text(value), style)


def _attached(ranges: list[str]) -> str:
    if not ranges:
        return "NOT INCLUDED"
    plural = len(ranges) > 1 or "-" in ranges[0]
    return f"Attached: page{'s' if plural else ''} {', '.join(ranges)}"


def _join(*parts: str) -> str:
    return "  \u00b7  ".join(part for part in parts if part) or "-"


def _text(value: str) -> str:
    """Data as Paragraph markup: escaped (names and titles are user data), line breaks kept."""
    return escape(value).replace("\n", "<br/>")
