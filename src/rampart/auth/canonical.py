"""The pieces of SigV4's canonical request that come straight from the wire.

Clients escape paths and query strings in different ways (botocore, the Java
SDK, curl with hand-built URLs); the signature covers AWS's normalised form,
so each piece is decoded and re-encoded here exactly as AWS does before the
verifier in ``sigv4`` assembles and signs the canonical request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes

from botocore.utils import normalize_url_path

from rampart.gateway.http import HttpRequest

__all__ = [
    "ESC",
    "UTF8",
    "canonical_headers",
    "canonical_query_string",
    "canonical_uri",
    "percent_decode",
    "query_pairs",
]

_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")
_PLAIN_QUERY_PART = re.compile(r"[A-Za-z0-9\-._~]*")
UTF8, ESC = "utf-8", "surrogateescape"  # header text may carry undecodable bytes


def percent_decode(text: str) -> bytes:
    """Percent-decode to bytes; text with undecodable (surrogate-escaped) bytes is kept."""
    return unquote_to_bytes(text.encode(UTF8, ESC))


def canonical_uri(raw_path: str, s3_style: bool) -> str:
    """The canonical URI: S3 encodes once and keeps the path as is; the others
    normalize it (dot segments, repeated slashes) and encode it again."""
    if raw_path in ("", "/"):
        return "/"
    if s3_style:
        if _PLAIN_PATH.fullmatch(raw_path):
            return raw_path
        return quote(percent_decode(raw_path), safe="/~")
    return quote(normalize_url_path(raw_path).encode(UTF8, ESC), safe="/~")


def _encode_query_part(part: str) -> str:
    """Decode then re-encode: clients differ in what they escape, the signature does not."""
    if _PLAIN_QUERY_PART.fullmatch(part):
        return part
    return quote(percent_decode(part), safe="-_.~")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Raw query split into (key, value) pairs, still encoded, blanks kept."""
    if not raw_query:
        return []
    pairs = []
    for piece in raw_query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((key, value))
    return pairs


def canonical_query_string(pairs: list[tuple[str, str]], skip: str | None = None) -> str:
    """Keys and values re-encoded the AWS way, sorted by key then value."""
    encoded = sorted(
        (_encode_query_part(k), _encode_query_part(v)) for k, v in pairs if skip is None or k != skip
    )
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_headers(
    request: HttpRequest, names: Sequence[str], lowered: Sequence[str] | None = None
) -> str:
    """One line per signed header, in the signed order; runs of whitespace in values fold to one space.

    ``lowered`` (the names in lower case, when the caller has them already)
    saves lower-casing each name again.
    """
    headers = request.headers
    if lowered is None:
        lowered = [name.lower() for name in names]
    return "".join(
        [f"{name}:{' '.join(headers.get(low, '').split())}\n" for name, low in zip(names, lowered)]
    )
