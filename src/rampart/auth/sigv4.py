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
from rampart.aws.errors import ExpiredToken
from rampart.clock import clock
from rampart.gateway.http import HttpRequest, SpooledBody

__all__ = [
    "ALGORITHM",
    "Authenticated",
    "SigningKeyRecord",
    "authenticate",
    "canonical_query_string",
    "canonical_uri",
    "signing_key",
    "verify_before_body",
]

ALGORITHM = "AWS4-HMAC-SHA256"
_ALGORITHM_LINE = ALGORITHM + "\n"
# A fresh SHA-256 state to copy: cheaper than asking OpenSSL for the algorithm on every hash.
_SHA256 = hashlib.sha256()
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
    X-Amz-Security-Token must then equal it, and ``expires_at`` (on the
    server's movable clock) bounds how long they authenticate.
    """

    access_key_id: str
    secret_access_key: str
    account_id: str
    principal: object
    session_token: str | None = None
    expires_at: dt.datetime | None = None

    def __repr__(self) -> str:  # never show the secret, even in tracebacks
        return f"SigningKeyRecord(access_key_id={self.access_key_id!r}, account_id={self.account_id!r})"


@dataclass(slots=True)
class Authenticated:
    """Who signed the request (``key`` None: anonymous) and the payload to parse.

    ``body`` is the payload after aws-chunked decoding (the request body
    otherwise); ``trailers`` are aws-chunked trailing headers (checksums),
    lower-case names, unverified. A result: treat it as read-only (not
    frozen only because frozen dataclasses cost three times as much to build,
    on every request).
    """

    key: SigningKeyRecord | None
    region: str | None
    service: str | None
    signed_at: dt.datetime | None
    presigned: bool
    body: bytes | SpooledBody
    session_token: str | None
    trailers: tuple[tuple[str, str], ...] = ()
    signature_version: str = ALGORITHM  # "AWS" for S3's SigV2 (``sigv2``)


@dataclass(frozen=True, slots=True)
class SignedHeaderList:
    """A SignedHeaders value split once: the names as signed, their lower-case
    forms (header lookups), and the canonical request's ``;``-joined line."""

    names: tuple[str, ...]
    lowered: tuple[str, ...]
    lowered_set: frozenset[str]
    joined: str


@dataclass(slots=True)
class _Signed:
    """The signature's claims, from the Authorization header or the presigned query.

    ``scope`` is the credential scope (``date/region/service/aws4_request``).
    """

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: SignedHeaderList
    signature: str
    amz_date: str
    presigned: bool
    expires: int | None
    security_token: str | None
    query_pairs: list[tuple[str, str]]
    scope: str


# --- parse caches -----------------------------------------------------------------
# Pure functions of their input string, memoized because clients repeat the same
# credential scope, SignedHeaders list and (within a second) X-Amz-Date on every
# request. Only successful parses are kept, and each dict is emptied when it
# reaches _PARSE_CACHE_SIZE entries, so hostile input cannot grow memory. Nothing
# here caches a verification: every signature is recomputed and compared.

_PARSE_CACHE_SIZE = 4096
_scopes: dict[str, tuple[str, str, str, str, str]] = {}
_header_lists: dict[str, SignedHeaderList] = {}
_moments: dict[str, dt.datetime] = {}


def _remember(cache: dict[str, object], key: str, value: object) -> None:
    if len(cache) >= _PARSE_CACHE_SIZE:
        cache.clear()
    cache[key] = value


def signed_header_list(value: str) -> SignedHeaderList:
    """A SignedHeaders value (``host;x-amz-date``) split; blank names dropped, spaces trimmed."""
    found = _header_lists.get(value)
    if found is None:
        names = tuple(n.strip() for n in value.split(";") if n.strip())
        lowered = tuple(n.lower() for n in names)
        found = SignedHeaderList(names, lowered, frozenset(lowered), ";".join(names))
        _remember(_header_lists, value, found)  # type: ignore[arg-type]
    return found


# --- derived keys -----------------------------------------------------------------


class _SigningHmac:
    """HMAC-SHA256 under one signing key, with the padded key blocks hashed once.

    RFC 2104 by hand: ``H(K^opad || H(K^ipad || m))``. Hashing the two key
    blocks once per derived key, then copying the hash states, costs a third
    of a one-shot ``hmac.digest`` (which sets up a new HMAC context per call).
    """

    __slots__ = ("_inner", "_outer", "key")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # a SHA-256 block; derived keys are 32 bytes
        self.key = key
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, message: bytes) -> str:
        """HMAC-SHA256(key, message) in lower-case hex."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@lru_cache(maxsize=4096)
def _derived_key(access_key_id: str, secret: str, date: str, region: str, service: str) -> _SigningHmac:
    """Cached per (key id, date, region, service); the secret is part of the key so a
    rotated secret can never hit a stale entry."""
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(UTF8, ESC), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(UTF8, ESC), "sha256")
    return _SigningHmac(key)


def signing_key(record: SigningKeyRecord, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for a credential scope (kSigning)."""
    return _derived_key(record.access_key_id, record.secret_access_key, date, region, service).key


