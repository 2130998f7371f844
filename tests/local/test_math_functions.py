"""CloudWatch's metric math functions on known series with gaps, checked against numpy and AWS's own examples."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import numpy as np
import numpy.typing as npt
import pytest

from reportgen.local import BackgroundStandIn
from reportgen.local.mathexpr import (
    BAND_HISTORY,
    Band,
    ExpressionError,
    Program,
    Result,
    Search,
    TimeSeries,
    Window,
    no_search,
)
from reportgen.local.render import row_series
from reportgen.local.widget import WidgetError, parse_widget


def series(timestamps: Sequence[int], values: Sequence[float] | npt.NDArray[np.float64],
           period: int | None = None) -> TimeSeries:
    return TimeSeries(np.array(timestamps, dtype=np.int64), np.array(values, dtype=np.float64), period)


NOW = datetime(2026, 11, 26, tzinfo=UTC)
LAMBDA = ["AWS/Lambda", "Invocations", "FunctionName", "checkout"]
# A widget of two metric rows; tests add expression rows to it.
WIDGET: dict[str, Any] = {
    "start": "-P7D", "period": 3600, "width": 300, "height": 200,
    "metrics": [[*LAMBDA, {"id": "requests", "stat": "Sum"}],
                [".", "Errors", ".", ".", {"id": "errors", "stat": "Sum"}]],
}

T = [0, 60, 120, 180]
DATA = {
    "a": series(T, [1, 2, 3, 4]),
    "c": series([0, 120, 240], [10, 20, 30]),  # every other minute: its period is 120
    # A minute metric with gaps: nothing at 0, 180, 240 or after 360.
    "g": series([60, 120, 300, 360], [3, 5, 11, 2], period=60),
}
WINDOW = Window(0, 480, 60)  # grid 0, 60, …, 420


def run(text: str, data: Mapping[str, TimeSeries] = DATA, *, window: Window | None = None,
        search: Search = no_search) -> Result:
    return Program([("e1", text)], data.keys()).results(data, window=window, search=search)[0]


def one(result: Result) -> TimeSeries:
    assert isinstance(result, TimeSeries)
    return result


def many(result: Result) -> tuple[TimeSeries, ...]:
    assert isinstance(result, tuple)
    return result


def points(result: Result) -> dict[int, float]:
    """A series as {timestamp: value}: a gap is a timestamp that is not there."""
    return dict(zip(one(result).timestamps.tolist(), one(result).values.tolist()))


def each(result: Result) -> list[dict[int, float]]:
    return [points(item) for item in many(result)]


def refused(text: str, data: Mapping[str, TimeSeries] = DATA) -> str:
    """The message of the error that refuses ``text`` when the program is built: before any data is seen."""
    with pytest.raises(ExpressionError) as caught:
        Program([("e1", text)], data.keys())
    return str(caught.value)


# ---- aggregates -----------------------------------------------------------------------------------------

NUMPY: dict[str, Callable[..., Any]] = {"SUM": np.sum, "AVG": np.mean, "MIN": np.min, "MAX": np.max, "STDDEV": np.std}


@pytest.mark.parametrize("function", NUMPY)
def test_an_aggregate_of_a_series_is_a_number(function: str) -> None:
    expected = float(NUMPY[function](DATA["g"].values))
    assert points(run(f"a * 0 + {function}(g)")) == pytest.approx(dict.fromkeys(T, expected))
    assert points(run(f"g - {function}(g)")) == pytest.approx(
        dict(zip([60, 120, 300, 360], DATA["g"].values - expected)))


@pytest.mark.parametrize(("function", "expected"), [
    # a = 1 2 3 4 · at 0 60 120 180; c = 10 · 20 · 30 at 0 120 240.
    ("SUM", [11, 2, 23, 4, 30]),
    ("AVG", [5.5, 1, 11.5, 2, 15]),      # CloudWatch: "Missing values are treated as 0"
    ("MIN", [1, 2, 3, 4, 30]),           # of the values there are
    ("MAX", [10, 2, 20, 4, 30]),
    ("STDDEV", [4.5, 0, 8.5, 0, 0]),
])
def test_an_aggregate_of_an_array_is_a_series_point_by_point(function: str, expected: list[float]) -> None:
    assert points(run(f"{function}([a, c])")) == pytest.approx(dict(zip([0, 60, 120, 180, 240], expected)))
    assert points(run(f"{function}(METRICS())")) == points(run(f"{function}([a, c, g])"))


def test_aggregates_of_an_array_agree_with_numpy() -> None:
    rng = np.random.default_rng(7)
    data = {f"m{n}": series(list(range(0, 600, 60)), rng.normal(50, 10, 10)) for n in range(5)}
    matrix = np.array([item.values for item in data.values()])
    for function, reduce in NUMPY.items():
        assert one(run(f"{function}(METRICS())", data)).values == pytest.approx(reduce(matrix, axis=0))


def test_aggregates_of_nothing_are_nothing() -> None:
    assert points(run("SUM(METRICS('zzz'))")) == {}
    assert points(run("a + AVG(IF(a > 100, a))")) == {}  # the average of no points is no number
    assert points(run("MAX(SEARCH('{AWS/EC2} CPUUtilization', 'Average'))")) == {}


# ---- METRICS, SEARCH and arrays -------------------------------------------------------------------------

ROWS = {
    "web4xx": series(T, [1, 2, 3, 4]),
    "api4xx": series(T, [10, 20, 30, 40]),
    "web5xx": series(T, [100, 200, 300, 400]),
}


def test_metrics_gives_the_metric_rows_in_row_order() -> None:
    program = Program([("e1", "METRICS()"), ("e2", "METRICS('4xx')"), ("e3", "METRICS(\"web\")"),
                       ("e4", "METRICS('zzz')"), ("e5", "SUM([METRICS('4xx'), METRICS('5xx')])")], ROWS.keys())
    everything, fours, webs, nothing, total = program.results(ROWS)
    assert isinstance(everything, tuple) and isinstance(fours, tuple) and isinstance(webs, tuple)
    assert [item.label for item in everything] == ["web4xx", "api4xx", "web5xx"]  # not the expressions
    assert [item.label for item in fours] == ["web4xx", "api4xx"]  # the ids that contain the text
    assert [item.label for item in webs] == ["web4xx", "web5xx"]
    assert nothing == ()
    assert points(total) == {0: 111, 60: 222, 120: 333, 180: 444}


def test_metrics_includes_rows_without_an_id_but_cannot_match_them() -> None:
    data = {**ROWS, "metrics[3]": series(T, [5, 5, 5, 5])}  # given, though no expression can name it
    program = Program([("e1", "SUM(METRICS())"), ("e2", "SUM(METRICS('m'))")], ROWS.keys())
    total, matched = program.results(data)
    assert points(total) == {0: 116, 60: 227, 120: 338, 180: 449} and points(matched) == {}


def test_arithmetic_on_metrics_keeps_an_array() -> None:
    assert each(run("METRICS('web') / 100", ROWS)) == [{0: 0.01, 60: 0.02, 120: 0.03, 180: 0.04},
                                                       {0: 1, 60: 2, 120: 3, 180: 4}]


class Catalog:
    """A SEARCH catalog that remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, expression: str, stat: str, period: int) -> Sequence[TimeSeries]:
        self.calls.append((expression, stat, period))
        return [TimeSeries(np.array([0, 300]), np.array([1.0, np.nan]), label="i-1 CPUUtilization"),
                TimeSeries(np.array([0, 300]), np.array([3.0, 5.0]), period=600, label="i-2 CPUUtilization")]


