"""OpenID Connect tokens for AssumeRoleWithWebIdentity: keys fetched from the issuer, claims checked.

The issuer's signing keys come from its discovery document
(``<issuer>/.well-known/openid-configuration`` -> ``jwks_uri``) over HTTPS,
as AWS fetches them. The TLS certificate must chain to a public CA, or (for
a private IdP, as AWS allows) be the certificate whose SHA-1 thumbprint the
IAM provider lists: the pinned certificate then becomes the only trust
anchor of a second, fully verified connection (host name included).

Keys are cached per issuer (and thumbprint list) for ``KEY_TTL`` seconds; a token naming an unknown
``kid`` refetches once (key rotation at the IdP), at most once per
``REFETCH_INTERVAL`` per issuer, so forged ``kid`` values cannot turn the
server into a request amplifier. Times (exp, nbf, iat) are checked against
the request's time (the server clock tests can move), not the wall clock.

The errors of web-identity and SAML federation live here (saml.py uses them):
they are STS's error shapes, with AWS's codes and wording.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from rampart.aws.errors import AwsError

KEY_TTL = 600.0  # seconds a fetched key set is trusted
REFETCH_INTERVAL = 1.0  # at most one refetch per issuer per this many seconds
FETCH_TIMEOUT = 5.0
MAX_DOCUMENT_BYTES = 512 * 1024
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"
MAX_SESSION_TAGS = 50
MAX_ISSUERS = 1000  # cached issuers (only registered providers are ever fetched)


# --- errors (STS's shapes) ----------------------------------------------------------------


class InvalidIdentityToken(AwsError):
    """The token could not be validated (malformed, bad signature, unknown provider, wrong audience)."""

    code = "InvalidIdentityToken"
    status = 400


class ExpiredTokenException(AwsError):
    """The token (or SAML assertion) is past its expiry."""

    code = "ExpiredTokenException"
    status = 400


class IDPRejectedClaim(AwsError):
    """The identity provider's claims are refused (SAML: not valid for this role or audience)."""

    code = "IDPRejectedClaim"
    status = 403


class IDPCommunicationError(AwsError):
    """The issuer's discovery document or keys could not be fetched."""

    code = "IDPCommunicationError"
    status = 400


_MALFORMED = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
_NO_KEY = ("Couldn't retrieve verification key from your identity provider,  please reference "
           "AssumeRoleWithWebIdentity documentation for requirements")
_THUMBPRINT = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
_UNREACHABLE = "Couldn't connect to the identity provider to retrieve its signing keys"


# --- the token, before any key is involved -------------------------------------------------


def unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS, read only to find the issuer and key; never trusted as such."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidIdentityToken(_MALFORMED) from None
    if not isinstance(claims.get("iss"), str) or not claims["iss"]:
        raise InvalidIdentityToken(_MALFORMED)
    if header.get("alg") not in ALGORITHMS:  # "none" and HMAC (a public key as HMAC secret) are refused
        raise InvalidIdentityToken(_MALFORMED)
    return header, claims


def provider_name(issuer: str) -> str:
    """The IAM provider name an issuer maps to: the URL without ``https://`` (AWS's condition-key prefix)."""
    if not issuer.lower().startswith("https://"):
        return issuer.rstrip("/")
    return issuer[len("https://"):].rstrip("/")


# --- fetching keys -----------------------------------------------------------------------------


Fetch = Callable[[str, Sequence[str]], Any]


def thumbprint(der: bytes) -> str:
    """The SHA-1 fingerprint IAM's ThumbprintList holds, in lower-case hex."""
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keys come from exactly the URL the issuer names; a redirect could leave HTTPS or the host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, context: ssl.SSLContext) -> bytes:
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "rampart-sts"})
    with opener.open(request, timeout=FETCH_TIMEOUT) as response:
        if response.status != 200:
            raise IDPCommunicationError(_UNREACHABLE)
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise IDPCommunicationError(_UNREACHABLE)
    return body


def _pinned_context(host: str, port: int, thumbprints: Sequence[str]) -> ssl.SSLContext:
    """A context trusting only the server's certificate, provided its thumbprint is registered."""
    pem = ssl.get_server_certificate((host, port), timeout=FETCH_TIMEOUT)
    wanted = {t.lower() for t in thumbprints}
    if thumbprint(ssl.PEM_cert_to_DER_cert(pem)) not in wanted:
        raise InvalidIdentityToken(_THUMBPRINT)
    context = ssl.create_default_context(cadata=pem)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the pinned certificate need not be a root
    return context


