"""``Widget`` → PNG bytes that look like a CloudWatch console graph.

Drawing uses matplotlib's object-oriented API on an Agg canvas, never pyplot's global state, so it is
safe in worker processes. It places lines, patches and text straight on the figure in pixel
coordinates instead of building ``Axes``: an Axes with its tick machinery costs more than the rest of a
chart together, and a pixel layout makes the PNG exactly ``width`` × ``height``. The PNG carries no
metadata, so the same widget always gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

import matplotlib

# Only this module draws, and only on Agg canvases; selecting Agg keeps any later pyplot import from
# probing for a GUI. Switching an already running pyplot would disturb its owner, so leave that alone.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle, Wedge
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform
from PIL import Image

from reportgen.local import mathexpr, synthetic
from reportgen.local.widget import HorizontalAnnotation, MetricRow, Widget, YAxis, math_program

DPI = 100
# CloudWatch's default palette, in the order it gives colours to rows.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
TITLE_PT, SMALL_PT = 9.5, 7.5
PAD = 8      # px around the edges
SWATCH = 9   # px, the legend's colour squares
ROW = 15     # px per legend row
_UNIT_SUFFIX = {"Percent": "%", "Seconds": "s", "Milliseconds": "ms", "Bytes": "B", "Count/Second": "/s"}
_LABEL_PLACEHOLDER = re.compile(r"\$\{(\w+)(?:\('([^']*)'\))?\}")
_TIME_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
               86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)
_PIXELS = IdentityTransform()  # Agg's display coordinates: pixels, origin bottom-left
# matplotlib is not thread-safe and rc_context is process-wide: one render at a time per process.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Theme:
    background: str
    text: str
    muted: str
    grid: str
    axis: str
    annotation: str


THEMES = {
    "light": _Theme("#ffffff", "#16191f", "#545b64", "#e9ebed", "#aab7b8", "#d62728"),
    "dark": _Theme("#1b1f24", "#d5dbdb", "#9ba7b6", "#2f353d", "#5f6b7a", "#ff6b6b"),
}


@dataclass(frozen=True)
class _Plot:
    """A visible row, its data, and how it is drawn."""

    row: MetricRow
    data: synthetic.Series
    color: str
    label: str


@dataclass(frozen=True)
class _Box:
    """A rectangle in pixels."""

    left: float
    bottom: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.bottom + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


def render_png(widget: Widget) -> bytes:
    """Draw ``widget`` and return PNG bytes of exactly ``width`` × ``height`` pixels."""
    # Unhinted glyphs lay out faster than matplotlib's default autohinting and look as crisp at these sizes.
    with _LOCK, matplotlib.rc_context({"text.hinting": "no_hinting"}):
        page = _Page(widget)
        _VIEWS[widget.view](page, _plots(widget))
        return page.png()


def warm_up() -> None:
    """Render one small chart so a fresh worker has loaded its fonts before the first real request."""
    end = datetime(2026, 1, 1, tzinfo=UTC)
    render_png(Widget(metrics=(MetricRow("AWS/EC2", "CPUUtilization", (), "Average", 300),),
                      start=end - timedelta(hours=3), end=end, width=200, height=120, title="warm-up"))


class _Page:
    """The figure being drawn, with helpers that place text and shapes in pixels."""

    def __init__(self, widget: Widget) -> None:
        self.widget = widget
        self.theme = THEMES[widget.theme]
        self.width, self.height = widget.width, widget.height
        # Below this there is room for the data alone: no title, legend or tick labels.
        self.tiny = self.width < 160 or self.height < 100
        # Agg truncates width × dpi to whole pixels; a hair more keeps 0.29 × 100 from becoming 28.
        size = ((self.width + 1e-6) / DPI, (self.height + 1e-6) / DPI)
        self.figure = Figure(figsize=size, dpi=DPI, facecolor=self.theme.background)
        self.canvas = FigureCanvasAgg(self.figure)

    def add(self, artist: Artist, zorder: float) -> None:
        artist.set_zorder(zorder)
        self.figure.add_artist(artist)

    def text(self, x: float, y: float, text: str, *, points: float = SMALL_PT, color: str | None = None,
             ha: str = "left", va: str = "baseline", bold: bool = False, rotation: float = 0) -> None:
        self.add(Text(x, y, text, fontproperties=_font(points, bold), color=color or self.theme.text, ha=ha, va=va,
                      rotation=rotation, rotation_mode="anchor", transform=_PIXELS, parse_math=False), 3)

    def rectangle(self, box: _Box, color: str) -> None:
        self.add(Rectangle((box.left, box.bottom), box.width, box.height, transform=_PIXELS, facecolor=color,
                           linewidth=0), 3)

    def fit(self, text: str, width: float, points: float = SMALL_PT, bold: bool = False) -> str:
        """``text``, cut short with an ellipsis to fit ``width`` pixels."""
        if _measure(text, points, bold)[0] <= width:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits, by bisection
            middle = (low + high + 1) // 2
            if _measure(text[:middle] + "…", points, bold)[0] <= width:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + "…" if low else ""

    def title(self) -> float:
        """Draw the title top-left; return the pixels taken from the top."""
        if self.tiny:
            return 0.0
        if not self.widget.title:
            return PAD
        self.text(PAD, self.height - PAD, self.fit(self.widget.title, self.width - 2 * PAD, TITLE_PT, bold=True),
                  points=TITLE_PT, va="top", bold=True)
        return PAD + _measure("Ag", TITLE_PT, True)[1] + 8

    def legend(self, plots: Sequence[_Plot], labels: Sequence[str], top: float) -> tuple[float, float]:
        """Draw the legend where the widget wants it; return the (bottom, right) pixels it takes."""
        if self.widget.legend == "hidden" or not plots or self.tiny:
            return 0.0, 0.0
        if self.widget.legend == "right":
            return 0.0, self._legend_right(plots, labels, top)
        return self._legend_bottom(plots, labels), 0.0

    def _legend_bottom(self, plots: Sequence[_Plot], labels: Sequence[str]) -> float:
        usable = self.width - 2 * PAD
        rows: list[list[tuple[str, str, float]]] = [[]]
        x = 0.0
        for plot, label in zip(plots, labels):
            label = self.fit(label, usable - SWATCH - 4)
            width = SWATCH + 4 + _measure(label)[0] + 14
            if x + width > usable and rows[-1]:
                rows.append([])
                x = 0.0
            rows[-1].append((plot.color, label, x))
            x += width
        fitting = max(1, int(self.height * 0.3 // ROW))  # never more than about a third of the image
        hidden = sum(len(row) for row in rows[fitting:])
        rows = rows[:fitting]
        for number, row in enumerate(rows):
            y = PAD / 2 + (len(rows) - 1 - number) * ROW
            for color, label, x in row:
                self.rectangle(_Box(PAD + x, y + 2, SWATCH, SWATCH), color)
                self.text(PAD + x + SWATCH + 4, y + 3, label, color=self.theme.muted)
        if hidden:
            self.text(self.width - PAD, PAD / 2 + 3, f"+{hidden} more", color=self.theme.muted, ha="right")
        return PAD / 2 + len(rows) * ROW

    def _legend_right(self, plots: Sequence[_Plot], labels: Sequence[str], top: float) -> float:
        width = min(SWATCH + 4 + max(_measure(label)[0] for label in labels), self.width * 0.35)
        left = self.width - PAD - width
        for number, (plot, label) in enumerate(list(zip(plots, labels))[:max(1, int((top - PAD) // ROW))]):
            y = top - (number + 1) * ROW
            self.rectangle(_Box(left, y + 2, SWATCH, SWATCH), plot.color)
            self.text(left + SWATCH + 4, y + 3, self.fit(label, width - SWATCH - 4), color=self.theme.muted)
        return width + PAD

    def no_data(self, box: _Box) -> None:
        self.text(box.left + box.width / 2, box.bottom + box.height / 2, "No data available.",
                  points=SMALL_PT + 1, color=self.theme.muted, ha="center", va="center")

    def png(self) -> bytes:
        self.canvas.draw()
        image = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        # A chart has few colours: a 256-colour palette looks the same, and compresses to a third of the
        # size in less time than RGB. PIL writes no text or time chunks, so equal pixels give equal bytes.
        indexed = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        _snap_palette(indexed, self._exact_colours())
        out = io.BytesIO()
        indexed.save(out, format="PNG", compress_level=3)
        return out.getvalue()

    def _exact_colours(self) -> set[str]:
        widget = self.widget
        return {*(value for value in vars(self.theme).values()), *PALETTE,
                *(row.color for row in widget.metrics if row.color),
                *(a.color for a in widget.horizontal if a.color), *(a.color for a in widget.vertical if a.color)}


class _Plane:
    """A plot area: data coordinates mapped onto a pixel box, drawing clipped to it."""

    def __init__(self, page: _Page, box: _Box, x: tuple[float, float], y: tuple[float, float]) -> None:
        self.page, self.box, self.x, self.y = page, box, x, y
        self.transform = (Affine2D().translate(-x[0], -y[0])
                          .scale(box.width / (x[1] - x[0]), box.height / (y[1] - y[0]))
                          .translate(box.left, box.bottom))
        # A pixel of slack above and below, so a line at either end of the y range shows its full width.
        self._clip = Bbox.from_bounds(box.left, box.bottom - 1, box.width, box.height + 2)

    def _add(self, artist: Artist, zorder: float) -> None:
        artist.set_transform(self.transform)
        artist.set_clip_box(self._clip)
        self.page.add(artist, zorder)

    def line(self, x: npt.ArrayLike, y: npt.ArrayLike, color: str, width: float = 1.3) -> None:
        marker = "o" if np.size(x) == 1 else "None"  # a lone point would be invisible as a line
        self._add(Line2D(x, y, color=color, linewidth=width, marker=marker, markersize=3,
                         solid_joinstyle="round", solid_capstyle="round"), 2)

    def fill(self, x: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64],
             color: str, alpha: float) -> None:
        outline = np.column_stack([np.concatenate([x, x[::-1]]), np.concatenate([high, low[::-1]])])
        self._add(Polygon(outline, closed=True, facecolor=color, alpha=alpha, linewidth=0), 1)

    def rectangle(self, x: tuple[float, float], y: tuple[float, float], color: str, alpha: float = 1.0,
                  zorder: float = 0.5) -> None:
        self._add(Rectangle((x[0], y[0]), x[1] - x[0], y[1] - y[0], facecolor=color, alpha=alpha, linewidth=0),
                  zorder)

    def pixel_x(self, x: float) -> float:
        return self.box.left + (x - self.x[0]) * self.box.width / (self.x[1] - self.x[0])

    def pixel_y(self, y: float) -> float:
        return self.box.bottom + (y - self.y[0]) * self.box.height / (self.y[1] - self.y[0])


def _snap_palette(image: Image.Image, colours: set[str]) -> None:
    """Set palette entries within a shade of a known colour to exactly that colour.

    The octree palette averages each cluster, which would turn a white background into 254-grey and
    shift series colours by a unit or two; the background and the palette must come out exact.
    """
    entries = np.array(image.getpalette() or [], dtype=np.int16).reshape(-1, 3)
    targets = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in sorted(colours)], dtype=np.int16)
    distance = np.abs(entries[:, None, :] - targets[None, :, :]).max(axis=2)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(entries)), nearest] <= 4
    entries[close] = targets[nearest[close]]
    image.putpalette(entries.astype(np.uint8).tobytes())


_RENDERER = RendererAgg(1, 1, DPI)  # for measuring text only; sizes depend on the font and dpi alone


@lru_cache(maxsize=4096)
def _measure(text: str, points: float = SMALL_PT, bold: bool = False) -> tuple[float, float]:
    """Width and height of ``text`` in pixels."""
    width, height, _ = _RENDERER.get_text_width_height_descent(text, _font(points, bold), ismath=False)
    return width, height


@cache
def _font(points: float, bold: bool = False) -> FontProperties:
    return FontProperties(size=points, weight="bold" if bold else "normal")


def row_series(widget: Widget) -> list[synthetic.Series]:
    """The data drawn for each row, in row order, hidden rows included: synthetic data for a metric,
    the evaluated expression (unitless) for a math row."""
    data: list[synthetic.Series | None] = [
        synthetic.series(row, widget.start, widget.end) if row.expression is None else None for row in widget.metrics]
    evaluated = iter(math_program(widget.metrics).evaluate(
        {row.id: series for row, series in zip(widget.metrics, data) if row.id and series is not None}))
    return [series if series is not None else _unitless(next(evaluated)) for series in data]


def _unitless(result: mathexpr.TimeSeries) -> synthetic.Series:
    return synthetic.Series(result.timestamps, result.values, None)


def _plots(widget: Widget) -> list[_Plot]:
    shown = [(row, data) for row, data in zip(widget.metrics, row_series(widget)) if row.visible]
    plots = [_Plot(row, data, row.color or PALETTE[index % len(PALETTE)], _label(row, data))
             for index, (row, data) in enumerate(shown)]
    return _disambiguate(plots)


def _disambiguate(plots: list[_Plot]) -> list[_Plot]:
    """Rows that would show the same metric name also show what tells them apart: dimensions, stat."""
    groups: dict[str, list[MetricRow]] = {}
    for plot in plots:
        if plot.row.label is None:
            groups.setdefault(plot.row.default_label, []).append(plot.row)
    result = []
    for plot in plots:
        rows = groups.get(plot.label, []) if plot.row.label is None else []
        if len(rows) > 1:
            parts = [plot.label]
            if len({row.dimensions for row in rows}) > 1:
                parts.insert(0, " ".join(value for _, value in plot.row.dimensions))
            if len({row.stat for row in rows}) > 1:
                parts.append(plot.row.stat)
            plot = _Plot(plot.row, plot.data, plot.color, " ".join(part for part in parts if part))
        result.append(plot)
    return result


def _label(row: MetricRow, data: synthetic.Series) -> str:
    """The row's label with CloudWatch's dynamic labels (${AVG}, ${PROP('Dim.InstanceId')}, …) filled in."""
    if row.label is None:
        return row.default_label
    values = data.values
    statistics: dict[str, Callable[[], float]] = {
        "AVG": lambda: float(values.mean()), "MIN": lambda: float(values.min()), "MAX": lambda: float(values.max()),
        "SUM": lambda: float(values.sum()), "FIRST": lambda: float(values[0]), "LAST": lambda: float(values[-1]),
    }
    properties = {"MetricName": row.name, "Namespace": row.namespace, "Stat": row.stat, "Period": str(row.period),
                  **{f"Dim.{name}": value for name, value in row.dimensions}}

    def expand(match: re.Match[str]) -> str:
        name, argument = match.groups()
        if name == "PROP" and argument in properties:
            return properties[argument]
        if name == "LABEL":
            return row.default_label
        if name == "DATAPOINT_COUNT":
            return str(len(values))
        if name in statistics:
            return _compact(statistics[name]()) if len(values) else "--"
        return match.group(0)

    return _LABEL_PLACEHOLDER.sub(expand, row.label)


def _summary(plot: _Plot, widget: Widget) -> float | None:
    """One number for the bar, pie, single-value and gauge views: the latest point, or the whole range's."""
    values = plot.data.values
    if not len(values):
        return None
    if not widget.period_to_time_range:
        return float(values[-1])
    if plot.row.stat in ("Sum", "SampleCount"):
        return float(values.sum())
    if plot.row.stat == "Maximum":
        return float(values.max())
    if plot.row.stat == "Minimum":
        return float(values.min())
    return float(values.mean())


