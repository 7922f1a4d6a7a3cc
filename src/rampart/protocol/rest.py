"""Shared helpers for the REST bindings (rest-json and rest-xml).

REST protocols spread an operation's members over the HTTP message: the
``location`` serialization trait puts a member in the URI (``uri``), the query
string (``querystring``), one header (``header``), a family of prefixed headers
(``headers``), the status code (``statusCode``); the structure's ``payload``
trait names the member that *is* the body; every other member goes in the body
document (JSON or XML, which is the only thing that differs between the two
protocols). This module handles everything but the body, so both REST codecs
bind members identically:

* ``bindings_of(shape)`` -- where each member of a structure lives (cached).
* ``parse_bound_members(request, shape, uri_params)`` -- the uri, querystring,
  header and headers members of a request, converted to their types.
* ``render_bound_members(output, shape)`` -- the status code and headers of a
  response (or error) from the statusCode/header/headers members.
* ``scalar_from_text`` / ``scalar_to_text`` -- one member's text form, with the
  defaults of each location (timestamps: iso8601 in URIs and query strings,
  rfc822 in headers; booleans ``true``/``false``; ``jsonvalue`` strings base64
  JSON in headers).
* ``parse_timestamp`` / ``format_timestamp`` -- every timestamp format AWS uses
  (also used by the body codecs).

Limitation: HttpRequest lower-cases header names, so keys of a ``headers``
prefix map come back lower-cased (S3 user metadata is case-insensitive).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from rampart.aws.errors import InternalFailure, SerializationError
from rampart.aws.models import OperationModel, Shape
from rampart.gateway.http import HttpRequest

__all__ = [
    "RestBindings",
    "bindings_of",
    "parse_bound_members",
    "render_bound_members",
    "scalar_from_text",
    "scalar_to_text",
    "parse_timestamp",
    "format_timestamp",
    "to_datetime",
    "default_status",
    "static_query_keys",
]

UTC = dt.timezone.utc
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


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
    """Parse epoch seconds, ISO 8601 or RFC 822 text, whatever format the client chose."""
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


def format_timestamp(value: Any, fmt: str) -> int | float | str:
    """A timestamp in one of the model's formats: unixTimestamp, iso8601, rfc822."""
    when = _output_datetime(value)
    fmt = fmt.lower()
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(when.timetuple())
        if when.microsecond:
            return (seconds * 10**6 + when.microsecond) / 10**6
        return seconds
    if fmt == "iso8601":
        base = when.strftime("%Y-%m-%dT%H:%M:%S")
        if not when.microsecond:
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


def scalar_from_text(text: str, shape: Shape, default_ts_format: str = "iso8601") -> Any:
    """Convert one uri/querystring/header text to the member's type.

    Raises SerializationError when the text is not a value of that type.
    ``default_ts_format`` is only a hint: every timestamp format is accepted.
    """
    kind = shape.type_name
    try:
        if kind == "string":
            if shape.serialization.get("jsonvalue"):
                return orjson.loads(base64.b64decode(text, validate=True))
            return text
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return _SPECIAL_FLOATS.get(text) if text in _SPECIAL_FLOATS else float(text)
        if kind == "boolean":
            return _boolean_text(text)
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise SerializationError(f"Invalid value {text!r} for {shape.name} ({kind})") from exc
    raise SerializationError(f"Cannot read a {kind} from text ({shape.name})")


