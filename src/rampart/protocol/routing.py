"""Which service and operation a request is for, and in which wire protocol.

AWS clients say what they call in several ways: the SigV4 credential scope
names the service (by its signing name), JSON services name the operation in
``X-Amz-Target``, Smithy RPCv2 CBOR in the path, query/EC2 services in the
``Action`` parameter, and REST services through the model's requestUri
templates (method + path + query literals, matched in ``rest_routes``).
``route`` reads them in that order and answers a ``Route``; anything it cannot
place becomes an AWS-style error.

Everything derived from the models (target prefixes, URI template regexes) is
built once per process and cached; a request only does dictionary lookups and
a few precompiled regex matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from urllib.parse import unquote_plus

from rampart.aws.errors import AwsError, UnknownOperation
from rampart.aws.models import (
    SUPPORTED_SERVICES,
    OperationModel,
    ServiceModel,
    service_model,
    wire_protocols,
)
from rampart.gateway.http import HttpRequest
from rampart.protocol.query import body_pairs
from rampart.protocol.rest_routes import (
    InvalidURI,
    MethodNotAllowed,
    Params,
    bucket_from_host,
    match_rest,
    rest_table,
)

__all__ = [
    "InvalidAction",
    "InvalidURI",
    "MethodNotAllowed",
    "MissingAction",
    "Route",
    "UnknownService",
    "bucket_from_host",
    "form_params",
    "parse_form",
    "route",
]

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


# ---------------------------------------------------------------------- route


@dataclass(slots=True)
class Route:
    """Where a request goes: service, operation, wire protocol and URI labels.

    A result: treat it as read-only (not frozen only because a frozen
    dataclass costs three times as much to build, on every request).

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

    The pairs come from ``query.body_pairs`` (memoized for the last body, which
    the codec reads next); this dict of them is memoized the same way, keyed on
    the identity of the body bytes (treat it as read-only). A body that is not
    valid UTF-8 is decoded with replacement characters here (the router only
    needs ``Action``); the codec rejects it.
    """
    global _form_cache
    body = request.body
    cached_body, cached = _form_cache
    if cached_body is body:
        return cached
    if not body:
        parsed: dict[str, list[str]] = {}
    else:
        pairs = body_pairs(body)
        parsed = _grouped(pairs) if pairs is not None else parse_form(body.decode("utf-8", "replace"))
    _form_cache = (body, parsed)
    return parsed


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        values = out.get(key)
        if values is None:
            out[key] = [value]
        else:
            values.append(value)
    return out


def parse_form(text: str) -> dict[str, list[str]]:
    """``parse_qs(text, keep_blank_values=True)`` without its overhead on plain pieces.

    Only pieces holding ``%`` or ``+`` are unquoted; a typical query-protocol
    body (``Action=GetCallerIdentity&Version=2011-06-15``) needs no decoding.
    """
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            key = unquote_plus(key, errors="replace")
            value = unquote_plus(value, errors="replace")
        pairs.append((key, value))
    return _grouped(pairs)


_last_query: tuple[str, dict[str, list[str]]] = ("", _EMPTY)


def _query_params(request: HttpRequest) -> dict[str, list[str]]:
    """The query string decoded, memoized for the last one seen (by identity; read-only)."""
    global _last_query
    query = request.query
    if not query:
        return _EMPTY
    cached_query, cached = _last_query
    if cached_query is query:
        return cached
    parsed = parse_form(query)
    _last_query = (query, parsed)
    return parsed


def route(request: HttpRequest) -> Route:
    """Find the service, operation and protocol of a request.

    Raises an AwsError (never anything else) when the request names no
    service or operation Rampart knows.
    """
    signing = _scope_service(request)
    if signing is not None:
        name = _indexes().by_signing.get(signing)
        if name is None:
            raise UnknownService(f"The service '{signing}' named in the credential scope is not served here.")
    else:
        name = _unsigned_service(request)
    if name == "s3" and request.path.startswith(S3_CONTROL_PATH):
        name = "s3control"  # S3 Control signs as "s3"; its paths are its own
    return _route_in_service(_service_index(name), request)


# ------------------------------------------------------- finding the service


_SCOPE_CACHE_SIZE = 4096
_scope_services: dict[str, str | None] = {}


def _scope_service(request: HttpRequest) -> str | None:
    """The signing name in the SigV4 credential scope, header or presigned query."""
    auth = request.headers.get("authorization")
    credential: str | None = None
    if auth:
        start = auth.find("Credential=")
        if start >= 0:
            end = auth.find(",", start)
            credential = auth[start + 11 : end if end >= 0 else len(auth)].strip()
    elif "X-Amz-Credential" in request.query:
        values = _query_params(request).get("X-Amz-Credential")
        credential = values[0] if values else None
    if not credential:
        return None
    try:
        return _scope_services[credential]
    except KeyError:
        pass
    parts = credential.split("/")
    service = parts[-2] if len(parts) >= 4 and parts[-1] in ("aws4_request", "aws4_request ") else None
    if len(_scope_services) >= _SCOPE_CACHE_SIZE:  # clients repeat their scope; junk cannot grow this
        _scope_services.clear()
    _scope_services[credential] = service
    return service


def _unsigned_service(request: HttpRequest) -> str:
    """The service of a request without credentials, from its other hints."""
    headers = request.headers
    indexes = _indexes()
    target = headers.get("x-amz-target")
    if target:
        prefix = target.rpartition(".")[0]
        return _known(indexes.by_target.get(prefix), f"target prefix '{prefix}'")
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        parts = request.path.split("/")
        name = parts[2] if len(parts) > 2 else ""
        return _known(indexes.by_target.get(name), f"service '{name}'")
    if headers.get("content-type", "").startswith(_JSON_TYPE):
        raise UnknownOperation("A JSON request must name its operation in X-Amz-Target.")
    params = _action_params(request)
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


S3_CONTROL_PATH = "/v20180820/"


@dataclass(slots=True)
class _ServiceIndex:
    """One service's model, its protocols and (lazily) its operations."""

    name: str
    model: ServiceModel
    protocols: frozenset[str]
    target_prefix: str
    op_names: frozenset[str]
    query_protocol: str | None  # query or ec2, whichever the service speaks
    rest_protocol: str | None  # rest-json or rest-xml
    ops: dict[str, OperationModel] = field(default_factory=dict)

    def operation(self, name: str) -> OperationModel:
        op = self.ops.get(name)
        if op is None:
            op = self.ops[name] = self.model.operation_model(name)
        return op


