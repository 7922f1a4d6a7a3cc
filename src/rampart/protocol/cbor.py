"""The ``smithy-rpc-v2-cbor`` protocol (what boto3 now uses for CloudWatch).

A request is ``POST /service/{ServiceName}/operation/{Operation}`` with the
header ``smithy-protocol: rpc-v2-cbor`` and the input structure as a CBOR map
keyed by member names. Timestamps are CBOR tag 1 (epoch seconds, integer or
float), blobs are byte strings. Responses mirror that with
``Content-Type: application/cbor``; errors are a CBOR map with ``__type`` and
``message``, plus ``x-amzn-query-error`` for awsQueryCompatible services.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import cbor2

from rampart.aws.errors import AwsError, InternalFailure, SerializationError
from rampart.aws.models import OperationModel, ServiceModel, Shape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.jsonproto import (
    ShapeDecoder,
    ShapeEncoder,
    error_document,
    error_envelope,
    error_headers,
)
from rampart.protocol.rest import to_datetime

__all__ = ["CODEC", "CborCodec", "CborDecoder", "CborEncoder", "decode_cbor_body", "dump_cbor"]

CONTENT_TYPE = "application/cbor"
SMITHY_PROTOCOL = "rpc-v2-cbor"
# Errors cbor2 raises on hostile input besides CBORDecodeError (a ValueError).
_DECODE_ERRORS = (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, LookupError)


class CborDecoder(ShapeDecoder):
    """CBOR values -> Python values: blobs are byte strings, timestamps tag 1 (cbor2 datetimes)."""

    use_member_names = True

    def _blob(self, value: Any, shape: Shape, depth: int) -> bytes:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise SerializationError(f"Expected a byte string for {shape.name}")

    def _timestamp(self, value: Any, shape: Shape, depth: int) -> dt.datetime:
        if isinstance(value, dt.datetime) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return to_datetime(value)
        raise SerializationError(f"Expected a timestamp for {shape.name}")

    def _float(self, value: Any, shape: Shape, depth: int) -> float:
        if isinstance(value, Decimal):
            return float(value)
        return super()._float(value, shape, depth)

    _double = _float


class CborEncoder(ShapeEncoder):
    """Python values -> CBOR-ready values (cbor2 writes datetimes as tag 1)."""

    use_member_names = True

    def _timestamp(self, value: Any, shape: Shape) -> dt.datetime:
        try:
            return to_datetime(value)
        except SerializationError as exc:
            raise InternalFailure(f"Bad timestamp in output: {value!r}") from exc

    def _blob(self, value: Any, shape: Shape) -> bytes:
        return value.encode() if isinstance(value, str) else bytes(value)

    def _float(self, value: Any, shape: Shape) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise InternalFailure(f"Output for {shape.name} must be a number")
        return float(value)

    _double = _float


CBOR_DECODER = CborDecoder()
CBOR_ENCODER = CborEncoder()


def decode_cbor_body(body: bytes, shape: Shape | None) -> dict[str, Any]:
    """A CBOR request body as the input dict of ``shape``; empty body means ``{}``."""
    if not body:
        return {}
    stream = io.BytesIO(body)
    try:
        tree = cbor2.CBORDecoder(stream).decode()
    except _DECODE_ERRORS as exc:
        raise SerializationError(f"Malformed CBOR request body: {exc}") from exc
    if stream.tell() != len(body):
        raise SerializationError("Unexpected data after the CBOR request body")
    if tree is None or shape is None:
        return {}
    if not isinstance(tree, dict):
        raise SerializationError("The request body must be a CBOR map")
    return CBOR_DECODER.decode(tree, shape)


def dump_cbor(tree: Any) -> bytes:
    """Encode with epoch timestamps (tag 1), as botocore's CBOR parser expects."""
    try:
        return cbor2.dumps(tree, datetime_as_timestamp=True, timezone=dt.UTC)
    except (cbor2.CBOREncodeError, ValueError, TypeError, OverflowError) as exc:
        raise InternalFailure(f"Output cannot be encoded as CBOR: {exc}") from exc


def _headers(request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", CONTENT_TYPE),
        ("smithy-protocol", SMITHY_PROTOCOL),
        ("x-amzn-RequestId", request_id),
    ]


class CborCodec:
    """Smithy RPC v2 with CBOR bodies."""

    protocol = "smithy-rpc-v2-cbor"

    def parse_request(
        self, request: HttpRequest, operation: OperationModel, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Decode the CBOR body into the input dict (empty body: ``{}``)."""
        return decode_cbor_body(request.body, operation.input_shape)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        """Encode the output structure as a CBOR map."""
        shape = operation.output_shape
        tree = CBOR_ENCODER.encode_output(output, shape) if shape is not None else {}
        return HttpResponse(int(operation.http.get("responseCode", 200)), _headers(request_id), dump_cbor(tree))

    def serialize_error(
        self, error: AwsError, service: ServiceModel, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        """A CBOR map with ``__type``, ``message`` and the error shape's fields."""
        envelope = error_envelope(error, service, self.protocol)
        body = error_document(error, envelope, CBOR_ENCODER)
        headers = error_headers(envelope, request_id, CONTENT_TYPE)
        headers.insert(1, ("smithy-protocol", SMITHY_PROTOCOL))
        return HttpResponse(error.status_for(self.protocol), headers, dump_cbor(body))


CODEC = CborCodec()
