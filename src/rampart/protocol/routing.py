"""Which service and operation a request is for, and in which wire protocol.

AWS clients say what they call in several ways: the SigV4 credential scope
names the service (by its signing name), JSON services name the operation in
``X-Amz-Target``, Smithy RPCv2 CBOR in the path, query/EC2 services in the
``Action`` parameter, and REST services through the model's requestUri
templates (method + path + query literals). ``route`` reads them in that order
and answers a ``Route``; anything it cannot place becomes an AWS-style error.

Everything derived from the models (target prefixes, URI template regexes) is
built once per process and cached; a request only does dictionary lookups and
a few precompiled regex matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import ip_address
from urllib.parse import quote, unquote, unquote_plus

from rampart.aws.errors import AwsError, UnknownOperation
from rampart.aws.models import (
    SUPPORTED_SERVICES,
    OperationModel,
    ServiceModel,
    service_model,
    wire_protocols,
)
from rampart.gateway.http import HttpRequest

__all__ = [
    "Route",
    "route",
    "form_params",
    "parse_form",
    "UnknownService",
    "InvalidAction",
    "MissingAction",
    "MethodNotAllowed",
    "InvalidURI",
]

Params = Mapping[str, list[str]]
_EMPTY: dict[str, list[str]] = {}
_FORM_TYPE = "application/x-www-form-urlencoded"
_JSON_TYPE = "application/x-amz-json-"
_QUERY_PROTOCOLS = ("query", "ec2")
_REST_PROTOCOLS = ("rest-json", "rest-xml")


# --------------------------------------------------------------------- errors


class UnknownService(AwsError):
    """The request names (or implies) a service Rampart does not serve."""

    code = "UnknownService"
    status = 400


class InvalidAction(AwsError):
    """A query/EC2 ``Action`` that the service's model does not define."""

    code = "InvalidAction"
    status = 400


class MissingAction(AwsError):
    """A query/EC2 request without an ``Action`` parameter."""

    code = "MissingAction"
    status = 400


class MethodNotAllowed(AwsError):
    """S3: the path exists but not for this HTTP method."""

    code = "MethodNotAllowed"
    status = 405


class InvalidURI(AwsError):
    """S3: a path that cannot be decoded (broken percent-encoding, invalid UTF-8)."""

    code = "InvalidURI"
    status = 400


