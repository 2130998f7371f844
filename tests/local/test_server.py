"""The stand-in over loopback, through real clients: aiobotocore, boto3, and raw HTTP for the query protocol."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from reportgen.errors import SetupError
from reportgen.local import BackgroundStandIn
from reportgen.local.render import render_png
from reportgen.local.server import WORKER_NICENESS
from reportgen.local.widget import Widget

from .helpers import BASE_WIDGET, widget_json
from .protocol_clients import NS


def size_of(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.size


async def test_png_has_the_requested_size(standin: BackgroundStandIn, aio_cloudwatch: Callable[..., Any]) -> None:
    async with aio_cloudwatch(standin.endpoint_url) as client:
        response = await client.get_metric_widget_image(MetricWidget=widget_json(width=640, height=300))
    assert size_of(response["MetricWidgetImage"]) == (640, 300)
    assert response["ResponseMetadata"]["RequestId"]


def test_same_request_same_bytes_different_metrics_different_image(
        standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    first, second = (client.get_metric_widget_image(MetricWidget=widget_json(title="again"))["MetricWidgetImage"]
                     for _ in range(2))
    other = client.get_metric_widget_image(
        MetricWidget=widget_json(title="again", metrics=[["AWS/EC2", "NetworkIn", "InstanceId", "i-0a1b2c3d"]]))
    assert first == second != other["MetricWidgetImage"]


def test_default_size_and_relative_times(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    client = boto3_cloudwatch(standin.endpoint_url)
    doc = {"metrics": BASE_WIDGET["metrics"], "start": "-PT6H"}
    assert size_of(client.get_metric_widget_image(MetricWidget=json.dumps(doc))["MetricWidgetImage"]) == (600, 400)


TOO_MANY = [["AWS/EC2", "CPUUtilization", "InstanceId", f"i-{n}"] for n in range(101)]
ERRORS = {
    "malformed JSON": ({"MetricWidget": "{"}, "InvalidParameterValue", "MetricWidget is not valid JSON"),
    "unknown key": ({"MetricWidget": widget_json(widht=3)}, "InvalidParameterValue", "did you mean `width`?"),
    "101 metrics": ({"MetricWidget": widget_json(metrics=TOO_MANY)}, "InvalidParameterValue", "at most 100"),
    "over 100 KB": ({"MetricWidget": widget_json(title="x" * 102_400)}, "InvalidParameterValue", "100 KB"),
    "width 0": ({"MetricWidget": widget_json(width=0)}, "InvalidParameterValue", "`width` is 0"),
    "height 2001": ({"MetricWidget": widget_json(height=2001)}, "InvalidParameterValue", "`height` is 2001"),
    "output format": ({"MetricWidget": widget_json(), "OutputFormat": "jpeg"}, "InvalidParameterValue",
                      "OutputFormat 'jpeg' is not supported"),
    "unsupported function": ({"MetricWidget": widget_json(metrics=[[{"expression": "PERCENTILE(m1, 1)", "id": "e1"}]])},
                             "InvalidParameterValue", "Unsupported function PERCENTILE in expression of e1"),
    "no widget": ({}, "MissingParameter", "The parameter MetricWidget is required."),
}


@pytest.mark.parametrize(("params", "code", "message"), ERRORS.values(), ids=ERRORS.keys())
async def test_errors_reach_botocore_with_their_code_and_status(
        standin: BackgroundStandIn, aio_cloudwatch: Callable[..., Any], params: dict[str, str], code: str,
        message: str) -> None:
    # Without client-side validation botocore sends what we give it, a missing MetricWidget included.
    async with aio_cloudwatch(standin.endpoint_url, parameter_validation=False) as client:
        with pytest.raises(ClientError) as caught:
            await client.get_metric_widget_image(**params)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400)
    assert message in error["Error"]["Message"] and error["Error"]["Type"] == "Sender"


async def test_other_operations_are_invalid_actions(standin: BackgroundStandIn,
                                                    aio_cloudwatch: Callable[..., Any]) -> None:
    async with aio_cloudwatch(standin.endpoint_url) as client:
        with pytest.raises(ClientError) as caught:
            await client.describe_anomaly_detectors()
    assert caught.value.response["Error"]["Code"] == "InvalidAction"
    assert "'DescribeAnomalyDetectors' is not an operation" in caught.value.response["Error"]["Message"]


def _explode(widget: Widget) -> bytes:
    raise RuntimeError("the renderer broke")


async def test_unexpected_failures_are_internal_service_errors(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    standin = make_standin(executor_factory=lambda: ThreadPoolExecutor(1), renderer=_explode)
    async with aio_cloudwatch(standin.endpoint_url) as client:
        with pytest.raises(ClientError) as caught:
            await client.get_metric_widget_image(MetricWidget=widget_json())
    error = caught.value.response
    assert (error["Error"]["Code"], error["Error"]["Type"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InternalServiceError", "Receiver", 500)
    assert "the renderer broke" in caplog.text
    assert standin.stats()["errors"] == 1


def die_on_title(widget: Widget) -> bytes:
    """A renderer whose worker process dies on a widget titled "die" (module level: workers import it)."""
    if widget.title == "die":
        os._exit(1)
    return render_png(widget)


async def test_a_dead_worker_fails_one_request_and_the_next_gets_a_fresh_pool(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(renderer=die_on_title)
    async with aio_cloudwatch(standin.endpoint_url) as client:
        with pytest.raises(ClientError) as caught:
            await client.get_metric_widget_image(MetricWidget=widget_json(title="die"))
        assert caught.value.response["Error"]["Code"] == "InternalServiceError"
        response = await client.get_metric_widget_image(MetricWidget=widget_json(title="live"))
    assert size_of(response["MetricWidgetImage"]) == (320, 200)


def report_niceness(widget: Widget) -> bytes:
    """A renderer that answers with its worker's niceness instead of a chart (module level: workers import it)."""
    return str(os.nice(0)).encode()


