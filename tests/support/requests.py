"""Issue-3 request and decision bodies for tests, built with synthetic patients only.

`request_body()` is the Medicare blepharoplasty request used across the suites (its checklist has
one item, MEDICARE_NOTES); `web_payer_body()` asks the synthetic web-test-payer (fixtures/packs)
for a brain MRI, whose pack lists a fax number and two required documents.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
SERVICE_DAY = "2026-12-10"
MEDICARE_NOTES = "medical records supporting medical necessity"  # the checklist item for 15823
WEB_PAYER_DOCUMENTS = ("Clinical notes from the last 60 days", "Prior imaging reports")
WEB_PAYER_FAX = "+1-555-0101"


def patient(
    *, first_name: str = "Testpatient", last_name: str = "Alpha", member_id: str = "TEST-0001-A"
) -> dict[str, str]:
    return {
        "first_name": first_name,
        "last_name": last_name,
        "birth_date": "1980-02-01",
        "member_id": member_id,
    }


def request_body(
    *,
    service_day: str = SERVICE_DAY,
    last_name: str = "Alpha",
    member_id: str = "TEST-0001-A",
    urgency: str | None = "standard",
    **overrides: Any,
) -> dict[str, Any]:
    """The issue's example body (Medicare FFS, 15823 in an outpatient hospital)."""
    body: dict[str, Any] = {
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "patient": patient(last_name=last_name, member_id=member_id),
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": "15823",
                "units": 1,
                "pos": "22",
                "diagnoses": ["H02.831"],
                "from": service_day,
                "to": service_day,
            }
        ],
    }
    if urgency is not None:
        body["urgency"] = urgency
    body.update(overrides)
    return body


def web_payer_body(
    *, service_day: str = SERVICE_DAY, last_name: str = "Fax", member_id: str = "TEST-FAX-1"
) -> dict[str, Any]:
    """A brain MRI for the synthetic web-test-payer: preauthorization, two documents, fax."""
    return {
        "payer_id": "web-test-payer",
        "plan": "commercial",
        "urgency": "standard",
        "patient": patient(last_name=last_name, member_id=member_id),
        "ordering_npi": "1234567893",
        "rendering_npi": "1234567893",
        "services": [
            {
                "code": "70551",
                "units": 1,
                "pos": "22",
                "diagnoses": ["G43.909"],
                "from": service_day,
                "to": service_day,
            }
        ],
    }


def approval_body(
    *, valid_from: str = "2026-12-01", valid_to: str = "2027-02-28", **overrides: Any
) -> dict[str, Any]:
    """An approval obtained by phone for the one 15823 line."""
    body: dict[str, Any] = {
        "outcome": "approved",
        "authorization_number": "AUTH-778",
        "valid_from": valid_from,
        "valid_to": valid_to,
        "method": "phone",
        "reference": "CALL-42",
        "rep_name": "Rep Testname",
        "lines": [{"code": "15823", "approved_units": 1}],
    }
    body.update(overrides)
    return body


def denial_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outcome": "denied",
        "method": "phone",
        "reference": "CALL-43",
        "rep_name": "Rep Testname",
        "reason_codes": ["N"],
    }
    body.update(overrides)
    return body


def pdf_document(*texts: str) -> bytes:
    """A real PDF with one page per text (for uploads that end up in a fax packet)."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for text in texts or ("synthetic document",):
        canvas.drawString(72, 720, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
