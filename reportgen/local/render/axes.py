"""The frame of the time-series and bar views: title, legend, y axes with ticks and units, the time axis,
and the horizontal and vertical annotations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reportgen.local.render.legend import legend
from reportgen.local.render.page import _Box, _Page, _Plane
from reportgen.local.render.plots import _Line, _Plot
from reportgen.local.render.text import _compact, _measure
from reportgen.local.render.theme import _PIXELS, PAD
from reportgen.local.widget import HorizontalAnnotation, YAxis

_WEEK = 7 * 86400
_TIME_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
               86400, 2 * 86400, _WEEK, 2 * _WEEK)
_MONDAY = 4 * 86400  # 1970-01-01 was a Thursday; weeks start on Monday (ISO 8601)
_MONTH_STEPS = (1, 2, 3, 6)  # then whole years


def _cartesian(page: _Page, plots: list[_Plot], labels: list[str], lines: list[_Line], x_range: tuple[float, float],
               *, time_axis: bool) -> tuple[_Plane, _Plane | None] | None:
    """Title, legend, y axes with nice ticks and units, x axis, horizontal annotations.

    An axis is drawn when a row or an annotation uses it, the left one also when nothing does; the grid
    follows the first axis drawn. Returns that axis's plane and, when drawn, the right one; None when the
    image is too small for even a bare chart.
    """
    widget, theme = page.widget, page.theme
    top = page.title()
    legend_bottom, legend_right = legend(page, plots, labels, page.height - top)
    tick_height = _measure("0:")[1]
    bottom = legend_bottom + (tick_height + 10 if time_axis else 6) + PAD / 2
    height = page.height - top - bottom
    bins = max(2, min(8, int(height // 45)))
    sides = {}
    for side, axis in (("left", widget.left), ("right", widget.right)):
        members = [line for line in lines if line[0].row.y_axis == side]
        marks = [a for a in widget.horizontal if a.y_axis == side]
        if members or marks:
            sides[side] = (axis, members, _y_ticks(members, axis, marks, bins))
    if not sides:
        sides["left"] = (widget.left, [], _y_ticks([], widget.left, [], bins))
    primary = next(iter(sides))
    margins = {}
    for side, (axis, members, ticks) in sides.items():
        title = _axis_title(axis, members)
        margins[side] = (title, max(_measure(_compact(t))[0] for t in ticks) + 6 + (14 if title else 0))
    margin_left = PAD + (margins["left"][1] if "left" in margins else 10)
    margin_right = legend_right + PAD + (margins["right"][1] if "right" in margins else 10)
    box = _Box(margin_left, bottom, page.width - margin_left - margin_right, height)
    bare = page.tiny or box.width < 20 or box.height < 20
    if bare:  # too small for decorations: just the chart, filling the image
        box = _Box(0, 0, page.width, page.height)
    if box.width < 1 or box.height < 1:
        return None
    planes = {side: _Plane(page, box, x_range, (ticks[0], ticks[-1])) for side, (_, _, ticks) in sides.items()}
    if not bare:
        for side, (_, _, ticks) in sides.items():
            _y_axis(page, planes[side], ticks, side, margins[side][0], legend_right, grid=side == primary)
        # Under the data (zorder 2), so a series at zero stays visible on the axis.
        page.add(Line2D([box.left, box.right], [box.bottom, box.bottom], color=theme.axis, linewidth=0.8,
                        transform=_PIXELS), 1.5)
        if time_axis:
            _time_axis(page, planes[primary])
    _horizontal_annotations(planes, page)
    return planes[primary], planes.get("right")


def _y_ticks(lines: list[_Line], axis: YAxis, annotations: Sequence[HorizontalAnnotation], bins: int) -> list[float]:
    """Round tick values covering the data, the annotations and any fixed min/max; the ends are the limits."""
    marks = [value for a in annotations for value in (a.value, a.band_value) if value is not None]
    # fmax and fmin pass over the NaNs that break a line; they give NaN only for a line of nothing else.
    highs = [float(np.fmax.reduce(line[2])) for line in lines if len(line[2])]
    lows = [float(np.fmin.reduce(edge)) for line in lines for edge in (line[2], line[3])
            if edge is not None and len(edge)]
    highs = [high for high in highs if not math.isnan(high)] + marks
    lows = [low for low in lows if not math.isnan(low)] + marks
    low = axis.min if axis.min is not None else min([0.0, *lows])
    high = axis.max if axis.max is not None else max(highs, default=1.0)
    if high <= low:
        high = low + (abs(low) or 1.0)
    if axis.max is None and highs:  # headroom, so a steady series (4 hosts, 100 %) does not run along the top edge
        high += 0.05 * (high - low)
    ticks = [float(t) for t in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)]
    if axis.min is None and axis.max is None:
        return ticks
    lower = axis.min if axis.min is not None else ticks[0]
    upper = axis.max if axis.max is not None else ticks[-1]
    slack = 1e-9 * (upper - lower)
    return sorted({lower, upper, *(t for t in ticks if lower - slack <= t <= upper + slack)})


def _y_axis(page: _Page, plane: _Plane, ticks: list[float], side: str, title: str | None, legend_right: float,
            *, grid: bool) -> None:
    """Tick labels, the axis title and, if ``grid``, grid lines for one side."""
    box = plane.box
    ys = [plane.pixel_y(t) for t in ticks]
    if grid:
        page.add(LineCollection([[(box.left, y), (box.right, y)] for y in ys], colors=page.theme.grid,
                                linewidths=0.8, transform=_PIXELS), 0.8)
    for tick, y in zip(ticks, ys):
        x = box.left - 6 if side == "left" else box.right + 6
        page.text(x, y, _compact(tick), color=page.theme.muted, ha="right" if side == "left" else "left",
                  va="center_baseline")
    if title:
        middle = box.bottom + box.height / 2
        if side == "left":
            page.text(PAD, middle, page.fit(title, box.height), color=page.theme.muted, rotation=90,
                      ha="center", va="top")
        else:
            page.text(page.width - legend_right - PAD, middle, page.fit(title, box.height), color=page.theme.muted,
                      rotation=270, ha="center", va="top")


def _time_axis(page: _Page, plane: _Plane) -> None:
    """Tick marks and labels on round local times in the widget's ``timezone``."""
    positions, labels = _time_ticks(plane.x[0], plane.x[1], page.widget.utc_offset, max(2, int(plane.box.width // 75)))
    xs = [plane.pixel_x(p) for p in positions]
    bottom = plane.box.bottom
    page.add(LineCollection([[(x, bottom), (x, bottom - 3)] for x in xs], colors=page.theme.axis, linewidths=0.8,
                            transform=_PIXELS), 2.5)
    for x, label in zip(xs, labels):
        half = _measure(label)[0] / 2  # a label at either end stays inside the image
        page.text(min(max(x, half + 1), page.width - half - 1), bottom - 6, label, color=page.theme.muted,
                  ha="center", va="top")


def _time_ticks(start: float, end: float, offset: timedelta, most: int) -> tuple[list[float], list[str]]:
    """Tick positions on round local times, the finest step that cuts the window into at most ``most``
    parts, and their labels; at least one. Weekly ticks fall on Mondays; a window too long for fortnightly
    ones is ticked on the 1st of months."""
    span = end - start
    index = next((i for i, s in enumerate(_TIME_STEPS) if span / s <= most), len(_TIME_STEPS))
    if index == len(_TIME_STEPS):
        months = _month_ticks(start, end, offset, most)
        if months[0]:
            return months
        positions = []
    else:
        step = _TIME_STEPS[index]
        positions = _round_times(start, end, offset, step)
    if not positions:
        # The step that fits can miss a short window altogether (no Monday in four days, no 1st in thirty),
        # and an axis without a time is worse than a sparse one: every n-th tick of the next finer step.
        step = _TIME_STEPS[max(index - 1, 0)]
        positions = _round_times(start, end, offset, step)
        positions = positions[::-(-len(positions) // most)]
    labels = []
    for position in positions:
        local = datetime.fromtimestamp(position, UTC) + offset
        if step >= 86400 or (span > 86400 and local.hour == local.minute == 0):
            labels.append(f"{local:%m/%d}")
        else:
            labels.append(f"{local:%H:%M:%S}" if step < 60 else f"{local:%H:%M}")
    return positions, labels


def _round_times(start: float, end: float, offset: timedelta, step: int) -> list[float]:
    """The local times in [start, end] that are whole multiples of ``step`` (of weeks: Mondays)."""
    shift = offset.total_seconds()
    origin = _MONDAY if step % _WEEK == 0 else 0
    first = math.ceil((start + shift - origin) / step) * step + origin - shift
    return [float(p) for p in np.arange(first, end + 1e-6, step)]


def _month_ticks(start: float, end: float, offset: timedelta, most: int) -> tuple[list[float], list[str]]:
    """Ticks at local midnight on the 1st of every n-th month, n the least of 1, 2, 3, 6, 12, 24, … months
    that gives at most ``most``; n counts from January, so quarters start in January, April, July, October."""
    begin, finish = (datetime.fromtimestamp(moment, UTC) + offset for moment in (start, end))
    # Months since year 0: of the first 1st in the window, and of the last.
    after = begin.year * 12 + begin.month - 1 + (begin != datetime(begin.year, begin.month, 1, tzinfo=UTC))
    last = finish.year * 12 + finish.month - 1
    for step in itertools.chain(_MONTH_STEPS, itertools.count(12, 12)):
        months = range(-(-after // step) * step, last + 1, step)
        if len(months) <= most:
            break
    firsts = [datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC) for m in months]
    return ([(first - offset).timestamp() for first in firsts],
            [f"{first:%Y}" if step >= 12 else f"{first:%m/%d}" for first in firsts])


def _axis_title(axis: YAxis, lines: list[_Line]) -> str | None:
    """The axis ``label`` if set, else the unit its rows share (CloudWatch's showUnits)."""
    if axis.label:
        return axis.label
    units = {line[0].data.unit for line in lines}
    return units.pop() if axis.show_units and len(units) == 1 else None


def _horizontal_annotations(planes: dict[str, _Plane], page: _Page) -> None:
    for annotation in page.widget.horizontal:
        plane = planes[annotation.y_axis]  # an axis with annotations is always drawn
        color = annotation.color or page.theme.annotation
        if annotation.band_value is not None:
            plane.rectangle(plane.x, (annotation.value, annotation.band_value), color, alpha=0.12)
        elif annotation.fill == "above":
            plane.rectangle(plane.x, (annotation.value, plane.y[1]), color, alpha=0.1)
        elif annotation.fill == "below":
            plane.rectangle(plane.x, (plane.y[0], annotation.value), color, alpha=0.1)
        for value, label in ((annotation.value, annotation.label), (annotation.band_value, annotation.band_label)):
            if value is None:
                continue
            plane.line(list(plane.x), [value, value], color, width=1.0)
            if label and not page.tiny and plane.y[0] <= value <= plane.y[1]:
                page.text(plane.box.right - 2, plane.pixel_y(value) + 2, label, color=color, ha="right")


def _vertical_annotations(plane: _Plane, page: _Page) -> None:
    for annotation in page.widget.vertical:
        color = annotation.color or page.theme.annotation
        x = annotation.value.timestamp()
        other = annotation.band_value.timestamp() if annotation.band_value is not None else None
        if other is not None:
            plane.rectangle((x, other), plane.y, color, alpha=0.12)
        elif annotation.fill == "before":
            plane.rectangle((plane.x[0], x), plane.y, color, alpha=0.1)
        elif annotation.fill == "after":
            plane.rectangle((x, plane.x[1]), plane.y, color, alpha=0.1)
        for position, label in ((x, annotation.label), (other, annotation.band_label)):
            if position is None or not plane.x[0] <= position <= plane.x[1]:
                continue
            plane.line([position, position], list(plane.y), color, width=1.0)
            if label and not page.tiny:
                page.text(plane.pixel_x(position) + 3, plane.box.top - 2,
                          page.fit(label, plane.box.right - plane.pixel_x(position) - 4), color=color, va="top")