def _boolean_text(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(text)


def scalar_to_text(value: Any, shape: Shape, default_ts_format: str = "rfc822") -> str:
    """One scalar member as text for a header, query string or URI."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_ts_format)
        return str(format_timestamp(value, fmt))
    if kind in ("float", "double"):
        return _float_text(float(value))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    if kind == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(orjson.dumps(value)).decode()
    return str(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


# --- where members live ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestBindings:
    """The members of one structure, grouped by HTTP location.

    Each tuple holds ``(member name, wire name, member shape)``; ``body`` holds
    the names of members that travel in the body document (empty when a
    ``payload`` member stands for the whole body).
    """

    uri: tuple[tuple[str, str, Shape], ...]
    querystring: tuple[tuple[str, str, Shape], ...]
    header: tuple[tuple[str, str, Shape], ...]
    headers: tuple[tuple[str, str, Shape], ...]
    status: str | None
    payload: str | None
    body: frozenset[str]

    @property
    def located(self) -> frozenset[str]:
        """Names of members that do not travel in the body document."""
        names = [m[0] for group in (self.uri, self.querystring, self.header, self.headers) for m in group]
        if self.status:
            names.append(self.status)
        return frozenset(names)


@lru_cache(maxsize=4096)
def bindings_of(shape: Shape) -> RestBindings:
    """Group a structure's members by location (computed once per shape)."""
    groups: dict[str, list[tuple[str, str, Shape]]] = {
        "uri": [], "querystring": [], "header": [], "headers": []
    }
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
    return RestBindings(
        uri=tuple(groups["uri"]),
        querystring=tuple(groups["querystring"]),
        header=tuple(groups["header"]),
        headers=tuple(groups["headers"]),
        status=status,
        payload=payload,
        body=frozenset() if payload else frozenset(body),
    )


def default_status(operation: OperationModel) -> int:
    """The success status of an operation: its http.responseCode, else 200."""
    return int(operation.http.get("responseCode", 200))


@lru_cache(maxsize=4096)
def static_query_keys(request_uri: str) -> frozenset[str]:
    """Query keys fixed by a requestUri template (``/{Bucket}?versioning``)."""
    query = urlsplit(request_uri).query
    return frozenset(key for key, _ in parse_qsl(query, keep_blank_values=True))


# --- requests ---------------------------------------------------------------


def parse_bound_members(
    request: HttpRequest,
    shape: Shape,
    uri_params: Mapping[str, str],
    ignore_query: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The uri, querystring, header and headers members of a request, typed.

    ``ignore_query`` names query keys that belong to the requestUri template
    rather than to a member (see ``static_query_keys``).
    """
    bound = bindings_of(shape)
    result: dict[str, Any] = {}
    for name, wire, member in bound.uri:
        if wire in uri_params:
            result[name] = scalar_from_text(uri_params[wire], member, "iso8601")
    if bound.querystring:
        result.update(_parse_query(request.query, bound, ignore_query))
    for name, wire, member in bound.header:
        text = request.headers.get(wire.lower())
        if text is not None:
            result[name] = _header_value(text, member)
    for name, wire, _member in bound.headers:
        prefix = wire.lower()
        found = {k[len(prefix):]: v for k, v in request.headers.items() if k.startswith(prefix)}
        if found:
            result[name] = found
    return result


def _parse_query(query: str, bound: RestBindings, ignore: frozenset[str]) -> dict[str, Any]:
    pairs = parse_qsl(query, keep_blank_values=True)
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    result: dict[str, Any] = {}
    claimed: set[str] = set(ignore)
    for name, wire, member in bound.querystring:
        if member.type_name == "map":
            continue
        claimed.add(wire)
        if wire not in values:
            continue
        if member.type_name == "list":
            result[name] = [scalar_from_text(v, member.member, "iso8601") for v in values[wire]]
        else:
            result[name] = scalar_from_text(values[wire][0], member, "iso8601")
    for name, _wire, member in bound.querystring:
        if member.type_name == "map":
            rest = {k: v for k, v in values.items() if k not in claimed}
            if rest:
                result[name] = _query_map(rest, member)
    return result


def _query_map(values: dict[str, list[str]], shape: Shape) -> dict[str, Any]:
    """A map of querystring: string values take the first, list values take all."""
    if shape.value.type_name == "list":
        return {k: [scalar_from_text(x, shape.value.member) for x in v] for k, v in values.items()}
    return {k: scalar_from_text(v[0], shape.value) for k, v in values.items()}


def _header_value(text: str, shape: Shape) -> Any:
    if shape.type_name != "list":
        return scalar_from_text(text.strip(), shape, "rfc822")
    member = shape.member
    if member.type_name == "timestamp" and member.serialization.get("timestampFormat", "rfc822").lower() == "rfc822":
        parts = [p.strip() for p in text.split(",")]
        items = [", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]
    else:
        items = split_header_list(text)
    return [scalar_from_text(item, member, "rfc822") for item in items]


def split_header_list(text: str) -> list[str]:
    """Split a comma-separated header list; items may be double-quoted with ``\\"`` escapes."""
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


# --- responses --------------------------------------------------------------


def render_bound_members(output: Mapping[str, Any], shape: Shape) -> tuple[int | None, list[tuple[str, str]]]:
    """The status code (from a statusCode member) and headers of an output or error.

    A value that does not fit its member is a handler bug: InternalFailure.
    """
    try:
        return _render(output, shape)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InternalFailure(f"Output for {shape.name} does not fit the model: {exc}") from exc


def _render(output: Mapping[str, Any], shape: Shape) -> tuple[int | None, list[tuple[str, str]]]:
    bound = bindings_of(shape)
    status: int | None = None
    if bound.status and output.get(bound.status) is not None:
        status = int(output[bound.status])
    headers: list[tuple[str, str]] = []
    for name, wire, member in bound.header:
        value = output.get(name)
        if value is None:
            continue
        if member.type_name == "list":
            if value:
                headers.append((wire, ",".join(scalar_to_text(v, member.member) for v in value if v is not None)))
        else:
            headers.append((wire, scalar_to_text(value, member)))
    for name, wire, _member in bound.headers:
        for key, value in (output.get(name) or {}).items():
            headers.append((wire + key, str(value)))
    return status, headers
