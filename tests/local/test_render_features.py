"""Each MetricWidget feature, drawn and checked from the outside: the size, that the picture changes when the
property does (and only then), and the pixels where a colour or a position can be pinned down."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from reportgen.local.render import PALETTE, THEMES, WARNING, _compact, _time_ticks, render_png, row_series
from reportgen.local.synthetic import BASE_REGION, Series
from reportgen.local.widget import parse_widget

from .helpers import CPU, NOW, parse, rgb_array

CPU2 = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-2"]
ALB = ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web/1"]
NODATA = ["Custom/App", "NoDataYet"]
BLUE = PALETTE[0]
Pixels = npt.NDArray[np.uint8]


def png(**doc: Any) -> bytes:
    """The PNG of a MetricWidget: one CPU metric over the three hours before NOW unless ``doc`` says otherwise."""
    return render_png(parse(**doc))


def draw(**doc: Any) -> Pixels:
    return rgb_array(png(**doc))


def rgb(colour: str) -> npt.NDArray[np.int16]:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def near(image: Pixels, colour: str, tolerance: int = 0) -> npt.NDArray[np.bool_]:
    """Where ``image`` has ``colour``, each channel within ``tolerance``."""
    return np.abs(image.astype(np.int16) - rgb(colour)).max(axis=-1) <= tolerance  # type: ignore[no-any-return]


def blocks(image: Pixels, colour: str, size: int = 5) -> list[tuple[int, int]]:
    """Top-left (row, column) of every ``size``×``size`` square filled with exactly ``colour``: legend swatches,
    bars and slices, never a line."""
    mask = near(image, colour).astype(np.int32)
    sums = np.pad(mask, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    full = sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size] == size * size
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(full))]


def line_rows(image: Pixels, colour: str) -> list[int]:
    """Rows that ``colour`` crosses for more than half the image's width: horizontal annotation lines."""
    return [int(r) for r in np.nonzero(near(image, colour, 60).sum(axis=1) > image.shape[1] / 2)[0]]


def line_columns(image: Pixels, colour: str) -> list[int]:
    """Columns that ``colour`` covers for more than half the image's height: vertical annotation lines."""
    return [int(c) for c in np.nonzero(near(image, colour, 60).sum(axis=0) > image.shape[0] / 2)[0]]


def series_top(image: Pixels, colour: str = BLUE, legend: int = 30) -> int:
    """The highest row a series line of ``colour`` reaches, above the legend."""
    rows = np.nonzero(near(image[:-legend], colour, 40).any(axis=1))[0]
    return int(rows.min())


def shaded(image: Pixels, plain: Pixels, row: int, column: int) -> bool:
    """Whether ``image`` is shaded at (row, column) where ``plain`` is not: its pixel differs noticeably."""
    return bool(np.abs(image[row, column].astype(np.int16) - plain[row, column]).max() > 8)


# ---- top-level keys ---------------------------------------------------------------------------------------------


def test_width_and_height_default_to_600_by_400() -> None:
    assert draw().shape == (400, 600, 3)
    assert draw(width=1, height=2000).shape == (2000, 1, 3)


@pytest.mark.parametrize("times", [
    {"start": "-PT3H"},
    {"start": "PT3H"},
    {"start": "-PT3H", "end": "P0D"},
    {"start": "-PT180M", "end": "-PT0H"},
    {"start": "-P0.125D"},
    {"start": "-PT2.5H", "end": "+PT30M"},
    {"start": "2026-11-26T09:00:00Z"},
    {"start": "2026-11-26T10:00:00+01:00", "end": "2026-11-26T12:00:00.000Z"},
], ids=lambda times: " ".join(times.values()))
def test_relative_and_absolute_times_draw_the_same_window(times: dict[str, str]) -> None:
    """Each of these is 09:00–12:00 UTC at NOW (the +PT30M window 09:30–12:30 ends half an hour later)."""
    window = ({"start": "2026-11-26T09:30:00Z", "end": "2026-11-26T12:30:00Z"} if times.get("end") == "+PT30M"
              else {"start": "2026-11-26T09:00:00Z", "end": "2026-11-26T12:00:00Z"})
    assert png(**times) == png(**window)


def test_period_changes_the_picture() -> None:
    assert png(period=60) != png(period=300) != png(period=3600)


def test_high_resolution_periods_draw() -> None:
    window = {"start": "2026-11-26T11:58:00Z", "end": "2026-11-26T12:00:00Z"}
    pictures = {png(period=period, **window) for period in (1, 5, 10, 30, 60)}
    assert len(pictures) == 5


def test_a_window_with_too_many_points_widens_the_period() -> None:
    """30 days of 1-minute points would be 43,200; like CloudWatch the stand-in draws 15-minute ones."""
    month = {"start": "-P30D"}
    assert png(period=60, **month) == png(period=900, **month) != png(period=3600, **month)


