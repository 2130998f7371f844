"""CloudWatch's wire protocols: decode a request into (operation, parameters), encode results and errors.

Three protocols, chosen per request the way the SDKs send them:

* AWS JSON 1.0 (botocore ≥ 1.42.7): ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``, JSON
  body. Errors carry ``x-amzn-query-error: <Code>;<Sender|Receiver>`` because CloudWatch is
  awsQueryCompatible, and botocore takes the error code from that header.
* Smithy RPC v2 CBOR (first in the service model's ``protocols``): ``POST
  /service/GraniteServiceVersion20100801/operation/<Operation>`` with ``smithy-protocol: rpc-v2-cbor``
  and CBOR bodies both ways: timestamps as tag 1 (epoch seconds), blobs as byte strings, NaN and the
  infinities as CBOR floats. Errors look like JSON 1.0's, ``__type``, ``message`` and the same
  ``x-amzn-query-error`` header.
* query (older SDKs, the AWS CLI v1 of old): form-encoded ``Action=…&Version=2010-08-01`` where nested
  parameters are flattened (``MetricData.member.1.Dimensions.member.1.Name``), XML answers.

All are driven by botocore's CloudWatch service model, the same one the SDKs serialize from: a request
is read member by member along the operation's input shape into plain Python values (dicts, lists,
``str``, ``int``, ``float``, ``bool``, aware ``datetime``, ``bytes``), checking what the model requires
(required members, enums, lengths); a result is written along the output shape. JSON and CBOR share the
reading and writing of their documents and differ only in scalars (``_DocumentReader``, ``_to_document``).
Members the model does not know are ignored, as AWS does. Messages name parameters the way CloudWatch
does, in the flattened form (``MetricData.member.2.Value``), whatever the protocol.

The query protocol serves any query service given its ``Service`` (``QueryProtocol(Service("sts", …))``
speaks STS); ``signing_service`` says which service a request was signed for.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import cbor2
from botocore.loaders import create_loader
from botocore.model import OperationModel, OperationNotFoundError, ServiceModel, Shape, StructureShape

API_VERSION = "2010-08-01"
TARGET_PREFIX = "GraniteServiceVersion20100801"
JSON_TARGET_PREFIX = f"{TARGET_PREFIX}."
CBOR_PATH_PREFIX = f"/service/{TARGET_PREFIX}/operation/"
XML_NAMESPACE = f"http://monitoring.amazonaws.com/doc/{API_VERSION}/"
ANONYMOUS = "anonymous"

# "Credential=AKID/20261126/us-east-1/monitoring/aws4_request" in a SigV4 Authorization header: the key,
# and the scope's region and service.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(?:\d{8}/([^/,\s]+)/(?:([^/,\s]+)/)?)?")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ServiceError(Exception):
    """An error to answer in CloudWatch's words: a code, a message, an HTTP status, and any further
    fields the error's shape in the service model carries (``dashboardValidationMessages``)."""

    def __init__(self, code: str, message: str, *, status: int = 400, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields: Mapping[str, Any] = fields or {}

    @property
    def fault(self) -> str:
        """Whose fault it is, as AWS says it: ``Sender`` for 4xx, ``Receiver`` for 5xx."""
        return "Sender" if self.status < 500 else "Receiver"

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Call:
    """A decoded API request: the operation and its parameters, typed as the service model says."""

    operation: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Reply:
    """An encoded answer, ready to become an HTTP response."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Service:
    """One AWS service as botocore models it: its operations' input and output shapes, and its errors.

    ``title`` names it in messages ("'Fly' is not a CloudWatch operation"). The model loads on first use.
    """

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.title = title

    @cached_property
    def model(self) -> ServiceModel:
        return ServiceModel(create_loader().load_service_model(self.name, "service-2"), self.name)

    @property
    def namespace(self) -> str:
        """The XML namespace of its query-protocol answers."""
        namespace: str = self.model.metadata["xmlNamespace"]
        return namespace

    def operation(self, name: str) -> OperationModel:
        try:
            return self.model.operation_model(name)
        except OperationNotFoundError:
            raise ServiceError("InvalidAction", f"{name!r} is not a {self.title} operation") from None

    def input_shape(self, operation: str) -> StructureShape:
        shape = self.operation(operation).input_shape
        return shape if shape is not None else StructureShape("Empty", {"type": "structure", "members": {}})

    def error_shape(self, code: str) -> Shape | None:
        return self._error_shapes.get(code)

    @cached_property
    def _error_shapes(self) -> dict[str, Shape]:
        return {shape.metadata.get("error", {}).get("code", shape.name): shape for shape in self.model.error_shapes}


CLOUDWATCH = Service("cloudwatch", "CloudWatch")


def service_model() -> ServiceModel:
    """botocore's CloudWatch model: the shapes of every operation's input, output and errors."""
    return CLOUDWATCH.model


class Protocol(ABC):
    """One wire protocol: how requests are read and how results and errors are written.

    A request is given as its URL ``path``, ``headers``, ``query`` parameters and ``body``.
    """

    name: str

    def operation(self, headers: Mapping[str, str], query: Mapping[str, str], path: str = "/") -> str | None:
        """The operation, when the request names it before its body; None when only the body tells."""
        return None

    @abstractmethod
    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, path: str = "/") -> Call:
        """Read the operation and its parameters; raise ``ServiceError`` if the request is malformed."""

    @abstractmethod
    def encode_result(self, operation: str, result: Mapping[str, Any], request_id: str) -> Reply:
        """Write a successful result (members of the operation's output shape; ``bytes`` are blobs)."""

    @abstractmethod
    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        """Write an error the way the SDKs of this protocol parse it."""


class _DocumentProtocol(Protocol):
    """JSON 1.0 and RPC v2 CBOR: the operation named outside the body, a document of the input shape in
    it; results as documents of the output shape, errors as ``{"__type", "message", …}`` documents."""

    content_type: str
    headers: Mapping[str, str] = {}  # on every answer
    empty: bytes  # the body answering an operation that has no output
    reader: _Reader
    scalars: Mapping[str, Callable[[Any], Any]]

    @abstractmethod
    def load(self, body: bytes) -> Any:
        """The document in a request body; ``ServiceError`` if it is not one."""

    @abstractmethod
    def dump(self, document: Any) -> bytes: ...

    @abstractmethod
    def unknown(self, headers: Mapping[str, str], path: str) -> ServiceError:
        """The error for a request that names no CloudWatch operation."""

    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, path: str = "/") -> Call:
        operation = self.operation(headers, query, path)
        if operation is None:
            raise self.unknown(headers, path)
        params = self.load(body)
        if not isinstance(params, dict):
            raise ServiceError("SerializationException", f"the request body must be a {self.name.upper()} object")
        return Call(operation, self.reader.structure(CLOUDWATCH.input_shape(operation), params, ""))

    def encode_result(self, operation: str, result: Mapping[str, Any], request_id: str) -> Reply:
        shape = CLOUDWATCH.operation(operation).output_shape
        body = self.dump(_to_document(shape, result, self.scalars)) if shape is not None else self.empty
        return Reply(200, body, self.content_type, {**self.headers, "x-amzn-RequestId": request_id})

    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        shape = CLOUDWATCH.error_shape(error.code)
        fields = _to_document(shape, error.fields, self.scalars) if shape is not None and error.fields else {}
        body = self.dump({"__type": error.code, "message": error.message, **fields})
        headers = {**self.headers, "x-amzn-RequestId": request_id, "x-amzn-query-error": f"{error.code};{error.fault}"}
        return Reply(error.status, body, self.content_type, headers)


class JsonProtocol(_DocumentProtocol):
    name = "json"
    content_type = "application/x-amz-json-1.0"
    empty = b"{}"

    def __init__(self) -> None:
        self.reader = _JsonReader()
        self.scalars = _JSON_SCALARS

    def operation(self, headers: Mapping[str, str], query: Mapping[str, str], path: str = "/") -> str | None:
        prefix, _, operation = headers.get("X-Amz-Target", "").rpartition(".")
        return operation if f"{prefix}." == JSON_TARGET_PREFIX and operation else None

    def unknown(self, headers: Mapping[str, str], path: str) -> ServiceError:
        return ServiceError("InvalidAction", f"{headers.get('X-Amz-Target', '')!r} is not a CloudWatch operation "
                                             f"(expected {JSON_TARGET_PREFIX}<Operation>)")

    def load(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"{}")
        except ValueError as exc:
            raise ServiceError("SerializationException", f"the request body is not valid JSON: {exc}") from None

    def dump(self, document: Any) -> bytes:
        return json.dumps(document).encode()


class CborProtocol(_DocumentProtocol):
    """Smithy RPC v2 CBOR; the answer to an operation without output has no body, as the protocol says."""

    name = "cbor"
    content_type = "application/cbor"
    headers = {"smithy-protocol": "rpc-v2-cbor"}
    empty = b""

    def __init__(self) -> None:
        self.reader = _CborReader()
        self.scalars = _CBOR_SCALARS

    def operation(self, headers: Mapping[str, str], query: Mapping[str, str], path: str = "/") -> str | None:
        prefix, _, operation = path.rpartition("/")
        return operation if f"{prefix}/" == CBOR_PATH_PREFIX and operation else None

    def unknown(self, headers: Mapping[str, str], path: str) -> ServiceError:
        return ServiceError("InvalidAction", f"{path!r} is not a CloudWatch operation (expected "
                                             f"{CBOR_PATH_PREFIX}<Operation>)")

    def load(self, body: bytes) -> Any:
        if not body:  # an input without members may be sent as no body at all
            return {}
        stream = io.BytesIO(body)
        try:
            document = cbor2.load(stream)
        except (cbor2.CBORDecodeError, ValueError, OverflowError) as exc:
            raise ServiceError("SerializationException", f"the request body is not valid CBOR: {exc}") from None
        if stream.tell() != len(body):
            raise ServiceError("SerializationException",
                               f"the request body has {len(body) - stream.tell()} bytes after its CBOR item")
        return document

    def dump(self, document: Any) -> bytes:
        return cbor2.dumps(document, datetime_as_timestamp=True)


class QueryProtocol(Protocol):
    """The query protocol of ``service``: form parameters in, XML in the service's namespace out."""

    name = "query"
    content_type = "text/xml"

    def __init__(self, service: Service) -> None:
        self.service = service

    def operation(self, headers: Mapping[str, str], query: Mapping[str, str], path: str = "/") -> str | None:
        return query.get("Action") or None

    def decode(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, path: str = "/") -> Call:
        flat: dict[str, str] = dict(query)
        flat.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        operation = flat.pop("Action", None)
        flat.pop("Version", None)
        if not operation:
            raise ServiceError("MissingAction", "the request has no Action parameter")
        return Call(operation, _QueryReader().structure(self.service.input_shape(operation), _unflatten(flat), ""))

    def encode_result(self, operation: str, result: Mapping[str, Any], request_id: str) -> Reply:
        shape = self.service.operation(operation).output_shape
        wrapped = ""
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{operation}Result")
            wrapped = f"<{wrapper}>{_to_xml(shape, result)}</{wrapper}>"
        body = (f'<{operation}Response xmlns="{self.service.namespace}">{wrapped}'
                f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>")
        return Reply(200, body.encode(), self.content_type, {"x-amzn-RequestId": request_id})

    def encode_error(self, error: ServiceError, request_id: str) -> Reply:
        shape = self.service.error_shape(error.code)
        fields = _to_xml(shape, error.fields) if shape is not None and error.fields else ""
        body = (f'<ErrorResponse xmlns="{self.service.namespace}"><Error><Type>{error.fault}</Type>'
                f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{fields}</Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return Reply(error.status, body.encode(), self.content_type, {"x-amzn-RequestId": request_id})


def detect(headers: Mapping[str, str], path: str = "/") -> Protocol:
    """The protocol a request speaks: JSON 1.0 when it names an ``X-Amz-Target``; RPC v2 CBOR when it says
    ``smithy-protocol: rpc-v2-cbor`` or is posted under ``/service/``; else query."""
    if "X-Amz-Target" in headers:
        return JSON
    if headers.get("smithy-protocol") == "rpc-v2-cbor" or path.startswith("/service/"):
        return CBOR
    return QUERY


@dataclass(frozen=True)
class Caller:
    """Who signed a request (SigV4, in the header or a presigned query): the access key id, or ``anonymous``,
    and the region it was signed for, if any."""

    access_key: str = ANONYMOUS
    region: str | None = None


def caller(headers: Mapping[str, str], query: Mapping[str, str]) -> Caller:
    """The request's ``Caller``."""
    match = _credential(headers, query)
    return Caller() if match is None else Caller(match.group(1), match.group(2))


def signing_service(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The service a SigV4 request was signed for (``monitoring``, ``sts``), or None if it is not signed."""
    match = _credential(headers, query)
    return None if match is None else match.group(3)


def _credential(headers: Mapping[str, str], query: Mapping[str, str]) -> re.Match[str] | None:
    for source in (headers.get("Authorization", ""), f"Credential={query.get('X-Amz-Credential', '')}"):
        match = _CREDENTIAL.search(source)
        if match:
            return match
    return None


# ---- reading requests along the input shape ---------------------------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Reader(ABC):
    """Reads one request's parameters along a shape; the two protocols differ in containers and scalars."""

    # What a value of the wrong type is called in this protocol.
    malformed = "InvalidParameterValue"

    def read(self, shape: Shape, node: Any, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, node, path)
        if kind == "list":
            items = [self.read(shape.member, item, f"{path}.member.{index}")
                     for index, item in enumerate(self.list_items(shape, node, path), 1)]
            _check_size(shape, len(items), path, "The collection {path} must have {limit} items")
            return items
        if kind == "map":
            return {self.read(shape.key, key, f"{path}.entry.{index}.key"):
                    self.read(shape.value, value, f"{path}.entry.{index}.value")
                    for index, (key, value) in enumerate(self.map_entries(shape, node, path), 1)}
        value = self.scalar(kind, node, path)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            raise ServiceError("InvalidParameterValue",
                               f"The parameter {path} must be a value in the set [ {', '.join(enum)} ].")
        if kind == "string":
            _check_size(shape, len(value), path, "The parameter {path} must be {limit} characters long")
        elif kind in ("integer", "long") and "min" in shape.metadata and value < shape.metadata["min"]:
            raise ServiceError("InvalidParameterValue",
                               f"The parameter {path} must be at least {shape.metadata['min']}.")
        return value

    def structure(self, shape: StructureShape, node: Any, path: str) -> dict[str, Any]:
        fields = self.structure_fields(node, path)
        given = {name: fields.get(member.serialization.get("name", name)) for name, member in shape.members.items()}
        for name in shape.required_members:  # the outer structure's gaps first, then what is inside
            if given[name] is None:
                raise ServiceError("MissingParameter", f"The parameter {_join(path, name)} is required.")
        return {name: self.read(shape.members[name], value, _join(path, name))
                for name, value in given.items() if value is not None}

    def bad(self, path: str, node: Any, expected: str) -> ServiceError:
        return ServiceError(self.malformed, f"The value {node!r} for parameter {path} is invalid: expected {expected}.")

    @abstractmethod
    def structure_fields(self, node: Any, path: str) -> Mapping[str, Any]: ...

    @abstractmethod
    def list_items(self, shape: Shape, node: Any, path: str) -> list[Any]: ...

    @abstractmethod
    def map_entries(self, shape: Shape, node: Any, path: str) -> list[tuple[Any, Any]]: ...

    @abstractmethod
    def scalar(self, kind: str, node: Any, path: str) -> Any: ...


class _DocumentReader(_Reader):
    """Reads a decoded JSON or CBOR document: objects, arrays and scalars of their own types. The formats
    differ only in how a timestamp, a blob and a special float (NaN, ±Infinity) are written: ``special``."""

    malformed = "SerializationException"

    def structure_fields(self, node: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(node, dict):
            raise self.bad(path, node, "an object")
        return node

    def list_items(self, shape: Shape, node: Any, path: str) -> list[Any]:
        if not isinstance(node, list):
            raise self.bad(path, node, "a list")
        return node

    def map_entries(self, shape: Shape, node: Any, path: str) -> list[tuple[Any, Any]]:
        return list(self.structure_fields(node, path).items())

    def scalar(self, kind: str, node: Any, path: str) -> Any:
        number = isinstance(node, int | float) and not isinstance(node, bool)
        if kind in ("string", "character") and isinstance(node, str):
            return node
        if kind in ("integer", "long") and number and (isinstance(node, int) or node.is_integer()):
            return int(node)
        if kind in ("double", "float") and number:
            return float(node)
        if kind == "boolean" and isinstance(node, bool):
            return node
        if kind == "timestamp" and number:
            try:
                return _from_epoch(node)
            except ValueError:
                raise self.bad(path, node, "epoch seconds") from None
        value = self.special(kind, node, path)
        if value is None:
            raise self.bad(path, node, f"a {kind}")
        return value

    @abstractmethod
    def special(self, kind: str, node: Any, path: str) -> Any:
        """``node`` read as a ``kind`` the format writes its own way; None if it is not one."""


class _JsonReader(_DocumentReader):
    """Timestamps may also be ISO 8601 text, blobs are base64 text, special floats are "NaN" and the like."""

    def special(self, kind: str, node: Any, path: str) -> Any:
        if not isinstance(node, str):
            return None
        if kind in ("double", "float"):
            return _SPECIAL_FLOATS.get(node)
        if kind == "timestamp":
            return _parse_time(node, path, self)
        if kind == "blob":
            return _parse_blob(node, path, self)
        return None


class _CborReader(_DocumentReader):
    """Timestamps are tag 1 (which cbor2 decodes to an aware ``datetime``), blobs are byte strings."""

    def special(self, kind: str, node: Any, path: str) -> Any:
        if kind == "timestamp" and isinstance(node, datetime):
            return _as_utc(node)
        if kind == "blob" and isinstance(node, bytes):
            return node
        return None


class _QueryReader(_Reader):
    """Reads the tree ``_unflatten`` makes of form fields: dicts of path parts, strings at the leaves."""

    def structure_fields(self, node: Any, path: str) -> Mapping[str, Any]:
        if node == "":
            return {}
        if not isinstance(node, dict):
            raise self.bad(path, node, "nested parameters")
        return node

    def list_items(self, shape: Shape, node: Any, path: str) -> list[Any]:
        if node == "":  # how the query protocol sends an empty list
            return []
        if not shape.serialization.get("flattened"):
            node = self.structure_fields(node, path).get(shape.member.serialization.get("name", "member"), {})
        return _numbered(self.structure_fields(node, path))

    def map_entries(self, shape: Shape, node: Any, path: str) -> list[tuple[Any, Any]]:
        if node == "":
            return []
        if not shape.serialization.get("flattened"):
            node = self.structure_fields(node, path).get("entry", {})
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        return [(entry.get(key_name), entry.get(value_name))
                for entry in _numbered(self.structure_fields(node, path)) if isinstance(entry, dict)]

    def scalar(self, kind: str, node: Any, path: str) -> Any:
        if not isinstance(node, str):
            raise self.bad(path, node, f"a {kind}, not nested parameters")
        try:
            match kind:
                case "integer" | "long":
                    return int(node)
                case "double" | "float":
                    return float(node)  # "NaN", "Infinity" and "-Infinity" included
                case "boolean" if node in ("true", "false"):
                    return node == "true"
                case "timestamp":
                    return _parse_time(node, path, self)
                case "blob":
                    return _parse_blob(node, path, self)
                case "string" | "character":
                    return node
        except ValueError:
            pass
        raise self.bad(path, node, f"a {kind}")


def _unflatten(flat: Mapping[str, str]) -> dict[str, Any]:
    """``{"A.member.1.B": "x"}`` → ``{"A": {"member": {"1": {"B": "x"}}}}``; a name that is both a value
    and a prefix keeps the nested parameters."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(leaf), dict):
            node[leaf] = value
    return tree


def _numbered(node: Mapping[str, Any]) -> list[Any]:
    """The values of ``{"1": a, "2": b, …}`` in numeric order; keys that are not numbers are ignored."""
    return [node[key] for key in sorted((key for key in node if key.isdigit()), key=int)]


def _check_size(shape: Shape, size: int, path: str, template: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and size < low) or (high is not None and size > high):
        limit = f"{low} to {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise ServiceError("InvalidParameterValue", template.format(path=path, limit=limit) + ".")


def _parse_time(text: str, path: str, reader: _Reader) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return _from_epoch(float(text))
        except ValueError:
            raise reader.bad(path, text, "an ISO 8601 time or epoch seconds") from None
    return _as_utc(moment)


def _from_epoch(seconds: float) -> datetime:
    """``seconds`` since the epoch as a UTC time; ``ValueError`` if it is not one (NaN, or out of range)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{seconds!r} epoch seconds is out of range") from exc


def _as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_blob(text: str, path: str, reader: _Reader) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise reader.bad(path, text, "base64") from None


# ---- writing results along the output shape ---------------------------------------------------------------


def _float_text(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _to_document(shape: Shape, value: Any, scalars: Mapping[str, Callable[[Any], Any]]) -> Any:
    """``value`` as a JSON or CBOR document of ``shape``: structures and maps become objects, lists arrays, and
    each scalar what ``scalars`` makes of its kind (as it is, for a kind not there)."""
    kind = shape.type_name
    if kind == "structure":
        return {name: _to_document(member, value[name], scalars) for name, member in shape.members.items()
                if value.get(name) is not None}
    if kind == "list":
        return [_to_document(shape.member, item, scalars) for item in value]
    if kind == "map":
        return {key: _to_document(shape.value, item, scalars) for key, item in value.items()}
    return scalars.get(kind, _same)(value)


def _to_xml(shape: Shape, value: Any) -> str:
    """The XML inside the element for ``value``."""
    kind = shape.type_name
    if kind == "structure":
        parts: list[str] = []
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None:
                continue
            tag = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                parts.extend(f"<{tag}>{_to_xml(member.member, element)}</{tag}>" for element in item)
            else:
                parts.append(f"<{tag}>{_to_xml(member, item)}</{tag}>")
        return "".join(parts)
    if kind == "list":
        tag = shape.member.serialization.get("name", "member")
        return "".join(f"<{tag}>{_to_xml(shape.member, item)}</{tag}>" for item in value)
    if kind == "map":
        key, item_tag = shape.key.serialization.get("name", "key"), shape.value.serialization.get("name", "value")
        return "".join(f"<entry><{key}>{escape(str(k))}</{key}><{item_tag}>{_to_xml(shape.value, v)}</{item_tag}>"
                       f"</entry>" for k, v in value.items())
    return escape(str(_XML_SCALARS.get(kind, _same)(value)))


def _same(value: Any) -> Any:
    return value


def _blob_text(value: str | bytes) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ")


_JSON_SCALARS: dict[str, Callable[[Any], Any]] = {
    "timestamp": lambda moment: moment.timestamp(),
    "blob": _blob_text,
    "double": lambda number: _float_text(float(number)),
    "float": lambda number: _float_text(float(number)),
}
# cbor2 writes a datetime as tag 1 (told to), bytes as a byte string, and NaN and ±Infinity as CBOR floats.
_CBOR_SCALARS: dict[str, Callable[[Any], Any]] = {
    "double": float,
    "float": float,
}
_XML_SCALARS: dict[str, Callable[[Any], Any]] = {
    "timestamp": _iso,
    "blob": _blob_text,
    "double": lambda number: _float_text(float(number)),
    "float": lambda number: _float_text(float(number)),
    "boolean": lambda flag: "true" if flag else "false",
}


# Made last: they use the readers and scalar tables above.
JSON = JsonProtocol()
CBOR = CborProtocol()
QUERY = QueryProtocol(CLOUDWATCH)
