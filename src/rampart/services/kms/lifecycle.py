"""Key lifecycle: create, describe, list, enable/disable, deletion windows, description, tags, key policies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from rampart.aws.errors import ValidationError
from rampart.gateway.authorize import ResourceFacts
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.jobs import job
from rampart.policy import (
    MalformedPolicyDocument,
    PolicyType,
    compile_policy,
    validate_policy,
)
from rampart.services.kms import crypto
from rampart.services.kms.errors import (
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    TagException,
    UnsupportedOperationException,
)
from rampart.services.kms.keys import Db, Key, destroy_due, find, key_arn, material_aad
from rampart.services.kms.pages import listing
from rampart.services.kms.policy import allowed, default_policy
from rampart.services.kms.tables import kms_key_materials, kms_keys

LOCKOUT = ("The new key policy will not allow you to update the key policy in the future.")


def metadata(key: Key) -> dict[str, Any]:
    """DescribeKey's KeyMetadata (also CreateKey's answer)."""
    out: dict[str, Any] = {
        "AWSAccountId": key.account_id, "KeyId": key.key_id, "Arn": key.arn, "CreationDate": key.created_at,
        "Enabled": key.state == "Enabled", "Description": key.description, "KeyUsage": key.key_usage,
        "KeyState": key.state, "Origin": key.origin, "KeyManager": key.manager,
        "CustomerMasterKeySpec": key.key_spec, "KeySpec": key.key_spec, "MultiRegion": False,
        **crypto.algorithms(key.key_spec, key.key_usage),
    }
    if key.deletion_date is not None:
        out["DeletionDate"] = key.deletion_date
        out["PendingDeletionWindowInDays"] = key.pending_window_days
    return out


MAX_POLICY_BYTES = 32768  # AWS: "The policy size limit is 32 KiB (32768 bytes)"


def check_policy(call: Call, document: str, arn: str, bypass: bool) -> None:
    """A key policy must fit KMS's size quota, be valid and, unless bypassed, still let the caller change it."""
    if len(document.encode()) > MAX_POLICY_BYTES:
        raise LimitExceededException(f"The key policy exceeds the maximum size of {MAX_POLICY_BYTES} bytes.")
    try:
        validate_policy(document, PolicyType.KMS_KEY)
    except MalformedPolicyDocument as exc:
        raise MalformedPolicyDocumentException(exc.message) from exc
    if bypass:
        return
    compiled = compile_policy(document, arn, PolicyType.KMS_KEY)
    future = ResourceFacts(arn, {}, compiled, arn.split(":")[4])
    if not allowed(call, "kms:PutKeyPolicy", future, {"kms:CallerAccount": call.account_id or ""}):
        raise MalformedPolicyDocumentException(LOCKOUT)


MAX_TAGS = 50


def check_tags(tags: list[dict[str, str]]) -> dict[str, str]:
    """Tags as a dict; the aws: prefix is AWS's own."""
    out: dict[str, str] = {}
    for tag in tags:
        if tag["TagKey"].lower().startswith("aws:"):
            raise TagException("Tag keys with the aws: prefix are reserved for AWS.")
        out[tag["TagKey"]] = tag["TagValue"]
    return check_tag_count(out)


def check_tag_count(tags: dict[str, str]) -> dict[str, str]:
    """A key carries at most MAX_TAGS tags (those it has and those added)."""
    if len(tags) > MAX_TAGS:
        raise TagException(f"A KMS key can have at most {MAX_TAGS} tags.")
    return tags


