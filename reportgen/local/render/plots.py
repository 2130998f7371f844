"""The data each row draws (``row_series``) and the visible rows as plots: colour, label, missing data."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from reportgen.local import mathexpr, synthetic
from reportgen.local.render.text import _compact
from reportgen.local.render.theme import PALETTE
from reportgen.local.widget import MetricRow, Widget, math_program

_LABEL_PLACEHOLDER = re.compile(r"\$\{(\w+)(?:\('([^']*)'\))?\}")


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


# A row as drawn: its plot, x, the line's y and, for an area or a band, the y it is shaded down to. A NaN in
# the y arrays is a break: the line and the shading stop at the point before and start again after it.
_Line = tuple[_Plot, npt.NDArray[np.float64], npt.NDArray[np.float64], "npt.NDArray[np.float64] | None"]


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
