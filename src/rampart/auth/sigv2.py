"""S3's Signature Version 2: ``Authorization: AWS AKID:signature`` and ``?AWSAccessKeyId=&Signature=&Expires=``.

S3 still accepts SigV2, and clients still produce it: botocore's
``generate_presigned_url`` for S3 makes a SigV2 query-string URL unless the
client is configured with ``signature_version="s3v4"``, and so does
``aws s3 presign`` of AWS CLI v1. The signature is a base64 HMAC-SHA1 over
S3's string to sign (S3 API reference, "Signing and authenticating REST
requests")::

    VERB \\n Content-MD5 \\n Content-Type \\n Date-or-Expires \\n
    CanonicalizedAmzHeaders CanonicalizedResource

and is compared in constant time. A header-signed request must be within the
15-minute skew window of its Date (or x-amz-date); a query-signed one is good
until its Expires (seconds since the epoch) and answers AccessDenied
"Request has expired" after it. No payload hash is signed: SigV2 bodies are
protected only by an optional Content-MD5, which the S3 handlers check.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from rampart.auth.canonical import ESC, UTF8, percent_decode
from rampart.auth.failures import MAX_SKEW, Failures
from rampart.auth.sigv4 import Authenticated, SigningKeyRecord, _check_token
from rampart.aws.errors import AccessDenied, AwsError, SignatureDoesNotMatch
from rampart.gateway.http import HttpRequest
from rampart.protocol.rest_routes import bucket_from_host

__all__ = [
    "SIGNATURE_VERSION",
    "authenticate",
    "canonical_amz_headers",
    "canonical_resource",
    "request_string_to_sign",
    "sign",
    "string_to_sign",
]

# The s3:signatureversion value of a SigV2 request.
SIGNATURE_VERSION = "AWS"
_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_QUERY_REQUIRED = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
_NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"
_QUERY_KEYS = ("AWSAccessKeyId", "Signature")
_ISO = "%Y-%m-%dT%H:%M:%SZ"

# Query parameters that are part of the resource being signed (the S3 API
# reference's sub-resources and response overrides, and the later additions
# clients sign the same way); every other parameter is left out.
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "legal-hold",
        "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy",
        "replication", "requestPayment", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "response-content-language", "response-content-type", "response-expires",
        "restore", "retention", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website",
    }
) | frozenset(
    # Sub-resources added to S3 after SigV2's list was fixed: clients do not sign them, but each picks a
    # different operation (a presigned DeleteBucket URL plus ``?publicAccessBlock`` would delete Block
    # Public Access), so they are signed here too and an unsigned one fails closed (SignatureDoesNotMatch).
    {
        "abac", "annotation", "attributes", "encryption", "intelligent-tiering", "metadataAnnotationTable",
        "metadataConfiguration", "metadataInventoryTable", "metadataJournalTable", "metadataTable",
        "ownershipControls", "policyStatus", "publicAccessBlock", "renameObject", "session",
    }
)


# --- what SigV2 signs (pure) -----------------------------------------------------------


def canonical_amz_headers(headers: Mapping[str, str]) -> str:
    """``name:value\\n`` for every x-amz-* header, lower-case names sorted, values unfolded and trimmed."""
    amz = sorted((name.lower(), value) for name, value in headers.items() if name.lower().startswith("x-amz-"))
    return "".join(f"{name}:{' '.join(value.split())}\n" for name, value in amz)


def canonical_resource(raw_path: str, raw_query: str, bucket_in_host: str | None) -> str:
    """The path as sent (bucket first, also when it came in the Host) and the signed sub-resources.

    Sub-resources are sorted by name; their values are percent-decoded; a
    parameter sent without ``=`` is signed without it (``?acl``).
    """
    path = raw_path or "/"
    if bucket_in_host is not None:
        path = f"/{bucket_in_host}{path if path.startswith('/') else '/' + path}"
    signed = []
    for piece in raw_query.split("&") if raw_query else ():
        name, eq, value = piece.partition("=")
        if name in SUBRESOURCES:
            signed.append((name, f"{name}={unquote(value)}" if eq else name))
    if not signed:
        return path
    signed.sort(key=lambda item: item[0])
    return path + "?" + "&".join(text for _, text in signed)


def string_to_sign(method: str, content_md5: str, content_type: str, date: str, amz_headers: str,
                   resource: str) -> str:
    """S3's SigV2 string to sign; ``date`` is the Date header, empty under x-amz-date, or Expires."""
    return f"{method.upper()}\n{content_md5}\n{content_type}\n{date}\n{amz_headers}{resource}"