def _spec_and_usage(params: dict[str, Any]) -> tuple[str, str]:
    """CreateKey's key spec and usage, defaulted as AWS does and checked against each other."""
    spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or crypto.SYMMETRIC
    usage = params.get("KeyUsage") or ("GENERATE_VERIFY_MAC" if spec in crypto.HMAC_SPECS else
                                       "SIGN_VERIFY" if spec in crypto.EC_SPECS else "ENCRYPT_DECRYPT")
    if spec not in crypto.valid_specs(usage):
        raise ValidationError(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
    return spec, usage


def new_key(call: Call, db: Db, *, spec: str, usage: str, description: str, policy: str, tags: dict[str, str],
            manager: str = "CUSTOMER", key_id: str | None = None) -> Key:
    """Insert a key and its first material (encrypted under the master key)."""
    key_id, now = key_id or str(uuid.uuid4()), call.received_at
    values = {"key_id": key_id, "account_id": call.account_id, "region": call.region, "description": description,
              "key_spec": spec, "key_usage": usage, "origin": "AWS_KMS", "manager": manager, "state": "Enabled",
              "created_at": now, "deletion_date": None, "pending_window_days": None, "policy": policy,
              "tags": orjson.dumps(tags).decode(), "rotation_days": None, "next_rotation_at": None,
              "current_version": 1}
    db.execute(insert(kms_keys).values(**values))
    add_material(call.gateway.accounts.master_key, db, key_id, 1, crypto.new_material(spec), None, now)
    return Key(**{**values, "tags": tags})


def add_material(master: Any, db: Db, key_id: str, version: int, plain: bytes, rotation: str | None,
                 now: dt.datetime) -> None:
    """Store one key material version, sealed under the master key (AAD: key id and version)."""
    sealed = master.encrypt(plain, material_aad(key_id, version))
    db.execute(insert(kms_key_materials).values(key_id=key_id, version=version, created_at=now,
                                                rotation_type=rotation, material=sealed))


@handler("kms", "CreateKey")
def create_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new customer managed key with fresh material."""
    if params.get("Origin", "AWS_KMS") != "AWS_KMS":
        raise UnsupportedOperationException(f"Origin {params['Origin']} is not supported by Rampart.")
    if params.get("MultiRegion"):
        raise UnsupportedOperationException("Multi-Region keys are not supported by Rampart.")
    if params.get("CustomKeyStoreId") or params.get("XksKeyId"):
        raise UnsupportedOperationException("Custom key stores are not supported by Rampart.")
    spec, usage = _spec_and_usage(params)
    tags = check_tags(params.get("Tags", []))
    policy = params.get("Policy") or default_policy(call.account_id or "")
    key_id = str(uuid.uuid4())
    if "Policy" in params:
        check_policy(call, policy, key_arn(call.region, call.account_id or "", key_id),
                     bool(params.get("BypassPolicyLockoutSafetyCheck")))
    with call.gateway.db.session() as session:
        key = new_key(call, session, spec=spec, usage=usage, description=params.get("Description", ""),
                      policy=policy, tags=tags, key_id=key_id)
    return {"KeyMetadata": metadata(key)}


@handler("kms", "DescribeKey")
def describe_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A key's metadata by id, ARN, alias name or alias ARN."""
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
        return {"KeyMetadata": metadata(key)}


@handler("kms", "ListKeys")
def list_keys(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The account's keys in this region (those past their deletion date are gone)."""
    query = select(kms_keys.c.key_id, kms_keys.c.state, kms_keys.c.deletion_date).where(
        kms_keys.c.account_id == call.account_id, kms_keys.c.region == call.region).order_by(kms_keys.c.key_id)
    with call.gateway.db.read() as conn:
        rows = [row for row in conn.execute(query)
                if not (row.state == "PendingDeletion" and row.deletion_date <= call.received_at)]
    items = [{"KeyId": row.key_id, "KeyArn": key_arn(call.region, call.account_id or "", row.key_id)} for row in rows]
    return listing("Keys", items, params, lambda item: item["KeyId"])


def _set_state(call: Call, params: dict[str, Any], allowed: tuple[str, ...], values: dict[str, Any]) -> Key:
    """Change a key's row when it is in one of the allowed states."""
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        if key.manager == "AWS":
            raise UnsupportedOperationException(f"{key.arn} is an AWS managed key.")
        if key.state not in allowed:
            raise KMSInvalidStateException(f"{key.arn} is {_state_words(key.state)}.")
        if values:
            session.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id).values(**values))
        return key


def _state_words(state: str) -> str:
    """A key state as AWS words it in messages."""
    return {"PendingDeletion": "pending deletion", "Disabled": "disabled", "Enabled": "enabled"}.get(state, state)


@handler("kms", "EnableKey")
def enable_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Enabled again (a key pending deletion must be cancelled first)."""
    _set_state(call, params, ("Enabled", "Disabled"), {"state": "Enabled"})
    return {}


@handler("kms", "DisableKey")
def disable_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Disabled: cryptographic operations answer DisabledException."""
    _set_state(call, params, ("Enabled", "Disabled"), {"state": "Disabled"})
    return {}


@handler("kms", "ScheduleKeyDeletion")
def schedule_key_deletion(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """PendingDeletion for 7-30 days (default 30); the material is destroyed when the window passes."""
    days = params.get("PendingWindowInDays", 30)
    if not 7 <= days <= 30:
        raise ValidationError(f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to "
                              "satisfy constraint: Member must have value less than or equal to 30 and greater "
                              "than or equal to 7")
    when = call.received_at + dt.timedelta(days=days)
    key = _set_state(call, params, ("Enabled", "Disabled"),
                     {"state": "PendingDeletion", "deletion_date": when, "pending_window_days": days})
    return {"KeyId": key.arn, "DeletionDate": when, "KeyState": "PendingDeletion", "PendingWindowInDays": days}


@handler("kms", "CancelKeyDeletion")
def cancel_key_deletion(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Back from PendingDeletion to Disabled, as AWS does."""
    key = _set_state(call, params, ("PendingDeletion",),
                     {"state": "Disabled", "deletion_date": None, "pending_window_days": None})
    return {"KeyId": key.arn}


@handler("kms", "UpdateKeyDescription")
def update_key_description(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new description."""
    _set_state(call, params, ("Enabled", "Disabled"),
               {"description": params["Description"]})
    return {}


@job("kms.key-deletion", every_seconds=60)
def delete_due_keys(gateway: Any, now: dt.datetime) -> None:
    """Destroy keys whose deletion date passed: their material rows are deleted for good."""
    with gateway.db.session() as session:
        destroy_due(session, now)
