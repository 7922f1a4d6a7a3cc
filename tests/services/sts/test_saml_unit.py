"""Table-driven tests of the pure parts of SAML verification (metadata, conditions, attributes)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from rampart.services.sts import oidc, saml
from tests.services.sts.idp import SAML, SamlIdp, encode

IDP = SamlIdp("https://idp.unit.test")
ROLE = "arn:aws:iam::111122223333:role/r"
PROVIDER = "arn:aws:iam::111122223333:saml-provider/p"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _read(**kwargs: Any) -> saml.SamlAssertion:
    """Sign, verify and read an assertion built with ``SamlIdp.response_xml`` options."""
    metadata = saml.read_metadata(IDP.metadata())
    kwargs.setdefault("now", NOW)
    xml = saml.decode_response(encode(IDP.sign(IDP.response_xml([f"{ROLE},{PROVIDER}"], **kwargs))))
    return saml.read_assertion(saml.verified_assertion(xml, metadata.certificates, NOW), metadata.entity_id, NOW)


def test_metadata_gives_entity_and_signing_certificate() -> None:
    metadata = saml.read_metadata(IDP.metadata())
    assert metadata.entity_id == "https://idp.unit.test"
    assert len(metadata.certificates) == 1
    assert metadata.certificates[0].startswith("-----BEGIN CERTIFICATE-----")


def test_metadata_encryption_keys_are_not_signing_keys() -> None:
    document = IDP.metadata().replace('use="signing"', 'use="encryption"')
    assert saml.read_metadata(document).certificates == ()


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({}, None, None),
        ({"recipient": "https://eu-west-1.signin.aws.amazon.com/saml",
          "audience": "urn:amazon:webservices"}, None, None),
        ({"lifetime": -1}, oidc.ExpiredTokenException, "expired"),
        ({"now": NOW + dt.timedelta(minutes=10)}, oidc.InvalidIdentityToken, "not yet valid"),
        ({"audience": "https://sp.example.com"}, oidc.IDPRejectedClaim, "Audience"),
        ({"recipient": "https://signin.aws.amazon.com.evil.com/saml"}, oidc.IDPRejectedClaim, "Recipient"),
        ({"issuer": "https://other-idp.test"}, oidc.InvalidIdentityToken, "Issuer"),
    ],
)
def test_assertion_checks(kwargs: dict[str, Any], error: type[Exception] | None, text: str | None) -> None:
    if error is None:
        claims = _read(**kwargs)
        assert claims.subject == "alice@example.com"
        assert saml.role_pairs(claims) == {(ROLE, PROVIDER)}
        return
    with pytest.raises(error) as caught:
        _read(**kwargs)
    assert text in caught.value.message


def test_only_the_signed_assertion_is_read() -> None:
    """Signature wrapping: an unsigned assertion placed before the signed one is ignored."""
    signed = IDP.sign(IDP.response_xml([f"{ROLE},{PROVIDER}"], now=NOW))
    evil = IDP.response_xml(["arn:aws:iam::111122223333:role/admin," + PROVIDER], subject="root", now=NOW)
    signed.insert(2, evil.find(f"{{{SAML}}}Assertion"))
    metadata = saml.read_metadata(IDP.metadata())
    assertion = saml.verified_assertion(saml.decode_response(encode(signed)), metadata.certificates, NOW)
    claims = saml.read_assertion(assertion, metadata.entity_id, NOW)
    assert claims.subject == "alice@example.com"
    assert saml.role_pairs(claims) == {(ROLE, PROVIDER)}


@pytest.mark.parametrize(
    ("values", "pairs"),
    [
        ((f"{ROLE},{PROVIDER}",), {(ROLE, PROVIDER)}),
        ((f"{PROVIDER},{ROLE}",), {(ROLE, PROVIDER)}),
        ((f" {ROLE} , {PROVIDER} ",), {(ROLE, PROVIDER)}),
        ((ROLE,), set()),
        ((f"{ROLE},{PROVIDER},extra",), set()),
    ],
)
def test_role_pairs(values: tuple[str, ...], pairs: set[tuple[str, str]]) -> None:
    claims = saml.SamlAssertion("i", "s", "", "r", (), {saml.ROLE_ATTRIBUTE: values})
    assert saml.role_pairs(claims) == pairs


@pytest.mark.parametrize(
    ("fmt", "subject_type"),
    [
        ("urn:oasis:names:tc:SAML:2.0:nameid-format:transient", "transient"),
        ("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"),
        ("", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"),
    ],
)
def test_subject_type(fmt: str, subject_type: str) -> None:
    assert saml.SamlAssertion("i", "s", fmt, "r", (), {}).subject_type == subject_type


@pytest.mark.parametrize(
    ("name", "ok"),
    [("alice", True), ("a@b.c", True), ("a", False), ("has space", False), ("x" * 65, False), (None, False)],
)
def test_session_name(name: str | None, ok: bool) -> None:
    attributes = {} if name is None else {saml.SESSION_NAME_ATTRIBUTE: (name,)}
    claims = saml.SamlAssertion("i", "s", "", "r", (), attributes)
    if ok:
        assert saml.session_name(claims) == name
    else:
        with pytest.raises(oidc.InvalidIdentityToken):
            saml.session_name(claims)


@pytest.mark.parametrize(("value", "ok"), [("900", True), ("43200", True), ("899", False), ("1h", False)])
def test_session_duration(value: str, ok: bool) -> None:
    claims = saml.SamlAssertion("i", "s", "", "r", (), {saml.SESSION_DURATION_ATTRIBUTE: (value,)})
    if ok:
        assert saml.session_duration(claims) == int(value)
    else:
        with pytest.raises(oidc.InvalidIdentityToken):
            saml.session_duration(claims)


def test_session_tags_and_transitive_keys() -> None:
    attributes = {saml.TAG_PREFIX + "dept": ("ops",), saml.TAG_PREFIX + "cc": ("42",), saml.TRANSITIVE_ATTRIBUTE: ("cc",)}
    claims = saml.SamlAssertion("i", "s", "", "r", (), attributes)
    assert saml.session_tags(claims) == ({"dept": "ops", "cc": "42"}, ("cc",))
    bad = saml.SamlAssertion("i", "s", "", "r", (), {saml.TRANSITIVE_ATTRIBUTE: ("cc",)})
    with pytest.raises(oidc.InvalidIdentityToken):
        saml.session_tags(bad)


def test_condition_keys() -> None:
    claims = saml.SamlAssertion(
        "https://idp", "alice", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "https://signin.aws.amazon.com/saml", ("urn:amazon:webservices",),
        {"urn:oid:0.9.2342.19200300.100.1.3": ("alice@example.com",)},
    )
    keys = saml.condition_keys(claims, "111122223333", "p")
    assert keys["saml:aud"] == "https://signin.aws.amazon.com/saml"
    assert keys["saml:sub_type"] == "persistent"
    assert keys["saml:doc"] == "111122223333/p"
    assert keys["saml:mail"] == ["alice@example.com"]
    assert keys["saml:namequalifier"] == saml.name_qualifier("https://idp", "111122223333", "p")
    assert saml.name_qualifier("https://idp", "111122223333", "q") != keys["saml:namequalifier"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"<a", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
     b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://evil/x">%p;]><a/>'],
)
def test_decode_refuses_bad_xml(raw: bytes) -> None:
    with pytest.raises(oidc.InvalidIdentityToken):
        saml.decode_response(base64.b64encode(raw).decode())
