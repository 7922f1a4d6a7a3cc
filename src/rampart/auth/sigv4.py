"""SigV4 request authentication: the Authorization header and presigned URLs.

Every request Rampart serves is verified exactly as AWS does: the canonical
request is rebuilt from the bytes on the wire, signed with a key derived from
the caller's secret, and compared in constant time. Errors carry AWS's own
codes and messages (S3's spelling or the other services', built in
``failures``), so SDKs react to them as they would against AWS (clock-skew
retries, credential refresh). The wire-level canonicalization lives in
``canonical``; this module parses the claims, checks them and signs.

The verify path is kept lean on purpose (it runs on every call): no botocore
request objects, one-shot HMACs, derived signing keys cached in an LRU.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache

from rampart.auth import chunked
from rampart.auth.canonical import (
    ESC,
    UTF8,
    canonical_headers,
    canonical_query_string,
    canonical_uri,
    percent_decode,
    query_pairs,
)
from rampart.auth.failures import MAX_SKEW, Failures
from rampart.gateway.http import HttpRequest

__all__ = [
    "ALGORITHM",
    "Authenticated",
    "SigningKeyRecord",
    "authenticate",
    "canonical_query_string",
    "canonical_uri",
    "signing_key",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_UNSUPPORTED_STREAMING = frozenset(
    {"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"}
)
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_DIGITS = re.compile(r"-?[0-9]{1,12}")
_ISO_BASIC = "%Y%m%dT%H%M%SZ"
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """What the credential store returns for an access key id.

    ``secret_access_key`` is plaintext, held in memory only and never logged;
    ``principal`` is opaque here and passed through to the caller.
    ``session_token`` is set for temporary (ASIA...) credentials: the request's
    X-Amz-Security-Token must then equal it.
    """

    access_key_id: str
    secret_access_key: str
    account_id: str
    principal: object
    session_token: str | None = None

    def __repr__(self) -> str:  # never show the secret, even in tracebacks
        return f"SigningKeyRecord(access_key_id={self.access_key_id!r}, account_id={self.account_id!r})"


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who signed the request (``key`` None: anonymous) and the payload to parse.

    ``body`` is the payload after aws-chunked decoding (the request body
    otherwise); ``trailers`` are aws-chunked trailing headers (checksums),
    lower-case names, unverified.
    """

    key: SigningKeyRecord | None
    region: str | None
    service: str | None
    signed_at: dt.datetime | None
    presigned: bool
    body: bytes
    session_token: str | None
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class _Signed:
    """The signature's claims, from the Authorization header or the presigned query."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    presigned: bool
    expires: int | None
    security_token: str | None
    query_pairs: list[tuple[str, str]]

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


# --- derived keys -----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _derived_key(access_key_id: str, secret: str, date: str, region: str, service: str) -> bytes:
    """Cached per (key id, date, region, service); the secret is part of the key so a
    rotated secret can never hit a stale entry."""
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(UTF8, ESC), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(UTF8, ESC), "sha256")
    return key


def signing_key(record: SigningKeyRecord, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for a credential scope (kSigning)."""
    return _derived_key(record.access_key_id, record.secret_access_key, date, region, service)


# --- canonical request ------------------------------------------------------------


def canonical_request(
    request: HttpRequest, signed: _Signed, payload_hash: str, s3_style: bool
) -> str:
    """The SigV4 canonical request, as the client must have built it."""
    skip = "X-Amz-Signature" if signed.presigned else None
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.path, s3_style),
            canonical_query_string(signed.query_pairs, skip),
            canonical_headers(request, signed.signed_headers),
            ";".join(signed.signed_headers),
            payload_hash,
        )
    )


def string_to_sign(signed: _Signed, canonical: str) -> str:
    """The SigV4 string to sign."""
    digest = hashlib.sha256(canonical.encode(UTF8, ESC)).hexdigest()
    return f"{ALGORITHM}\n{signed.amz_date}\n{signed.scope}\n{digest}"


# --- parsing the claims -----------------------------------------------------------


def _header_params(value: str, fail: Failures) -> tuple[str, dict[str, str]]:
    algorithm, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    if not algorithm.startswith("AWS4"):  # Basic, Bearer, ...: nothing of SigV4 to parse
        return algorithm, params
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, val = part.partition("=")
        if not eq:
            raise fail.missing_equal_sign(part, value)
        params[key.strip()] = val.strip()
    return algorithm, params


def _amz_date_of_headers(request: HttpRequest) -> str | None:
    """x-amz-date, else the Date header converted to ISO 8601 basic format."""
    amz = request.headers.get("x-amz-date")
    if amz is not None:
        return amz.strip()
    date = request.headers.get("date")
    if date is None:
        return None
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return date.strip()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).strftime(_ISO_BASIC)


