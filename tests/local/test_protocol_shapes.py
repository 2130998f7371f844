"""Requests and results along the service model: what botocore serializes decodes to the same parameters, and
what the stand-in encodes botocore parses back to the same result, for both protocols."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reportgen.local.protocols import JSON, QUERY, Protocol, ServiceError

from .protocol_clients import botocore_parse, botocore_request, utc

MOMENT = datetime(2026, 11, 25, 12, 30, 15, tzinfo=UTC)
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "put metric data": ("PutMetricData", {"Namespace": "Shop", "MetricData": [
        {"MetricName": "Orders", "Dimensions": [{"Name": "Region", "Value": "eu"}, {"Name": "Tier", "Value": "gold"}],
         "Timestamp": MOMENT, "Values": [1.5, 2.0], "Counts": [3.0, 1.0], "Unit": "Count", "StorageResolution": 1},
        {"MetricName": "Latency", "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
    ]}),
    "get metric data": ("GetMetricData", {"MetricDataQueries": [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders"}, "Period": 60,
                                    "Stat": "p99"}, "ReturnData": False},
        {"Id": "e1", "Expression": "m1 * 2", "Label": "double"}],
        "StartTime": MOMENT, "EndTime": MOMENT, "MaxDatapoints": 10, "ScanBy": "TimestampAscending"}),
    "list metrics": ("ListMetrics", {"Dimensions": [{"Name": "Region"}], "RecentlyActive": "PT3H"}),
    "statistics": ("GetMetricStatistics", {"Namespace": "Shop", "MetricName": "Orders", "StartTime": MOMENT,
                                           "EndTime": MOMENT, "Period": 60, "Statistics": ["Sum", "Maximum"]}),
    "delete dashboards": ("DeleteDashboards", {"DashboardNames": ["a", "b"]}),
}


@pytest.mark.parametrize("codec", [JSON, QUERY], ids=["json", "query"])
@pytest.mark.parametrize(("operation", "params"), REQUESTS.values(), ids=REQUESTS.keys())
def test_what_botocore_sends_decodes_to_what_was_given(codec: Protocol, operation: str, params: dict[str, Any]) -> None:
    request = botocore_request(codec.name, operation, params)
    call = codec.decode(request["headers"], {}, request["body"])
    assert (call.operation, call.params) == (operation, params)


RESULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "statistics with a map": ("GetMetricStatistics", {"Label": "Orders", "Datapoints": [
        {"Timestamp": MOMENT, "SampleCount": 4.0, "Unit": "Count", "ExtendedStatistics": {"p99": 2.5, "IQM": 1.0}},
        {"Timestamp": MOMENT, "Sum": 0.1, "Unit": "None"}]}),
    "metric data": ("GetMetricData", {"MetricDataResults": [
        {"Id": "m1", "Label": "Orders", "Timestamps": [MOMENT], "Values": [42.0], "StatusCode": "PartialData",
         "Messages": []}], "NextToken": "abc", "Messages": []}),
    "dashboards": ("ListDashboards", {"DashboardEntries": [
        {"DashboardName": "ops", "DashboardArn": "arn:aws:cloudwatch::1:dashboard/ops", "LastModified": MOMENT,
         "Size": 12}]}),
    "image": ("GetMetricWidgetImage", {"MetricWidgetImage": b"\x89PNG\r\n"}),
    "nothing": ("DeleteDashboards", {}),
}


@pytest.mark.parametrize("codec", [JSON, QUERY], ids=["json", "query"])
@pytest.mark.parametrize(("operation", "result"), RESULTS.values(), ids=RESULTS.keys())
def test_what_the_stand_in_answers_botocore_parses_back(codec: Protocol, operation: str,
                                                        result: dict[str, Any]) -> None:
    reply = codec.encode_result(operation, result, "rid")
    parsed = botocore_parse(codec.name, reply.body, dict(reply.headers), reply.status, operation)
    parsed.pop("ResponseMetadata", None)
    assert utc(parsed) == result


def test_an_operation_without_output_answers_nothing() -> None:
    assert json.loads(JSON.encode_result("PutMetricData", {}, "rid").body) == {}
    assert b"<PutMetricDataResponse" in QUERY.encode_result("PutMetricData", {}, "rid").body


JSON_TARGET = {"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}
MALFORMED: dict[str, tuple[Protocol, dict[str, str], bytes, str, str]] = {
    "json: a string for a number": (
        JSON, JSON_TARGET, b'{"Namespace": "A", "MetricData": [{"MetricName": "M", "Value": "x"}]}',
        "SerializationException", "parameter MetricData.member.1.Value is invalid: expected a double"),
    "json: an object for a list": (
        JSON, JSON_TARGET, b'{"Namespace": "A", "MetricData": {}}', "SerializationException",
        "parameter MetricData is invalid: expected a list"),
    "json: missing inside a list": (
        JSON, JSON_TARGET, b'{"Namespace": "A", "MetricData": [{"Value": 1}, {"MetricName": "M", "Dimensions": [{}]}]}',
        "MissingParameter", "The parameter MetricData.member.1.MetricName is required."),
    "query: not a number": (
        QUERY, {}, b"Action=PutMetricData&Namespace=A&MetricData.member.1.MetricName=M&MetricData.member.1.Value=x",
        "InvalidParameterValue",
        "The value 'x' for parameter MetricData.member.1.Value is invalid: expected a double."),
    "query: not a time": (
        QUERY, {}, b"Action=GetMetricStatistics&Namespace=A&MetricName=M&StartTime=noon&EndTime=2026-11-25T00:00:00Z"
                   b"&Period=60", "InvalidParameterValue", "parameter StartTime is invalid"),
    "query: an epoch out of range": (
        QUERY, {}, b"Action=GetMetricStatistics&Namespace=A&MetricName=M&StartTime=1e20&EndTime=2026-11-25T00:00:00Z"
                   b"&Period=60", "InvalidParameterValue", "parameter StartTime is invalid"),
    "query: missing": (QUERY, {}, b"Action=PutMetricData&MetricData.member.1.Value=1", "MissingParameter",
                       "The parameter Namespace is required."),
    "query: not in the model": (QUERY, {}, b"Action=FlyToTheMoon", "InvalidAction",
                                "'FlyToTheMoon' is not a CloudWatch operation"),
    "query: too long": (QUERY, {}, b"Action=PutMetricData&Namespace=" + b"n" * 256 + b"&MetricData.member.1.Value=1",
                        "InvalidParameterValue", "The parameter Namespace must be 1 to 255 characters long."),
}


@pytest.mark.parametrize(("codec", "headers", "body", "code", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_parameters_name_their_path(codec: Protocol, headers: dict[str, str], body: bytes, code: str,
                                              message: str) -> None:
    with pytest.raises(ServiceError) as caught:
        codec.decode(headers, {}, body)
    assert caught.value.code == code and message in caught.value.message


def test_query_lists_in_any_order_and_empty() -> None:
    body = (b"Action=GetMetricStatistics&Namespace=A&MetricName=M&StartTime=1795564800&EndTime=2026-11-25T01:00:00Z"
            b"&Period=60&ExtendedStatistics.member.2=p99&ExtendedStatistics.member.1=p50&Dimensions=")
    params = QUERY.decode({}, {}, body).params
    assert params["ExtendedStatistics"] == ["p50", "p99"] and params["Dimensions"] == []
    assert params["StartTime"] == datetime(2026, 11, 25, tzinfo=UTC)


def test_errors_carry_their_modeled_fields() -> None:
    error = ServiceError("InvalidParameterInput", "bad body",
                         fields={"dashboardValidationMessages": [{"DataPath": "/widgets", "Message": "missing"}]})
    assert json.loads(JSON.encode_error(error, "rid").body)["dashboardValidationMessages"] == [
        {"DataPath": "/widgets", "Message": "missing"}]
    assert b"<dashboardValidationMessages><member><DataPath>/widgets</DataPath>" in QUERY.encode_error(
        error, "rid").body
    assert base64.b64decode(json.loads(JSON.encode_result(
        "GetMetricWidgetImage", {"MetricWidgetImage": b"png"}, "rid").body)["MetricWidgetImage"]) == b"png"
