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
import re
from typing import Any

import orjson
from sqlalchemy import delete, insert, or_, select, true

from rampart.aws.errors import AccessDenied, ValidationError
from rampart.gateway.authorize import subject_of
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms import crypto
from rampart.services.kms.authz import context as condition_keys
from rampart.services.kms.errors import (
    InvalidGrantIdException,
    InvalidGrantTokenException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
)
from rampart.services.kms.keys import (
    Db,
    Key,
    by_id,
    find,
    grants_of,
    key_arn,
    refuse_dry_run,
    token_hash,
)
from rampart.services.kms.pages import listing
from rampart.services.kms.policy import (
    CONTEXT_OPERATIONS,
    SERVICE_PRINCIPAL,
    allowed,
    facts,
)
from rampart.services.kms.tables import kms_grants, kms_keys

OPERATIONS = frozenset({
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
    "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
})
_COMMON = frozenset({"CreateGrant", "DescribeKey", "RetireGrant"})
# The operations a grant may allow on each kind of key (AWS's "Grant operations" table).
_BY_KIND = {
    "symmetric": _COMMON | CONTEXT_OPERATIONS,
    "rsa-encrypt": _COMMON | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    "sign": _COMMON | {"Sign", "Verify", "GetPublicKey"},
    "hmac": _COMMON | {"GenerateMac", "VerifyMac"},
}
MAX_CONSTRAINT_PAIRS = 8
MAX_CONSTRAINT_VALUE = 384
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:(iam::\d{12}:(root|user/.+|role/.+)"
                        r"|sts::\d{12}:(assumed-role/[^/]+/.+|federated-user/.+))$")


_PRINCIPAL_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def _check_principal(value: str) -> None:
    """An IAM principal ARN (account, user, role, role session, federated user) or a service principal."""
    if not (_PRINCIPAL.match(value) or SERVICE_PRINCIPAL.match(value)):
        raise ValidationError(f"Invalid principal: {value}")


def _grantee(params: dict[str, Any]) -> str:
    """The GranteePrincipal, checked. The model requires neither it nor GranteeServicePrincipal (one of the
    two is needed); Rampart takes a service principal in GranteePrincipal only."""
    if params.get("GranteeServicePrincipal") is not None:
        raise UnsupportedOperationException(
            "GranteeServicePrincipal is not supported; give the service principal as GranteePrincipal.")
    grantee = params.get("GranteePrincipal")
    if grantee is None:
        raise ValidationError("You must specify either GranteePrincipal or GranteeServicePrincipal.")
    _check_principal(grantee)
    return grantee


def _key_kind(key: Key) -> str:
    """Which row of AWS's grant-operations table a key falls in."""
    if key.key_spec == crypto.SYMMETRIC:
        return "symmetric"
    if key.key_spec in crypto.HMAC_SPECS:
        return "hmac"
    return "sign" if key.key_usage == "SIGN_VERIFY" else "rsa-encrypt"


