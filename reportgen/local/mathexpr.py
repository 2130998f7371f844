"""Metric math evaluated: the expression rows of a widget (``{"expression": "100 * errors / requests", "id": "rate"}``)
on the data of the rows they name.

The syntax, the check of names and calls, and the order of evaluation come from ``reportgen.expression``,
which the spec validator shares; this module gives the functions their meaning. Values follow CloudWatch's
"Metric math syntax and functions":

- A number meets a series at every point. Two series meet on every timestamp either has, a missing value
  counting as 0 (for arithmetic, comparisons and AND/OR alike). A series or number meets an array of
  series one series at a time, and the array keeps its shape; two arrays cannot meet.
- A point that comes out undefined or infinite (x / 0, LOG(0), overflow) is dropped on the spot, as
  CloudWatch drops it: the series has a gap there, and a later ``+ m2`` sees a missing value, not NaN.
- The final value of an expression is a time series or an array of them (``METRICS()``, ``SEARCH(…)``, or
  a ``Band`` from ANOMALY_DETECTION_BAND); a number alone is an error.

Functions come from a table, name → callable, so CloudWatch's function list grows without touching the
parser. A call is checked against the callable's signature, and then the whole program is evaluated once
on empty data: a function handed the wrong kind of argument (``ABS('x')``, ``FILL(m1, FOO)``, ``AVG(5)``)
is refused when the widget is validated, not when it is drawn. A callable gets the evaluated arguments
(numbers, strings, keywords such as ``REPEAT``, ``TimeSeries``, tuples of them); one that declares a
keyword-only ``context`` parameter also gets the ``Context`` of the evaluation: the query's ``Window``, the
metric rows (for ``METRICS()``) and the ``Search`` catalog (for ``SEARCH``).

Time: a series has a period (given with its data, or the greatest common step of its timestamps), and a
query may give a ``Window``, its time range and default period. FILL and the time functions (MINUTE, …,
EPOCH) cover the window's grid at the series' period (without a window, the points between the series'
first and last); TIME_SERIES and the functions that read other services (SERVICE_QUOTA aside) cover the
window's grid at its period; SEARCH asks the catalog at the period given, else the window's.

The functions that read other services (INSIGHT_RULE_METRIC, LAMBDA, DB_PERF_INSIGHTS, SERVICE_QUOTA)
answer with plausible data that depends only on their arguments and the timestamps, as the stand-in's
metrics do. What CloudWatch would refuse raises ``ExpressionError``, with a message naming the expression
and the culprit (for a function, its name).
"""

from __future__ import annotations

import hashlib
import inspect
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from reportgen import expression
from reportgen.expression import ArrayOf, Call, Chain, Negate, Node, Number, Ref, Text
from reportgen.expression import ExpressionError as ExpressionError  # re-exported: the stand-in imports it here
from reportgen.expression import Keyword as Keyword

# CloudWatch's default period for a graph: SEARCH's period and a series' step when nothing else says.
from reportgen.model import DEFAULT_PERIOD as DEFAULT_PERIOD


class _ArgumentError(ExpressionError):
    """An argument that does not fit its function; the evaluator puts the function's name in front."""


class Points(Protocol):
    """What a referenced row provides: epoch-second timestamps and their values."""

    @property
    def timestamps(self) -> npt.NDArray[np.int64]: ...

    @property
    def values(self) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class TimeSeries:
    """An evaluated series: epoch-second timestamps, ascending, and a finite value at each.

    ``period`` is the step of the series' grid in seconds, when known. ``label`` says which series of an
    array this is: the metric id for an element of ``METRICS()``, the catalog's label for a ``SEARCH`` result.
    """

    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    period: int | None = None
    label: str | None = None


class Band(NamedTuple):
    """ANOMALY_DETECTION_BAND's result, drawn as a shaded band between ``lower`` and ``upper``.

    It is also an array of two series, upper first, as CloudWatch's is: ``FIRST`` gives the upper bound,
    ``LAST`` the lower, and functions that work on each series of an array keep it a band.
    """

    upper: TimeSeries
    lower: TimeSeries


@dataclass(frozen=True)
class Window:
    """The query's time range [start, end) in epoch seconds, and its period in seconds."""

    start: int
    end: int
    period: int = DEFAULT_PERIOD

    @classmethod
    def of(cls, start: datetime, end: datetime, period: int) -> Window:
        return cls(math.floor(start.timestamp()), math.ceil(end.timestamp()), period)

    def grid(self, period: int, phase: int = 0) -> npt.NDArray[np.int64]:
        """The timestamps in [start, end) that are ``phase`` past a multiple of ``period``."""
        return np.arange(self.start + (phase - self.start) % period, self.end, period, dtype=np.int64)


