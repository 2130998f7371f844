"""The issue's list of MetricWidget properties, ticked off by name through the real wire: a boto3 CloudWatch
client calls GetMetricWidgetImage on a stand-in and the PNG is checked from the outside.

The tables, each case named for the property as the issue words it:

``PROPERTIES``    (base, changed) pairs that differ in exactly the property named. Both draw at the size asked
                  for, the same request twice gives the same bytes, and the two pictures differ noticeably
                  (more than the palette's rounding).
``SAME_PICTURE``  pairs that must draw the same bytes: keys accepted where they do not change a still image
                  (``liveData``, ``accountId``, ``sparkline`` on a time series …), defaults spelled out, and
                  equivalences that are the point (the "." shorthand, relative and absolute times for one
                  window, a widened period, ``${AVG}`` and the number it stands for, SEARCH and its rows).
``REFUSED``       values CloudWatch refuses: an InvalidParameterValue that names the key or the function.
``STATISTICS``    each statistic, and ``MATH`` each metric math function, over stored data: the numbers
``MATH``          GetMetricData returns against numpy's, and (as ``stat-*`` and ``math-*`` cases of the tables
                  above) the picture drawn with it against the one drawn with Average or the plain series.

The stand-in is private to the module: its clock stands at ``NOW``, so relative times are exact, and its store
holds ``STORED`` (small values with both signs, a counter, a series with a gap, two levels for SEARCH, and
1,500 samples every five minutes for the statistics).

Where other tests already pin a property down more precisely, they are not repeated here:

* "No data available" when nothing matches: test_render_features.py::test_nothing_with_data_says_no_data_available
* the orange marker on a row with missing data:
  test_render_features.py::test_a_row_with_missing_data_gets_the_orange_warning
* no line across missing data: test_render_features.py::test_missing_points_leave_a_gap_in_the_line,
  ::test_a_point_alone_between_gaps_is_a_dot (here: ``math-FILL-LINEAR``, which fills the gap)
* the y-range growing to show a visible annotation:
  test_render_features.py::test_visible_horizontal_annotations_stretch_the_axis_hidden_ones_do_not
* a stored 42 on a 0..100 axis at the right pixel row:
  test_store_render.py::test_a_constant_42_is_drawn_at_the_height_of_42
* the palette's exact colours: test_render.py::test_first_rows_use_cloudwatchs_palette,
  test_render_features.py::test_rows_take_the_palette_in_order (here: ``palette-in-order``)
* SI suffixes: test_render_features.py::test_compact_numbers; local-time ticks that fit the window:
  test_render_features.py::test_time_ticks_are_round_local_times (here: ``timezone-*``)
* where annotations sit and shade: test_render_features.py::test_horizontal_annotations_sit_where_their_values_are,
  ::test_horizontal_fill_above_below_and_band, ::test_vertical_annotations_fill_before_and_after,
  ::test_annotations_on_the_right_axis_use_its_scale
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from reportgen.local import BackgroundStandIn

if TYPE_CHECKING:
    from _pytest.mark import ParameterSet

Widget = dict[str, Any]
Floats = npt.NDArray[np.float64]

# ---- the stand-in and what it stores --------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 3, tzinfo=UTC)  # the stand-in's clock: relative times count back from here
WINDOW = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T03:00:00Z"}  # the three hours up to NOW
STORED_START = datetime(2026, 11, 25, tzinfo=UTC)
STORED_WINDOW = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T01:00:00Z", "period": 60}
NAMESPACE = "Test/WidgetProperties"

MINUTES = np.arange(60)
GAP = (MINUTES >= 20) & (MINUTES < 30)  # the minutes Gappy has no point in
STORED: dict[tuple[str, str], Floats] = {
    # Small values of both signs with fractions, so FLOOR, CEIL, ABS, LOG and SQRT each change the line.
    ("Signed", "h1"): 2.5 * np.sin(MINUTES / 4) + 0.3,
    # Rising by 1 to 4 a minute: RATE, DIFF and RUNNING_SUM.
    ("Counter", "h1"): np.cumsum(1.0 + MINUTES % 4),
    # A gap of ten minutes: FILL and DIFF_TIME (NaN is not stored).
    ("Gappy", "h1"): np.where(GAP, np.nan, 2.0 + MINUTES % 7),
    # SEARCH's two matches. h1 averages 5, peaks at 7 and ends at 3: the numbers ${AVG}, ${MAX}, ${LAST} stand for.
    ("Level", "h1"): 3.0 + (MINUTES + 1) % 5,
    ("Level", "h2"): 8.0 - MINUTES % 3,
}
# Two PutMetricData datums a minute of 150 values each: 1,500 samples in each 5-minute period of the hour.
SAMPLES = np.random.default_rng(20261125).uniform(0, 10, size=(120, 150)).round(3)
SAMPLES_PERIOD = 300
FAST = 1000.0  # requests per second: this module's requests come as fast as renders; rate limits are tested elsewhere


def _seed(client: Any) -> None:
    data = [{"MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}],
             "Timestamp": STORED_START + timedelta(minutes=int(minute)), "Value": float(value)}
            for (name, host), values in STORED.items() for minute, value in zip(MINUTES, values) if np.isfinite(value)]
    data += [{"MetricName": "Samples", "Dimensions": [{"Name": "Host", "Value": "h1"}],
              "Timestamp": STORED_START + timedelta(seconds=30 * index), "Values": values.tolist()}
             for index, values in enumerate(SAMPLES)]
    for first in range(0, len(data), 40):  # PutMetricData takes up to 1 MB a call
        client.put_metric_data(Namespace=NAMESPACE, MetricData=data[first:first + 40])


@pytest.fixture(scope="module")
def standin_at_now() -> Iterator[BackgroundStandIn]:
    with BackgroundStandIn(workers=2, wall_clock=NOW.timestamp, rate_limit=FAST) as running:
        yield running


@pytest.fixture(scope="module")
def _module_client() -> dict[str, Any]:
    return {}


@pytest.fixture
def client(standin_at_now: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any],
           _module_client: dict[str, Any]) -> Any:
    """One client for the module, made by the first test (under the suite's per-test AWS isolation), which
    also stores ``STORED`` and ``SAMPLES``."""
    if not _module_client:
        made = boto3_cloudwatch(standin_at_now.endpoint_url)
        _seed(made)
        _module_client["client"] = made
    return _module_client["client"]


# ---- drawing --------------------------------------------------------------------------------------------------


def _draw(client: Any, widget: Widget) -> tuple[bytes, npt.NDArray[np.int16]]:
    data: bytes = client.get_metric_widget_image(MetricWidget=json.dumps(widget))["MetricWidgetImage"]
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (widget.get("width", 600), widget.get("height", 400))
    return data, np.asarray(image.convert("RGB"), dtype=np.int16)


def _changed_pixels(one: npt.NDArray[np.int16], other: npt.NDArray[np.int16]) -> int:
    """How many pixels differ by more than the palette's rounding (a 10 % shade of a colour still counts)."""
    if one.shape != other.shape:
        return one.size
    return int((np.abs(one - other).max(axis=2) > 12).sum())


# ---- widgets --------------------------------------------------------------------------------------------------

CPU = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d"]
CPU2 = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0e1f2a3b"]
CPU3 = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0c4d5e6f"]
DISK_RIGHT = ["AWS/EC2", "DiskReadBytes", "InstanceId", "i-0a1b2c3d", {"yAxis": "right"}]
SIZE = {"width": 300, "height": 200}
SHORT = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T00:20:00Z"}  # 1,200 points at a period of 1
MONTH = {"start": "2026-10-26T03:00:00Z", "end": "2026-11-25T03:00:00Z"}  # too many points at 60 or 300
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c")  # CloudWatch's first three colours


def widget(*rows: list[Any], **keys: Any) -> Widget:
    """A 300×200 widget over WINDOW, with CPU unless ``rows`` are given."""
    return {**WINDOW, **SIZE, "metrics": list(rows) or [CPU], **keys}


def stored(name: str, *options: dict[str, Any], host: str = "h1", **keys: Any) -> Widget:
    """A widget of one stored metric over its hour at a period of 60."""
    return widget([NAMESPACE, name, "Host", host, *options], **{**STORED_WINDOW, **keys})


def samples_widget(statistic: str) -> Widget:
    """The stored samples drawn with ``statistic``, a point every five minutes."""
    return stored("Samples", period=SAMPLES_PERIOD, stat=statistic)


def search_widget(metric: str) -> Widget:
    """SEARCH for ``metric`` among the stored metrics with just a Host dimension."""
    return widget([{"expression": f"SEARCH('{{{NAMESPACE},Host}} {metric}', 'Average', 60)", "id": "e1"}],
                  **STORED_WINDOW)


def horizontal(*annotations: Any, rows: tuple[list[Any], ...] = ()) -> Widget:
    return widget(*rows, annotations={"horizontal": list(annotations)})


def vertical(*annotations: Any) -> Widget:
    return widget(annotations={"vertical": list(annotations)})


def _pairs(count: int) -> list[str]:
    """``count`` dimension pairs: D0, v0, D1, v1, …"""
    return [part for n in range(count) for part in (f"D{n}", f"v{n}")]


def case(name: str, base: Widget, changed: Widget, *, xfail: str | None = None) -> ParameterSet:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(base, changed, id=name, marks=marks)


LINE = {"value": 20}
MOMENT = "2026-11-25T01:30:00Z"


# ---- the numbers: statistics and metric math over the stored data ---------------------------------------------


def _trimmed(low: float, high: float) -> Callable[[Floats], Floats]:
    """The sorted samples between two fractions of their count (1,500 a period: the cuts fall between samples)."""
    return lambda x: x[round(low * len(x)):round(high * len(x))]


def _between(low: float, high: float) -> Callable[[Floats], Floats]:
    return lambda x: x[(x > low) & (x <= high)]


TENTH_TO_NINTH = _trimmed(0.1, 0.9)
TWO_TO_EIGHT = _between(2, 8)

# (name in the issue, statistic, what it is of one period's samples, sorted)
STATISTICS: list[tuple[str, str, Callable[[Floats], float]]] = [
    ("stat-SampleCount", "SampleCount", lambda x: len(x)),
    ("stat-Average", "Average", lambda x: x.mean()),
    ("stat-Sum", "Sum", lambda x: x.sum()),
    ("stat-Minimum", "Minimum", lambda x: x.min()),
    ("stat-Maximum", "Maximum", lambda x: x.max()),
    ("stat-pNN", "p90", lambda x: np.quantile(x, 0.9, method="inverted_cdf")),
    ("stat-pNN.N", "p99.9", lambda x: np.quantile(x, 0.999, method="inverted_cdf")),
    ("stat-TM-percent-bounds", "TM(10%:90%)", lambda x: TENTH_TO_NINTH(x).mean()),
    ("stat-TM-absolute-bounds", "TM(2:8)", lambda x: TWO_TO_EIGHT(x).mean()),
    ("stat-TC", "TC(2:8)", lambda x: len(TWO_TO_EIGHT(x))),
    ("stat-TS", "TS(10%:90%)", lambda x: TENTH_TO_NINTH(x).sum()),
    # The samples outside the kept tenth-to-ninth part take the value at its edge.
    ("stat-WM", "WM(10%:90%)", lambda x: np.clip(x, TENTH_TO_NINTH(x)[0], TENTH_TO_NINTH(x)[-1]).mean()),
    ("stat-PR", "PR(:5)", lambda x: 100 * (x <= 5).mean()),
    ("stat-IQM", "IQM", lambda x: _trimmed(0.25, 0.75)(x).mean()),
]

Key = tuple[str, str]  # a stored metric: (name, Host)
SIGNED_KEY, COUNTER_KEY, GAPPY_KEY, LEVEL1_KEY, LEVEL2_KEY = ("Signed", "h1"), ("Counter", "h1"), ("Gappy", "h1"), \
    ("Level", "h1"), ("Level", "h2")
SIGNED, COUNTER, GAPPY, LEVEL1, LEVEL2 = (STORED[key] for key in (SIGNED_KEY, COUNTER_KEY, GAPPY_KEY, LEVEL1_KEY,
                                                                   LEVEL2_KEY))
KNOWN = ~GAP
LAST_BEFORE_GAP = GAPPY[np.flatnonzero(KNOWN & (MINUTES < 20))[-1]]
Expected = tuple[npt.NDArray[np.int64], Floats]  # minutes, values


def _row_id(key: Key) -> str:
    """The id a stored metric has in the math widgets: signed, counter, gappy, level, level2."""
    name, host = key
    return name.lower() + ("" if host == "h1" else host[1:])


def _everywhere(values: Floats) -> Expected:
    return MINUTES, values


def _defined(function: Callable[[Floats], Floats], values: Floats) -> Expected:
    """``function`` of ``values`` where it is defined: CloudWatch drops the other points, leaving a gap."""
    with np.errstate(invalid="ignore", divide="ignore"):
        result = function(values)
    keep = np.isfinite(result)
    return MINUTES[keep], result[keep]


def _after_first(values: Floats, minutes: npt.NDArray[np.int64] = MINUTES) -> Expected:
    """A value from each point and the one before it: none at the first."""
    return minutes[1:], values


def math_widget(expression: str, *rows: Key) -> Widget:
    """``expression`` (labelled "e") over stored metrics (hidden, ids from ``_row_id``), legend hidden so only
    the line tells two pictures apart."""
    metrics: list[list[Any]] = [[NAMESPACE, name, "Host", host, {"id": _row_id((name, host)), "visible": False}]
                                for name, host in rows]
    return widget(*metrics, [{"expression": expression, "id": "e1", "label": "e"}], legend={"position": "hidden"},
                  **STORED_WINDOW)


@dataclass(frozen=True)
class Math:
    """An expression over stored metrics: drawn against ``base`` (the first metric's series unless given), and
    asked of GetMetricData, which must return ``expected``."""

    name: str
    expression: str
    rows: tuple[Key, ...]
    expected: Expected
    base: str | None = None
    same_picture: bool = False  # ``base`` is another way to write it: the pictures are equal, not different

    def param(self) -> ParameterSet:
        base = self.base if self.base is not None else _row_id(self.rows[0])
        return case(self.name, math_widget(base, *self.rows), math_widget(self.expression, *self.rows))


MATH = [
    Math("math-arithmetic-series-scalar", "signed * 2 + 1", (SIGNED_KEY,), _everywhere(SIGNED * 2 + 1)),
    Math("math-arithmetic-series-series", "signed - counter / 4", (SIGNED_KEY, COUNTER_KEY),
         _everywhere(SIGNED - COUNTER / 4)),
    Math("math-SUM-series", "counter / SUM(counter)", (COUNTER_KEY,), _everywhere(COUNTER / COUNTER.sum())),
    Math("math-AVG-series", "signed - AVG(signed)", (SIGNED_KEY,), _everywhere(SIGNED - SIGNED.mean())),
    Math("math-MIN-series", "signed - MIN(signed)", (SIGNED_KEY,), _everywhere(SIGNED - SIGNED.min())),
    Math("math-MAX-series", "MAX(signed) - signed", (SIGNED_KEY,), _everywhere(SIGNED.max() - SIGNED)),
    Math("math-STDDEV-series", "signed / STDDEV(signed)", (SIGNED_KEY,), _everywhere(SIGNED / SIGNED.std())),
    Math("math-SUM-METRICS", "SUM(METRICS())", (LEVEL1_KEY, LEVEL2_KEY), _everywhere(LEVEL1 + LEVEL2)),
    Math("math-AVG-METRICS", "AVG(METRICS())", (LEVEL1_KEY, LEVEL2_KEY), _everywhere((LEVEL1 + LEVEL2) / 2)),
    Math("math-MIN-METRICS", "MIN(METRICS())", (LEVEL1_KEY, LEVEL2_KEY), _everywhere(np.minimum(LEVEL1, LEVEL2))),
    Math("math-MAX-METRICS", "MAX(METRICS())", (LEVEL1_KEY, LEVEL2_KEY), _everywhere(np.maximum(LEVEL1, LEVEL2))),
    Math("math-STDDEV-METRICS", "STDDEV(METRICS())", (LEVEL1_KEY, LEVEL2_KEY),
         _everywhere(np.abs(LEVEL1 - LEVEL2) / 2)),  # the population's deviation of two values
    Math("math-AVG-METRICS-prefix", "AVG(METRICS('level'))", (LEVEL1_KEY, LEVEL2_KEY, SIGNED_KEY),
         _everywhere((LEVEL1 + LEVEL2) / 2), base="AVG(METRICS())"),
    Math("math-RATE", "RATE(counter)", (COUNTER_KEY,), _after_first(np.diff(COUNTER) / 60)),
    Math("math-DIFF", "DIFF(counter)", (COUNTER_KEY,), _after_first(np.diff(COUNTER))),
    Math("math-DIFF_TIME", "DIFF_TIME(gappy)", (GAPPY_KEY,),
         _after_first(np.diff(MINUTES[KNOWN]) * 60.0, MINUTES[KNOWN])),
    Math("math-PERIOD", "signed * PERIOD(signed)", (SIGNED_KEY,), _everywhere(SIGNED * 60), base="signed * 60",
         same_picture=True),
    Math("math-FILL-value", "FILL(gappy, 0)", (GAPPY_KEY,), _everywhere(np.where(GAP, 0, GAPPY))),
    Math("math-FILL-REPEAT", "FILL(gappy, REPEAT)", (GAPPY_KEY,), _everywhere(np.where(GAP, LAST_BEFORE_GAP, GAPPY))),
    Math("math-FILL-LINEAR", "FILL(gappy, LINEAR)", (GAPPY_KEY,),
         _everywhere(np.interp(MINUTES, MINUTES[KNOWN], GAPPY[KNOWN]))),
    Math("math-IF-comparison", "IF(signed > 1, signed, 0)", (SIGNED_KEY,),
         _everywhere(np.where(SIGNED > 1, SIGNED, 0))),
    Math("math-IF-AND", "IF(signed > 0 AND signed < 2, signed, 0)", (SIGNED_KEY,),
         _everywhere(np.where((SIGNED > 0) & (SIGNED < 2), SIGNED, 0)), base="IF(signed > 0, signed, 0)"),
    Math("math-IF-OR", "IF(signed < -1 OR signed > 2, signed, 0)", (SIGNED_KEY,),
         _everywhere(np.where((SIGNED < -1) | (SIGNED > 2), SIGNED, 0)), base="IF(signed < -1, signed, 0)"),
    Math("math-ABS", "ABS(signed)", (SIGNED_KEY,), _everywhere(np.abs(SIGNED))),
    Math("math-FLOOR", "FLOOR(signed)", (SIGNED_KEY,), _everywhere(np.floor(SIGNED))),
    Math("math-CEIL", "CEIL(signed)", (SIGNED_KEY,), _everywhere(np.ceil(SIGNED))),
    Math("math-LOG", "LOG(signed)", (SIGNED_KEY,), _defined(np.log, SIGNED)),
    Math("math-LOG10", "LOG10(signed)", (SIGNED_KEY,), _defined(np.log10, SIGNED)),
    Math("math-SQRT", "SQRT(signed)", (SIGNED_KEY,), _defined(np.sqrt, SIGNED)),
    Math("math-RUNNING_SUM", "RUNNING_SUM(signed)", (SIGNED_KEY,), _everywhere(np.cumsum(SIGNED))),
]


# ---- the tables -----------------------------------------------------------------------------------------------

PROPERTIES = [
    # Top-level keys.
    case("metrics", widget(CPU), widget(CPU, CPU2)),
    case("annotations", widget(), horizontal(LINE)),
    case("start-absolute", widget(), widget(start="2026-11-25T01:00:00Z")),
    case("end-absolute", widget(), widget(end="2026-11-25T02:00:00Z")),
    case("start-relative", widget(start="-PT3H", end="P0D"), widget(start="-PT2H", end="P0D")),
    case("start-relative-fractional", widget(start="-PT3H", end="P0D"), widget(start="-PT2.5H", end="P0D")),
    case("end-relative", widget(start="-PT3H", end="P0D"), widget(start="-PT3H", end="-PT1H")),
    case("width", widget(), widget(width=420)),
    case("height", widget(), widget(height=260)),
    case("width-height-default-600x400", widget(), {**WINDOW, "metrics": [CPU]}),
    case("width-height-minimum-1", widget(), widget(width=1, height=1)),
    case("width-maximum-2000", widget(), widget(width=2000, height=120)),
    case("height-maximum-2000", widget(), widget(width=120, height=2000)),
    case("legend-right", widget(CPU, CPU2), widget(CPU, CPU2, legend={"position": "right"})),
    case("legend-hidden", widget(CPU, CPU2), widget(CPU, CPU2, legend={"position": "hidden"})),
    case("period-1", widget(period=60, **SHORT), widget(period=1, **SHORT)),
    case("period-5", widget(period=60, **SHORT), widget(period=5, **SHORT)),
    case("period-10", widget(period=60, **SHORT), widget(period=10, **SHORT)),
    case("period-30", widget(period=60, **SHORT), widget(period=30, **SHORT)),
    case("period-60", widget(), widget(period=60)),
    case("period-multiple-of-60", widget(), widget(period=900)),
    case("region", widget([*CPU, {"label": "${PROP('Region')}"}], region="us-east-1"),
         widget([*CPU, {"label": "${PROP('Region')}"}], region="eu-west-1")),
    case("region-selects-the-data", widget(region="us-east-1"), widget(region="eu-west-1")),
    case("stacked", widget(CPU, CPU2), widget(CPU, CPU2, stacked=True)),
    *(case(name, samples_widget("Average"), samples_widget(statistic))
      for name, statistic, _ in STATISTICS if statistic != "Average"),
    # The same statistics over synthetic data, which has no samples to show but must still draw each one.
    *(case(f"{name}-synthetic", widget(), widget(stat=statistic))
      for name, statistic, _ in STATISTICS if statistic != "Average"),
    case("theme-dark", widget(), widget(theme="dark")),
    case("timezone-plus-HHMM", widget(), widget(timezone="+0530")),
    case("timezone-minus-HHMM", widget(), widget(timezone="-0800")),
    case("title", widget(), widget(title="Fleet CPU")),
    case("view-bar", widget(CPU, CPU2), widget(CPU, CPU2, view="bar")),
    case("view-pie", widget(CPU, CPU2), widget(CPU, CPU2, view="pie")),
    case("view-singleValue", widget(CPU, CPU2), widget(CPU, CPU2, view="singleValue")),
    case("view-gauge", widget(CPU, CPU2), widget(CPU, CPU2, view="gauge")),
    case("view-table", widget(CPU, CPU2), widget(CPU, CPU2, view="table")),
    case("yAxis-left-min", widget(), widget(yAxis={"left": {"min": -50}})),
    case("yAxis-left-max", widget(), widget(yAxis={"left": {"max": 200}})),
    case("yAxis-left-label", widget(), widget(yAxis={"left": {"label": "CPU %"}})),
    case("yAxis-left-showUnits", widget(), widget(yAxis={"left": {"showUnits": False}})),
    case("yAxis-right-min", widget(CPU, DISK_RIGHT), widget(CPU, DISK_RIGHT, yAxis={"right": {"min": -1e8}})),
    case("yAxis-right-max", widget(CPU, DISK_RIGHT), widget(CPU, DISK_RIGHT, yAxis={"right": {"max": 1e9}})),
    case("yAxis-right-label", widget(CPU, DISK_RIGHT), widget(CPU, DISK_RIGHT, yAxis={"right": {"label": "Reads"}})),
    case("yAxis-right-showUnits", widget(CPU, DISK_RIGHT),
         widget(CPU, DISK_RIGHT, yAxis={"right": {"showUnits": False}})),
    # Dashboard keys, where they change the picture.
    case("setPeriodToTimeRange", widget(view="singleValue"), widget(view="singleValue", setPeriodToTimeRange=True)),
    case("sparkline", widget(view="singleValue"), widget(view="singleValue", sparkline=True)),
    case("trend", widget(view="singleValue"), widget(view="singleValue", trend=True)),
    case("singleValueFullPrecision", widget(view="singleValue"),
         widget(view="singleValue", singleValueFullPrecision=True)),
    case("labels-visible", widget(CPU, CPU2, view="pie"), widget(CPU, CPU2, view="pie", labels={"visible": True})),
    case("table-layout", widget(CPU, CPU2, view="table"),
         widget(CPU, CPU2, view="table", table={"layout": "vertical"})),
    case("table-summaryColumns", widget(CPU, CPU2, view="table"),
         widget(CPU, CPU2, view="table", table={"summaryColumns": ["MAX", "AVG"]})),
    case("accountId-in-label", widget([*CPU, {"label": "${PROP('AccountId')}"}], accountId="111111111111"),
         widget([*CPU, {"label": "${PROP('AccountId')}"}], accountId="222222222222")),
    # Metric rows.
    case("namespace", widget(CPU), widget(["Custom/EC2", *CPU[1:]])),
    case("metric-name", widget(CPU), widget([CPU[0], "CPUCreditUsage", *CPU[2:]])),
    case("dimension-pairs-none-to-one", widget(CPU[:2]), widget(CPU)),
    case("dimension-pairs-one-to-two", widget(CPU), widget([*CPU, "AutoScalingGroupName", "web"])),
    case("dimension-pairs-nine-to-ten", widget([*CPU[:2], *_pairs(9)]), widget([*CPU[:2], *_pairs(10)])),
    case("option-label", widget(CPU), widget([*CPU, {"label": "web server"}])),
    case("option-color", widget(CPU), widget([*CPU, {"color": "#9467bd"}])),
    case("option-stat", widget(CPU), widget([*CPU, {"stat": "Maximum"}])),
    case("option-period", widget(CPU), widget([*CPU, {"period": 60}])),
    case("option-yAxis", widget(CPU, CPU2), widget(CPU, [*CPU2, {"yAxis": "right"}])),
    case("option-visible", widget(CPU, CPU2), widget(CPU, [*CPU2, {"visible": False}])),
    case("option-region", widget([*CPU, {"label": "${PROP('Region')}", "region": "us-east-1"}]),
         widget([*CPU, {"label": "${PROP('Region')}", "region": "ap-south-1"}])),
    case("option-accountId", widget([*CPU, {"label": "${PROP('AccountId')}", "accountId": "111111111111"}]),
         widget([*CPU, {"label": "${PROP('AccountId')}", "accountId": "222222222222"}])),
    case("option-expression", widget([*CPU, {"id": "m1"}]),
         widget([*CPU, {"id": "m1"}], [{"expression": "m1 / 2", "id": "e1"}])),
    case("label-dynamic", stored("Level", {"label": "Level"}), stored("Level", {"label": "Level ${MAX}"})),
    # Metric math: each against the series it works on, or the expression it refines.
    *(entry.param() for entry in MATH if not entry.same_picture),
    case("math-SEARCH", search_widget("NoSuchMetric"), search_widget("Level")),
    case("math-ANOMALY_DETECTION_BAND", math_widget("signed", SIGNED_KEY),
         math_widget("ANOMALY_DETECTION_BAND(signed)", SIGNED_KEY)),
    # Annotations.
    case("annotation-horizontal-line", widget(), horizontal(LINE)),
    case("annotation-horizontal-fill-above", horizontal(LINE), horizontal({**LINE, "fill": "above"})),
    case("annotation-horizontal-fill-below", horizontal(LINE), horizontal({**LINE, "fill": "below"})),
    case("annotation-horizontal-band", horizontal(LINE), horizontal([LINE, {"value": 40}])),
    case("annotation-horizontal-per-axis", horizontal(LINE, rows=(CPU, DISK_RIGHT)),
         horizontal({**LINE, "yAxis": "right"}, rows=(CPU, DISK_RIGHT))),
    case("annotation-horizontal-label", horizontal(LINE), horizontal({**LINE, "label": "Critical"})),
    case("annotation-horizontal-color", horizontal(LINE), horizontal({**LINE, "color": "#2ca02c"})),
    case("annotation-horizontal-visible", horizontal(LINE), horizontal({**LINE, "visible": False})),
    case("annotation-vertical-line", widget(), vertical({"value": MOMENT})),
    case("annotation-vertical-fill-before", vertical({"value": MOMENT}), vertical({"value": MOMENT, "fill": "before"})),
    case("annotation-vertical-fill-after", vertical({"value": MOMENT}), vertical({"value": MOMENT, "fill": "after"})),
    case("annotation-vertical-band", vertical({"value": MOMENT}),
         vertical([{"value": MOMENT}, {"value": "2026-11-25T02:15:00Z"}])),
    case("annotation-vertical-label", vertical({"value": MOMENT}), vertical({"value": MOMENT, "label": "Deploy"})),
    case("annotation-vertical-color", vertical({"value": MOMENT}), vertical({"value": MOMENT, "color": "#2ca02c"})),
    case("annotation-vertical-visible", vertical({"value": MOMENT}), vertical({"value": MOMENT, "visible": False})),
]


def _explicit_palette(*rows: list[Any]) -> Widget:
    return widget(*([*row, {"color": colour}] for row, colour in zip(rows, PALETTE)))


# The "." shorthand after this row.
FULL = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d", "AutoScalingGroupName", "web"]

SAME_PICTURE = [
    # Accepted where they do not change a still image.
    case("liveData", widget(), widget(liveData=True)),
    case("accountId", widget(), widget(accountId="123456789012")),
    case("sparkline-timeSeries", widget(), widget(sparkline=True)),
    case("setPeriodToTimeRange-timeSeries", widget(), widget(setPeriodToTimeRange=True)),
    case("trend-timeSeries", widget(), widget(trend=True)),
    case("singleValueFullPrecision-timeSeries", widget(), widget(singleValueFullPrecision=True)),
    case("table-stickySummary", widget(view="table"), widget(view="table", table={"stickySummary": True})),
    case("option-id", widget(CPU), widget([*CPU, {"id": "cpu"}])),
    # Defaults spelled out.
    case("legend-bottom", widget(CPU, CPU2), widget(CPU, CPU2, legend={"position": "bottom"})),
    case("theme-light", widget(), widget(theme="light")),
    case("view-timeSeries", widget(), widget(view="timeSeries")),
    case("stat-Average", widget(), widget(stat="Average")),
    case("period-300", widget(), widget(period=300)),
    case("timezone-+0000", widget(), widget(timezone="+0000")),
    case("stacked-false", widget(CPU, CPU2), widget(CPU, CPU2, stacked=False)),
    case("option-visible-true", widget(CPU), widget([*CPU, {"visible": True}])),
    # One window, written several ways (the stand-in's clock is NOW).
    case("start-relative-is-absolute", widget(), widget(start="-PT3H", end="P0D")),
    case("start-relative-unsigned", widget(start="-PT3H", end="P0D"), widget(start="PT3H", end="P0D")),
    case("start-relative-fractional-hours", widget(start="2026-11-25T01:30:00Z"), widget(start="-PT1.5H")),
    case("start-relative-fractional-days", widget(), widget(start="-P0.125D")),
    case("start-relative-minutes", widget(), widget(start="-PT180M")),
    case("end-P0D", widget(), widget(end="P0D")),
    case("start-absolute-offset", widget(), widget(start="2026-11-25T01:00:00+01:00")),
    case("period-auto-widened", widget(period=60, **MONTH), widget(period=900, **MONTH)),
    # The "." shorthand in every position is the value spelled out.
    case("dot-shorthand-namespace", widget(FULL, ["AWS/EC2", "NetworkIn", *FULL[2:]]),
         widget(FULL, [".", "NetworkIn", *FULL[2:]])),
    case("dot-shorthand-metric-name", widget(FULL, [*FULL[:3], "i-0e1f2a3b", *FULL[4:]]),
         widget(FULL, ["AWS/EC2", ".", "InstanceId", "i-0e1f2a3b", *FULL[4:]])),
    case("dot-shorthand-dimension-name", widget(FULL, [*FULL[:3], "i-0e1f2a3b", *FULL[4:]]),
         widget(FULL, [*FULL[:2], ".", "i-0e1f2a3b", ".", "web"])),
    case("dot-shorthand-dimension-value", widget(FULL, [*FULL[:4], "AutoScalingGroupName", "api"]),
         widget(FULL, [*FULL[:2], "InstanceId", ".", "AutoScalingGroupName", "api"])),
    case("dot-shorthand-every-position", widget(FULL, FULL), widget(FULL, [".", ".", ".", ".", ".", "."])),
    case("dot-shorthand-leading-ellipsis", widget(FULL, [*FULL[:5], "api"]), widget(FULL, ["...", "api"])),
    case("dot-shorthand-after-math-row", widget([*CPU, {"id": "m1"}], [{"expression": "m1 * 2"}], CPU2),
         widget([*CPU, {"id": "m1"}], [{"expression": "m1 * 2"}], [".", ".", ".", CPU2[3]])),
    # Dimension pairs name one metric in any order, as CloudWatch's metric identity does.
    case("dimension-pairs-any-order", widget(FULL), widget([*FULL[:2], *FULL[4:], *FULL[2:4]])),
    # Dynamic labels are the numbers they stand for (Level h1: average 5, maximum 7, last 3).
    case("label-AVG", stored("Level", {"label": "5"}), stored("Level", {"label": "${AVG}"})),
    case("label-MAX", stored("Level", {"label": "7"}), stored("Level", {"label": "${MAX}"})),
    case("label-LAST", stored("Level", {"label": "3"}), stored("Level", {"label": "${LAST}"})),
    case("label-PROP-Dim", stored("Level", {"label": "on h1"}), stored("Level", {"label": "on ${PROP('Dim.Host')}"})),
    # Math that is the point of an equivalence.
    *(entry.param() for entry in MATH if entry.same_picture),
    case("math-SEARCH-is-its-rows",
         widget([NAMESPACE, "Level", "Host", "h1", {"label": "h1"}],
                [NAMESPACE, "Level", "Host", "h2", {"label": "h2"}], **STORED_WINDOW),
         search_widget("Level")),
    # Look: the default palette, in row order.
    case("palette-in-order", _explicit_palette(CPU, CPU2, CPU3), widget(CPU, CPU2, CPU3)),
    case("annotation-visible-false", widget(), horizontal({**LINE, "visible": False})),
]

REFUSED = [
    pytest.param(widget(width=0), "`width` is 0", id="width-below-1"),
    pytest.param(widget(width=2001), "`width` is 2001", id="width-above-2000"),
    pytest.param(widget(height=0), "`height` is 0", id="height-below-1"),
    pytest.param(widget(height=2001), "`height` is 2001", id="height-above-2000"),
    pytest.param(widget(period=7), "`period` is 7", id="period-7"),
    pytest.param(widget(period=90), "`period` is 90", id="period-not-a-multiple-of-60"),
    pytest.param(widget(legend={"position": "top"}), "`legend.position` is 'top'", id="legend-position-unknown"),
    pytest.param(widget(theme="blue"), "`theme` is 'blue'", id="theme-unknown"),
    pytest.param(widget(view="line"), "`view` is 'line'", id="view-unknown"),
    pytest.param(widget(timezone="UTC"), "`timezone` is 'UTC'", id="timezone-not-HHMM"),
    pytest.param(widget(stat="p101"), "'p101' is not a statistic", id="stat-unknown"),
    pytest.param(math_widget("NOPE(signed)", SIGNED_KEY), "NOPE", id="math-unsupported-function"),
    pytest.param(math_widget("LOG(signed, 2)", SIGNED_KEY), "LOG", id="math-wrong-arguments"),
]


# ---- the tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "changed"), PROPERTIES)
def test_the_property_changes_the_picture(client: Any, base: Widget, changed: Widget) -> None:
    data, before = _draw(client, base)
    assert _draw(client, base)[0] == data  # deterministic, so a difference below is the property's
    _, after = _draw(client, changed)
    changed_pixels = _changed_pixels(before, after)
    assert changed_pixels >= 10, f"only {changed_pixels} pixels differ"


@pytest.mark.parametrize(("base", "changed"), SAME_PICTURE)
def test_the_picture_stays_the_same(client: Any, base: Widget, changed: Widget) -> None:
    data, before = _draw(client, base)
    other, after = _draw(client, changed)
    assert other == data, f"{_changed_pixels(before, after)} pixels differ"


def test_a_widget_without_region_shows_the_region_the_request_was_signed_for(
        standin_at_now: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    ireland, virginia = (boto3_cloudwatch(standin_at_now.endpoint_url, region=region)
                         for region in ("eu-west-1", "us-east-1"))
    labelled = widget([*CPU, {"label": "${PROP('Region')}"}])
    in_ireland = _draw(ireland, labelled)[0]
    assert in_ireland == _draw(virginia, {**labelled, "region": "eu-west-1"})[0]
    assert in_ireland != _draw(virginia, labelled)[0]
    assert in_ireland == _draw(ireland, widget([*CPU, {"label": "eu-west-1"}]))[0]


@pytest.mark.parametrize(("doc", "message"), REFUSED)
def test_refused_values_are_invalid_parameter_values_that_say_why(client: Any, doc: Widget, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.get_metric_widget_image(MetricWidget=json.dumps(doc))
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert message in error["Message"]


def _stored_query(query_id: str, name: str, host: str, statistic: str, period: int) -> dict[str, Any]:
    return {"Id": query_id, "MetricStat": {
        "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}]},
        "Period": period, "Stat": statistic}}


def _get(client: Any, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    end = STORED_START + timedelta(hours=1)
    answer = client.get_metric_data(MetricDataQueries=queries, StartTime=STORED_START, EndTime=end,
                                    ScanBy="TimestampAscending")
    results: list[dict[str, Any]] = answer["MetricDataResults"]
    return results


@pytest.mark.parametrize(("statistic", "reference"), [pytest.param(statistic, reference, id=name)
                                                      for name, statistic, reference in STATISTICS])
def test_get_metric_data_computes_the_statistic_as_numpy_does(client: Any, statistic: str,
                                                              reference: Callable[[Floats], float]) -> None:
    """The statistic of each five minutes' 1,500 stored samples; the ``stat-*`` cases of PROPERTIES show the
    widget drawn with it differs from the one drawn with Average."""
    (result,) = _get(client, [_stored_query("m1", "Samples", "h1", statistic, SAMPLES_PERIOD)])
    periods = np.sort(SAMPLES.reshape(12, -1), axis=1)
    np.testing.assert_allclose(result["Values"], [reference(period) for period in periods], rtol=1e-12)
    assert result["Timestamps"] == [STORED_START + timedelta(seconds=SAMPLES_PERIOD * n) for n in range(12)]


@pytest.mark.parametrize("entry", [pytest.param(entry, id=entry.name) for entry in MATH])
def test_get_metric_data_evaluates_the_math_as_numpy_does(client: Any, entry: Math) -> None:
    queries = [{**_stored_query(_row_id(key), *key, "Average", 60), "ReturnData": False} for key in entry.rows]
    (result,) = _get(client, [*queries, {"Id": "e1", "Expression": entry.expression}])
    minutes, values = entry.expected
    assert result["Timestamps"] == [STORED_START + timedelta(minutes=int(minute)) for minute in minutes]
    np.testing.assert_allclose(result["Values"], values, rtol=1e-12, atol=1e-12)


def test_get_metric_data_searches_the_stored_metrics(client: Any) -> None:
    """SEARCH over the store: one labelled series per match, as ``math-SEARCH-is-its-rows`` draws them."""
    results = _get(client, [{"Id": "e1", "Expression": f"SEARCH('{{{NAMESPACE},Host}} Level', 'Average', 60)"}])
    assert [result["Label"] for result in results] == ["h1", "h2"]
    for result, level in zip(results, (LEVEL1, LEVEL2)):
        np.testing.assert_allclose(result["Values"], level)