def _check_operations(operations: list[str], constraints: dict[str, Any] | None) -> None:
    """Known operations; constraints only with operations that take an encryption context (DescribeKey and
    RetireGrant may come along, the constraint does not apply to them) and one kind of constraint."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown or not operations:
        raise ValidationError(f"Invalid grant operations: {unknown or operations}")
    if not constraints:
        return
    if not set(operations) <= CONTEXT_OPERATIONS | _COMMON or not set(operations) & (
            CONTEXT_OPERATIONS | {"CreateGrant"}):
        raise ValidationError("Grant constraints apply only to cryptographic operations that take an "
                              "encryption context.")
    if "EncryptionContextEquals" in constraints and "EncryptionContextSubset" in constraints:
        raise ValidationError("Specify either EncryptionContextEquals or EncryptionContextSubset, not both.")
    for pairs in constraints.values():
        if len(pairs or {}) > MAX_CONSTRAINT_PAIRS:
            raise ValidationError(f"A grant constraint can have at most {MAX_CONSTRAINT_PAIRS} encryption context "
                                  "pairs.")
        if any(len(str(v)) > MAX_CONSTRAINT_VALUE for v in (pairs or {}).values()):
            raise ValidationError(f"An encryption context value in a grant constraint cannot exceed "
                                  f"{MAX_CONSTRAINT_VALUE} characters.")


def _check_fits_key(key: Key, operations: list[str], constraints: dict[str, Any] | None) -> None:
    """The operations must exist for the kind of key; context constraints only on symmetric keys."""
    allowed = _BY_KIND[_key_kind(key)]
    wrong = sorted(set(operations) - allowed)
    if wrong:
        raise ValidationError(f"Grant operations {wrong} are not valid for {key.arn} (key spec {key.key_spec}, "
                              f"key usage {key.key_usage}).")
    if constraints and key.key_spec != crypto.SYMMETRIC:
        raise ValidationError("Encryption context grant constraints are valid only on symmetric encryption keys.")


def _at_least_as_strict(child: dict[str, Any] | None, parent: dict[str, Any] | None) -> bool:
    """Whether a new grant's constraint is as strict as (or stricter than) the grant that allowed creating it."""
    if not parent:
        return True
    child = child or {}
    if "EncryptionContextEquals" in parent:
        return child.get("EncryptionContextEquals") == parent["EncryptionContextEquals"]
    wanted = set((parent.get("EncryptionContextSubset") or {}).items())
    given = child.get("EncryptionContextEquals", child.get("EncryptionContextSubset"))
    return given is not None and wanted <= set(given.items())


def _check_from_grant(call: Call, db: Db, key: Key, params: dict[str, Any]) -> None:
    """A caller whose kms:CreateGrant comes only from a grant may create grants within that grant.

    AWS: operations no wider than the parent grant's, and a constraint at least as strict. When the key
    policy (with IAM) alone allows CreateGrant, nothing is narrowed.
    """
    extra = condition_keys(call, params, "kms:CreateGrant")
    if allowed(call, "kms:CreateGrant", facts(None, key, []), extra):
        return
    wanted = set(params["Operations"])
    for row in grants_of(db, key.key_id):
        operations = set(orjson.loads(row.operations))
        if "CreateGrant" not in operations or not allowed(call, "kms:CreateGrant", facts(None, key, [row]), extra):
            continue
        parent = orjson.loads(row.constraints) if row.constraints else None
        if wanted <= operations and _at_least_as_strict(params.get("Constraints") or None, parent):
            return
    raise AccessDenied(f"User: {call.caller.arn} is not authorized to perform: kms:CreateGrant on resource: "
                       f"{key.arn} because the grant that allows it does not allow these operations or constraints")


