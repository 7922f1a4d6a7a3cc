"""The rest-xml wire protocol (S3, Route 53), driven by the botocore model.

Members travel in the URI, query string and headers (bound by
``rampart.protocol.rest``, shared with rest-json) and the rest in an XML body: either one payload member
(raw bytes for a streaming blob, an XML document for a structure) or the
remaining members under a root element named after the shape.

XML is parsed with lxml, entities unresolved, no network, no huge trees, and
documents that carry a DTD refused, so a request body can neither read files
nor blow up memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree

from rampart.aws.errors import AwsError, SerializationError
from rampart.aws.models import OperationModel, ServiceModel, Shape, StructureShape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol._restxml_xml import (
    TEXT_ESCAPES,
    MalformedXml,
    body_text,
    decode_structure,
    decode_value,
    document,
    encode_structure,
    encode_value,
    local_name,
    parse_xml,
)
from rampart.protocol.rest import (
    InvalidBoundValue,
    RestBindings,
    bindings_of,
    default_status,
    format_timestamp,
    parse_bound_members,
    render_bound_members,
    static_query_keys,
)

__all__ = ["CODEC", "RestXmlCodec"]

_CONTENT_TYPE = "application/xml"


# --- per-service conventions -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceStyle:
    """What differs between rest-xml services: error form, request-id headers, codes."""

    s3_errors: bool
    malformed_code: str
    malformed_message: str
    bad_value_code: str


_S3_STYLE = ServiceStyle(
    s3_errors=True,
    malformed_code="MalformedXML",
    malformed_message="The XML you provided was not well-formed or did not validate against our published schema",
    bad_value_code="InvalidArgument",
)
_DEFAULT_STYLE = ServiceStyle(
    s3_errors=False,
    malformed_code="InvalidInput",
    malformed_message="Could not parse the XML request body",
    bad_value_code="InvalidInput",
)
_STYLES: dict[str, ServiceStyle] = {"s3": _S3_STYLE}

# Outputs the model cannot describe (botocore parses them by hand): the member
# whose value is the text of the root element itself.
_ROOT_TEXT_OUTPUTS: dict[tuple[str, str], str] = {("s3", "GetBucketLocationOutput"): "LocationConstraint"}


def style_of(service: ServiceModel) -> ServiceStyle:
    """The conventions of one rest-xml service (Route 53's are the default)."""
    return _STYLES.get(service.service_name, _DEFAULT_STYLE)


@lru_cache(maxsize=64)
def service_namespace(service: ServiceModel) -> str | None:
    """The service's XML namespace, as its model declares it on request documents."""
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        if shape is None:
            continue
        candidates = [shape, *shape.members.values()]
        for candidate in candidates:
            uri = _namespace_uri(candidate)
            if uri:
                return uri
    return None


def _namespace_uri(shape: Shape) -> str | None:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, str):
        return namespace
    if isinstance(namespace, Mapping) and not namespace.get("prefix"):
        return namespace.get("uri")
    return None


# --- the codec --------------------------------------------------------------------