def test_keys_that_do_not_change_a_still_image() -> None:
    assert png() == png(accountId="123456789012", liveData=True,
                        table={"layout": "vertical"}, singleValueFullPrecision=True, trend=True,
                        labels={"visible": True}, sparkline=True,
                        annotations={"alarms": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu"]},
                        metrics=[[*CPU, {"accountId": "123456789012"}]])


def test_region_picks_the_data_and_a_row_region_overrides_the_widget() -> None:
    home = png()
    assert png(region=BASE_REGION) == home  # the synthetic estate's base region is what no region shows
    ireland = png(region="eu-west-1")
    assert ireland != home
    assert png(region="eu-west-1", metrics=[[*CPU, {"region": BASE_REGION}]]) == home
    assert png(metrics=[[*CPU, {"region": "eu-west-1"}]]) == ireland


def test_stacked_fills_under_each_row() -> None:
    flat, stacked = draw(metrics=[CPU, CPU2]), draw(metrics=[CPU, CPU2], stacked=True)
    column = 300
    lowest = int(np.nonzero(near(stacked[:-30, column], BLUE, 40))[0].max())  # the first row's line
    assert shaded(stacked, flat, lowest + 20, column)  # the area under it is filled


@pytest.mark.parametrize("stat", ["SampleCount", "Sum", "Minimum", "Maximum", "p50", "p99.9", "tm90",
                                  "TM(10%:90%)", "WM(5%:95%)", "TC(:95%)", "TS(10%:)", "PR(:300)", "IQM"])
def test_every_statistic_draws(stat: str) -> None:
    assert draw(stat=stat, metrics=[[*ALB, {"stat": stat}]]).shape == (400, 600, 3)


def test_statistic_changes_the_picture() -> None:
    assert len({png(stat=stat) for stat in ("Average", "Maximum", "Minimum", "p99", "SampleCount")}) == 5


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_theme_sets_the_background(theme: str) -> None:
    image = draw(theme=theme)
    assert near(image[:1, :1], THEMES[theme].background).all()
    assert near(image, THEMES[theme].background).mean() > 0.8


def test_timezone_moves_the_ticks() -> None:
    assert png(timezone="+0000") == png()
    assert png(timezone="+0530") != png() != png(timezone="-0800")
    assert png(timezone="+0100") != png()  # hourly labels read differently, even where the ticks stay


def test_title_is_drawn_at_the_top() -> None:
    corner = (slice(0, 20), slice(40, 200))  # right of the top tick label
    ink = THEMES["light"].text
    assert near(draw(title="CPU of the web tier")[corner], ink, 60).sum() > 30
    assert near(draw()[corner], ink, 60).sum() == 0
    assert png(title="One") != png(title="Two")


def test_each_view_draws_differently() -> None:
    metrics = [ALB, ["...", "app/api/2"]]
    views = ("timeSeries", "bar", "pie", "singleValue", "gauge", "table")
    assert len({png(view=view, metrics=metrics) for view in views}) == len(views)


def test_bar_and_pie_use_the_palette_in_blocks() -> None:
    for view in ("bar", "pie"):
        image = draw(view=view, metrics=[ALB, ["...", "app/api/2"], ["...", "app/admin/3"]],
                     legend={"position": "hidden"})
        assert all(len(blocks(image, colour, 20)) > 0 for colour in PALETTE[:3])


def test_set_period_to_time_range_changes_bars_pies_and_single_values() -> None:
    for view in ("bar", "pie", "singleValue", "gauge"):
        doc = {"view": view, "stat": "Sum", "metrics": [ALB, ["...", "app/api/2"]]}
        assert png(**doc) != png(setPeriodToTimeRange=True, **doc)


def test_single_value_options_change_the_picture() -> None:
    doc = {"view": "singleValue", "metrics": [ALB, CPU]}
    variants = [{}, {"sparkline": True}, {"singleValueFullPrecision": True}, {"trend": True}]
    assert len({png(**doc, **variant) for variant in variants}) == 4


def test_pie_labels_write_on_the_chart() -> None:
    doc = {"view": "pie", "metrics": [ALB, ["...", "app/api/2"]], "legend": {"position": "hidden"}}
    plain, labelled = draw(**doc), draw(labels={"visible": True}, **doc)
    muted = THEMES["light"].muted
    assert near(plain, muted, 40).sum() == 0 and near(labelled, muted, 40).sum() > 50  # the labels outside
    assert near(labelled, "#ffffff").sum() > near(plain, "#ffffff").sum()  # a smaller pie, and shares on it


def test_fixed_y_axis_max_squeezes_the_data() -> None:
    auto, fixed = draw(), draw(yAxis={"left": {"min": 0, "max": 400}})
    assert series_top(fixed) > series_top(auto) + 100


def test_y_axis_min_below_zero_lifts_the_data() -> None:
    assert series_top(draw(yAxis={"left": {"min": -100, "max": 100}})) < series_top(draw(yAxis={"left": {"max": 100}}))


def test_y_axis_label_and_units() -> None:
    def margin_ink(**doc: Any) -> int:
        return int(near(draw(**doc)[100:300, :30], THEMES["light"].muted, 60).sum())

    ticks_only = margin_ink(yAxis={"left": {"showUnits": False}})
    assert margin_ink() > ticks_only + 20  # "Percent", the unit
    assert margin_ink(yAxis={"left": {"showUnits": False, "label": "Busy"}}) > ticks_only + 10
    assert png(yAxis={"left": {"label": "Busy"}}) != png(yAxis={"left": {"label": "Idle"}})


def test_right_axis_appears_for_its_rows() -> None:
    right_margin = (slice(30, 330), slice(560, 600))
    ink = THEMES["light"].muted
    left_only = draw(metrics=[ALB, ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web/1"]])
    both = draw(metrics=[ALB, ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web/1",
                               {"yAxis": "right"}]])
    assert near(left_only[right_margin], ink, 60).sum() == 0
    assert near(both[right_margin], ink, 60).sum() > 50


def test_rows_only_on_the_right_draw_no_left_axis() -> None:
    image = draw(metrics=[[*CPU, {"yAxis": "right"}]])
    ink = THEMES["light"].muted
    assert near(image[30:330, :25], ink, 60).sum() == 0  # no tick labels on the left
    assert near(image[30:330, 560:], ink, 60).sum() > 50


# ---- legend and palette -------------------------------------------------------------------------------------------


def test_legend_positions() -> None:
    metrics = [CPU, CPU2]
    bottom = blocks(draw(metrics=metrics), PALETTE[1])
    right = blocks(draw(metrics=metrics, legend={"position": "right"}), PALETTE[1])
    hidden = blocks(draw(metrics=metrics, legend={"position": "hidden"}), PALETTE[1])
    assert bottom and all(row > 370 for row, _ in bottom)
    assert right and all(column > 380 and row < 100 for row, column in right)
    assert hidden == []


def test_rows_take_the_palette_in_order() -> None:
    metrics = [CPU] + [["...", f"i-{n}"] for n in range(2, 11)]
    image = draw(metrics=metrics, height=500, width=900)
    first = [min(blocks(image, colour)) for colour in PALETTE]  # each swatch's top-left, read row by row
    assert first == sorted(first)
    eleventh = draw(metrics=[*metrics, ["...", "i-11"]], height=500, width=900)
    assert len(blocks(eleventh, PALETTE[0])) > len(blocks(image, PALETTE[0]))  # the palette starts again


def test_hidden_rows_leave_no_trace() -> None:
    assert png(metrics=[[*CPU, {"visible": False}], CPU2]) == png(metrics=[CPU2])


def test_row_colour_is_drawn_exactly() -> None:
    image = draw(metrics=[[*CPU, {"color": "#123456"}]])
    assert blocks(image, "#123456") and near(image, "#123456").sum() > 200
    assert not blocks(image, BLUE)


def test_rows_that_share_a_name_are_told_apart_in_the_legend() -> None:
    assert png(metrics=[CPU, CPU2]) != png(metrics=[[*CPU, {"label": "CPUUtilization"}],
                                                    [*CPU2, {"label": "CPUUtilization"}]])
    assert png(metrics=[CPU, CPU2]) == png(metrics=[[*CPU, {"label": "i-1 CPUUtilization"}],
                                                    [*CPU2, {"label": "i-2 CPUUtilization"}]])


# ---- metric rows --------------------------------------------------------------------------------------------------


def test_every_dimension_pair_names_the_metric() -> None:
    row = ["AWS/ApiGateway", "Count", "ApiName", "orders", "Stage", "prod", "Method", "GET", "Resource", "/cart"]
    assert png(metrics=[row]) != png(metrics=[[*row[:-1], "/checkout"]])


def test_dot_shorthand_draws_the_same_rows() -> None:
    spelled = [ALB, ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/api/2"],
               ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "app/api/2"]]
    assert png(metrics=spelled) == png(metrics=[ALB, [".", ".", ".", "app/api/2"],
                                                [".", "HTTPCode_Target_5XX_Count", ".", "."]])
    assert png(metrics=spelled[:2]) == png(metrics=[ALB, ["...", "app/api/2"]])


def test_row_stat_period_and_axis_options_change_the_picture() -> None:
    base = png(metrics=[ALB, CPU])
    for option in ({"stat": "Maximum"}, {"period": 60}, {"yAxis": "right"}, {"label": "cpu"}, {"id": "m1"}):
        changed = png(metrics=[ALB, [*CPU, option]])
        assert (changed == base) == (option == {"id": "m1"}), option


def test_expression_rows_draw() -> None:
    image = draw(metrics=[[*CPU, {"id": "a"}], [*CPU2, {"id": "b", "visible": False}],
                          [{"expression": "a - b", "id": "d", "color": "#654321"}]])
    assert blocks(image, "#654321")


# ---- missing data -------------------------------------------------------------------------------------------------

HOUR = {"start": "2026-11-26T11:00:00Z", "end": "2026-11-26T12:00:00Z", "period": 60}
MINUTE_MARKS = np.arange(60)
HOLE = (MINUTE_MARKS >= 20) & (MINUTE_MARKS < 30)  # ten minutes without a point


def hour_of(values: npt.ArrayLike, keep: npt.NDArray[np.bool_] | None = None) -> Series:
    """Stored data for HOUR: a point each minute, or only at the minutes ``keep`` marks."""
    timestamps = int(datetime(2026, 11, 26, 11, tzinfo=UTC).timestamp()) + 60 * MINUTE_MARKS
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), timestamps.shape)
    chosen = np.ones(60, dtype=bool) if keep is None else keep
    return Series(timestamps[chosen], values[chosen], "Count")


