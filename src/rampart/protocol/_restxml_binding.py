"""REST member binding for rest-xml: uri labels, query string, headers, status.

The rest protocols place each top-level member of an operation's input or
output somewhere in the HTTP message (the model's ``location`` trait). This
module reads and writes those places, and converts scalars between their wire
text and Python values. It is private to the rest-xml codec for now; the
generic rest binding in ``rest.py`` may absorb it later.

Every conversion failure raises ``ValueError``; the codec turns it into the
service's AWS error.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from rampart.aws.models import OperationModel, Shape, StructureShape

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
# Default timestamp formats per place, as botocore's clients use them.
FORMAT_BODY = "iso8601"
FORMAT_HEADER = "rfc822"
_INTEGER_TYPES = frozenset({"integer", "long", "short", "byte"})
_FLOAT_TYPES = frozenset({"float", "double"})


class BadValue(ValueError):
    """A member's wire text could not be converted; names the member for the error."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"invalid value {text!r} for {name}")
        self.name = name
        self.text = text


# --- scalars ---------------------------------------------------------------


def format_timestamp(value: dt.datetime, fmt: str) -> str:
    """Render a timestamp in one of the model's formats (iso8601, rfc822, unixTimestamp)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    value = value.astimezone(_UTC)
    fmt = fmt.lower()
    if fmt == "rfc822":
        return format_datetime(value.replace(microsecond=0), usegmt=True)
    if fmt == "unixtimestamp":
        seconds = (value - _EPOCH).total_seconds()
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    micro = value.microsecond
    fraction = f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def parse_timestamp(text: str) -> dt.datetime:
    """Read a timestamp in any of the formats AWS clients send; always UTC-aware.

    The format is recognised from the text rather than trusted from the
    model: clients are known to send ISO 8601 where RFC 822 is modelled.
    """
    text = text.strip()
    if _looks_numeric(text):
        return _EPOCH + dt.timedelta(seconds=float(text))
    if "," in text or text.endswith(("GMT", "UTC")):
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"invalid timestamp {text!r}") from exc
    else:
        value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def _looks_numeric(text: str) -> bool:
    return bool(text) and text.replace(".", "", 1).lstrip("-").isdigit()


def format_float(value: float) -> str:
    """Render a float the way AWS and botocore spell the special values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def parse_scalar(shape: Shape, text: str) -> Any:
    """Convert wire text to the Python value of a scalar shape."""
    kind = shape.type_name
    if kind == "string":
        return text
    if kind in _INTEGER_TYPES:
        return int(text.strip())
    if kind == "boolean":
        return _parse_bool(text)
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind in _FLOAT_TYPES:
        return float(text.strip())
    if kind == "blob":
        return base64.b64decode(text.strip(), validate=True)
    raise ValueError(f"no scalar conversion for {kind}")


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"invalid boolean {text!r}")