class RestXmlCodec:
    """The rest-xml codec: bytes <-> the operation's input and output dicts."""

    protocol = "rest-xml"

    def parse_request(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: Mapping[str, str],
    ) -> dict[str, Any]:
        """Decode uri labels, query, headers and body into the input dict."""
        shape = operation.input_shape
        if shape is None:
            return {}
        style = style_of(operation.service_model)
        ignore = static_query_keys(operation.http.get("requestUri", "/"))
        try:
            result = parse_bound_members(request, shape, uri_params, ignore)
        except InvalidBoundValue as exc:
            raise _bad_value_error(style, exc) from exc
        try:
            result.update(_parse_body(shape, bindings_of(shape), request.body))
        except (MalformedXml, SerializationError, ValueError, OverflowError) as exc:
            raise SerializationError(style.malformed_message, code=style.malformed_code) from exc
        return result

    def serialize_response(
        self,
        operation: OperationModel,
        output: Mapping[str, Any],
        request_id: str,
    ) -> HttpResponse:
        """Encode status, header members and the XML (or raw payload) body."""
        service = operation.service_model
        status = default_status(operation)
        headers = _request_id_headers(service, request_id)
        shape = operation.output_shape
        if shape is None:
            return HttpResponse(status=status, headers=headers)
        bound_status, bound_headers = render_bound_members(output, shape, always_fraction=True)
        headers.extend(bound_headers)
        plan = bindings_of(shape)
        streamed = output.get(plan.payload) if plan.payload is not None else None
        if streamed is not None and hasattr(streamed, "chunks"):  # a StreamBody: sent in pieces by the app
            status = getattr(streamed, "status", None) or bound_status or status
            data = getattr(streamed, "data", None)
            if data is not None:  # small enough to have been read whole: no streaming needed
                return HttpResponse(status=status, headers=headers, body=data)
            return HttpResponse(status=status, headers=headers, stream=streamed)
        body, is_xml = _response_body(service, shape, plan, output)
        if is_xml and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", _CONTENT_TYPE))
        return HttpResponse(status=bound_status or status, headers=headers, body=body)

    def serialize_error(
        self,
        error: AwsError,
        service: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        """Encode an error in S3's ``<Error>`` or Route 53's ``<ErrorResponse>`` form."""
        headers = _request_id_headers(service, request_id)
        headers.extend(getattr(error, "headers", ()))  # e.g. S3's x-amz-delete-marker on a 404
        if error.status == 304 or (operation is not None and operation.http.get("method") == "HEAD"):
            return HttpResponse(status=error.status_for(self.protocol), headers=headers)
        code = error.code_for(self.protocol)
        if style_of(service).s3_errors:
            body = _s3_error_body(service, error, code, request_id)
        else:
            body = _query_error_body(service, error, code, request_id)
        headers.append(("Content-Type", _CONTENT_TYPE))
        return HttpResponse(status=error.status_for(self.protocol), headers=headers, body=body)


CODEC = RestXmlCodec()


# --- request body ------------------------------------------------------------------


def _parse_body(shape: StructureShape, plan: RestBindings, body: bytes) -> dict[str, Any]:
    """The payload member, or the body members under the input's root element."""
    if plan.payload is not None:
        member = shape.members[plan.payload]
        if member.type_name in ("blob", "string"):
            if not body:
                return {}
            return {plan.payload: bytes(body).decode("utf-8") if member.type_name == "string" else body}
        if not body.strip():
            return {}
        root = parse_xml(body)
        _expect_root(root, member.serialization.get("name", plan.payload))
        return {plan.payload: decode_value(member, root)}
    if not plan.body or not body.strip():
        return {}
    root = parse_xml(body)
    _expect_root(root, shape.serialization.get("name", shape.name))
    return decode_structure(shape, root, plan.body)


def _expect_root(root: etree._Element, name: str) -> None:
    if local_name(root.tag) != name:
        raise MalformedXml(f"expected root element <{name}>, got <{local_name(root.tag)}>")


def _bad_value_error(style: ServiceStyle, exc: InvalidBoundValue) -> AwsError:
    if style.s3_errors:
        return SerializationError(
            f"Invalid value for {exc.name}",
            code=style.bad_value_code,
            fields={"ArgumentName": exc.name, "ArgumentValue": exc.text},
        )
    return SerializationError(f"Invalid value '{exc.text}' for {exc.name}", code=style.bad_value_code)


# --- response body ----------------------------------------------------------------


def _response_body(
    service: ServiceModel, shape: StructureShape, plan: RestBindings, output: Mapping[str, Any]
) -> tuple[bytes, bool]:
    """The body bytes and whether they are an XML document."""
    if plan.payload is not None:
        member = shape.members[plan.payload]
        value = output.get(plan.payload)
        if value is None:
            return b"", False
        if member.type_name in ("blob", "string"):
            return _raw_payload(value), False
        parts: list[str] = []
        root = member.serialization.get("name", member.name)
        encode_structure(parts, member, value, root, service_namespace(service))
        return document(parts), True
    text_member = _ROOT_TEXT_OUTPUTS.get((service.service_name, shape.name))
    if text_member is not None:
        return _root_text_document(service, shape.members[text_member], text_member, output), True
    if not plan.body:
        return b"", False
    parts = []
    root = shape.serialization.get("name", shape.name)
    encode_structure(parts, shape, output, root, service_namespace(service), plan.body)
    return document(parts), True


def _raw_payload(value: Any) -> bytes:
    """A streaming payload: bytes as given, text as UTF-8, file-like objects read."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    read = getattr(value, "read", None)
    if read is not None:
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(bytes(chunk) for chunk in value)


def _root_text_document(service: ServiceModel, shape: Shape, name: str, output: Mapping[str, Any]) -> bytes:
    value = output.get(name)
    text = "" if value is None else body_text(value, shape).translate(TEXT_ESCAPES)
    namespace = service_namespace(service)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return document([f"<{name}{xmlns}>{text}</{name}>"])


# --- errors --------------------------------------------------------------------------


def _request_id_headers(service: ServiceModel, request_id: str) -> list[tuple[str, str]]:
    if style_of(service).s3_errors:
        return [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
    return [("x-amzn-RequestId", request_id)]


def _error_fields(service: ServiceModel, code: str, fields: Mapping[str, Any]) -> list[str]:
    """Extra members of the error shape, typed by the model where it names them."""
    parts: list[str] = []
    if not fields:
        return parts
    shape = _error_shape(service, code)
    members = shape.members if shape is not None else {}
    for key, value in fields.items():
        if value is None or key in ("Code", "Message", "RequestId", "Type"):
            continue
        member = members.get(key)
        if member is not None:
            encode_value(parts, member, value, member.serialization.get("name", key))
        else:
            text = _plain_text(value).translate(TEXT_ESCAPES)
            parts.append(f"<{key}>{text}</{key}>")
    return parts


def _error_shape(service: ServiceModel, code: str) -> StructureShape | None:
    finder = getattr(service, "shape_for_error_code", None)
    return finder(code) if finder is not None else None


def _plain_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(format_timestamp(value, "iso8601", always_fraction=True))
    return str(value)


def _s3_error_body(service: ServiceModel, error: AwsError, code: str, request_id: str) -> bytes:
    parts = [f"<Error><Code>{_escape(code)}</Code><Message>{_escape(error.message)}</Message>"]
    parts.extend(_error_fields(service, code, error.fields))
    parts.append(f"<RequestId>{_escape(request_id)}</RequestId><HostId>{_escape(request_id)}</HostId></Error>")
    return document(parts)


def _query_error_body(service: ServiceModel, error: AwsError, code: str, request_id: str) -> bytes:
    namespace = service_namespace(service)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    kind = "Sender" if error.sender_fault else "Receiver"
    parts = [
        f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type>",
        f"<Code>{_escape(code)}</Code><Message>{_escape(error.message)}</Message>",
    ]
    parts.extend(_error_fields(service, code, error.fields))
    parts.append(f"</Error><RequestId>{_escape(request_id)}</RequestId></ErrorResponse>")
    return document(parts)


def _escape(text: str) -> str:
    return str(text).translate(TEXT_ESCAPES)