def draw_stored(metrics: list[Any], fetched: list[Series | None], **doc: Any) -> Pixels:
    return rgb_array(render_png(parse_widget(json.dumps({**HOUR, "metrics": metrics, **doc}), now=NOW), fetched))


def coloured(image: Pixels) -> npt.NDArray[np.bool_]:
    """Where ``image`` has a colour rather than a grey: series lines, areas and swatches, not text or grid."""
    return (image.max(axis=-1).astype(np.int16) - image.min(axis=-1)) > 40  # type: ignore[no-any-return]


def minute_columns(image: Pixels, *minutes: float) -> list[int]:
    """The pixel columns of ``minutes`` past 11:00 in a picture whose coloured pixels (its data, legend cut
    off) run from minute 0 to minute 59."""
    columns = np.nonzero(coloured(image).any(axis=0))[0]
    first, last = int(columns.min()), int(columns.max())
    return [round(first + (last - first) * minute / 59) for minute in minutes]


def orange(image: Pixels) -> npt.NDArray[np.bool_]:
    """Where ``image`` has the second palette colour (#ff7f0e), as a line or as a shade over white: far more
    red than blue, where the first colour and the greys are not."""
    return image[..., 0].astype(np.int16) - image[..., 2] > 40  # type: ignore[no-any-return]


