"""What every role-assuming operation checks before it issues a session.

``assume_role_checks`` is shared by AssumeRole and the federation operations:
the role (in any account) and its trust policy evaluated by the engine for
the action and for sts:TagSession / sts:SetSourceIdentity when those are
used, DurationSeconds against MaxSessionDuration (and the one-hour cap of
role chaining), session policies (inline and up to 10 managed) with the
packed-size limit, and the session tags (transitive ones inherited).

Trust evaluation is the engine's: the trust policy is the resource policy
with ``resource_must_allow`` (a trust policy must itself allow), the caller's
identity-side policies (boundary and session policies included) beside it, and
the role's account as the resource account. So, as AWS does: in one account a
trust policy naming the caller (or its role, for a session) is enough, one
that names only the account delegates to the caller's identity policies;
across accounts both must allow.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from rampart.aws.errors import AccessDenied, ValidationError
from rampart.gateway.authorize import ResourceFacts, Subject
from rampart.policy import (
    CompiledPolicy,
    Decision,
    PolicyType,
    RequestContext,
    compile_policy,
    evaluate,
    validate_policy,
)
from rampart.policy import (
    MalformedPolicyDocument as EngineMalformed,
)
from rampart.policy.model import ContextValue
from rampart.services.iam import store
from rampart.services.iam.authz import managed_document
from rampart.services.sts.errors import (
    InvalidParameterValue,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
)

Conn = Connection | Session

DEFAULT_DURATION = 3600
CHAINED_MAX_DURATION = 3600
MAX_POLICY_ARNS = 10
# The packed (compressed) allotment for session policies, managed-policy ARNs and tags.
PACKED_LIMIT_BYTES = 2048
_ROLE_ARN = re.compile(r"arn:(aws[\w-]*):iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})")
TRUST_POLICY_ID = "TrustPolicy"
DURATION_OVER_MAX = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
DURATION_OVER_CHAIN = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."


@dataclass(frozen=True)
class RoleGrant:
    """What the checks settled: the role, the session's length, policies and tags.

    ``packed_policy_size`` is AWS's percentage of the allotment, None when the
    request passed no policies or tags (AWS then leaves it out of the response).
    """

    role: store.Entity
    duration: int
    session_policies: tuple[str, ...] = ()
    policy_arns: tuple[str, ...] = ()
    packed_policy_size: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()


# --- the role and its trust policy ----------------------------------------------------


def role_account(role_arn: str) -> str | None:
    """The account in a role ARN, or None when the ARN is not a role's."""
    found = _ROLE_ARN.fullmatch(role_arn)
    return found.group(2) if found else None


def find_role(conn: Conn, role_arn: str) -> store.Entity | None:
    """The role an ARN names exactly (path included), in whichever account owns it."""
    account = role_account(role_arn)
    if account is None:
        return None
    return store.get_entity_by_arn(conn, account, role_arn, (store.ROLE,))


def trust_policy(role: store.Entity) -> CompiledPolicy:
    """The role's trust policy, compiled as the TRUST type (it must allow by itself)."""
    document = role.data.get("AssumeRolePolicyDocument") or '{"Statement": []}'
    return compile_policy(document, TRUST_POLICY_ID, PolicyType.TRUST)


def trust_facts(role: store.Entity) -> ResourceFacts:
    """The role as the resource of an sts:AssumeRole* question: its trust policy and account."""
    return ResourceFacts(role.arn, role.tag_map, trust_policy(role), role.account_id)


def trust_decision(
    subject: Subject, role: store.Entity, action: str, context: Mapping[str, ContextValue]
) -> Decision:
    """The engine's answer to "may the subject do ``action`` (an sts: action) on this role?"."""
    policies = replace(subject.policies, resource=trust_policy(role), resource_must_allow=True)
    request = RequestContext(subject.principal, action, role.arn, role.account_id, context)
    return evaluate(request, policies)


def not_authorized(subject: Subject, action: str, role_arn: str) -> AccessDenied:
    """AWS's AccessDenied for an assume call; an unknown role gets the very same words."""
    who = subject.principal.arn
    if not who:
        return AccessDenied(f"Not authorized to perform {action}")
    return AccessDenied(f"User: {who} is not authorized to perform: {action} on resource: {role_arn}")


def check_trust(
    conn: Conn, subject: Subject, role_arn: str, actions: Sequence[str], context: Mapping[str, ContextValue]
) -> store.Entity:
    """The role, once its trust policy allows every action; else AccessDenied for the first refused."""
    role = find_role(conn, role_arn)
    if role is None:
        raise not_authorized(subject, actions[0], role_arn)
    for action in actions:
        if not trust_decision(subject, role, action, context).allowed:
            raise not_authorized(subject, action, role_arn)
    return role


# --- duration --------------------------------------------------------------------------


def check_duration(role: store.Entity, duration: int | None, *, chained: bool) -> int:
    """The session length: the default hour, at most MaxSessionDuration, one hour when chained."""
    if duration is None:
        return DEFAULT_DURATION
    if duration > int(role.data.get("MaxSessionDuration") or DEFAULT_DURATION):
        raise ValidationError(DURATION_OVER_MAX)
    if chained and duration > CHAINED_MAX_DURATION:
        raise ValidationError(DURATION_OVER_CHAIN)
    return duration


# --- session policies and tags ------------------------------------------------------------


def check_session_policy(document: str) -> None:
    """An inline session policy must be valid policy language (AWS: MalformedPolicyDocument)."""
    try:
        validate_policy(document, PolicyType.SESSION)
    except EngineMalformed as bad:
        raise MalformedPolicyDocument(bad.message) from None