def sign(secret: str, text: str) -> str:
    """base64(HMAC-SHA1(secret, text)), SigV2's signature."""
    return base64.b64encode(hmac.digest(secret.encode(UTF8, ESC), text.encode(UTF8, ESC), "sha1")).decode()


# --- reading the request ---------------------------------------------------------------


def _raw_pairs(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]


def _decoded_query(query: str) -> dict[str, str]:
    """Query parameters decoded; the first of a repeated name counts."""
    found: dict[str, str] = {}
    for key, value in _raw_pairs(query):
        found.setdefault(percent_decode(key).decode(UTF8, "replace"), percent_decode(value).decode(UTF8, ESC))
    return found


def _signed_headers(request: HttpRequest, query: Mapping[str, str], presigned: bool) -> dict[str, str]:
    """The headers the signature covers; a presigned URL may carry them as query parameters
    (botocore moves x-amz-*, Content-Type and Content-MD5 there)."""
    headers = dict(request.headers)
    if presigned:
        for key, value in query.items():
            low = key.lower()
            if low.startswith("x-amz-") or (low in ("content-type", "content-md5") and low not in headers):
                headers[low] = value
    return headers


# --- verification ----------------------------------------------------------------------


def authenticate(
    request: HttpRequest, lookup: Callable[[str], SigningKeyRecord | None], *, now: dt.datetime
) -> Authenticated:
    """Verify a SigV2-signed S3 request; raises S3's AwsError on any failure."""
    header = request.headers.get("authorization")
    query = _decoded_query(request.query) if request.query else {}
    v2_query = any(k in query for k in _QUERY_KEYS)
    if (header is not None and (v2_query or "X-Amz-Algorithm" in query)) or (v2_query and "X-Amz-Algorithm" in query):
        raise Failures(True).two_mechanisms()
    if header is not None:
        return _header_auth(request, header, query, lookup, now)
    return _query_auth(request, query, lookup, now)


def _header_auth(request: HttpRequest, header: str, query: Mapping[str, str],
                 lookup: Callable[[str], SigningKeyRecord | None], now: dt.datetime) -> Authenticated:
    fail = Failures(True)
    akid, colon, signature = header[4:].strip().partition(":")
    if not colon or not akid or not signature:
        raise AwsError("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature", code="InvalidArgument",
                       fields={"ArgumentName": "Authorization", "ArgumentValue": header})
    amz_date = request.headers.get("x-amz-date")
    shown = amz_date if amz_date is not None else request.headers.get("date")
    signed_at = _http_date(shown)
    if signed_at is None:
        raise AccessDenied(_NO_DATE)
    if signed_at - now > MAX_SKEW:
        raise fail.not_yet_valid(shown or "", now)
    if now - signed_at > MAX_SKEW:
        raise fail.expired(shown or "", now)
    headers = _signed_headers(request, query, presigned=False)
    record = _verified(request, headers, "" if amz_date is not None else (shown or ""), akid, signature, lookup, fail)
    return _result(record, request, headers, signed_at, presigned=False)