def fetch_json(url: str, thumbprints: Sequence[str]) -> Any:
    """GET a JSON document over verified HTTPS (public CAs, else a registered thumbprint)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise IDPCommunicationError(_UNREACHABLE)
    try:
        try:
            body = _get(url, ssl.create_default_context())
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ssl.SSLCertVerificationError):
                raise
            if not thumbprints:
                raise InvalidIdentityToken(_THUMBPRINT) from None
            body = _get(url, _pinned_context(parts.hostname, parts.port or 443, thumbprints))
        return json.loads(body)
    except (OSError, ValueError, ssl.SSLError):  # URLError, timeouts and refused connections are OSErrors
        raise IDPCommunicationError(_UNREACHABLE) from None


@dataclass
class _IssuerKeys:
    keys: dict[str, jwt.PyJWK]  # by kid ("" for a key without one)
    expires: float
    fetched: float


class KeyCache:
    """Signing keys per issuer, with a TTL and rate-limited refetches on unknown key ids."""

    def __init__(self, fetch: Fetch = fetch_json, ttl: float = KEY_TTL) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._entries: dict[tuple[str, tuple[str, ...]], _IssuerKeys] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str | None, thumbprints: Sequence[str]) -> jwt.PyJWK:
        """The issuer's key named ``kid`` (or its only key when the token names none)."""
        now = time.monotonic()
        cache_key = (issuer, tuple(sorted(t.lower() for t in thumbprints)))  # new thumbprints: fetch anew
        with self._lock:
            entry = self._entries.get(cache_key)
        if entry is None or entry.expires < now or (
            _pick(entry.keys, kid) is None and now - entry.fetched >= REFETCH_INTERVAL
        ):
            entry = _IssuerKeys(self._load(issuer, thumbprints), now + self._ttl, now)
            with self._lock:
                if len(self._entries) >= MAX_ISSUERS and cache_key not in self._entries:
                    self._entries.clear()
                self._entries[cache_key] = entry
        found = _pick(entry.keys, kid)
        if found is None:
            raise InvalidIdentityToken(_NO_KEY)
        return found

    def forget(self, issuer: str) -> None:
        """Drop an issuer's keys (the next token refetches them)."""
        with self._lock:
            for cache_key in [k for k in self._entries if k[0] == issuer]:
                del self._entries[cache_key]

    def _load(self, issuer: str, thumbprints: Sequence[str]) -> dict[str, jwt.PyJWK]:
        discovery = self._fetch(issuer.rstrip("/") + "/.well-known/openid-configuration", thumbprints)
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str):
            raise InvalidIdentityToken(_NO_KEY)
        document = self._fetch(jwks_uri, thumbprints)
        return _parse_jwks(document)


def _parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """The usable signature keys of a JWKS (keys of unknown types or for encryption are skipped)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidIdentityToken(_NO_KEY)
    keys: dict[str, jwt.PyJWK] = {}
    for item in document["keys"]:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        try:
            keys[str(item.get("kid", ""))] = jwt.PyJWK(item)
        except jwt.PyJWTError:
            continue
    return keys


def _pick(keys: Mapping[str, jwt.PyJWK], kid: str | None) -> jwt.PyJWK | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebIdentity:
    """A verified token: who (sub), for which client (aud), from which provider."""

    issuer: str
    provider_name: str  # host/path: the provider's IAM name and condition-key prefix
    subject: str
    audience: str  # the audience that matched one of the provider's client ids
    claims: Mapping[str, Any]

    def condition_keys(self) -> dict[str, Any]:
        """``<provider>:aud``, ``:sub``, ``:amr`` (and ``:oaud``/``:azp`` where present) for the trust policy."""
        keys: dict[str, Any] = {f"{self.provider_name}:aud": self.audience, f"{self.provider_name}:sub": self.subject}
        amr = self.claims.get("amr")
        if isinstance(amr, str):
            keys[f"{self.provider_name}:amr"] = [amr]
        elif isinstance(amr, list):
            keys[f"{self.provider_name}:amr"] = [str(v) for v in amr]
        if isinstance(self.claims.get("azp"), str):
            keys[f"{self.provider_name}:azp"] = self.claims["azp"]
        aud = self.claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1:
            keys[f"{self.provider_name}:oaud"] = [str(a) for a in aud if a != self.audience]
        return keys


def verify_token(
    token: str, issuer: str, client_ids: Sequence[str], key: jwt.PyJWK, now: dt.datetime
) -> WebIdentity:
    """Check signature, audience and times; the caller has matched the issuer to a provider already."""
    try:
        claims = jwt.decode(
            token, key=key, algorithms=[key.algorithm_name] if key.algorithm_name else list(ALGORITHMS),
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                     "verify_iss": False},
        )
    except jwt.InvalidSignatureError:
        raise InvalidIdentityToken("The web identity token's signature could not be verified") from None
    except jwt.PyJWTError:
        raise InvalidIdentityToken(_MALFORMED) from None
    if claims.get("iss") != issuer:
        raise InvalidIdentityToken(f"No OpenIDConnect provider found in your account for {claims.get('iss')}")
    _check_times(claims, now)
    audience = _matching_audience(claims, client_ids)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidIdentityToken("The web identity token has no sub claim")
    return WebIdentity(issuer, provider_name(issuer), subject, audience, claims)


def _epoch(claims: Mapping[str, Any], name: str) -> int | None:
    """A NumericDate claim as whole seconds; a non-number (or NaN, or +-1e400 parsed as infinity) is malformed."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidIdentityToken(_MALFORMED)
    return int(value)