def managed_session_policies(conn: Conn, account_id: str, arns: Sequence[str]) -> tuple[str, ...]:
    """The documents of the PolicyArns, looked up in the session's account (or AWS-managed)."""
    if len(arns) > MAX_POLICY_ARNS:
        raise ValidationError(
            f"1 validation error detected: Value '{list(arns)}' at 'policyArns' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    documents = []
    for arn in arns:
        document = managed_document(conn, account_id, arn)
        if document is None:
            raise MalformedPolicyDocument(f"Policy {arn} does not exist or is not attachable.")
        documents.append(document)
    return tuple(documents)


def policy_arns_of(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``PolicyArns`` member's ARNs ([{"arn": ...}] on the wire)."""
    return tuple(str(item.get("arn") or "") for item in params.get("PolicyArns") or ())


def tags_of(params: Mapping[str, Any]) -> dict[str, str]:
    """``Tags`` as a dict; keys are case-insensitive, so a repeated key is refused."""
    tags: dict[str, str] = {}
    seen: set[str] = set()
    for tag in params.get("Tags") or ():
        key = str(tag["Key"])
        if key.lower() in seen:
            raise InvalidParameterValue("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(key.lower())
        tags[key] = str(tag["Value"])
    return tags


def merge_tags(
    inherited: Mapping[str, str], inherited_keys: Sequence[str], tags: Mapping[str, str], transitive: Sequence[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The new session's tags: the caller's transitive tags, then the request's.

    A transitive tag cannot be overridden further down the chain, and
    TransitiveTagKeys must name tags of this request.
    """
    own = {key.lower() for key in tags}
    missing = [key for key in transitive if key.lower() not in own]
    if missing:
        raise InvalidParameterValue(f"The specified transitive tag key must be included in the requested tags: {missing[0]}")
    carried = {k: v for k, v in inherited.items() if k.lower() in {t.lower() for t in inherited_keys}}
    clash = [key for key in tags if key.lower() in {k.lower() for k in carried}]
    if clash:
        raise InvalidParameterValue(
            f"One of the specified transitive tag keys can't be set because it conflicts with a transitive tag "
            f"key from the calling session: {clash[0]}"
        )
    keys = tuple(dict.fromkeys([*carried, *transitive]))
    return {**carried, **tags}, keys


def packed_policy_size(
    inline: str | None, policy_arns: Sequence[str] = (), tags: Mapping[str, str] | None = None
) -> int:
    """AWS's PackedPolicySize: the percentage of the allotment the packed policies and tags use.

    Like AWS's, the measure is of a compressed packing, not of the plain
    characters (whitespace and repetition cost little): the minified inline
    policy, the managed-policy ARNs and the tags, deflated.
    """
    packed = orjson.dumps(
        {"p": _minified(inline) if inline else None, "a": list(policy_arns), "t": dict(tags or {})}
    )
    return math.ceil(100 * len(zlib.compress(packed, 9)) / PACKED_LIMIT_BYTES)


def _minified(document: str) -> Any:
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        return document


def check_packed_size(inline: str | None, policy_arns: Sequence[str], tags: Mapping[str, str]) -> int | None:
    """The percentage to report (None when nothing was passed); PackedPolicyTooLarge over 100."""
    if not inline and not policy_arns and not tags:
        return None
    size = packed_policy_size(inline, policy_arns, tags)
    if size > 100:
        raise PackedPolicyTooLarge(f"Packed policy consumes {size}% of allotted space, please use smaller policy.")
    return size


# --- all together -----------------------------------------------------------------------


def assume_role_checks(
    call: Any,
    role_arn: str,
    session_name: str,
    duration: int | None,
    *,
    subject: Subject,
    context: Mapping[str, ContextValue],
    action: str = "sts:AssumeRole",
    policy: str | None = None,
    policy_arns: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    transitive_tag_keys: Sequence[str] = (),
    inherited_tags: Mapping[str, str] | None = None,
    inherited_transitive_keys: Sequence[str] = (),
    source_identity: str | None = None,
    chained: bool = False,
) -> RoleGrant:
    """Every check before a role session is issued, in AWS's order; raises AWS's error on the first failure.

    ``subject`` is the caller as the engine sees it (for the federation
    operations: a principal naming the provider, and no identity policies);
    ``context`` the request's condition keys (sts:ExternalId,
    sts:RoleSessionName, aws:RequestTag/*, ... are added here).
    """
    tags = dict(tags or {})
    context = {**context, **assume_context(session_name, tags, transitive_tag_keys, source_identity)}
    actions = [action]
    if tags or transitive_tag_keys:
        actions.append("sts:TagSession")
    if source_identity:
        actions.append("sts:SetSourceIdentity")
    with call.gateway.db.read() as conn:
        role = check_trust(conn, subject, role_arn, actions, context)
        length = check_duration(role, duration, chained=chained)
        if policy:
            check_session_policy(policy)
        managed = managed_session_policies(conn, role.account_id, policy_arns)
    all_tags, keys = merge_tags(inherited_tags or {}, inherited_transitive_keys, tags, transitive_tag_keys)
    size = check_packed_size(policy, policy_arns, tags)
    documents = ((policy,) if policy else ()) + managed
    return RoleGrant(role, length, documents, tuple(policy_arns), size, all_tags, keys)


def assume_context(
    session_name: str | None,
    tags: Mapping[str, str],
    transitive_tag_keys: Sequence[str],
    source_identity: str | None,
) -> dict[str, ContextValue]:
    """The sts: and request-tag condition keys an assume call offers the trust policy."""
    context: dict[str, ContextValue] = {}
    if session_name:
        context["sts:RoleSessionName"] = session_name
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
    if tags:
        context["aws:TagKeys"] = list(tags)
    if transitive_tag_keys:
        context["sts:TransitiveTagKeys"] = list(transitive_tag_keys)
    if source_identity:
        context["sts:SourceIdentity"] = source_identity
    return context