Array = tuple[TimeSeries, ...]  # an array of time series; a Band is one
Value = float | str | Keyword | TimeSeries | Array
Result = TimeSeries | Array
Function = Callable[..., Value]
# The catalog SEARCH('{Namespace,Dim} MetricName', 'Stat', period) asks: (expression, stat, period) → the
# matching metrics' series, each labelled for the legend. The caller binds the query's time range to it.
Search = Callable[[str, str, int], Sequence[TimeSeries]]


def no_search(expression: str, stat: str, period: int) -> Sequence[TimeSeries]:
    """The catalog of a caller that has none: SEARCH finds nothing, an empty array."""
    return ()


@dataclass(frozen=True)
class Context:
    """What a function may need besides its arguments."""

    window: Window | None
    metrics: Array  # every metric row given, in order, each labelled with its id
    ids: Collection[str]  # the ids METRICS('text') looks through
    search: Search

    @property
    def period(self) -> int:
        return self.window.period if self.window is not None else DEFAULT_PERIOD


# ---- values ---------------------------------------------------------------------------------------------


def _series(timestamps: npt.NDArray[np.int64], values: npt.ArrayLike, period: int | None,
            label: str | None = None) -> TimeSeries:
    """A series of the finite points among ``values``: an undefined or infinite one is a gap."""
    values = np.asarray(values, dtype=np.float64)
    defined = np.isfinite(values)
    if defined.all():
        return TimeSeries(timestamps, values, period, label)
    return TimeSeries(timestamps[defined], values[defined], period, label)


def _nothing(period: int | None = None, label: str | None = None) -> TimeSeries:
    return TimeSeries(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), period, label)


def _kind(value: Value) -> str:
    """``value``'s kind, for messages."""
    match value:
        case float():
            return "a number"
        case str():
            return "a string"
        case Keyword(word=word):
            return f"the keyword {word}"
        case TimeSeries():
            return "a time series"
        case Band():
            return "an anomaly detection band"
    return "an array of time series"


def _each(array: Array, transform: Callable[[TimeSeries], TimeSeries]) -> Array:
    """``transform`` applied to each series of ``array``; a band stays a band."""
    if isinstance(array, Band):
        return Band(transform(array.upper), transform(array.lower))
    return tuple(transform(series) for series in array)


def _flatten(values: Sequence[Value]) -> Array:
    """The series of an array literal: ``[m1, METRICS('x')]`` holds m1 and each series METRICS gives."""
    items: list[TimeSeries] = []
    for value in values:
        if isinstance(value, TimeSeries):
            items.append(value)
        elif isinstance(value, tuple):
            items.extend(value)
        else:
            raise ExpressionError(f"an array holds time series, not {_kind(value)}")
    return tuple(items)


def _finer(*periods: int | None) -> int | None:
    known = [period for period in periods if period is not None]
    return min(known) if known else None


def step(series: TimeSeries, default: int) -> int:
    """The series' period, as metric math takes it: its own, else the greatest common step of its
    timestamps, else ``default``."""
    if series.period:
        return series.period
    if series.timestamps.size > 1:
        gcd = int(np.gcd.reduce(np.diff(series.timestamps)))
        if gcd > 0:
            return gcd
    return default


