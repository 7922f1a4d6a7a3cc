"""The REST member binding shared by both REST codecs (rest-json and rest-xml).

REST protocols spread an operation's members over the HTTP message: the
``location`` trait puts a member in the URI (``uri``), the query string
(``querystring``), one header (``header``), a family of prefixed headers
(``headers``) or the status code (``statusCode``); the structure's ``payload``
trait names the member that *is* the body; every other member goes in the body
document (JSON or XML: the only thing the two protocols do differently). This
module binds everything but the body, so both codecs bind members identically:
``bindings_of`` groups a structure's members by location (cached);
``parse_bound_members`` reads a request's bound members, typed, raising
``InvalidBoundValue`` (a SerializationError that names the wire name and text,
for S3's ``InvalidArgument``); ``render_bound_members`` writes a response's
status code and headers. The scalar text forms (``scalar_from_text``,
``scalar_to_text``, also used for XML element text), header lists with RFC 7230
quoting, and every timestamp format AWS uses (also used by the JSON and CBOR
codecs) live here too.

Header-prefix maps (``headers``, S3's ``x-amz-meta-*``): HttpRequest
lower-cases header names, so the keys of such a map come back lower-cased.
That is what S3 itself does: user metadata keys are case-insensitive and S3
returns them lower-cased, whatever case the client sent. Responses write the
keys as the handler gives them.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import email.utils
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from rampart.aws.errors import InternalFailure, SerializationError
from rampart.aws.models import OperationModel, Shape
from rampart.gateway.http import HttpRequest

__all__ = [
    "InvalidBoundValue",
    "RestBindings",
    "bindings_of",
    "default_status",
    "format_timestamp",
    "join_header_list",
    "parse_bound_members",
    "parse_timestamp",
    "render_bound_members",
    "scalar_from_text",
    "scalar_to_text",
    "split_header_list",
    "static_query_keys",
    "to_datetime",
]

UTC = dt.UTC
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_INTEGER_TYPES = frozenset({"integer", "long", "short", "byte"})
_FLOAT_TYPES = frozenset({"float", "double"})
_LOCATIONS = ("uri", "querystring", "header", "headers")  # RestBindings' field order


# --- timestamps -----------------------------------------------------------


def to_datetime(value: Any) -> dt.datetime:
    """Any timestamp value (datetime, epoch number, text) as an aware UTC datetime.

    Used on both sides: request values arrive in several formats, and handlers
    may hand back epoch numbers or naive datetimes.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise SerializationError(f"Expected a timestamp, got {value!r}")
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise SerializationError(f"Expected a timestamp, got {type(value).__name__}")