# ---------------------------------------------------------------------- route


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: service, operation, wire protocol and URI labels.

    ``form`` is the already decoded form body (query/EC2 POST) or query string
    (query/EC2 GET) the router read ``Action`` from, so the query codec need
    not parse the body a second time; ``None`` for other protocols.
    """

    service: ServiceModel
    operation: OperationModel
    protocol: str
    uri_params: dict[str, str]
    form: Params | None = field(default=None, compare=False)


_form_cache: tuple[bytes, dict[str, list[str]]] = (b"", {})


def form_params(request: HttpRequest) -> dict[str, list[str]]:
    """The form-encoded body decoded once: the router and the query codec share it.

    A one-entry cache keyed on the identity of the body bytes: the router
    parses, and the codec asking next for the same request gets the same dict
    back (treat it as read-only). A different request simply re-parses.
    """
    global _form_cache
    body = request.body
    cached_body, cached = _form_cache
    if cached_body is body:
        return cached
    parsed = parse_form(body.decode("utf-8", "replace")) if body else {}
    _form_cache = (body, parsed)
    return parsed


def parse_form(text: str) -> dict[str, list[str]]:
    """``parse_qs(text, keep_blank_values=True)`` without its overhead on plain pieces.

    Only pieces holding ``%`` or ``+`` are unquoted; a typical query-protocol
    body (``Action=GetCallerIdentity&Version=2011-06-15``) needs no decoding.
    """
    out: dict[str, list[str]] = {}
    for piece in text.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            key = unquote_plus(key, errors="replace")
            value = unquote_plus(value, errors="replace")
        values = out.get(key)
        if values is None:
            out[key] = [value]
        else:
            values.append(value)
    return out


@dataclass(slots=True)
class _Ctx:
    """Per-request lazily decoded pieces, so nothing is parsed twice."""

    request: HttpRequest
    _query: dict[str, list[str]] | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            q = self.request.query
            self._query = parse_form(q) if q else _EMPTY
        return self._query


def route(request: HttpRequest) -> Route:
    """Find the service, operation and protocol of a request.

    Raises an AwsError (never anything else) when the request names no
    service or operation Rampart knows.
    """
    ctx = _Ctx(request)
    signing = _scope_service(request, ctx)
    if signing is not None:
        name = _indexes().by_signing.get(signing)
        if name is None:
            raise UnknownService(f"The service '{signing}' named in the credential scope is not served here.")
    else:
        name = _unsigned_service(ctx)
    return _route_in_service(_service_index(name), ctx)


# ------------------------------------------------------- finding the service


def _scope_service(request: HttpRequest, ctx: _Ctx) -> str | None:
    """The signing name in the SigV4 credential scope, header or presigned query."""
    auth = request.headers.get("authorization")
    credential: str | None = None
    if auth:
        start = auth.find("Credential=")
        if start >= 0:
            rest = auth[start + 11 :]
            credential = rest.split(",", 1)[0].strip()
    elif "X-Amz-Credential" in request.query:
        values = ctx.query.get("X-Amz-Credential")
        credential = values[0] if values else None
    if not credential:
        return None
    parts = credential.split("/")
    if len(parts) >= 4 and parts[-1] in ("aws4_request", "aws4_request "):
        return parts[-2]
    return None


def _unsigned_service(ctx: _Ctx) -> str:
    """The service of a request without credentials, from its other hints."""
    headers = ctx.request.headers
    indexes = _indexes()
    target = headers.get("x-amz-target")
    if target:
        prefix = target.rpartition(".")[0]
        return _known(indexes.by_target.get(prefix), f"target prefix '{prefix}'")
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        parts = ctx.request.path.split("/")
        name = parts[2] if len(parts) > 2 else ""
        return _known(indexes.by_target.get(name), f"service '{name}'")
    if headers.get("content-type", "").startswith(_JSON_TYPE):
        raise UnknownOperation("A JSON request must name its operation in X-Amz-Target.")
    params = _action_params(ctx)
    if params is not None and "Action" in params:
        return _service_for_action(params)
    return "s3"


def _known(name: str | None, what: str) -> str:
    if name is None:
        raise UnknownService(f"No service served here matches the {what}.")
    return name


def _service_for_action(params: Params) -> str:
    """An unsigned query request: ``Version`` picks the service, else the Action does."""
    action = _first(params, "Action")
    version = _first(params, "Version")
    indexes = _indexes()
    by_version = indexes.by_version.get(version)
    if by_version is not None:
        return by_version
    owners = indexes.by_action.get(action, ())
    if owners:
        return owners[0]
    raise InvalidAction(f"Could not find operation {action} for version {version or 'NO_VERSION_SPECIFIED'}")


def _first(params: Params, key: str) -> str:
    values = params.get(key)
    return values[0] if values else ""


@dataclass(frozen=True, slots=True)
class _Indexes:
    """Cross-service lookups: signing name, JSON target prefix, API version, Action."""

    by_signing: dict[str, str]
    by_target: dict[str, str]
    by_version: dict[str, str]
    by_action: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def _indexes() -> _Indexes:
    signing: dict[str, str] = {}
    target: dict[str, str] = {}
    version: dict[str, str] = {}
    action: dict[str, tuple[str, ...]] = {}
    for name in SUPPORTED_SERVICES:
        model = service_model(name)
        signing.setdefault(model.signing_name or name, name)
        signing.setdefault(name, name)
        prefix = model.metadata.get("targetPrefix")
        if prefix:
            target.setdefault(prefix, name)
        if set(wire_protocols(model)) & set(_QUERY_PROTOCOLS):
            version.setdefault(model.api_version, name)
            for op in model.operation_names:
                action[op] = action.get(op, ()) + (name,)
    return _Indexes(signing, target, version, action)


# ---------------------------------------------------- operation in a service


@dataclass(slots=True)
class _ServiceIndex:
    """One service's model, its protocols and (lazily) its operations."""

    name: str
    model: ServiceModel
    protocols: frozenset[str]
    target_prefix: str
    op_names: frozenset[str]
    ops: dict[str, OperationModel] = field(default_factory=dict)

    def operation(self, name: str) -> OperationModel:
        op = self.ops.get(name)
        if op is None:
            op = self.ops[name] = self.model.operation_model(name)
        return op

    @property
    def query_protocol(self) -> str | None:
        for proto in _QUERY_PROTOCOLS:
            if proto in self.protocols:
                return proto
        return None

    @property
    def rest_protocol(self) -> str | None:
        for proto in _REST_PROTOCOLS:
            if proto in self.protocols:
                return proto
        return None


