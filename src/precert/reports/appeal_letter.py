"""The letter a payer receives with a recovery item: an appeal (or a retro-authorization request,
or a corrected-claim cover note) stating the claim, the authorization and its window, the
request's timeline, the enclosed documents and the argument for the cause of the denial.

It takes plain data (`AppealLetter`, filled by services/recovery.py) and returns a letter-size PDF
drawn with reportlab, as the fax packet is (WeasyPrint needs system libraries this project does
not install). It reads no database. The letter names the patient (the payer needs it); the
values' reprs never do, and nothing here logs.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

_GRID = colors.HexColor("#555555")
_SHADE = colors.HexColor("#e4e4e4")
TITLES = {
    "appeal": "Request for reconsideration (appeal) of a denied claim",
    "corrected_claim": "Corrected claim: prior authorization number added",
    "retro_authorization": "Request for retroactive authorization of an urgent service",
    "review": "Request for review of a denied claim",
}


@dataclass(frozen=True, slots=True)
class Coded:
    """A CARC or RARC with its text (empty when the list does not have it)."""

    code: str
    text: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class AppealLetter:
    """Everything one letter says. `patient_name`, `member_id` and `birth_date` are PHI: the
    letter prints them, the repr never does."""

    today: dt.date
    organization: str
    payer_name: str
    payer_id: str
    claim_id: str
    payer_claim_number: str
    action: str  # appeal | corrected_claim | retro_authorization | review
    cause: str  # a DenialCause value
    codes: tuple[str, ...]
    amount: Decimal
    carcs: tuple[Coded, ...] = ()
    rarcs: tuple[Coded, ...] = ()
    service_date: dt.date | None = None
    payment_date: dt.date | None = None
    deadline: dt.date | None = None
    patient_name: str = ""
    member_id: str = ""
    birth_date: dt.date | None = None
    authorization_number: str = ""
    authorization_status: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    authorized_codes: tuple[str, ...] = ()
    request_id: str = ""
    timeline: tuple[tuple[dt.datetime, str], ...] = ()  # (when, kind)
    documents: tuple[tuple[str, str], ...] = ()  # (document id, kind)
    urgent: bool = False

    def __repr__(self) -> str:
        return f"AppealLetter(claim_id={self.claim_id!r}, action={self.action!r}, <phi>)"


def render_appeal_letter(data: AppealLetter) -> bytes:
    """The letter as one PDF."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=letter,
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
        title=f"{TITLES.get(data.action, TITLES['review'])}: claim {data.claim_id}",
        author=data.organization,
        creator="precert",
    )
    styles = _styles()
    width = doc.width
    story: list[Flowable] = [
        Paragraph(_text(data.organization), styles["h2"]),
        Paragraph(_text(f"{data.today.isoformat()}"), styles["body"]),
        Spacer(1, 8),
        Paragraph(
            _text(f"To: {data.payer_name} ({data.payer_id}), provider appeals"), styles["body"]
        ),
        Spacer(1, 8),
        Paragraph(_text(TITLES.get(data.action, TITLES["review"])), styles["h1"]),
        _facts(data, width, styles),
        Spacer(1, 10),
        Paragraph("Why the claim should be paid", styles["h2"]),
        *[Paragraph(_text(p), styles["body"]) for p in argument(data)],
        Spacer(1, 6),
        Paragraph("Timeline of the authorization request", styles["h2"]),
        _timeline(data, width, styles),
        Spacer(1, 6),
        Paragraph("Enclosed documents", styles["h2"]),
        _documents(data, width, styles),
        Spacer(1, 12),
        Paragraph(_text(_closing(data)), styles["body"]),
        Spacer(1, 18),
        Paragraph(_text(f"Sincerely,\n{data.organization}, billing office"), styles["body"]),
    ]
    doc.build(story)
    return out.getvalue()


def argument(data: AppealLetter) -> list[str]:
    """The paragraphs that argue for payment, by the cause of the denial and the action."""
    number = data.authorization_number
    window = _window(data)
    denied = ", ".join(c.code for c in data.carcs) or "the adjustment codes"
    if data.action == "corrected_claim":
        return [
            f"The claim was denied ({denied}) because the prior authorization number was missing "
            f"or wrong on the claim. The service was authorized: authorization {number}, "
            f"{window}, for {_codes(data.authorized_codes)}.",
            f"The enclosed corrected claim carries authorization {number} (REF*G1). Nothing else "
            "on the claim was changed. Please process it as a replacement of the original claim.",
        ]
    if data.action == "retro_authorization":
        return [
            f"The service on {_day(data.service_date)} ({_codes(data.codes)}) was urgent or an "
            "emergency, so authorization could not be obtained before it was given.",
            "We ask for a retroactive authorization, within the plan's retro-authorization "
            "window, and for the claim to be reprocessed once it is granted. The clinical "
            "documentation is enclosed.",
        ]
    if data.action == "appeal":
        return [_appeal_reason(data, number, window, denied), _appeal_ask(data)]
    return [
        f"The claim was denied ({denied}). We ask the plan to review the denial against the "
        "enclosed documentation and reprocess the claim.",
    ]


