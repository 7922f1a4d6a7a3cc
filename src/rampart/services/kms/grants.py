"""Grants: per-principal permissions on one key, beside the key policy.

A grant is stored with the SHA-256 of its token (the token is a bearer name
for the grant, so only its hash is kept). ``policy.compiled`` folds the key's
grants into its key policy, so the engine allows a grantee the grant's
operations (under its encryption-context constraints) even where the key
policy says nothing about them. Grants take effect at once here, so grant
tokens are accepted and need not be passed.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson
from sqlalchemy import delete, insert, or_, select

from rampart.aws.errors import AccessDenied, ValidationError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms.errors import (
    InvalidGrantIdException,
    InvalidGrantTokenException,
    KMSInvalidStateException,
    NotFoundException,
)
from rampart.services.kms.keys import Db, Key, by_id, find, key_arn, token_hash
from rampart.services.kms.pages import page
from rampart.services.kms.tables import kms_grants, kms_keys

OPERATIONS = frozenset({
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
    "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
})
_CONSTRAINABLE = frozenset({"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                            "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
                            "GenerateDataKeyPairWithoutPlaintext", "CreateGrant", "RetireGrant"})


def _check_principal(value: str) -> None:
    if not (value.startswith("arn:aws:iam::") or value.endswith(".amazonaws.com")):
        raise ValidationError(f"Invalid principal: {value}")


def _check_operations(operations: list[str], constraints: dict[str, Any] | None) -> None:
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown or not operations:
        raise ValidationError(f"Invalid grant operations: {unknown or operations}")
    if constraints and not set(operations) <= _CONSTRAINABLE:
        raise ValidationError("Grant constraints apply only to cryptographic operations that take an "
                              "encryption context.")
    if constraints and "EncryptionContextEquals" in constraints and "EncryptionContextSubset" in constraints:
        raise ValidationError("Specify either EncryptionContextEquals or EncryptionContextSubset, not both.")


@handler("kms", "CreateGrant")
def create_grant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A grant on a key: grantee, operations, optional retiring principal and context constraints."""
    _check_principal(params["GranteePrincipal"])
    if params.get("RetiringPrincipal"):
        _check_principal(params["RetiringPrincipal"])
    constraints = params.get("Constraints") or None
    _check_operations(list(params["Operations"]), constraints)
    grant_id = os.urandom(32).hex()
    token = base64.urlsafe_b64encode(os.urandom(96)).decode().rstrip("=")
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        session.execute(insert(kms_grants).values(
            grant_id=grant_id, key_id=key.key_id, token_hash=token_hash(token), name=params.get("Name"),
            grantee=params["GranteePrincipal"], retiring=params.get("RetiringPrincipal"),
            issuing_account=f"arn:aws:iam::{call.account_id}:root",
            operations=orjson.dumps(list(params["Operations"])).decode(),
            constraints=orjson.dumps(constraints).decode() if constraints else None, created_at=call.received_at))
    return {"GrantToken": token, "GrantId": grant_id}


def _entry(row: Any, key: Key | None) -> dict[str, Any]:
    out: dict[str, Any] = {"KeyId": key.arn if key else row.key_id, "GrantId": row.grant_id,
                           "CreationDate": row.created_at, "GranteePrincipal": row.grantee,
                           "IssuingAccount": row.issuing_account, "Operations": orjson.loads(row.operations)}
    if row.name:
        out["Name"] = row.name
    if row.retiring:
        out["RetiringPrincipal"] = row.retiring
    if row.constraints:
        out["Constraints"] = orjson.loads(row.constraints)
    return out


def _answer(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    found, marker = page(sorted(items, key=lambda g: g["GrantId"]), params, lambda g: g["GrantId"])
    out: dict[str, Any] = {"Grants": found, "Truncated": marker is not None}
    if marker is not None:
        out["NextMarker"] = marker
    return out


@handler("kms", "ListGrants")
def list_grants(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A key's grants, optionally one grant or one grantee's."""
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
        query = select(kms_grants).where(kms_grants.c.key_id == key.key_id)
        if params.get("GrantId"):
            query = query.where(kms_grants.c.grant_id == params["GrantId"])
        if params.get("GranteePrincipal"):
            query = query.where(kms_grants.c.grantee == params["GranteePrincipal"])
        rows = list(conn.execute(query))
    return _answer([_entry(row, key) for row in rows], params)


@handler("kms", "ListRetirableGrants")
def list_retirable_grants(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Grants of the account's keys in this region that a principal may retire."""
    query = (select(kms_grants, kms_keys.c.region, kms_keys.c.account_id)
             .join(kms_keys, kms_keys.c.key_id == kms_grants.c.key_id)
             .where(kms_grants.c.retiring == params["RetiringPrincipal"], kms_keys.c.account_id == call.account_id,
                    kms_keys.c.region == call.region,
                    or_(kms_keys.c.deletion_date.is_(None), kms_keys.c.deletion_date > call.received_at)))
    with call.gateway.db.read() as conn:
        rows = list(conn.execute(query))
    items = [{**_entry(row, None), "KeyId": key_arn(row.region, row.account_id, row.key_id)} for row in rows]
    return _answer(items, params)


def _may_retire(call: Call, key: Key, row: Any) -> bool:
    """The retiring principal, a grantee holding RetireGrant, or (authorized) callers of the key's account."""
    caller = call.caller.arn or ""
    if caller and caller in (row.retiring, row.grantee if "RetireGrant" in orjson.loads(row.operations) else None):
        return True
    return key.account_id == call.account_id


@handler("kms", "RetireGrant")
def retire_grant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a grant by its token, or by key and grant id."""
    with call.gateway.db.session() as session:
        row, key = _grant_to_retire(call, session, params)
        if not _may_retire(call, key, row):
            raise AccessDenied(f"User: {call.caller.arn} is not authorized to retire grant {row.grant_id}")
        session.execute(delete(kms_grants).where(kms_grants.c.grant_id == row.grant_id))
    return {}


def _grant_to_retire(call: Call, db: Db, params: dict[str, Any]) -> tuple[Any, Key]:
    if params.get("GrantToken"):
        row = db.execute(select(kms_grants).where(kms_grants.c.token_hash == token_hash(params["GrantToken"])))\
            .one_or_none()
        key = by_id(db, row.key_id, call.received_at) if row is not None else None
        if row is None or key is None:
            raise InvalidGrantTokenException("The grant token is not valid.")
        return row, key
    if not (params.get("KeyId") and params.get("GrantId")):
        raise ValidationError("Specify a GrantToken, or both KeyId and GrantId.")
    key = find(call, db, params["KeyId"])
    return _grant_of(db, key, params["GrantId"]), key


def _grant_of(db: Db, key: Key, grant_id: str) -> Any:
    row = db.execute(select(kms_grants).where(kms_grants.c.key_id == key.key_id,
                                              kms_grants.c.grant_id == grant_id)).one_or_none()
    if row is None:
        raise NotFoundException(f"Grant ID {grant_id} not found")
    return row


@handler("kms", "RevokeGrant")
def revoke_grant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a grant of a key (kms:RevokeGrant on the key)."""
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        if len(params["GrantId"]) != 64:
            raise InvalidGrantIdException(f"Invalid grant ID: {params['GrantId']}")
        row = _grant_of(session, key, params["GrantId"])
        session.execute(delete(kms_grants).where(kms_grants.c.grant_id == row.grant_id))
    return {}