RAMP = 10 + MINUTE_MARKS % 7
API = [*ALB[:3], "app/api/2"]
# (rows, options, what to look for): the metric rows but the first of a stacked chart have the hole.
GAP_WIDGETS: dict[str, tuple[list[Any], dict[str, Any], Any]] = {
    "metric": ([ALB], {}, coloured),
    "expression": ([[*ALB, {"id": "m1", "visible": False}], [{"expression": "m1 * 2", "id": "e1"}]], {}, coloured),
    "anomaly band": ([[*ALB, {"id": "m1", "visible": False}],
                      [{"expression": "ANOMALY_DETECTION_BAND(m1, 2)", "id": "b"}]], {}, coloured),
    "stacked": ([ALB, API], {"stacked": True}, orange),
    "sparkline": ([ALB], {"view": "singleValue", "sparkline": True}, coloured),
}


@pytest.mark.parametrize(("metrics", "doc", "colour"), GAP_WIDGETS.values(), ids=GAP_WIDGETS.keys())
def test_missing_points_leave_a_gap_in_the_line(metrics: list[Any], doc: dict[str, Any],
                                                colour: Callable[[Pixels], npt.NDArray[np.bool_]]) -> None:
    """CloudWatch draws no line across missing data: in the middle of a ten-minute hole, nothing of the row's
    colour; with the hole filled, its line (or area, or band) crosses there."""
    def drawn(keep: npt.NDArray[np.bool_] | None) -> Pixels:
        fetched = [None if "expression" in row[0] else hour_of(RAMP, None if index == 0 and doc.get("stacked")
                                                                else keep)
                   for index, row in enumerate(metrics)]
        return draw_stored(metrics, fetched, legend={"position": "hidden"}, **doc)

    whole, holed = drawn(None), drawn(~HOLE)
    middle = minute_columns(whole, 24, 24.5, 25)
    assert colour(whole)[:, middle].any(axis=0).all()
    assert not colour(holed)[:, middle].any()
    assert colour(holed)[:, minute_columns(whole, 10, 40)].any(axis=0).all()  # the points either side are drawn


