"""SAML 2.0 responses for AssumeRoleWithSAML: parsed safely, signature verified, claims checked.

The base64 ``SAMLResponse`` is parsed with defusedxml first (no DTDs, no
entities, no network), then its XML signature is verified by signxml against
the signing certificates in the provider's metadata (IAM keeps the document).
Either the Response or the Assertion may be signed. Only what the signature
covers is read afterwards (signxml's ``signed_xml``): an unsigned assertion
smuggled beside a signed one (signature wrapping) is never looked at.

Checks, as the IAM User Guide's "Configure SAML assertions for the
authentication response" lists them: the Issuer is the metadata's entity; the
AudienceRestriction names AWS (``https://signin.aws.amazon.com/saml`` or
``urn:amazon:webservices``); exactly one bearer SubjectConfirmationData whose
Recipient is AWS's sign-in endpoint and whose NotOnOrAfter lies ahead;
the Conditions' NotBefore/NotOnOrAfter hold at the request's time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_parse
from lxml import etree
from signxml import XMLVerifier
from signxml.algorithms import SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from rampart.services.sts.oidc import (
    ExpiredTokenException,
    IDPRejectedClaim,
    InvalidIdentityToken,
    valid_source_identity,
)

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
ATTR = "https://aws.amazon.com/SAML/Attributes/"
ROLE_ATTRIBUTE = ATTR + "Role"
SESSION_NAME_ATTRIBUTE = ATTR + "RoleSessionName"
SESSION_DURATION_ATTRIBUTE = ATTR + "SessionDuration"
SOURCE_IDENTITY_ATTRIBUTE = ATTR + "SourceIdentity"
TRANSITIVE_ATTRIBUTE = ATTR + "TransitiveTagKeys"
TAG_PREFIX = ATTR + "PrincipalTag:"
AWS_AUDIENCES = frozenset({"https://signin.aws.amazon.com/saml", "urn:amazon:webservices"})
_RECIPIENT = re.compile(
    r"https://(?:[a-z0-9-]+\.)?signin\.aws\.amazon\.com/(?:saml|static/saml|saml/acs/[A-Za-z0-9-]+)"
)
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_NAMEID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
# RSA and ECDSA over SHA-2 only: no SHA-1, and no HMAC (a shared secret the metadata cannot hold).
_SIGNATURE_METHODS = frozenset({
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
    SignatureMethod.SHA256_RSA_MGF1, SignatureMethod.SHA384_RSA_MGF1, SignatureMethod.SHA512_RSA_MGF1,
})
# eduPerson / X.500 attributes AWS maps to saml:* keys (the User Guide's mapping table).
_OID_KEYS = {
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": "saml:edupersonaffiliation",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.2": "saml:edupersonnickname",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.3": "saml:edupersonorgdn",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.4": "saml:edupersonorgunitdn",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.5": "saml:edupersonprimaryaffiliation",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": "saml:edupersonprincipalname",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.7": "saml:edupersonentitlement",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.9": "saml:edupersonscopedaffiliation",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.10": "saml:edupersontargetedid",
    "urn:oid:0.9.2342.19200300.100.1.1": "saml:uid",
    "urn:oid:0.9.2342.19200300.100.1.3": "saml:mail",
    "urn:oid:2.5.4.3": "saml:cn",
    "urn:oid:2.5.4.4": "saml:sn",
    "urn:oid:2.5.4.42": "saml:givenName",
    "urn:oid:2.5.4.10": "saml:organizationStatus",
    "urn:oid:2.16.840.1.113730.3.1.241": "saml:displayName",
}
_PARSE_ERROR = "Response could not be parsed"
_BAD_SIGNATURE = "Response signature invalid"


@dataclass(frozen=True)
class SamlAssertion:
    """What a verified assertion says: who, from whom, for which roles, with which attributes."""

    issuer: str
    subject: str
    subject_format: str
    recipient: str
    audiences: tuple[str, ...]
    attributes: Mapping[str, tuple[str, ...]]
    session_not_on_or_after: dt.datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def subject_type(self) -> str:
        """AWS's SubjectType: the NameID format without the SAML 2.0 prefix."""
        fmt = self.subject_format or "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
        return fmt.removeprefix(_NAMEID_PREFIX)

    def first(self, name: str) -> str | None:
        """The first value of an attribute, or None."""
        values = self.attributes.get(name)
        return values[0] if values else None


# --- metadata ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdpMetadata:
    """The parts of a provider's metadata document that verification needs."""

    entity_id: str
    certificates: tuple[str, ...]  # PEM