def _compact(value: float) -> str:
    """1234 → 1.23k, the way CloudWatch abbreviates axis and single values."""
    magnitude = abs(value)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale:
            return f"{value / scale:.3g}{suffix}"
    return "0" if value == 0 else f"{value:.3g}"


def _with_unit(value: float | None, unit: str | None) -> str:
    return "—" if value is None else _compact(value) + _UNIT_SUFFIX.get(unit or "", "")


# ---- time series and bar charts ---------------------------------------------------------------------------

_Line = tuple[_Plot, npt.NDArray[np.float64], npt.NDArray[np.float64], "npt.NDArray[np.float64] | None"]


def _draw_time_series(page: _Page, plots: list[_Plot]) -> None:
    widget = page.widget
    lines: list[_Line] = _stack(plots) if widget.stacked else [
        (plot, plot.data.timestamps.astype(np.float64), plot.data.values, None) for plot in plots]
    x_range = (widget.start.timestamp(), widget.end.timestamp())
    planes = _cartesian(page, plots, [plot.label for plot in plots], lines, x_range, time_axis=True)
    if planes is None:
        return
    left, right = planes
    _vertical_annotations(left, page)
    for plot, x, y, base in lines:
        plane = right if plot.row.y_axis == "right" and right is not None else left
        if base is not None:
            plane.fill(x, base, y, plot.color, 0.35)
        plane.line(x, y, plot.color)
    if not any(len(plot.data.values) for plot in plots):
        page.no_data(left.box)


