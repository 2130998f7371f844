"""The MetricWidget parser: defaults, shorthand, times, and the errors CloudWatch would give."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reportgen.local import aggregate
from reportgen.local.widget import MetricRow, WidgetError, parse_widget

from .helpers import CPU, NOW, parse


def test_defaults_match_cloudwatch() -> None:
    widget = parse()
    assert (widget.width, widget.height) == (600, 400)
    assert (widget.start, widget.end) == (NOW - timedelta(hours=3), NOW)
    assert widget.view == "timeSeries" and widget.legend == "bottom" and widget.utc_offset == timedelta(0)
    assert widget.metrics == (MetricRow("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"),), "Average", 300),)


def test_a_row_parses_its_statistic_once_and_still_pickles() -> None:
    widget = parse(metrics=[[*CPU, {"stat": "TM(10%:90%)"}]])
    (row,) = widget.metrics
    assert row.statistic is row.statistic and row.statistic == aggregate.parse_statistic("TM(10%:90%)")
    copy = pickle.loads(pickle.dumps(widget))  # as the server hands it to a render worker
    assert copy == widget and copy.metrics[0].statistic == row.statistic


def test_dot_repeats_the_previous_row_in_every_position() -> None:
    widget = parse(metrics=[
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-1", "Zone", "a", {"id": "m1"}],
        [".", ".", ".", "i-2", ".", "."],
        [{"expression": "m1 / 2", "id": "e1"}],  # math rows are skipped over
        [".", "NetworkIn", ".", ".", ".", "b"],
        ["...", "c"],
    ])
    assert [(row.namespace, row.name, row.dimensions) for row in widget.metrics if not row.expression] == [
        ("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"), ("Zone", "a"))),
        ("AWS/EC2", "CPUUtilization", (("InstanceId", "i-2"), ("Zone", "a"))),
        ("AWS/EC2", "NetworkIn", (("InstanceId", "i-2"), ("Zone", "b"))),
        ("AWS/EC2", "NetworkIn", (("InstanceId", "i-2"), ("Zone", "c"))),
    ]
    assert widget.metrics[2].expression == "m1 / 2"


def test_row_options_override_widget_defaults() -> None:
    widget = parse(stat="Sum", period=60, metrics=[
        CPU, [*CPU, {"stat": "p99", "period": 3600, "label": "p99", "color": "#123abc", "yAxis": "right",
                     "visible": False, "id": "m2"}]])
    first, second = widget.metrics
    assert (first.stat, first.period, first.y_axis, first.visible) == ("Sum", 60, "left", True)
    assert (second.stat, second.period, second.label, second.color, second.y_axis, second.visible, second.id) == (
        "p99", 3600, "p99", "#123abc", "right", False, "m2")


def test_times_absolute_relative_and_timezone() -> None:
    widget = parse(start="2026-11-25T00:00:00+01:00", end="-PT30M", timezone="-0530")
    assert widget.start == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert widget.end == NOW - timedelta(minutes=30)
    assert widget.utc_offset == -timedelta(hours=5, minutes=30)
    assert parse(start="-P7D", end="P0D").start == NOW - timedelta(days=7)
    assert parse(start="2026-11-26T06:00:00").start == datetime(2026, 11, 26, 6, tzinfo=UTC)  # naive is UTC


def test_axes_legend_and_annotations() -> None:
    widget = parse(
        yAxis={"left": {"min": 0, "max": 100, "label": "CPU", "showUnits": False}, "right": {"min": 1}},
        legend={"position": "right"},
        annotations={
            "horizontal": [{"value": 80, "label": "high", "fill": "above"},
                           [{"value": 10, "label": "low", "color": "#2ca02c"}, {"value": 20, "label": "ok"}],
                           {"value": 5, "visible": False}],
            "vertical": [{"value": "2026-11-26T09:00:00Z", "label": "deploy", "fill": "after"}],
        },
    )
    assert (widget.left.min, widget.left.max, widget.left.label, widget.left.show_units) == (0, 100, "CPU", False)
    assert widget.right.min == 1 and widget.legend == "right"
    line, band = widget.horizontal  # the invisible one is dropped
    assert (line.value, line.fill, line.label) == (80, "above", "high")
    assert (band.value, band.band_value, band.fill, band.band_label, band.color) == (10, 20, "band", "ok", "#2ca02c")
    assert widget.vertical[0].value == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_dashboard_keys_are_accepted() -> None:
    widget = parse(region="eu-west-1", accountId="123456789012", liveData=True, stacked=True, theme="dark",
                   setPeriodToTimeRange=True, sparkline=True, singleValueFullPrecision=False, trend=True,
                   labels={"visible": True}, view="singleValue",
                   metrics=[[*CPU, {"region": "eu-west-1", "accountId": "123456789012"}]],
                   annotations={"alarms": ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:cpu"]})
    assert widget.stacked and widget.theme == "dark" and widget.period_to_time_range and widget.sparkline


def test_unknown_keys_are_ignored_as_cloudwatch_ignores_them() -> None:
    assert parse(view="table", copilot=True, dashboardTag={"team": "ops"}, yAxis={"left": {"scale": "log"}},
                 table={"layout": "horizontal", "pinned": True}, legend={"position": "bottom", "align": "left"},
                 metrics=[[*CPU, {"unit": "Percent"}]],
                 annotations={"horizontal": [{"value": 1, "shade": "red"}], "notes": []}) == parse(
                     view="table", annotations={"horizontal": [{"value": 1}]})


def test_exactly_100_metrics_are_allowed() -> None:
    assert len(parse(metrics=[CPU] + [["...", f"i-{n}"] for n in range(99)]).metrics) == 100


BAD = [
    ({"metrics": [CPU] * 101}, "`metrics` has 101 rows; a widget can graph at most 100"),
    ({"metrics": []}, "`metrics` is required"),
    ({"metrics": None}, "`metrics` is required"),
    ({"metrics": [["AWS/EC2"]]}, "`metrics[0]` must be [Namespace, MetricName"),
    ({"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId"]]}, "got 3 strings, expected an even number"),
    ({"metrics": [[".", "CPUUtilization"]]}, "`metrics[0][0]` is \".\" but the previous metric row has no value"),
    ({"metrics": [["...", "i-2"]]}, "`metrics[0]` starts with \"...\""),
    ({"metrics": [["AWS/EC2", 5]]}, "`metrics[0][1]` must be a non-empty string"),
    ({"metrics": [[*CPU, {"colour": "#ff0000"}]]}, "`colour` is not a metric option; did you mean `color`?"),
    ({"metrics": [[*CPU, {"color": "red"}]]}, "`metrics[0].color` is 'red': expected a six-digit hex color"),
    ({"metrics": [[*CPU, {"stat": "Avg"}]]}, "`metrics[0].stat`: 'Avg' is not a statistic"),
    ({"metrics": [[*CPU, {"period": 90}]]}, "`metrics[0].period` is 90"),
    ({"metrics": [[*CPU, {"yAxis": "top"}]]}, "`metrics[0].yAxis` is 'top': expected one of left, right"),
    ({"metrics": [[*CPU, {"id": "M1"}]]}, "an id starts with a lowercase letter"),
    ({"metrics": [[*CPU, {"id": "m1"}], [*CPU, {"id": "m1"}]]}, "metric id 'm1' is used by more than one row"),
    ({"metrics": [[{"label": "x"}]]}, "has no metric and no `expression`"),
    ({"metrics": [[{"expression": "PERCENTILE(m1, 1)", "id": "e1"}]]},
     "Unsupported function PERCENTILE in expression of e1"),
    ({"metrics": [CPU, [{"expression": "cpu * 2"}]]}, "Unknown metric id 'cpu' in expression of metrics[1]"),
    ({"widht": 300}, "`widht` is not a key; did you mean `width`?"),
    ({"stakced": True}, "`stakced` is not a key; did you mean `stacked`?"),
    ({"metrics": None, "properties": {"metrics": [CPU]}}, "pass the contents of a dashboard widget's `properties`"),
    ({"width": 0}, "`width` is 0: must be a whole number of pixels from 1 to 2000"),
    ({"height": 2001}, "`height` is 2001"),
    ({"width": 300.5}, "`width` is 300.5"),
    ({"width": "300"}, "`width` is '300'"),
    ({"view": "line"}, "`view` is 'line': expected one of timeSeries"),
    ({"stat": "average"}, "`stat`: 'average' is not a statistic"),
    ({"legend": {"position": "top"}}, "`legend.position` is 'top'"),
    ({"start": "yesterday"}, "`start` is 'yesterday': not an ISO 8601 time"),
    ({"start": "-P1M"}, "`start` is '-P1M': not a duration"),
    ({"start": "-PT1H", "end": "-PT2H"}, "must be before `end`"),
    ({"timezone": "Europe/Berlin"}, "`timezone` is 'Europe/Berlin': expected an offset like +0100"),
    ({"yAxis": {"left": {"min": 10, "max": 5}}}, "`yAxis.left.min` (10) must be less than `yAxis.left.max` (5)"),
    ({"yAxis": {"lfet": {}}}, "`lfet` is not a y-axis side; did you mean `left`?"),
    ({"annotations": {"horizontal": [{"value": "high"}]}}, "`annotations.horizontal[0].value` must be a number"),
    ({"annotations": {"horizontal": [{"value": 1, "fill": "between"}]}}, "`annotations.horizontal[0].fill`"),
    ({"annotations": {"vertical": [{"value": 5}]}}, "`annotations.vertical[0].value` must be an ISO 8601 time"),
    ({"annotations": {"horizontal": [[{"value": 1}]]}}, "a list of two objects for a band"),
]


@pytest.mark.parametrize(("doc", "message"), BAD, ids=[message[:40] for _, message in BAD])
def test_invalid_widgets_are_refused_with_a_message_naming_the_problem(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(WidgetError) as caught:
        parse(**doc)
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "MetricWidget is not valid JSON"),
    ("[1, 2]", "MetricWidget must be a JSON object, not a list"),
    ('{"metrics": [["A", "B"]], "width": NaN}', "MetricWidget is not valid JSON: NaN"),
    (json.dumps({"metrics": [CPU], "title": "x" * 102_400}), "bytes; the limit is 102400 bytes (100 KB)"),
])
def test_unparseable_or_oversized_text(text: str, message: str) -> None:
    with pytest.raises(WidgetError) as caught:
        parse_widget(text, now=NOW)
    assert message in str(caught.value)