EC2 = "'{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"'"


def test_search_asks_the_catalog() -> None:
    catalog = Catalog()
    found = run(f"SEARCH({EC2}, 'Average', 300)", search=catalog)
    assert catalog.calls == [('{AWS/EC2,InstanceId} MetricName="CPUUtilization"', "Average", 300)]
    assert isinstance(found, tuple) and [item.label for item in found] == ["i-1 CPUUtilization", "i-2 CPUUtilization"]
    assert each(found) == [{0: 1}, {0: 3, 300: 5}]  # an undefined value is a gap
    assert [item.period for item in found] == [300, 600]  # the catalog's, else the one asked for
    assert points(run(f"SUM(SEARCH({EC2}, 'Maximum', 60))", search=catalog)) == {0: 4, 300: 5}
    assert catalog.calls[-1][1:] == ("Maximum", 60)


def test_search_without_a_period_uses_the_query_s() -> None:
    catalog = Catalog()
    run(f"SEARCH({EC2}, 'p99')", window=Window(0, 3600, 60), search=catalog)
    run(f"SEARCH({EC2}, 'p99')", search=catalog)
    assert [period for _, _, period in catalog.calls] == [60, 300]  # without a window, CloudWatch's default


def test_search_without_a_catalog_finds_nothing_and_validation_asks_none() -> None:
    assert run(f"SEARCH({EC2}, 'Average', 300)") == ()
    # Building the program checks the call's arguments, but has no catalog to ask: the widget is validated
    # without touching the store.
    Program([("e1", f"SEARCH({EC2}, 'Average', 300)")], ())


