"""The ``json`` protocol (awsJson 1.0 and 1.1), and the shape-driven value
conversion the other JSON-like codecs (rest-json, smithy-rpc-v2-cbor) reuse.

A JSON request is ``POST /`` with ``X-Amz-Target: <prefix>.<Operation>`` and
the input structure as a JSON object; the response is the output structure as
a JSON object. Timestamps are epoch seconds unless the member's
``timestampFormat`` says otherwise, blobs are base64. Errors carry
``{"__type": code, "message": ...}`` and the ``x-amzn-ErrorType`` header; for
``awsQueryCompatible`` services also ``x-amzn-query-error: Code;Sender``.

``ShapeDecoder`` turns a decoded wire tree (dicts, lists, scalars) into the
Python values the handlers use, checking every type on the way;
``ShapeEncoder`` does the reverse. Both only look at the botocore shapes, and
cache what they derive from a shape.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from rampart.aws.errors import AwsError, InternalFailure, SerializationError
from rampart.aws.models import OperationModel, ServiceModel, Shape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.rest import format_timestamp, to_datetime

__all__ = [
    "CODEC",
    "MAX_DEPTH",
    "ErrorEnvelope",
    "JsonCodec",
    "ShapeDecoder",
    "ShapeEncoder",
    "decode_json_body",
    "dump_json",
    "error_document",
    "error_envelope",
    "error_headers",
]

# Deepest nesting of containers accepted in a request (recursive shapes and
# documents); bounds the recursion of the decoders.
MAX_DEPTH = 100
# Every botocore shape type the converters handle.
SHAPE_TYPES = ("structure", "list", "map", "string", "integer", "long", "float", "double", "boolean", "timestamp", "blob")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_JSON_KIND = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def _kind(value: Any) -> str:
    return _JSON_KIND.get(type(value), type(value).__name__)


def _mismatch(shape: Shape, value: Any) -> SerializationError:
    return SerializationError(
        f"Expected {shape.type_name} for {shape.name}, found {_kind(value)}"
    )


@lru_cache(maxsize=8192)
def wire_index(shape: Shape, use_member_names: bool = False) -> dict[str, tuple[str, Shape]]:
    """Wire key -> (member name, member shape) of a structure.

    JSON protocols key members by their serialization name (``locationName``);
    RPCv2 CBOR keys them by member name. The decoder index of the latter also
    accepts serialization names, which botocore's serializer sends.
    """
    index: dict[str, tuple[str, Shape]] = {}
    for name, member in shape.members.items():
        if member.metadata.get("eventstream") or member.serialization.get("eventstream"):
            continue
        wire = member.serialization.get("name", name)
        index[wire] = (name, member)
        if use_member_names:
            index.setdefault(name, (name, member))
    return index


@lru_cache(maxsize=8192)
def _output_index(shape: Shape, use_member_names: bool) -> dict[str, tuple[str, Shape]]:
    """Member name -> (wire key, member shape), for encoding (event streams left out)."""
    return {
        name: (name if use_member_names else member.serialization.get("name", name), member)
        for name, member in shape.members.items()
        if not (member.metadata.get("eventstream") or member.serialization.get("eventstream"))
    }


class ShapeDecoder:
    """Wire tree -> Python values, by shape; wrong types raise SerializationError.

    Null structure members are left out (absent, as AWS reads them); null
    list elements and map values are kept, for validation to refuse.
    Subclasses change how blobs and timestamps appear on the wire (base64
    text and epoch numbers in JSON).
    """

    use_member_names = False

    def __init__(self) -> None:
        self._methods: dict[str, Any] = {kind: getattr(self, "_" + kind) for kind in SHAPE_TYPES}

    def decode(self, value: Any, shape: Shape, depth: int = 0) -> Any:
        """Decode one value of ``shape``; ``None`` stays ``None``."""
        if value is None:
            return None
        if depth > MAX_DEPTH:
            raise SerializationError("Request nests too deeply")
        method = self._methods.get(shape.type_name)
        if method is None:
            raise SerializationError(f"Unsupported shape type {shape.type_name}")
        return method(value, shape, depth)

    def _structure(self, value: Any, shape: Shape, depth: int) -> Any:
        if shape.is_document_type:
            return self._document(value, depth)
        if not isinstance(value, dict):
            raise _mismatch(shape, value)
        index = wire_index(shape, self.use_member_names)
        result: dict[str, Any] = {}
        for key, raw in value.items():
            if not isinstance(key, str):
                raise SerializationError(f"Member names of {shape.name} must be strings")
            found = index.get(key)
            if found is None or raw is None:
                continue
            result[found[0]] = self.decode(raw, found[1], depth + 1)
        return result

    def _list(self, value: Any, shape: Shape, depth: int) -> list[Any]:
        if not isinstance(value, list):
            raise _mismatch(shape, value)
        member = shape.member
        return [self.decode(item, member, depth + 1) for item in value]

    def _map(self, value: Any, shape: Shape, depth: int) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _mismatch(shape, value)
        result: dict[str, Any] = {}
        for key, raw in value.items():
            if not isinstance(key, str):
                raise SerializationError(f"Map keys of {shape.name} must be strings")
            result[key] = self.decode(raw, shape.value, depth + 1)
        return result

    def _string(self, value: Any, shape: Shape, depth: int) -> str:
        if not isinstance(value, str):
            raise _mismatch(shape, value)
        return value

    def _integer(self, value: Any, shape: Shape, depth: int) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _mismatch(shape, value)
        if isinstance(value, float):
            if not value.is_integer():
                raise SerializationError(f"Expected an integer for {shape.name}, found {value!r}")
            return int(value)
        return value

    _long = _integer

    def _float(self, value: Any, shape: Shape, depth: int) -> float:
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _mismatch(shape, value)
        return float(value)

    _double = _float

    def _boolean(self, value: Any, shape: Shape, depth: int) -> bool:
        if not isinstance(value, bool):
            raise _mismatch(shape, value)
        return value

    def _timestamp(self, value: Any, shape: Shape, depth: int) -> dt.datetime:
        if isinstance(value, (bool, dict, list)):
            raise _mismatch(shape, value)
        return to_datetime(value)

    def _blob(self, value: Any, shape: Shape, depth: int) -> bytes:
        if not isinstance(value, str):
            raise _mismatch(shape, value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SerializationError(f"Invalid base64 for {shape.name}") from exc

    def _document(self, value: Any, depth: int) -> Any:
        """Documents pass through; only JSON-like values are accepted."""
        if depth > MAX_DEPTH:
            raise SerializationError("Document nests too deeply")
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, list):
            return [self._document(v, depth + 1) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {k: self._document(v, depth + 1) for k, v in value.items()}
        raise SerializationError(f"Unsupported value in document: {_kind(value)}")


class ShapeEncoder:
    """Python values -> wire tree, by shape (JSON flavour: base64 blobs, epoch timestamps).

    Members that are ``None`` or not in the shape are left out. A value of the
    wrong type is a bug in a handler and raises InternalFailure.
    """

    use_member_names = False
    default_timestamp_format = "unixTimestamp"

    def __init__(self) -> None:
        self._methods: dict[str, Any] = {kind: getattr(self, "_" + kind) for kind in SHAPE_TYPES}

    def encode(self, value: Any, shape: Shape) -> Any:
        """Encode one value of ``shape``."""
        method = self._methods.get(shape.type_name)
        if method is None:
            raise InternalFailure(f"Unsupported shape type {shape.type_name}")
        return method(value, shape)

    def encode_output(self, value: Mapping[str, Any], shape: Shape, only: frozenset[str] | None = None) -> dict[str, Any]:
        """Encode a whole output or error structure; a handler's bad value becomes InternalFailure."""
        try:
            return self.encode_members(value, shape, only)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InternalFailure(f"Output for {shape.name} does not fit the model: {exc}") from exc

    def encode_members(self, value: Mapping[str, Any], shape: Shape, only: frozenset[str] | None = None) -> dict[str, Any]:
        """Encode a structure, optionally only the named members (REST bodies)."""
        if not isinstance(value, Mapping):
            raise InternalFailure(f"Output for {shape.name} must be a mapping, got {type(value).__name__}")
        index = _output_index(shape, self.use_member_names)
        result: dict[str, Any] = {}
        for name, item in value.items():
            found = index.get(name)
            if found is None or item is None or (only is not None and name not in only):
                continue
            result[found[0]] = self.encode(item, found[1])
        return result

    def _structure(self, value: Any, shape: Shape) -> Any:
        if shape.is_document_type:
            return value
        return self.encode_members(value, shape)

    def _list(self, value: Any, shape: Shape) -> list[Any]:
        if isinstance(value, (str, bytes, Mapping)):
            raise InternalFailure(f"Output for {shape.name} must be a list")
        return [None if v is None else self.encode(v, shape.member) for v in value]

    def _map(self, value: Any, shape: Shape) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise InternalFailure(f"Output for {shape.name} must be a mapping")
        return {str(k): self.encode(v, shape.value) for k, v in value.items() if v is not None}

    def _string(self, value: Any, shape: Shape) -> str:
        return value if isinstance(value, str) else str(value)

    def _integer(self, value: Any, shape: Shape) -> int:
        return int(value)

    _long = _integer

    def _float(self, value: Any, shape: Shape) -> Any:
        number = float(value) if isinstance(value, (Decimal, int)) else value
        if not isinstance(number, float):
            raise InternalFailure(f"Output for {shape.name} must be a number")
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return number

    _double = _float

    def _boolean(self, value: Any, shape: Shape) -> bool:
        return bool(value)

    def _timestamp(self, value: Any, shape: Shape) -> Any:
        fmt = shape.serialization.get("timestampFormat", self.default_timestamp_format)
        return format_timestamp(value, fmt)

    def _blob(self, value: Any, shape: Shape) -> Any:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()