def _check_times(claims: Mapping[str, Any], now: dt.datetime) -> None:
    """exp is required and must lie ahead; nbf and iat must not lie in the future."""
    current = int(now.timestamp())
    expires = _epoch(claims, "exp")
    if expires is None:
        raise InvalidIdentityToken(_MALFORMED)
    if current >= expires:  # AWS's wording, its missing space included
        raise ExpiredTokenException(
            f"Token expired: current date/time {current} must be before the expiration date/time{expires}"
        )
    not_before = _epoch(claims, "nbf")
    if not_before is not None and current < not_before:
        raise InvalidIdentityToken(f"Token is not yet valid: current date/time {current} is before {not_before}")
    issued = _epoch(claims, "iat")
    if issued is not None and issued > current:
        raise InvalidIdentityToken("Token was issued in the future")


def _matching_audience(claims: Mapping[str, Any], client_ids: Sequence[str]) -> str:
    """The token's audience (aud: one string or a list) that is one of the provider's client ids."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
    for candidate in audiences:
        if candidate in client_ids:
            return candidate
    raise InvalidIdentityToken("Incorrect token audience")


# --- session tags ------------------------------------------------------------------------------


def session_tags(claims: Mapping[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Principal tags and transitive keys from the ``https://aws.amazon.com/tags`` claim.

    AWS's shape: ``{"principal_tags": {"Key": ["Value"]}, "transitive_tag_keys": ["Key"]}``;
    each value is a one-element list. Transitive keys must be tags of the session.
    """
    raw = claims.get(TAGS_CLAIM)
    if raw is None:
        return {}, ()
    if not isinstance(raw, dict) or not isinstance(raw.get("principal_tags", {}), dict):
        raise InvalidIdentityToken("The https://aws.amazon.com/tags claim is not valid")
    tags: dict[str, str] = {}
    for key, value in raw.get("principal_tags", {}).items():
        values = value if isinstance(value, list) else [value]
        if len(values) != 1 or not isinstance(values[0], str) or not 1 <= len(key) <= 128 or len(values[0]) > 256:
            raise InvalidIdentityToken("The https://aws.amazon.com/tags claim is not valid")
        tags[key] = values[0]
    if len(tags) > MAX_SESSION_TAGS:
        raise InvalidIdentityToken(f"The token carries more than {MAX_SESSION_TAGS} session tags")
    transitive = raw.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or any(not isinstance(k, str) or k not in tags for k in transitive):
        raise InvalidIdentityToken("The https://aws.amazon.com/tags claim is not valid")
    return tags, tuple(dict.fromkeys(transitive))


_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}")


def valid_source_identity(value: object) -> bool:
    """AWS's SourceIdentity rules (the API parameter's): 2-64 of ``[\\w+=,.@-]``, no ``aws:`` prefix."""
    return isinstance(value, str) and bool(_SOURCE_IDENTITY.fullmatch(value)) and not value.lower().startswith("aws:")


def source_identity(claims: Mapping[str, Any]) -> str | None:
    """The ``https://aws.amazon.com/source_identity`` claim, or None."""
    value = claims.get(SOURCE_IDENTITY_CLAIM)
    if value is None:
        return None
    if not valid_source_identity(value):
        raise InvalidIdentityToken("The https://aws.amazon.com/source_identity claim is not valid")
    return value