def test_first_last_count_and_remove_empty() -> None:
    assert points(run("FIRST(METRICS())")) == points(run("a"))
    assert points(run("LAST(METRICS())")) == points(run("g"))
    assert points(run("FIRST(METRICS('zzz'))")) == {}
    assert points(run("a / METRIC_COUNT(METRICS())")) == pytest.approx({0: 1 / 3, 60: 2 / 3, 120: 1, 180: 4 / 3})
    assert [item.label for item in many(run("REMOVE_EMPTY([a, IF(a > 100, a), c])"))] == ["a", "c"]
    assert points(run("a * 0 + DATAPOINT_COUNT(g)")) == dict.fromkeys(T, 4)
    assert points(run("DATAPOINT_COUNT([a, c])")) == {0: 2, 60: 1, 120: 2, 180: 1, 240: 1}


# ---- series by series -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    # g = 3 at 60, 5 at 120, 11 at 300, 2 at 360: each value against the one before it, across the gap.
    ("DIFF(g)", {120: 2, 300: 6, 360: -9}),
    ("DIFF_TIME(g)", {120: 60, 300: 180, 360: 60}),
    ("RATE(g)", {120: 2 / 60, 300: 6 / 180, 360: -9 / 60}),
    ("RUNNING_SUM(g)", {60: 3, 120: 8, 300: 19, 360: 21}),
    ("RATE(c)", {120: 10 / 120, 240: 10 / 120}),
    ("DIFF(IF(a < 2, a))", {}),  # one point has nothing before it
    ("RATE(IF(a > 9, a))", {}),
])
def test_functions_of_consecutive_points(text: str, expected: dict[int, float]) -> None:
    assert points(run(text)) == pytest.approx(expected)


def test_functions_of_consecutive_points_agree_with_numpy() -> None:
    g = DATA["g"]
    assert one(run("RATE(g)")).values == pytest.approx(np.diff(g.values) / np.diff(g.timestamps))
    assert one(run("RUNNING_SUM(g)")).values == pytest.approx(np.cumsum(g.values))
    assert each(run("DIFF([a, c])")) == [{60: 1, 120: 1, 180: 1}, {120: 10, 240: 10}]


SIGNED = series([0, 60, 120, 180, 240], [-2.5, 0, 0.5, 4, 100])


@pytest.mark.parametrize(("function", "ufunc"), [
    ("ABS", np.abs), ("FLOOR", np.floor), ("CEIL", np.ceil), ("LOG", np.log), ("LOG10", np.log10), ("SQRT", np.sqrt),
])
def test_pointwise_functions_agree_with_numpy_and_drop_what_is_undefined(function: str, ufunc: Any) -> None:
    with np.errstate(all="ignore"):
        expected = ufunc(SIGNED.values)
    defined = np.isfinite(expected)  # LOG and SQRT of -2.5, LOG of 0: no value
    data = {"s": SIGNED, "t": series([0], [16])}
    assert points(run(f"{function}(s)", data)) == pytest.approx(
        dict(zip(SIGNED.timestamps[defined].tolist(), expected[defined])))
    assert len(each(run(f"{function}(METRICS())", data))) == 2


def test_period_is_the_series_own_else_its_step_else_the_query_s() -> None:
    data = {
        "given": series([0, 300], [1, 2], period=60),
        "stepped": series([0, 120, 300], [1, 2, 3]),  # the greatest common step, not the smallest gap
        "single": series([0], [1]),
    }
    periods = {name: run(f"{name} * 0 + PERIOD({name})", data) for name in data}
    assert {name: points(value)[0] for name, value in periods.items()} == {"given": 60, "stepped": 60, "single": 300}
    assert points(run("single * 0 + PERIOD(single)", data, window=Window(0, 60, 10))) == {0: 10}
    assert points(run("a / PERIOD(a)")) == pytest.approx({0: 1 / 60, 60: 2 / 60, 120: 3 / 60, 180: 4 / 60})


# ---- FILL and TIME_SERIES -------------------------------------------------------------------------------


@pytest.mark.parametrize(("filler", "expected"), [
    ("0", {0: 0, 60: 3, 120: 5, 180: 0, 240: 0, 300: 11, 360: 2, 420: 0}),
    ("MIN(g)", {0: 2, 60: 3, 120: 5, 180: 2, 240: 2, 300: 11, 360: 2, 420: 2}),
    # The last value before a gap, carried across it and to the end; nothing before the first value.
    ("REPEAT", {60: 3, 120: 5, 180: 5, 240: 5, 300: 11, 360: 2, 420: 2}),
    # A line across a gap between two values; nothing outside the first and the last.
    ("LINEAR", {60: 3, 120: 5, 180: 7, 240: 9, 300: 11, 360: 2}),
    # Another series' values where it has them: a has 1 at 0 and 4 at 180, nothing at 240 or 420.
    ("a", {0: 1, 60: 3, 120: 5, 180: 4, 300: 11, 360: 2}),
])
def test_fill_fills_the_window_s_grid(filler: str, expected: dict[int, float]) -> None:
    assert points(run(f"FILL(g, {filler})", window=WINDOW)) == expected


