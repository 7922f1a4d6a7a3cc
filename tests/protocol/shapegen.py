"""Random values for botocore shapes, and the glue to round-trip them.

Shared by every codec's round-trip tests: ``random_value`` builds a value of
a shape (seeded, deterministic), ``botocore_request`` serializes an input dict
with botocore's own client serializer into an HttpRequest, and
``botocore_parse`` parses an HttpResponse with botocore's own client parser.
``normalize`` drops what protocols cannot tell apart (None, empty lists and
maps) so equivalent values compare equal.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSRequest, HeadersDict, prepare_request_dict
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from rampart.gateway.http import HttpRequest, HttpResponse

_SAFE = string.ascii_letters + string.digits + "-_."
_TEXT = _SAFE + " /+=:@,~!*'()&<>\"é中😀"
_MAX_DEPTH = 4


def _is_wire_safe(shape: Shape) -> bool:
    """Members outside the body travel in URLs or headers: keep them plain."""
    return shape.serialization.get("location") in {"uri", "header", "headers", "querystring"}


def random_string(rng: random.Random, shape: Shape, safe: bool) -> str:
    enum = shape.enum
    if enum:
        return rng.choice(enum)
    lo = max(int(shape.metadata.get("min", 0) or 0), 1 if safe else 0)
    hi = max(lo, min(int(shape.metadata.get("max", 12) or 12), 12))
    alphabet = _SAFE if safe else _TEXT
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _random_number(rng: random.Random, shape: Shape) -> int:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    lo = int(lo) if lo is not None else 0
    hi = int(hi) if hi is not None else lo + 100000
    return rng.randint(int(lo), int(min(hi, lo + 100000)))


def random_value(rng: random.Random, shape: Shape, depth: int = 0, safe: bool = False) -> Any:
    """A random value valid for the shape's type (and its enum/length/range bounds)."""
    kind = shape.type_name
    if kind == "structure":
        return _random_structure(rng, shape, depth)
    if kind == "list":
        count = 0 if depth >= _MAX_DEPTH else rng.randint(max(int(shape.metadata.get("min", 0) or 0), 0), 3)
        return [random_value(rng, shape.member, depth + 1, safe) for _ in range(count)]
    if kind == "map":
        count = 0 if depth >= _MAX_DEPTH else rng.randint(0, 3)
        return {
            random_string(rng, shape.key, True): random_value(rng, shape.value, depth + 1, safe)
            for _ in range(count)
        }
    if kind == "string":
        return random_string(rng, shape, safe)
    if kind in ("integer", "long"):
        return _random_number(rng, shape)
    if kind in ("float", "double"):
        return round(rng.uniform(-1000, 1000), 3)
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "timestamp":
        seconds = rng.randint(0, 2_000_000_000)
        return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    if kind == "blob":
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
    raise AssertionError(f"no generator for shape type {kind}")


def _random_structure(rng: random.Random, shape: Shape, depth: int) -> dict[str, Any]:
    if getattr(shape, "is_document_type", False):
        return {"k": rng.choice(["v", 1, True, None, [1, "x"]])}
    required = set(shape.required_members)
    names = list(shape.members)
    if getattr(shape, "is_tagged_union", False):
        names = [rng.choice(names)] if names else []
        required = set(names)
    result: dict[str, Any] = {}
    for name in names:
        member = shape.members[name]
        if member.metadata.get("eventstream") or member.serialization.get("eventstream"):
            continue
        if name not in required and (depth >= _MAX_DEPTH or rng.random() < 0.5):
            continue
        result[name] = random_value(rng, member, depth + 1, safe=_is_wire_safe(member))
    return result


def normalize(value: Any) -> Any:
    """Drop None and empty containers; what no protocol can carry distinctly."""
    if isinstance(value, dict):
        cleaned = {k: normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def query_wire_equivalent(value: Any) -> Any:
    """normalize(), also dropping empty structures inside lists: no query/ec2 key can carry them."""
    if isinstance(value, dict):
        return normalize({k: query_wire_equivalent(v) for k, v in value.items()})
    if isinstance(value, list):
        items = (query_wire_equivalent(v) for v in value)
        return [v for v in items if v != {}]
    return normalize(value)


def botocore_request(
    protocol: str, operation: OperationModel, params: dict[str, Any], endpoint: str = "http://localhost:4566"
) -> HttpRequest:
    """Serialize params exactly as a boto3 client would, as an HttpRequest."""
    serializer = create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request_dict, endpoint_url=endpoint)
    prepared = AWSRequest(
        method=request_dict["method"],
        url=request_dict["url"],
        data=request_dict["body"],
        headers=request_dict["headers"],
    ).prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers.setdefault("host", parts.netloc)
    return HttpRequest(method=prepared.method, path=parts.path or "/", query=parts.query, headers=headers, body=body)


def botocore_parse(protocol: str, operation: OperationModel, response: HttpResponse) -> dict[str, Any]:
    """Parse a response exactly as a boto3 client would."""
    parser = create_parser(protocol)
    headers = {}
    for key, value in response.headers:
        headers[key] = value
    response_dict = {
        "status_code": response.status,
        "headers": HeadersDict(headers),
        "body": response.body,
        "context": {"operation_name": operation.name},
    }
    return parser.parse(response_dict, operation.output_shape)


def uri_params_of(operation: OperationModel, params: dict[str, Any]) -> dict[str, str]:
    """The decoded requestUri labels a router would extract for these params."""
    shape = operation.input_shape
    if shape is None:
        return {}
    labels: dict[str, str] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") == "uri" and name in params:
            value = params[name]
            labels[member.serialization.get("name", name)] = value if isinstance(value, str) else str(value)
    return labels
