"""The legend: a colour square and label per row, below the chart or to its right, and the warning triangle
that marks a row with missing data."""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.local.render.page import _Box, _Page
from reportgen.local.render.plots import _Plot
from reportgen.local.render.text import _measure
from reportgen.local.render.theme import MARK, PAD, ROW, SWATCH


def legend(page: _Page, plots: Sequence[_Plot], labels: Sequence[str], top: float) -> tuple[float, float]:
    """Draw the legend where the widget wants it; return the (bottom, right) pixels it takes.

    A row with missing data gets the warning triangle after its label; with the legend hidden, one
    triangle in the top right corner says that some row has.
    """
    if page.tiny or not plots:
        return 0.0, 0.0
    if page.widget.legend == "hidden":
        if any(plot.incomplete for plot in plots):
            page.warning(page.width - PAD - MARK, page.height - PAD - MARK)
        return 0.0, 0.0
    if page.widget.legend == "right":
        return 0.0, _legend_right(page, plots, labels, top)
    return _legend_bottom(page, plots, labels), 0.0


def _legend_bottom(page: _Page, plots: Sequence[_Plot], labels: Sequence[str]) -> float:
    usable = page.width - 2 * PAD
    fitting = max(1, int(page.height * 0.3 // ROW))  # never more than about a third of the image
    rows: list[list[tuple[_Plot, str, float]]] = [[]]
    x = 0.0
    hidden = 0
    for index, (plot, label) in enumerate(zip(plots, labels)):
        mark = MARK + 4 if plot.incomplete else 0
        label = page.fit(label, usable - SWATCH - 4 - mark)
        width = SWATCH + 4 + _measure(label)[0] + mark + 14
        if x + width > usable and rows[-1]:
            if len(rows) == fitting:  # this entry and the rest go on rows that do not fit: just count them
                hidden = len(plots) - index
                break
            rows.append([])
            x = 0.0
        rows[-1].append((plot, label, x))
        x += width
    for number, row in enumerate(rows):
        y = PAD / 2 + (len(rows) - 1 - number) * ROW
        for plot, label, x in row:
            entry(page, PAD + x, y, plot, label)
    if hidden:
        page.text(page.width - PAD, PAD / 2 + 3, f"+{hidden} more", color=page.theme.muted, ha="right")
    return PAD / 2 + len(rows) * ROW


def _legend_right(page: _Page, plots: Sequence[_Plot], labels: Sequence[str], top: float) -> float:
    mark = MARK + 4 if any(plot.incomplete for plot in plots) else 0
    width = min(SWATCH + 4 + max(_measure(label)[0] for label in labels) + mark, page.width * 0.35)
    left = page.width - PAD - width
    for number, (plot, label) in enumerate(list(zip(plots, labels))[:max(1, int((top - PAD) // ROW))]):
        fitted = page.fit(label, width - SWATCH - 4 - (MARK + 4 if plot.incomplete else 0))
        entry(page, left, top - (number + 1) * ROW, plot, fitted)
    return width + PAD


def entry(page: _Page, x: float, y: float, plot: _Plot, label: str) -> None:
    """A colour square, the label, and the warning triangle if the row has missing data, as the legend and
    the table show a row; ``y`` is the bottom of the line."""
    page.rectangle(_Box(x, y + 2, SWATCH, SWATCH), plot.color)
    page.text(x + SWATCH + 4, y + 3, label, color=page.theme.muted)
    if plot.incomplete:
        page.warning(x + SWATCH + 8 + _measure(label)[0], y + 1.5)