def _aligned(series: Sequence[TimeSeries], missing: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every timestamp of any of ``series``, and a (series × timestamps) matrix of their values there,
    ``missing`` where a series has no point."""
    if not series:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float64)
    timestamps = np.unique(np.concatenate([item.timestamps for item in series]))
    matrix = np.full((len(series), timestamps.size), missing, dtype=np.float64)
    for row, item in zip(matrix, series):
        row[np.searchsorted(timestamps, item.timestamps)] = item.values
    return timestamps, matrix


def _at(value: float | TimeSeries, timestamps: npt.NDArray[np.int64], missing: float) -> npt.NDArray[np.float64]:
    """``value`` at each of ``timestamps``: a number everywhere; a series where it has a point, else ``missing``."""
    if not isinstance(value, TimeSeries):
        return np.full(timestamps.size, value, dtype=np.float64)
    result = np.full(timestamps.size, missing, dtype=np.float64)
    if value.timestamps.size:
        index = np.minimum(np.searchsorted(value.timestamps, timestamps), value.timestamps.size - 1)
        found = value.timestamps[index] == timestamps
        result[found] = value.values[index[found]]
    return result


# ---- operators ------------------------------------------------------------------------------------------


def _both(test: Callable[..., Any]) -> Callable[..., Any]:
    """A logical operator: a value is true when it is not 0."""
    return lambda left, right: test(np.not_equal(left, 0), np.not_equal(right, 0))


_OPERATORS: dict[str, Callable[..., Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "^": np.power,
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "AND": _both(np.logical_and), "OR": _both(np.logical_or),
}


def _combine(operator: str, left: Value, right: Value) -> Value:
    """``left`` ⊕ ``right``: numbers, series and arrays as the module's docstring says."""
    if isinstance(left, tuple) and isinstance(right, tuple):
        raise ExpressionError(f"{operator!r} cannot combine two arrays of time series")
    if isinstance(left, tuple):
        other = _operand(right)
        return _each(left, lambda series: _pointwise(operator, series, other, swapped=False))
    if isinstance(right, tuple):
        other = _operand(left)
        return _each(right, lambda series: _pointwise(operator, series, other, swapped=True))
    first, second = _operand(left), _operand(right)
    if isinstance(first, TimeSeries):
        return _pointwise(operator, first, second, swapped=False)
    if isinstance(second, TimeSeries):
        return _pointwise(operator, second, first, swapped=True)
    with np.errstate(all="ignore"):
        return float(_OPERATORS[operator](first, second))


def _operand(value: Value) -> float | TimeSeries:
    if isinstance(value, float | TimeSeries):
        return value
    raise ExpressionError(f"{_kind(value)} cannot take part in arithmetic")


def _pointwise(operator: str, series: TimeSeries, other: float | TimeSeries, *, swapped: bool) -> TimeSeries:
    """``series`` ⊕ ``other`` (``other`` ⊕ ``series`` when ``swapped``), labelled as ``series``."""
    mine: npt.NDArray[np.float64]
    theirs: float | npt.NDArray[np.float64]
    if isinstance(other, TimeSeries):
        timestamps, (mine, theirs) = _aligned([series, other], 0.0)
        period = _finer(series.period, other.period)
    else:
        timestamps, mine, theirs, period = series.timestamps, series.values, other, series.period
    with np.errstate(all="ignore"):
        values = _OPERATORS[operator](*((theirs, mine) if swapped else (mine, theirs)))
    return _series(timestamps, values, period, series.label)


# ---- functions ------------------------------------------------------------------------------------------


def _series_argument(value: Value, *, what: str = "the argument") -> TimeSeries:
    if isinstance(value, TimeSeries):
        return value
    raise _ArgumentError(f"{what} must be a time series, not {_kind(value)}")


def _array_argument(value: Value) -> Array:
    if isinstance(value, tuple):
        return value
    raise _ArgumentError(f"the argument must be an array of time series such as METRICS(), not {_kind(value)}")


def _number_argument(value: Value, *, what: str) -> float:
    if isinstance(value, float):
        return value
    raise _ArgumentError(f"{what} must be a number, not {_kind(value)}")


def _series_or_array(value: Value) -> TimeSeries | Array:
    if isinstance(value, TimeSeries | tuple):
        return value
    raise _ArgumentError(f"the argument must be a time series or an array of time series, not {_kind(value)}")


def _per_series(transform: Callable[[TimeSeries], TimeSeries]) -> Function:
    """A function of a series, or of an array whose series it transforms one by one (TS → TS, TS[] → TS[])."""

    def function(values: Value) -> Value:
        values = _series_or_array(values)
        return transform(values) if isinstance(values, TimeSeries) else _each(values, transform)

    return function


def _pointwise_function(ufunc: Callable[..., Any]) -> Function:
    """ABS, LOG, …: ``ufunc`` of each value; a value it leaves undefined (LOG(0), SQRT(-1)) is a gap."""

    def transform(series: TimeSeries) -> TimeSeries:
        with np.errstate(all="ignore"):
            return _series(series.timestamps, ufunc(series.values), series.period, series.label)

    return _per_series(transform)


def _stepwise_function(change: Callable[[TimeSeries], npt.NDArray[np.float64]]) -> Function:
    """DIFF, DIFF_TIME, RATE: a value from each point and the one before it, so the first point has none."""

    def transform(series: TimeSeries) -> TimeSeries:
        if series.timestamps.size < 2:
            return _nothing(series.period, series.label)
        with np.errstate(all="ignore"):
            return _series(series.timestamps[1:], change(series), series.period, series.label)

    return _per_series(transform)


def _aggregate(reduce: Callable[..., Any], *, missing: float) -> Function:
    """SUM, AVG, …: of a series, a number from all its points (none from no points); of an array, a series
    from the values at each timestamp any of them has, ``missing`` standing in for a series without one."""

    def function(values: Value) -> Value:
        values = _series_or_array(values)
        if isinstance(values, TimeSeries):
            return float(reduce(values.values)) if values.values.size else math.nan
        timestamps, matrix = _aligned(values, missing)
        if not timestamps.size:
            return _nothing(_finer(*(series.period for series in values)))
        return _series(timestamps, reduce(matrix, axis=0), _finer(*(series.period for series in values)))

    return function


def _metrics(text: Value | None = None, *, context: Context) -> Value:
    """METRICS(): the metric rows, not the expressions, in row order; METRICS('s'): those whose id contains s."""
    if text is None:
        return context.metrics
    if not isinstance(text, str):
        raise _ArgumentError(f"the argument must be a string to look for in the metric ids, not {_kind(text)}")
    return tuple(series for series in context.metrics
                 if series.label is not None and series.label in context.ids and text in series.label)


def _search(expression: Value, stat: Value, period: Value | None = None, *, context: Context) -> Value:
    """SEARCH('{Namespace,Dim} MetricName', 'Stat'[, period]): the catalog's matching metrics, as an array."""
    if not isinstance(expression, str):
        raise _ArgumentError("the search expression must be a string like "
                             f"'{{AWS/EC2,InstanceId}} MetricName=\"CPUUtilization\"', not {_kind(expression)}")
    if not isinstance(stat, str) or not stat.strip():
        raise _ArgumentError(f"the statistic must be a string like 'Average', not {_kind(stat)}")
    seconds = context.period
    if period is not None:
        number = _number_argument(period, what="the period")
        if not (math.isfinite(number) and number.is_integer() and number >= 1):
            raise _ArgumentError(f"the period must be a whole number of seconds, at least 1, not {number:g}")
        seconds = int(number)
    return tuple(_series(np.asarray(found.timestamps, dtype=np.int64), found.values, found.period or seconds,
                         found.label)
                 for found in context.search(expression, stat, seconds))


def _fill(values: Value, filler: Value, *, context: Context) -> Value:
    """FILL(series or array, number | series | REPEAT | LINEAR): the missing points of the grid filled.

    The grid is each series' period over the query's window (without a window, over the series' own
    span). A number fills every missing point, a series those where it has a value; REPEAT carries the
    last value before a gap forward, LINEAR draws a line across a gap between two values. What cannot be
    filled (before the first value for REPEAT, outside the first and last for LINEAR) stays missing.
    """
    if isinstance(filler, float | TimeSeries) or isinstance(filler, Keyword) and filler.word in ("REPEAT", "LINEAR"):
        return _per_series(lambda series: _filled(series, filler, context))(values)
    raise _ArgumentError(f"the fill value must be a number, a time series, REPEAT or LINEAR, not {_kind(filler)}")


def _grid(series: TimeSeries, context: Context) -> tuple[npt.NDArray[np.int64], int]:
    """The series' grid, on which it is not sparse: its period over the window, at its phase (without a
    window, from its first point to its last); and that period."""
    period = step(series, context.period)
    if context.window is not None:
        return context.window.grid(period, int(series.timestamps[0]) % period if series.timestamps.size else 0), period
    if series.timestamps.size:
        return np.arange(series.timestamps[0], series.timestamps[-1] + 1, period, dtype=np.int64), period
    return series.timestamps, period


def _filled(series: TimeSeries, filler: float | Keyword | TimeSeries, context: Context) -> TimeSeries:
    grid, period = _grid(series, context)
    timestamps = np.union1d(grid, series.timestamps)
    values = _at(series, timestamps, math.nan)
    missing = np.isnan(values)
    if isinstance(filler, Keyword) and filler.word == "REPEAT":
        # For each point, the index of the last point with a value at or before it (-1: none yet).
        last = np.maximum.accumulate(np.where(missing, -1, np.arange(values.size)))
        values = np.where(last >= 0, values[np.maximum(last, 0)], math.nan)
    elif isinstance(filler, Keyword):
        if series.timestamps.size:
            values[missing] = np.interp(timestamps[missing], series.timestamps, series.values,
                                        left=math.nan, right=math.nan)
    else:
        values[missing] = _at(filler, timestamps[missing], math.nan)
    return _series(timestamps, values, period, series.label)


def _if(condition: Value, when_true: Value, when_false: Value | None = None) -> Value:
    """IF(condition, a[, b]), as CloudWatch's "Using IF expressions" describes.

    A number as condition picks ``a`` or ``b`` whole (an empty series when ``b`` is left out). A series as
    condition gives a series on its timestamps: where it is true (not 0), ``a``'s value, or 0 where the
    series ``a`` has none; where it is false, ``b``'s value, or no point where ``b`` has none or is left out.
    """
    test, then = _number_or_series(condition), _number_or_series(when_true)
    otherwise = None if when_false is None else _number_or_series(when_false)
    if not isinstance(test, TimeSeries):
        chosen = then if test != 0 else otherwise
        return _nothing() if chosen is None else chosen
    true = test.values != 0
    values = np.full(test.timestamps.size, math.nan)
    values[true] = _at(then, test.timestamps[true], 0.0)
    if otherwise is not None:
        values[~true] = _at(otherwise, test.timestamps[~true], math.nan)
    return _series(test.timestamps, values, test.period, test.label)


def _number_or_series(value: Value) -> float | TimeSeries:
    if isinstance(value, float | TimeSeries):
        return value
    raise _ArgumentError(f"the condition and the values must be numbers or time series, not {_kind(value)}")


def _period_of(series: Value, *, context: Context) -> Value:
    """PERIOD(series): its period in seconds."""
    return float(step(_series_argument(series), context.period))


def _time_series(value: Value, *, context: Context) -> Value:
    """TIME_SERIES(number): that number at every point of the window's grid at its period."""
    number = _number_argument(value, what="the argument")
    if context.window is None:
        return _nothing(context.period)
    grid = context.window.grid(context.window.period)
    return _series(grid, np.full(grid.size, number), context.window.period)


# The band of each point comes from up to this many points before it.
BAND_HISTORY = 20


def _anomaly_detection_band(values: Value, stddevs: Value = 2.0) -> Value:
    """ANOMALY_DETECTION_BAND(series[, k]): the range the series is expected in, as a ``Band``.

    CloudWatch trains a seasonal model on up to two weeks of history. This stand-in's model is simpler and
    deterministic: at each point, the mean of up to ``BAND_HISTORY`` points before it, ± k (default 2)
    times their standard deviation. A point is judged by what came before it, so a spike stands out of
    its band; the first two points, with less than two before them, have no band.
    """
    series = _series_argument(values, what="the first argument")
    k = _number_argument(stddevs, what="the number of standard deviations")
    if not k > 0:
        raise _ArgumentError(f"the number of standard deviations must be more than 0, not {k:g}")
    # Row i of `history` holds the BAND_HISTORY values before point i, NaN before the series starts.
    padded = np.concatenate([np.full(BAND_HISTORY, math.nan), series.values])
    history = sliding_window_view(padded, BAND_HISTORY)[:series.values.size]
    enough = np.count_nonzero(~np.isnan(history), axis=1) >= 2
    mean = np.nanmean(history[enough], axis=1)
    spread = k * np.nanstd(history[enough], axis=1)
    timestamps = series.timestamps[enough]
    return Band(_series(timestamps, mean + spread, series.period, series.label),
                _series(timestamps, mean - spread, series.period, series.label))


def _end(index: int) -> Function:
    """FIRST and LAST: one series of an array (an empty one from an empty array)."""

    def function(values: Value) -> Value:
        array = _array_argument(values)
        return array[index] if array else _nothing()

    return function


def _datapoint_count(values: Value) -> Value:
    """DATAPOINT_COUNT: of a series, its number of points; of an array, how many series have each timestamp."""
    values = _series_or_array(values)
    if isinstance(values, TimeSeries):
        return float(values.values.size)
    timestamps, matrix = _aligned([TimeSeries(series.timestamps, np.ones(series.values.size)) for series in values], 0)
    return _series(timestamps, matrix.sum(axis=0), _finer(*(series.period for series in values)))


def _metric_count(values: Value) -> Value:
    return float(len(_array_argument(values)))


def _remove_empty(values: Value) -> Value:
    return tuple(series for series in _array_argument(values) if series.values.size)


_DAY = 86_400


def _calendar(part: Callable[[npt.NDArray[np.int64]], npt.ArrayLike]) -> Function:
    """MINUTE, HOUR, DAY, DATE, MONTH, YEAR, EPOCH: a series on the grid of its argument (see ``_grid``),
    not sparse where the argument is, each value a part of its timestamp in UTC."""

    def function(values: Value, *, context: Context) -> Value:
        def transform(series: TimeSeries) -> TimeSeries:
            grid, period = _grid(series, context)
            return _series(grid, part(grid), period, series.label)

        return _per_series(transform)(values)

    return function


def _days(t: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    return t.astype("datetime64[s]").astype("datetime64[D]")


_CALENDAR: Mapping[str, Callable[[npt.NDArray[np.int64]], npt.ArrayLike]] = {
    "MINUTE": lambda t: t // 60 % 60,
    "HOUR": lambda t: t // 3600 % 24,
    "DAY": lambda t: (t // _DAY + 3) % 7 + 1,  # Monday is 1, Sunday 7: 1 January 1970 was a Thursday (4)
    "DATE": lambda t: (_days(t) - _days(t).astype("datetime64[M]")).astype(np.int64) + 1,
    "MONTH": lambda t: _days(t).astype("datetime64[M]").astype(np.int64) % 12 + 1,
    "YEAR": lambda t: _days(t).astype("datetime64[Y]").astype(np.int64) + 1970,
    "EPOCH": lambda t: t,
}

# SORT's ordering statistic of each series, as AVG, MIN, … give it of a series.
_SORT_KEYS: Mapping[str, Callable[..., Any]] = {
    "AVG": np.mean, "MIN": np.min, "MAX": np.max, "SUM": np.sum, "STDDEV": np.std,
}


def _sort(values: Value, function: Value, order: Value, limit: Value | None = None) -> Value:
    """SORT(array, AVG|MIN|MAX|SUM|STDDEV, ASC|DESC[, limit]): the array's series ordered by that statistic
    of each, lowest first for ASC; ties keep their order, series without points come last; at most
    ``limit`` of them."""
    array = _array_argument(values)
    key = _keyword_argument(function, expression.SORT_FUNCTIONS, what="the sort function")
    descending = _keyword_argument(order, expression.SORT_ORDERS, what="the sort order") == "DESC"
    count = len(array) if limit is None else _index_argument(limit, what="the limit")
    statistics = [float(_SORT_KEYS[key](series.values)) if series.values.size else math.nan for series in array]
    ranked = sorted(range(len(array)), key=lambda index: (
        math.isnan(statistics[index]), -statistics[index] if descending else statistics[index]))
    return tuple(array[index] for index in ranked[:count])


def _slice(values: Value, start: Value, end: Value | None = None) -> Value:
    """SLICE(array, start[, end]): the series from ``start`` (counting from 0) up to, not including, ``end``."""
    array = _array_argument(values)
    first = _index_argument(start, what="the start")
    return tuple(array[first:] if end is None else array[first:_index_argument(end, what="the end")])


def _index_argument(value: Value, *, what: str) -> int:
    number = _number_argument(value, what=what)
    if not (math.isfinite(number) and number.is_integer() and number >= 0):
        raise _ArgumentError(f"{what} must be a whole number, at least 0, not {number:g}")
    return int(number)


def _keyword_argument(value: Value, words: Sequence[str], *, what: str) -> str:
    if isinstance(value, Keyword) and value.word in words:
        return value.word
    raise _ArgumentError(f"{what} must be one of {', '.join(words)}, not {_kind(value)}")


def _concat(values: Value, *more: Value) -> Value:
    """CONCAT(series or arrays, …): one series of every point of every series given; where two have a point
    at the same time, the later one's value."""
    items = _flatten([_series_or_array(value) for value in (values, *more)])
    if not items:
        return _nothing()
    timestamps = np.concatenate([series.timestamps for series in items])
    points = np.concatenate([series.values for series in items])
    # np.unique keeps the first of equal timestamps: look from the end so that the later series wins.
    unique, last = np.unique(timestamps[::-1], return_index=True)
    return _series(unique, points[::-1][last], _finer(*(series.period for series in items)), items[0].label)


# ---- other services: plausible data, a pure function of the arguments and the time ---------------------


def _plausible(key: str, low: float, high: float, context: Context, *, whole: bool = False) -> TimeSeries:
    """A series over the window's grid at its period (empty without a window) of values about a level
    between ``low`` and ``high`` that ``key`` picks, with a daily rhythm of ±25 % whose phase ``key`` picks."""
    if context.window is None:
        return _nothing(context.period, key)
    digest = hashlib.sha256(key.encode()).digest()
    level = low + (high - low) * digest[0] / 255
    phase = int.from_bytes(digest[1:4], "big") % _DAY
    grid = context.window.grid(context.window.period)
    values = level * (1 + 0.25 * np.sin(2 * np.pi * (grid + phase) / _DAY))
    return _series(grid, np.round(values) if whole else values, context.window.period, key)


def _text_argument(value: Value, *, what: str) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _ArgumentError(f"{what} must be a string that is not empty, not {_kind(value)}")


# Contributor Insights' rule metrics, and whether each counts whole things.
INSIGHT_METRICS = {"UniqueContributors": True, "MaxContributorValue": False, "SampleCount": True, "Sum": False,
                   "Minimum": False, "Maximum": False, "Average": False}


def _insight_rule_metric(rule: Value, metric: Value, *, context: Context) -> Value:
    """INSIGHT_RULE_METRIC('rule', 'metric'): a statistic of a Contributor Insights rule (whole numbers for
    UniqueContributors and SampleCount)."""
    name, statistic = _text_argument(rule, what="the rule name"), _text_argument(metric, what="the metric")
    if statistic not in INSIGHT_METRICS:
        raise _ArgumentError(f"the metric must be one of {', '.join(INSIGHT_METRICS)}, not {statistic!r}")
    return _plausible(f"{name} {statistic}", 1, 200, context, whole=INSIGHT_METRICS[statistic])


def _lambda(function: Value, *arguments: Value, context: Context) -> Value:
    """LAMBDA('function'[, argument]*): what a custom data source's Lambda function answers, an array (here
    of one series, labelled with the function's name). At most 20 arguments: strings, numbers, true, false."""
    name = _text_argument(function, what="the function name")
    if len(arguments) > MAX_LAMBDA_ARGUMENTS:
        raise _ArgumentError(f"takes at most {MAX_LAMBDA_ARGUMENTS} arguments after the function name, "
                             f"not {len(arguments)}")
    words = [name]
    for argument in arguments:
        match argument:
            case str():
                words.append(argument)
            case float():
                words.append(f"{argument:g}")
            case Keyword(word="true" | "false"):
                words.append(argument.word)
            case _:
                raise _ArgumentError(f"an argument must be a string, a number, true or false, not {_kind(argument)}")
    return (_plausible(" ".join(words), 1, 1000, context),)


MAX_LAMBDA_ARGUMENTS = 20
PERF_INSIGHTS_SERVICES = ("RDS", "DOCDB")


def _db_perf_insights(service: Value, resource: Value, metric: Value, *, context: Context) -> Value:
    """DB_PERF_INSIGHTS('RDS' | 'DOCDB', 'db-…', 'metric'): a Performance Insights metric of a database;
    db.load is a few active sessions."""
    kind = _text_argument(service, what="the service").upper()
    if kind not in PERF_INSIGHTS_SERVICES:
        raise _ArgumentError(f"the service must be RDS or DOCDB, not {service!r}")
    database = _text_argument(resource, what="the resource id")
    name = _text_argument(metric, what="the metric")
    high = 4.0 if name.startswith("db.load") else 100.0
    return _plausible(f"{kind} {database} {name}", high / 10, high, context)


def _service_quota(usage: Value) -> Value:
    """SERVICE_QUOTA(usage metric): the quota for that usage, constant on the usage's timestamps: the first
    of 1, 2, 5, 10, 20, 50, … that is at least twice the usage's highest value."""
    series = _series_argument(usage)
    if not series.values.size:
        return _nothing(series.period, series.label)
    target = max(2 * float(series.values.max()), 1.0)
    magnitude = 10 ** math.floor(math.log10(target))
    quota = next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= target)
    return _series(series.timestamps, np.full(series.values.size, float(quota)), series.period, series.label)


# CloudWatch's metric math functions, by the name an expression calls them with; the names and parameters
# are those of ``reportgen.expression.FUNCTIONS``.
FUNCTIONS: Mapping[str, Function] = {
    "ABS": _pointwise_function(np.abs),
    "ANOMALY_DETECTION_BAND": _anomaly_detection_band,
    "AVG": _aggregate(np.mean, missing=0.0),  # CloudWatch counts a missing value as 0 here
    "CEIL": _pointwise_function(np.ceil),
    "DATAPOINT_COUNT": _datapoint_count,
    "DIFF": _stepwise_function(lambda series: np.diff(series.values)),
    "DIFF_TIME": _stepwise_function(lambda series: np.diff(series.timestamps).astype(np.float64)),
    "FILL": _fill,
    "FIRST": _end(0),
    "FLOOR": _pointwise_function(np.floor),
    "IF": _if,
    "LAST": _end(-1),
    "LOG": _pointwise_function(np.log),
    "LOG10": _pointwise_function(np.log10),
    "MAX": _aggregate(np.nanmax, missing=math.nan),
    "METRIC_COUNT": _metric_count,
    "METRICS": _metrics,
    "MIN": _aggregate(np.nanmin, missing=math.nan),
    "PERIOD": _period_of,
    "RATE": _stepwise_function(lambda series: np.diff(series.values) / np.diff(series.timestamps)),
    "REMOVE_EMPTY": _remove_empty,
    "RUNNING_SUM": _per_series(lambda series: _series(series.timestamps, np.cumsum(series.values), series.period,
                                                      series.label)),
    "SEARCH": _search,
    "SQRT": _pointwise_function(np.sqrt),
    "STDDEV": _aggregate(np.nanstd, missing=math.nan),  # the population's: the points are all there is
    "SUM": _aggregate(np.sum, missing=0.0),
    "TIME_SERIES": _time_series,
    "SORT": _sort,
    "SLICE": _slice,
    "CONCAT": _concat,
    "INSIGHT_RULE_METRIC": _insight_rule_metric,
    "LAMBDA": _lambda,
    "DB_PERF_INSIGHTS": _db_perf_insights,
    "SERVICE_QUOTA": _service_quota,
    **{name: _calendar(part) for name, part in _CALENDAR.items()},
}


# ---- checking and evaluating ----------------------------------------------------------------------------


class Program:
    """A widget's expressions, checked against the ids they may name, ready to evaluate.

    ``expressions`` are (name, text) pairs: the name is the row's id, or any other label for a row
    without one (such a row cannot be referred to). ``metric_ids`` are the ids of the rows that carry
    data. Construction raises ``ExpressionError`` for bad syntax, an unknown id or function, a call that
    does not fit its function, an expression that names no data or does not give a time series, and a cycle.
    """

    def __init__(self, expressions: Sequence[tuple[str, str]], metric_ids: Collection[str], *,
                 functions: Mapping[str, Function] = FUNCTIONS) -> None:
        self._functions = functions
        self._metric_ids = metric_ids
        self._names = [name for name, _ in expressions]
        self._trees = expression.check_all(dict(expressions), metric_ids, functions={
            name: _declared(function)[0] for name, function in functions.items()})
        # Types do not depend on the data: a run on empty series finds every argument of the wrong kind.
        self.results({metric_id: _nothing() for metric_id in metric_ids})

    def results(self, metrics: Mapping[str, Points], *, window: Window | None = None,
                search: Search = no_search) -> list[Result]:
        """One result per expression, in the order given: a ``TimeSeries``, or a tuple of them (an array,
        or a ``Band``).

        ``metrics`` has the data of each metric id, in row order (the order of ``METRICS()``). It may also
        hold rows that have no id, under any key that is not one: ``METRICS()`` includes them,
        ``METRICS('text')`` does not. A ``TimeSeries`` given there brings its period; for other data the
        period is the greatest common step of its timestamps. ``window`` is the query's time range and
        period; ``search`` answers ``SEARCH``.
        """
        given = {key: _series(np.asarray(points.timestamps, dtype=np.int64), points.values,
                              points.period if isinstance(points, TimeSeries) else None, key)
                 for key, points in metrics.items() if key not in self._trees}
        scope = _Scope(self._functions, Context(window, tuple(given.values()), self._metric_ids, search), given)
        done: dict[str, Result] = {}
        for name in self._trees:
            try:
                value = scope.evaluate(self._trees[name])
            except ExpressionError as exc:
                raise ExpressionError(f"{exc}, in expression of {name}") from None
            if not isinstance(value, TimeSeries | tuple):
                raise ExpressionError(f"the expression of {name} gives {_kind(value)}, not a time series "
                                      "or an array of time series")
            scope.values[name] = done[name] = value
        return [done[name] for name in self._names]

    def evaluate(self, metrics: Mapping[str, Points], *, window: Window | None = None,
                 search: Search = no_search) -> list[TimeSeries]:
        """One series per expression, in the order given, for programs whose expressions each give one;
        see ``results`` for the arguments. An expression that gives an array raises ``ExpressionError``."""
        series: list[TimeSeries] = []
        for name, result in zip(self._names, self.results(metrics, window=window, search=search)):
            if not isinstance(result, TimeSeries):
                raise ExpressionError(f"the expression of {name} gives an array of {len(result)} time series, "
                                      "not one")
            series.append(result)
        return series


@cache
def _declared(function: Function) -> tuple[expression.Signature, bool]:
    """The function's parameters, as ``reportgen.expression`` checks a call against them (any kind of value
    for each: the run on empty data finds the wrong kinds), and whether it takes the evaluation's
    ``Context`` as ``context=``."""
    parameters: list[expression.Parameter] = []
    contextual = False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            contextual = contextual or parameter.name == "context"
            continue
        parameters.append(expression.Parameter(
            parameter.name, expression.ANYTHING, optional=parameter.default is not inspect.Parameter.empty,
            repeated=parameter.kind is inspect.Parameter.VAR_POSITIONAL))
    return expression.Signature(tuple(parameters)), contextual


class _Scope:
    """One evaluation: the functions, their context, and the values of the rows evaluated so far."""

    def __init__(self, functions: Mapping[str, Function], context: Context, metrics: Mapping[str, TimeSeries]) -> None:
        self.functions, self.context = functions, context
        self.values: dict[str, Value] = dict(metrics)

    def evaluate(self, node: Node) -> Value:
        match node:
            case Number(value=number):
                return number
            case Text(value=text):
                return text
            case Keyword():
                return node
            case Ref(id=ref):
                return self.values[ref]
            case Negate(operand=operand):
                return _combine("-", 0.0, self.evaluate(operand))
            case Chain(first=first, rest=rest):
                value = self.evaluate(first)
                for operator, operand in rest:
                    value = _combine(operator, value, self.evaluate(operand))
                return value
            case ArrayOf(items=items):
                return _flatten([self.evaluate(item) for item in items])
            case Call(name=name, arguments=arguments):
                function = self.functions[name]
                context = {"context": self.context} if _declared(function)[1] else {}
                try:
                    return function(*(self.evaluate(item) for item in arguments), **context)
                except _ArgumentError as exc:
                    raise ExpressionError(f"{name}: {exc}") from None
        raise AssertionError(f"not a syntax node: {node!r}")
