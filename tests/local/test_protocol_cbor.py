"""Smithy RPC v2 CBOR: what botocore's RpcV2CBOR serializer sends decodes to the parameters given, what the
stand-in answers its parser reads back, and malformed requests are refused in CBOR's words."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial
from typing import Any

import cbor2
import pytest

from reportgen.local.protocols import CBOR, CBOR_PATH_PREFIX, JSON, QUERY, ServiceError, detect

from . import protocol_clients
from .protocol_clients import utc
from .test_protocol_shapes import MOMENT, REQUESTS, RESULTS

PROTOCOL = "smithy-rpc-v2-cbor"
botocore_request = partial(protocol_clients.botocore_request, PROTOCOL)
botocore_parse = partial(protocol_clients.botocore_parse, PROTOCOL)


@pytest.mark.parametrize(("operation", "params"), REQUESTS.values(), ids=REQUESTS.keys())
def test_what_botocore_sends_decodes_to_what_was_given(operation: str, params: dict[str, Any]) -> None:
    request = botocore_request(operation, params)
    assert request["url_path"] == f"{CBOR_PATH_PREFIX}{operation}"
    assert (request["headers"]["smithy-protocol"], request["headers"]["Accept"]) == ("rpc-v2-cbor", "application/cbor")
    assert detect(request["headers"], request["url_path"]) is CBOR
    call = CBOR.decode(request["headers"], {}, request["body"], request["url_path"])
    assert (call.operation, call.params) == (operation, params)


def test_timestamps_blobs_and_special_floats_keep_their_cbor_types() -> None:
    request = botocore_request("PutMetricData", {"Namespace": "A", "MetricData": [
        {"MetricName": "M", "Timestamp": datetime(2026, 11, 25, 12, 0, 0, 250000, tzinfo=UTC), "Value": math.inf}]})
    sent = cbor2.loads(request["body"])["MetricData"][0]
    assert isinstance(sent["Timestamp"], datetime) and sent["Value"] == math.inf  # tag 1, and a CBOR float
    params = CBOR.decode(request["headers"], {}, request["body"], request["url_path"]).params
    assert params["MetricData"][0]["Timestamp"] == datetime(2026, 11, 25, 12, 0, 0, 250000, tzinfo=UTC)
    assert params["MetricData"][0]["Value"] == math.inf

    reply = CBOR.encode_result("GetMetricWidgetImage", {"MetricWidgetImage": b"\x89PNG"}, "rid")
    assert cbor2.loads(reply.body) == {"MetricWidgetImage": b"\x89PNG"}  # a byte string, not base64 text
    reply = CBOR.encode_result("GetMetricStatistics", {"Label": "M", "Datapoints": [
        {"Timestamp": MOMENT, "Sum": math.nan}]}, "rid")
    [point] = botocore_parse(reply.body, dict(reply.headers), 200, "GetMetricStatistics")["Datapoints"]
    assert math.isnan(point["Sum"]) and point["Timestamp"] == MOMENT
    assert cbor2.dumps(MOMENT, datetime_as_timestamp=True) in reply.body  # tag 1, whole seconds


@pytest.mark.parametrize(("operation", "result"), RESULTS.values(), ids=RESULTS.keys())
def test_what_the_stand_in_answers_botocore_parses_back(operation: str, result: dict[str, Any]) -> None:
    reply = CBOR.encode_result(operation, result, "rid")
    assert (reply.status, reply.content_type) == (200, "application/cbor")
    assert reply.headers == {"smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": "rid"}
    parsed = botocore_parse(reply.body, dict(reply.headers), reply.status, operation)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert utc(parsed) == result


def test_an_operation_without_output_answers_an_empty_body() -> None:
    assert CBOR.encode_result("PutMetricData", {}, "rid").body == b""
    assert CBOR.decode({}, {}, b"", f"{CBOR_PATH_PREFIX}ListDashboards").params == {}


@pytest.mark.parametrize(("status", "fault"), [(400, "Sender"), (500, "Receiver")])
def test_errors_carry_type_message_and_the_query_compatible_code(status: int, fault: str) -> None:
    error = ServiceError("InvalidParameterInput", "bad body", status=status,
                         fields={"dashboardValidationMessages": [{"DataPath": "/widgets", "Message": "missing"}]})
    reply = CBOR.encode_error(error, "rid")
    assert reply.status == status and reply.content_type == "application/cbor"
    assert reply.headers == {"smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": "rid",
                             "x-amzn-query-error": f"InvalidParameterInput;{fault}"}
    assert cbor2.loads(reply.body) == {"__type": "InvalidParameterInput", "message": "bad body",
                                       "dashboardValidationMessages": [{"DataPath": "/widgets", "Message": "missing"}]}
    parsed = botocore_parse(reply.body, dict(reply.headers), status, "PutDashboard")
    assert parsed["Error"] == {"Code": "InvalidParameterInput", "Message": "bad body", "Type": fault,
                               "QueryErrorCode": "InvalidParameterInput"}


PUT = f"{CBOR_PATH_PREFIX}PutMetricData"
MALFORMED: dict[str, tuple[str, bytes, str, str]] = {
    "not cbor": (PUT, b"\xff\xff", "SerializationException", "not valid CBOR"),
    "cut short": (PUT, cbor2.dumps({"Namespace": "A"})[:-1], "SerializationException", "not valid CBOR"),
    "trailing bytes": (PUT, cbor2.dumps({}) + b"\x00", "SerializationException", "1 bytes after its CBOR item"),
    "not a map": (PUT, cbor2.dumps([1]), "SerializationException", "must be a CBOR object"),
    "text for a double": (PUT, cbor2.dumps({"Namespace": "A", "MetricData": [{"MetricName": "M", "Value": "NaN"}]}),
                          "SerializationException", "MetricData.member.1.Value is invalid: expected a double"),
    "text for a blob": (f"{CBOR_PATH_PREFIX}PutDashboard", cbor2.dumps({"DashboardName": "d", "DashboardBody": b"{}"}),
                        "SerializationException", "DashboardBody is invalid: expected a string"),
    "text for a time": (f"{CBOR_PATH_PREFIX}GetMetricStatistics", cbor2.dumps(
        {"Namespace": "A", "MetricName": "M", "StartTime": "noon", "EndTime": 0, "Period": 60}),
        "SerializationException", "StartTime is invalid: expected a timestamp"),
    "a list for a number": (PUT, cbor2.dumps({"Namespace": "A", "MetricData": [{"MetricName": "M", "Value": [1]}]}),
                            "SerializationException", "expected a double"),
    "missing": (PUT, cbor2.dumps({"MetricData": []}), "MissingParameter", "The parameter Namespace is required."),
    "another service": ("/service/DynamoDB_20120810/operation/GetItem", b"", "InvalidAction",
                        "is not a CloudWatch operation"),
    "no such operation": (f"{CBOR_PATH_PREFIX}FlyToTheMoon", b"", "InvalidAction",
                          "'FlyToTheMoon' is not a CloudWatch operation"),
}


@pytest.mark.parametrize(("path", "body", "code", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests(path: str, body: bytes, code: str, message: str) -> None:
    with pytest.raises(ServiceError) as caught:
        CBOR.decode({"smithy-protocol": "rpc-v2-cbor"}, {}, body, path)
    assert (caught.value.code, caught.value.status) == (code, 400)
    assert message in caught.value.message


@pytest.mark.parametrize(("headers", "path", "protocol"), [
    ({"smithy-protocol": "rpc-v2-cbor"}, "/", CBOR),
    ({}, f"{CBOR_PATH_PREFIX}ListMetrics", CBOR),
    ({"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}, "/", JSON),
    ({}, "/", QUERY),
])
def test_detects_cbor_by_its_header_or_path(headers: dict[str, str], path: str, protocol: object) -> None:
    assert detect(headers, path) is protocol
