"""Block Public Access settings and AWS's meaning of "public" for bucket policies.

S3 decides publicness from the policy text, not from who happens to call:
a statement that allows one of the "bad actions" to every principal is
public unless a condition pins it to fixed values (a CIDR set, a source
account, VPC, ARN, an organization ...). The four Block Public Access
settings hold at bucket and account level; the effective value of each is
the OR of both (the most restrictive wins).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from rampart.services.s3.store import Bucket, Conn, get_account_config, get_config

PAB_KIND = "public_access_block"
FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

# Actions that expose a bucket's data to the public (S3 API reference, PublicAccessBlockConfiguration).
_BAD_PREFIXES = ("s3:get", "s3:list", "s3:delete", "s3:put")
_BAD_EXACT = frozenset({"s3:abortmultipartupload", "s3:restoreobject"})

# Condition keys whose fixed values pin a grant to known callers (not public).
_FIXED_KEYS = frozenset(
    {
        "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner", "aws:sourceaccount",
        "aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:principalorgpaths",
        "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid", "aws:sourceorgid", "aws:sourceorgpaths",
    }
)
_EQUALITY_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "arnequals", "stringlike", "arnlike"})
_IP_OPERATORS = frozenset({"ipaddress"})
_MIN_PREFIX = {4: 8, 6: 32}  # narrower than these a CIDR still counts as "a set of CIDRs"


def block_settings(conn: Conn, bucket: Bucket) -> dict[str, bool]:
    """The effective Block Public Access flags of a bucket: bucket OR its owner's account setting."""
    return effective_block(get_config(conn, bucket.name, PAB_KIND), get_account_config(conn, bucket.account_id, PAB_KIND))


def effective_block(own: Mapping[str, Any] | None, account: Mapping[str, Any] | None) -> dict[str, bool]:
    """Each flag set at bucket or at account level (the most restrictive wins)."""
    own, account = own or {}, account or {}
    return {flag: bool(own.get(flag)) or bool(account.get(flag)) for flag in FLAGS}


def normalized(config: Mapping[str, Any]) -> dict[str, bool]:
    """A PublicAccessBlockConfiguration with every flag present (AWS answers all four)."""
    return {flag: bool(config.get(flag, False)) for flag in FLAGS}


def policy_is_public(document: Mapping[str, Any]) -> bool:
    """Whether a bucket policy grants a bad action to the public, per AWS's definition."""
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw]
    return any(isinstance(s, Mapping) and statement_is_public(s) for s in statements)


def statement_is_public(statement: Mapping[str, Any]) -> bool:
    """One Allow statement for everyone, for a bad action, and no fixed-value condition."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True  # allows everyone except a few: public
    if not _names_everyone(statement.get("Principal")):
        return False
    if not _has_bad_action(statement):
        return False
    return not _narrowed(statement.get("Condition"))


def _names_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        values = principal.get("AWS")
        items = values if isinstance(values, list) else [values]
        return "*" in items
    return False


def _has_bad_action(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return True
    raw = statement.get("Action")
    actions = [a.lower() for a in (raw if isinstance(raw, list) else [raw]) if isinstance(a, str)]
    for action in actions:
        if action in ("*", "s3:*") or action in _BAD_EXACT or action.startswith(_BAD_PREFIXES):
            return True
        wildcard = "*" in action or "?" in action  # s3:G* may cover a bad action
        if wildcard and (action.startswith("s3:") or ":" not in action):
            return True
    return False


def _narrowed(condition: Any) -> bool:
    """Whether some condition pins the grant to fixed values AWS accepts as non-public."""
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            continue
        lowered = operator.lower()
        if lowered.startswith("forallvalues:") or lowered.endswith("ifexists"):
            continue  # a missing key passes (ForAllValues is vacuously true): not a restriction
        op = lowered.removeprefix("foranyvalue:")
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not items or not all(isinstance(v, str) for v in items):
                continue
            if op in _IP_OPERATORS and key.lower() == "aws:sourceip" and all(_narrow_cidr(v) for v in items):
                return True
            if op in _EQUALITY_OPERATORS and key.lower() in _FIXED_KEYS and all(_fixed(key, v) for v in items):
                return True
    return False


def _narrow_cidr(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return network.prefixlen >= _MIN_PREFIX[network.version]


def _fixed(key: str, value: str) -> bool:
    """A value without wildcards (aws:userid may be AROLEID:* : a role's sessions are fixed)."""
    if key.lower() == "aws:userid" and value.endswith(":*") and "*" not in value[:-2]:
        return True
    return "*" not in value and "?" not in value
