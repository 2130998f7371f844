"""GetMetricWidgetImage draws stored data: PutMetricData → the picture, checked pixel by pixel."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from reportgen.local import BackgroundStandIn
from reportgen.local.render import render_png
from reportgen.local.synthetic import Series
from reportgen.local.widget import parse_widget

from .protocol_clients import iso

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
END = START + timedelta(hours=1)
MINUTES = np.arange(60)
RED = (0xD6, 0x27, 0x28)


def put_level(client: Any, namespace: str, name: str, values: npt.ArrayLike, unit: str = "Percent") -> None:
    client.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "Host", "Value": "h1"}], "Timestamp": START + timedelta(minutes=i),
         "Value": float(value), "Unit": unit} for i, value in enumerate(np.asarray(values))])


def widget_text(*rows: list[Any], **overrides: Any) -> str:
    return json.dumps({"metrics": list(rows), "start": iso(START), "end": iso(END), "period": 60, "width": 600,
                       "height": 400, "legend": {"position": "hidden"}, **overrides})


def rgb(png: bytes) -> npt.NDArray[np.int16]:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def clusters(weights: npt.NDArray[np.float64], threshold: float) -> list[tuple[float, float]]:
    """Runs of rows whose weight passes ``threshold``: (weighted centre row, peak weight), top first."""
    found, run = [], []
    for row, weight in enumerate([*weights, 0.0]):
        if weight > threshold:
            run.append(row)
        elif run:
            rows = np.array(run)
            found.append((float(np.average(rows, weights=weights[rows])), float(weights[rows].max())))
            run = []
    return found


def test_a_constant_42_is_drawn_at_the_height_of_42(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any],
                                                    namespace: str) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    put_level(client, namespace, "Level", np.full(60, 42.0))
    png = client.get_metric_widget_image(MetricWidget=widget_text(
        [namespace, "Level", "Host", "h1", {"color": "#d62728"}], yAxis={"left": {"min": 0, "max": 100}}))[
        "MetricWidgetImage"]
    pixels = rgb(png)
    middle = pixels[:, 200:400]  # columns well inside the plot area
    red, green, blue = middle[..., 0], middle[..., 1], middle[..., 2]
    # The series: how far each row's reddish pixels are from white, in green (antialiased edges included).
    reddish = (red - green > 40) & (red - blue > 40)
    line = clusters(np.where(reddish, 255 - green, 0).sum(axis=1).astype(np.float64), 1000)
    assert len(line) == 1, line
    # The plot's frame: grey rows. The top grid line is 100; the axis line (darker grey) is 0.
    grey = (np.abs(red - green) < 20) & (np.abs(green - blue) < 20)
    darkness = np.where(grey, 255 - middle.mean(axis=2), 0).mean(axis=1)
    rows = clusters(darkness, 2.0)
    top = rows[0][0]
    axis = next(centre for centre, peak in rows if peak > 45)
    expected = top + (axis - top) * (100 - 42) / 100
    assert abs(line[0][0] - expected) <= 0.75, (line, rows, expected)
    assert 300 < axis - top < 400  # the frame found is the plot's, not a stray text line

    # The numbers behind the picture, as GetMetricData gives them.
    answer = client.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {
        "Namespace": namespace, "MetricName": "Level", "Dimensions": [{"Name": "Host", "Value": "h1"}]},
        "Period": 60, "Stat": "Average"}}], StartTime=START, EndTime=END)
    assert answer["MetricDataResults"][0]["Values"] == [42.0] * 60


def stored(values: npt.ArrayLike, unit: str | None = "Percent") -> Series:
    timestamps = (int(START.timestamp()) + 60 * MINUTES).astype(np.int64)
    return Series(timestamps, np.asarray(values, dtype=np.float64), unit)


def local_render(text: str, fetched: tuple[Series | None, ...]) -> bytes:
    return render_png(parse_widget(text, now=END), fetched)


def test_stored_rows_are_drawn_from_the_store_and_the_others_from_synthetic_data(
        standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any], namespace: str) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    ramp = 10 + MINUTES / 2
    put_level(client, namespace, "Ramp", ramp)
    # Dimensions in another order than stored, an expression on the stored row, and a row nobody stored.
    text = widget_text([namespace, "Ramp", "Host", "h1", {"id": "m1"}],
                       [{"expression": "m1 * 2", "id": "e1"}],
                       ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d", {"id": "m2"}])
    drawn = client.get_metric_widget_image(MetricWidget=text)["MetricWidgetImage"]
    assert drawn == local_render(text, (stored(ramp), None, None))
    assert drawn != local_render(text, (None, None, None))  # the stored row is not synthetic


def test_without_synthetic_data_a_metric_nobody_stored_is_empty(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any], namespace: str) -> None:
    client = boto3_cloudwatch(make_standin(synthetic=False).endpoint_url)
    put_level(client, namespace, "Ramp", MINUTES.astype(float), unit="Count")
    text = widget_text([namespace, "Ramp", "Host", "h1"], ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d"])
    drawn = client.get_metric_widget_image(MetricWidget=text)["MetricWidgetImage"]
    empty = Series(np.empty(0, np.int64), np.empty(0), None)
    assert drawn == local_render(text, (stored(MINUTES, "Count"), empty))
    nothing = widget_text(["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d"])
    assert client.get_metric_widget_image(MetricWidget=nothing)["MetricWidgetImage"] == local_render(nothing, (empty,))
    assert local_render(nothing, (empty,)) != local_render(nothing, (None,))


def test_stored_data_is_drawn_with_the_rows_statistic(standin: BackgroundStandIn,
                                                      boto3_cloudwatch: Callable[..., Any], namespace: str) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    put_level(client, namespace, "Ramp", MINUTES.astype(float), unit="Count")
    text = widget_text([namespace, "Ramp", "Host", "h1", {"stat": "Maximum", "period": 300}])
    drawn = client.get_metric_widget_image(MetricWidget=text)["MetricWidgetImage"]
    fives = (int(START.timestamp()) + 300 * np.arange(12)).astype(np.int64)
    assert drawn == local_render(text, (Series(fives, 4.0 + 5 * np.arange(12), "Count"),))


def test_a_statistic_the_store_cannot_compute_is_refused(standin: BackgroundStandIn,
                                                         boto3_cloudwatch: Callable[..., Any]) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    with pytest.raises(ClientError) as caught:
        client.get_metric_widget_image(MetricWidget=widget_text(["AWS/EC2", "CPUUtilization", {"stat": "TM(a:b)"}]))
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "TM(a:b)" in caught.value.response["Error"]["Message"]