# --- canonical request ------------------------------------------------------------


def canonical_request(
    request: HttpRequest, signed: _Signed, payload_hash: str, s3_style: bool
) -> str:
    """The SigV4 canonical request, as the client must have built it."""
    pairs = signed.query_pairs
    headers = signed.signed_headers
    path = request.path
    return (
        f"{request.method.upper()}\n"
        f"{'/' if path == '/' else canonical_uri(path, s3_style)}\n"
        f"{canonical_query_string(pairs, 'X-Amz-Signature' if signed.presigned else None) if pairs else ''}\n"
        f"{canonical_headers(request, headers.names, headers.lowered)}\n"
        f"{headers.joined}\n"
        f"{payload_hash}"
    )


def string_to_sign(signed: _Signed, canonical: str) -> str:
    """The SigV4 string to sign."""
    digest = _sha256_hex(canonical.encode(UTF8, ESC))
    return f"{_ALGORITHM_LINE}{signed.amz_date}\n{signed.scope}\n{digest}"


# --- parsing the claims -----------------------------------------------------------


def _header_params(value: str, fail: Failures) -> tuple[str, dict[str, str]]:
    algorithm, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    if not algorithm.startswith("AWS4"):  # Basic, Bearer, ...: nothing of SigV4 to parse
        return algorithm, params
    for part in rest.split(","):
        key, eq, val = part.partition("=")
        if not eq:
            part = part.strip()
            if not part:
                continue
            raise fail.missing_equal_sign(part, value)
        params[key.strip()] = val.strip()
    return algorithm, params


def _sha256_hex(data: bytes) -> str:
    digest = _SHA256.copy()
    digest.update(data)
    return digest.hexdigest()


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
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime(_ISO_BASIC)


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
        params["Credential"],
        params["SignedHeaders"],
        params["Signature"],
        amz_date,
        None,
        request.headers.get("x-amz-security-token"),
        query_pairs(request.query) if request.query else [],
        False,
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
        decoded["X-Amz-Credential"],
        decoded["X-Amz-SignedHeaders"],
        decoded["X-Amz-Signature"],
        decoded["X-Amz-Date"],
        _expires(decoded.get("X-Amz-Expires"), fail),
        decoded.get("X-Amz-Security-Token"),
        pairs,
        True,
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


def _claims(
    fail: Failures,
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    expires: int | None,
    security_token: str | None,
    pairs: list[tuple[str, str]],
    presigned: bool,
) -> _Signed:
    """Split the credential scope; its shape is checked before any key lookup."""
    akid, date, region, service, scope = _credential_parts(credential, fail)
    headers = signed_header_list(signed_headers)
    return _Signed(
        akid, date, region, service, headers, signature, amz_date, presigned, expires, security_token, pairs, scope
    )


def _credential_parts(credential: str, fail: Failures) -> tuple[str, str, str, str, str]:
    """``AKID/date/region/service/aws4_request`` -> (akid, date, region, service, scope)."""
    parts = _scopes.get(credential)
    if parts is None:
        split = credential.split("/")
        if len(split) != 5 or not all(split):
            raise fail.bad_credential(credential)
        akid, date, region, service, terminator = split
        if terminator != "aws4_request":
            raise fail.bad_terminator(terminator, credential)
        parts = (akid, date, region, service, f"{date}/{region}/{service}/aws4_request")
        _remember(_scopes, credential, parts)  # type: ignore[arg-type]
    return parts


# --- checks -----------------------------------------------------------------------


def _signed_at(signed: _Signed, fail: Failures) -> dt.datetime:
    moment = _moments.get(signed.amz_date)
    if moment is None:
        moment = _parse_amz_date(signed.amz_date, fail)
        _remember(_moments, signed.amz_date, moment)  # type: ignore[arg-type]
    if signed.date != signed.amz_date[:8]:
        raise fail.scope_date_mismatch(signed.date, signed.amz_date)
    return moment