@lru_cache(maxsize=None)
def _service_index(name: str) -> _ServiceIndex:
    model = service_model(name)
    return _ServiceIndex(
        name=name,
        model=model,
        protocols=frozenset(wire_protocols(model)),
        target_prefix=model.metadata.get("targetPrefix", ""),
        op_names=frozenset(model.operation_names),
    )


def _route_in_service(svc: _ServiceIndex, ctx: _Ctx) -> Route:
    """Pick the protocol the request uses among the service's, then the operation."""
    headers = ctx.request.headers
    protocols = svc.protocols
    if "smithy-rpc-v2-cbor" in protocols and (
        headers.get("smithy-protocol") == "rpc-v2-cbor" or ctx.request.path.startswith("/service/")
    ):
        return _route_cbor(svc, ctx)
    if "json" in protocols and (
        "x-amz-target" in headers
        or headers.get("content-type", "").startswith(_JSON_TYPE)
        or not (svc.query_protocol or svc.rest_protocol)
    ):
        return _route_json(svc, ctx)
    query_protocol = svc.query_protocol
    if query_protocol is not None:
        return _route_query(svc, ctx, query_protocol)
    rest_protocol = svc.rest_protocol
    if rest_protocol is not None:
        return _route_rest(svc, ctx, rest_protocol)
    raise UnknownOperation(f"Service {svc.name} cannot be called with this request.")


def _route_json(svc: _ServiceIndex, ctx: _Ctx) -> Route:
    target = ctx.request.headers.get("x-amz-target", "")
    prefix, _, name = target.rpartition(".")
    if not target or prefix != svc.target_prefix or name not in svc.op_names:
        raise UnknownOperation(f"Unknown operation {target or '(no X-Amz-Target)'}", code="UnknownOperationException")
    return Route(svc.model, svc.operation(name), "json", {})


def _route_cbor(svc: _ServiceIndex, ctx: _Ctx) -> Route:
    parts = ctx.request.path.split("/")
    if len(parts) != 5 or parts[1] != "service" or parts[3] != "operation" or parts[2] != svc.target_prefix:
        raise UnknownOperation(f"No operation matches the path {ctx.request.path[:200]}")
    name = parts[4]
    if name not in svc.op_names:
        raise UnknownOperation(f"Unknown operation {name[:200]}")
    return Route(svc.model, svc.operation(name), "smithy-rpc-v2-cbor", {})


def _action_params(ctx: _Ctx) -> Params | None:
    """Where a query/EC2 request carries Action: the query string, else a form body."""
    request = ctx.request
    if "Action=" in request.query:
        return ctx.query
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPE) or (request.method == "POST" and not content_type and request.body):
        return form_params(request)
    return None


def _route_query(svc: _ServiceIndex, ctx: _Ctx, protocol: str) -> Route:
    params = _action_params(ctx)
    action = _first(params, "Action") if params is not None else ""
    if not action:
        raise MissingAction("The request must contain the parameter Action.")
    if action not in svc.op_names:
        version = _first(params, "Version") if params is not None else ""
        raise InvalidAction(
            f"Could not find operation {action[:200]} for version {version[:50] or 'NO_VERSION_SPECIFIED'}"
        )
    return Route(svc.model, svc.operation(action), protocol, {}, form=params)


