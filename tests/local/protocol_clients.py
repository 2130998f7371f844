"""What tests of the stand-in's API share: CloudWatch models that speak one protocol, botocore's own serializers
and parsers, and how times and XML answers are written. Clients come from the suite's conftest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore import parsers, serialize
from botocore.loaders import create_loader

from reportgen.local.protocols import XML_NAMESPACE, service_model

PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor")
NS = {"cw": XML_NAMESPACE}  # for ElementTree's find* in the query protocol's answers


def write_data_path(protocol: str, directory: Path) -> Path:
    """A botocore data path under ``directory`` whose CloudWatch model speaks only ``protocol``: botocore picks
    the protocol from the model's ``protocols``."""
    model = create_loader().load_service_model("cloudwatch", "service-2")
    model["metadata"] = {**model["metadata"], "protocol": protocol, "protocols": [protocol]}
    target = directory / protocol / "cloudwatch" / model["metadata"]["apiVersion"] / "service-2.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(model))
    return directory / protocol


def botocore_request(protocol: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """What botocore's serializer for ``protocol`` sends for ``params``: ``url_path``, ``headers`` and a
    ``body`` of bytes (a query form encoded as it goes on the wire)."""
    request: dict[str, Any] = serialize.create_serializer(protocol).serialize_to_request(
        params, service_model().operation_model(operation))
    if not isinstance(request["body"], bytes):
        request["body"] = urlencode(request["body"]).encode()
    return request


def botocore_parse(protocol: str, body: bytes, headers: dict[str, str], status: int,
                   operation: str) -> dict[str, Any]:
    """What botocore's parser for ``protocol`` reads from an answer to ``operation``."""
    # botocore reads headers by their lower-case names, as HTTP lets it.
    parsed: dict[str, Any] = parsers.create_parser(protocol).parse(
        {"body": body, "headers": {name.lower(): value for name, value in headers.items()}, "status_code": status},
        service_model().operation_model(operation).output_shape)
    return parsed


def utc(value: Any) -> Any:
    """botocore parses times into local-zone datetimes; compare them as UTC ones."""
    if isinstance(value, dict):
        return {key: utc(item) for key, item in value.items()}
    if isinstance(value, list):
        return [utc(item) for item in value]
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def iso(moment: datetime) -> str:
    """``moment`` (UTC) as widget JSON writes a time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
