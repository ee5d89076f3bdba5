"""The claim scrub as one self-contained HTML page (`precert claims scrub --html FILE`): the totals,
a bar chart of findings by kind, and every claim line with a problem, worst first, each with the
sentence and the fix. It opens from disk in any browser (no scripts, no outside files).

It is built from the scrub's JSON (services.claims_scrub.result_json), so the page and the API
say the same thing. Member ids are shown: the page is for the billing team and stays with them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_COLOURS = {"error": "#b42318", "warning": "#b54708", "info": "#027a48"}
_BAR_WIDTH = 420


def render_scrub_html(report: Mapping[str, Any], *, title: str = "Claim scrub") -> str:
    """The page for `report` (the result_json shape)."""
    summary = report.get("summary", {})
    rows = _problem_rows(report.get("claims", []))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title>",
        "<style>",
        _STYLE,
        "</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _totals(summary),
        _chart(summary.get("findings", {})),
        _errors(report.get("errors", [])),
        _table(rows),
        "</body></html>",
    ]
    return "\n".join(parts)


def _totals(summary: Mapping[str, Any]) -> str:
    severities = summary.get("severities", {})
    cells = [
        ("Claims", summary.get("claims", 0)),
        ("Claims with findings", summary.get("claims_with_findings", 0)),
        ("Lines", summary.get("lines", 0)),
        ("Clean lines", summary.get("clean_lines", 0)),
        ("Errors", severities.get("error", 0)),
        ("Warnings", severities.get("warning", 0)),
        ("Fixable (number missing)", summary.get("fixable", 0)),
        ("Unreadable claims", summary.get("unreadable_claims", 0)),
    ]
    items = "".join(f"<div class='tile'><b>{_e(v)}</b><span>{_e(k)}</span></div>" for k, v in cells)
    return f"<section class='tiles'>{items}</section>"


def _chart(findings: Mapping[str, int]) -> str:
    """Findings by kind as horizontal bars (an inline SVG)."""
    shown = [(kind, count) for kind, count in findings.items() if kind != "ok" and count]
    if not shown:
        return "<p class='good'>Every line matches its authorization or needs none.</p>"
    shown.sort(key=lambda item: -item[1])
    top = max(count for _, count in shown)
    height = 24 * len(shown) + 8
    bars = []
    for i, (kind, count) in enumerate(shown):
        width = max(2, round(_BAR_WIDTH * count / top))
        y = 4 + 24 * i
        colour = _COLOURS["info"] if kind == "not_required" else _COLOURS["error"]
        bars.append(
            f"<text x='0' y='{y + 15}' class='label'>{_e(kind.replace('_', ' '))}</text>"
            f"<rect x='220' y='{y}' width='{width}' height='18' fill='{colour}' rx='2'/>"
            f"<text x='{226 + width}' y='{y + 15}' class='count'>{count}</text>"
        )
    svg = (
        f"<svg role='img' aria-label='Findings by kind' width='{_BAR_WIDTH + 300}' "
        f"height='{height}' xmlns='http://www.w3.org/2000/svg'>{''.join(bars)}</svg>"
    )
    return f"<section><h2>Findings by kind</h2>{svg}</section>"


def _errors(errors: Sequence[Mapping[str, Any]]) -> str:
    if not errors:
        return ""
    items = []
    for error in errors:
        claim = error.get("claim_id") or "(envelope)"
        for issue in error.get("issues", []):
            items.append(
                f"<li><b>{_e(claim)}</b>: {_e(issue.get('message', ''))} "
                f"<span class='where'>{_e(issue.get('location', ''))}</span></li>"
            )
    return (
        "<section><h2>Claims that could not be read</h2><p>Every other claim was still "
        f"checked.</p><ul>{''.join(items)}</ul></section>"
    )


def _problem_rows(claims: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for claim in claims:
        for line in claim.get("lines", []):
            for finding in line.get("findings", []):
                if finding.get("severity") == "info":
                    continue
                rows.append({**finding, "claim": claim, "line": line})
    rows.sort(key=lambda r: (_SEVERITY_RANK.get(r["severity"], 3), r["claim"]["claim_id"]))
    return rows


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    body = []
    for row in rows:
        claim, line = row["claim"], row["line"]
        severity = str(row["severity"])
        body.append(
            "<tr>"
            f"<td><span class='sev {severity}'>{_e(severity)}</span></td>"
            f"<td>{_e(claim['claim_id'])}</td><td>{_e(claim.get('member_id', ''))}</td>"
            f"<td>{_e(line['line'])}</td><td><code>{_e(line['code'])}</code></td>"
            f"<td>{_e(line['date'])}</td><td>{_e(str(row['kind']).replace('_', ' '))}</td>"
            f"<td>{_e(row['message'])}</td><td>{_e(row.get('fix', ''))}</td>"
            f"<td>{_e(row.get('authorization_number', ''))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>Severity</th><th>Claim</th><th>Member</th><th>Line</th><th>Code</th>"
        "<th>Date</th><th>Finding</th><th>What is wrong</th><th>Fix</th><th>Authorization</th></tr>"
    )
    return (
        f"<section><h2>Lines to fix before billing ({len(rows)})</h2>"
        f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2939}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.tiles{display:flex;flex-wrap:wrap;gap:10px}
.tile{border:1px solid #d0d5dd;border-radius:8px;padding:10px 14px;min-width:120px}
.tile b{display:block;font-size:20px}.tile span{color:#475467;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eaecf0;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb}.sev{padding:1px 6px;border-radius:10px;color:#fff;font-size:12px}
.sev.error{background:#b42318}.sev.warning{background:#b54708}.sev.info{background:#027a48}
.label{font-size:12px;fill:#344054}.count{font-size:12px;fill:#344054}.where{color:#667085}
.good{color:#027a48}
"""