def test_render_workers_run_at_a_lower_priority_than_the_server(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any]) -> None:
    # So that busy workers cannot starve the event loop that accepts requests and stamps their arrival.
    standin = make_standin(renderer=report_niceness)
    answer = boto3_cloudwatch(standin.endpoint_url).get_metric_widget_image(MetricWidget=widget_json())
    assert int(answer["MetricWidgetImage"]) == min(os.nice(0) + WORKER_NICENESS, 19)


async def test_twenty_five_at_once_from_one_key_twenty_served_five_throttled(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any]) -> None:
    # A frozen clock puts all 25 in the same second however slowly this machine runs them.
    standin = make_standin(clock=lambda: 0.0)
    async with aio_cloudwatch(standin.endpoint_url, "busy", max_pool_connections=25) as client:
        results = await asyncio.gather(
            *(client.get_metric_widget_image(MetricWidget=widget_json(width=60, height=40)) for _ in range(25)),
            return_exceptions=True)
    throttled = [r for r in results if isinstance(r, ClientError)]
    assert len(throttled) == 5 and sum(isinstance(r, dict) for r in results) == 20
    for error in throttled:
        assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == (
            "Throttling", 400)
        assert error.response["Error"]["Message"] == "Rate exceeded"
    stats = standin.stats()
    assert {name: stats[name] for name in ("requests", "served", "throttled", "errors", "max_in_any_second")} == {
        "requests": 25, "served": 20, "throttled": 5, "errors": 0, "max_in_any_second": 20}
    assert stats["keys"]["busy"]["max_in_any_second"] == 20