JSON_DECODER = ShapeDecoder()
JSON_ENCODER = ShapeEncoder()


def decode_json_body(body: bytes, shape: Shape | None) -> dict[str, Any]:
    """A JSON request body as the input dict of ``shape``; empty body means ``{}``."""
    if not body.strip():
        return {}
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"Malformed JSON request body: {exc}") from exc
    if tree is None or shape is None:
        return {}
    if not isinstance(tree, dict):
        raise SerializationError("The request body must be a JSON object")
    return JSON_DECODER.decode(tree, shape)


def dump_json(tree: Any) -> bytes:
    """orjson, with encoding failures (huge ints, odd types) reported as InternalFailure."""
    try:
        return orjson.dumps(tree)
    except TypeError as exc:  # orjson.JSONEncodeError subclasses TypeError
        raise InternalFailure(f"Output cannot be encoded as JSON: {exc}") from exc


# --- errors --------------------------------------------------------------


@lru_cache(maxsize=64)
def _error_shapes(service: ServiceModel) -> dict[str, Shape]:
    """Error shapes of a service by shape name and by modeled error code."""
    found: dict[str, Shape] = {}
    for shape in service.error_shapes:
        found.setdefault(shape.error_code, shape)
    for shape in service.error_shapes:
        found[shape.name] = shape
    return found


