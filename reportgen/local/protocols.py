"""CloudWatch's wire protocols: decode a request into (operation, parameters), encode results and errors.

Two protocols, chosen per request the way the SDKs send them:

* AWS JSON 1.0 (botocore ≥ 1.42.7): ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``, JSON
  body. Errors carry ``x-amzn-query-error: <Code>;<Sender|Receiver>`` because CloudWatch is
  awsQueryCompatible, and botocore takes the error code from that header.
* query (older SDKs, the AWS CLI v1 of old): form-encoded ``Action=…&Version=2010-08-01``, XML answers.
"""

from __future__ import annotations

import base64
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

API_VERSION = "2010-08-01"
JSON_TARGET_PREFIX = "GraniteServiceVersion20100801."
XML_NAMESPACE = f"http://monitoring.amazonaws.com/doc/{API_VERSION}/"
ANONYMOUS = "anonymous"

# "Credential=AKID/20261126/us-east-1/monitoring/aws4_request" in a SigV4 Authorization header.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class ServiceError(Exception):
    """An error to answer in CloudWatch's words: a code, a message, and an HTTP status."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def fault(self) -> str:
        """Whose fault it is, as AWS says it: ``Sender`` for 4xx, ``Receiver`` for 5xx."""
        return "Sender" if self.status < 500 else "Receiver"

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Call:
    """A decoded API request."""

    operation: str
    params: Mapping[str, object]


@dataclass(frozen=True)
class Reply:
    """An encoded answer, ready to become an HTTP response."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Protocol(ABC):
    """One wire protocol: how requests are read and how results and errors are written."""

    name: str

    @abstractmethod
    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> Call:
        """Read the operation and its parameters; raise ``ServiceError`` if the request is malformed."""

    @abstractmethod
    def encode_result(self, operation: str, result: Mapping[str, str | bytes], request_id: str) -> Reply:
        """Write a successful result; ``bytes`` values are blobs and travel base64-encoded."""

    @abstractmethod
    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        """Write an error the way the SDKs of this protocol parse it."""


class JsonProtocol(Protocol):
    name = "json"
    content_type = "application/x-amz-json-1.0"

    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> Call:
        target = headers.get("X-Amz-Target", "")
        prefix, _, operation = target.rpartition(".")
        if f"{prefix}." != JSON_TARGET_PREFIX or not operation:
            raise ServiceError("InvalidAction", f"{target!r} is not a CloudWatch operation (expected "
                                                f"{JSON_TARGET_PREFIX}<Operation>)")
        try:
            params = json.loads(body or b"{}")
        except ValueError as exc:
            raise ServiceError("SerializationException", f"the request body is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ServiceError("SerializationException", "the request body must be a JSON object")
        return Call(operation, params)

    def encode_result(self, operation: str, result: Mapping[str, str | bytes], request_id: str) -> Reply:
        body = {key: _blob_text(value) for key, value in result.items()}
        return Reply(200, json.dumps(body).encode(), self.content_type, {"x-amzn-RequestId": request_id})

    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        body = json.dumps({"__type": error.code, "message": error.message}).encode()
        headers = {"x-amzn-RequestId": request_id, "x-amzn-query-error": f"{error.code};{error.fault}"}
        return Reply(error.status, body, self.content_type, headers)


class QueryProtocol(Protocol):
    name = "query"
    content_type = "text/xml"

    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> Call:
        params: dict[str, object] = dict(query)
        params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        operation = params.pop("Action", None)
        params.pop("Version", None)
        if not operation:
            raise ServiceError("MissingAction", "the request has no Action parameter")
        return Call(str(operation), params)

    def encode_result(self, operation: str, result: Mapping[str, str | bytes], request_id: str) -> Reply:
        fields = "".join(f"<{key}>{escape(_blob_text(value))}</{key}>" for key, value in result.items())
        body = (f'<{operation}Response xmlns="{XML_NAMESPACE}"><{operation}Result>{fields}</{operation}Result>'
                f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>")
        return Reply(200, body.encode(), self.content_type, {"x-amzn-RequestId": request_id})

    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        body = (f'<ErrorResponse xmlns="{XML_NAMESPACE}"><Error><Type>{error.fault}</Type>'
                f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return Reply(error.status, body.encode(), self.content_type, {"x-amzn-RequestId": request_id})


JSON = JsonProtocol()
QUERY = QueryProtocol()


def detect(headers: Mapping[str, str]) -> Protocol:
    """The protocol a request speaks: JSON 1.0 when it names an ``X-Amz-Target``, else query."""
    return JSON if "X-Amz-Target" in headers else QUERY


def access_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The caller's access key id from SigV4 (header or presigned query), or ``anonymous``."""
    for source in (headers.get("Authorization", ""), f"Credential={query.get('X-Amz-Credential', '')}"):
        match = _CREDENTIAL.search(source)
        if match:
            return match.group(1)
    return ANONYMOUS


def _blob_text(value: str | bytes) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