def format_scalar(shape: Shape, value: Any, default_format: str = FORMAT_BODY) -> str:
    """Convert a Python scalar to its wire text for the shape."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_format)
        return format_timestamp(_as_datetime(value), fmt)
    if kind in _FLOAT_TYPES:
        return format_float(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, (int, float)):
        return _EPOCH + dt.timedelta(seconds=value)
    return parse_timestamp(str(value))


# --- header lists ------------------------------------------------------------

_HEADER_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)')


def split_header_list(text: str) -> list[str]:
    """Split a comma-separated header into items, honouring RFC 7230 quoting."""
    items: list[str] = []
    pos = 0
    while pos < len(text):
        match = _HEADER_ITEM.match(text, pos)
        if match is None or match.end() == pos:
            break
        quoted, plain = match.groups()
        items.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain.strip())
        pos = match.end()
    return items


def join_header_list(values: list[str]) -> str:
    """Join header list items, quoting those that carry a comma or a quote."""
    out = []
    for value in values:
        if '"' in value or "," in value:
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(value)
    return ",".join(out)


# --- per-operation binding plans --------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """One top-level member bound to a place in the HTTP message."""

    member: str
    location: str  # uri, querystring, header, headers, statusCode, hostLabel
    wire_name: str  # label, query key, header name (lower-case) or header prefix
    shape: Shape


@dataclass(frozen=True, slots=True)
class Plan:
    """Where every member of one input or output structure travels."""

    bindings: tuple[Binding, ...]
    body_members: tuple[str, ...]
    payload: str | None
    literal_query: frozenset[str]
    host_pattern: re.Pattern[str] | None


@lru_cache(maxsize=4096)
def plan_for(shape: StructureShape, operation: OperationModel | None = None) -> Plan:
    """Precompute (once per shape) where each member travels."""
    bindings: list[Binding] = []
    body: list[str] = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location:
            wire = member.serialization.get("name", name)
            if location in ("header", "headers"):
                wire = wire.lower()
            bindings.append(Binding(name, location, wire, member))
        elif member.serialization.get("hostLabel"):
            bindings.append(Binding(name, "hostLabel", name, member))
        else:
            body.append(name)
    return Plan(
        tuple(bindings),
        tuple(body),
        shape.serialization.get("payload"),
        _literal_query(operation),
        _host_pattern(operation),
    )


def _literal_query(operation: OperationModel | None) -> frozenset[str]:
    """Query keys fixed by the requestUri template (``?uploads``, ``?list-type=2``)."""
    if operation is None:
        return frozenset()
    uri = operation.http.get("requestUri", "")
    if "?" not in uri:
        return frozenset()
    return frozenset(parse_qs(uri.split("?", 1)[1], keep_blank_values=True))


def _host_pattern(operation: OperationModel | None) -> re.Pattern[str] | None:
    """A regex reading hostLabel members out of the Host (the model's hostPrefix)."""
    prefix = (operation.endpoint or {}).get("hostPrefix") if operation is not None else None
    if not prefix or "{" not in prefix:
        return None
    parts = re.split(r"\{(\w+)\}", prefix)
    regex = "".join(
        f"(?P<{part}>[A-Za-z0-9-]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile("^" + regex)


# --- reading a request ----------------------------------------------------------


def bind_request(
    plan: Plan,
    uri_params: Mapping[str, str],
    query: dict[str, list[str]],
    headers: Mapping[str, str],
    host: str,
) -> dict[str, Any]:
    """Read every non-body member of a request; raises ValueError on bad text."""
    result: dict[str, Any] = {}
    claimed = set(plan.literal_query)
    query_map: Binding | None = None
    host_match = plan.host_pattern.match(host) if plan.host_pattern else None
    for binding in plan.bindings:
        loc = binding.location
        if loc == "querystring" and binding.shape.type_name == "map":
            query_map = binding
            continue
        if loc == "querystring":
            claimed.add(binding.wire_name)
        try:
            value = _read_binding(binding, uri_params, query, headers, host_match)
        except (ValueError, OverflowError) as exc:
            raise BadValue(binding.wire_name, _raw_text(binding, uri_params, query, headers)) from exc
        if value is not None:
            result[binding.member] = value
    if query_map is not None:
        _bind_query_map(query_map, {k: v for k, v in query.items() if k not in claimed}, result)
    return result


def _bind_query_map(map_binding: Binding, rest: dict[str, list[str]], result: dict[str, Any]) -> None:
    """A querystring map takes every parameter no other member claimed."""
    if not rest:
        return
    try:
        result[map_binding.member] = _query_map(map_binding.shape, rest)
    except (ValueError, OverflowError) as exc:
        raise BadValue(map_binding.member, str(rest)) from exc


def _raw_text(
    binding: Binding, uri_params: Mapping[str, str], query: dict[str, list[str]], headers: Mapping[str, str]
) -> str:
    """The text that failed to convert, for the error message."""
    wire = binding.wire_name
    if binding.location == "uri":
        return uri_params.get(wire, uri_params.get(wire + "+", ""))
    if binding.location == "querystring":
        return ",".join(query.get(wire, []))
    return headers.get(wire, "")


def _read_binding(
    binding: Binding,
    uri_params: Mapping[str, str],
    query: dict[str, list[str]],
    headers: Mapping[str, str],
    host_match: re.Match[str] | None,
) -> Any:
    loc, wire, shape = binding.location, binding.wire_name, binding.shape
    if loc == "uri":
        text = uri_params.get(wire, uri_params.get(wire + "+"))
        return None if text is None else parse_scalar(shape, text)
    if loc == "querystring":
        return _read_query(shape, query.get(wire))
    if loc == "header":
        text = headers.get(wire)
        return None if text is None else _read_header(shape, text)
    if loc == "headers":
        found = {k[len(wire) :]: v for k, v in headers.items() if k.startswith(wire)}
        return found or None
    if loc == "hostLabel" and host_match is not None:
        return host_match.group(wire)
    return None


def _read_query(shape: Shape, values: list[str] | None) -> Any:
    if not values:
        return None
    if shape.type_name == "list":
        return [parse_scalar(shape.member, v) for v in values]
    return parse_scalar(shape, values[0])


def _query_map(shape: Shape, params: dict[str, list[str]]) -> dict[str, Any]:
    value_shape = shape.value
    if value_shape.type_name == "list":
        return {k: [parse_scalar(value_shape.member, v) for v in vs] for k, vs in params.items()}
    return {k: parse_scalar(value_shape, vs[0]) for k, vs in params.items()}


def _read_header(shape: Shape, text: str) -> Any:
    if shape.type_name == "list":
        return [parse_scalar(shape.member, item) for item in split_header_list(text)]
    if shape.type_name == "string" and _is_json_value(shape):
        return json.loads(base64.b64decode(text))
    return parse_scalar(shape, text if shape.type_name == "string" else text.strip())


# --- writing a response ----------------------------------------------------------


def bind_response(plan: Plan, output: Mapping[str, Any]) -> tuple[int | None, list[tuple[str, str]]]:
    """Write the status-code and header members of an output; body members are left."""
    status: int | None = None
    headers: list[tuple[str, str]] = []
    for binding in plan.bindings:
        value = output.get(binding.member)
        if value is None:
            continue
        if binding.location == "statusCode":
            status = int(value)
        elif binding.location == "header":
            text = _write_header(binding.shape, value)
            if text is not None:
                headers.append((_header_name(binding), text))
        elif binding.location == "headers":
            prefix = _header_name(binding)
            headers.extend((prefix + str(k), str(v)) for k, v in value.items())
    return status, headers


def _header_name(binding: Binding) -> str:
    """The header name with the model's spelling (clients match case-insensitively)."""
    return binding.shape.serialization.get("name", binding.member)


def _write_header(shape: Shape, value: Any) -> str | None:
    if shape.type_name == "list":
        if not value:
            return None
        return join_header_list([format_scalar(shape.member, v, FORMAT_HEADER) for v in value])
    if shape.type_name == "string" and _is_json_value(shape):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return format_scalar(shape, value, FORMAT_HEADER)


def _is_json_value(shape: Shape) -> bool:
    """The ``jsonvalue`` trait: a JSON document carried base64-encoded in a header."""
    return bool(shape.serialization.get("jsonvalue") or shape.metadata.get("jsonvalue"))