def warm_up() -> None:
    """Build every routing index now (at server start) rather than on first requests."""
    _indexes()
    for name in SUPPORTED_SERVICES:
        if _service_index(name).rest_protocol:
            rest_table(name)


@cache
def _service_index(name: str) -> _ServiceIndex:
    model = service_model(name)
    protocols = frozenset(wire_protocols(model))
    return _ServiceIndex(
        name=name,
        model=model,
        protocols=protocols,
        target_prefix=model.metadata.get("targetPrefix", ""),
        op_names=frozenset(model.operation_names),
        query_protocol=_first_spoken(protocols, _QUERY_PROTOCOLS),
        rest_protocol=_first_spoken(protocols, _REST_PROTOCOLS),
    )


def _first_spoken(protocols: frozenset[str], candidates: tuple[str, ...]) -> str | None:
    """The first of ``candidates`` the service speaks."""
    return next((p for p in candidates if p in protocols), None)


def _route_in_service(svc: _ServiceIndex, request: HttpRequest) -> Route:
    """Pick the protocol the request uses among the service's, then the operation."""
    headers = request.headers
    protocols = svc.protocols
    if "smithy-rpc-v2-cbor" in protocols and (
        headers.get("smithy-protocol") == "rpc-v2-cbor" or request.path.startswith("/service/")
    ):
        return _route_cbor(svc, request)
    if "json" in protocols and (
        "x-amz-target" in headers
        or headers.get("content-type", "").startswith(_JSON_TYPE)
        or not (svc.query_protocol or svc.rest_protocol)
    ):
        return _route_json(svc, request)
    query_protocol = svc.query_protocol
    if query_protocol is not None:
        return _route_query(svc, request, query_protocol)
    rest_protocol = svc.rest_protocol
    if rest_protocol is not None:
        return _route_rest(svc, request, rest_protocol)
    raise UnknownOperation(f"Service {svc.name} cannot be called with this request.")


def _route_json(svc: _ServiceIndex, request: HttpRequest) -> Route:
    target = request.headers.get("x-amz-target", "")
    prefix, _, name = target.rpartition(".")
    if not target or prefix != svc.target_prefix or name not in svc.op_names:
        raise UnknownOperation(f"Unknown operation {target or '(no X-Amz-Target)'}", code="UnknownOperationException")
    return Route(svc.model, svc.operation(name), "json", {})


def _route_cbor(svc: _ServiceIndex, request: HttpRequest) -> Route:
    parts = request.path.split("/")
    if len(parts) != 5 or parts[1] != "service" or parts[3] != "operation" or parts[2] != svc.target_prefix:
        raise UnknownOperation(f"No operation matches the path {request.path[:200]}")
    name = parts[4]
    if name not in svc.op_names:
        raise UnknownOperation(f"Unknown operation {name[:200]}")
    return Route(svc.model, svc.operation(name), "smithy-rpc-v2-cbor", {})


def _action_params(request: HttpRequest) -> Params | None:
    """Where a query/EC2 request carries Action: the query string, else a form body."""
    if "Action=" in request.query:
        return _query_params(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPE) or (request.method == "POST" and not content_type and request.body):
        return form_params(request)
    return None


def _route_query(svc: _ServiceIndex, request: HttpRequest, protocol: str) -> Route:
    params = _action_params(request)
    action = _first(params, "Action") if params is not None else ""
    if not action:
        raise MissingAction("The request must contain the parameter Action.")
    if action not in svc.op_names:
        version = _first(params, "Version") if params is not None else ""
        raise InvalidAction(
            f"Could not find operation {action[:200]} for version {version[:50] or 'NO_VERSION_SPECIFIED'}"
        )
    return Route(svc.model, svc.operation(action), protocol, {}, params)


def _route_rest(svc: _ServiceIndex, request: HttpRequest, protocol: str) -> Route:
    operation, params = match_rest(svc.name, request, _query_params(request))
    return Route(svc.model, svc.operation(operation), protocol, params)