@dataclass(frozen=True, slots=True)
class ErrorEnvelope:
    """How an error is spelled on a JSON-like wire.

    ``type_code`` goes in ``__type`` and ``x-amzn-ErrorType``; ``query_error``
    is the ``x-amzn-query-error`` header value (awsQueryCompatible services
    only); ``shape`` is the model's error shape, if any; ``message_key`` is the
    spelling of the message member (``message`` unless the shape says
    ``Message``).
    """

    type_code: str
    query_error: str | None
    shape: Shape | None
    message_key: str


def error_envelope(error: AwsError, service: ServiceModel, protocol: str) -> ErrorEnvelope:
    """Resolve an error's code against the service's error shapes.

    botocore maps a code to an exception class by the shape's error code; for
    query-compatible services it reads that code from ``x-amzn-query-error``
    and ``__type`` carries the shape name.
    """
    code = error.code_for(protocol)
    shape = _error_shapes(service).get(code)
    query_error = None
    if service.is_query_compatible:
        type_code = shape.name if shape is not None else code
        query_code = shape.error_code if shape is not None else error.code_for("query")
        query_error = f"{query_code};{'Sender' if error.sender_fault else 'Receiver'}"
    else:
        type_code = shape.error_code if shape is not None else code
    return ErrorEnvelope(type_code, query_error, shape, _message_key(shape))


