"""Server-side SVG charts for the pages: geometry computed here, drawn by templates/_charts.html.

No JavaScript chart library: each chart is plain SVG with a <title> per mark and text labels, so
a screen reader, a test and a printout all read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 170
VALUE_WIDTH = 70
CHART_WIDTH = 560
COLUMN_CHART_HEIGHT = 180


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown ("12", "2.5 days")
    kind: str  # a CSS class suffix for the colour
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its accessible title and description, its size and its bars."""

    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    label_width: int = LABEL_WIDTH
    baseline: float = 0.0


def horizontal_bars(
    title: str,
    description: str,
    items: list[tuple[str, float, str, str]],
    *,
    width: int = CHART_WIDTH,
) -> Chart:
    """Rows of (label, value, shown text, kind) as horizontal bars scaled to the largest value."""
    room = width - LABEL_WIDTH - VALUE_WIDTH
    top = max((value for _, value, _, _ in items), default=0.0) or 1.0
    bars = []
    for row, (label, value, text, kind) in enumerate(items):
        length = room * value / top
        y = row * (BAR_HEIGHT + BAR_GAP)
        bars.append(Bar(label, value, text, kind, LABEL_WIDTH, y, max(length, 0.0), BAR_HEIGHT))
    height = max(len(items) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, BAR_HEIGHT)
    return Chart(title, description, width, height, bars)


def columns(
    title: str,
    description: str,
    items: list[tuple[str, float, str, str]],
    *,
    width: int = CHART_WIDTH,
    height: int = COLUMN_CHART_HEIGHT,
) -> Chart:
    """Vertical columns (label under, value over each), e.g. one per month."""
    plot = height - 40  # room for the value above and the label below
    top = max((value for _, value, _, _ in items), default=0.0) or 1.0
    slot = width / max(len(items), 1)
    column = min(slot * 0.6, 64)
    bars = []
    for index, (label, value, text, kind) in enumerate(items):
        length = plot * value / top
        x = index * slot + (slot - column) / 2
        bars.append(Bar(label, value, text, kind, x, 20 + plot - length, column, length))
    return Chart(title, description, width, height, bars, label_width=0, baseline=20 + plot)


def stacked_bar(
    title: str,
    description: str,
    items: list[tuple[str, float, str, str]],
    *,
    width: int = CHART_WIDTH,
) -> Chart:
    """One bar split into shares (e.g. approved / partial / denied); labels go in a legend."""
    total = sum(value for _, value, _, _ in items)
    bars = []
    x = 0.0
    for label, value, text, kind in items:
        length = width * value / total if total else 0.0
        bars.append(Bar(label, value, text, kind, x, 0, length, 28))
        x += length
    return Chart(title, description, width, 28, bars, label_width=0)