def _parse_header_auth(request: HttpRequest, value: str, fail: Failures) -> _Signed:
    algorithm, params = _header_params(value, fail)
    amz_date = _amz_date_of_headers(request)
    missing = [p for p in ("Credential", "Signature", "SignedHeaders") if p not in params]
    if missing or amz_date is None:
        raise fail.header_incomplete(missing, amz_date is None, value)
    if algorithm != ALGORITHM:
        raise fail.unsupported_algorithm(algorithm, value)
    return _claims(
        fail,
        credential=params["Credential"],
        signed_headers=params["SignedHeaders"],
        signature=params["Signature"],
        amz_date=amz_date,
        expires=None,
        security_token=request.headers.get("x-amz-security-token"),
        query_pairs=query_pairs(request.query),
        presigned=False,
    )


def _parse_presigned(request: HttpRequest, fail: Failures) -> _Signed:
    pairs = query_pairs(request.query)
    params = {percent_decode(k).decode("utf-8", "replace"): v for k, v in pairs}
    decoded = {k: percent_decode(v).decode("utf-8", "replace") for k, v in params.items()}
    missing = [p for p in _PRESIGN_PARAMS if not decoded.get(p)]
    if fail.s3_style and "X-Amz-Expires" not in decoded:
        missing.append("X-Amz-Expires")
    if missing:
        raise fail.query_incomplete(missing)
    if decoded["X-Amz-Algorithm"] != ALGORITHM:
        raise fail.unsupported_algorithm(decoded["X-Amz-Algorithm"], None)
    return _claims(
        fail,
        credential=decoded["X-Amz-Credential"],
        signed_headers=decoded["X-Amz-SignedHeaders"],
        signature=decoded["X-Amz-Signature"],
        amz_date=decoded["X-Amz-Date"],
        expires=_expires(decoded.get("X-Amz-Expires"), fail),
        security_token=decoded.get("X-Amz-Security-Token"),
        query_pairs=pairs,
        presigned=True,
    )


def _expires(value: str | None, fail: Failures) -> int | None:
    if value is None:
        return None
    if not _DIGITS.fullmatch(value.strip()):
        raise fail.bad_expires("X-Amz-Expires should be a number")
    seconds = int(value)
    if seconds < 0:
        raise fail.bad_expires("X-Amz-Expires must be non-negative")
    if seconds > MAX_PRESIGN_SECONDS:
        raise fail.bad_expires(
            "X-Amz-Expires must be less than a week (in seconds); that is, "
            f"the given X-Amz-Expires must be less than {MAX_PRESIGN_SECONDS} seconds"
        )
    return seconds


def _claims(fail: Failures, *, credential: str, signed_headers: str, **rest: object) -> _Signed:
    """Split the credential scope; its shape is checked before any key lookup."""
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise fail.bad_credential(credential)
    akid, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise fail.bad_terminator(terminator, credential)
    names = [n.strip() for n in signed_headers.split(";") if n.strip()]
    return _Signed(
        access_key_id=akid,
        date=date,
        region=region,
        service=service,
        signed_headers=names,
        **rest,  # type: ignore[arg-type]
    )


# --- checks -----------------------------------------------------------------------


def _signed_at(signed: _Signed, fail: Failures) -> dt.datetime:
    if not _AMZ_DATE.fullmatch(signed.amz_date):
        raise fail.bad_date(signed.amz_date)
    d = signed.amz_date
    try:  # by hand: strptime is the slowest step of the whole verify path
        moment = dt.datetime(
            int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]), tzinfo=dt.timezone.utc
        )
    except ValueError:
        raise fail.bad_date(d) from None
    if signed.date != signed.amz_date[:8]:
        raise fail.scope_date_mismatch(signed.date, signed.amz_date)
    return moment


def _check_time(signed: _Signed, signed_at: dt.datetime, now: dt.datetime, fail: Failures) -> None:
    """The 15-minute skew window; a presigned URL also lives at most X-Amz-Expires."""
    if signed_at - now > MAX_SKEW:
        raise fail.not_yet_valid(signed.amz_date, now)
    if signed.presigned and signed.expires is not None:
        window = dt.timedelta(seconds=signed.expires)
        if not fail.s3_style:  # the other services never honour more than the skew window
            window = min(window, MAX_SKEW)
        if now - signed_at > window:
            raise fail.presign_expired(signed.amz_date, signed.expires, signed_at, now, window)
        return
    if now - signed_at > MAX_SKEW:
        raise fail.expired(signed.amz_date, now)


def _check_signed_headers(request: HttpRequest, signed: _Signed, fail: Failures) -> None:
    lowered = {n.lower() for n in signed.signed_headers}
    if "host" not in lowered and ":authority" not in lowered:
        raise fail.host_not_signed()
    if fail.s3_style and not signed.presigned:
        unsigned = sorted(h for h in request.headers if h.startswith("x-amz-") and h not in lowered)
        if unsigned:
            raise fail.headers_not_signed(unsigned)


