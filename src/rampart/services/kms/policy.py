"""Key policies: the defaults, grants folded in, the lockout safety check, and engine questions.

The engine applies KMS's rule itself when the resource policy has type
KMS_KEY: the key policy must allow, and IAM policies count only when the key
policy grants the account. Grants are folded into the compiled key policy as
Allow statements for the grantee (and kms:RetireGrant for the retiring
principal), their encryption-context constraints as conditions, so one engine
question covers key policy, grants and IAM together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from rampart.aws.catalog import Requirement
from rampart.aws.errors import AccessDenied
from rampart.gateway.authorize import (
    ResourceFacts,
    decide_for_resource,
    denied_message,
    request_context,
    subject_of,
)
from rampart.gateway.call import Call
from rampart.policy import (
    CompiledPolicy,
    PolicyType,
    compile_policy,
)
from rampart.policy.model import ContextValue
from rampart.services.kms.keys import Db, Key, grants_of

# Grant operations whose requests carry an encryption context: a grant's context constraint applies to
# these only (DescribeKey and RetireGrant ignore it; for CreateGrant it bounds the new grant's constraint).
CONTEXT_OPERATIONS = frozenset({"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                                "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
                                "GenerateDataKeyPairWithoutPlaintext"})
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")


def default_policy(account: str) -> str:
    """AWS's default key policy: the account root gets kms:*, which delegates to IAM."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}],
    }, indent=2)


def aws_managed_policy(account: str, service: str, region: str) -> str:
    """The policy of an AWS managed key (aws/s3, ...): use only through the service, metadata to the account."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {"Sid": f"Allow access through {service.upper()} for all principals in the account that are authorized "
                    f"to use {service.upper()}", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account,
                                            "kms:ViaService": f"{service}.{region}.amazonaws.com"}}},
            {"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"},
        ],
    }, indent=2)


def _constraint_conditions(constraints: Mapping[str, Any] | None) -> dict[str, Any]:
    """A grant's encryption-context constraint as policy conditions."""
    if not constraints:
        return {}
    equals = constraints.get("EncryptionContextEquals")
    subset = constraints.get("EncryptionContextSubset")
    pairs = equals if equals is not None else subset or {}
    condition: dict[str, Any] = {}
    if pairs:
        condition["StringEquals"] = {f"kms:EncryptionContext:{k}": v for k, v in pairs.items()}
    if equals is not None:
        # Exactly these keys: no key outside the set, and (via StringEquals) each one present.
        condition["ForAllValues:StringEquals"] = {"kms:EncryptionContextKeys": sorted(equals)}
        if not equals:
            condition["Null"] = {"kms:EncryptionContextKeys": "true"}
    return condition


def _principal(value: str) -> dict[str, str]:
    """A grantee or retiring principal as a policy Principal: service principals are not AWS principals."""
    return {"Service": value} if SERVICE_PRINCIPAL.match(value) else {"AWS": value}


def grant_statements(rows: list[Any]) -> list[dict[str, Any]]:
    """Allow statements that stand for the key's grants.

    The encryption-context constraint conditions only the operations that take a context; the grant's
    other operations (DescribeKey, RetireGrant, CreateGrant, ...) are allowed without it, as AWS applies
    grant constraints (CreateGrant's limits are checked by the CreateGrant handler).
    """
    statements: list[dict[str, Any]] = []
    for row in rows:
        operations = orjson.loads(row.operations)
        condition = _constraint_conditions(orjson.loads(row.constraints) if row.constraints else None)
        scoped = [op for op in operations if op in CONTEXT_OPERATIONS] if condition else []
        free = [op for op in operations if op not in scoped]
        for sid, actions, when in (("grant", free, None), ("grantctx", scoped, condition)):
            if not actions:
                continue
            statement: dict[str, Any] = {"Sid": f"{sid}-{row.grant_id[:32]}", "Effect": "Allow",
                                         "Principal": _principal(row.grantee),
                                         "Action": [f"kms:{op}" for op in actions], "Resource": "*"}
            if when:
                statement["Condition"] = when
            statements.append(statement)
        if row.retiring:
            statements.append({"Sid": f"retire-{row.grant_id[:32]}", "Effect": "Allow",
                               "Principal": _principal(row.retiring), "Action": "kms:RetireGrant", "Resource": "*"})
    return statements


def compiled(db: Db | None, key: Key, grants: list[Any] | None = None) -> CompiledPolicy:
    """The key policy with the key's grants folded in, compiled (cached by content).

    The grants are read from ``db`` unless the caller already has them.
    """
    rows = grants if grants is not None or db is None else grants_of(db, key.key_id)
    rows = rows or []
    if not rows:
        return compile_policy(key.policy, key.arn, PolicyType.KMS_KEY)
    document = orjson.loads(key.policy)
    document["Statement"] = _as_list(document.get("Statement")) + grant_statements(rows)
    return compile_policy(document, key.arn, PolicyType.KMS_KEY)


def _as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list."""
    return list(value) if isinstance(value, list) else [value] if value else []


def facts(db: Db | None, key: Key, grants: list[Any] | None = None) -> ResourceFacts:
    """What the engine needs to know about a key (its grants read from ``db`` unless given)."""
    return ResourceFacts(key.arn, key.tags, compiled(db, key, grants), key.account_id)


def check(call: Call, action: str, resource: ResourceFacts, extra: Mapping[str, ContextValue]) -> None:
    """Ask the engine one question for the caller; AccessDeniedException (AWS's wording) on a no."""
    subject = subject_of(call)
    context = {**request_context(call, {}, subject), **extra}
    decision = decide_for_resource(subject, action, resource, context)
    if not decision.allowed:
        raise AccessDenied(denied_message(subject.principal, Requirement(action, (resource.arn,)), resource.arn,
                                          decision))


def allowed(call: Call, action: str, resource: ResourceFacts, extra: Mapping[str, ContextValue]) -> bool:
    """The engine's answer for the caller, without raising (for checks beyond the authorize step)."""
    subject = subject_of(call)
    return decide_for_resource(subject, action, resource, {**request_context(call, {}, subject), **extra}).allowed