def _from_epoch(seconds: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise SerializationError(f"Timestamp out of range: {seconds!r}") from exc


def parse_timestamp(text: str) -> dt.datetime:
    """Parse epoch seconds, ISO 8601 or RFC 822 text, whatever format the client chose.

    The format is recognised from the text rather than trusted from the
    model: clients are known to send ISO 8601 where RFC 822 is modelled.
    """
    text = text.strip()
    if _NUMERIC.match(text):
        return _from_epoch(float(text) if "." in text or "e" in text.lower() else int(text))
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise SerializationError(f"Invalid timestamp: {text!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_timestamp(value: Any, fmt: str, *, always_fraction: bool = False) -> int | float | str:
    """A timestamp in one of the model's formats: unixTimestamp, iso8601, rfc822.

    ISO 8601 carries milliseconds (microseconds when they are not whole);
    a whole second has no fraction unless ``always_fraction``, which the
    rest-xml services (S3, Route 53) use: they always write ``.000Z``.
    """
    when = _output_datetime(value)
    fmt = fmt.lower()
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(when.timetuple())
        if when.microsecond:
            return (seconds * 10**6 + when.microsecond) / 10**6
        return seconds
    if fmt == "iso8601":
        base = when.strftime("%Y-%m-%dT%H:%M:%S")
        if not when.microsecond and not always_fraction:
            return base + "Z"
        if when.microsecond % 1000 == 0:
            return f"{base}.{when.microsecond // 1000:03d}Z"
        return f"{base}.{when.microsecond:06d}Z"
    if fmt == "rfc822":
        return email.utils.formatdate(calendar.timegm(when.timetuple()), usegmt=True)
    raise InternalFailure(f"Unknown timestampFormat {fmt!r}")


def _output_datetime(value: Any) -> dt.datetime:
    try:
        return to_datetime(value)
    except SerializationError as exc:
        raise InternalFailure(f"Bad timestamp in output: {value!r}") from exc


# --- scalars in text form -------------------------------------------------


def scalar_from_text(text: str, shape: Shape) -> Any:
    """Convert the text of one scalar (uri, query, header, XML element) to its type.

    Strings are kept as they are; other types ignore surrounding whitespace.
    Every timestamp format is accepted. Raises SerializationError when the
    text is not a value of the type.
    """
    kind = shape.type_name
    try:
        if kind == "string":
            return text
        if kind in _INTEGER_TYPES:
            return int(text)
        if kind in _FLOAT_TYPES:
            return float(text)
        if kind == "boolean":
            return _boolean_text(text)
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise SerializationError(f"Invalid value {text!r} for {shape.name} ({kind})") from exc
    raise SerializationError(f"Cannot read a {kind} from text ({shape.name})")


def _boolean_text(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(text)


def scalar_to_text(
    value: Any, shape: Shape, default_ts_format: str = "rfc822", *, always_fraction: bool = False
) -> str:
    """One scalar as text for a header or an XML element (see ``format_timestamp``)."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_ts_format)
        return str(format_timestamp(value, fmt, always_fraction=always_fraction))
    if kind in _FLOAT_TYPES:
        return _float_text(float(value))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    return str(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


# --- header lists -------------------------------------------------------------


def split_header_list(text: str) -> list[str]:
    """Split a comma-separated header list; items may be double-quoted with ``\\"`` escapes.

    Like botocore's parser, an empty value is one empty item and a trailing
    comma adds an empty item. An unterminated quote is a SerializationError.
    """
    items: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            value, i = _quoted_item(text, i + 1)
            items.append(value)
            while i < n and text[i] != ",":
                i += 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            items.append(text[i:end].strip())
            i = end
        i += 1
    return items


def _quoted_item(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise SerializationError("Unterminated quoted string in header list")


def join_header_list(values: list[str]) -> str:
    """Join string items of a header list, quoting those that carry a comma or a quote.

    The quoting botocore's serializer applies to string lists (RFC 7230), with
    backslashes escaped too so that ``split_header_list`` reads every item back.
    """
    out = []
    for value in values:
        if '"' in value or "," in value:
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(value)
    return ",".join(out)


# --- where members live ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestBindings:
    """The members of one structure, grouped by HTTP location.

    Each tuple holds ``(member name, wire name, member shape)``, the wire name
    spelled as in the model; ``body`` holds the names of members that travel
    in the body document (empty when a ``payload`` member stands for the whole
    body). Members with only a ``hostLabel`` trait travel in the body too:
    botocore sends them there as well as in the host prefix.
    """

    uri: tuple[tuple[str, str, Shape], ...]
    querystring: tuple[tuple[str, str, Shape], ...]
    header: tuple[tuple[str, str, Shape], ...]
    headers: tuple[tuple[str, str, Shape], ...]
    status: str | None
    payload: str | None
    body: frozenset[str]


@lru_cache(maxsize=4096)
def bindings_of(shape: Shape) -> RestBindings:
    """Group a structure's members by location (computed once per shape)."""
    groups: dict[str, list[tuple[str, str, Shape]]] = {location: [] for location in _LOCATIONS}
    status: str | None = None
    body: list[str] = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location in groups:
            groups[location].append((name, wire, member))
        elif location == "statusCode":
            status = name
        else:
            body.append(name)
    payload = shape.serialization.get("payload")
    located = (tuple(groups[location]) for location in _LOCATIONS)
    return RestBindings(*located, status, payload, frozenset() if payload else frozenset(body))


def default_status(operation: OperationModel) -> int:
    """The success status of an operation: its http.responseCode, else 200."""
    return int(operation.http.get("responseCode", 200))


@lru_cache(maxsize=4096)
def static_query_keys(request_uri: str) -> frozenset[str]:
    """Query keys fixed by a requestUri template (``/{Bucket}?versioning``)."""
    query = urlsplit(request_uri).query
    return frozenset(key for key, _ in parse_qsl(query, keep_blank_values=True))


# --- requests ---------------------------------------------------------------


class InvalidBoundValue(SerializationError):
    """A uri, querystring or header value that is not a value of its member's type.

    ``name`` is the wire name (label, query key, lower-case header name) and
    ``text`` the offending text, for codecs whose services name the argument
    in their error (S3's ``InvalidArgument``).
    """

    def __init__(self, message: str, name: str, text: str) -> None:
        super().__init__(message)
        self.name = name
        self.text = text


def parse_bound_members(
    request: HttpRequest,
    shape: Shape,
    uri_params: Mapping[str, str],
    ignore_query: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The uri, querystring, header and headers members of a request, typed.

    ``ignore_query`` names query keys that belong to the requestUri template
    rather than to a member (see ``static_query_keys``). Greedy labels may be
    keyed with or without their ``+``. Raises InvalidBoundValue.
    """
    bound = bindings_of(shape)
    result: dict[str, Any] = {}
    for name, wire, member in bound.uri:
        text = uri_params.get(wire)
        if text is None:
            text = uri_params.get(wire + "+")
        if text is not None:
            result[name] = _convert(scalar_from_text, text, member, wire)
    if bound.querystring:
        result.update(_parse_query(request.query, bound, ignore_query))
    for name, wire, member in bound.header:
        key = wire.lower()
        text = request.headers.get(key)
        if text is not None:
            result[name] = _convert(_header_value, text, member, key)
    for name, wire, _member in bound.headers:
        prefix = wire.lower()
        found = {k[len(prefix):]: v for k, v in request.headers.items() if k.startswith(prefix)}
        if found:
            result[name] = found
    return result


def _convert(reader: Callable[[str, Shape], Any], text: str, shape: Shape, wire: str) -> Any:
    """Run one text reader, naming the wire name and text when it fails."""
    try:
        return reader(text, shape)
    except SerializationError as exc:
        raise InvalidBoundValue(exc.message, wire, text) from exc


def _parse_query(query: str, bound: RestBindings, ignore: frozenset[str]) -> dict[str, Any]:
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(key, []).append(value)
    result: dict[str, Any] = {}
    claimed: set[str] = set(ignore)
    for name, wire, member in bound.querystring:
        if member.type_name == "map":
            continue
        claimed.add(wire)
        if wire in values:
            result[name] = _query_member(values[wire], member, wire)
    for name, _wire, member in bound.querystring:
        if member.type_name == "map":
            rest = {k: v for k, v in values.items() if k not in claimed}
            if rest:
                result[name] = _query_map(rest, member, name)
    return result


def _query_member(texts: list[str], shape: Shape, wire: str) -> Any:
    """A querystring member: a list takes every repetition, a scalar the first."""
    try:
        if shape.type_name == "list":
            return [scalar_from_text(text, shape.member) for text in texts]
        return scalar_from_text(texts[0], shape)
    except SerializationError as exc:
        raise InvalidBoundValue(exc.message, wire, ",".join(texts)) from exc


def _query_map(values: dict[str, list[str]], shape: Shape, name: str) -> dict[str, Any]:
    """A querystring map takes every key no other member claimed: a list value
    takes all repetitions, a scalar value the first."""
    value_shape = shape.value
    try:
        if value_shape.type_name == "list":
            return {k: [scalar_from_text(x, value_shape.member) for x in v] for k, v in values.items()}
        return {k: scalar_from_text(v[0], value_shape) for k, v in values.items()}
    except SerializationError as exc:
        raise InvalidBoundValue(exc.message, name, str(values)) from exc


def _header_value(text: str, shape: Shape) -> Any:
    """One header member: a list (comma-separated, RFC 822 dates kept whole), a
    ``jsonvalue`` string (base64 JSON), or a scalar."""
    if shape.type_name == "list":
        return _header_list(text, shape.member)
    text = text.strip()
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return orjson.loads(base64.b64decode(text, validate=True))
        except (ValueError, binascii.Error) as exc:  # orjson.JSONDecodeError is a ValueError
            raise SerializationError(f"Invalid value {text!r} for {shape.name} (jsonvalue)") from exc
    return scalar_from_text(text, shape)


def _header_list(text: str, member: Shape) -> list[Any]:
    rfc822 = member.serialization.get("timestampFormat", "rfc822").lower() == "rfc822"
    if member.type_name == "timestamp" and rfc822:
        parts = [p.strip() for p in text.split(",")]
        items = [", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]
    else:
        items = split_header_list(text)
    return [scalar_from_text(item, member) for item in items]


# --- responses --------------------------------------------------------------


def render_bound_members(
    output: Mapping[str, Any], shape: Shape, *, always_fraction: bool = False
) -> tuple[int | None, list[tuple[str, str]]]:
    """The status code (from a statusCode member) and headers of an output or error.

    Header names keep the model's spelling (clients match case-insensitively);
    ``always_fraction`` is passed to ``format_timestamp`` for ISO 8601 headers.
    A value that does not fit its member is a handler bug: InternalFailure.
    """
    try:
        return _render(output, shape, always_fraction)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InternalFailure(f"Output for {shape.name} does not fit the model: {exc}") from exc


def _render(
    output: Mapping[str, Any], shape: Shape, always_fraction: bool
) -> tuple[int | None, list[tuple[str, str]]]:
    bound = bindings_of(shape)
    status: int | None = None
    if bound.status and output.get(bound.status) is not None:
        status = int(output[bound.status])
    headers: list[tuple[str, str]] = []
    for name, wire, member in bound.header:
        value = output.get(name)
        if value is not None and (member.type_name != "list" or value):
            headers.append((wire, _header_text(value, member, always_fraction)))
    for name, wire, _member in bound.headers:
        for key, value in (output.get(name) or {}).items():
            headers.append((wire + str(key), str(value)))
    return status, headers


def _header_text(value: Any, shape: Shape, always_fraction: bool) -> str:
    """One header member as text: lists joined (string items quoted as needed),
    ``jsonvalue`` strings as base64 JSON, scalars in their text form."""
    if shape.type_name == "list":
        member = shape.member
        texts = [scalar_to_text(v, member, always_fraction=always_fraction) for v in value if v is not None]
        return join_header_list(texts) if member.type_name == "string" else ",".join(texts)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(orjson.dumps(value)).decode()
    return scalar_to_text(value, shape, always_fraction=always_fraction)
