"""IAM server certificates (for load balancers and CloudFront) and users' X.509 signing certificates.

Both are ``iam_entities`` rows. A server certificate (kind ``server-certificate``,
named by its name, ARN ``arn:aws:iam::<account>:server-certificate<path><name>``)
keeps its PEM body and chain as given and its private key only sealed with the
server's master key, bound to the certificate's unique id so a ciphertext
cannot be moved to another row; IAM never returns the key. A signing
certificate (kind ``signing-certificate``, named by its certificate id) belongs
to a user, or to the root user when ``UserName`` is ``None``.

Certificates are parsed with ``cryptography``: what does not parse, or has
expired, is a MalformedCertificate, a key that is not the certificate's is a
KeyPairMismatch, and each chain certificate must have signed the one before it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import (
    DuplicateCertificate,
    EntityAlreadyExists,
    InvalidInput,
    KeyPairMismatch,
    LimitExceeded,
    MalformedCertificate,
    NoSuchEntity,
)
from rampart.services.iam.users import Conn, calling_user_name, require_user

SERVER_CERTIFICATE = "server-certificate"
SIGNING_CERTIFICATE = "signing-certificate"
SERVER_CERTIFICATES_PER_ACCOUNT = 20
SIGNING_CERTIFICATES_PER_USER = 2
SETTABLE_STATUS = ("Active", "Inactive")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BAD_BODY = "Unable to parse certificate. Please ensure the certificate is in PEM format."
_BAD_KEY = "Unable to parse private key. Please ensure the private key is in PEM format and not encrypted."
_EXPIRED = "Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed."
_MISMATCH = "The private key did not match the public key provided. Please verify the key material and try again."
_BAD_CHAIN = (
    "Unable to validate certificate chain. The certificate chain must start with the immediate signing "
    "certificate, followed by any intermediaries in order. The index within the chain of the invalid "
    "certificate is: {index}"
)


# --- shared with ssh_keys.py and service_credentials.py ----------------------------------


def random_id(prefix: str, length: int) -> str:
    """An id in AWS's style: ``prefix`` and upper-case base32 characters, ``length`` in all."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length - len(prefix)))


def owned_by(conn: Conn, account_id: str, kind: str, user_name: str | None) -> list[store.Entity]:
    """A user's (or, for ``None``, the root user's) credentials of one kind, oldest first."""
    wanted = (user_name or "").lower()
    rows = store.list_entities(conn, account_id, kind)
    found = [e for e in rows if str(e.data.get("UserName") or "").lower() == wanted]
    return sorted(found, key=lambda e: (e.created_at, e.name))


def settable_status(status: str) -> str:
    """Active or Inactive: ``Expired`` is a state IAM reaches, never one a caller sets."""
    if status not in SETTABLE_STATUS:
        raise InvalidInput(f"Status {status} cannot be set; use Active or Inactive.")
    return status


def insert_owned(
    s: Any, call: Call, kind: str, entity_id: str, data: dict[str, Any], *, arn: str | None = None
) -> store.Entity:
    """Store a credential row named by its id (ids are random, so the name is never taken)."""
    account_id = call.account_id or ""
    return store.insert_entity(
        s,
        account_id,
        kind,
        entity_id,
        data=data,
        created_at=call.received_at,
        entity_id=entity_id,
        arn=arn or f"arn:aws:iam::{account_id}:{kind}/{entity_id}",
    )


# --- parsing ------------------------------------------------------------------------------------


