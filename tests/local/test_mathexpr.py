"""Metric math on known series: the grammar, operators, alignment, gaps, arrays, references between expressions,
the evaluation's API, and refusals. The functions have their own module, test_math_functions."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reportgen import expression
from reportgen.local import BackgroundStandIn, mathexpr
from reportgen.local.mathexpr import ExpressionError, Program, TimeSeries, Window
from reportgen.local.render import render_png, row_series
from reportgen.local.widget import WidgetError, parse_widget

T = np.array([0, 60, 120, 180], dtype=np.int64)
DATA = {
    "a": TimeSeries(T, np.array([1.0, 2.0, 3.0, 4.0])),
    "b": TimeSeries(T, np.array([2.0, 0.0, 4.0, 8.0])),
    # Every other minute, and one more at the end: it shares 0 and 120 with a and b.
    "c": TimeSeries(np.array([0, 120, 240], dtype=np.int64), np.array([10.0, 20.0, 30.0])),
}


def evaluate(*expressions: str, functions: dict[str, mathexpr.Function] | None = None) -> list[TimeSeries]:
    program = Program([(f"e{n}", text) for n, text in enumerate(expressions, 1)], DATA.keys(),
                      **({"functions": functions} if functions is not None else {}))
    return program.evaluate(DATA)


def values(text: str) -> list[float]:
    result: list[float] = evaluate(text)[0].values.tolist()
    return result


@pytest.mark.parametrize(("text", "expected"), [
    ("a + 1", [2, 3, 4, 5]),
    ("10 - a", [9, 8, 7, 6]),
    ("a * b", [2, 0, 12, 32]),
    ("-a", [-1, -2, -3, -4]),
    ("- -a + +1", [2, 3, 4, 5]),
    ("2 + 3 * a", [5, 8, 11, 14]),           # * binds tighter than +
    ("(2 + 3) * a", [5, 10, 15, 20]),
    ("a - b - 1", [-2, 1, -2, -5]),          # left to right
    ("8 / a / 2", [4, 2, 4 / 3, 1]),
    ("-a * -1", [1, 2, 3, 4]),
    ("1.5e1 * a / .5", [30, 60, 90, 120]),
    ("100 * (1 - a / (a + b))", [100 * 2 / 3, 0, 100 * 4 / 7, 100 * 8 / 12]),
])
def test_arithmetic(text: str, expected: list[float]) -> None:
    assert values(text) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("a ^ 2", [1, 4, 9, 16]),
    ("2 ^ a", [2, 4, 8, 16]),
    ("-a ^ 2", [-1, -4, -9, -16]),          # ^ binds tighter than unary minus
    ("2 * a ^ 2", [2, 8, 18, 32]),          # … and than *
    ("a ^ 3 ^ 0 + 2 ^ 3 ^ 2", [513, 514, 515, 516]),  # right to left: a ^ 1 + 2 ^ 9
    ("a ^ -1", [1, 0.5, 1 / 3, 0.25]),
    ("a > 2", [0, 0, 1, 1]),
    ("a >= 2", [0, 1, 1, 1]),
    ("a < b", [1, 0, 1, 1]),
    ("a <= 2", [1, 1, 0, 0]),
    ("a == 3", [0, 0, 1, 0]),
    ("a != 3", [1, 1, 0, 1]),
    ("a + 1 > b", [0, 1, 0, 0]),             # arithmetic binds tighter than comparison
    ("a > 1 AND b > 1", [0, 0, 1, 1]),
    ("a > 3 OR b == 0", [0, 1, 0, 1]),
    ("a > 1 && b > 1 || a == 1", [1, 0, 1, 1]),  # AND binds tighter than OR
    ("a == 1 OR a == 2 AND b > 1", [1, 0, 0, 0]),
    ("(a == 1 OR a == 2) AND b >= 0", [1, 1, 0, 0]),
    ("b AND a", [1, 0, 1, 1]),               # a value is true when it is not 0
    ("a - 2 < b - 2 < 1", [0, 1, 0, 0]),     # comparisons chain left to right, like the rest
    ("(1 < 2) * a", [1, 2, 3, 4]),           # number with number gives a number
])
def test_operators(text: str, expected: list[float]) -> None:
    assert values(text) == pytest.approx(expected)


def test_series_meet_on_every_timestamp_either_has_missing_counting_as_0() -> None:
    # CloudWatch: "Missing values in a time series are treated as 0."
    result = evaluate("a + c")[0]
    assert result.timestamps.tolist() == [0, 60, 120, 180, 240]
    assert result.values.tolist() == [11, 2, 23, 4, 30]
    assert evaluate("c - a")[0].values.tolist() == [9, -2, 17, -4, 30]


def test_comparisons_follow_the_aws_example() -> None:
    # "Comparison and logical operators" in CloudWatch's metric math page: metric2 has gaps.
    data = {"metric1": TimeSeries(T, np.array([30.0, 20, 0, 0])),
            "metric2": TimeSeries(T[[0, 2]], np.array([20.0, 20]))}
    program = Program([("e1", "metric1 < metric2"), ("e2", "metric1 >= 30"),
                       ("e3", "metric1 > 15 AND metric2 > 15")], data.keys())
    assert [result.values.tolist() for result in program.evaluate(data)] == [[0, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0]]


def test_division_by_zero_leaves_a_gap() -> None:
    result = evaluate("a / b")[0]
    assert result.timestamps.tolist() == [0, 120, 180]  # b is 0 at 60
    assert result.values.tolist() == [0.5, 0.75, 0.5]
    assert evaluate("a / 0")[0].timestamps.size == 0
    assert evaluate("1e308 * a * 10")[0].timestamps.size == 0  # overflow to infinity is no value either
    assert evaluate("(-a) ^ 0.5")[0].timestamps.size == 0  # nor is a root of a negative number


def test_a_gap_is_dropped_where_it_happens() -> None:
    # a / b has no point at 60; added to c, that is a missing value (0), not an undefined one.
    result = evaluate("a / b + c")[0]
    assert result.timestamps.tolist() == [0, 120, 180, 240]
    assert result.values.tolist() == [10.5, 20.75, 0.5, 30]


def test_data_given_with_undefined_values_has_gaps_there() -> None:
    data = {"a": TimeSeries(T, np.array([1.0, np.nan, np.inf, 4.0]))}
    result = Program([("e1", "a * 2")], data.keys()).evaluate(data)[0]
    assert result.timestamps.tolist() == [0, 180] and result.values.tolist() == [2, 8]


@pytest.mark.parametrize(("text", "expected"), [
    ("[a, b] * 2", [[2, 4, 6, 8], [4, 0, 8, 16]]),
    ("100 / [a, b]", [[100, 50, 100 / 3, 25], [50, 25, 12.5]]),  # 100 / 0 is a gap
    ("-[a, b]", [[-1, -2, -3, -4], [-2, 0, -4, -8]]),
    ("[a, b] - a", [[0, 0, 0, 0], [1, -2, 1, 4]]),
    ("a - [a, b]", [[0, 0, 0, 0], [-1, 2, -1, -4]]),
    ("[a, [b, c]] > 3", [[0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1]]),  # arrays inside arrays are flattened
    ("[a]", [[1, 2, 3, 4]]),
    ("[e2, a]", [[1, 2, 3, 4], [1, 2, 3, 4]]),
])
def test_arrays_meet_numbers_and_series_one_series_at_a_time(text: str, expected: list[list[float]]) -> None:
    program = Program([("e1", text), ("e2", "a")], DATA.keys())
    result = program.results(DATA)[0]
    assert isinstance(result, tuple) and not isinstance(result, TimeSeries)
    assert [series.values.tolist() for series in result] == [pytest.approx(row) for row in expected]


def test_an_array_keeps_the_ids_of_its_series_as_labels() -> None:
    result = Program([("e1", "[a, b] / c")], DATA.keys()).results(DATA)[0]
    assert isinstance(result, tuple)
    first, second = result
    assert (first.label, second.label) == ("a", "b")
    assert first.timestamps.tolist() == [0, 120, 240] and first.values.tolist() == [0.1, 0.15, 0]


def test_expressions_refer_to_expressions_in_any_order() -> None:
    first, second, third = evaluate("e2 * 2", "e3 + 1", "a")
    assert first.values.tolist() == [4, 6, 8, 10]
    assert second.values.tolist() == [2, 3, 4, 5] and third.values.tolist() == [1, 2, 3, 4]


def test_functions_come_from_a_table() -> None:
    def scale(series: TimeSeries, factor: float) -> TimeSeries:
        return TimeSeries(series.timestamps, series.values * factor)

    assert evaluate("SCALE(a, 3) + 1", functions={"SCALE": scale})[0].values.tolist() == [4, 7, 10, 13]
    with pytest.raises(ExpressionError, match="SCALE: missing a required argument: 'factor', in expression of e1"):
        evaluate("SCALE(a)", functions={"SCALE": scale})


@pytest.mark.parametrize(("expressions", "message"), [
    (["FOO(a)"], "Unsupported function FOO in expression of e1"),
    (["sum(a)"], "Unsupported function sum in expression of e1"),  # CloudWatch's functions are upper case
    (["a + REPEAT"], "Unknown metric id 'REPEAT' in expression of e1"),
    (["[a, REPEAT]"], "Unknown metric id 'REPEAT' in expression of e1"),
    (["a + foo"], "Unknown metric id 'foo' in expression of e1"),
    (["a", "e1 + e3"], "Unknown metric id 'e3' in expression of e2"),
    (["e1 + 1"], "expressions refer to each other in a cycle: e1 → e1"),
    (["e2", "a + e3", "e2 * 2"], "expressions refer to each other in a cycle: e2 → e3 → e2"),
    (["42"], "the expression of e1 names no metric"),
    ([""], "the expression of e1 is empty"),
    (["a +"], "the expression of e1 ends too early"),
    (["(a + b"], "ends too early; expected ')'"),
    (["a b"], "unexpected 'b' at position 3 in expression of e1"),
    (["a ** 2"], "unexpected '*' at position 4"),
    (["a % 2"], "unexpected '%' at position 3"),
    (["a = 2"], "unexpected '=' at position 3"),
    (["a & b"], "unexpected '&' at position 3"),
    (["a ^ ^ 2"], "unexpected '^' at position 5"),
    (["a AND"], "the expression of e1 ends too early"),
    (["[a, b"], "ends too early; expected ']'"),
    (["[a b]"], "unexpected 'b' at position 4"),
    (["ABS(a,)"], "unexpected ')' at position 7"),
    (["[a, 'x']"], "a string can only be a function's argument"),
    (["[a] * [b]"], "'*' cannot combine two arrays of time series, in expression of e1"),
    (["[a, 2]"], "an array holds time series, not a number, in expression of e1"),
    (["a + 2", "[e1, 3 * 2]"], "an array holds time series, not a number, in expression of e2"),
    (["a)"], "unexpected ')' at position 2"),
    (["__import__('os')"], "Unsupported function __import__"),
    (["a.values"], "unexpected '.' at position 2"),
    (["'text' * a"], "a string can only be a function's argument"),
    (["(" * 101 + "a" + ")" * 101], "nested more than 100 deep"),
    (["-" * 101 + "a"], "nested more than 100 deep"),
    (["a" + " ^ a" * 101], "nested more than 100 deep"),
    (["ABS(" * 101 + "a" + ")" * 101], "nested more than 100 deep"),
    (["[" * 101 + "a" + "]" * 101], "nested more than 100 deep"),
])
def test_refusals_name_the_culprit(expressions: list[str], message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(*expressions)
    assert message in str(caught.value)


def test_a_long_chain_of_operators_is_flat_not_deep() -> None:
    # Nesting is bounded; a sum of many terms is not nesting and must not exhaust Python's stack.
    assert values("a" + " + a" * 5000 + " > 0 AND a" * 500) == [1, 1, 1, 1]


def test_results_gives_arrays_evaluate_refuses_them() -> None:
    program = Program([("e1", "a * 2"), ("e2", "[a, b]")], DATA.keys())
    single, array = program.results(DATA)
    assert isinstance(single, TimeSeries) and isinstance(array, tuple) and len(array) == 2
    with pytest.raises(ExpressionError, match="the expression of e2 gives an array of 2 time series, not one"):
        program.evaluate(DATA)


def test_a_window_is_a_time_range_and_a_period() -> None:
    window = Window.of(datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC), datetime(2026, 1, 1, 0, 5, tzinfo=UTC), 60)
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert (window.start, window.end, window.period) == (start + 30, start + 300, 60)
    # The grid is the window's multiples of the period, or those a phase past them, as a series' points lie.
    assert (window.grid(60) - start).tolist() == [60, 120, 180, 240]
    assert (window.grid(120, phase=30) - start).tolist() == [30, 150, 270]
    assert (window.grid(60, phase=45) - start).tolist() == [45, 105, 165, 225, 285]


NOW = datetime(2026, 11, 26, tzinfo=UTC)
ALB = ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/prod-web/50dc6c495c0c9188"]
AVAILABILITY: dict[str, Any] = {
    "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z", "period": 86400, "width": 600, "height": 300,
    "metrics": [
        [*ALB, {"id": "requests", "stat": "Sum", "visible": False}],
        [".", "HTTPCode_Target_5XX_Count", ".", ".", {"id": "errors", "stat": "Sum", "visible": False}],
        [{"expression": "100 * (1 - errors / requests)", "label": "Availability (%)", "id": "availability"}],
    ],
}


def test_the_example_availability_expression_draws_plausible_values() -> None:
    widget = parse_widget(json.dumps(AVAILABILITY), now=NOW)
    requests, errors, availability = (row[0].series for row in row_series(widget))
    assert len(availability.values) == 31 and availability.unit is None
    assert np.allclose(availability.values, 100 * (1 - errors.values / requests.values))
    assert 99 < availability.values.min() and availability.values.max() <= 100
    assert render_png(widget)


def test_the_stand_in_draws_it(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    image = boto3_cloudwatch(standin.endpoint_url).get_metric_widget_image(MetricWidget=json.dumps(AVAILABILITY))
    assert Image.open(io.BytesIO(image["MetricWidgetImage"])).size == (600, 300)


def test_a_widget_with_a_bad_expression_is_refused() -> None:
    doc = {**AVAILABILITY, "metrics": [*AVAILABILITY["metrics"][:2], [{"expression": "errors / requets"}]]}
    with pytest.raises(WidgetError, match="Unknown metric id 'requets' in expression of metrics\\[2\\]"):
        parse_widget(json.dumps(doc), now=NOW)


def test_the_stand_in_implements_every_function_validation_knows_with_the_same_parameters() -> None:
    # `reportgen validate` checks calls against reportgen.expression's table; the stand-in evaluates with
    # its own callables. The two agree on names, parameter names, and which are optional or repeated.
    def shape(signature: expression.Signature) -> list[tuple[str, bool, bool]]:
        return [(parameter.name, parameter.optional, parameter.repeated) for parameter in signature.parameters]

    assert set(mathexpr.FUNCTIONS) == set(expression.FUNCTIONS)
    for name, function in mathexpr.FUNCTIONS.items():
        assert shape(mathexpr._declared(function)[0]) == shape(expression.FUNCTIONS[name]), name