def test_a_point_alone_between_gaps_is_a_dot() -> None:
    alone = HOLE | ((MINUTE_MARKS >= 30) & (MINUTE_MARKS < 40))
    alone[30] = False
    image = draw_stored([ALB], [hour_of(RAMP, ~alone)], legend={"position": "hidden"})
    whole = draw_stored([ALB], [hour_of(RAMP)], legend={"position": "hidden"})
    dot, before, after = (minute_columns(whole, minute)[0] for minute in (30, 25, 35))
    assert coloured(image)[:, dot - 1:dot + 2].sum() >= 3
    assert coloured(image)[:, [before, after]].sum() == 0


def test_stacked_rows_without_gaps_stack_as_before() -> None:
    """Rows on one grid: each area starts where the row below ends, with nothing lost at any minute."""
    image = draw_stored([ALB, [*ALB[:3], "app/api/2"]], [hour_of(RAMP), hour_of(RAMP + 3)], stacked=True,
                        legend={"position": "hidden"})
    orange = near(image, PALETTE[1], 150) & ~near(image, PALETTE[0], 150)
    columns = minute_columns(image, *range(1, 59, 4))
    assert orange[:, columns].any(axis=0).all()


# ---- dynamic labels -----------------------------------------------------------------------------------------------


def _values(row: list[Any]) -> Any:
    widget = parse_widget(json.dumps({"metrics": [row]}), now=NOW)
    return row_series(widget)[0][0].series


def test_property_labels() -> None:
    label = "${PROP('Dim.InstanceId')} ${PROP('MetricName')} ${PROP('Namespace')} ${PROP('Stat')} ${PROP('Period')}"
    assert png(metrics=[[*CPU, {"label": label}]]) == png(metrics=[[*CPU, {"label": "i-1 CPUUtilization AWS/EC2 "
                                                                                    "Average 300"}]])


def test_region_and_account_labels_come_from_the_row_or_the_widget() -> None:
    label = "${PROP('Region')} ${PROP('AccountId')}"
    assert png(region="eu-west-1", metrics=[[*CPU, {"label": label, "accountId": "123456789012"}]]) == png(
        region="eu-west-1", metrics=[[*CPU, {"label": "eu-west-1 123456789012"}]])


def test_value_labels_over_the_window() -> None:
    data = _values(CPU)
    values = data.values
    expected = {
        "${AVG}": values.mean(), "${MAX}": values.max(), "${MIN}": values.min(), "${SUM}": values.sum(),
        "${FIRST}": values[0], "${LAST}": values[-1], "${MIN_MAX_RANGE}": values.max() - values.min(),
    }
    label = " ".join(expected)
    literal = " ".join(_compact(float(value)) for value in expected.values())
    assert png(metrics=[[*CPU, {"label": label}]]) == png(metrics=[[*CPU, {"label": literal}]])
    peak = datetime.fromtimestamp(int(data.timestamps[values.argmax()]), UTC) + timedelta(hours=1)
    assert png(timezone="+0100", metrics=[[*CPU, {"label": "${MAX_TIME} ${DATAPOINT_COUNT} ${LABEL}"}]]) == png(
        timezone="+0100", metrics=[[*CPU, {"label": f"{peak:%Y-%m-%d %H:%M} 36 CPUUtilization"}]])


def test_labels_of_a_row_without_data_and_unknown_placeholders() -> None:
    label = "${AVG} ${DATAPOINT_COUNT} ${NOT_A_LABEL} ${PROP('Dim.Missing')}"
    assert png(metrics=[[*NODATA, {"label": label}]]) == png(
        metrics=[[*NODATA, {"label": "-- 0 ${NOT_A_LABEL} ${PROP('Dim.Missing')}"}]])


def test_compact_numbers() -> None:
    assert [_compact(v) for v in (0, 1, 42.0, 42.345, 999.5, 1234, -1500, 999_999, 2.5e9, 3.2e12, 0.5, 0.00012)] == [
        "0", "1", "42", "42.3", "1k", "1.23k", "-1.5k", "1M", "2.5G", "3.2T", "0.5", "0.00012"]


# ---- time axis ----------------------------------------------------------------------------------------------------


def _ticks(start: str, end: str, offset_hours: float, most: int = 7) -> list[str]:
    first, last = (datetime.fromisoformat(text).timestamp() for text in (start, end))
    return _time_ticks(first, last, timedelta(hours=offset_hours), most)[1]


