"""``view: gauge``: a half-ring per row between the left axis's min and max."""

from __future__ import annotations

from matplotlib.patches import Wedge

from reportgen.local.render.cells import _cell_area, _cell_label, _cells
from reportgen.local.render.page import _Page
from reportgen.local.render.plots import _Plot, _summary
from reportgen.local.render.text import _compact, _with_unit
from reportgen.local.render.theme import _PIXELS, DPI


def _draw_gauge(page: _Page, plots: list[_Plot]) -> None:
    low = page.widget.left.min if page.widget.left.min is not None else 0.0
    high = page.widget.left.max if page.widget.left.max is not None else 100.0
    summaries = [_summary(plot, page.widget) for plot in plots]
    area = _cell_area(page)
    if all(value is None for value in summaries):
        page.no_data(area)
        return
    cells = _cells(area, len(plots))
    for plot, cell, value in zip(plots, cells, summaries):
        label_height = _cell_label(page, plot, cell)
        radius = min(cell.width / 2 - 6, cell.height - label_height - 24)
        if radius < 8:
            continue
        centre = (cell.left + cell.width / 2, cell.bottom + 16)
        page.add(Wedge(centre, radius, 0, 180, width=radius / 4, facecolor=page.theme.grid, linewidth=0,
                       transform=_PIXELS), 1)
        if value is not None:
            fraction = min(max((value - low) / (high - low), 0.0), 1.0)
            page.add(Wedge(centre, radius, 180 - 180 * fraction, 180, width=radius / 4, facecolor=plot.color,
                           linewidth=0, transform=_PIXELS), 1.5)
        text = _with_unit(value, plot.data.unit, full=page.widget.full_precision)
        points = max(4.0, min(radius * 0.22, 1.2 * radius / max(len(text), 1)) * 72 / DPI)
        page.text(centre[0], centre[1] + 4, text, points=points, ha="center", va="bottom")
        for x, bound in ((-0.875, low), (0.875, high)):
            page.text(centre[0] + x * radius, centre[1] - 4, _compact(bound), color=page.theme.muted, ha="center",
                      va="top")
