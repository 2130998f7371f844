"""The grid of cells, one per row with its label, that the single-value and gauge views draw in."""

from __future__ import annotations

import math

from reportgen.local.render.page import _Box, _Page
from reportgen.local.render.plots import _Plot
from reportgen.local.render.text import _measure
from reportgen.local.render.theme import MARK, PAD


def _cell_area(page: _Page) -> _Box:
    """The area under the title, which the single-value and gauge views split into cells."""
    return _Box(PAD, PAD, page.width - 2 * PAD, page.height - page.title() - PAD)


def _cells(area: _Box, count: int) -> list[_Box]:
    """Split ``area`` into ``count`` (at least one) cells, each at least ~160 px wide where possible."""
    columns = max(1, min(count, int(area.width // 160)))
    rows = math.ceil(count / columns)
    width, height = area.width / columns, area.height / rows
    return [_Box(area.left + (i % columns) * width, area.top - (i // columns + 1) * height, width, height)
            for i in range(count)]


def _cell_label(page: _Page, plot: _Plot, cell: _Box) -> float:
    """Draw the row's label at the top of its cell; return the height it takes."""
    height = _measure("Ag")[1]
    if cell.height < 3 * height or cell.width < 20:
        return 0.0
    mark = MARK + 4 if plot.incomplete else 0
    label = page.fit(plot.label, cell.width - 8 - mark)
    page.text(cell.left + 4, cell.top, label, color=page.theme.muted, va="top")
    if plot.incomplete:
        page.warning(cell.left + 8 + _measure(label)[0], cell.top - height)
    return height
