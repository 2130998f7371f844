"""``view: table``: the rows' points and the window's summary as numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from matplotlib.lines import Line2D

from reportgen.local import synthetic
from reportgen.local.render.legend import entry
from reportgen.local.render.page import _Box, _Page
from reportgen.local.render.plots import _Plot
from reportgen.local.render.text import _compact, _measure
from reportgen.local.render.theme import _PIXELS, MARK, PAD, ROW, SWATCH
from reportgen.local.widget import HorizontalAnnotation

_SUMMARIES: dict[str, tuple[str, Callable[[npt.NDArray[np.float64]], float]]] = {
    "MIN": ("Minimum", lambda values: float(values.min())), "MAX": ("Maximum", lambda values: float(values.max())),
    "SUM": ("Sum", lambda values: float(values.sum())), "AVG": ("Average", lambda values: float(values.mean())),
}
_CELL = ROW + 4  # px, the height of a table row


def _draw_table(page: _Page, plots: list[_Plot]) -> None:
    """``view: table``: the rows' points and the window's summary as numbers.

    Laid out ``horizontal`` (a row per metric, a column per time, the summary columns last) or ``vertical``
    (transposed). What does not fit gives way from the oldest times and the last metrics. Horizontal
    annotations tint the cells they would shade, as the console's table thresholds do.
    """
    widget, table = page.widget, page.widget.table
    area = _Box(PAD, PAD, page.width - 2 * PAD, page.height - page.title() - PAD)
    if not any(len(plot.data.values) for plot in plots):
        page.no_data(area)
        return
    times = sorted(set().union(*(plot.data.timestamps.tolist() for plot in plots))) if table.show_points else []
    stamp = "%m/%d %H:%M" if widget.end - widget.start > timedelta(days=1) else "%H:%M"
    names = [f"{datetime.fromtimestamp(t, UTC) + widget.utc_offset:{stamp}}" for t in times]
    names += [_SUMMARIES[name][0] for name in table.summary]
    cells = [_at(plot.data, times) + [_SUMMARIES[name][1](plot.data.values) if len(plot.data.values) else None
                                      for name in table.summary] for plot in plots]
    if table.layout == "horizontal":
        _grid(page, area, plots, names, cells)
    else:
        _grid(page, area, names, plots, [list(column) for column in zip(*cells)])


def _at(data: synthetic.Series, times: list[int]) -> list[float | None]:
    """``data``'s value at each of ``times``, None where it has no point."""
    known = dict(zip(data.timestamps.tolist(), data.values.tolist()))
    return [known.get(t) for t in times]


_Head = _Plot | str  # what names a table row or column: a metric (with its colour) or a time or summary


def _grid(page: _Page, area: _Box, rows: Sequence[_Head], columns: Sequence[_Head],
          cells: list[list[float | None]]) -> None:
    """A table: a head column naming ``rows``, a head row naming ``columns``, and ``cells[row][column]``."""
    theme = page.theme
    texts = [[_compact(value) if value is not None else "–" for value in row] for row in cells]
    head_width = min(max((_head_width(head) for head in rows), default=0) + 12, area.width * 0.4)
    # A metric heading a column gives way to the numbers beyond 150 px; the label is cut short to fit.
    widths = [max(min(_head_width(head), 150), *(_measure(row[i])[0] for row in texts)) + 16
              for i, head in enumerate(columns)]
    shown_columns = _kept(columns, widths, area.width - head_width)
    shown_rows = _kept(rows, [_CELL] * len(rows), area.height - 2 * _CELL)  # a line for "+N more"
    y = area.top - _CELL
    x = area.left + head_width
    for i in shown_columns:
        _head(page, columns[i], x, y, widths[i])
        x += widths[i]
    right = x
    page.add(Line2D([area.left, right], [y, y], color=theme.axis, linewidth=0.8, transform=_PIXELS), 2)
    for r in shown_rows:
        y -= _CELL
        _head(page, rows[r], area.left, y, head_width)
        x = area.left + head_width
        for i in shown_columns:
            tint = _threshold(page.widget.horizontal, cells[r][i])
            if tint is not None:
                page.rectangle(_Box(x, y, widths[i], _CELL), tint, alpha=0.25, zorder=1)
            page.text(x + widths[i] - 8, y + 6, texts[r][i], ha="right")
            x += widths[i]
        page.add(Line2D([area.left, right], [y, y], color=theme.grid, linewidth=0.8, transform=_PIXELS), 1.5)
    if len(shown_rows) < len(rows):
        page.text(area.left + 4, y - _CELL + 6, f"+{len(rows) - len(shown_rows)} more", color=theme.muted)


def _kept(heads: Sequence[_Head], sizes: Sequence[float], room: float) -> list[int]:
    """The indices of the heads that fit in ``room``, in order: the first metrics, or the last times (the
    newest, and the summary after them)."""
    order = list(range(len(heads)))
    if heads and isinstance(heads[0], str):
        order.reverse()
    kept, used = [], 0.0
    for i in order:
        if used + sizes[i] > room:
            break
        kept.append(i)
        used += sizes[i]
    return sorted(kept)


def _head_width(head: _Head) -> float:
    if isinstance(head, str):
        return _measure(head)[0]
    return SWATCH + 4 + _measure(head.label)[0] + (MARK + 4 if head.incomplete else 0)


def _head(page: _Page, head: _Head, x: float, y: float, width: float) -> None:
    """A metric's colour and label at the left of its cell, or a time or summary name at the right."""
    if isinstance(head, str):
        page.text(x + width - 8, y + 6, page.fit(head, width - 12), color=page.theme.muted, ha="right")
    else:
        room = width - SWATCH - 12 - (MARK + 4 if head.incomplete else 0)
        entry(page, x + 4, y + 3, head, page.fit(head.label, room))


def _threshold(annotations: Sequence[HorizontalAnnotation], value: float | None) -> str | None:
    """The colour of the first annotation whose shading covers ``value``: above or below its line, or in
    its band."""
    if value is None:
        return None
    for a in annotations:
        low, high = sorted((a.value, a.band_value)) if a.band_value is not None else (a.value, a.value)
        if (a.fill == "band" and low <= value <= high or a.fill == "above" and value >= a.value
                or a.fill == "below" and value <= a.value):
            return a.color or "#d62728"
    return None
