"""Key policies (one per key, named "default") and key tags."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms.errors import KMSInvalidStateException, NotFoundException
from rampart.services.kms.keys import find
from rampart.services.kms.lifecycle import check_policy, check_tag_count, check_tags
from rampart.services.kms.tables import kms_keys

POLICY_NAME = "default"


def _policy_name(params: dict[str, Any]) -> None:
    """KMS keys have one policy, named "default"; any other name is not found."""
    if params.get("PolicyName", POLICY_NAME) != POLICY_NAME:
        raise NotFoundException("No such policy exists")


@handler("kms", "GetKeyPolicy")
def get_key_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The key policy document as stored."""
    _policy_name(params)
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
    return {"Policy": key.policy, "PolicyName": POLICY_NAME}


@handler("kms", "ListKeyPolicies")
def list_key_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Always the one name, "default"."""
    with call.gateway.db.read() as conn:
        find(call, conn, params["KeyId"])  # NotFoundException for an unknown key
    return {"PolicyNames": [POLICY_NAME], "Truncated": False}


@handler("kms", "PutKeyPolicy")
def put_key_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the key policy; refused when it would lock the caller out, unless the check is bypassed."""
    _policy_name(params)
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        check_policy(call, params["Policy"], key.arn, bool(params.get("BypassPolicyLockoutSafetyCheck")))
        session.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id).values(policy=params["Policy"]))
    return {}


def _change_tags(call: Call, params: dict[str, Any], add: dict[str, str], remove: list[str]) -> None:
    """Add and remove tags of a key (not one pending deletion), within the tag quota."""
    with call.gateway.db.session() as session:
        key = find(call, session, params["KeyId"])
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        tags = {k: v for k, v in key.tags.items() if k not in remove}
        tags.update(add)
        check_tag_count(tags)
        session.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id)
                        .values(tags=orjson.dumps(tags).decode()))


@handler("kms", "TagResource")
def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags."""
    _change_tags(call, params, check_tags(params["Tags"]), [])
    return {}


@handler("kms", "UntagResource")
def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove tags by key."""
    _change_tags(call, params, {}, list(params["TagKeys"]))
    return {}


@handler("kms", "ListResourceTags")
def list_resource_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The key's tags, sorted by key."""
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
    tags = [{"TagKey": k, "TagValue": v} for k, v in sorted(key.tags.items())]
    return {"Tags": tags, "Truncated": False}