def _parse_amz_date(d: str, fail: Failures) -> dt.datetime:
    """``20240524T120000Z`` -> aware UTC datetime (by hand: strptime is slow)."""
    if not _AMZ_DATE.fullmatch(d):
        raise fail.bad_date(d)
    try:
        return dt.datetime(
            int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]), tzinfo=dt.UTC
        )
    except ValueError:
        raise fail.bad_date(d) from None


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
    lowered = signed.signed_headers.lowered_set
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
    """Temporary credentials must present their session token (unexpired); long-term ones none.

    Expiry reads the server's clock (which tests move), not the signing time:
    a session ends on the server's terms, whatever the client's clock says.
    """
    expected = key.session_token
    if expected is None and given is None:
        return
    if expected is None or given is None or not hmac.compare_digest(expected.encode(), given.encode(UTF8, ESC)):
        raise fail.bad_token()
    if key.expires_at is not None and clock.now() >= key.expires_at:
        expired = _expired_token(fail)
        expired.key = key
        raise expired


def _expired_token(fail: Failures) -> ExpiredToken:
    """AWS's ExpiredToken, in S3's wording or the other services'."""
    if fail.s3_style:
        return ExpiredToken("The provided token has expired.", status=400)
    return ExpiredToken("The security token included in the request is expired")


def _decode_payload(
    request: HttpRequest, signed: _Signed, declared: str, key: bytes, fail: Failures
) -> chunked.ChunkedPayload:
    """The body the handler sees: verified against the declared hash or chunk signatures."""
    if declared == UNSIGNED_PAYLOAD:
        return chunked.ChunkedPayload(request.body)  # type: ignore[arg-type]
    signer: chunked.ChunkSigner | None = None
    if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        signer = chunked.ChunkSigner(key, signed.amz_date, signed.scope, signed.signature)
    elif declared != STREAMING_UNSIGNED_TRAILER:
        actual = _body_sha256(request.body)
        if not hmac.compare_digest(actual, declared):
            raise fail.content_sha256_mismatch(declared, actual)
        return chunked.ChunkedPayload(request.body)  # type: ignore[arg-type]
    if isinstance(request.body, SpooledBody):
        payload = _decode_spooled(request.body, signer)
    else:
        payload = chunked.decode_chunked(request.body, signer)
    _check_decoded_length(request, payload, fail)
    _check_trailers(request, payload.trailers)
    return payload


def _check_trailers(request: HttpRequest, trailers: tuple[tuple[str, str], ...]) -> None:
    """Trailers may only be the checksums the signed x-amz-trailer header announced.

    The pipeline merges trailers into the headers; anything else (x-amz-acl,
    x-amz-server-side-encryption, ...) would set headers the signature never
    covered, and unsigned-trailer uploads carry them with no signature at all.
    """
    if not trailers:
        return
    announced = {name.strip().lower() for name in request.headers.get("x-amz-trailer", "").split(",")}
    for name, _value in trailers:
        if not name.startswith("x-amz-checksum-") or name not in announced:
            raise chunked.malformed_trailer()


def _body_sha256(body: bytes | SpooledBody) -> str:
    """Hex SHA-256 of the body; a spooled body was hashed while it arrived."""
    return body.sha256 if isinstance(body, SpooledBody) else _sha256_hex(body)


def _decode_spooled(body: SpooledBody, signer: chunked.ChunkSigner | None) -> chunked.ChunkedPayload:
    """Decode a spooled aws-chunked body file into a second file, owned by (discarded with) the first."""
    decoded = SpooledBody(body.path.with_name(body.path.name + ".decoded"))
    body.derived.append(decoded)
    size = 0
    with body.open() as source, open(decoded.path, "wb") as sink:
        def write(piece: bytes) -> None:
            nonlocal size
            size += len(piece)
            sink.write(piece)

        trailers = chunked.decode_chunked_stream(source, write, signer)
    decoded.size = size
    return chunked.ChunkedPayload(decoded, trailers)  # type: ignore[arg-type]


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


def _checked_claims(
    request: HttpRequest,
    signed: _Signed,
    fail: Failures,
    lookup: Callable[[str], SigningKeyRecord | None],
    now: dt.datetime,
) -> tuple[dt.datetime, SigningKeyRecord, str | None]:
    """Time window, signed headers, known key and the declared payload hash: all from the headers."""
    signed_at = _signed_at(signed, fail)
    _check_time(signed, signed_at, now, fail)
    _check_signed_headers(request, signed, fail)
    record = lookup(signed.access_key_id)
    if record is None:
        raise fail.unknown_key(signed.access_key_id)
    return signed_at, record, _declared_payload_hash(request, signed, fail)