# ------------------------------------------------------ REST: URI templates

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class _Template:
    """One operation's requestUri, compiled once: path regex plus query/header needs.

    ``rank`` orders templates most specific first: literal path segments,
    then query literals (``?tagging``), then required querystring members
    (``uploadId``), then required headers (``x-amz-copy-source``), then
    non-deprecated operations before their deprecated twins.
    """

    operation: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]
    query_literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    optional_query: frozenset[str]
    rank: tuple[int, ...]

    def accepts(self, query: Params, headers: Mapping[str, str]) -> bool:
        """Whether the query literals, required query members and headers are present."""
        for key, value in self.query_literals:
            values = query.get(key)
            if values is None or (value is not None and value not in values):
                return False
        return all(k in query for k in self.required_query) and all(h in headers for h in self.required_headers)

    def hint(self, query: Params) -> int:
        """How many of the request's query keys this operation knows: breaks exact ties."""
        return sum(1 for key in query if key in self.optional_query)


def _path_regex(path: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    """A requestUri path as an anchored regex, its label names and literal segment count."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    pieces: list[str] = []
    labels: list[str] = []
    pos = 0
    greedy_last = False
    for m in _LABEL.finditer(path):
        pieces.append(re.escape(path[pos : m.start()]))
        name = m.group(1)
        greedy_last = name.endswith("+")
        pieces.append("(.+)" if greedy_last else "([^/]+)")
        labels.append(name.rstrip("+"))
        pos = m.end()
    tail = path[pos:]
    pieces.append(re.escape(tail))
    greedy_last = greedy_last and not tail
    if path == "/":
        pieces = [""]
    regex = "".join(pieces) + ("" if greedy_last else "/?")
    literal_segments = sum(1 for seg in path.split("/") if seg and "{" not in seg)
    return re.compile(regex), tuple(labels), literal_segments


def _query_literals(query: str) -> tuple[tuple[str, str | None], ...]:
    literals: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        literals.append((key, value if eq and "{" not in value else None))
    return tuple(literals)


def _compile_template(op: OperationModel) -> _Template:
    uri = op.http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    regex, labels, literal_segments = _path_regex(path)
    shape = op.input_shape
    required_query: list[str] = []
    required_headers: list[str] = []
    optional_query: set[str] = set()
    if shape is not None:
        required = set(shape.required_members)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            # An empty list is sent as nothing at all: only scalars can be demanded.
            demand = name in required and member.type_name not in ("list", "map")
            if location == "querystring" and member.type_name != "map":
                optional_query.add(wire)
                if demand:
                    required_query.append(wire)
            elif location == "header" and demand:
                required_headers.append(wire.lower())
    literals = _query_literals(query)
    rank = (literal_segments, len(literals), len(required_query), len(required_headers), not op.deprecated)
    return _Template(
        op.name, regex, labels, literals, tuple(required_query), tuple(required_headers), frozenset(optional_query), rank
    )


@lru_cache(maxsize=None)
def _rest_table(name: str) -> dict[str, tuple[_Template, ...]]:
    """Per HTTP method, the service's templates, most specific first (built once)."""
    model = service_model(name)
    by_method: dict[str, list[_Template]] = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        by_method.setdefault(op.http.get("method", "POST").upper(), []).append(_compile_template(op))
    return {m: tuple(sorted(ts, key=lambda t: t.rank, reverse=True)) for m, ts in by_method.items()}


def _best(
    templates: tuple[_Template, ...], path: str, query: Params, headers: Mapping[str, str]
) -> tuple[_Template, re.Match[str]] | None:
    """The most specific template that matches; query-key hints break exact ties."""
    found: list[tuple[_Template, re.Match[str]]] = []
    for template in templates:
        if found and template.rank < found[0][0].rank:
            break
        m = template.regex.fullmatch(path)
        if m is not None and template.accepts(query, headers):
            found.append((template, m))
    if len(found) > 1:
        return max(found, key=lambda tm: tm[0].hint(query))
    return found[0] if found else None


def _by_x_id(
    templates: tuple[_Template, ...], path: str, query: Params
) -> tuple[_Template, re.Match[str]] | None:
    """botocore names S3 operations in ``x-id=GetObject``: trust it when the path fits."""
    wanted = _first(query, "x-id")
    for template in templates:
        if template.operation == wanted:
            m = template.regex.fullmatch(path)
            return (template, m) if m is not None else None
    return None


def _find(templates: tuple[_Template, ...], path: str, ctx: _Ctx) -> tuple[_Template, re.Match[str]] | None:
    query = ctx.query
    found = _by_x_id(templates, path, query) if "x-id" in query else None
    return found or _best(templates, path, query, ctx.request.headers)


def _route_rest(svc: _ServiceIndex, ctx: _Ctx, protocol: str) -> Route:
    request = ctx.request
    path, bucket = _effective_path(svc.name, request)
    table = _rest_table(svc.name)
    templates = table.get(request.method.upper(), ())
    found = _find(templates, path, ctx)
    if found is None and bucket is not None:
        # A host prefix that is not a bucket (S3 Object Lambda's {RequestRoute}.).
        path, bucket = request.path or "/", None
        found = _find(templates, path, ctx)
    if found is None:
        raise _no_match(svc.name, table, request.method, path)
    template, match = found
    params = _decode_labels(template.labels, match.groups())
    if bucket is not None:
        params["Bucket"] = bucket
    return Route(svc.model, svc.operation(template.operation), protocol, params)


def _decode_labels(labels: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
    try:
        return {name: unquote(value, errors="strict") for name, value in zip(labels, values)}
    except UnicodeDecodeError:
        raise InvalidURI("Couldn't parse the specified URI.") from None


def _no_match(service: str, table: dict[str, tuple[_Template, ...]], method: str, path: str) -> AwsError:
    """405 when another method serves this path (S3's answer), else an unknown operation."""
    other = any(t.regex.fullmatch(path) for ts in table.values() for t in ts)
    if service == "s3":
        if other:
            kind = "SERVICE" if path == "/" else ("BUCKET" if path.count("/", 1) == 0 else "OBJECT")
            return MethodNotAllowed(
                "The specified method is not allowed against this resource.",
                fields={"Method": method[:20], "ResourceType": kind},
            )
        return InvalidURI("Couldn't parse the specified URI.")
    return UnknownOperation(f"No operation matches {method[:20]} {path[:200]}", status=404)


# ------------------------------------------------------ S3 virtual hosting


def _effective_path(service: str, request: HttpRequest) -> tuple[str, str | None]:
    """S3 virtual-hosted requests get their bucket moved from the Host into the path."""
    if service != "s3":
        return request.path or "/", None
    bucket = bucket_from_host(request.host)
    path = request.path or "/"
    if bucket is None:
        return path, None
    if not path.startswith("/"):
        path = "/" + path
    return "/" + quote(bucket, safe="") + path, bucket


def bucket_from_host(host: str) -> str | None:
    """The bucket of a virtual-hosted S3 Host header, None for path-style hosts.

    ``<bucket>.s3.<anything>``, ``<bucket>.s3-<region>.<anything>`` and
    ``<bucket>.localhost`` are virtual-hosted; an IP address, ``localhost``,
    ``s3.*`` and any other host are path-style.
    """
    host = host.lower().rstrip(".")
    if not host or host.startswith("[") or host == "localhost" or _is_ip(host):
        return None
    labels = host.split(".")
    for i in range(len(labels) - 1, 0, -1):
        if labels[i] == "s3" or labels[i].startswith("s3-"):
            return ".".join(labels[:i]) or None
    if labels[0] == "s3" or labels[0].startswith("s3-"):
        return None
    if labels[-1] == "localhost" and len(labels) > 1:
        return ".".join(labels[:-1]) or None
    return None


def _is_ip(host: str) -> bool:
    if not (host[0].isdigit() and host[-1].isdigit()):
        return False
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
