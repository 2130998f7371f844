"""GetMetricWidgetImage, its rate limit and injected faults through real boto3 clients, one per protocol the
stand-in speaks (AWS JSON 1.0, Smithy RPC v2 CBOR, query); the metric store's operations are exercised
the same way in ``test_metric_api``."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import aiohttp
import cbor2
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from reportgen.local import BackgroundStandIn
from reportgen.local.protocols import CBOR_PATH_PREFIX

from .helpers import widget_json
from .protocol_clients import PROTOCOLS


def error_of(call: Callable[[], Any]) -> tuple[str, str, int, str]:
    """(code, fault type, HTTP status, message) of the ClientError that ``call`` raises."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Type"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"])


def test_every_protocol_gets_the_same_png(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any]) -> None:
    text = widget_json(width=300, height=180, title="protocols")
    images = {protocol: boto3_cloudwatch(standin.endpoint_url, protocol=protocol).get_metric_widget_image(
        MetricWidget=text)["MetricWidgetImage"] for protocol in PROTOCOLS}
    assert Image.open(io.BytesIO(images["smithy-rpc-v2-cbor"])).size == (300, 180)
    assert len(set(images.values())) == 1, "the PNG differs between protocols"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_throttling_answers_in_each_protocol(make_standin: Callable[..., BackgroundStandIn],
                                             boto3_cloudwatch: Callable[..., Any], protocol: str) -> None:
    # A frozen clock puts every request in the same second; a limit of 2 refuses the third.
    standin = make_standin(rate_limit=2, clock=lambda: 0.0)
    client = boto3_cloudwatch(standin.endpoint_url, access_key="busy", protocol=protocol)
    tiny = widget_json(width=60, height=40)
    for _ in range(2):
        client.get_metric_widget_image(MetricWidget=tiny)
    assert error_of(lambda: client.get_metric_widget_image(MetricWidget=tiny)) == (
        "Throttling", "Sender", 400, "Rate exceeded")
    counts = standin.stats()["keys"]["busy"]
    assert (counts["served"], counts["throttled"], counts["errors"]) == (2, 1, 0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_injected_faults_answer_in_each_protocol(make_standin: Callable[..., BackgroundStandIn],
                                                 boto3_cloudwatch: Callable[..., Any], protocol: str) -> None:
    standin = make_standin()
    client = boto3_cloudwatch(standin.endpoint_url, protocol=protocol)
    standin.add_fault("Throttling", match_title="CPU")
    standin.add_fault("InternalServiceError", message="boom")
    assert error_of(lambda: client.get_metric_widget_image(MetricWidget=widget_json(title="CPU"))) == (
        "Throttling", "Sender", 400, "Rate exceeded")
    assert error_of(lambda: client.get_metric_widget_image(MetricWidget=widget_json(title="Disk"))) == (
        "InternalServiceError", "Receiver", 500, "boom")
    assert client.get_metric_widget_image(MetricWidget=widget_json(title="Disk"))["MetricWidgetImage"]
    assert standin.stats()["faults_injected"] == 2


async def test_cbor_is_throttled_before_its_body_is_read(make_standin: Callable[..., BackgroundStandIn]) -> None:
    # The path names the operation, so a refusal needs no body: this one is not even CBOR.
    standin = make_standin(rate_limit=1, clock=lambda: 0.0)
    url = f"{CBOR_PATH_PREFIX}GetMetricWidgetImage"
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        async with http.post(url, data=cbor2.dumps({"MetricWidget": widget_json()}), headers=headers) as response:
            assert response.status == 200 and "MetricWidgetImage" in cbor2.loads(await response.read())
        async with http.post(url, data=b"\xff not cbor", headers=headers) as response:
            assert (response.status, response.headers["x-amzn-query-error"]) == (400, "Throttling;Sender")
            assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
            assert cbor2.loads(await response.read()) == {"__type": "Throttling", "message": "Rate exceeded"}
    assert standin.stats()["throttled"] == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_aiobotocore_in_each_protocol(standin: BackgroundStandIn, aio_cloudwatch: Callable[..., Any],
                                            protocol: str) -> None:
    # What the pipeline uses: an image, and stored data round trip.
    moment = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    namespace = f"Test/{uuid4().hex[:12]}"
    async with aio_cloudwatch(standin.endpoint_url, protocol=protocol) as client:
        image = await client.get_metric_widget_image(MetricWidget=widget_json(width=120, height=80))
        await client.put_metric_data(Namespace=namespace, MetricData=[
            {"MetricName": "Beat", "Timestamp": moment, "Values": [1.5, 2.5], "Counts": [2.0, 1.0]}])
        answer = await client.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": "Beat"}, "Period": 60, "Stat": "Sum"}}],
            StartTime=moment, EndTime=moment + timedelta(minutes=1))
    assert Image.open(io.BytesIO(image["MetricWidgetImage"])).size == (120, 80)
    [result] = answer["MetricDataResults"]
    assert (result["Timestamps"], result["Values"]) == ([moment], [5.5])
