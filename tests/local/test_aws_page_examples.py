"""Every example on AWS's "GetMetricWidgetImage: Metric Widget Structure and Syntax" page
(CloudWatch API reference, CloudWatch-Metric-Widget-Structure.html), sent through a real boto3 client to the
session stand-in and checked from the outside: the PNG decodes at the size asked for (the page's examples ask
for none, so 600×400), the same widget draws the same picture twice, and a variant with one meaningful property
removed or changed draws a different one. The options-object example, the page's only metric math, is also
checked against the numbers GetMetricData returns for the same query.

The examples are copied as the page shows them. Where the page shows a fragment (one metric row, an
``annotations`` or ``yAxis`` object), the test wraps it in the smallest widget that draws it; keys the page
writes unquoted (``{ yAxis: "right"}``) are quoted here, as JSON needs.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reportgen.local import BackgroundStandIn

Widget = dict[str, Any]

# A fixed window, so a picture depends only on the widget: it holds the page's 2018 vertical annotations.
WINDOW: Widget = {"start": "2018-08-27T00:00:00Z", "end": "2018-08-29T00:00:00Z"}

# --- "Format for Each Metric in the Array of Metrics", Examples ---------------------------------------------

# Metrics array examples, first: "The simplest example, a metric with no dimensions".
ROW_NO_DIMENSIONS = [ "AWS/EC2", "CPUUtilization" ]

# Metrics array examples, second: "A metric with a single dimension".
ROW_ONE_DIMENSION = [ "AWS/EC2", "CPUUtilization", "InstanceId", "i-01234567890123456" ]

# Metrics array examples, third: "A metric with a single dimension and rendering properties".
ROW_RENDERING_PROPERTIES = [ "AWS/EC2", "DiskReadBytes", "InstanceId", "i-01234567890123456", { "yAxis": "right"} ]

# Metrics array examples, fourth: "graphs the DiskReadBytes metric for three instances" with the "." shorthand.
ROWS_THREE_INSTANCES = [
        [ "AWS/EC2", "DiskReadBytes", "InstanceId", "i-01234567890123456" ],
        [ ".", ".", ".", "i-abc" ],
        [ ".", ".", ".", "i-123" ]
]

# --- "Options Object Format", Example: the custom apiLatency metric, p50 and Average, their mean and its RATE --

OPTIONS_EXAMPLE: Widget = {
        "metrics": [
            [
                "MyNamespace",
                "apiLatency",
                "InstanceId",
                "i-0987654321abcdef0",
                {
                    "id": "m1",
                    "stat": "p50",
                    "label": "Median value",
                    "visible": True,
                    "color": "#dddddd",
                    "yAxis": "left",
                    "period": 300
                }
            ],
            [
                ".",
                ".",
                ".",
                ".",
                {
                    "id": "m2",
                    "stat": "Average",
                    "label": "Average value",
                    "visible": True,
                    "color": "#cccccc",
                    "yAxis": "left",
                    "period": 300
                }
            ],
            [
                {
                    "expression": "(m1+m2)/2",
                    "id": "e1",
                    "label": "Half way between average and median",
                    "visible": True,
                    "color": "#000000",
                    "yAxis": "left"
                }
            ],
            [
                {
                    "expression": "RATE(e1)",
                    "yAxis": "right",
                    "label": "rate of change of the half way point"
                }
            ]
        ]
    }

# --- "Annotation Properties Format", Examples -----------------------------------------------------------------

# Annotation examples, first: "A single horizontal annotation with fill shading above the annotation line, based
# on the metric associated with the right Y-axis".
HORIZONTAL_LINE: Widget = {
"annotations": {
     "horizontal": [
         {
              "visible":True,
              "color":"#9467bd",
              "label":"Critical range",
              "value":20,
              "fill":"above",
              "yAxis":"right"
         }
    ]
}
}

# Annotation examples, second: "A horizontal band annotation".
HORIZONTAL_BAND: Widget = {
"annotations": {
    "horizontal": [
        [
             {
                  "label":"Band top",
                  "value":200,
                  "color":"#9467bd",
                  "visible":True,
                  "yAxis":"right"
              },
              {
                  "value":95.5,
                  "label":"Band bottom"
              }
         ]
     ]
}
}

# Annotation examples, third: "A single vertical annotation with fill shading after the annotation line".
VERTICAL_LINE: Widget = {
"annotations": {
    "vertical": [
        {
            "visible": True,
            "color": "#9467bd",
            "label": "Bug fix deployed",
            "value": "2018-08-28T15:25:26Z",
            "fill": "after"
        }
    ]
}
}

# Annotation examples, fourth: "A vertical band annotation".
VERTICAL_BAND: Widget = {
"annotations": {
    "vertical": [
        [
            {
                "label": "Band start",
                "value": "2018-08-27T15:25:26Z",
                "color": "#9467bd",
                "visible": True
            },
            {
                "value": "2018-08-28T15:25:26Z",
                "label": "Band end"
            }
        ]
    ]
}
}

# --- "yAxis Properties Format", Example ------------------------------------------------------------------------

Y_AXIS = {
  "left": {
    "min": 0,
    "max": 100
  },
  "right": {
    "min": 0
  }
}


def _without(key: str) -> Callable[[Widget], None]:
    def change(widget: Widget) -> None:
        del widget[key]

    return change


def _set(key: str, value: Any) -> Callable[[Widget], None]:
    def change(widget: Widget) -> None:
        widget[key] = value

    return change


def _drop_options(widget: Widget) -> None:
    widget["metrics"][0] = widget["metrics"][0][:-1]


def _drop_last_row(widget: Widget) -> None:
    del widget["metrics"][-1]


def _hide_raw_metrics(widget: Widget) -> None:
    # The change the page itself suggests: "change the first two instances of `visible` to `false`".
    for row in widget["metrics"][:2]:
        row[-1]["visible"] = False


def _on_the_left(widget: Widget) -> None:
    for annotation in widget["annotations"]["horizontal"]:
        first = annotation[0] if isinstance(annotation, list) else annotation
        first["yAxis"] = "left"


# The annotation and yAxis examples are fragments: they are drawn over the page's simplest row on the left axis
# and, on the right axis the horizontal annotations refer to, its single-dimension row with the third row's
# rendering properties (a percentage, so the annotations' 20 and 95.5–200 fall inside the data's range).
RIGHT_ROW = [*ROW_ONE_DIMENSION, {"yAxis": "right"}]

EXAMPLES = [
    pytest.param({"metrics": [ROW_NO_DIMENSIONS]}, _set("stat", "Maximum"), id="metric-no-dimensions/stat"),
    pytest.param({"metrics": [ROW_ONE_DIMENSION]}, _set("stat", "Minimum"), id="metric-one-dimension/stat"),
    pytest.param({"metrics": [ROW_RENDERING_PROPERTIES]}, _drop_options,
                 id="metric-rendering-properties/without-yAxis-right"),
    pytest.param({"metrics": ROWS_THREE_INSTANCES}, _drop_last_row, id="metric-three-instances/without-third"),
    pytest.param(OPTIONS_EXAMPLE, _drop_last_row, id="options-object/without-RATE"),
    pytest.param(OPTIONS_EXAMPLE, _hide_raw_metrics, id="options-object/raw-metrics-hidden"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS, RIGHT_ROW], **HORIZONTAL_LINE}, _without("annotations"),
                 id="annotation-horizontal-line/without-annotations"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS, RIGHT_ROW], **HORIZONTAL_LINE}, _on_the_left,
                 id="annotation-horizontal-line/on-the-left-axis"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS, RIGHT_ROW], **HORIZONTAL_BAND}, _without("annotations"),
                 id="annotation-horizontal-band/without-annotations"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS, RIGHT_ROW], **HORIZONTAL_BAND}, _on_the_left,
                 id="annotation-horizontal-band/on-the-left-axis"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS], **VERTICAL_LINE}, _without("annotations"),
                 id="annotation-vertical-line/without-annotations"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS], **VERTICAL_BAND}, _without("annotations"),
                 id="annotation-vertical-band/without-annotations"),
    pytest.param({"metrics": [ROW_NO_DIMENSIONS, ROW_RENDERING_PROPERTIES], "yAxis": Y_AXIS}, _without("yAxis"),
                 id="yAxis/without-yAxis"),
]


@pytest.fixture
def client(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    # Its own access key, so the per-key rate limit counts this test's requests only.
    return boto3_cloudwatch(standin.endpoint_url, access_key=f"aws-page-{request.node.name}",
                            retries={"mode": "standard", "max_attempts": 5})


def _draw(client: Any, widget: Widget) -> tuple[bytes, Image.Image]:
    data: bytes = client.get_metric_widget_image(MetricWidget=json.dumps({**widget, **WINDOW}))["MetricWidgetImage"]
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole picture, not only the header
    return data, image


@pytest.mark.parametrize(("example", "change"), EXAMPLES)
def test_the_page_example_renders_and_its_property_shows(client: Any, example: Widget,
                                                          change: Callable[[Widget], None]) -> None:
    data, image = _draw(client, example)
    assert image.format == "PNG"
    assert image.size == (example.get("width", 600), example.get("height", 400))
    assert _draw(client, example)[0] == data  # deterministic, so a difference below is the property's

    variant = copy.deepcopy(example)
    change(variant)
    other, other_image = _draw(client, variant)
    assert other_image.size == image.size
    assert not np.array_equal(np.asarray(image.convert("RGB")), np.asarray(other_image.convert("RGB"))), \
        "the example and its variant draw the same picture"


def test_the_options_example_numbers_agree_with_get_metric_data(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any], client: Any) -> None:
    """The page's metric math over stored samples, asked of GetMetricData with the example's rows: m1 and m2 are
    the p50 and the Average of each 5-minute period, e1 their mean, RATE(e1) e1's change per second; and the
    widget draws those stored numbers, not the synthetic series."""
    start = datetime.fromisoformat(WINDOW["start"])
    end = datetime.fromisoformat(WINDOW["end"])
    # A private stand-in whose clock stands at the window's end, so PutMetricData takes 2018 timestamps.
    private = boto3_cloudwatch(make_standin(wall_clock=end.timestamp).endpoint_url)
    minutes = np.arange(180)  # the window's first three hours, one sample a minute
    samples = 100 + minutes // 5 + (minutes % 5) ** 2  # skewed within each period: the p50 is not the mean
    dimensions = [{"Name": "InstanceId", "Value": "i-0987654321abcdef0"}]
    for chunk in np.array_split(minutes, 2):
        private.put_metric_data(Namespace="MyNamespace", MetricData=[
            {"MetricName": "apiLatency", "Dimensions": dimensions, "Timestamp": start + timedelta(minutes=int(i)),
             "Value": float(samples[i]), "Unit": "Milliseconds"} for i in chunk])

    def stat(query_id: str, statistic: str) -> dict[str, Any]:
        return {"Id": query_id, "MetricStat": {"Metric": {"Namespace": "MyNamespace", "MetricName": "apiLatency",
                                                          "Dimensions": dimensions},
                                               "Period": 300, "Stat": statistic}}

    answer = private.get_metric_data(
        MetricDataQueries=[stat("m1", "p50"), stat("m2", "Average"), {"Id": "e1", "Expression": "(m1+m2)/2"},
                           {"Id": "e2", "Expression": "RATE(e1)"}],
        StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    results = {result["Id"]: result for result in answer["MetricDataResults"]}
    m1, m2, e1, e2 = (np.array(results[key]["Values"]) for key in ("m1", "m2", "e1", "e2"))
    periods = samples.reshape(36, 5)
    np.testing.assert_allclose(m1, np.median(periods, axis=1))
    np.testing.assert_allclose(m2, periods.mean(axis=1))
    np.testing.assert_allclose(e1, (m1 + m2) / 2)
    assert results["e2"]["Timestamps"] == results["e1"]["Timestamps"][1:]  # RATE has no value at the first point
    np.testing.assert_allclose(e2, np.diff(e1) / 300)

    stored, image = _draw(private, OPTIONS_EXAMPLE)
    assert image.size == (600, 400)
    assert stored != _draw(client, OPTIONS_EXAMPLE)[0]  # the session stand-in draws synthetic data for it
