"""The ``query`` wire protocol (IAM, STS, SNS, CloudWatch's query variant).

Requests are flat ``Name.member.1.Key=value`` pairs in a form body (POST) or
the query string (GET); responses and errors are XML. Everything is driven
by the botocore model: ``QueryInputDecoder`` rebuilds the input dict from
the flat pairs by walking the input shape alongside a tree of the dotted
keys, and ``XmlShapeWriter`` writes the output shape. The EC2 dialect
(``rampart.protocol.ec2``) reuses both with its own naming rules.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from rampart.aws.errors import AwsError
from rampart.aws.models import OperationModel, ServiceModel, Shape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.xmlout import (
    XmlShapeWriter,
    escape_attr,
    escape_text,
    simple_element,
)

__all__ = [
    "CODEC",
    "InvalidParameterValue",
    "MalformedQueryString",
    "QueryCodec",
    "QueryInputDecoder",
    "body_pairs",
    "decode_form",
    "parse_timestamp",
    "xml_namespace",
]

CONTENT_TYPE = "text/xml"
_LEAF = None  # key under which a tree node keeps the value of its own dotted key
_INTEGER = re.compile(r"[+-]?[0-9]+")
_EPOCH = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_TRUE = "true"
_FALSE = "false"

Tree = dict[Any, Any]


class MalformedQueryString(AwsError):
    """The form body or query string is not valid ``application/x-www-form-urlencoded``.

    AWS documents this common error with status 404.
    """

    code = "MalformedQueryString"
    status = 404


class InvalidParameterValue(AwsError):
    """A parameter's text cannot be read as its model type (``abc`` for an integer)."""

    code = "InvalidParameterValue"
    status = 400


def _unquote(text: str) -> str:
    if "%" in text or "+" in text:
        return unquote_plus(text, errors="strict")
    return text


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs, blanks kept; like parse_qsl, minus its overhead.

    Raises UnicodeDecodeError when a percent-escape is not UTF-8.
    """
    pairs = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:  # only escaped pieces need decoding
            name, value = _unquote(name), _unquote(value)
        pairs.append((name, value))
    return pairs


_last_body: tuple[bytes, list[tuple[str, str]] | None] = (b"", [])


def body_pairs(body: bytes) -> list[tuple[str, str]] | None:
    """A form body's pairs, or None when it is not valid UTF-8 form encoding.

    Memoized for the last body seen (by identity; the entry holds the bytes,
    so an identity match is always the same object): the router reads
    ``Action`` from it and the codec parses the same request next, so the body
    is decoded once per request. Treat the list as read-only.
    """
    global _last_body
    cached_body, cached = _last_body
    if cached_body is body:
        return cached
    try:
        pairs: list[tuple[str, str]] | None = form_pairs(body.decode("utf-8"))
    except UnicodeDecodeError:
        pairs = None
    _last_body = (body, pairs)
    return pairs


def decode_form(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's parameters: query string first, then the form body (later ones win).

    Read-only: may be the shared list of ``body_pairs``.
    """
    try:
        pairs = form_pairs(request.query) if request.query else []
    except UnicodeDecodeError as exc:
        raise MalformedQueryString("The request parameters are not valid UTF-8 form encoding.") from exc
    if request.body:
        in_body = body_pairs(request.body)
        if in_body is None:
            raise MalformedQueryString("The request parameters are not valid UTF-8 form encoding.")
        pairs = pairs + in_body if pairs else in_body
    return pairs


def build_tree(pairs: list[tuple[str, str]]) -> Tree:
    """Nest dotted keys: ``A.member.1=x`` becomes ``{"A": {"member": {"1": {None: "x"}}}}``."""
    root: Tree = {}
    for key, value in pairs:
        node = root
        for part in key.split("."):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[_LEAF] = value
    return root