def test_fill_without_a_window_fills_between_the_first_and_last_points() -> None:
    assert points(run("FILL(g, 0)")) == {60: 3, 120: 5, 180: 0, 240: 0, 300: 11, 360: 2}
    assert points(run("FILL(g, REPEAT)")) == {60: 3, 120: 5, 180: 5, 240: 5, 300: 11, 360: 2}


def test_fill_uses_each_series_period_and_phase() -> None:
    # c's step is 120, so its grid is 0, 120, 240, 360: 60 and 180 are not gaps.
    assert each(run("FILL([g, c], 0)", window=WINDOW)) == [
        {0: 0, 60: 3, 120: 5, 180: 0, 240: 0, 300: 11, 360: 2, 420: 0}, {0: 10, 120: 20, 240: 30, 360: 0}]
    # Points 30 s past the minute are filled on the same phase.
    data = {"h": series([30, 90, 210], [1, 2, 4])}
    assert points(run("FILL(h, LINEAR)", data, window=Window(0, 300, 60))) == {30: 1, 90: 2, 150: 3, 210: 4}


def test_fill_gives_a_metric_without_data_the_fill_value_over_the_window() -> None:
    assert points(run("FILL(IF(a > 100, a), 7)", window=WINDOW)) == dict.fromkeys(range(0, 480, 60), 7)
    assert points(run("FILL(IF(a > 100, a), 7)")) == {}  # no window: no grid to fill


def test_fill_makes_sparse_errors_count_as_none() -> None:
    data = {"errors": series([120], [3]), "requests": series([0, 60, 120, 180], [100, 100, 100, 100])}
    assert points(run("100 * FILL(errors, 0) / requests", data, window=Window(0, 240, 60))) == {
        0: 0, 60: 0, 120: 3, 180: 0}


def test_time_series_covers_the_window() -> None:
    assert points(run("TIME_SERIES(MAX(a))", window=Window(0, 300, 60))) == dict.fromkeys(range(0, 300, 60), 4)
    assert points(run("TIME_SERIES(5)", window=Window(30, 200, 60))) == {60: 5, 120: 5, 180: 5}
    assert points(run("TIME_SERIES(5) + 0 * a")) == dict.fromkeys(T, 0)  # without a window, it is empty


# ---- IF -------------------------------------------------------------------------------------------------

# The series of "Using IF expressions" on CloudWatch's metric math page; None is a missing value.
IF_DATA = {
    "metric1": [1, 1, 0, 0, None],
    "metric2": [30, None, 0, 0, 30],
    "metric3": [0, 0, 20, None, 20],
}


def gappy(values: Sequence[float | None]) -> TimeSeries:
    present = [(60 * n, value) for n, value in enumerate(values) if value is not None]
    return series([t for t, _ in present], [value for _, value in present])


@pytest.mark.parametrize(("text", "expected"), [
    ("IF(metric1, metric2, metric3)", [30, 0, 20, None, None]),
    ("IF(metric1, 5, metric3)", [5, 5, 20, None, None]),
    ("IF(metric1, metric2, 5)", [30, 0, 5, 5, None]),
    ("IF(metric1, metric2)", [30, 0, None, None, None]),
    ("IF(1, metric2, metric3)", [30, None, 0, 0, 30]),
    ("IF(0, metric2, metric3)", [0, 0, 20, None, 20]),
    ("IF(0, metric2)", [None, None, None, None, None]),
    ("IF(metric3 > 10, 1, 0)", [0, 0, 1, None, 1]),
    ("IF(metric2 < 10, metric2)", [None, None, 0, 0, None]),
    # The condition has a point wherever either side has one: at 240, metric1's missing value counts as 0.
    ("IF(metric1 AND metric3 == 0, 2, 3)", [2, 2, 3, 3, 3]),
])
def test_if_follows_the_aws_examples(text: str, expected: list[float | None]) -> None:
    data = {name: gappy(values) for name, values in IF_DATA.items()}
    assert points(run(text, data)) == points(gappy(expected))


# ---- ANOMALY_DETECTION_BAND -----------------------------------------------------------------------------


def expected_band(values: Sequence[float], k: float) -> list[tuple[float, float] | None]:
    """The documented model, written out plainly: mean ± k·σ of up to BAND_HISTORY points before each."""
    band: list[tuple[float, float] | None] = []
    for index in range(len(values)):
        history = values[max(0, index - BAND_HISTORY):index]
        if len(history) < 2:
            band.append(None)
        else:
            mean, spread = statistics.fmean(history), k * statistics.pstdev(history)
            band.append((mean + spread, mean - spread))
    return band