def _draw_bar(page: _Page, plots: list[_Plot]) -> None:
    summaries = [_summary(plot, page.widget) for plot in plots]
    heights = np.array([value or 0.0 for value in summaries])
    lines: list[_Line] = [(plot, np.zeros(1), heights[i:i + 1], None) for i, plot in enumerate(plots)]
    planes = _cartesian(page, plots, [plot.label for plot in plots], lines, (-0.6, len(plots) - 0.4),
                        time_axis=False)
    if planes is None:
        return
    plane = planes[0]
    labelled = len(plots) <= 24 and plane.box.width / max(len(plots), 1) >= 24
    for index, (plot, value) in enumerate(zip(plots, summaries)):
        plane.rectangle((index - 0.3, index + 0.3), (0.0, value or 0.0), plot.color, zorder=1)
        if labelled:
            y = min(plane.pixel_y(value or 0.0), plane.box.top - 10)
            page.text(plane.pixel_x(index), y + 2, _compact(value) if value is not None else "—",
                      color=page.theme.muted, ha="center")


def _stack(plots: list[_Plot]) -> list[_Line]:
    """Stacked areas: each axis's rows summed in order, on the timestamps of its first row with data."""
    lines: list[_Line] = []
    for side in ("left", "right"):
        members = [plot for plot in plots if plot.row.y_axis == side]
        reference = next((plot.data.timestamps for plot in members if len(plot.data.timestamps)), None)
        if reference is None:
            continue
        x = reference.astype(np.float64)
        base = np.zeros(len(x))
        for plot in members:
            values = np.interp(x, plot.data.timestamps, plot.data.values) if len(plot.data.values) else np.zeros(len(x))
            lines.append((plot, x, base + values, base))
            base = base + values
    return lines