def parse_timestamp(raw: str) -> dt.datetime:
    """ISO 8601 (``Z``, offsets, fractions, date only) or epoch seconds -> aware UTC datetime.

    Raises ValueError on anything else.
    """
    text = raw.strip()
    if _EPOCH.fullmatch(text):
        return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _bad(path: str, raw: str, expected: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value ({raw}) for parameter {path} is invalid. Expected: '{expected}'.")


def _to_int(raw: str, path: str) -> int:
    if not _INTEGER.fullmatch(raw):
        raise _bad(path, raw, "Integer")
    return int(raw)


def _to_float(raw: str, path: str) -> float:
    if "_" in raw:
        raise _bad(path, raw, "Number")
    try:
        return float(raw)
    except ValueError:
        raise _bad(path, raw, "Number") from None


def _to_bool(raw: str, path: str) -> bool:
    lowered = raw.lower()
    if lowered == _TRUE:
        return True
    if lowered == _FALSE:
        return False
    raise _bad(path, raw, "Boolean")


def _to_timestamp(raw: str, path: str) -> dt.datetime:
    try:
        return parse_timestamp(raw)
    except (ValueError, OverflowError, OSError):
        raise _bad(path, raw, "Timestamp") from None


def _to_blob(raw: str, path: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(path, raw, "Base64 blob") from None


def _to_str(raw: str, path: str) -> str:
    return raw


_SCALARS: dict[str, Callable[[str, str], Any]] = {
    "string": _to_str,
    "character": _to_str,
    "integer": _to_int,
    "long": _to_int,
    "byte": _to_int,
    "short": _to_int,
    "float": _to_float,
    "double": _to_float,
    "boolean": _to_bool,
    "timestamp": _to_timestamp,
    "blob": _to_blob,
}


def _index(part: Any, path: str) -> int:
    if not isinstance(part, str) or not (part.isascii() and part.isdigit()):
        raise MalformedQueryString(f"Invalid list index '{part}' in parameter {path}.")
    return int(part)


class QueryInputDecoder:
    """Rebuilds an input dict from flat query parameters, following botocore's query naming.

    Subclasses change only the naming hooks (``serialized_name``,
    ``list_items``); the walk itself is shared. Member-name maps are computed
    once per structure shape.
    """

    list_member = "member"

    def __init__(self) -> None:
        self._structures: dict[Shape, dict[str, tuple[str, Shape]]] = {}

    def serialized_name(self, shape: Shape, default: str) -> str:
        """The wire name of a shape in a key (``locationName`` or the default)."""
        return shape.serialization.get("name", default)

    def member_key(self, shape: Shape, name: str) -> str:
        """The key segment of a structure member (flattened named lists use their member's name)."""
        if shape.type_name == "list" and shape.serialization.get("flattened"):
            if shape.member.serialization.get("name"):
                return self.serialized_name(shape.member, "")
        return self.serialized_name(shape, name)

    def list_items(self, node: Tree, shape: Shape) -> Tree:
        """The tree node whose children are the list's 1-based indices."""
        if shape.serialization.get("flattened"):
            return node
        return node.get(self.serialized_name(shape.member, self.list_member), {})

    def decode(self, tree: Tree, shape: Shape | None) -> dict[str, Any]:
        """The input dict of a whole request tree (unknown keys such as Action are ignored)."""
        if shape is None:
            return {}
        return self._structure(tree, shape, "")

    def _members(self, shape: Shape) -> dict[str, tuple[str, Shape]]:
        members = self._structures.get(shape)
        if members is None:
            members = {self.member_key(member, name): (name, member) for name, member in shape.members.items()}
            self._structures[shape] = members
        return members

    def _value(self, node: Tree, shape: Shape, path: str) -> Any:
        kind = shape.type_name
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            raw = node.get(_LEAF)
            return None if raw is None else scalar(raw, path)
        if kind == "structure":
            return self._structure(node, shape, path)
        if kind == "list":
            return self._list(node, shape, path)
        if kind == "map":
            return self._map(node, shape, path)
        return node.get(_LEAF)

    def _structure(self, node: Tree, shape: Shape, path: str) -> dict[str, Any]:
        members = self._members(shape)
        result: dict[str, Any] = {}
        for part, child in node.items():
            found = members.get(part) if part is not _LEAF else None
            if found is None:
                continue
            value = self._value(child, found[1], f"{path}.{part}" if path else part)
            if value is not None:
                result[found[0]] = value
        return result

    def _list(self, node: Tree, shape: Shape, path: str) -> list[Any]:
        items = self.list_items(node, shape)
        entries = [(_index(part, path), child) for part, child in items.items() if part is not _LEAF]
        if not entries:
            return []  # botocore writes an empty list as a bare `Name=`
        entries.sort(key=lambda entry: entry[0])
        member = shape.member
        values = [self._value(child, member, f"{path}.{index}") for index, child in entries]
        return [value for value in values if value is not None]

    def _map(self, node: Tree, shape: Shape, path: str) -> dict[Any, Any]:
        entries = node if shape.serialization.get("flattened") else node.get("entry", {})
        key_name = self.serialized_name(shape.key, "key")
        value_name = self.serialized_name(shape.value, "value")
        result: dict[Any, Any] = {}
        for part, entry in sorted(
            ((_index(part, path), child) for part, child in entries.items() if part is not _LEAF),
            key=lambda pair: pair[0],
        ):
            key = self._value(entry.get(key_name, {}), shape.key, f"{path}.{part}.{key_name}")
            if key is None:
                continue
            value = self._value(entry.get(value_name, {}), shape.value, f"{path}.{part}.{value_name}")
            if value is not None:
                result[key] = value
        return result


def xml_namespace(service: ServiceModel) -> str:
    """The service's response namespace (``xmlNamespace`` metadata), always ending in '/'."""
    namespace = service.metadata.get("xmlNamespace", "")
    if isinstance(namespace, Mapping):
        namespace = namespace.get("uri", "")
    if namespace and not namespace.endswith("/"):
        namespace += "/"
    return namespace


def xml_response(status: int, body: str, request_id: str) -> HttpResponse:
    """An XML HttpResponse with AWS's request-id header."""
    return HttpResponse(status, [("Content-Type", CONTENT_TYPE), ("x-amzn-RequestId", request_id)], body.encode("utf-8"))


def _envelope(operation: OperationModel) -> tuple[str, str, str, int]:
    """What surrounds an operation's result: opening text, the closing text before and after
    the request id, and the status."""
    name = operation.name
    namespace = escape_attr(xml_namespace(operation.service_model))
    shape = operation.output_shape
    wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
    head = f'<{name}Response xmlns="{namespace}">' + (f"<{wrapper}>" if wrapper else "")
    before_id = (f"</{wrapper}>" if wrapper else "") + "<ResponseMetadata><RequestId>"
    after_id = f"</RequestId></ResponseMetadata></{name}Response>"
    return head, before_id, after_id, int(operation.http.get("responseCode", 200))


class QueryCodec:
    """The ``query`` protocol codec: form parameters in, ``<OpResponse>`` XML out."""

    protocol = "query"

    def __init__(self) -> None:
        self.decoder = QueryInputDecoder()
        self.writer = XmlShapeWriter(list_member="member")
        self._envelopes: dict[OperationModel, tuple[str, str, str, int]] = {}

    def parse_request(
        self, request: HttpRequest, operation: OperationModel, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Decode the form body / query string into the operation's input dict."""
        pairs = decode_form(request)  # checks the encoding even when no member is expected
        shape = operation.input_shape
        if shape is None or not shape.members:
            return {}
        return self.decoder.decode(build_tree(pairs), shape)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        """``<OpResponse><OpResult>..</OpResult><ResponseMetadata>..</ResponseMetadata></OpResponse>``."""
        envelope = self._envelopes.get(operation)
        if envelope is None:
            envelope = self._envelopes[operation] = _envelope(operation)
        head, before_id, after_id, status = envelope
        out = [head]
        if operation.output_shape is not None:
            self.writer.write_members(out, operation.output_shape, output)
        out.append(before_id)
        out.append(escape_text(request_id))
        out.append(after_id)
        return xml_response(status, "".join(out), request_id)

    def serialize_error(
        self,
        error: AwsError,
        service: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        """``<ErrorResponse><Error><Type/><Code/><Message/>..</Error><RequestId/></ErrorResponse>``."""
        fault = "Sender" if error.sender_fault and error.status_for(self.protocol) < 500 else "Receiver"
        code = error.code_for(self.protocol)
        out = [f'<ErrorResponse xmlns="{escape_attr(xml_namespace(service))}"><Error>']
        out.append(simple_element("Type", fault))
        out.append(simple_element("Code", code))
        out.append(simple_element("Message", error.message))
        write_error_fields(self.writer, out, error, service, code)
        out.append(f"</Error>{simple_element('RequestId', request_id)}</ErrorResponse>")
        return xml_response(error.status_for(self.protocol), "".join(out), request_id)


_ENVELOPE_FIELDS = frozenset({"Code", "Message", "message", "Type", "RequestId"})


def write_error_fields(
    writer: XmlShapeWriter, out: list[str], error: AwsError, service: ServiceModel, code: str
) -> None:
    """Append an error's extra fields, typed by the model's error shape when it has one."""
    if not error.fields:
        return
    shape = service.shape_for_error_code(code)
    members = shape.members if shape is not None else {}
    for name, value in error.fields.items():
        if value is None or name in _ENVELOPE_FIELDS:
            continue
        member = members.get(name)
        if member is not None:
            writer.write_value(out, writer.member_tag(member, name), member, value)
        else:
            out.append(simple_element(name, value))


CODEC = QueryCodec()
