"""``view: singleValue``: a number per row, with its trend arrow and sparkline."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Polygon

from reportgen.local.render.cells import _cell_area, _cell_label, _cells
from reportgen.local.render.page import _Box, _Page, _Plane
from reportgen.local.render.plots import _gapped, _Plot, _summary
from reportgen.local.render.text import _measure, _with_unit
from reportgen.local.render.theme import _PIXELS, DPI


def _draw_single_value(page: _Page, plots: list[_Plot]) -> None:
    widget = page.widget
    summaries = [_summary(plot, widget) for plot in plots]
    area = _cell_area(page)
    if all(value is None for value in summaries):  # also when no row is drawn: a SEARCH that found nothing
        page.no_data(area)
        return
    cells = _cells(area, len(plots))
    texts = [_with_unit(value, plot.data.unit, full=widget.full_precision) for plot, value in zip(plots, summaries)]
    cell = cells[0]
    spark = cell.height * 0.3 if widget.sparkline and cell.height >= 60 else 0
    # One size for every number, as the console does: the largest that fits the longest in its cell (with
    # room for the trend arrow, a little under half a digit's height wide).
    longest = max(len(text) for text in texts) + (0.6 if widget.trend else 0)
    pixels = min(cell.height - _measure("Ag")[1] - spark - 6, (cell.width - 8) / longest * 1.6) * 0.8
    points = pixels * 72 / DPI
    for plot, cell, text in zip(plots, cells, texts):
        label_height = _cell_label(page, plot, cell)
        if points < 4:
            continue
        top = cell.top - label_height - 4
        page.text(cell.left + 4, top, text, points=points, va="top", color=plot.row.color or page.theme.text)
        if widget.trend:
            width, height = _measure(text, points)
            _trend_arrow(page, plot, cell.left + 4 + width + pixels * 0.12, top - height * 0.5, pixels * 0.22)
        if spark and len(plot.data.values) > 1:
            _, x, values, _ = _gapped(plot)
            low, high = float(plot.data.values.min()), float(plot.data.values.max())
            plane = _Plane(page, _Box(cell.left + 4, cell.bottom + 4, cell.width - 12, spark - 6),
                           (float(x[0]), float(x[-1])), (low, high if high > low else low + 1))
            plane.fill(x, np.full(len(values), low), values, plot.color, 0.2)
            plane.line(x, values, plot.color, width=1.0)


def _trend_arrow(page: _Page, plot: _Plot, left: float, middle: float, size: float) -> None:
    """A triangle pointing up or down by how the last point compares with the one before; none when equal."""
    values = plot.data.values
    if len(values) < 2 or values[-1] == values[-2] or size < 2:
        return
    tip = size if values[-1] > values[-2] else -size
    corners = [(left, middle - tip / 2), (left + size * 1.2, middle - tip / 2), (left + size * 0.6, middle + tip / 2)]
    page.add(Polygon(corners, closed=True, facecolor=page.theme.muted, linewidth=0, transform=_PIXELS), 3)