WAVE = [10 + 3 * math.sin(n / 4) + (n % 3) for n in range(40)]
WAVE[30] = 40.0  # a spike


@pytest.mark.parametrize(("text", "k"), [("ANOMALY_DETECTION_BAND(w)", 2.0), ("ANOMALY_DETECTION_BAND(w, 0.8)", 0.8)])
def test_the_band_is_a_trailing_mean_plus_and_minus_k_standard_deviations(text: str, k: float) -> None:
    data = {"w": series(range(0, 2400, 60), WAVE, period=60)}
    band = run(text, data)
    assert isinstance(band, Band)
    expected = expected_band(WAVE, k)
    assert points(band.upper) == pytest.approx({60 * n: e[0] for n, e in enumerate(expected) if e is not None})
    assert points(band.lower) == pytest.approx({60 * n: e[1] for n, e in enumerate(expected) if e is not None})
    assert band.upper.period == 60 and band.upper.timestamps[0] == 120  # the first two points have no band
    assert WAVE[30] > points(band.upper)[30 * 60]  # the spike stands out of its band


def test_the_band_is_an_array_of_upper_and_lower() -> None:
    data = {"w": series(range(0, 600, 60), WAVE[:10])}
    band = run("ANOMALY_DETECTION_BAND(w)", data)
    assert isinstance(band, Band)
    assert points(run("FIRST(ANOMALY_DETECTION_BAND(w))", data)) == points(band.upper)
    assert points(run("LAST(ANOMALY_DETECTION_BAND(w))", data)) == points(band.lower)
    scaled = run("ANOMALY_DETECTION_BAND(w) * 100", data)  # a function of each series keeps it a band
    assert isinstance(scaled, Band) and scaled.upper.values == pytest.approx(band.upper.values * 100)
    assert isinstance(run("FILL(ANOMALY_DETECTION_BAND(w), REPEAT)", data), Band)
    assert points(run("AVG(ANOMALY_DETECTION_BAND(w))", data)) == pytest.approx(
        dict(zip(band.upper.timestamps.tolist(), (band.upper.values + band.lower.values) / 2)))


# ---- refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("AVG(5)", "AVG: the argument must be a time series or an array of time series, not a number, in expression of e1"),
    ("ABS('x')", "ABS: the argument must be a time series or an array of time series, not a string"),
    ("RATE(REPEAT)", "RATE: the argument must be a time series or an array of time series, not the keyword REPEAT"),
    ("SUM(1 + 2)", "SUM: the argument must be a time series or an array of time series, not a number"),
    ("FIRST(a)", "FIRST: the argument must be an array of time series such as METRICS(), not a time series"),
    ("METRIC_COUNT(a) * a", "METRIC_COUNT: the argument must be an array of time series"),
    ("REMOVE_EMPTY(a)", "REMOVE_EMPTY: the argument must be an array of time series"),
    ("a * PERIOD(METRICS())", "PERIOD: the argument must be a time series, not an array of time series"),
    ("METRICS(5)", "METRICS: the argument must be a string to look for in the metric ids, not a number"),
    ("FILL(a, FOO)", "FILL: the fill value must be a number, a time series, REPEAT or LINEAR, not the keyword FOO"),
    ("FILL(a, 'REPEAT')", "FILL: the fill value must be a number, a time series, REPEAT or LINEAR, not a string"),
    ("FILL(a, METRICS())", "FILL: the fill value must be a number, a time series, REPEAT or LINEAR, not an array"),
    ("FILL(5, 0)", "FILL: the argument must be a time series or an array of time series, not a number"),
    ("LOG(FILL(a, 'x'))", "FILL: the fill value must be"),  # the innermost culprit
    ("IF(METRICS(), 1)", "IF: the condition and the values must be numbers or time series, not an array"),
    ("IF(a, 'x')", "IF: the condition and the values must be numbers or time series, not a string"),
    ("IF(a, 1, LINEAR)", "IF: the condition and the values must be numbers or time series, not the keyword LINEAR"),
    ("SEARCH(5, 'Average')", "SEARCH: the search expression must be a string like"),
    ("SEARCH('x', Average)", "SEARCH: the statistic must be a string like 'Average', not the keyword Average"),
    ("SEARCH('x', '')", "SEARCH: the statistic must be a string like 'Average', not a string"),
    ("SEARCH('x', 'Sum', 0)", "SEARCH: the period must be a whole number of seconds, at least 1, not 0"),
    ("SEARCH('x', 'Sum', 1.5)", "SEARCH: the period must be a whole number of seconds, at least 1, not 1.5"),
    ("SEARCH('x', 'Sum', a)", "SEARCH: the period must be a number, not a time series"),
    ("SEARCH('x', 'Sum', 1e999)", "SEARCH: the period must be a whole number of seconds, at least 1, not inf"),
    ("SEARCH('x', 'Sum', AVG(a))", "SEARCH: the period must be a whole number of seconds, at least 1, not nan"),
    ("ANOMALY_DETECTION_BAND(METRICS())", "the first argument must be a time series, not an array of time series"),
    ("ANOMALY_DETECTION_BAND(a, 0)", "ANOMALY_DETECTION_BAND: the number of standard deviations must be more than 0"),
    ("ANOMALY_DETECTION_BAND(a, a)", "the number of standard deviations must be a number, not a time series"),
    ("TIME_SERIES(a)", "TIME_SERIES: the argument must be a number, not a time series"),
    ("AVG()", "AVG: missing a required argument: 'values', in expression of e1"),
    ("ABS(a, c)", "ABS: too many positional arguments, in expression of e1"),
    ("METRICS('a', 'b')", "METRICS: too many positional arguments"),
    ("FILL(a)", "FILL: missing a required argument: 'filler'"),
    ("IF(a)", "IF: missing a required argument: 'when_true'"),
    ("SEARCH('x')", "SEARCH: missing a required argument: 'stat'"),
    ("SEARCH('x', 'Sum', 60, 1)", "SEARCH: too many positional arguments"),
    ("PERCENTILE(METRICS(), 90)", "Unsupported function PERCENTILE in expression of e1"),
    ("AVG(a)", "the expression of e1 gives a number, not a time series or an array of time series"),
    ("IF(1, 2, 3)", "the expression of e1 gives a number"),
    ("METRICS() + [a, c]", "'+' cannot combine two arrays of time series"),
])
def test_a_call_that_does_not_fit_is_refused_when_the_program_is_built(text: str, message: str) -> None:
    assert message in refused(text)