def _cartesian(page: _Page, plots: list[_Plot], labels: list[str], lines: list[_Line], x_range: tuple[float, float],
               *, time_axis: bool) -> tuple[_Plane, _Plane | None] | None:
    """Title, legend, y axes with nice ticks and units, x axis, horizontal annotations.

    Returns the left plane and, when any row or annotation uses it, the right one; None when the image
    is too small for even a bare chart.
    """
    widget, theme = page.widget, page.theme
    top = page.title()
    legend_bottom, legend_right = page.legend(plots, labels, page.height - top)
    tick_height = _measure("0:")[1]
    bottom = legend_bottom + (tick_height + 10 if time_axis else 6) + PAD / 2
    height = page.height - top - bottom
    bins = max(2, min(8, int(height // 45)))
    sides = {}
    for side, axis in (("left", widget.left), ("right", widget.right)):
        members = [line for line in lines if line[0].row.y_axis == side]
        marks = [a for a in widget.horizontal if a.y_axis == side]
        if side == "left" or members or marks:
            sides[side] = (axis, members, _y_ticks(members, axis, marks, bins))
    margins = {}
    for side, (axis, members, ticks) in sides.items():
        title = _axis_title(axis, members)
        margins[side] = (title, max(_measure(_compact(t))[0] for t in ticks) + 6 + (14 if title else 0))
    margin_left = PAD + margins["left"][1]
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
            _y_axis(page, planes[side], ticks, side, margins[side][0], legend_right)
        # Under the data (zorder 2), so a series at zero stays visible on the axis.
        page.add(Line2D([box.left, box.right], [box.bottom, box.bottom], color=theme.axis, linewidth=0.8,
                        transform=_PIXELS), 1.5)
        if time_axis:
            _time_axis(page, planes["left"])
    _horizontal_annotations(planes, page)
    return planes["left"], planes.get("right")


def _y_ticks(lines: list[_Line], axis: YAxis, annotations: Sequence[HorizontalAnnotation], bins: int) -> list[float]:
    """Round tick values covering the data, the annotations and any fixed min/max; the ends are the limits."""
    marks = [value for a in annotations for value in (a.value, a.band_value) if value is not None]
    highs = [float(line[2].max()) for line in lines if len(line[2])] + marks
    lows = [float(line[2].min()) for line in lines if len(line[2])] + marks
    low = axis.min if axis.min is not None else min([0.0, *lows])
    high = axis.max if axis.max is not None else max(highs, default=1.0)
    if high <= low:
        high = low + (abs(low) or 1.0)
    if axis.max is None:  # headroom, so a steady series (4 hosts, 100 %) does not run along the top edge
        high += 0.05 * (high - low)
    ticks = [float(t) for t in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)]
    if axis.min is None and axis.max is None:
        return ticks
    lower = axis.min if axis.min is not None else ticks[0]
    upper = axis.max if axis.max is not None else ticks[-1]
    slack = 1e-9 * (upper - lower)
    return sorted({lower, upper, *(t for t in ticks if lower - slack <= t <= upper + slack)})


def _y_axis(page: _Page, plane: _Plane, ticks: list[float], side: str, title: str | None, legend_right: float) -> None:
    """Grid lines (left axis only), tick labels and the axis title for one side."""
    box = plane.box
    ys = [plane.pixel_y(t) for t in ticks]
    if side == "left":
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
        page.text(x, bottom - 6, label, color=page.theme.muted, ha="center", va="top")


def _time_ticks(start: float, end: float, offset: timedelta, most: int) -> tuple[list[float], list[str]]:
    """At most ``most`` tick positions on round local times, and their labels."""
    span = end - start
    step = next((s for s in _TIME_STEPS if span / s <= most), math.ceil(span / most / 86400) * 86400)
    shift = offset.total_seconds()
    first = math.ceil((start + shift) / step) * step - shift
    positions = [float(p) for p in np.arange(first, end + 1e-6, step)]
    labels = []
    for position in positions:
        local = datetime.fromtimestamp(position, UTC) + offset
        if step >= 86400 or (span > 86400 and local.hour == local.minute == 0):
            labels.append(f"{local:%m/%d}")
        else:
            labels.append(f"{local:%H:%M:%S}" if step < 60 else f"{local:%H:%M}")
    return positions, labels


def _axis_title(axis: YAxis, lines: list[_Line]) -> str | None:
    """The axis ``label`` if set, else the unit its rows share (CloudWatch's showUnits)."""
    if axis.label:
        return axis.label
    units = {line[0].data.unit for line in lines}
    return units.pop() if axis.show_units and len(units) == 1 else None


def _horizontal_annotations(planes: dict[str, _Plane], page: _Page) -> None:
    for annotation in page.widget.horizontal:
        plane = planes.get(annotation.y_axis, planes["left"])
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


# ---- pie, single value, gauge ---------------------------------------------------------------------------


def _draw_pie(page: _Page, plots: list[_Plot]) -> None:
    summaries = [_summary(plot, page.widget) for plot in plots]
    top = page.title()
    labels = [f"{plot.label}  {_compact(value)}" if value is not None else plot.label
              for plot, value in zip(plots, summaries)]
    legend_bottom, legend_right = page.legend(plots, labels, page.height - top)
    area = _Box(PAD, legend_bottom + PAD, page.width - legend_right - 2 * PAD, page.height - top - legend_bottom - PAD)
    radius = min(area.width, area.height) / 2
    if radius < 2:
        return
    shown = [(plot, value) for plot, value in zip(plots, summaries) if value is not None and value > 0]
    if not shown:
        page.no_data(area)
        return
    centre = (area.left + area.width / 2, area.bottom + area.height / 2)
    total = sum(value for _, value in shown)
    angle = 90.0  # clockwise from twelve o'clock, like the console
    for plot, value in shown:
        sweep = 360 * value / total
        page.add(Wedge(centre, radius, angle - sweep, angle, facecolor=plot.color, edgecolor=page.theme.background,
                       linewidth=1, transform=_PIXELS), 1)
        middle = math.radians(angle - sweep / 2)
        if sweep >= 20 and radius >= 40:
            page.text(centre[0] + 0.65 * radius * math.cos(middle), centre[1] + 0.65 * radius * math.sin(middle),
                      f"{100 * value / total:.0f}%", color="#ffffff", ha="center", va="center")
        angle -= sweep


def _draw_single_value(page: _Page, plots: list[_Plot]) -> None:
    cells = _cells(page, len(plots))
    texts = [_with_unit(_summary(plot, page.widget), plot.data.unit) for plot in plots]
    if not cells:
        return
    cell = cells[0]
    spark = cell.height * 0.3 if page.widget.sparkline and cell.height >= 60 else 0
    # One size for every number, as the console does: the largest that fits the longest in its cell.
    longest = max(len(text) for text in texts)
    points = min(cell.height - _measure("Ag")[1] - spark - 6, (cell.width - 8) / longest * 1.6) * 0.8 * 72 / DPI
    for plot, cell, text in zip(plots, cells, texts):
        label_height = _cell_label(page, plot, cell)
        if points >= 4:
            page.text(cell.left + 4, cell.top - label_height - 4, text, points=points, va="top",
                      color=plot.row.color or page.theme.text)
        if spark and len(plot.data.values) > 1:
            values = plot.data.values
            low, high = float(values.min()), float(values.max())
            x = plot.data.timestamps.astype(np.float64)
            plane = _Plane(page, _Box(cell.left + 4, cell.bottom + 4, cell.width - 12, spark - 6),
                           (float(x[0]), float(x[-1])), (low, high if high > low else low + 1))
            plane.fill(x, np.full(len(values), low), values, plot.color, 0.2)
            plane.line(x, values, plot.color, width=1.0)


def _draw_gauge(page: _Page, plots: list[_Plot]) -> None:
    low = page.widget.left.min if page.widget.left.min is not None else 0.0
    high = page.widget.left.max if page.widget.left.max is not None else 100.0
    for plot, cell in zip(plots, _cells(page, len(plots))):
        value = _summary(plot, page.widget)
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
        text = _with_unit(value, plot.data.unit)
        points = max(4.0, min(radius * 0.3, 1.4 * radius / max(len(text), 1)) * 72 / DPI)
        page.text(centre[0], centre[1] + 4, text, points=points, ha="center", va="bottom")
        for x, bound in ((-0.875, low), (0.875, high)):
            page.text(centre[0] + x * radius, centre[1] - 4, _compact(bound), color=page.theme.muted, ha="center",
                      va="top")


def _cells(page: _Page, count: int) -> list[_Box]:
    """Split the area under the title into ``count`` cells, each at least ~160 px wide where possible."""
    area = _Box(PAD, PAD, page.width - 2 * PAD, page.height - page.title() - PAD)
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
    page.text(cell.left + 4, cell.top, page.fit(plot.label, cell.width - 8), color=page.theme.muted, va="top")
    return height


_VIEWS: dict[str, Callable[[_Page, list[_Plot]], None]] = {
    "timeSeries": _draw_time_series,
    "bar": _draw_bar,
    "pie": _draw_pie,
    "singleValue": _draw_single_value,
    "gauge": _draw_gauge,
}
