"""Table-driven tests of the pure parts of OIDC verification (claims, tags, key sets, cache)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rampart.services.sts import oidc

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
T = int(NOW.timestamp())
ISSUER = "https://idp.example.com/tenant"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, **extra}


def _token(claims: dict[str, Any], key: Any = RSA_KEY, alg: str = "RS256") -> str:
    body = {"iss": ISSUER, "aud": "client", "sub": "alice", "iat": T - 10, "exp": T + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": "k1"})


@pytest.mark.parametrize(
    ("issuer", "name"),
    [
        ("https://idp.example.com", "idp.example.com"),
        ("https://idp.example.com/", "idp.example.com"),
        ("https://idp.example.com:8443/a/b", "idp.example.com:8443/a/b"),
        ("HTTPS://idp.example.com", "idp.example.com"),
    ],
)
def test_provider_name(issuer: str, name: str) -> None:
    assert oidc.provider_name(issuer) == name


@pytest.mark.parametrize(
    ("claims", "error", "text"),
    [
        ({}, None, None),
        ({"exp": T}, oidc.ExpiredTokenException, f"current date/time {T} must be before the expiration date/time{T}"),
        ({"exp": None}, oidc.InvalidIdentityToken, "not a valid JWT"),
        ({"exp": "soon"}, oidc.InvalidIdentityToken, "not a valid JWT"),
        ({"exp": float("inf")}, oidc.InvalidIdentityToken, "not a valid JWT"),  # JSON 1e400
        ({"exp": float("nan")}, oidc.InvalidIdentityToken, "not a valid JWT"),
        ({"nbf": float("-inf")}, oidc.InvalidIdentityToken, "not a valid JWT"),
        ({"iat": float("inf")}, oidc.InvalidIdentityToken, "not a valid JWT"),
        ({"nbf": T + 60}, oidc.InvalidIdentityToken, "not yet valid"),
        ({"iat": T + 60}, oidc.InvalidIdentityToken, "issued in the future"),
        ({"aud": "other"}, oidc.InvalidIdentityToken, "Incorrect token audience"),
        ({"aud": ["other", "client"]}, None, None),
        ({"aud": None}, oidc.InvalidIdentityToken, "Incorrect token audience"),
        ({"sub": None}, oidc.InvalidIdentityToken, "no sub"),
    ],
)
def test_claim_checks(claims: dict[str, Any], error: type[Exception] | None, text: str | None) -> None:
    key = jwt.PyJWK(_jwk(RSA_KEY, "k1", alg="RS256"))
    if error is None:
        identity = oidc.verify_token(_token(claims), ISSUER, ["client"], key, NOW)
        assert identity.audience == "client"
        assert identity.condition_keys()["idp.example.com/tenant:sub"] == "alice"
        return
    with pytest.raises(error) as caught:
        oidc.verify_token(_token(claims), ISSUER, ["client"], key, NOW)
    assert text in caught.value.message


def test_es256_tokens_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = _token({}, key, "ES256")
    assert oidc.verify_token(token, ISSUER, ["client"], jwt.PyJWK(_jwk(key, "k1")), NOW).subject == "alice"


def test_a_key_of_another_issuer_does_not_verify() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(oidc.InvalidIdentityToken):
        oidc.verify_token(_token({}), ISSUER, ["client"], jwt.PyJWK(_jwk(other, "k1", alg="RS256")), NOW)


@pytest.mark.parametrize(
    "token",
    ["", "x", "a.b.c", jwt.encode({"iss": ISSUER}, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256"),
     jwt.encode({"iss": ISSUER}, None, algorithm="none"), jwt.encode({"sub": "no-iss"}, RSA_KEY, algorithm="RS256")],
    ids=["empty", "one-part", "garbage", "hmac", "none", "no-iss"],
)
def test_unverified_claims_refuses(token: str) -> None:
    with pytest.raises(oidc.InvalidIdentityToken):
        oidc.unverified_claims(token)


@pytest.mark.parametrize(
    ("claim", "tags", "transitive"),
    [
        (None, {}, ()),
        ({"principal_tags": {"team": ["blue"]}}, {"team": "blue"}, ()),
        ({"principal_tags": {"team": ["blue"], "cc": ["1"]}, "transitive_tag_keys": ["cc"]},
         {"team": "blue", "cc": "1"}, ("cc",)),
        ({"principal_tags": {"team": "blue"}}, {"team": "blue"}, ()),
    ],
)
def test_session_tags(claim: Any, tags: dict[str, str], transitive: tuple[str, ...]) -> None:
    claims = {} if claim is None else {oidc.TAGS_CLAIM: claim}
    assert oidc.session_tags(claims) == (tags, transitive)


@pytest.mark.parametrize(
    "claim",
    [
        "team=blue",
        {"principal_tags": {"team": ["a", "b"]}},
        {"principal_tags": {"team": [1]}},
        {"principal_tags": {"": ["x"]}},
        {"principal_tags": {"t": ["x" * 257]}},
        {"principal_tags": {"team": ["blue"]}, "transitive_tag_keys": ["other"]},
        {"principal_tags": {f"k{i}": ["v"] for i in range(51)}},
        {"principal_tags": {"team": ["blue"]}, "transitive_tag_keys": [{"team": 1}]},  # unhashable: was a 500
        {"principal_tags": {"team": ["blue"]}, "transitive_tag_keys": [["team"]]},
    ],
)
def test_bad_session_tags(claim: Any) -> None:
    with pytest.raises(oidc.InvalidIdentityToken):
        oidc.session_tags({oidc.TAGS_CLAIM: claim})


def test_key_cache_refetches_an_unknown_kid_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    published = {"keys": [_jwk(RSA_KEY, "k1", alg="RS256")]}
    fetched: list[str] = []

    def fetch(url: str, thumbprints: Any) -> Any:
        fetched.append(url)
        return {"jwks_uri": ISSUER + "/jwks"} if url.endswith("openid-configuration") else published

    clock = [1000.0]
    monkeypatch.setattr(oidc.time, "monotonic", lambda: clock[0])
    cache = oidc.KeyCache(fetch)
    assert cache.key(ISSUER, "k1", []) is not None
    assert len(fetched) == 2
    cache.key(ISSUER, "k1", [])
    assert len(fetched) == 2  # cached
    with pytest.raises(oidc.InvalidIdentityToken):
        cache.key(ISSUER, "k2", [])  # unknown, but fetched less than a second ago: no refetch
    assert len(fetched) == 2
    clock[0] += oidc.REFETCH_INTERVAL
    published["keys"].append(_jwk(RSA_KEY, "k2", alg="RS256"))
    assert cache.key(ISSUER, "k2", []) is not None
    assert len(fetched) == 4
    clock[0] += oidc.KEY_TTL + 1
    cache.key(ISSUER, "k1", [])
    assert len(fetched) == 6  # expired: fetched again


@pytest.mark.parametrize(
    "document",
    [None, [], {"keys": "x"}, {"nokeys": []}],
)
def test_bad_key_sets(document: Any) -> None:
    cache = oidc.KeyCache(lambda url, _t: {"jwks_uri": "https://x/jwks"} if "openid" in url else document)
    with pytest.raises(oidc.InvalidIdentityToken):
        cache.key(ISSUER, "k1", [])


def test_encryption_keys_are_not_signature_keys() -> None:
    document = {"keys": [_jwk(RSA_KEY, "k1", alg="RS256", use="enc")]}
    cache = oidc.KeyCache(lambda url, _t: {"jwks_uri": "https://x/jwks"} if "openid" in url else document)
    with pytest.raises(oidc.InvalidIdentityToken):
        cache.key(ISSUER, "k1", [])


@pytest.mark.parametrize("url", ["http://idp.example.com/jwks", "file:///etc/passwd", "ftp://x/y", "https:///x"])
def test_fetch_refuses_anything_but_https(url: str) -> None:
    with pytest.raises(oidc.IDPCommunicationError):
        oidc.fetch_json(url, [])


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, True), ("alice", True), ("a@b.c", True), ("x", False), ("aws:me", False), ("a b", False), (7, False)],
)
def test_source_identity(value: Any, ok: bool) -> None:
    claims = {} if value is None else {oidc.SOURCE_IDENTITY_CLAIM: value}
    if ok:
        assert oidc.source_identity(claims) == value
    else:
        with pytest.raises(oidc.InvalidIdentityToken):
            oidc.source_identity(claims)
