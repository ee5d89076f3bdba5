"""GET /dashboard: the organization's figures as server-drawn charts (no PHI on this page)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precert.domain.authorizations import Status
from precert.services.dashboard import (
    AT_RISK_DAYS,
    AUTOMATED_CHANNELS,
    MANUAL_MINUTES,
    PORTAL_MINUTES,
    ClaimFindings,
    Dashboard,
    DenialFigures,
    PayerFindings,
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
        "payer_finding_charts": payer_finding_charts(figures.claim_findings),
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
        **denial_charts(d.denials),
        "claim_findings": claim_findings_chart(d.claim_findings),
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


def denial_charts(d: DenialFigures) -> dict[str, Chart]:
    """The 835 figures: paid vs denied claims, dollars at risk and recovered, recovery items by
    cause and by payer."""
    other = d.denied - d.authorization_related
    claims = [
        (
            "Paid",
            float(d.claims - d.denied),
            _share(_rate(d.claims - d.denied, d.claims)),
            "approved",
        ),
        (
            "Denied: authorization",
            float(d.authorization_related),
            _share(_rate(d.authorization_related, d.claims)),
            "denied",
        ),
        ("Denied: other", float(other), _share(_rate(other, d.claims)), "submitted"),
    ]
    money = [
        ("At risk (open)", float(d.at_risk), _dollars(d.at_risk), "denied"),
        ("Recovered (done)", float(d.recovered), _dollars(d.recovered), "approved"),
        ("Dismissed", float(d.dismissed), _dollars(d.dismissed), "cancelled"),
    ]
    by_cause = [
        (g.label, float(g.items), f"{g.items} · {_dollars(g.open_amount)} open", "turnaround")
        for g in d.by_cause
    ]
    by_payer = [
        (g.label, float(g.items), f"{g.items} · {_dollars(g.open_amount)} open", "turnaround")
        for g in d.by_payer
    ]
    return {
        "denials": stacked_bar(
            "Remitted claims",
            f"Of {d.claims} claims in imported 835s: {d.denied} denied "
            f"({_share(d.denial_rate)}), {d.authorization_related} of them for authorization "
            f"reasons ({_share(d.authorization_share)} of denials).",
            claims,
        ),
        "recovery_money": horizontal_bars(
            "Dollars at risk and recovered",
            "What the payers did not pay on authorization denials, by the recovery's status.",
            money if d.at_risk or d.recovered or d.dismissed else [],
        ),
        "recovery_by_cause": horizontal_bars(
            "Recovery items by cause", "Authorization denials by what went wrong.", by_cause
        ),
        "recovery_by_payer": horizontal_bars(
            "Recovery items by payer",
            "Authorization denials by the payer that sent them.",
            by_payer,
        ),
    }


# The colour of a finding kind, from the page's existing bar classes, by what the biller does:
# red = the payer will deny the line as it is, orange = fix the claim's number or have a person
# look, grey = the payer is not known. Kinds of one colour sit together in a payer's bar.
FINDING_COLOURS = {
    "number_missing_on_claim": "submitted",
    "number_mismatch_on_claim": "submitted",
    "provider_mismatch": "pended",
    "facility_mismatch": "pended",
    "authorization_pending": "pended",
    "unknown": "draft",
}
COLOUR_ORDER = {"denied": 0, "submitted": 1, "pended": 2, "draft": 3}


def finding_colour(kind: str) -> str:
    return FINDING_COLOURS.get(kind, "denied")


def claim_findings_chart(f: ClaimFindings) -> Chart:
    """Findings on the scrubbed claim lines by kind (problems only), most first."""
    rows = [
        (row.label, float(row.count), str(row.count), finding_colour(row.kind)) for row in f.by_kind
    ]
    return horizontal_bars(
        "Claim findings by kind",
        f"Problems found on {f.lines_with_findings} of {f.lines} claim lines checked in "
        f"{f.scrubs} scrubbed files over the last {f.days} days.",
        rows,
    )


def payer_finding_charts(f: ClaimFindings) -> list[tuple[PayerFindings, Chart]]:
    """One bar per payer, split by finding kind (the lines that are not ok), most findings
    first."""
    charts = []
    for payer in f.by_payer:
        kinds = sorted(payer.kinds, key=lambda row: COLOUR_ORDER[finding_colour(row.kind)])
        items = [
            (
                row.label,
                float(row.count),
                _share(_rate(row.count, payer.total)),
                finding_colour(row.kind),
            )
            for row in kinds
        ]
        description = (
            f"{payer.total} findings on {payer.payer_name}'s claim lines that are not ok: "
            + ", ".join(f"{row.label} {row.count}" for row in kinds)
            + "."
        )
        charts.append((payer, stacked_bar(payer.payer_name, description, items)))
    return charts


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}"
