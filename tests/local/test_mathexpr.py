"""Metric math on known series: arithmetic, alignment, gaps, references between expressions, and refusals."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reportgen.local import BackgroundStandIn, mathexpr
from reportgen.local.mathexpr import ExpressionError, Program, TimeSeries
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
    return evaluate(text)[0].values.tolist()


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


def test_series_meet_on_the_timestamps_they_share() -> None:
    result = evaluate("a + c")[0]
    assert result.timestamps.tolist() == [0, 120] and result.values.tolist() == [11, 23]


def test_division_by_zero_leaves_a_gap() -> None:
    result = evaluate("a / b")[0]
    assert result.timestamps.tolist() == [0, 120, 180]  # b is 0 at 60
    assert result.values.tolist() == [0.5, 0.75, 0.5]
    assert evaluate("a / 0")[0].timestamps.size == 0
    assert evaluate("1e308 * a * 10")[0].timestamps.size == 0  # overflow to infinity is no value either


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
    (["SUM(METRICS())"], "Unsupported function SUM in expression of e1"),
    (["a + METRICS()"], "Unsupported function METRICS in expression of e1"),
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
    (["a ^ 2"], "unexpected '^' at position 3"),
    (["a)"], "unexpected ')' at position 2"),
    (["__import__('os')"], "Unsupported function __import__"),
    (["a.values"], "unexpected '.' at position 2"),
    (["'text' * a"], "a string can only be a function's argument"),
    (["(" * 101 + "a" + ")" * 101], "nested more than 100 deep"),
    (["-" * 101 + "a"], "nested more than 100 deep"),
])
def test_refusals_name_the_culprit(expressions: list[str], message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(*expressions)
    assert message in str(caught.value)


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
    requests, errors, availability = row_series(widget)
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