@pytest.mark.parametrize(("start", "end", "offset", "labels"), [
    ("2026-11-26T09:00Z", "2026-11-26T12:00Z", 0, ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]),
    ("2026-11-26T09:00Z", "2026-11-26T12:00Z", 5.5, ["14:30", "15:00", "15:30", "16:00", "16:30", "17:00", "17:30"]),
    ("2026-11-26T11:58Z", "2026-11-26T12:00Z", 0, ["11:58:00", "11:58:30", "11:59:00", "11:59:30", "12:00:00"]),
    ("2026-11-19T12:00Z", "2026-11-26T12:00Z", 0, ["11/20", "11/21", "11/22", "11/23", "11/24", "11/25", "11/26"]),
    ("2026-11-23T00:00Z", "2026-11-26T00:00Z", -8, ["11/23", "12:00", "11/24", "12:00", "11/25", "12:00"]),
    # Four weeks from Sunday 20:00 UTC, which is already Monday 01:30 in India: weeks start on local Mondays.
    ("2026-11-01T20:00Z", "2026-11-29T20:00Z", 0, ["11/02", "11/09", "11/16", "11/23"]),
    ("2026-11-01T20:00Z", "2026-11-29T20:00Z", 5.5, ["11/09", "11/16", "11/23", "11/30"]),
    # From Monday 04:00 UTC, which is still Sunday evening in California.
    ("2026-11-02T04:00Z", "2026-11-30T04:00Z", 0, ["11/09", "11/16", "11/23", "11/30"]),
    ("2026-11-02T04:00Z", "2026-11-30T04:00Z", -8, ["11/02", "11/09", "11/16", "11/23"]),
    # Three months: every other Monday.
    ("2026-08-31T04:00Z", "2026-11-30T04:00Z", 0, ["09/14", "09/28", "10/12", "10/26", "11/09", "11/23"]),
    ("2026-08-31T04:00Z", "2026-11-30T04:00Z", -8, ["08/31", "09/14", "09/28", "10/12", "10/26", "11/09", "11/23"]),
    ("2026-08-26T00:00Z", "2026-11-26T00:00Z", 5.5, ["08/31", "09/14", "09/28", "10/12", "10/26", "11/09", "11/23"]),
    # Longer: the 1st of every month, of every other one, then years.
    ("2026-05-31T20:00Z", "2026-11-30T20:00Z", 0, ["06/01", "07/01", "08/01", "09/01", "10/01", "11/01"]),
    ("2026-05-31T20:00Z", "2026-11-30T20:00Z", 5.5, ["07/01", "08/01", "09/01", "10/01", "11/01", "12/01"]),
    ("2025-12-31T20:00Z", "2026-12-31T20:00Z", 5.5, ["03/01", "05/01", "07/01", "09/01", "11/01", "01/01"]),
    ("2021-11-26T00:00Z", "2026-11-26T00:00Z", -8, ["2022", "2023", "2024", "2025", "2026"]),
])
def test_time_ticks_are_round_local_times(start: str, end: str, offset: float, labels: list[str]) -> None:
    assert _ticks(start, end, offset) == labels


@pytest.mark.parametrize("offset", [0, 5.5, -8])
@pytest.mark.parametrize(("days", "most"), [(28, 7), (28, 2), (91, 7), (70, 5)])
def test_weekly_ticks_fall_on_local_monday_midnights(days: int, most: int, offset: float) -> None:
    end = datetime(2026, 11, 26, 12, 34, tzinfo=UTC).timestamp()
    positions = _time_ticks(end - days * 86400, end, timedelta(hours=offset), most)[0]
    local = [datetime.fromtimestamp(p, UTC) + timedelta(hours=offset) for p in positions]
    assert len(local) >= 2 and {(t.weekday(), t.hour, t.minute) for t in local} == {(0, 0, 0)}


@pytest.mark.parametrize(("start", "end", "offset", "most", "labels"), [
    # Thirty days without a 1st of a month on a narrow axis: every other fortnightly Monday, or each.
    ("2026-01-02T00:00Z", "2026-01-31T00:00Z", 0, 2, ["01/05", "01/19"]),
    ("2026-01-02T00:00Z", "2026-01-31T12:00Z", -8, 2, ["01/05", "01/19"]),
    ("2026-01-02T00:00Z", "2026-01-31T00:00Z", 0, 1, ["01/05"]),
    # Tuesday to Saturday noon is too long for two-day ticks and holds no Monday: every other two-day tick.
    ("2026-11-03T00:00Z", "2026-11-07T12:00Z", 0, 2, ["11/03", "11/07"]),
    # 250 seconds from 12:00:10 is too long for two-minute ticks and holds no five-minute one.
    ("2026-11-26T12:00:10Z", "2026-11-26T12:04:20Z", 0, 2, ["12:02", "12:04"]),
])
def test_a_narrow_axis_still_gets_a_time(start: str, end: str, offset: float, most: int, labels: list[str]) -> None:
    assert _ticks(start, end, offset, most) == labels