def read_metadata(document: str) -> IdpMetadata:
    """Entity id and signing certificates of the IdP (KeyDescriptors with use="signing" or no use)."""
    try:
        root = defused_parse(document)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise InvalidIdentityToken("The SAML provider's metadata could not be parsed") from None
    idp = root.find(f"{_MD}IDPSSODescriptor")
    certificates: list[str] = []
    for descriptor in idp.findall(f"{_MD}KeyDescriptor") if idp is not None else []:
        if descriptor.get("use", "signing") != "signing":
            continue
        for element in descriptor.iter(f"{_DS}X509Certificate"):
            body = "".join((element.text or "").split())
            if body:
                certificates.append(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    return IdpMetadata(root.get("entityID", ""), tuple(certificates))


# --- parsing and verification ------------------------------------------------------------------


def decode_response(encoded: str) -> bytes:
    """The XML of a base64 SAMLResponse, refused when it is not base64 or holds a DTD or entities."""
    try:
        xml = base64.b64decode("".join(encoded.split()), validate=True)
        defused_parse(xml)
    except (binascii.Error, ValueError, ET.ParseError, DefusedXmlException):
        raise InvalidIdentityToken(_PARSE_ERROR) from None
    return xml


def verified_assertion(xml: bytes, certificates: Sequence[str], now: dt.datetime) -> etree._Element:
    """The signed Assertion: the one the signature covers, or the one inside the signed Response."""
    signed = _verify(xml, certificates, now)
    if signed.tag == f"{{{SAML}}}Assertion":
        return signed
    if signed.tag != f"{{{SAMLP}}}Response":
        raise InvalidIdentityToken(_BAD_SIGNATURE)
    status = signed.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    if status is not None and status.get("Value") != _SUCCESS:
        raise IDPRejectedClaim("The SAML response does not report success")
    assertions = signed.findall(f"{{{SAML}}}Assertion")
    if not assertions and signed.find(f"{{{SAML}}}EncryptedAssertion") is not None:
        raise InvalidIdentityToken("Encrypted assertions are not supported by this server")
    if len(assertions) != 1:
        raise InvalidIdentityToken("The response must contain exactly one assertion")
    return assertions[0]


def _verify(xml: bytes, certificates: Sequence[str], now: dt.datetime) -> etree._Element:
    if not certificates:
        raise InvalidIdentityToken(_BAD_SIGNATURE)
    config = SignatureConfiguration(signature_methods=_SIGNATURE_METHODS, verification_time=now)
    for pem in certificates:
        try:
            result = XMLVerifier().verify(xml, x509_cert=x509.load_pem_x509_certificate(pem.encode()),
                                          expect_config=config)
        except (SignXMLException, etree.LxmlError, ValueError):
            continue
        return result.signed_xml  # type: ignore[union-attr]
    raise InvalidIdentityToken(_BAD_SIGNATURE)


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidIdentityToken(_PARSE_ERROR) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _q(name: str) -> str:
    return f"{{{SAML}}}{name}"


def read_assertion(assertion: etree._Element, entity_id: str, now: dt.datetime) -> SamlAssertion:
    """Check the signed assertion's issuer, conditions and subject confirmation; return its claims."""
    issuer = (assertion.findtext(_q("Issuer")) or "").strip()
    if entity_id and issuer != entity_id:
        raise InvalidIdentityToken("Issuer of the assertion does not match the SAML provider's metadata")
    audiences = _check_conditions(assertion, now)
    recipient = _check_confirmation(assertion, now)
    name_id = assertion.find(f"{_q('Subject')}/{_q('NameID')}")
    if name_id is None or not (name_id.text or "").strip():
        raise InvalidIdentityToken("The assertion has no Subject NameID")
    authn = assertion.find(_q("AuthnStatement"))
    return SamlAssertion(
        issuer=issuer,
        subject=name_id.text.strip(),
        subject_format=name_id.get("Format", ""),
        recipient=recipient,
        audiences=audiences,
        attributes=_attributes(assertion),
        session_not_on_or_after=_time(authn.get("SessionNotOnOrAfter")) if authn is not None else None,
    )


def _check_conditions(assertion: etree._Element, now: dt.datetime) -> tuple[str, ...]:
    conditions = assertion.find(_q("Conditions"))
    if conditions is None:
        raise InvalidIdentityToken("The assertion has no Conditions")
    not_before = _time(conditions.get("NotBefore"))
    if not_before is not None and now < not_before:
        raise InvalidIdentityToken("Assertion is not yet valid")
    not_after = _time(conditions.get("NotOnOrAfter"))
    if not_after is not None and now >= not_after:
        raise ExpiredTokenException("Assertion is expired")
    audiences = tuple(
        (a.text or "").strip() for a in conditions.iter(_q("Audience"))
    )
    if not AWS_AUDIENCES.intersection(audiences) and not any(_RECIPIENT.fullmatch(a) for a in audiences):
        raise IDPRejectedClaim("Audience of the assertion is not AWS (https://signin.aws.amazon.com/saml)")
    return audiences


def _check_confirmation(assertion: etree._Element, now: dt.datetime) -> str:
    """Exactly one bearer confirmation, for AWS's endpoint, not yet expired; its Recipient."""
    confirmations = assertion.findall(f"{_q('Subject')}/{_q('SubjectConfirmation')}")
    if len(confirmations) != 1 or confirmations[0].get("Method") != _BEARER:
        raise InvalidIdentityToken("The assertion must have exactly one bearer SubjectConfirmation")
    data = confirmations[0].find(_q("SubjectConfirmationData"))
    if data is None or not data.get("Recipient") or not data.get("NotOnOrAfter"):
        raise InvalidIdentityToken("SubjectConfirmationData needs Recipient and NotOnOrAfter")
    recipient = data.get("Recipient", "")
    if not _RECIPIENT.fullmatch(recipient):
        raise IDPRejectedClaim(f"Recipient {recipient} is not an AWS sign-in endpoint")
    not_after = _time(data.get("NotOnOrAfter"))
    if not_after is not None and now >= not_after:
        raise ExpiredTokenException("Assertion is expired")
    not_before = _time(data.get("NotBefore"))
    if not_before is not None and now < not_before:
        raise InvalidIdentityToken("Assertion is not yet valid")
    return recipient


def _attributes(assertion: etree._Element) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for attribute in assertion.iter(_q("Attribute")):
        name = attribute.get("Name", "")
        values = [(v.text or "").strip() for v in attribute.findall(_q("AttributeValue"))]
        found.setdefault(name, []).extend(values)
    return {k: tuple(v) for k, v in found.items()}


# --- what the assertion grants -----------------------------------------------------------------


def role_pairs(claims: SamlAssertion) -> set[tuple[str, str]]:
    """(role ARN, provider ARN) pairs of the Role attribute; either order is allowed, as AWS reads it."""
    pairs: set[tuple[str, str]] = set()
    for value in claims.attributes.get(ROLE_ATTRIBUTE, ()):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 2:
            continue
        first, second = parts
        if ":saml-provider/" in first:
            first, second = second, first
        pairs.add((first, second))
    return pairs


def session_name(claims: SamlAssertion) -> str:
    """The RoleSessionName attribute, which AWS requires and checks like the API parameter."""
    name = claims.first(SESSION_NAME_ATTRIBUTE)
    if not name:
        raise InvalidIdentityToken("RoleSessionName is required in AuthnResponse")
    if not _SESSION_NAME.fullmatch(name):
        raise InvalidIdentityToken("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
    return name


def source_identity(claims: SamlAssertion) -> str | None:
    """The SourceIdentity attribute, held to the API parameter's rules (it becomes aws:SourceIdentity)."""
    value = claims.first(SOURCE_IDENTITY_ATTRIBUTE)
    if value is None:
        return None
    if not valid_source_identity(value):
        raise InvalidIdentityToken("SourceIdentity in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
    return value


def session_end(claims: SamlAssertion, now: dt.datetime) -> dt.datetime | None:
    """The IdP's SessionNotOnOrAfter (it caps the session); an end already passed is an expired assertion."""
    end = claims.session_not_on_or_after
    if end is not None and now >= end:
        raise ExpiredTokenException("The SAML session ended (SessionNotOnOrAfter has passed)")
    return end


def session_duration(claims: SamlAssertion) -> int | None:
    """The SessionDuration attribute (900..43200 seconds) or None."""
    value = claims.first(SESSION_DURATION_ATTRIBUTE)
    if value is None:
        return None
    if not value.isdigit() or not 900 <= int(value) <= 43200:
        raise InvalidIdentityToken("SessionDuration in AuthnResponse must be between 900 and 43200 seconds")
    return int(value)


def session_tags(claims: SamlAssertion) -> tuple[dict[str, str], tuple[str, ...]]:
    """PrincipalTag:* attributes as session tags, TransitiveTagKeys as the transitive keys."""
    tags: dict[str, str] = {}
    for name, values in claims.attributes.items():
        if name.startswith(TAG_PREFIX):
            key = name[len(TAG_PREFIX):]
            if not 1 <= len(key) <= 128 or len(values) != 1 or len(values[0]) > 256:
                raise InvalidIdentityToken(f"Invalid session tag {key} in AuthnResponse")
            tags[key] = values[0]
    if len(tags) > 50:
        raise InvalidIdentityToken("AuthnResponse carries more than 50 session tags")
    transitive = claims.attributes.get(TRANSITIVE_ATTRIBUTE, ())
    if any(k not in tags for k in transitive):
        raise InvalidIdentityToken("TransitiveTagKeys in AuthnResponse names a tag the response does not set")
    return tags, tuple(dict.fromkeys(transitive))


def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """AWS's NameQualifier (and saml:namequalifier): Base64(SHA1(Issuer + account id + provider name))."""
    digest = hashlib.sha1(f"{issuer}{account_id}{provider_name}".encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()


def condition_keys(claims: SamlAssertion, account_id: str, provider_name: str) -> dict[str, Any]:
    """The saml:* keys of the trust-policy question, as the User Guide's mapping table defines them."""
    keys: dict[str, Any] = {
        "saml:aud": claims.recipient,  # AWS: from the Recipient, not the Audience
        "saml:iss": claims.issuer,
        "saml:sub": claims.subject,
        "saml:sub_type": claims.subject_type,
        "saml:namequalifier": name_qualifier(claims.issuer, account_id, provider_name),
        "saml:doc": f"{account_id}/{provider_name}",
    }
    for oid, key in _OID_KEYS.items():
        values = claims.attributes.get(oid)
        if values:
            keys[key] = list(values)
    return keys
