"""IAM identity providers: OpenID Connect and SAML 2.0 (what STS federation trusts).

Providers are ``iam_entities`` of kind ``oidc-provider`` (name: the URL
without ``https://``; data: Url, ClientIDList, ThumbprintList) and
``saml-provider`` (name: the provider name; data: SAMLMetadataDocument,
ValidUntil, SAMLProviderUUID, ...). The API names them by ARN.

SAML metadata is parsed with defusedxml (no entities, no DTDs, no network)
and must describe an identity provider: an ``EntityDescriptor`` with an
``IDPSSODescriptor`` that carries a signing certificate.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
)

Conn = Connection | Session
MAX_PROVIDERS = 100  # per kind and account (IAM quotas page)
MAX_CLIENT_IDS = 100
MAX_THUMBPRINTS = 5
SAML_DEFAULT_VALIDITY = dt.timedelta(days=365 * 100)
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_BAD_METADATA = "Could not parse metadata"


# --- shared -----------------------------------------------------------------------------


def require_provider(conn: Conn, account_id: str, kind: str, arn: str) -> store.Entity:
    """The account's provider of ``kind`` named by ``arn``, or NoSuchEntity."""
    found = store.get_entity_by_arn(conn, account_id, arn, (kind,))
    if found is None:
        raise NoSuchEntity(store.no_such_message(kind, arn))
    return found


def _check_room(conn: Conn, account_id: str, kind: str) -> None:
    if len(store.list_entities(conn, account_id, kind)) >= MAX_PROVIDERS:
        quota = "OpenIdProviders" if kind == store.OIDC_PROVIDER else "SamlProviders"
        raise LimitExceeded(f"Cannot exceed quota for {quota}: {MAX_PROVIDERS}")


# --- OpenID Connect ----------------------------------------------------------------------


def oidc_name(url: str) -> str:
    """The provider's name (and ARN suffix): the URL without its scheme, AWS's spelling.

    IAM accepts only https URLs without query or fragment.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket ("https://[x")
        raise InvalidInput("Invalid Openid Connect Provider URL") from None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput("Invalid Openid Connect Provider URL")
    return url[len("https://") :]


def _thumbprints(values: list[str]) -> list[str]:
    if len(values) > MAX_THUMBPRINTS:
        raise InvalidInput(f"Thumbprint list must contain fewer than {MAX_THUMBPRINTS + 1} entries.")
    for value in values:
        if not _THUMBPRINT.fullmatch(value):
            raise InvalidInput(f"Thumbprint {value} is not a 40-character hexadecimal SHA-1 fingerprint.")
    return list(dict.fromkeys(values))


def _client_ids(values: list[str]) -> list[str]:
    unique = list(dict.fromkeys(values))
    if len(unique) > MAX_CLIENT_IDS:
        raise LimitExceeded(f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}")
    return unique


@handler("iam", "CreateOpenIDConnectProvider")
def create_open_id_connect_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Register an OIDC issuer (thumbprints are optional since IAM trusts public CAs)."""
    url: str = params["Url"]
    name = oidc_name(url)
    account_id = call.account_id or ""
    data = {
        "Url": url,
        "ClientIDList": _client_ids(params.get("ClientIDList") or []),
        "ThumbprintList": _thumbprints(params.get("ThumbprintList") or []),
    }
    with call.gateway.db.session() as s:
        if store.get_entity(s, account_id, store.OIDC_PROVIDER, name) is not None:
            raise EntityAlreadyExists(f"Provider with url {url} already exists.")
        _check_room(s, account_id, store.OIDC_PROVIDER)
        entity = store.insert_entity(
            s, account_id, store.OIDC_PROVIDER, name, data=data, tags=params.get("Tags") or [],
            created_at=call.received_at, entity_id=_provider_id(),
        )
    out: dict[str, Any] = {"OpenIDConnectProviderArn": entity.arn}
    if entity.tags:
        out["Tags"] = entity.tags
    return out


def _provider_id() -> str:
    return store.new_entity_id("AOPA")


@handler("iam", "GetOpenIDConnectProvider")
def get_open_id_connect_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The provider's URL (without scheme, as AWS returns it), audiences, thumbprints, tags."""
    with call.gateway.db.read() as conn:
        p = require_provider(conn, call.account_id or "", store.OIDC_PROVIDER, params["OpenIDConnectProviderArn"])
    out = {
        "Url": p.name,
        "ClientIDList": p.data.get("ClientIDList", []),
        "ThumbprintList": p.data.get("ThumbprintList", []),
        "CreateDate": p.created_at,
        "Tags": p.tags,
    }
    for member in ("ContextProvider", "IdentityCenterInstanceArn", "IdentityStoreArn"):
        if p.data.get(member):
            out[member] = p.data[member]
    return out