@pytest.mark.parametrize("most", [1, 2, 3, 7])
@pytest.mark.parametrize("days", [2.5 / 86400, 250 / 86400, 0.3, 3.2, 4.5, 9, 29, 30, 31, 45, 400])
def test_every_time_axis_gets_at_least_one_tick(days: float, most: int) -> None:
    """And at most ``most`` steps between the first and the last: one more tick when both ends are round."""
    for offset, shift in itertools.product((0, 5.5, -8), range(0, 60 * 86400, 86400 * 13 // 10 + 3607)):
        start = datetime(2026, 1, 1, tzinfo=UTC).timestamp() + shift
        positions = _time_ticks(start, start + days * 86400, timedelta(hours=offset), most)[0]
        assert 1 <= len(positions) <= most + 1, (start, offset)


# ---- annotations --------------------------------------------------------------------------------------------------


def test_horizontal_annotations_sit_where_their_values_are() -> None:
    image = draw(metrics=[NODATA], yAxis={"left": {"min": 0, "max": 100}}, annotations={"horizontal": [
        {"value": 0, "color": "#ff0000"}, {"value": 50, "color": "#00ff00"}, {"value": 100, "color": "#0000ff"}]})
    low, middle, high = (np.mean(line_rows(image, colour)) for colour in ("#ff0000", "#00ff00", "#0000ff"))
    assert high < middle < low and abs(middle - (low + high) / 2) <= 1


def test_horizontal_fill_above_below_and_band() -> None:
    doc: dict[str, Any] = {"metrics": [NODATA], "yAxis": {"left": {"min": 0, "max": 100}}}
    plain = draw(**doc)
    frame = line_rows(draw(**doc, annotations={"horizontal": [{"value": 100, "color": "#000000"},
                                                              {"value": 0, "color": "#000000"}]}), "#000000")
    top, bottom = frame[0], frame[-1]
    rows = [round(bottom - (bottom - top) * value / 100) for value in (85, 55, 35)]  # clear of the grid lines

    def shading(annotation: Any) -> list[bool]:
        image = draw(**doc, annotations={"horizontal": [annotation]})
        return [shaded(image, plain, row, 100) for row in rows]

    assert shading({"value": 60, "fill": "above", "color": "#9467bd"}) == [True, False, False]
    assert shading({"value": 40, "fill": "below", "color": "#9467bd"}) == [False, False, True]
    assert shading([{"value": 40, "color": "#9467bd", "fill": "above"}, {"value": 60}]) == [False, True, False]
    assert shading({"value": 60, "color": "#9467bd"}) == [False, False, False]


def test_annotations_on_the_right_axis_use_its_scale() -> None:
    doc = {"metrics": [ALB, ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web/1",
                             {"yAxis": "right"}]],
           "yAxis": {"left": {"min": 0, "max": 4000}, "right": {"min": 0, "max": 1}}}
    on_left = line_rows(draw(**doc, annotations={"horizontal": [{"value": 0.5, "color": "#ff0000"}]}), "#ff0000")
    on_right = line_rows(draw(**doc, annotations={"horizontal": [{"value": 0.5, "color": "#ff0000",
                                                                  "yAxis": "right"}]}), "#ff0000")
    bottom = line_rows(draw(**doc, annotations={"horizontal": [{"value": 0, "color": "#ff0000"}]}), "#ff0000")
    assert abs(on_left[0] - bottom[0]) <= 1  # 0.5 of 4000 is the floor
    assert on_right[0] < bottom[0] - 100     # half way up on the right axis


def test_visible_horizontal_annotations_stretch_the_axis_hidden_ones_do_not() -> None:
    plain = draw()
    stretched = draw(annotations={"horizontal": [{"value": 500, "color": "#ff0000"}]})
    hidden = png(annotations={"horizontal": [{"value": 500, "color": "#ff0000", "visible": False}]})
    assert series_top(stretched) > series_top(plain) + 150
    assert line_rows(stretched, "#ff0000")
    assert hidden == png()


def test_vertical_annotations_fill_before_and_after() -> None:
    doc: dict[str, Any] = {"metrics": [NODATA]}
    plain = draw(**doc)
    moment = "2026-11-26T10:30:00Z"  # the middle of the window
    line = line_columns(draw(**doc, annotations={"vertical": [{"value": moment, "color": "#ff0000"}]}), "#ff0000")
    assert line and abs(np.mean(line) - 300) < 20
    row = 100

    def shading(annotation: Any, columns: list[int]) -> list[bool]:
        image = draw(**doc, annotations={"vertical": [annotation]})
        return [shaded(image, plain, row, column) for column in columns]

    left, right = line[0] - 60, line[-1] + 60
    assert shading({"value": moment, "color": "#ff0000", "fill": "after"}, [left, right]) == [False, True]
    assert shading({"value": moment, "color": "#ff0000", "fill": "before"}, [left, right]) == [True, False]
    assert shading({"value": moment, "color": "#ff0000"}, [left, right]) == [False, False]
    band = [{"value": "2026-11-26T10:00:00Z", "color": "#ff0000", "fill": "before"}, {"value": "2026-11-26T11:00:00Z"}]
    assert shading(band, [line[0] - 150, line[0] - 10, line[-1] + 150]) == [False, True, False]


def test_annotation_labels_and_hidden_vertical_annotations() -> None:
    line = {"value": "2026-11-26T10:30:00Z", "color": "#ff0000"}
    assert png(annotations={"vertical": [line]}) != png(annotations={"vertical": [{**line, "label": "deploy"}]})
    assert png(annotations={"vertical": [{**line, "visible": False}]}) == png()


# ---- missing data -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [
    {"metrics": [CPU, NODATA]},
    {"metrics": [CPU, NODATA], "legend": {"position": "right"}},
    {"metrics": [CPU, NODATA], "legend": {"position": "hidden"}},
    {"metrics": [CPU, NODATA], "view": "bar"},
    {"metrics": [CPU, NODATA], "view": "singleValue"},
    {"metrics": [CPU, NODATA], "view": "gauge"},
    {"metrics": [CPU, NODATA], "view": "table"},
], ids=["bottom", "right", "hidden", "bar", "singleValue", "gauge", "table"])
def test_a_row_with_missing_data_gets_the_orange_warning(doc: dict[str, Any]) -> None:
    complete = {**doc, "metrics": [CPU, CPU2]}
    assert near(draw(**doc), WARNING).sum() >= 10
    assert near(draw(**complete), WARNING).sum() == 0