def parse_certificates(text: str, message: str = _BAD_BODY) -> list[x509.Certificate]:
    """Every certificate in a PEM text, or MalformedCertificate when there is none or one is broken."""
    try:
        found = x509.load_pem_x509_certificates(text.strip().encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        raise MalformedCertificate(message) from None
    if not found:
        raise MalformedCertificate(message)
    return found


def parse_certificate(text: str, now: dt.datetime) -> x509.Certificate:
    """Exactly one certificate, still valid at ``now``."""
    found = parse_certificates(text)
    if len(found) != 1:
        raise MalformedCertificate(_BAD_BODY)
    if found[0].not_valid_after_utc < now:
        raise MalformedCertificate(_EXPIRED)
    return found[0]


def parse_private_key(text: str) -> PrivateKeyTypes:
    """An unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8)."""
    try:
        return serialization.load_pem_private_key(text.strip().encode("latin-1"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise MalformedCertificate(_BAD_KEY) from None


def _spki(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_key_pair(certificate: x509.Certificate, key: PrivateKeyTypes) -> None:
    """KeyPairMismatch unless ``key`` is the private half of the certificate's public key."""
    try:
        same = _spki(certificate.public_key()) == _spki(key.public_key())
    except (ValueError, UnsupportedAlgorithm):
        same = False
    if not same:
        raise KeyPairMismatch(_MISMATCH)


def check_chain(certificate: x509.Certificate, chain_text: str) -> None:
    """Each chain certificate must have signed the one before it (the body first)."""
    chain = parse_certificates(chain_text, _BAD_CHAIN.format(index=-1))
    child = certificate
    for index, issuer in enumerate(chain):
        try:
            child.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            raise MalformedCertificate(_BAD_CHAIN.format(index=index)) from None
        child = issuer


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


# --- server certificates ---------------------------------------------------------------------


def _server_no_such(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Server Certificate with name {name} cannot be found.")


def require_server_certificate(conn: Conn, account_id: str, name: str) -> store.Entity:
    found = store.get_entity(conn, account_id, SERVER_CERTIFICATE, name)
    if found is None:
        raise _server_no_such(name)
    return found


def _check_free(conn: Conn, account_id: str, name: str) -> None:
    if store.get_entity(conn, account_id, SERVER_CERTIFICATE, name) is not None:
        raise EntityAlreadyExists(f"The Server Certificate with name {name} already exists.")


def _key_aad(account_id: str, certificate_id: str) -> bytes:
    """What a sealed private key is bound to: the account and the certificate's unique id."""
    return f"iam/server-certificate/{account_id}/{certificate_id}".encode()


def _server_metadata(entity: store.Entity) -> dict[str, Any]:
    """ServerCertificateMetadata."""
    out: dict[str, Any] = {
        "Path": entity.path,
        "ServerCertificateName": entity.name,
        "ServerCertificateId": entity.entity_id,
        "Arn": entity.arn,
        "UploadDate": entity.created_at,
    }
    expiration = store.from_iso(entity.data.get("Expiration"))
    if expiration is not None:
        out["Expiration"] = expiration
    return out


@handler("iam", "UploadServerCertificate")
def upload_server_certificate(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Store a certificate, its chain and its private key (sealed; never shown again)."""
    account_id = call.account_id or ""
    name: str = params["ServerCertificateName"]
    certificate = parse_certificate(params["CertificateBody"], call.received_at)
    check_key_pair(certificate, parse_private_key(params["PrivateKey"]))
    if params.get("CertificateChain"):
        check_chain(certificate, params["CertificateChain"])
    certificate_id = store.new_entity_id("ASCA")
    sealed = call.gateway.accounts.master_key.encrypt(
        params["PrivateKey"].encode("latin-1"), _key_aad(account_id, certificate_id)
    )
    data: dict[str, Any] = {
        "CertificateBody": params["CertificateBody"],
        "PrivateKey": base64.b64encode(sealed).decode("ascii"),
        "Expiration": store.iso(certificate.not_valid_after_utc),
    }
    if params.get("CertificateChain"):
        data["CertificateChain"] = params["CertificateChain"]
    with call.gateway.db.session() as s:
        _check_free(s, account_id, name)
        if len(store.list_entities(s, account_id, SERVER_CERTIFICATE)) >= SERVER_CERTIFICATES_PER_ACCOUNT:
            quota = SERVER_CERTIFICATES_PER_ACCOUNT
            raise LimitExceeded(f"Cannot exceed quota for ServerCertificatesPerAccount: {quota}")
        path = params.get("Path") or "/"
        entity = store.insert_entity(
            s, account_id, SERVER_CERTIFICATE, name, path=path, data=data, tags=params.get("Tags") or (),
            created_at=call.received_at, entity_id=certificate_id,
        )
    out: dict[str, Any] = {"ServerCertificateMetadata": _server_metadata(entity)}
    if entity.tags:
        out["Tags"] = entity.tags
    return out


@handler("iam", "GetServerCertificate")
def get_server_certificate(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The metadata, body, chain and tags (the private key is never returned)."""
    with call.gateway.db.read() as conn:
        entity = require_server_certificate(conn, call.account_id or "", params["ServerCertificateName"])
    out: dict[str, Any] = {
        "ServerCertificateMetadata": _server_metadata(entity),
        "CertificateBody": entity.data["CertificateBody"],
        "Tags": entity.tags,
    }
    if entity.data.get("CertificateChain"):
        out["CertificateChain"] = entity.data["CertificateChain"]
    return {"ServerCertificate": out}


@handler("iam", "ListServerCertificates")
def list_server_certificates(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Certificates under a path prefix, in name order, one page at a time."""
    with call.gateway.db.read() as conn:
        found = store.list_entities(conn, call.account_id or "", SERVER_CERTIFICATE, params.get("PathPrefix") or "/")
    chunk, extra = store.page(found, params, key=lambda e: e.name.lower())
    return {"ServerCertificateMetadataList": [_server_metadata(e) for e in chunk], **extra}


@handler("iam", "UpdateServerCertificate")
def update_server_certificate(call: Call, params: dict[str, Any]) -> None:
    """Rename and/or move a certificate; its ARN follows, its id and sealed key stay."""
    account_id = call.account_id or ""
    new_name = params.get("NewServerCertificateName") or None
    with call.gateway.db.session() as s:
        entity = require_server_certificate(s, account_id, params["ServerCertificateName"])
        if new_name is not None and new_name.lower() != entity.name.lower():
            _check_free(s, account_id, new_name)
        store.update_entity(s, entity, name=new_name, path=params.get("NewPath") or None)


@handler("iam", "DeleteServerCertificate")
def delete_server_certificate(call: Call, params: dict[str, Any]) -> None:
    """Forget a certificate and its sealed key."""
    with call.gateway.db.session() as s:
        store.delete_entity(s, require_server_certificate(s, call.account_id or "", params["ServerCertificateName"]))


def server_private_key(call: Call, entity: store.Entity) -> str:
    """The PEM private key of a server certificate, unsealed (for services that terminate TLS)."""
    sealed = base64.b64decode(entity.data["PrivateKey"])
    return call.gateway.accounts.master_key.decrypt(sealed, _key_aad(entity.account_id, entity.entity_id)).decode(
        "latin-1"
    )


# --- signing certificates ------------------------------------------------------------------


def _owner(conn: Conn, call: Call, params: dict[str, Any]) -> str | None:
    """The stored name of the user the call is about; None for the root user's own certificates."""
    name = calling_user_name(call, params)
    return None if name is None else require_user(conn, call.account_id or "", name).name


def _require_signing(conn: Conn, account_id: str, owner: str | None, certificate_id: str) -> store.Entity:
    for entity in owned_by(conn, account_id, SIGNING_CERTIFICATE, owner):
        if entity.name == certificate_id:
            return entity
    raise NoSuchEntity(f"The Certificate with id {certificate_id} cannot be found.")


def _signing_output(entity: store.Entity) -> dict[str, Any]:
    """SigningCertificate; the root user's certificates carry no UserName."""
    out: dict[str, Any] = {
        "CertificateId": entity.name,
        "CertificateBody": entity.data["Body"],
        "Status": entity.data["Status"],
        "UploadDate": entity.created_at,
    }
    if entity.data.get("UserName"):
        out["UserName"] = entity.data["UserName"]
    return out


@handler("iam", "UploadSigningCertificate")
def upload_signing_certificate(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add an X.509 certificate to a user (two at most), active at once."""
    account_id = call.account_id or ""
    certificate = parse_certificate(params["CertificateBody"], call.received_at)
    fingerprint = _fingerprint(certificate)
    with call.gateway.db.session() as s:
        owner = _owner(s, call, params)
        everyone = store.list_entities(s, account_id, SIGNING_CERTIFICATE)
        if any(e.data.get("Fingerprint") == fingerprint for e in everyone):
            raise DuplicateCertificate("The certificate is already associated with a user in this account.")
        if len(owned_by(s, account_id, SIGNING_CERTIFICATE, owner)) >= SIGNING_CERTIFICATES_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for SigningCertificatesPerUser: {SIGNING_CERTIFICATES_PER_USER}")
        data = {
            "UserName": owner,
            "Status": "Active",
            "Body": params["CertificateBody"],
            "Fingerprint": fingerprint,
        }
        entity = insert_owned(s, call, SIGNING_CERTIFICATE, random_id("", 28), data)
    return {"Certificate": _signing_output(entity)}


@handler("iam", "ListSigningCertificates")
def list_signing_certificates(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The owner's certificates, oldest first, one page at a time."""
    with call.gateway.db.read() as conn:
        owner = _owner(conn, call, params)
        found = owned_by(conn, call.account_id or "", SIGNING_CERTIFICATE, owner)
    chunk, extra = store.page(found, params, key=lambda e: f"{e.created_at.isoformat()}|{e.name}")
    return {"Certificates": [_signing_output(e) for e in chunk], **extra}


@handler("iam", "UpdateSigningCertificate")
def update_signing_certificate(call: Call, params: dict[str, Any]) -> None:
    """Activate or deactivate a certificate."""
    status = settable_status(params["Status"])
    with call.gateway.db.session() as s:
        entity = _require_signing(s, call.account_id or "", _owner(s, call, params), params["CertificateId"])
        store.update_entity(s, entity, data={**entity.data, "Status": status})


@handler("iam", "DeleteSigningCertificate")
def delete_signing_certificate(call: Call, params: dict[str, Any]) -> None:
    """Remove a certificate for good."""
    with call.gateway.db.session() as s:
        entity = _require_signing(s, call.account_id or "", _owner(s, call, params), params["CertificateId"])
        store.delete_entity(s, entity)
