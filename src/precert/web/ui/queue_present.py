"""How the work queue and the request page word things: status and urgency labels, "due in N
days", badge classes — registered as Jinja filters so every page says them the same way."""

from __future__ import annotations

import datetime as dt

from jinja2 import Environment

STATUS_LABELS = {
    "draft": "Draft",
    "ready": "Ready",
    "submitted": "Submitted",
    "pended": "Pended",
    "approved": "Approved",
    "partially_approved": "Partially approved",
    "denied": "Denied",
    "not_required": "Not required",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "appealed": "Appealed",
}

METHOD_LABELS = {
    "phone": "Phone",
    "fax": "Fax",
    "portal": "Payer portal",
    "x12": "X12 278",
    "fhir": "FHIR PAS",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def days_phrase(day: dt.date | None, today: dt.date) -> str:
    """'today', 'tomorrow', 'in 5 days', '3 days ago' — for service dates and next actions."""
    if day is None:
        return ""
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def when(moment: dt.datetime | None) -> str:
    """A moment as people read it in a list, UTC (the server does not know the reader's zone)."""
    return "" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def register(env: Environment) -> None:
    env.filters["file_size"] = file_size
    env.filters["status_label"] = status_label
    env.filters["days_phrase"] = days_phrase
    env.filters["when"] = when
    env.filters["method_label"] = lambda value: METHOD_LABELS.get(str(value), str(value))
