"""Every MetricWidget key and metric option the structure page lists, and the dashboard keys real JSON carries:
what each parses to, and the messages for values CloudWatch would refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reportgen.local.widget import WidgetError

from .helpers import CPU, NOW, parse


@pytest.mark.parametrize(("text", "ago"), [
    ("-PT3H", timedelta(hours=3)),
    ("PT3H", timedelta(hours=3)),           # without a sign a duration still counts back
    ("-PT1.5H", timedelta(minutes=90)),     # fractional
    ("-P0.5D", timedelta(hours=12)),
    ("-PT90M", timedelta(minutes=90)),
    ("-P1W", timedelta(days=7)),
    ("-PT30S", timedelta(seconds=30)),
    ("P0D", timedelta(0)),
    ("-PT0H", timedelta(0)),
])
def test_relative_start_counts_back_from_now(text: str, ago: timedelta) -> None:
    assert parse(start=text, end="+PT1H").start == NOW - ago


def test_an_explicit_plus_counts_forward() -> None:
    widget = parse(start="-PT1H", end="+PT30M")
    assert widget.end == NOW + timedelta(minutes=30)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-25T12:00:00Z", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-25T12:00:00.000Z", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-25T13:30:00+01:30", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-25T12:00", datetime(2026, 11, 25, 12, tzinfo=UTC)),  # naive is UTC
])
def test_absolute_start(text: str, expected: datetime) -> None:
    assert parse(start=text).start == expected


@pytest.mark.parametrize("period", [1, 5, 10, 30, 60, 120, 300, 3600, 86400])
def test_valid_periods(period: int) -> None:
    assert parse(period=period).metrics[0].period == period


STATS = ["SampleCount", "Average", "Sum", "Minimum", "Maximum", "p99", "p99.9", "p0", "p100", "p99.9999999999",
         "tm90", "wm99.5", "tc90", "ts95", "TM(10%:90%)", "TM(2%:98%)", "TM(:95%)", "TM(5%:)", "TM(150:1000)",
         "WM(10%:90%)", "TC(0.5%:99.5%)", "TS(:500)", "PR(:300)", "PR(100:2000)", "IQM"]


@pytest.mark.parametrize("stat", STATS)
def test_every_statistic_is_accepted_as_widget_default_and_row_option(stat: str) -> None:
    widget = parse(stat=stat, metrics=[CPU, [*CPU, {"stat": stat}]])
    assert [row.stat for row in widget.metrics] == [stat, stat]


BAD_STATS = [
    ("average", "'average' is not a statistic: expected SampleCount, Average"),
    ("Avg", "is not a statistic"),
    ("p101", "is not a statistic"),
    ("p99.12345678901", "is not a statistic"),  # more than ten decimals
    ("P99", "is not a statistic"),
    ("tm", "is not a statistic"),
    ("tm(10%:90%)", "is not a statistic"),
    ("TM(10%;90%)", "is not a statistic"),
    ("TM(90%:10%)", "the lower bound is above the upper bound"),
    ("TM(:)", "has no bounds"),
    ("TM(10%:110%)", "'110%' is not a percentage from 0% to 100%"),
    ("TM(a:b)", "'a' is not a bound"),
    ("PR(10%:90%)", "the bounds of a percentile rank are values, not percentages"),
]


@pytest.mark.parametrize(("stat", "message"), BAD_STATS, ids=[stat for stat, _ in BAD_STATS])
def test_invalid_statistics_say_why(stat: str, message: str) -> None:
    with pytest.raises(WidgetError) as caught:
        parse(metrics=[[*CPU, {"stat": stat}]])
    assert str(caught.value).startswith("`metrics[0].stat`: ")
    assert message in str(caught.value)


def test_a_statistic_must_be_a_string() -> None:
    with pytest.raises(WidgetError, match="`stat` must be a statistic such as Average or p99, not 5"):
        parse(stat=5)


def test_dashboard_keys_that_change_the_picture() -> None:
    widget = parse(region="eu-west-1", accountId="123456789012", singleValueFullPrecision=True, trend=True,
                   labels={"visible": True}, liveData=True, table={"layout": "horizontal", "summaryColumns": ["MAX"]},
                   metrics=[[*CPU, {"region": "us-west-2", "accountId": "210987654321"}]])
    assert (widget.region, widget.account_id) == ("eu-west-1", "123456789012")
    assert widget.full_precision and widget.trend and widget.pie_labels
    assert (widget.metrics[0].region, widget.metrics[0].account_id) == ("us-west-2", "210987654321")


def test_table_options() -> None:
    table = parse(view="table", table={"layout": "vertical", "showTimeSeriesData": False, "stickySummary": True,
                                       "summaryColumns": ["MIN", "MAX", "SUM", "AVG"]}).table
    assert (table.layout, table.show_points, table.summary) == ("vertical", False, ("MIN", "MAX", "SUM", "AVG"))
    default = parse(view="table").table
    assert (default.layout, default.show_points, default.summary) == ("horizontal", True, ())


def test_dashboard_key_defaults() -> None:
    widget = parse()
    assert widget.region is None and widget.account_id is None
    assert not (widget.full_precision or widget.trend or widget.pie_labels or widget.sparkline)
    assert not widget.period_to_time_range and not widget.stacked and widget.theme == "light"


def test_any_number_of_dimension_pairs() -> None:
    names = [f"Dim{n}" for n in range(10)]
    row = ["Custom/App", "Latency", *(part for name in names for part in (name, f"v{name}"))]
    assert parse(metrics=[row]).metrics[0].dimensions == tuple((name, f"v{name}") for name in names)


def test_every_row_option() -> None:
    widget = parse(metrics=[
        [*CPU, {"id": "m1", "label": "cpu", "color": "#aabbcc", "stat": "p90", "period": 60, "yAxis": "right",
                "visible": False, "region": "eu-west-1", "accountId": "123456789012"}],
        [{"expression": "m1 * 2", "id": "e1", "label": "double", "color": "#000000", "yAxis": "left", "period": 60,
          "visible": True}],
    ])
    metric, expression = widget.metrics
    assert (metric.id, metric.label, metric.color, metric.stat, metric.period, metric.y_axis, metric.visible,
            metric.region, metric.account_id) == ("m1", "cpu", "#aabbcc", "p90", 60, "right", False, "eu-west-1",
                                                  "123456789012")
    assert (expression.expression, expression.id, expression.label, expression.default_label) == (
        "m1 * 2", "e1", "double", "m1 * 2")


def test_structure_page_options_example() -> None:
    """The options-object example of "Metric Widget Structure and Syntax", without its RATE row."""
    widget = parse(metrics=[
        ["MyNamespace", "apiLatency", "InstanceId", "i-0987654321abcdef0",
         {"id": "m1", "stat": "p50", "label": "Median value", "visible": True, "color": "#dddddd", "yAxis": "left",
          "period": 300}],
        [".", ".", ".", ".", {"id": "m2", "stat": "Average", "label": "Average value", "visible": True,
                              "color": "#cccccc", "yAxis": "left", "period": 300}],
        [{"expression": "(m1+m2)/2", "id": "e1", "label": "Half way between average and median", "visible": True,
          "color": "#000000", "yAxis": "left"}],
    ])
    assert [row.stat for row in widget.metrics[:2]] == ["p50", "Average"]
    assert widget.metrics[1].dimensions == (("InstanceId", "i-0987654321abcdef0"),)


def test_structure_page_annotation_examples() -> None:
    widget = parse(annotations={
        "horizontal": [
            {"visible": True, "color": "#9467bd", "label": "Critical range", "value": 20, "fill": "above",
             "yAxis": "right"},
            [{"label": "Band top", "value": 200, "color": "#9467bd", "visible": True, "yAxis": "right"},
             {"value": 95.5, "label": "Band bottom"}],
        ],
        "vertical": [
            {"visible": True, "color": "#9467bd", "label": "Bug fix deployed", "value": "2018-08-28T15:25:26Z",
             "fill": "after"},
            [{"label": "Band start", "value": "2018-08-27T15:25:26Z", "color": "#9467bd", "visible": True},
             {"value": "2018-08-28T15:25:26Z", "label": "Band end"}],
        ],
    })
    line, band = widget.horizontal
    assert (line.value, line.fill, line.y_axis, line.color) == (20, "above", "right", "#9467bd")
    assert (band.value, band.band_value, band.y_axis, band.band_label) == (200, 95.5, "right", "Band bottom")
    deploy, window = widget.vertical
    assert (deploy.fill, deploy.value) == ("after", datetime(2018, 8, 28, 15, 25, 26, tzinfo=UTC))
    assert window.band_value == datetime(2018, 8, 28, 15, 25, 26, tzinfo=UTC) and window.fill == "band"


def test_a_band_ignores_fill_and_hidden_annotations_are_dropped() -> None:
    widget = parse(annotations={
        "horizontal": [[{"value": 1, "fill": "above"}, {"value": 2}], [{"value": 3, "visible": False}, {"value": 4}]],
        "vertical": [{"value": "2026-11-26T10:00:00Z", "visible": False}],
    })
    assert [(a.value, a.fill) for a in widget.horizontal] == [(1, "band")] and widget.vertical == ()


BAD_KEYS = [
    ({"region": 5}, "`region` must be a string, not 5"),
    ({"accountId": ["1"]}, "`accountId` must be a string, not a list"),
    ({"liveData": "yes"}, "`liveData` must be true or false, not a string"),
    ({"trend": 1}, "`trend` must be true or false"),
    ({"singleValueFullPrecision": None}, "`singleValueFullPrecision` must be true or false, not null"),
    ({"labels": {"visible": "true"}}, "`labels.visible` must be true or false"),
    ({"labels": {"visble": True}}, "`labels`: `visble` is not a key; did you mean `visible`?"),
    ({"labels": True}, "`labels` must be an object"),
    ({"table": []}, "`table` must be an object, not a list"),
    ({"table": {"layout": "grid"}}, "`table.layout` is 'grid': expected one of horizontal, vertical"),
    ({"table": {"summaryColumns": ["MAX", "MEDIAN"]}}, "`table.summaryColumns[1]` is 'MEDIAN': expected one of MIN"),
    ({"table": {"summaryColumns": "MAX"}}, "`table.summaryColumns` must be a list, not a string"),
    ({"table": {"showTimeSeriesData": 1}}, "`table.showTimeSeriesData` must be true or false"),
    ({"table": {"stickySumary": True}}, "`table`: `stickySumary` is not a table key; did you mean `stickySummary`?"),
    ({"sparkline": "no"}, "`sparkline` must be true or false"),
    ({"setPeriodToTimeRange": 0}, "`setPeriodToTimeRange` must be true or false"),
    ({"metrics": [[*CPU, {"region": 1}]]}, "`metrics[0].region` must be a string"),
    ({"metrics": [[*CPU, {"accountId": 1}]]}, "`metrics[0].accountId` must be a string"),
    ({"start": "PT3X"}, "`start` is 'PT3X': not a duration"),
    ({"end": "P1Y"}, "`end` is 'P1Y': not a duration"),
    ({"period": 0}, "`period` is 0"),
    ({"period": 45}, "`period` is 45: a period is 1, 5, 10, 30 or a multiple of 60 seconds"),
    ({"period": 61}, "`period` is 61"),
    ({"period": True}, "`period` is True"),
    ({"timezone": "+2400"}, "`timezone` is '+2400'"),
    ({"timezone": "0100"}, "`timezone` is '0100'"),
    ({"theme": "grey"}, "`theme` is 'grey': expected one of light, dark"),
    ({"yAxis": {"left": {"showUnits": "no"}}}, "`yAxis.left.showUnits` must be true or false"),
    ({"yAxis": {"right": {"label": 5}}}, "`yAxis.right.label` must be a string"),
    ({"yAxis": {"left": {"mni": 0}}}, "`mni` is not a y-axis key; did you mean `min`?"),
    ({"annotations": {"vertical": [{"value": "2026-11-26T10:00:00Z", "fill": "above"}]}},
     "`annotations.vertical[0].fill` is 'above': expected one of before, after, none"),
    ({"annotations": {"horizontal": [{"value": 1, "yAxis": "top"}]}}, "`annotations.horizontal[0].yAxis` is 'top'"),
    ({"annotations": {"horizontal": [{"value": 1, "color": "red"}]}}, "expected a six-digit hex color"),
]


@pytest.mark.parametrize(("doc", "message"), BAD_KEYS, ids=[message[:40] for _, message in BAD_KEYS])
def test_refused_values_name_the_key(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(WidgetError) as caught:
        parse(**doc)
    assert message in str(caught.value)