def _declared_payload_hash(request: HttpRequest, signed: _Signed, fail: Failures) -> str | None:
    """The payload hash that went into the signature (what the client claims).

    None: no claim, the services that do not require x-amz-content-sha256 sign the body's hash.
    """
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None and signed.presigned:
        declared = dict(signed.query_pairs).get("X-Amz-Content-Sha256")
        if declared is None and fail.s3_style:
            return UNSIGNED_PAYLOAD
    if declared is None:
        if fail.s3_style:
            raise fail.missing_content_sha256()
        return None
    declared = declared.strip()
    if declared in (UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER):
        return declared
    if declared in _UNSUPPORTED_STREAMING or not _HEX64.fullmatch(declared):
        raise fail.invalid_content_sha256(declared)
    return declared


def _check_token(key: SigningKeyRecord, given: str | None, fail: Failures) -> None:
    """Temporary credentials must present their session token; long-term ones none."""
    expected = key.session_token
    if expected is None and given is None:
        return
    if expected is None or given is None or not hmac.compare_digest(expected.encode(), given.encode()):
        raise fail.bad_token()


def _decode_payload(
    request: HttpRequest, signed: _Signed, declared: str, key: bytes, fail: Failures
) -> chunked.ChunkedPayload:
    """The body the handler sees: verified against the declared hash or chunk signatures."""
    if declared == UNSIGNED_PAYLOAD:
        return chunked.ChunkedPayload(request.body)
    if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        signer = chunked.ChunkSigner(key, signed.amz_date, signed.scope, signed.signature)
        payload = chunked.decode_chunked(request.body, signer)
    elif declared == STREAMING_UNSIGNED_TRAILER:
        payload = chunked.decode_chunked(request.body, None)
    else:
        actual = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(actual, declared):
            raise fail.content_sha256_mismatch(declared, actual)
        return chunked.ChunkedPayload(request.body)
    _check_decoded_length(request, payload, fail)
    return payload


def _check_decoded_length(request: HttpRequest, payload: chunked.ChunkedPayload, fail: Failures) -> None:
    declared = request.headers.get("x-amz-decoded-content-length")
    if declared is None:
        if fail.s3_style:
            raise fail.missing_decoded_length()
        return
    if not _DIGITS.fullmatch(declared.strip()) or int(declared) != len(payload.body):
        raise chunked.incomplete_body(
            "You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header"
        )


# --- the entry point --------------------------------------------------------------


def _claims_of(request: HttpRequest, fail: Failures) -> _Signed | None:
    header = request.headers.get("authorization")
    presigned = "X-Amz-Algorithm" in request.query and any(
        k == "X-Amz-Algorithm" for k, _ in query_pairs(request.query)
    )
    if header is not None and presigned and fail.s3_style:
        raise fail.two_mechanisms()
    if header is not None:
        return _parse_header_auth(request, header, fail)
    if presigned:
        fail.presigned = True
        return _parse_presigned(request, fail)
    return None


def authenticate(
    request: HttpRequest,
    lookup: Callable[[str], SigningKeyRecord | None],
    *,
    now: dt.datetime,
    s3_style: bool,
    allow_anonymous: bool,
) -> Authenticated:
    """Verify a request's SigV4 signature (header or presigned query) and decode its payload.

    ``lookup`` maps an access key id to its record (None: unknown key).
    ``s3_style`` selects S3's error codes and canonicalization; with
    ``allow_anonymous`` a request carrying no authentication at all passes as
    anonymous (``key`` None). Raises an AwsError subclass on any failure.
    """
    fail = Failures(s3_style)
    signed = _claims_of(request, fail)
    if signed is None:
        if not allow_anonymous:
            raise fail.missing_authentication()
        return Authenticated(None, None, None, None, False, request.body, None)
    signed_at = _signed_at(signed, fail)
    _check_time(signed, signed_at, now, fail)
    _check_signed_headers(request, signed, fail)
    record = lookup(signed.access_key_id)
    if record is None:
        raise fail.unknown_key(signed.access_key_id)
    declared = _declared_payload_hash(request, signed, fail)
    body_hash = declared if declared is not None else hashlib.sha256(request.body).hexdigest()
    canonical = canonical_request(request, signed, body_hash, s3_style)
    to_sign = string_to_sign(signed, canonical)
    key = signing_key(record, signed.date, signed.region, signed.service)
    expected = hmac.digest(key, to_sign.encode(UTF8, ESC), "sha256").hex()
    if not hmac.compare_digest(expected, signed.signature):
        raise fail.signature_mismatch(signed.access_key_id, signed.signature, canonical, to_sign)
    _check_token(record, signed.security_token, fail)
    if declared is None:  # the body's own hash was signed: nothing more to check
        payload = chunked.ChunkedPayload(request.body)
    else:
        payload = _decode_payload(request, signed, declared, key, fail)
    return Authenticated(
        key=record,
        region=signed.region,
        service=signed.service,
        signed_at=signed_at,
        presigned=signed.presigned,
        body=payload.body,
        session_token=signed.security_token,
        trailers=payload.trailers,
    )