def test_a_widget_with_a_misused_function_is_refused() -> None:
    doc = {**WIDGET, "metrics": [*WIDGET["metrics"], [{"expression": "FILL(errors, ZERO)"}]]}
    with pytest.raises(WidgetError, match="FILL: the fill value must be a number, a time series, REPEAT or LINEAR, "
                                          "not the keyword ZERO, in expression of metrics\\[2\\]"):
        parse_widget(json.dumps(doc), now=NOW)


def test_the_stand_in_answers_an_unsupported_function_with_invalid_parameter_value(
        standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    doc = {**WIDGET, "metrics": [*WIDGET["metrics"], [{"expression": "PERCENTILE(METRICS(), 90)"}]]}
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        boto3_cloudwatch(standin.endpoint_url).get_metric_widget_image(MetricWidget=json.dumps(doc))
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "Unsupported function PERCENTILE" in caught.value.response["Error"]["Message"]


def test_a_function_that_gives_one_series_draws_through_the_renderer() -> None:
    doc = {**WIDGET, "metrics": [*WIDGET["metrics"], [{"expression": "SUM(METRICS()) / 2", "id": "half"}],
                                 [{"expression": "IF(errors > 0, 100 * RATE(errors) / requests, 0)"}]]}
    requests, errors, half, _ = (row[0].series for row in row_series(parse_widget(json.dumps(doc), now=NOW)))
    assert np.allclose(half.values, (requests.values + errors.values) / 2)


# ---- SORT, SLICE, CONCAT --------------------------------------------------------------------------------
# METRICS() is [a, c, g]. By hand: AVG 2.5, 20, 5.25 · MIN 1, 10, 2 · MAX 4, 30, 11 · SUM 10, 60, 21 ·
# STDDEV √1.25 ≈ 1.12, √(200/3) ≈ 8.16, √12.1875 ≈ 3.49.


def labels(result: Result) -> list[str | None]:
    return [series.label for series in many(result)]


@pytest.mark.parametrize(("text", "expected"), [
    ("SORT(METRICS(), AVG, DESC)", ["c", "g", "a"]),
    ("SORT(METRICS(), AVG, ASC)", ["a", "g", "c"]),
    ("SORT(METRICS(), MIN, ASC)", ["a", "g", "c"]),
    ("SORT(METRICS(), MAX, DESC)", ["c", "g", "a"]),
    ("SORT(METRICS(), SUM, DESC, 2)", ["c", "g"]),
    ("SORT(METRICS(), STDDEV, ASC)", ["a", "g", "c"]),
    ("SORT(METRICS(), SUM, ASC, 0)", []),
    ("SORT([g, a, g], SUM, ASC)", ["a", "g", "g"]),  # ties keep their order
    ("SLICE(METRICS(), 1)", ["c", "g"]),
    ("SLICE(METRICS(), 0, 2)", ["a", "c"]),
    ("SLICE(METRICS(), 2, 2)", []),
    ("SLICE(METRICS(), 5)", []),
    ("SLICE(SORT(METRICS(), SUM, DESC), 0, 1)", ["c"]),
    ("SLICE(SORT(METRICS(), AVG, ASC), 1)", ["g", "c"]),  # all but the lowest average
])
def test_sort_and_slice(text: str, expected: list[str]) -> None:
    assert labels(run(text)) == expected


def test_sort_puts_series_without_points_last_either_way() -> None:
    for order in ("ASC", "DESC"):
        assert each(run(f"SORT([IF(a > 100, a), g, c], SUM, {order})"))[0] != {}
        assert each(run(f"SORT([IF(a > 100, a), g, c], SUM, {order})"))[-1] == {}


def test_first_of_a_sort_is_the_top_series() -> None:
    # The AWS page's example: the top metric by average, 1 where it is above 15.
    assert points(run("IF(FIRST(SORT(METRICS(), AVG, DESC)) > 15, 1, 0)")) == {0: 0, 120: 1, 240: 1}


@pytest.mark.parametrize(("text", "expected"), [
    ("CONCAT([a, c])", {0: 10, 60: 2, 120: 20, 180: 4, 240: 30}),  # where both have a point, the later one's
    ("CONCAT(c, a)", {0: 1, 60: 2, 120: 3, 180: 4, 240: 30}),
    ("CONCAT(IF(a < 3, a), [IF(g > 4, g)])", {0: 1, 60: 2, 120: 5, 300: 11}),
    ("CONCAT(METRICS('zzz'))", {}),
])
def test_concat_joins_series_into_one(text: str, expected: dict[int, float]) -> None:
    assert points(run(text)) == expected


# ---- the time functions ---------------------------------------------------------------------------------

FEB_28_2024 = 1_709_078_400  # a Wednesday, 00:00 UTC
DAY_SECONDS = 86_400
# Daily points on Wednesday 28 February and Monday 4 March 2024; the grid between them is not sparse.
DAYS = {"d": series([FEB_28_2024, FEB_28_2024 + 5 * DAY_SECONDS], [1, 2], period=DAY_SECONDS)}
# Minute points at 13:58 and 14:01 on 28 February.
MINUTES = {"m": series([FEB_28_2024 + 13 * 3600 + 58 * 60, FEB_28_2024 + 14 * 3600 + 60], [1, 2], period=60)}
NEW_YEAR_S_EVE = {"y": series([1_703_980_800], [1], period=DAY_SECONDS)}  # Sunday 31 December 2023


@pytest.mark.parametrize(("text", "data", "expected"), [
    ("DAY(d)", DAYS, [3, 4, 5, 6, 7, 1]),            # Monday is 1, Sunday 7
    ("DATE(d)", DAYS, [28, 29, 1, 2, 3, 4]),          # 2024 is a leap year
    ("MONTH(d)", DAYS, [2, 2, 3, 3, 3, 3]),
    ("YEAR(d)", DAYS, [2024] * 6),
    ("HOUR(d)", DAYS, [0] * 6),
    ("MINUTE(m)", MINUTES, [58, 59, 0, 1]),
    ("HOUR(m)", MINUTES, [13, 13, 14, 14]),
    ("DAY(y) * 1000000 + MONTH(y) * 10000 + DATE(y) * 100 + YEAR(y) - 2000", NEW_YEAR_S_EVE, [7_123_123]),
])
def test_time_functions_give_a_part_of_each_timestamp_in_utc(text: str, data: Mapping[str, TimeSeries],
                                                              expected: list[float]) -> None:
    assert list(points(run(text, data)).values()) == expected


def test_time_functions_cover_the_window_at_the_series_period() -> None:
    assert points(run("EPOCH(g)", window=WINDOW)) == {t: t for t in range(0, 480, 60)}
    assert points(run("MINUTE(g)", window=WINDOW)) == {t: t // 60 for t in range(0, 480, 60)}
    assert points(run("EPOCH(c)", window=WINDOW)) == {0: 0, 120: 120, 240: 240, 360: 360}  # c's period is 120
    assert points(run("IF(MINUTE(g) < 2, g)", window=WINDOW)) == {0: 0, 60: 3}  # g has no point at 0: IF gives 0
    assert [len(item) for item in each(run("HOUR(METRICS())", window=WINDOW))] == [8, 4, 8]


# ---- functions that read other services -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "quota"), [
    ("SERVICE_QUOTA(g)", 50),   # g's highest is 11: the first of 10, 20, 50 at least 22
    ("SERVICE_QUOTA(a)", 10),   # 4: the first of 1, 2, 5, 10 at least 8
    ("SERVICE_QUOTA(c)", 100),  # 30: 60 → 100
    ("SERVICE_QUOTA(a / 20)", 1),  # 0.2: never below 1
])
def test_service_quota_is_a_round_number_above_the_usage(text: str, quota: float) -> None:
    result = one(run(text))
    usage = one(run(text.removeprefix("SERVICE_QUOTA(")[:-1]))
    assert result.timestamps.tolist() == usage.timestamps.tolist()
    assert set(result.values.tolist()) == {quota}