@handler("kms", "CreateGrant")
def create_grant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A grant on a key: grantee, operations, optional retiring principal and context constraints."""
    grantee = _grantee(params)
    if params.get("RetiringPrincipal"):
        _check_principal(params["RetiringPrincipal"])
    constraints = params.get("Constraints") or None
    operations = list(params["Operations"])
    _check_operations(operations, constraints)
    grant_id = os.urandom(32).hex()
    token = base64.urlsafe_b64encode(os.urandom(96)).decode().rstrip("=")
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        _check_fits_key(key, operations, constraints)
        _check_from_grant(call, session, key, params)
        refuse_dry_run(params)
        session.execute(insert(kms_grants).values(
            grant_id=grant_id, key_id=key.key_id, token_hash=token_hash(token), name=params.get("Name"),
            grantee=grantee, retiring=params.get("RetiringPrincipal"),
            issuing_account=f"arn:aws:iam::{call.account_id}:root",
            operations=orjson.dumps(operations).decode(),
            constraints=orjson.dumps(constraints).decode() if constraints else None, created_at=call.received_at))
    return {"GrantToken": token, "GrantId": grant_id}


def _entry(row: Any, key: Key | None) -> dict[str, Any]:
    """A grant as ListGrants and ListRetirableGrants answer it."""
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
    """A page of grants, in grant id order."""
    return listing("Grants", sorted(items, key=lambda g: g["GrantId"]), params, lambda g: g["GrantId"])


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
    """Grants in this region that a principal may retire: on any account's keys when the principal is of
    the caller's account (AWS: "this operation can return grants in any AWS account"), else only on the
    caller's own keys (whose grants ListGrants shows anyway)."""
    principal = params["RetiringPrincipal"]
    owner = _PRINCIPAL_ACCOUNT.match(principal)
    mine = owner is not None and owner.group(1) == call.account_id
    query = (select(kms_grants, kms_keys.c.region, kms_keys.c.account_id)
             .join(kms_keys, kms_keys.c.key_id == kms_grants.c.key_id)
             .where(kms_grants.c.retiring == principal, kms_keys.c.region == call.region,
                    true() if mine else kms_keys.c.account_id == call.account_id,
                    or_(kms_keys.c.deletion_date.is_(None), kms_keys.c.deletion_date > call.received_at)))
    with call.gateway.db.read() as conn:
        rows = list(conn.execute(query))
    items = [{**_entry(row, None), "KeyId": key_arn(row.region, row.account_id, row.key_id)} for row in rows]
    return _answer(items, params)


def _may_retire(call: Call, row: Any) -> bool:
    """The retiring principal, a grantee holding RetireGrant, or (authorized) principals of the issuing account.

    Role sessions count as their role, and any principal of an account counts as that account's root
    (the authorize step already asked the engine whether this caller may retire on the key).
    """
    principal = subject_of(call).principal
    names = {principal.arn, principal.session_issuer_arn, f"arn:aws:iam::{principal.account}:root"} - {None, ""}
    holders = {row.retiring, row.grantee if "RetireGrant" in orjson.loads(row.operations) else None}
    return bool(names & holders) or row.issuing_account == f"arn:aws:iam::{call.account_id}:root"


@handler("kms", "RetireGrant")
def retire_grant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a grant by its token, or by key and grant id."""
    with call.gateway.db.session() as session:
        row = _grant_to_retire(call, session, params)
        if not _may_retire(call, row):
            raise AccessDenied(f"User: {call.caller.arn} is not authorized to retire grant {row.grant_id}")
        refuse_dry_run(params)
        session.execute(delete(kms_grants).where(kms_grants.c.grant_id == row.grant_id))
    return {}


def _grant_to_retire(call: Call, db: Db, params: dict[str, Any]) -> Any:
    """The grant a token names (which must then also be the KeyId's and GrantId's, when given), or the one
    KeyId and GrantId name."""
    if params.get("GrantToken"):
        row = db.execute(select(kms_grants).where(kms_grants.c.token_hash == token_hash(params["GrantToken"])))\
            .one_or_none()
        key = by_id(db, row.key_id, call.received_at) if row is not None else None
        if row is None or key is None:
            raise InvalidGrantTokenException("The grant token is not valid.")
        if params.get("KeyId") and find(call, db, params["KeyId"]).key_id != key.key_id:
            raise InvalidGrantTokenException("The grant token does not belong to the key named by KeyId.")
        if params.get("GrantId") and params["GrantId"] != row.grant_id:
            raise InvalidGrantIdException("The grant ID does not match the grant token.")
        return row
    if not (params.get("KeyId") and params.get("GrantId")):
        raise ValidationError("Specify a GrantToken, or both KeyId and GrantId.")
    key = find(call, db, params["KeyId"])
    return _grant_of(db, key, params["GrantId"])


def _grant_of(db: Db, key: Key, grant_id: str) -> Any:
    """A grant of the key by id (NotFoundException): grant ids of other keys don't count."""
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
        refuse_dry_run(params)
        session.execute(delete(kms_grants).where(kms_grants.c.grant_id == row.grant_id))
    return {}