@lru_cache(maxsize=1024)
def _message_key(shape: Shape | None) -> str:
    """Wire spelling of the error message: the shape's message member, else ``message``."""
    if shape is not None:
        for name, member in shape.members.items():
            if name.lower() == "message":
                return member.serialization.get("name", name)
    return "message"


def error_document(
    error: AwsError, envelope: ErrorEnvelope, encoder: ShapeEncoder, only: frozenset[str] | None = None
) -> dict[str, Any]:
    """The body tree of an error, the same in every JSON-like protocol (json,
    rest-json, CBOR): the error's extra fields (encoded by the error shape when
    there is one; ``only`` keeps the members that travel in the body), then
    ``__type`` and the message."""
    body = {k: v for k, v in error.fields.items() if k not in ("message", "Message") and v is not None}
    if envelope.shape is not None:
        body = encoder.encode_output(body, envelope.shape, only)
    body["__type"] = envelope.type_code
    body[envelope.message_key] = error.message
    return body


def error_headers(envelope: ErrorEnvelope, request_id: str, content_type: str) -> list[tuple[str, str]]:
    """Content type, request id and ``x-amzn-ErrorType`` (plus ``x-amzn-query-error``
    for awsQueryCompatible services): what botocore reads an error's code from."""
    headers = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", envelope.type_code),
    ]
    if envelope.query_error:
        headers.append(("x-amzn-query-error", envelope.query_error))
    return headers


# --- the codec --------------------------------------------------------------


@lru_cache(maxsize=64)
def _content_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


class JsonCodec:
    """awsJson 1.0/1.1: one JSON object in, one JSON object out."""

    protocol = "json"

    def parse_request(
        self, request: HttpRequest, operation: OperationModel, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Decode the JSON body into the input dict (empty body: ``{}``)."""
        return decode_json_body(request.body, operation.input_shape)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        """Encode the output structure as JSON."""
        shape = operation.output_shape
        tree = JSON_ENCODER.encode_output(output, shape) if shape is not None else {}
        headers = [
            ("Content-Type", _content_type(operation.service_model)),
            ("x-amzn-RequestId", request_id),
        ]
        return HttpResponse(status=int(operation.http.get("responseCode", 200)), headers=headers, body=dump_json(tree))

    def serialize_error(
        self, error: AwsError, service: ServiceModel, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        """``{"__type": code, "message": ...}`` plus the error shape's fields."""
        envelope = error_envelope(error, service, self.protocol)
        body = error_document(error, envelope, JSON_ENCODER)
        headers = error_headers(envelope, request_id, _content_type(service))
        # awsQueryCompatible services keep their query protocol's statuses (AccessDenied: 403).
        status = error.status_for("query" if service.is_query_compatible else self.protocol)
        return HttpResponse(status=status, headers=headers, body=dump_json(body))


CODEC = JsonCodec()