def test_insight_rule_metric_is_plausible_and_deterministic() -> None:
    text = "INSIGHT_RULE_METRIC('top-talkers', 'UniqueContributors')"
    first, again = one(run(text, window=WINDOW)), one(run(text, window=WINDOW))
    assert first.timestamps.tolist() == list(range(0, 480, 60))
    assert first.values.tolist() == again.values.tolist()
    assert all(value.is_integer() and 0 < value <= 250 for value in first.values.tolist())
    other = one(run("INSIGHT_RULE_METRIC('top-talkers', 'Sum')", window=WINDOW))
    assert other.values.tolist() != first.values.tolist()
    assert points(run(text)) == {}  # without a window, nothing to cover


def test_lambda_answers_an_array_labelled_with_the_function() -> None:
    result = many(run("LAMBDA('MyCustomDataSource', true, 'fuzzy', 99.9)", window=WINDOW))
    assert len(result) == 1 and result[0].label == "MyCustomDataSource true fuzzy 99.9"
    assert result[0].timestamps.tolist() == list(range(0, 480, 60))
    assert np.all(result[0].values > 0)
    assert points(run("SUM(FILL(LAMBDA('f'), 0))", window=WINDOW)) == points(run("FIRST(LAMBDA('f'))",
                                                                                  window=WINDOW))