def test_expressions_are_not_flagged_for_their_gaps() -> None:
    image = draw(metrics=[[*CPU, {"id": "a", "visible": False}], [{"expression": "a / 0", "id": "e"}]])
    assert near(image, WARNING).sum() == 0


@pytest.mark.parametrize("view", ["timeSeries", "bar", "pie", "singleValue", "gauge", "table"])
def test_nothing_with_data_says_no_data_available(view: str) -> None:
    image = draw(view=view, metrics=[NODATA, ["Custom/App", "NoDataEither"]], legend={"position": "hidden"})
    middle = image[170:230, 200:400]
    assert near(middle, THEMES["light"].muted, 60).sum() > 40  # the message, in the middle
    assert not any(blocks(image, colour) for colour in PALETTE[:2])  # no bars, slices or gauges


# ---- table --------------------------------------------------------------------------------------------------------


def test_table_layouts_and_columns_change_the_picture() -> None:
    doc: dict[str, Any] = {"view": "table", "metrics": [CPU, CPU2]}
    variants: list[dict[str, Any]] = [
        {}, {"layout": "vertical"}, {"summaryColumns": ["MAX"]}, {"summaryColumns": ["MIN", "AVG"]},
        {"showTimeSeriesData": False, "summaryColumns": ["SUM"]}]
    assert len({png(**doc, table=variant) for variant in variants}) == len(variants)
    assert png(**doc, table={"stickySummary": True}) == png(**doc)


def test_table_rows_carry_the_palette() -> None:
    image = draw(view="table", metrics=[CPU, CPU2, ["...", "i-3"]])
    swatches = [min(blocks(image, colour)) for colour in PALETTE[:3]]
    assert swatches == sorted(swatches) and len({column for _, column in swatches}) == 1  # one under the other


def test_table_thresholds_tint_the_cells_they_cover() -> None:
    doc: dict[str, Any] = {"view": "table", "metrics": [CPU], "table": {"showTimeSeriesData": False,
                                                                       "summaryColumns": ["MIN", "MAX"]}}
    plain = draw(**doc)
    values = _values(CPU).values
    middle = float((values.min() + values.max()) / 2)
    above = draw(**doc, annotations={"horizontal": [{"value": middle, "fill": "above", "color": "#ff0000"}]})
    below = draw(**doc, annotations={"horizontal": [{"value": middle, "fill": "below", "color": "#ff0000"}]})
    pink = "#ffbfbf"  # red at a quarter over white
    assert not near(plain, pink, 8).any()
    tinted_above = np.nonzero(near(above, pink, 8).any(axis=0))[0]
    tinted_below = np.nonzero(near(below, pink, 8).any(axis=0))[0]
    assert tinted_above.size > 30 and tinted_below.size > 30
    assert tinted_below.max() < tinted_above.min()  # the Minimum cell is left of the Maximum cell


def test_a_long_table_says_how_many_rows_are_left_out() -> None:
    metrics = [CPU] + [["...", f"i-{n}"] for n in range(2, 40)]
    short, long = draw(view="table", metrics=metrics[:5]), draw(view="table", metrics=metrics)
    assert blocks(long, PALETTE[0]) and near(long[-40:], THEMES["light"].muted, 60).sum() > \
        near(short[-40:], THEMES["light"].muted, 60).sum()