async def test_keys_are_throttled_separately(make_standin: Callable[..., BackgroundStandIn],
                                             aio_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(clock=lambda: 0.0)
    async with (aio_cloudwatch(standin.endpoint_url, "alice", max_pool_connections=20) as alice,
                aio_cloudwatch(standin.endpoint_url, "bob", max_pool_connections=20) as bob):
        results = await asyncio.gather(*(
            client.get_metric_widget_image(MetricWidget=widget_json(width=60, height=40))
            for client in (alice, bob) for _ in range(20)))
    assert len(results) == 40
    stats = standin.stats()
    assert (stats["served"], stats["throttled"]) == (40, 0)
    assert {key: counts["served"] for key, counts in stats["keys"].items()} == {"alice": 20, "bob": 20}


async def test_injected_faults_answer_matching_requests_until_used_up(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin()
    assert standin.add_fault("Throttling", count=2, match_title="CPU")["faults"][0]["remaining"] == 2
    standin.add_fault("ServiceUnavailable", count=-1, match_title="Disk")

    async def code(title: str) -> tuple[str, int]:
        try:
            await client.get_metric_widget_image(MetricWidget=widget_json(title=title, width=60, height=40))
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
        return "OK", 200

    async with aio_cloudwatch(standin.endpoint_url) as client:
        assert [await code(title) for title in ("CPU usage", "Memory", "CPU", "CPU", "Disk", "Disk")] == [
            ("Throttling", 400), ("OK", 200), ("Throttling", 400), ("OK", 200),
            ("ServiceUnavailable", 503), ("ServiceUnavailable", 503)]
        assert standin.clear_faults() == {"cleared": 1}
        assert await code("Disk") == ("OK", 200)
        standin.add_fault("InternalServiceError")
        assert await code("anything") == ("InternalServiceError", 500)
    stats = standin.stats()
    assert (stats["faults_injected"], stats["errors"], stats["served"]) == (5, 5, 3)


async def test_control_endpoints(make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin()
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        async with http.get("/_reportgen/health") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        async with http.post("/_reportgen/faults", data=b"{not json") as response:
            assert response.status == 400 and "error" in await response.json()
        async with http.post("/_reportgen/faults", json={"error": "Throttling", "count": 0}) as response:
            assert response.status == 400
            assert "`count` must be a positive number" in (await response.json())["error"]
        async with http.post("/_reportgen/faults", json={"error": "Throttling", "match_title": "x"}) as response:
            assert response.status == 201
        async with http.get("/_reportgen/faults") as response:
            assert await response.json() == {"faults": [
                {"error": "Throttling", "status": 400, "message": "Rate exceeded", "remaining": 1, "match_title": "x"}]}
        async with http.delete("/_reportgen/faults") as response:
            assert await response.json() == {"cleared": 1}
        async with http.get("/_reportgen/stats") as response:
            assert await response.json() == {"requests": 0, "served": 0, "throttled": 0, "errors": 0,
                                             "faults_injected": 0, "max_in_any_second": 0, "rate_limit": 20.0,
                                             "keys": {}, "accounts": {}, "sts": {},
                                             "chaos": {"throttled": 0, "errors": 0, "resets": 0, "slow": 0,
                                                       "trickling": 0}, "renders": 0}


async def test_query_protocol_answers_in_xml(standin: BackgroundStandIn) -> None:
    anonymous_before = standin.stats()["keys"].get("anonymous", {}).get("requests", 0)
    form = {"Action": "GetMetricWidgetImage", "Version": "2010-08-01", "MetricWidget": widget_json(width=200)}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        async with http.post("/", data=form) as response:
            assert (response.status, response.content_type) == (200, "text/xml")
            assert response.headers["x-amzn-RequestId"]
            document = ET.fromstring(await response.read())
        image = document.findtext("cw:GetMetricWidgetImageResult/cw:MetricWidgetImage", namespaces=NS)
        assert image is not None and size_of(base64.b64decode(image)) == (200, 200)

        async with http.get("/", params={**form, "OutputFormat": "image/png"}) as response:
            assert response.content_type == "image/png" and size_of(await response.read()) == (200, 200)

        async with http.post("/", data={**form, "MetricWidget": "{"}) as response:
            error = ET.fromstring(await response.read())
        assert response.status == 400
        assert error.findtext("cw:Error/cw:Code", namespaces=NS) == "InvalidParameterValue"
        assert error.findtext("cw:Error/cw:Type", namespaces=NS) == "Sender"

        async with http.post("/", data={"Action": "DescribeAnomalyDetectors", "Version": "2010-08-01"}) as response:
            assert response.status == 400
            assert ET.fromstring(await response.read()).findtext("cw:Error/cw:Code", namespaces=NS) == "InvalidAction"
    assert standin.stats()["keys"]["anonymous"]["requests"] == anonymous_before + 4  # nothing signed these


async def test_query_protocol_refuses_an_epoch_out_of_range(standin: BackgroundStandIn) -> None:
    # As JSON and CBOR do: a time no datetime can hold is the caller's mistake, not the stand-in's failure.
    form = {"Action": "GetMetricStatistics", "Version": "2010-08-01", "Namespace": "A", "MetricName": "M",
            "StartTime": "1e20", "EndTime": "2026-11-25T00:00:00Z", "Period": "60", "Statistics.member.1": "Sum"}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        async with http.post("/", data=form) as response:
            error = ET.fromstring(await response.read())
    assert response.status == 400
    assert error.findtext("cw:Error/cw:Code", namespaces=NS) == "InvalidParameterValue"
    assert "StartTime" in (error.findtext("cw:Error/cw:Message", namespaces=NS) or "")


def test_a_taken_port_is_a_setup_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SetupError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            BackgroundStandIn(port=taken.getsockname()[1], workers=1).__enter__()


def test_a_start_that_takes_too_long_is_a_setup_error() -> None:
    release = threading.Event()

    def stuck_pool() -> ThreadPoolExecutor:
        release.wait()
        return ThreadPoolExecutor(1)

    with pytest.raises(SetupError, match="did not start within 0.1 s"):
        BackgroundStandIn(startup_timeout=0.1, executor_factory=stuck_pool, workers=1).__enter__()
    release.set()