def _appeal_reason(data: AppealLetter, number: str, window: str, denied: str) -> str:
    covered = f"authorization {number} ({window}, {_codes(data.authorized_codes)})"
    if data.cause == "authorization_exceeded":
        return (
            f"The claim was reduced ({denied}) as exceeding the authorized units. The units "
            f"billed were provided under {covered}; the enclosed timeline shows what was "
            "approved and when."
        )
    if data.cause == "authorization_mismatch":
        return (
            f"The claim was denied ({denied}) as inconsistent with the authorization. The service "
            f"billed, {_codes(data.codes)} on {_day(data.service_date)}, is the service covered "
            f"by {covered}."
        )
    return (
        f"The claim was denied ({denied}) as not authorized. The service, {_codes(data.codes)} "
        f"on {_day(data.service_date)}, was approved before it was given: {covered}."
    )


def _appeal_ask(data: AppealLetter) -> str:
    deadline = f" This appeal is filed before {_day(data.deadline)}." if data.deadline else ""
    return (
        f"We ask the plan to reverse the denial and pay the {_money(data.amount)} not paid."
        + deadline
    )


def _closing(data: AppealLetter) -> str:
    return (
        f"Please direct questions about claim {data.claim_id} to our billing office and quote "
        f"the payer claim number {data.payer_claim_number or '(not given)'}."
    )


def _facts(data: AppealLetter, width: float, styles: dict[str, ParagraphStyle]) -> Table:
    rows = [
        ("Patient", data.patient_name or "-"),
        ("Member id", data.member_id or "-"),
        ("Date of birth", _day(data.birth_date)),
        ("Claim (patient control number)", data.claim_id),
        ("Payer claim number", data.payer_claim_number or "-"),
        ("Date of service", _day(data.service_date)),
        ("Remittance date", _day(data.payment_date)),
        ("Billed codes", _codes(data.codes)),
        ("Amount not paid", _money(data.amount)),
        ("Adjustment reasons", _coded(data.carcs)),
        ("Remark codes", _coded(data.rarcs)),
        ("Authorization number", data.authorization_number or "none on file"),
        ("Authorization window", _window(data)),
        ("Authorized codes", _codes(data.authorized_codes)),
    ]
    return _grid(rows, width, styles)


def _timeline(data: AppealLetter, width: float, styles: dict[str, ParagraphStyle]) -> Flowable:
    if not data.timeline:
        return Paragraph("No authorization request is on file for this service.", styles["body"])
    rows = [
        (at.strftime("%Y-%m-%d %H:%M UTC"), kind.replace("_", " ")) for at, kind in data.timeline
    ]
    return _grid(rows, width, styles, header=("When", "What happened"))


def _documents(data: AppealLetter, width: float, styles: dict[str, ParagraphStyle]) -> Flowable:
    if not data.documents:
        return Paragraph("No documents are on file for this request.", styles["body"])
    rows = [
        (f"{n}. {kind}", f"document {doc_id}") for n, (doc_id, kind) in enumerate(data.documents, 1)
    ]
    return _grid(rows, width, styles, header=("Document", "Reference"))


def _grid(
    rows: list[tuple[str, str]],
    width: float,
    styles: dict[str, ParagraphStyle],
    *,
    header: tuple[str, str] | None = None,
) -> Table:
    body = [
        [Paragraph(_text(a), styles["cell"]), Paragraph(_text(b), styles["cell"])] for a, b in rows
    ]
    if header is not None:
        body.insert(0, [Paragraph(_text(h), styles["cell"]) for h in header])
    table = Table(body, colWidths=[width * 0.38, width * 0.62])
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header is not None:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), _SHADE))
    table.setStyle(TableStyle(commands))
    return table


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "h1": ParagraphStyle("h1", parent=sheet["Heading1"], fontSize=15, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"], fontSize=12, spaceAfter=4),
        "body": ParagraphStyle("body", parent=sheet["BodyText"], fontSize=10, leading=13),
        "cell": ParagraphStyle("cell", parent=sheet["BodyText"], fontSize=9, leading=11),
    }


def _window(data: AppealLetter) -> str:
    if data.valid_from is None and data.valid_to is None:
        return "no window on file"
    return f"valid {_day(data.valid_from)} to {_day(data.valid_to)}"


def _coded(values: tuple[Coded, ...]) -> str:
    return "; ".join(f"{c.code}: {c.text}" if c.text else c.code for c in values) or "-"


def _codes(codes: tuple[str, ...]) -> str:
    return ", ".join(codes) or "-"


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "-"


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _text(value: str) -> str:
    """Data as Paragraph markup: escaped (names are user data), line breaks kept."""
    return escape(value).replace("\n", "<br/>")