def _check_signature(
    request: HttpRequest, signed: _Signed, fail: Failures, record: SigningKeyRecord, body_hash: str, s3_style: bool
) -> _SigningHmac:
    """Recompute the signature over the canonical request and compare in constant time; the signer on success."""
    canonical = canonical_request(request, signed, body_hash, s3_style)
    to_sign = string_to_sign(signed, canonical)
    signer = _derived_key(record.access_key_id, record.secret_access_key, signed.date, signed.region, signed.service)
    expected = signer.hexdigest(to_sign.encode(UTF8, ESC))
    if not hmac.compare_digest(expected.encode(), signed.signature.encode(UTF8, ESC)):  # bytes: any text compares
        raise fail.signature_mismatch(signed.access_key_id, signed.signature, canonical, to_sign)
    return signer


# --- the entry point --------------------------------------------------------------


# Failures is stateless but for ``presigned``: header-signed requests share these.
_HEADER_FAILURES = {False: Failures(False), True: Failures(True)}


def _claims_of(request: HttpRequest, s3_style: bool) -> tuple[_Signed | None, Failures]:
    """The claims (None: no authentication at all) and the failure wording that fits them."""
    fail = _HEADER_FAILURES[s3_style]
    header = request.headers.get("authorization")
    presigned = "X-Amz-Algorithm" in request.query and any(
        k == "X-Amz-Algorithm" for k, _ in query_pairs(request.query)
    )
    if header is not None and presigned and s3_style:
        raise fail.two_mechanisms()
    if header is not None:
        return _parse_header_auth(request, header, fail), fail
    if presigned:
        fail = Failures(s3_style)
        fail.presigned = True
        return _parse_presigned(request, fail), fail
    return None, fail


def _sigv2_requested(request: HttpRequest) -> bool:
    """S3's SigV2 (``AWS AKID:sig`` or ``?AWSAccessKeyId=&Signature=``): two substring tests for the rest."""
    header = request.headers.get("authorization")
    if header is not None and header.startswith("AWS "):
        return True
    query = request.query
    if not query or ("AWSAccessKeyId" not in query and "Signature" not in query):
        return False
    return any(k in ("AWSAccessKeyId", "Signature") for k, _ in query_pairs(query))


def verify_before_body(
    request: HttpRequest,
    lookup: Callable[[str], SigningKeyRecord | None],
    *,
    now: dt.datetime,
    s3_style: bool,
    allow_anonymous: bool,
) -> bool:
    """Check what the headers alone can prove, before a large body is read.

    True: a known key signed the request over a *declared* payload hash
    (a digest, UNSIGNED-PAYLOAD or STREAMING-*), so the signature is
    already verified and only the body's agreement with its declared hash
    (or chunk signatures) is left for ``authenticate``. False: anonymous, or
    the body's own hash was signed (nothing can be verified yet). Raises the
    same AwsError ``authenticate`` would for a bad or missing signature, so
    a forger is refused before the server stores a byte of their body.
    """
    if s3_style and _sigv2_requested(request):  # SigV2 signs headers only (Content-MD5 is the handler's check)
        from rampart.auth import sigv2

        return sigv2.authenticate(request, lookup, now=now).key is not None
    signed, fail = _claims_of(request, s3_style)
    if signed is None:
        if not allow_anonymous:
            raise fail.missing_authentication()
        return False
    _, record, declared = _checked_claims(request, signed, fail, lookup, now)
    if declared is None:
        return False
    _check_signature(request, signed, fail, record, declared, s3_style)
    _check_token(record, signed.security_token, fail)
    return True


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
    ``s3_style`` selects S3's error codes and canonicalization (and lets
    S3's SigV2 in, verified by ``sigv2``); with
    ``allow_anonymous`` a request carrying no authentication at all passes as
    anonymous (``key`` None). Raises an AwsError subclass on any failure.
    """
    if s3_style and _sigv2_requested(request):
        from rampart.auth import sigv2  # imported on use: it builds on this module

        return sigv2.authenticate(request, lookup, now=now)
    signed, fail = _claims_of(request, s3_style)
    if signed is None:
        if not allow_anonymous:
            raise fail.missing_authentication()
        return Authenticated(None, None, None, None, False, request.body, None)
    signed_at, record, declared = _checked_claims(request, signed, fail, lookup, now)
    body_hash = declared if declared is not None else _body_sha256(request.body)
    signer = _check_signature(request, signed, fail, record, body_hash, s3_style)
    _check_token(record, signed.security_token, fail)
    if declared is None:  # the body's own hash was signed: nothing more to check
        return Authenticated(
            record, signed.region, signed.service, signed_at, signed.presigned, request.body, signed.security_token
        )
    payload = _decode_payload(request, signed, declared, signer.key, fail)
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
