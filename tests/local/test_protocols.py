"""Decoding requests and encoding answers for AWS JSON 1.0 and query."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest

from reportgen.local.protocols import JSON, QUERY, XML_NAMESPACE, Caller, ServiceError, caller, detect

from .protocol_clients import NS

TARGET = {"X-Amz-Target": "GraniteServiceVersion20100801.GetMetricWidgetImage"}


def test_detects_json_by_its_target_header_and_query_otherwise() -> None:
    assert detect(TARGET) is JSON
    assert detect({"Content-Type": "application/x-www-form-urlencoded"}) is QUERY


def test_json_request_and_answers() -> None:
    call = JSON.decode(TARGET, {}, b'{"MetricWidget": "{}", "OutputFormat": "png"}')
    assert (call.operation, call.params) == ("GetMetricWidgetImage", {"MetricWidget": "{}", "OutputFormat": "png"})
    reply = JSON.encode_result("GetMetricWidgetImage", {"MetricWidgetImage": b"\x89PNG"}, "rid")
    assert (reply.status, reply.content_type) == (200, "application/x-amz-json-1.0")
    assert json.loads(reply.body) == {"MetricWidgetImage": base64.b64encode(b"\x89PNG").decode()}
    assert reply.headers == {"x-amzn-RequestId": "rid"}


@pytest.mark.parametrize(("status", "fault"), [(400, "Sender"), (503, "Receiver")])
def test_json_errors_carry_the_query_compatible_code_header(status: int, fault: str) -> None:
    reply = JSON.encode_error(ServiceError("Throttling", "Rate exceeded", status=status), "rid")
    assert reply.status == status
    assert json.loads(reply.body) == {"__type": "Throttling", "message": "Rate exceeded"}
    assert reply.headers == {"x-amzn-RequestId": "rid", "x-amzn-query-error": f"Throttling;{fault}"}


@pytest.mark.parametrize(("target", "body", "code"), [
    ("GraniteServiceVersion20100801.", b"{}", "InvalidAction"),
    ("DynamoDB_20120810.GetItem", b"{}", "InvalidAction"),
    ("GraniteServiceVersion20100801.GetMetricWidgetImage", b"{nope", "SerializationException"),
    ("GraniteServiceVersion20100801.GetMetricWidgetImage", b"[]", "SerializationException"),
])
def test_malformed_json_requests(target: str, body: bytes, code: str) -> None:
    with pytest.raises(ServiceError) as caught:
        JSON.decode({"X-Amz-Target": target}, {}, body)
    assert (caught.value.code, caught.value.status) == (code, 400)


def test_query_request_from_form_and_url() -> None:
    body = b"Action=GetMetricWidgetImage&Version=2010-08-01&MetricWidget=%7B%22a%22%3A+1%7D"
    call = QUERY.decode({}, {"OutputFormat": "png"}, body)
    assert call.operation == "GetMetricWidgetImage"
    assert call.params == {"MetricWidget": '{"a": 1}', "OutputFormat": "png"}
    with pytest.raises(ServiceError, match="no Action"):
        QUERY.decode({}, {}, b"Version=2010-08-01")


def test_query_answers_are_cloudwatch_xml() -> None:
    result = ET.fromstring(QUERY.encode_result("GetMetricWidgetImage", {"MetricWidgetImage": b"png"}, "rid").body)
    assert result.tag == f"{{{XML_NAMESPACE}}}GetMetricWidgetImageResponse"
    assert result.findtext("cw:GetMetricWidgetImageResult/cw:MetricWidgetImage", namespaces=NS) == "cG5n"
    assert result.findtext("cw:ResponseMetadata/cw:RequestId", namespaces=NS) == "rid"
    reply = QUERY.encode_error(ServiceError("InvalidParameterValue", "bad <width> & height"), "rid")
    error = ET.fromstring(reply.body)
    assert reply.status == 400 and reply.content_type == "text/xml"
    assert [error.findtext(f"cw:Error/cw:{name}", namespaces=NS) for name in ("Type", "Code", "Message")] == [
        "Sender", "InvalidParameterValue", "bad <width> & height"]
    assert error.findtext("cw:RequestId", namespaces=NS) == "rid"


@pytest.mark.parametrize(("headers", "query", "expected"), [
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/monitoring/aws4_request, "
                       "SignedHeaders=host, Signature=abc"}, {}, Caller("AKIDEXAMPLE", "eu-west-1")),
    ({}, {"X-Amz-Credential": "AKIDQUERY/20261126/us-east-1/monitoring/aws4_request"},
     Caller("AKIDQUERY", "us-east-1")),
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDSHORT/"}, {}, Caller("AKIDSHORT", None)),
    ({}, {}, Caller("anonymous", None)),
    ({"Authorization": "Bearer token"}, {}, Caller("anonymous", None)),
])
def test_the_caller_comes_from_the_sigv4_credential(headers: dict[str, str], query: dict[str, str],
                                                     expected: Caller) -> None:
    assert caller(headers, query) == expected
