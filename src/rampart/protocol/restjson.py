"""The ``rest-json`` protocol (GuardDuty, Macie ...).

Members are bound to the HTTP message by ``rampart.protocol.rest`` (uri,
querystring, header, headers, statusCode, payload); whatever is left travels
as a JSON object in the body, encoded like the ``json`` protocol. Errors carry
the ``x-amzn-ErrorType`` header and a JSON body with the message and
``__type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from rampart.aws.errors import AwsError, SerializationError
from rampart.aws.models import OperationModel, ServiceModel, Shape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.jsonproto import (
    JSON_DECODER,
    JSON_ENCODER,
    decode_json_body,
    dump_json,
    error_document,
    error_envelope,
    error_headers,
)
from rampart.protocol.rest import (
    bindings_of,
    default_status,
    parse_bound_members,
    render_bound_members,
    static_query_keys,
)

__all__ = ["CODEC", "RestJsonCodec"]

_JSON = "application/json"


def _payload_value(body: bytes, member: Shape) -> Any:
    """The value of a ``payload`` member: the raw body (blob, string) or a JSON document."""
    if not body:
        return None
    kind = member.type_name
    if kind == "blob":
        return body
    if kind == "string":
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError("The request body is not valid UTF-8") from exc
    if kind == "structure" and not member.is_document_type:
        return decode_json_body(body, member)
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"Malformed JSON request body: {exc}") from exc
    return JSON_DECODER.decode(tree, member)


def _payload_body(value: Any, member: Shape) -> tuple[bytes, str]:
    """Body bytes and Content-Type for a ``payload`` output member."""
    if member.type_name == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return raw, "application/octet-stream"
    if member.type_name == "string":
        return str(value).encode(), "text/plain"
    if member.type_name == "structure" and not member.is_document_type:
        return dump_json(JSON_ENCODER.encode_output(value, member)), _JSON
    return dump_json(JSON_ENCODER.encode(value, member)), _JSON


class RestJsonCodec:
    """REST bindings plus a JSON body."""

    protocol = "rest-json"

    def parse_request(
        self, request: HttpRequest, operation: OperationModel, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Collect bound members from uri/query/headers, the rest from the body."""
        shape = operation.input_shape
        if shape is None:
            return {}
        bound = bindings_of(shape)
        result: dict[str, Any] = {}
        if bound.payload:
            value = _payload_value(request.body, shape.members[bound.payload])
            if value is not None:
                result[bound.payload] = value
        elif bound.body and request.body:
            decoded = decode_json_body(request.body, shape)
            result.update((k, v) for k, v in decoded.items() if k in bound.body)
        ignore = static_query_keys(operation.http.get("requestUri", "/"))
        result.update(parse_bound_members(request, shape, uri_params, ignore))
        return result

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        """Status, headers and body (payload member or JSON object) of a success."""
        shape = operation.output_shape
        status = default_status(operation)
        headers = [("x-amzn-RequestId", request_id)]
        if shape is None:
            return HttpResponse(status, [("Content-Type", _JSON), *headers], b"{}")
        code, bound_headers = render_bound_members(output, shape)
        body, content_type = self._body(output, shape)
        headers = [("Content-Type", content_type), *headers, *bound_headers]
        return HttpResponse(code or status, headers, body)

    @staticmethod
    def _body(output: Mapping[str, Any], shape: Shape) -> tuple[bytes, str]:
        bound = bindings_of(shape)
        if bound.payload:
            value = output.get(bound.payload)
            if value is None:
                return b"", _JSON
            return _payload_body(value, shape.members[bound.payload])
        return dump_json(JSON_ENCODER.encode_output(output, shape, bound.body)), _JSON

    def serialize_error(
        self, error: AwsError, service: ServiceModel, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        """``x-amzn-ErrorType`` plus a JSON body with ``__type``, message and the shape's fields."""
        envelope = error_envelope(error, service, self.protocol)
        headers = error_headers(envelope, request_id, _JSON)
        shape = envelope.shape
        only = None
        if shape is not None:
            fields = {k: v for k, v in error.fields.items() if v is not None}
            _status, bound_headers = render_bound_members(fields, shape)
            headers.extend(bound_headers)
            only = bindings_of(shape).body
        body = error_document(error, envelope, JSON_ENCODER, only)
        return HttpResponse(error.status_for(self.protocol), headers, dump_json(body))


CODEC = RestJsonCodec()