def _query_auth(request: HttpRequest, query: Mapping[str, str],
                lookup: Callable[[str], SigningKeyRecord | None], now: dt.datetime) -> Authenticated:
    fail = Failures(True)
    fail.presigned = True
    akid, signature, expires = query.get("AWSAccessKeyId"), query.get("Signature"), query.get("Expires")
    if not akid or not signature or expires is None:
        raise AccessDenied(_QUERY_REQUIRED)
    if not (expires.strip().isascii() and expires.strip().isdigit()):  # isdigit alone passes "²", which int() refuses
        raise AccessDenied(f"Invalid date (should be seconds since epoch): {expires}")
    deadline = dt.datetime.fromtimestamp(min(int(expires), 253402300799), dt.UTC)
    if now > deadline:
        raise AccessDenied("Request has expired",
                           fields={"Expires": deadline.strftime(_ISO), "ServerTime": now.strftime(_ISO)})
    headers = _signed_headers(request, query, presigned=True)
    record = _verified(request, headers, expires.strip(), akid, signature, lookup, fail)
    return _result(record, request, headers, None, presigned=True)


def request_string_to_sign(request: HttpRequest, headers: Mapping[str, str], date: str,
                           resource: str | None = None) -> str:
    """The string to sign of a request, given the headers it signed (lower-case names) and the date slot."""
    return string_to_sign(
        request.method,
        headers.get("content-md5", "").strip(),
        headers.get("content-type", "").strip(),
        date,
        canonical_amz_headers(headers),
        resource if resource is not None else canonical_resource(request.path, request.query,
                                                                 bucket_from_host(request.host)),
    )


def _resources(request: HttpRequest) -> list[str]:
    """The canonical resources a client may have signed, the usual one first.

    A path-style request for a bucket itself (``/bucket``) is the resource
    ``/bucket/`` to S3 (the bucket with an empty key), which is what botocore
    signs; the API reference's rule read literally gives ``/bucket``.
    """
    bucket = bucket_from_host(request.host)
    literal = canonical_resource(request.path, request.query, bucket)
    path = request.path
    if bucket is None and len(path) > 1 and path.startswith("/") and "/" not in path[1:]:
        return [canonical_resource(path + "/", request.query, None), literal]
    return [literal]


def _verified(request: HttpRequest, headers: Mapping[str, str], date: str, akid: str, signature: str,
              lookup: Callable[[str], SigningKeyRecord | None], fail: Failures) -> SigningKeyRecord:
    """The key record, once the signature matches (constant time) and its session token holds.

    Every accepted form is compared (no early exit). With x-amz-date, AWS's
    rule is an empty date slot and x-amz-date among the amz headers; the API
    reference's own DELETE example instead signs x-amz-date's value in the
    date slot, alone: both forms are accepted.
    """
    record = lookup(akid)
    if record is None:
        raise fail.unknown_key(akid)
    forms = [(headers, date)]
    amz_date = headers.get("x-amz-date")
    if amz_date is not None and not fail.presigned:
        forms.append(({k: v for k, v in headers.items() if k != "x-amz-date"}, amz_date.strip()))
    texts = [request_string_to_sign(request, h, d, r) for r in _resources(request) for h, d in forms]
    given = signature.encode(UTF8, ESC)
    matches = [hmac.compare_digest(sign(record.secret_access_key, text).encode(), given) for text in texts]
    if not any(matches):
        raise _mismatch(akid, signature, texts[0])
    _check_token(record, headers.get("x-amz-security-token"), fail)
    return record


def _mismatch(akid: str, signature: str, text: str) -> AwsError:
    """S3's SignatureDoesNotMatch for SigV2: the string it signed, as text and bytes."""
    spaced = " ".join(f"{b:02x}" for b in text.encode(UTF8, ESC))
    return SignatureDoesNotMatch(_SIGNATURE_MESSAGE, fields={
        "AWSAccessKeyId": akid, "StringToSign": text, "SignatureProvided": signature, "StringToSignBytes": spaced,
    })


def _result(record: SigningKeyRecord, request: HttpRequest, headers: Mapping[str, str],
            signed_at: dt.datetime | None, *, presigned: bool) -> Authenticated:
    token = headers.get("x-amz-security-token")
    return Authenticated(record, None, "s3", signed_at, presigned, request.body, token,
                         signature_version=SIGNATURE_VERSION)


def _http_date(value: str | None) -> dt.datetime | None:
    """An RFC 1123 date (or ISO 8601 basic, which x-amz-date may also be) as aware UTC; None when unreadable."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 16 and text[8:9] == "T" and text.endswith("Z"):
        try:
            return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