@handler("iam", "ListOpenIDConnectProviders")
def list_open_id_connect_providers(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every OIDC provider's ARN (this API has no paging)."""
    with call.gateway.db.read() as conn:
        found = store.list_entities(conn, call.account_id or "", store.OIDC_PROVIDER)
    return {"OpenIDConnectProviderList": [{"Arn": p.arn} for p in sorted(found, key=lambda p: p.arn)]}


def _update_oidc(call: Call, arn: str, member: str, change: Any) -> None:
    """Apply ``change(current list) -> new list`` to one of the provider's lists."""
    with call.gateway.db.session() as s:
        p = require_provider(s, call.account_id or "", store.OIDC_PROVIDER, arn)
        data = dict(p.data)
        data[member] = change(list(data.get(member, [])))
        store.update_entity(s, p, data=data)


@handler("iam", "UpdateOpenIDConnectProviderThumbprint")
def update_open_id_connect_provider_thumbprint(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the whole thumbprint list (certificate rotation at the IdP)."""
    new = _thumbprints(params["ThumbprintList"])
    _update_oidc(call, params["OpenIDConnectProviderArn"], "ThumbprintList", lambda _old: new)
    return {}


@handler("iam", "AddClientIDToOpenIDConnectProvider")
def add_client_id_to_open_id_connect_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add an audience; adding one already present changes nothing (AWS: idempotent)."""
    client_id: str = params["ClientID"]
    _update_oidc(call, params["OpenIDConnectProviderArn"], "ClientIDList", lambda old: _client_ids([*old, client_id]))
    return {}


@handler("iam", "RemoveClientIDFromOpenIDConnectProvider")
def remove_client_id_from_open_id_connect_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove an audience; removing an absent one is not an error (AWS: idempotent)."""
    client_id: str = params["ClientID"]
    arn = params["OpenIDConnectProviderArn"]
    _update_oidc(call, arn, "ClientIDList", lambda old: [c for c in old if c != client_id])
    return {}


@handler("iam", "DeleteOpenIDConnectProvider")
def delete_open_id_connect_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Forget the provider; roles that trust it stop accepting its tokens."""
    with call.gateway.db.session() as s:
        store.delete_entity(
            s, require_provider(s, call.account_id or "", store.OIDC_PROVIDER, params["OpenIDConnectProviderArn"])
        )
    return {}


# --- SAML ------------------------------------------------------------------------------------


def parse_saml_metadata(document: str, now: dt.datetime) -> dt.datetime:
    """Check that the metadata describes an IdP with a signing key; its expiry (ValidUntil).

    Without a ``validUntil`` attribute the provider is valid for 100 years,
    as IAM sets it.
    """
    try:
        root = parse_xml(document)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise InvalidInput(_BAD_METADATA) from None
    if root.tag != f"{_MD}EntityDescriptor":
        raise InvalidInput(_BAD_METADATA)
    idp = root.find(f"{_MD}IDPSSODescriptor")
    if idp is None or idp.find(f".//{_DS}X509Certificate") is None:
        raise InvalidInput(_BAD_METADATA)
    valid_until = root.get("validUntil") or idp.get("validUntil")
    if not valid_until:
        return now + SAML_DEFAULT_VALIDITY
    try:
        moment = dt.datetime.fromisoformat(valid_until)
    except ValueError:
        raise InvalidInput(_BAD_METADATA) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _add_private_key(call: Call, data: dict[str, Any], pem: str) -> None:
    """Keep an assertion-decryption key encrypted under the master key (at most two, as IAM)."""
    keys = list(data.get("PrivateKeys", []))
    if len(keys) >= 2:
        raise LimitExceeded("Cannot exceed quota for PrivateKeysPerSamlProvider: 2")
    key_id = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(32))
    sealed = call.gateway.accounts.master_key.encrypt(pem.encode(), f"rampart/saml-key/{key_id}".encode())
    keys.append({"KeyId": key_id, "Timestamp": store.iso(call.received_at), "Key": base64.b64encode(sealed).decode()})
    data["PrivateKeys"] = keys


def _saml_data(call: Call, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Apply the metadata, encryption mode and key changes of Create/UpdateSAMLProvider."""
    data = dict(data)
    if params.get("SAMLMetadataDocument"):
        valid_until = parse_saml_metadata(params["SAMLMetadataDocument"], call.received_at)
        data["SAMLMetadataDocument"] = params["SAMLMetadataDocument"]
        data["ValidUntil"] = store.iso(valid_until)
    if params.get("AssertionEncryptionMode"):
        data["AssertionEncryptionMode"] = params["AssertionEncryptionMode"]
    if params.get("RemovePrivateKey"):
        kept = [k for k in data.get("PrivateKeys", []) if k["KeyId"] != params["RemovePrivateKey"]]
        if len(kept) == len(data.get("PrivateKeys", [])):
            raise InvalidInput(f"Private key {params['RemovePrivateKey']} does not exist.")
        data["PrivateKeys"] = kept
    if params.get("AddPrivateKey"):
        _add_private_key(call, data, params["AddPrivateKey"])
    if data.get("AssertionEncryptionMode") == "Required" and not data.get("PrivateKeys"):
        raise InvalidInput("AssertionEncryptionMode Required needs at least one private key.")
    return data


@handler("iam", "CreateSAMLProvider")
def create_saml_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Register a SAML IdP from its metadata document."""
    name: str = params["Name"]
    account_id = call.account_id or ""
    data = _saml_data(call, params, {"SAMLProviderUUID": str(uuid.uuid4())})
    with call.gateway.db.session() as s:
        if store.get_entity(s, account_id, store.SAML_PROVIDER, name) is not None:
            raise EntityAlreadyExists(f"SAMLProvider {name} already exists.")
        _check_room(s, account_id, store.SAML_PROVIDER)
        entity = store.insert_entity(
            s, account_id, store.SAML_PROVIDER, name, data=data, tags=params.get("Tags") or [],
            created_at=call.received_at, entity_id=_provider_id(),
        )
    out: dict[str, Any] = {"SAMLProviderArn": entity.arn}
    if entity.tags:
        out["Tags"] = entity.tags
    return out


@handler("iam", "GetSAMLProvider")
def get_saml_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The provider's metadata, validity, tags and (ids of) its decryption keys."""
    with call.gateway.db.read() as conn:
        p = require_provider(conn, call.account_id or "", store.SAML_PROVIDER, params["SAMLProviderArn"])
    out: dict[str, Any] = {
        "SAMLProviderUUID": p.data.get("SAMLProviderUUID"),
        "SAMLMetadataDocument": p.data.get("SAMLMetadataDocument"),
        "CreateDate": p.created_at,
        "ValidUntil": store.from_iso(p.data.get("ValidUntil")),
        "Tags": p.tags,
    }
    if p.data.get("AssertionEncryptionMode"):
        out["AssertionEncryptionMode"] = p.data["AssertionEncryptionMode"]
    if p.data.get("PrivateKeys"):
        out["PrivateKeyList"] = [
            {"KeyId": k["KeyId"], "Timestamp": store.from_iso(k["Timestamp"])} for k in p.data["PrivateKeys"]
        ]
    return {k: v for k, v in out.items() if v is not None}


@handler("iam", "ListSAMLProviders")
def list_saml_providers(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every SAML provider with its creation and expiry times (this API has no paging)."""
    with call.gateway.db.read() as conn:
        found = store.list_entities(conn, call.account_id or "", store.SAML_PROVIDER)
    return {
        "SAMLProviderList": [
            {"Arn": p.arn, "ValidUntil": store.from_iso(p.data.get("ValidUntil")), "CreateDate": p.created_at}
            for p in sorted(found, key=lambda p: p.arn)
        ]
    }


@handler("iam", "UpdateSAMLProvider")
def update_saml_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the metadata (IdP key rotation), encryption mode or decryption keys."""
    with call.gateway.db.session() as s:
        p = require_provider(s, call.account_id or "", store.SAML_PROVIDER, params["SAMLProviderArn"])
        store.update_entity(s, p, data=_saml_data(call, params, p.data))
    return {"SAMLProviderArn": p.arn}


@handler("iam", "DeleteSAMLProvider")
def delete_saml_provider(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Forget the provider; roles that trust it stop accepting its assertions."""
    with call.gateway.db.session() as s:
        provider = require_provider(s, call.account_id or "", store.SAML_PROVIDER, params["SAMLProviderArn"])
        store.delete_entity(s, provider)
    return {}