def test_db_perf_insights_db_load_is_a_few_sessions() -> None:
    load = one(run("DB_PERF_INSIGHTS('RDS', 'db-ABCDEFGHIJKLMNOPQRSTUVWXY1', 'db.load.avg')", window=WINDOW))
    assert load.timestamps.size == 8 and np.all((0.3 <= load.values) & (load.values <= 5))
    assert not np.array_equal(load.values, one(run(
        "DB_PERF_INSIGHTS('DOCDB', 'db-ABCDEFGHIJKLMNOPQRSTUVWXY1', 'db.load.avg')", window=WINDOW)).values)


@pytest.mark.parametrize(("text", "message"), [
    ("SORT(a, AVG, DESC)", "SORT: the argument must be an array of time series"),
    ("SORT(METRICS(), AVERAGE, DESC)", "SORT: the sort function must be one of AVG, MIN, MAX, SUM, STDDEV, "
                                       "not the keyword AVERAGE"),
    ("SORT(METRICS(), AVG, 'DESC')", "SORT: the sort order must be one of ASC, DESC, not a string"),
    ("SORT(METRICS(), AVG, DESC, -1)", "SORT: the limit must be a whole number, at least 0, not -1"),
    ("SORT(METRICS(), AVG)", "SORT: missing a required argument: 'order'"),
    ("SLICE(METRICS(), 1.5)", "SLICE: the start must be a whole number, at least 0, not 1.5"),
    ("SLICE(METRICS(), 0, a)", "SLICE: the end must be a number, not a time series"),
    ("SLICE(METRICS())", "SLICE: missing a required argument: 'start'"),
    ("CONCAT(a, 5)", "CONCAT: the argument must be a time series or an array of time series, not a number"),
    ("DAY(5)", "DAY: the argument must be a time series or an array of time series, not a number"),
    ("SERVICE_QUOTA(METRICS())", "SERVICE_QUOTA: the argument must be a time series, not an array"),
    ("INSIGHT_RULE_METRIC('r', 'Median')", "INSIGHT_RULE_METRIC: the metric must be one of UniqueContributors"),
    ("INSIGHT_RULE_METRIC('', 'Sum')", "INSIGHT_RULE_METRIC: the rule name must be a string that is not empty"),
    ("LAMBDA(a)", "LAMBDA: the function name must be a string that is not empty, not a time series"),
    ("LAMBDA('f', a)", "LAMBDA: an argument must be a string, a number, true or false, not a time series"),
    ("LAMBDA('f', MAYBE)", "LAMBDA: an argument must be a string, a number, true or false, not the keyword MAYBE"),
    ("LAMBDA('f'" + ", 1" * 21 + ")", "LAMBDA: takes at most 20 arguments after the function name, not 21"),
    ("DB_PERF_INSIGHTS('S3', 'db-1', 'db.load.avg')", "DB_PERF_INSIGHTS: the service must be RDS or DOCDB"),
])
def test_the_new_functions_refuse_what_does_not_fit(text: str, message: str) -> None:
    assert message in refused(text)
