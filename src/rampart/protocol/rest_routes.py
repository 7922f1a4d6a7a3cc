"""REST requests: which operation a method, path and query call, by the model's requestUri.

rest-json and rest-xml services (S3, Lambda, Route 53 ...) name the operation
only through the HTTP method and the model's ``requestUri`` template
(``/{Bucket}/{Key+}?uploads``). Each service's templates are compiled once
into anchored regexes, ranked most specific first, and matched against the
path; query literals, required query members and required headers then pick
among templates sharing a path. S3's virtual-hosted buckets are moved from the
Host header into the path first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from ipaddress import ip_address
from urllib.parse import quote, unquote

from rampart.aws.errors import AwsError, UnknownOperation
from rampart.aws.models import OperationModel, service_model
from rampart.gateway.http import HttpRequest

__all__ = ["InvalidURI", "MethodNotAllowed", "Params", "bucket_from_host", "match_rest"]

Params = Mapping[str, list[str]]


class MethodNotAllowed(AwsError):
    """S3: the path exists but not for this HTTP method."""

    code = "MethodNotAllowed"
    status = 405


class InvalidURI(AwsError):
    """S3: a path that cannot be decoded (broken percent-encoding, invalid UTF-8)."""

    code = "InvalidURI"
    status = 400


# ------------------------------------------------------ URI templates

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
    """``?uploads&list-type=2`` as (key, required value or None when any value will do)."""
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


@cache
def rest_table(name: str) -> dict[str, tuple[_Template, ...]]:
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
    values = query.get("x-id")
    wanted = values[0] if values else ""
    for template in templates:
        if template.operation == wanted:
            m = template.regex.fullmatch(path)
            return (template, m) if m is not None else None
    return None


def _find(
    templates: tuple[_Template, ...], path: str, query: Params, headers: Mapping[str, str]
) -> tuple[_Template, re.Match[str]] | None:
    found = _by_x_id(templates, path, query) if "x-id" in query else None
    return found or _best(templates, path, query, headers)


def match_rest(service: str, request: HttpRequest, query: Params) -> tuple[str, dict[str, str]]:
    """The operation a REST request calls and its decoded URI labels (S3: ``Bucket`` too).

    ``query`` is the request's decoded query string. Raises an AwsError when no
    operation's template matches: S3's MethodNotAllowed/InvalidURI, else an
    UnknownOperation with status 404.
    """
    path, bucket = _effective_path(service, request)
    table = rest_table(service)
    templates = table.get(request.method.upper(), ())
    found = _find(templates, path, query, request.headers)
    if found is None and bucket is not None:
        # A host prefix that is not a bucket (S3 Object Lambda's {RequestRoute}.).
        path, bucket = request.path or "/", None
        found = _find(templates, path, query, request.headers)
    if found is None:
        raise _no_match(service, table, request.method, path)
    template, match = found
    params = _decode_labels(template.labels, match.groups())
    if bucket is not None:
        params["Bucket"] = bucket
    return template.operation, params


def _decode_labels(labels: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
    """Percent-decoded label values; bytes that are not UTF-8 are S3's InvalidURI."""
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
