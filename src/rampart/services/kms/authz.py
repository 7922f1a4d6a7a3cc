"""KMS in the authorize step: key ARNs behind aliases and blobs, key policies, condition keys.

- Resource resolver: an alias ARN (except for the alias operations, which
  authorize on the alias itself) and a key ARN both resolve to the key, whose
  facts carry the compiled key policy (grants folded in) as a KMS_KEY policy.
- Requirement resolvers: Decrypt without KeyId and ReEncrypt authorize against
  the key named inside the ciphertext blob; RetireGrant by token against the
  grant's key; UpdateAlias and DeleteAlias also against the alias's current key.
- Context resolver: kms:CallerAccount, kms:EncryptionContext:*,
  kms:EncryptionContextKeys, kms:KeySpec/KeyUsage/KeyOrigin, kms:RequestAlias,
  kms:ResourceAliases, kms:Grant*, kms:*Algorithm.
- The root user goes through the engine like everyone (the gateway asks it):
  in its own account the key policy must still allow it, as in AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from rampart.aws.catalog import Requirement
from rampart.gateway.authorize import (
    ResourceFacts,
    add_requirement_resolver,
    set_context_resolver,
    set_resource_resolver,
)
from rampart.gateway.call import Call
from rampart.gateway.registry import on_gateway
from rampart.policy.model import ContextValue
from rampart.services.kms import crypto
from rampart.services.kms.errors import NotFoundException
from rampart.services.kms.keys import (
    Db,
    Key,
    KeyRef,
    aliases_of,
    by_id,
    lookup,
    parse_ref,
    remember_alias_target,
    token_hash,
    view_for_request,
)
from rampart.services.kms.policy import facts
from rampart.services.kms.tables import kms_grants

_ALIAS_OPERATIONS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})
_SYMMETRIC_OPERATIONS = frozenset({"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                                   "GenerateDataKeyWithoutPlaintext"})
_FROM_BLOB = {"Decrypt": "kms:Decrypt", "ReEncrypt": "kms:ReEncryptFrom"}


def resource(call: Call, arn: str) -> ResourceFacts:
    """The key behind a KMS ARN, with its key policy; unknown keys pass through without one."""
    try:
        ref = parse_ref(call, arn)
    except NotFoundException:
        return ResourceFacts(arn)
    if ref.alias is not None and call.operation in _ALIAS_OPERATIONS:
        return ResourceFacts(arn, account=ref.account)
    view = view_for_request(call, ref)
    if view is None:
        return ResourceFacts(arn, account=ref.account)
    return facts(None, view.key, view.grants)


def blob_key(db: Db, blob: Any, call: Call) -> Key | None:
    """The live key a symmetric ciphertext blob names, or None.

    Keys are regional: a blob made in another region names no key here (as in AWS, where the
    key id is unknown to the other region's KMS).
    """
    if not isinstance(blob, (bytes, bytearray)):
        return None
    try:
        header = crypto.read_header(bytes(blob))
    except crypto.CryptoFailure:
        return None
    key = by_id(db, header.key_id, call.received_at)
    return key if key is not None and key.region == call.region else None


def blob_requirements(call: Call, params: Mapping[str, Any]) -> Sequence[Requirement]:
    """Decrypt (without KeyId) and ReEncrypt need their action on the key inside the blob."""
    action = _FROM_BLOB.get(call.operation or "")
    if action is None or (call.operation == "Decrypt" and params.get("KeyId")):
        return ()
    with call.gateway.db.read() as conn:
        key = blob_key(conn, params.get("CiphertextBlob"), call)
    return (Requirement(action, (key.arn,)),) if key is not None else ()


def grant_token_requirements(call: Call, params: Mapping[str, Any]) -> Sequence[Requirement]:
    """RetireGrant by token needs kms:RetireGrant on the key the grant belongs to (the grant's retiring
    principal is allowed there by the statement its grant adds to the key policy).

    Also when a KeyId comes with the token: the catalog then asks about that key, and the token's own
    key must be asked about too, or a token could retire a grant of a key the caller was never
    authorized on (the handler also refuses a token of another key).
    """
    token = params.get("GrantToken")
    if call.operation != "RetireGrant" or not token:
        return ()
    with call.gateway.db.read() as conn:
        key_id = conn.execute(select(kms_grants.c.key_id).where(kms_grants.c.token_hash == token_hash(str(token))))\
            .scalar_one_or_none()
        key = by_id(conn, key_id, call.received_at) if key_id is not None else None
    return (Requirement("kms:RetireGrant", (key.arn,)),) if key is not None else ()


def alias_key_requirements(call: Call, params: Mapping[str, Any]) -> Sequence[Requirement]:
    """UpdateAlias and DeleteAlias also need their action on the key the alias points to now (key policy),
    as AWS documents: without it, a caller could repoint or drop an alias away from a key whose policy
    denies them. (CreateAlias and UpdateAlias name the new target key themselves, in the catalog.)"""
    name = params.get("AliasName")
    if call.operation not in ("UpdateAlias", "DeleteAlias") or not isinstance(name, str) \
            or not name.startswith("alias/"):
        return ()
    with call.gateway.db.read() as conn:
        key = lookup(conn, KeyRef(call.account_id or "", call.region, alias=name), call.received_at)
    if key is None:
        return ()
    remember_alias_target(call, name, key.key_id)  # the handler changes the alias only if it still points here
    return (Requirement(f"kms:{call.operation}", (key.arn,)),)


def _key_for(call: Call, params: Mapping[str, Any], action: str) -> tuple[Key | None, list[str], str | None]:
    """The key an action of this call is about, its aliases, and the alias name the request used."""
    member = {"kms:ReEncryptTo": "DestinationKeyId", "kms:ReEncryptFrom": "SourceKeyId"}.get(action, "KeyId")
    if call.operation in _ALIAS_OPERATIONS:
        member = "TargetKeyId"
    value = params.get(member)
    if value:
        try:
            ref = parse_ref(call, str(value))
        except NotFoundException:
            return None, [], None
        view = view_for_request(call, ref)
        return (view.key, view.aliases, ref.alias) if view is not None else (None, [], ref.alias)
    if call.operation in _FROM_BLOB:
        with call.gateway.db.read() as conn:
            key = blob_key(conn, params.get("CiphertextBlob"), call)
            return key, (aliases_of(conn, key.key_id) if key is not None else []), None
    return None, [], None


def _encryption_context(params: Mapping[str, Any], action: str) -> Mapping[str, str] | None:
    """The encryption context the action is about (ReEncrypt has one per side)."""
    member = {"kms:ReEncryptFrom": "SourceEncryptionContext",
              "kms:ReEncryptTo": "DestinationEncryptionContext"}.get(action, "EncryptionContext")
    value = params.get(member)
    return value if isinstance(value, Mapping) else None


def context(call: Call, params: Mapping[str, Any], action: str) -> Mapping[str, ContextValue]:
    """KMS's condition keys for one action of a call."""
    keys: dict[str, ContextValue] = {"kms:CallerAccount": call.account_id or ""}
    ec = _encryption_context(params, action)
    if ec:
        keys["kms:EncryptionContextKeys"] = sorted(ec)
        keys.update({f"kms:EncryptionContext:{k}": str(v) for k, v in ec.items()})
    for member, name in (("EncryptionAlgorithm", "kms:EncryptionAlgorithm"),
                         ("SigningAlgorithm", "kms:SigningAlgorithm"), ("MacAlgorithm", "kms:MacAlgorithm")):
        if params.get(member):
            keys[name] = str(params[member])
    if call.operation in _SYMMETRIC_OPERATIONS and "kms:EncryptionAlgorithm" not in keys:
        keys["kms:EncryptionAlgorithm"] = crypto.SYMMETRIC
    if call.operation == "CreateKey":
        keys["kms:KeySpec"] = str(params.get("KeySpec") or params.get("CustomerMasterKeySpec") or crypto.SYMMETRIC)
        keys["kms:KeyUsage"] = str(params.get("KeyUsage") or "ENCRYPT_DECRYPT")
        keys["kms:KeyOrigin"] = str(params.get("Origin") or "AWS_KMS")
    if "BypassPolicyLockoutSafetyCheck" in params:
        keys["kms:BypassPolicyLockoutSafetyCheck"] = bool(params["BypassPolicyLockoutSafetyCheck"])
    if call.operation == "CreateGrant":
        keys.update(_grant_keys(params))
    keys.update(_key_keys(call, params, action))
    return keys


def _grant_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """CreateGrant's condition keys: what the new grant would allow, to whom, under which constraint."""
    keys: dict[str, ContextValue] = {"kms:GrantOperations": list(params.get("Operations") or []),
                                     "kms:GranteePrincipal": str(params.get("GranteePrincipal", "")),
                                     "kms:GrantIsForAWSResource": False}
    if params.get("RetiringPrincipal"):
        keys["kms:RetiringPrincipal"] = str(params["RetiringPrincipal"])
    constraints = params.get("Constraints") or {}
    kinds = [kind for kind in ("EncryptionContextEquals", "EncryptionContextSubset") if kind in constraints]
    if kinds:
        keys["kms:GrantConstraintType"] = kinds[0]
    return keys


def _key_keys(call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
    """Keys that come from the key the action is about (spec, usage, origin, aliases)."""
    if call.operation == "CreateKey":
        return {}
    key, aliases, alias = _key_for(call, params, action)
    keys: dict[str, ContextValue] = {}
    if alias is not None:
        keys["kms:RequestAlias"] = alias
    if key is not None:
        keys.update({"kms:KeySpec": key.key_spec, "kms:KeyUsage": key.key_usage, "kms:KeyOrigin": key.origin})
        if aliases:
            keys["kms:ResourceAliases"] = aliases
    return keys


@on_gateway
def wire(gateway: Any) -> None:
    """Plug KMS into the authorize step."""
    set_resource_resolver("kms", resource)
    set_context_resolver("kms", context)
    add_requirement_resolver("kms", blob_requirements)
    add_requirement_resolver("kms", grant_token_requirements)
    add_requirement_resolver("kms", alias_key_requirements)
