"""KMS for other services (S3's SSE-KMS): data keys made and opened on the caller's behalf.

Both functions authorize the CALLER (the call's principal) through the policy
engine, with kms:ViaService set to the calling service's endpoint name, so an
AWS managed key (whose policy allows use only through its service) and a
customer key policy with a kms:ViaService condition behave as in AWS. A denial
raises AccessDenied (AccessDeniedException); the calling service maps it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from rampart.gateway.call import Call
from rampart.services.kms import crypto
from rampart.services.kms.aliases import insert_alias
from rampart.services.kms.authz import blob_key
from rampart.services.kms.authz import context as condition_keys
from rampart.services.kms.errors import (
    InvalidCiphertextException,
    InvalidKeyUsageException,
)
from rampart.services.kms.keys import (
    Db,
    Key,
    KeyRef,
    find,
    lookup,
    material,
    require_usable,
)
from rampart.services.kms.lifecycle import new_key
from rampart.services.kms.operations import open_sealed
from rampart.services.kms.policy import aws_managed_policy, check, facts

__all__ = ["DataKey", "decrypt_data_key_for", "generate_data_key_for"]

_MANAGED_DESCRIPTIONS = {"s3": "Default key that protects my S3 objects when no other key is defined"}


@dataclass(frozen=True)
class DataKey:
    """A fresh 256-bit data key: plaintext for the caller's use, and its blob to store."""

    plaintext: bytes
    ciphertext_blob: bytes
    key_arn: str


def _params(key_id: str | None, ctx: dict[str, str], blob: bytes | None = None) -> dict[str, object]:
    """What the operation's input would have been, for KMS's condition keys."""
    out: dict[str, object] = {"EncryptionContext": ctx}
    if key_id:
        out["KeyId"] = key_id
    if blob is not None:
        out["CiphertextBlob"] = blob
    return out


def _authorize(call: Call, db: Db, key: Key, action: str, params: dict[str, object], via_service: str) -> None:
    """The caller, asking through ``via_service``: kms:ViaService names it, and aws:ViaAWSService is true
    (a service calling KMS with the caller's credentials, as S3 does for SSE-KMS)."""
    extra = {**condition_keys(call, params, action), "kms:ViaService": via_service, "aws:ViaAWSService": True}
    check(call, action, facts(db, key), extra)


def managed_key(call: Call, service: str) -> str:
    """The id of the account's AWS managed key ``alias/aws/<service>``, created on first use as AWS does."""
    ref = KeyRef(call.account_id or "", call.region, alias=f"alias/aws/{service}")
    with call.gateway.db.read() as conn:
        found = lookup(conn, ref, call.received_at)
    if found is not None:
        return found.key_id
    try:
        with call.gateway.db.session() as session:
            if (again := lookup(session, ref, call.received_at)) is not None:
                return again.key_id
            key = new_key(call, session, spec=crypto.SYMMETRIC, usage="ENCRYPT_DECRYPT",
                          description=_MANAGED_DESCRIPTIONS.get(service, f"Default key for {service}"),
                          policy=aws_managed_policy(call.account_id or "", service, call.region), tags={},
                          manager="AWS")
            insert_alias(session, call, ref.alias or "", key.key_id)
            return key.key_id
    except IntegrityError:  # another request created it first
        with call.gateway.db.read() as conn:
            raced = lookup(conn, ref, call.received_at)
        if raced is None:
            raise
        return raced.key_id


def generate_data_key_for(call: Call, key_id: str | None, context: dict[str, str], via_service: str) -> DataKey:
    """kms:GenerateDataKey for the caller via ``via_service``; key_id None means alias/aws/s3."""
    name = key_id or managed_key(call, "s3")
    ctx = dict(context)
    params = _params(name, ctx)
    with call.gateway.db.read() as conn:
        key = find(call, conn, name)
        _authorize(call, conn, key, "kms:GenerateDataKey", params, via_service)
        require_usable(key)
        if key.key_spec != crypto.SYMMETRIC:
            raise InvalidKeyUsageException(f"{key.arn} key spec {key.key_spec} is not valid for GenerateDataKey.")
        plain = os.urandom(32)
        blob = crypto.seal(material(call, conn, key), key.key_id, key.current_version, plain, ctx)
    return DataKey(plain, blob, key.arn)


def decrypt_data_key_for(call: Call, blob: bytes, context: dict[str, str], via_service: str) -> bytes:
    """kms:Decrypt of a data key blob for the caller via ``via_service``, on the key the blob names."""
    ctx = dict(context)
    with call.gateway.db.read() as conn:
        key = blob_key(conn, blob, call)
        if key is None:
            raise InvalidCiphertextException("")
        _authorize(call, conn, key, "kms:Decrypt", _params(None, ctx, blob), via_service)
        require_usable(key)
        return open_sealed(call, conn, key, blob, ctx)
