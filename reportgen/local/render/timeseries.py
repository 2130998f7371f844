"""``view: timeSeries`` (lines, stacked areas, anomaly bands) and ``view: bar``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from reportgen.local.render.axes import _cartesian, _vertical_annotations
from reportgen.local.render.page import _Page
from reportgen.local.render.plots import _gapped, _Line, _Plot, _summary
from reportgen.local.render.text import _compact


def _draw_time_series(page: _Page, plots: list[_Plot]) -> None:
    widget = page.widget
    lines: list[_Line] = _stack(plots) if widget.stacked else [_gapped(plot) for plot in plots]
    x_range = (widget.start.timestamp(), widget.end.timestamp())
    planes = _cartesian(page, plots, [plot.label for plot in plots], lines, x_range, time_axis=True)
    if planes is None:
        return
    left, right = planes
    _vertical_annotations(left, page)
    for plot, x, y, base in lines:
        plane = right if plot.row.y_axis == "right" and right is not None else left
        if base is not None:
            plane.fill(x, base, y, plot.color, 0.2 if plot.lower is not None else 0.35)
        if plot.lower is not None and base is not None:  # a band: both edges, thin
            plane.line(x, base, plot.color, width=0.6)
            plane.line(x, y, plot.color, width=0.6)
        else:
            plane.line(x, y, plot.color)
    if not any(len(plot.data.values) for plot in plots):
        page.no_data(left.box)


def _draw_bar(page: _Page, plots: list[_Plot]) -> None:
    summaries = [_summary(plot, page.widget) for plot in plots]
    lines: list[_Line] = [(plot, np.zeros(1), np.array([] if value is None else [value]), None)
                          for plot, value in zip(plots, summaries)]
    planes = _cartesian(page, plots, [plot.label for plot in plots], lines, (-0.6, len(plots) - 0.4),
                        time_axis=False)
    if planes is None:
        return
    plane = planes[0]
    if all(value is None for value in summaries):
        page.no_data(plane.box)
        return
    labelled = len(plots) <= 24 and plane.box.width / max(len(plots), 1) >= 24
    for index, (plot, value) in enumerate(zip(plots, summaries)):
        plane.rectangle((index - 0.3, index + 0.3), (0.0, value or 0.0), plot.color, zorder=1)
        if labelled:
            y = min(plane.pixel_y(value or 0.0), plane.box.top - 10)
            page.text(plane.pixel_x(index), y + 2, _compact(value) if value is not None else "—",
                      color=page.theme.muted, ha="center")


def _stack(plots: list[_Plot]) -> list[_Line]:
    """Stacked areas: each axis's rows summed in order, at every time any of them has a point or a break.

    A row adds nothing where it has no data (in a gap, before its first point or after its last): its band
    breaks there and the rows above rest on the ones below.
    """
    lines: list[_Line] = []
    for side in ("left", "right"):
        members = [plot for plot in plots if plot.row.y_axis == side]
        broken = [_gapped(plot)[1] for plot in members if len(plot.data.timestamps)]
        if not broken:
            continue
        x = broken[0] if len(broken) == 1 else np.unique(np.concatenate(broken))
        base = np.zeros(len(x))
        for plot in members:
            values = _within_runs(x, plot)
            lines.append((plot, x, base + values, base))
            base = base + np.nan_to_num(values)
    return lines


def _within_runs(x: npt.NDArray[np.float64], plot: _Plot) -> npt.NDArray[np.float64]:
    """The row's values at ``x``, joined straight between points a period or less apart; NaN elsewhere."""
    t, values = plot.data.timestamps, plot.data.values
    if not len(t):
        return np.full(len(x), np.nan)
    after = np.searchsorted(t, x, side="right")  # t[after - 1] <= x < t[after]
    left, right = t[np.maximum(after - 1, 0)], t[np.minimum(after, len(t) - 1)]
    known = (after > 0) & ((left == x) | ((after < len(t)) & (right - left <= plot.period)))
    return np.where(known, np.interp(x, t, values), np.nan)
