"""GET /dashboard: the organization's figures as server-drawn charts (no PHI on this page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precert.domain.authorizations import Status
from precert.services.dashboard import (
    AT_RISK_DAYS,
    AUTOMATED_CHANNELS,
    MANUAL_MINUTES,
    PORTAL_MINUTES,
    Dashboard,
    dashboard,
)
from precert.web.deps import ContextDep
from precert.web.session import PageActorDep
from precert.web.templating import templates
from precert.web.ui.charts import Chart, columns, horizontal_bars, stacked_bar

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    Status.DRAFT.value: "Draft",
    Status.READY.value: "Ready",
    Status.SUBMITTED.value: "Submitted",
    Status.PENDED.value: "Pended",
    Status.APPEALED.value: "Appealed",
    Status.APPROVED.value: "Approved",
    Status.PARTIALLY_APPROVED.value: "Partially approved",
    Status.DENIED.value: "Denied",
    Status.NOT_REQUIRED.value: "Not required",
    Status.CANCELLED.value: "Cancelled",
    Status.EXPIRED.value: "Expired",
}


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: ContextDep, actor: PageActorDep) -> Response:
    figures = dashboard(ctx, actor)
    context = {
        "active": "dashboard",
        "d": figures,
        "charts": charts_for(figures),
        "at_risk_days": AT_RISK_DAYS,
        "manual_minutes": MANUAL_MINUTES,
        "portal_minutes": PORTAL_MINUTES,
        "automated_channels": AUTOMATED_CHANNELS,
        "status_labels": STATUS_LABELS,
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


def charts_for(d: Dashboard) -> dict[str, Chart]:
    statuses = [
        (STATUS_LABELS.get(status, status), float(count), str(count), status)
        for status, count in d.by_status
    ]
    rates = d.rates
    decisions = [
        ("Approved", float(rates.approved), _share(rates.rate(rates.approved)), "approved"),
        (
            "Partially approved",
            float(rates.partially_approved),
            _share(rates.rate(rates.partially_approved)),
            "partially_approved",
        ),
        ("Denied", float(rates.denied), _share(rates.rate(rates.denied)), "denied"),
    ]
    turnaround = [
        (row.payer_name, row.median_days, f"{row.median_days:g} days", "turnaround")
        for row in d.turnaround
    ]
    months = [
        (row.month, float(row.minutes), f"{row.minutes} min", "saved") for row in d.savings_by_month
    ]
    return {
        "status": horizontal_bars(
            "Requests by status", f"{d.total} requests in all, by their current status.", statuses
        ),
        "decisions": stacked_bar(
            "Decisions",
            f"Of {rates.decided} decided requests: "
            + ", ".join(f"{label} {count:g} ({text})" for label, count, text, _ in decisions)
            + ".",
            decisions,
        ),
        "turnaround": horizontal_bars(
            "Median turnaround by payer",
            "Days from the first submission to the first decision, median per payer.",
            turnaround,
        ),
        "savings": columns(
            "Staff minutes saved per month",
            f"{d.minutes_saved} minutes saved in all by submissions precert made for a person.",
            months,
        ),
    }


def _share(rate: float) -> str:
    return f"{rate * 100:.0f}%"
