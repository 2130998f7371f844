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

    theme         palette, themes, sizes
    text          fonts, measuring text, how numbers are written
    page          the figure (``_Page``), plot areas on it (``_Plane``), the PNG
    plots         the data each row draws, and the visible rows as plots
    legend        the legend and its warning triangles
    axes          title, legend and axes of the time-series and bar views; annotations
    timeseries    ``timeSeries`` and ``bar``
    pie           ``pie``
    cells         the cell grid of ``singleValue`` and ``gauge``
    single_value  ``singleValue``
    gauge         ``gauge``
    table         ``table``
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import matplotlib

# Only this package draws, and only on Agg canvases; selecting Agg keeps any later pyplot import from
# probing for a GUI. Switching an already running pyplot would disturb its owner, so leave that alone.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

from reportgen.local import mathexpr, synthetic
from reportgen.local.render.axes import _time_ticks as _time_ticks
from reportgen.local.render.gauge import _draw_gauge
from reportgen.local.render.page import _Page
from reportgen.local.render.pie import _draw_pie
from reportgen.local.render.plots import RowData, _Plot, _plots, row_series
from reportgen.local.render.single_value import _draw_single_value
from reportgen.local.render.table import _draw_table
from reportgen.local.render.text import _compact as _compact
from reportgen.local.render.theme import PALETTE, THEMES, WARNING
from reportgen.local.render.timeseries import _draw_bar, _draw_time_series
from reportgen.local.widget import MetricRow, Widget

__all__ = ["PALETTE", "THEMES", "WARNING", "RowData", "render_png", "row_series", "warm_up"]

# matplotlib is not thread-safe and rc_context is process-wide: one render at a time per process.
_LOCK = threading.Lock()


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


_VIEWS: dict[str, Callable[[_Page, list[_Plot]], None]] = {
    "timeSeries": _draw_time_series,
    "bar": _draw_bar,
    "pie": _draw_pie,
    "singleValue": _draw_single_value,
    "gauge": _draw_gauge,
    "table": _draw_table,
}
