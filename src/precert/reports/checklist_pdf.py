"""The per-payer checklist a team pins on the wall, as a landscape PDF (reportlab).

It takes plain data (`Checklist`, filled by services.payers) and returns PDF bytes; it reads no
database and no rules. One page when it fits; a long list continues on the next pages (table rows
split across pages) rather than being cut off.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable


@dataclass(frozen=True, slots=True)
class HowToAsk:
    """How to request approval: channels in the payer's order of preference, time, documents."""

    submit: tuple[str, ...]
    turnaround: str
    documents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One service (rules with the same name and circumstances grouped) and its codes."""

    service: str
    codes: str
    where_when: str


@dataclass(frozen=True, slots=True)
class ChecklistSection:
    """Services needing one process (the payer's term, what it reviews), asked for one way."""

    title: str  # "Precertification: approval required; the payer reviews coverage"
    outcome: str  # "required" or "notification"
    how: HowToAsk
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True, slots=True)
class Checklist:
    """Everything on one payer's checklist, as text ready to print."""

    payer_id: str
    payer_name: str
    version: str
    as_of: dt.date
    synthetic: bool
    source: str
    sections: tuple[ChecklistSection, ...]
    not_listed: str  # what the payer says about codes on no list
    contact: tuple[str, ...]


_HEADINGS = ("Service", "Codes", "Where / when")
_WIDTHS = (0.34, 0.33, 0.33)  # fractions of the usable width
_MARGIN = 0.45 * inch


def render_checklist_pdf(checklist: Checklist) -> bytes:
    """The checklist as a PDF document (landscape US letter)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(letter),
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"{checklist.payer_name}: prior authorization checklist",
        author="precert",
        subject=f"payer pack {checklist.payer_id} version {checklist.version}",
    )
    styles = _Styles()
    story: list[Flowable] = [*_heading(checklist, styles)]
    for section in checklist.sections:
        story.append(Paragraph(_text(section.title), styles.section))
        story.append(Paragraph(_how_line(section.how), styles.body))
        story.append(Spacer(1, 3))
        story.append(_section_table(section, doc.width, styles))
    if not checklist.sections:
        story.append(Paragraph("No service on this payer's lists needs approval.", styles.body))
    story.extend(_footer(checklist, styles))
    doc.build(story)
    return buffer.getvalue()


class _Styles:
    def __init__(self) -> None:
        base = getSampleStyleSheet()
        self.title = ParagraphStyle("title", parent=base["Title"], fontSize=16, spaceAfter=2)
        self.sub = ParagraphStyle("sub", parent=base["Normal"], fontSize=8.5, alignment=1)
        self.warn = ParagraphStyle("warn", parent=self.sub, textColor=colors.darkred)
        self.section = ParagraphStyle(
            "section", parent=base["Heading3"], fontSize=11, spaceBefore=8, spaceAfter=3
        )
        self.body = ParagraphStyle("body", parent=base["Normal"], fontSize=8.5, leading=10.5)
        self.cell = ParagraphStyle("cell", parent=base["Normal"], fontSize=7.5, leading=9)
        self.head = ParagraphStyle("head", parent=self.cell, fontName="Helvetica-Bold")


def _heading(checklist: Checklist, styles: _Styles) -> list[Flowable]:
    out: list[Flowable] = [
        Paragraph(_text(f"{checklist.payer_name}: prior authorization checklist"), styles.title),
        Paragraph(
            _text(
                f"Payer id {checklist.payer_id} \u00b7 rule pack version {checklist.version} "
                f"\u00b7 as of {checklist.as_of.isoformat()}"
            ),
            styles.sub,
        ),
    ]
    if checklist.synthetic:
        out.append(
            Paragraph(
                "SYNTHETIC DEMO PACK: not a real payer's rules; do not use for patient care.",
                styles.warn,
            )
        )
    out.append(Spacer(1, 4))
    return out


def _section_table(section: ChecklistSection, width: float, styles: _Styles) -> Table:
    rows: list[list[Flowable]] = [[Paragraph(h, styles.head) for h in _HEADINGS]]
    for item in section.items:
        cells = (item.service, item.codes, item.where_when)
        rows.append([Paragraph(_text(cell), styles.cell) for cell in cells])
    table = Table(
        rows,
        colWidths=[width * share for share in _WIDTHS],
        repeatRows=1,
        splitInRow=1,  # a very long code list continues on the next page instead of failing
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a94a3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _how_line(how: HowToAsk) -> str:
    parts = [f"<b>Submit (in order):</b> {_text(numbered(how.submit, sep='  '))}"]
    if how.turnaround:
        parts.append(f"<b>Turnaround:</b> {_text(how.turnaround)}")
    if how.documents:
        parts.append(f"<b>Documents:</b> {_text('; '.join(how.documents))}")
    return " \u00b7 ".join(parts)


def numbered(channels: tuple[str, ...], *, sep: str = "\n") -> str:
    """'1. portal https://…', '2. fax …': the payer's order of preference, as people read it."""
    return sep.join(f"{n}. {channel}" for n, channel in enumerate(channels, 1)) or "-"


def _footer(checklist: Checklist, styles: _Styles) -> list[Flowable]:
    lines = [f"<b>Codes on no list:</b> {_text(checklist.not_listed)}"]
    if checklist.contact:
        lines.append(f"<b>Payer contact:</b> {_text('; '.join(checklist.contact))}")
    if checklist.source:
        lines.append(f"<b>Source:</b> {_text(checklist.source)}")
    lines.append(
        "Payers change their lists every quarter: check the date of service against the "
        "effective dates above, and run <i>precert check</i> for any single service."
    )
    return [Spacer(1, 6), *(Paragraph(line, styles.body) for line in lines)]


def _text(value: str) -> str:
    """Pack text as Paragraph markup: escaped (imported packs are user data), line breaks kept."""
    return escape(value).replace("\n", "<br/>")
