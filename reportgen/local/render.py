"""``Widget`` → PNG bytes that look like a CloudWatch console graph.

Drawing uses matplotlib's object-oriented API on an Agg canvas, never pyplot's global state, so it is
safe in worker processes. It places lines, patches and text straight on the figure in pixel
coordinates instead of building ``Axes``: an Axes with its tick machinery costs more than the rest of a
chart together, and a pixel layout makes the PNG exactly ``width`` × ``height``. The PNG carries no
metadata, so the same widget always gives the same bytes.

Each view (time series, bar, pie, single value, gauge, table) draws what the console would: the default
palette in row order, lines that break where points are missing, legends that mark a row with missing data
with the orange warning triangle, SI-suffixed numbers, local-time ticks, annotations, and "No data
available." when no row has data.
``python -m reportgen.local.gallery`` draws one picture of each feature.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
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
from matplotlib.patches import PathPatch, Polygon, Rectangle, Wedge
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform
from PIL import Image

from reportgen.local import fonts, mathexpr, synthetic
from reportgen.local.widget import HorizontalAnnotation, MetricRow, Widget, YAxis, math_program

DPI = 100
# CloudWatch's default palette, in the order it gives colours to rows.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# The console's marker for a metric that has missing data in the window: an orange warning triangle.
WARNING = "#ff9900"
TITLE_PT, SMALL_PT = 9.5, 7.5
PAD = 8      # px around the edges
SWATCH = 9   # px, the legend's colour squares
MARK = 11    # px, the width of the warning triangle
ROW = 15     # px per legend row
_UNIT_SUFFIX = {"Percent": "%", "Seconds": "s", "Milliseconds": "ms", "Bytes": "B", "Count/Second": "/s"}
_LABEL_PLACEHOLDER = re.compile(r"\$\{(\w+)(?:\('([^']*)'\))?\}")
_WEEK = 7 * 86400
_TIME_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
               86400, 2 * 86400, _WEEK, 2 * _WEEK)
_MONDAY = 4 * 86400  # 1970-01-01 was a Thursday; weeks start on Monday (ISO 8601)
_MONTH_STEPS = (1, 2, 3, 6)  # then whole years
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
    """A visible row, its data and its period (as ``RowData``), and how it is drawn; ``incomplete`` when the
    window lacks some of its points."""

    row: MetricRow
    data: synthetic.Series
    period: int
    color: str
    label: str
    incomplete: bool = False
    lower: synthetic.Series | None = None  # an anomaly band's lower edge; ``data`` is then its upper edge


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


def render_png(widget: Widget, fetched: Sequence[synthetic.Series | None] | None = None, *,
               search: mathexpr.Search = mathexpr.no_search) -> bytes:
    """Draw ``widget`` and return PNG bytes of exactly ``width`` × ``height`` pixels; ``fetched`` is data
    to draw instead of synthetic data and ``search`` answers SEARCH, as ``row_series`` takes them."""
    # Unhinted glyphs lay out faster than matplotlib's default autohinting and look as crisp at these sizes.
    with _LOCK, matplotlib.rc_context({"text.hinting": "no_hinting"}), warnings.catch_warnings():
        # matplotlib warns at every glyph no font has; _Page.text logs each such character once instead.
        warnings.filterwarnings("ignore", r"Glyph \d+ .*missing from font", UserWarning)
        page = _Page(widget)
        _VIEWS[widget.view](page, _plots(widget, fetched, search))
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
        fonts.report_missing(text)
        self.add(Text(x, y, text, fontproperties=_font(points, bold), color=color or self.theme.text, ha=ha, va=va,
                      rotation=rotation, rotation_mode="anchor", transform=_PIXELS, parse_math=False), 3)

    def rectangle(self, box: _Box, color: str, alpha: float = 1.0, zorder: float = 3) -> None:
        self.add(Rectangle((box.left, box.bottom), box.width, box.height, transform=_PIXELS, facecolor=color,
                           alpha=alpha, linewidth=0), zorder)

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
        """Draw the legend where the widget wants it; return the (bottom, right) pixels it takes.

        A row with missing data gets the warning triangle after its label; with the legend hidden, one
        triangle in the top right corner says that some row has.
        """
        if self.tiny or not plots:
            return 0.0, 0.0
        if self.widget.legend == "hidden":
            if any(plot.incomplete for plot in plots):
                self.warning(self.width - PAD - MARK, self.height - PAD - MARK)
            return 0.0, 0.0
        if self.widget.legend == "right":
            return 0.0, self._legend_right(plots, labels, top)
        return self._legend_bottom(plots, labels), 0.0

    def _legend_bottom(self, plots: Sequence[_Plot], labels: Sequence[str]) -> float:
        usable = self.width - 2 * PAD
        fitting = max(1, int(self.height * 0.3 // ROW))  # never more than about a third of the image
        rows: list[list[tuple[_Plot, str, float]]] = [[]]
        x = 0.0
        hidden = 0
        for index, (plot, label) in enumerate(zip(plots, labels)):
            mark = MARK + 4 if plot.incomplete else 0
            label = self.fit(label, usable - SWATCH - 4 - mark)
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
                self.entry(PAD + x, y, plot, label)
        if hidden:
            self.text(self.width - PAD, PAD / 2 + 3, f"+{hidden} more", color=self.theme.muted, ha="right")
        return PAD / 2 + len(rows) * ROW

    def _legend_right(self, plots: Sequence[_Plot], labels: Sequence[str], top: float) -> float:
        mark = MARK + 4 if any(plot.incomplete for plot in plots) else 0
        width = min(SWATCH + 4 + max(_measure(label)[0] for label in labels) + mark, self.width * 0.35)
        left = self.width - PAD - width
        for number, (plot, label) in enumerate(list(zip(plots, labels))[:max(1, int((top - PAD) // ROW))]):
            fitted = self.fit(label, width - SWATCH - 4 - (MARK + 4 if plot.incomplete else 0))
            self.entry(left, top - (number + 1) * ROW, plot, fitted)
        return width + PAD

    def entry(self, x: float, y: float, plot: _Plot, label: str) -> None:
        """A colour square, the label, and the warning triangle if the row has missing data, as the legend and
        the table show a row; ``y`` is the bottom of the line."""
        self.rectangle(_Box(x, y + 2, SWATCH, SWATCH), plot.color)
        self.text(x + SWATCH + 4, y + 3, label, color=self.theme.muted)
        if plot.incomplete:
            self.warning(x + SWATCH + 8 + _measure(label)[0], y + 1.5)

    def warning(self, x: float, y: float) -> None:
        """CloudWatch's orange triangle with an exclamation mark, ``MARK`` pixels wide, bottom left at (x, y)."""
        height = MARK * 0.9
        self.add(Polygon([(x, y), (x + MARK, y), (x + MARK / 2, y + height)], closed=True, facecolor=WARNING,
                         linewidth=0, transform=_PIXELS), 3)
        self.text(x + MARK / 2, y + 0.5, "!", points=SMALL_PT - 1, color="#ffffff", ha="center", bold=True)

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
        return {*(value for value in vars(self.theme).values()), *PALETTE, WARNING,
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
        """A line through the points; a NaN in ``y`` breaks it, and a point alone between breaks is a dot."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        defined = ~np.isnan(y)
        lone = defined & ~np.r_[False, defined[:-1]] & ~np.r_[defined[1:], False]  # invisible as a line
        if not lone.all():
            self._add(Line2D(x, y, color=color, linewidth=width, solid_joinstyle="round", solid_capstyle="round"),
                      2)
        if lone.any():
            self._add(Line2D(x[lone], y[lone], color=color, linestyle="None", marker="o", markersize=3), 2)

    def fill(self, x: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64],
             color: str, alpha: float) -> None:
        """Shade between ``low`` and ``high``; a NaN in either breaks the shading."""
        vertices, codes = [], []
        for run in _runs(~(np.isnan(low) | np.isnan(high))):
            # Each run a closed outline, along the top and back along the bottom, as a Polygon closes it.
            xs, top, bottom = x[run], high[run], low[run]
            vertices.append(np.column_stack([np.r_[xs, xs[::-1], xs[:1]], np.r_[top, bottom[::-1], top[:1]]]))
            codes.append(np.r_[Path.MOVETO, np.full(2 * len(xs) - 1, Path.LINETO), Path.CLOSEPOLY])
        if vertices:
            self._add(PathPatch(Path(np.concatenate(vertices), np.concatenate(codes).astype(Path.code_type)),
                                facecolor=color, alpha=alpha, linewidth=0), 1)

    def rectangle(self, x: tuple[float, float], y: tuple[float, float], color: str, alpha: float = 1.0,
                  zorder: float = 0.5) -> None:
        self._add(Rectangle((x[0], y[0]), x[1] - x[0], y[1] - y[0], facecolor=color, alpha=alpha, linewidth=0),
                  zorder)

    def pixel_x(self, x: float) -> float:
        return self.box.left + (x - self.x[0]) * self.box.width / (self.x[1] - self.x[0])

    def pixel_y(self, y: float) -> float:
        return self.box.bottom + (y - self.y[0]) * self.box.height / (self.y[1] - self.y[0])


def _runs(defined: npt.NDArray[np.bool_]) -> list[slice]:
    """The stretches of two or more consecutive ``defined`` entries."""
    if defined.all():
        return [slice(0, len(defined))] if len(defined) > 1 else []
    edges = np.flatnonzero(np.diff(np.r_[False, defined, False]))
    return [slice(int(first), int(end)) for first, end in zip(edges[::2], edges[1::2]) if end - first > 1]


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


def _measure(text: str, points: float = SMALL_PT, bold: bool = False) -> tuple[float, float]:
    """Width and height of ``text`` in pixels."""
    return _text_size(text, points, bold)  # every argument given, so one text has one cache entry


@lru_cache(maxsize=4096)
def _text_size(text: str, points: float, bold: bool) -> tuple[float, float]:
    width, height, _ = _RENDERER.get_text_width_height_descent(text, _font(points, bold), ismath=False)
    return width, height


@cache
def _font(points: float, bold: bool = False) -> FontProperties:
    # A list of families: matplotlib takes each glyph from the first that has it (Chinese, Japanese, Korean…).
    return FontProperties(family=fonts.family_chain(), size=points, weight="bold" if bold else "normal")


@dataclass(frozen=True)
class RowData:
    """One series a row draws. A metric row draws one; a math row whose result is an array (``METRICS()``,
    ``SEARCH``) draws one per element, labelled; an anomaly band draws ``series`` as its upper edge and
    ``lower`` as its lower one, shaded between. ``period`` is the step of the series' grid in seconds: two
    points further apart have no data between them, and the line breaks there."""

    series: synthetic.Series
    period: int
    label: str | None = None
    lower: synthetic.Series | None = None


def row_series(widget: Widget, fetched: Sequence[synthetic.Series | None] | None = None, *,
               search: mathexpr.Search = mathexpr.no_search) -> list[tuple[RowData, ...]]:
    """The data drawn for each row, in row order, hidden rows included: for a metric, its entry in
    ``fetched`` (one per row; the stand-in's stored data) or else synthetic data; for a math row, the
    evaluated expression (unitless), one entry per series of its result, ``search`` answering SEARCH."""
    given = fetched if fetched is not None else [None] * len(widget.metrics)
    data: list[synthetic.Series | None] = [
        None if row.expression is not None else series if series is not None else
        synthetic.series(row, widget.start, widget.end, row.region or widget.region)
        for row, series in zip(widget.metrics, given)]
    periods = [synthetic.effective_period(row.period, widget.start, widget.end) for row in widget.metrics]
    results: Iterator[mathexpr.Result] = iter(())
    if any(row.expression is not None for row in widget.metrics):
        # Rows without an id still belong to METRICS(); '#' can never start an id, so their keys cannot clash.
        points = {row.id or f"#{index}": mathexpr.TimeSeries(series.timestamps, series.values, period)
                  for index, (row, series, period) in enumerate(zip(widget.metrics, data, periods))
                  if series is not None}
        window = mathexpr.Window.of(widget.start, widget.end, min(periods, default=mathexpr.DEFAULT_PERIOD))
        results = iter(math_program(widget.metrics).results(points, window=window, search=search))
    return [(RowData(series, period),) if series is not None else _drawn(next(results))
            for series, period in zip(data, periods)]


def _drawn(result: mathexpr.Result) -> tuple[RowData, ...]:
    if isinstance(result, mathexpr.Band):
        return (RowData(_unitless(result.upper), mathexpr.step(result.upper, 0), lower=_unitless(result.lower)),)
    if isinstance(result, mathexpr.TimeSeries):
        return (RowData(_unitless(result), mathexpr.step(result, 0)),)
    return tuple(RowData(_unitless(element), mathexpr.step(element, 0), label=element.label) for element in result)


def _unitless(result: mathexpr.TimeSeries) -> synthetic.Series:
    return synthetic.Series(result.timestamps, result.values, None)


def _plots(widget: Widget, fetched: Sequence[synthetic.Series | None] | None = None,
           search: mathexpr.Search = mathexpr.no_search) -> list[_Plot]:
    shown = [(row, element) for row, elements in zip(widget.metrics, row_series(widget, fetched, search=search))
             if row.visible for element in elements]
    plots = [_Plot(row, element.series, element.period, _colour(row, element, index),
                   element.label or _label(row, element.series, widget), _incomplete(row, element, widget),
                   element.lower)
             for index, (row, element) in enumerate(shown)]
    return _disambiguate(plots)


def _colour(row: MetricRow, element: RowData, index: int) -> str:
    # A row's colour is for its one series; the series of an array take the palette in turn.
    if row.color and element.label is None:
        return row.color
    return PALETTE[index % len(PALETTE)]


def _incomplete(row: MetricRow, element: RowData, widget: Widget) -> bool:
    """Whether a metric row has fewer points than its period fits in the window (CloudWatch's orange warning).

    An expression row is exempt: its gaps are the arithmetic's (a division by zero), not missing data.
    """
    if row.expression is not None:
        return False
    return len(element.series.timestamps) < len(synthetic.grid(element.period, widget.start, widget.end))


def _disambiguate(plots: list[_Plot]) -> list[_Plot]:
    """Rows that would show the same label also show what tells them apart: the values of the dimensions
    that differ among them, the statistic and the period (``i-2 CPUUtilization p99 60s``)."""
    groups: dict[str, list[MetricRow]] = {}
    for plot in plots:
        if plot.row.label is None:
            groups.setdefault(plot.row.default_label, []).append(plot.row)
    result = []
    for plot in plots:
        rows = groups.get(plot.label, []) if plot.row.label is None else []
        if len(rows) > 1:
            shared = set.intersection(*(set(row.dimensions) for row in rows))
            parts = [value for name, value in plot.row.dimensions if (name, value) not in shared]
            parts.append(plot.label)
            if len({row.stat for row in rows}) > 1:
                parts.append(plot.row.stat)
            if len({row.period for row in rows}) > 1:
                parts.append(f"{plot.row.period}s")
            plot = replace(plot, label=" ".join(parts))
        result.append(plot)
    return result


def _label(row: MetricRow, data: synthetic.Series, widget: Widget) -> str:
    """The row's label with CloudWatch's dynamic labels filled in.

    Values over the window (``${AVG}``, ``${MAX}``, ``${MIN}``, ``${SUM}``, ``${FIRST}``, ``${LAST}``,
    ``${MIN_MAX_RANGE}``, ``${FIRST_LAST_RANGE}``, ``${DATAPOINT_COUNT}``), when they happened in the widget's
    time zone (``${MAX_TIME}``, ``${FIRST_TIME}``, …, and the spans ``${MIN_MAX_TIME_RANGE}``,
    ``${FIRST_LAST_TIME_RANGE}``), the row's properties (``${PROP('Dim.InstanceId')}``,
    ``${PROP('MetricName')}``, ``Namespace``, ``Stat``, ``Period``, and ``Region``/``AccountId`` where the
    widget gives them) and its default label (``${LABEL}``). A value of a series without points is "--";
    anything else stays as written.
    """
    if row.label is None:
        return row.default_label
    properties = {"MetricName": row.name, "Namespace": row.namespace, "Stat": row.stat, "Period": str(row.period),
                  **{f"Dim.{name}": value for name, value in row.dimensions}}
    for name, value in (("Region", row.region or widget.region), ("AccountId", row.account_id or widget.account_id)):
        if value:
            properties[name] = value
    found = _window_values(data, widget.utc_offset) if "${" in row.label else {}

    def expand(match: re.Match[str]) -> str:
        name, argument = match.groups()
        if name == "PROP":
            return properties.get(argument, match.group(0))
        if name == "LABEL":
            return row.default_label
        if name == "DATAPOINT_COUNT":
            return str(len(data.values))
        if name in _WINDOW_VALUES:
            return found.get(name, "--")
        return match.group(0)

    return _LABEL_PLACEHOLDER.sub(expand, row.label)


# The dynamic labels that describe the points in the window, and the pairs of points the ranges span.
_EXTREMES = ("FIRST", "LAST", "MIN", "MAX")
_SPANS = {"MIN_MAX": ("MIN", "MAX"), "FIRST_LAST": ("FIRST", "LAST")}
_WINDOW_VALUES = frozenset({"AVG", "SUM", *_EXTREMES, *(f"{name}_TIME" for name in _EXTREMES),
                            *(f"{name}_RANGE" for name in _SPANS), *(f"{name}_TIME_RANGE" for name in _SPANS)})


def _window_values(data: synthetic.Series, offset: timedelta) -> dict[str, str]:
    """Each of ``_WINDOW_VALUES`` for ``data``, as the legend writes it; nothing for a series without points."""
    values, times = data.values, data.timestamps
    if not len(values):
        return {}
    at = dict(zip(_EXTREMES, (0, len(values) - 1, int(values.argmin()), int(values.argmax()))))
    found = {"AVG": _compact(float(values.mean())), "SUM": _compact(float(values.sum()))}
    for name, index in at.items():
        found[name] = _compact(float(values[index]))
        found[f"{name}_TIME"] = f"{datetime.fromtimestamp(int(times[index]), UTC) + offset:%Y-%m-%d %H:%M}"
    for name, (first, last) in _SPANS.items():
        found[f"{name}_RANGE"] = _compact(float(values[at[last]] - values[at[first]]))
        found[f"{name}_TIME_RANGE"] = _duration(abs(int(times[at[last]] - times[at[first]])))
    return found


def _duration(seconds: int) -> str:
    """3h 5m, 2d 4h, 45s: the two largest units of a span."""
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    shown = [f"{amount}{unit}" for amount, unit in parts if amount]
    return " ".join(shown[:2]) or "0s"


def _summary(plot: _Plot, widget: Widget) -> float | None:
    """One number for the bar, pie, single-value and gauge views: the latest point, or the whole range's."""
    values = plot.data.values
    if not len(values):
        return None
    if not widget.period_to_time_range:
        return float(values[-1])
    kind = plot.row.statistic.kind
    if kind in ("Sum", "SampleCount"):
        return float(values.sum())
    if kind == "Maximum":
        return float(values.max())
    if kind == "Minimum":
        return float(values.min())
    return float(values.mean())


def _compact(value: float) -> str:
    """Three significant digits with an SI suffix, the way CloudWatch writes axis and single values:
    1234 → 1.23k, 2500000 → 2.5M, 0.00012 → 0.00012."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    rounded = float(f"{value:.3g}")  # round first, so 999999 becomes 1M rather than 1e+03k
    magnitude = abs(rounded)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale:
            return f"{rounded / scale:.3g}{suffix}"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{rounded:.0f}"


def _full(value: float) -> str:
    """Every digit worth showing (``singleValueFullPrecision``): 1,280.46 rather than 1.28k."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1e5 or magnitude == 0 else max(0, 5 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if decimals else text


def _with_unit(value: float | None, unit: str | None, *, full: bool = False) -> str:
    return "—" if value is None else (_full if full else _compact)(value) + _UNIT_SUFFIX.get(unit or "", "")


# ---- time series and bar charts ---------------------------------------------------------------------------

# A row as drawn: its plot, x, the line's y and, for an area or a band, the y it is shaded down to. A NaN in
# the y arrays is a break: the line and the shading stop at the point before and start again after it.
_Line = tuple[_Plot, npt.NDArray[np.float64], npt.NDArray[np.float64], "npt.NDArray[np.float64] | None"]


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


def _gapped(plot: _Plot) -> _Line:
    """The row's points (and an anomaly band's lower edge) with a break wherever the next point is more than
    a period away: CloudWatch draws no line across missing data."""
    t = plot.data.timestamps
    x, y, base = t.astype(np.float64), plot.data.values, _lower_edge(plot)
    gaps = np.flatnonzero(np.diff(t) > plot.period)
    if gaps.size:
        after = gaps + 1
        x = np.insert(x, after, (x[gaps] + x[after]) / 2)
        y = np.insert(y, after, np.nan)
        base = None if base is None else np.insert(base, after, np.nan)
    return plot, x, y, base


def _lower_edge(plot: _Plot) -> npt.NDArray[np.float64] | None:
    """An anomaly band's lower edge on its upper edge's timestamps."""
    if plot.lower is None or not len(plot.data.timestamps) or not len(plot.lower.timestamps):
        return None
    return np.interp(plot.data.timestamps, plot.lower.timestamps, plot.lower.values)


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


def _cartesian(page: _Page, plots: list[_Plot], labels: list[str], lines: list[_Line], x_range: tuple[float, float],
               *, time_axis: bool) -> tuple[_Plane, _Plane | None] | None:
    """Title, legend, y axes with nice ticks and units, x axis, horizontal annotations.

    An axis is drawn when a row or an annotation uses it, the left one also when nothing does; the grid
    follows the first axis drawn. Returns that axis's plane and, when drawn, the right one; None when the
    image is too small for even a bare chart.
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


# ---- pie, single value, gauge ---------------------------------------------------------------------------


def _draw_pie(page: _Page, plots: list[_Plot]) -> None:
    summaries = [_summary(plot, page.widget) for plot in plots]
    top = page.title()
    labels = [f"{plot.label}  {_compact(value)}" if value is not None else plot.label
              for plot, value in zip(plots, summaries)]
    legend_bottom, legend_right = page.legend(plots, labels, page.height - top)
    area = _Box(PAD, legend_bottom + PAD, page.width - legend_right - 2 * PAD, page.height - top - legend_bottom - PAD)
    # Labels on the chart (``labels.visible``) sit outside the rim and need room on both sides.
    labelled = page.widget.pie_labels and area.width >= 160 and area.height >= 80
    radius = min(area.width * (0.25 if labelled else 0.5), area.height / 2 - (14 if labelled else 0))
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
        cos, sin = math.cos(middle), math.sin(middle)
        if labelled and sweep >= 20 and radius >= 40:
            page.text(centre[0] + 0.65 * radius * cos, centre[1] + 0.65 * radius * sin,
                      f"{100 * value / total:.0f}%", color="#ffffff", ha="center", va="center")
        if labelled and sweep >= 6:
            room = area.width / 2 - 1.1 * radius - 4
            page.text(centre[0] + 1.08 * radius * cos, centre[1] + 1.08 * radius * sin, page.fit(plot.label, room),
                      color=page.theme.muted, ha="left" if cos >= 0 else "right", va="center")
        angle -= sweep


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


# ---- table ---------------------------------------------------------------------------------------------------

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
        page.entry(x + 4, y + 3, head, page.fit(head.label, room))


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


_VIEWS: dict[str, Callable[[_Page, list[_Plot]], None]] = {
    "timeSeries": _draw_time_series,
    "bar": _draw_bar,
    "pie": _draw_pie,
    "singleValue": _draw_single_value,
    "gauge": _draw_gauge,
    "table": _draw_table,
}
