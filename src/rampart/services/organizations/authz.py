"""Organizations' part of authorization: real resource ARNs, resource tags and its condition keys.

The action catalog cannot fill Organizations' ARN templates: they need the
organization's id and management account (``arn:aws:organizations::MGMT:
ou/o-x/ou-y``), which the request does not carry. The stored organization
does, so a requirement resolver names each action's resources as the Service
Authorization Reference lists them (AttachPolicy: the policy *and* the root,
OU or account it is attached to), and an IAM policy that allows an action on
one OU's ARN means what it does in AWS. Whatever cannot be located (no
organization, an unknown policy id) stays ``"*"``: only ``Resource: "*"``
grants it, so the guess never widens access.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
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
from rampart.services.organizations import store
from rampart.services.organizations.tables import (
    org_handshakes,
    org_organizations,
    org_policies,
    org_tags,
)

POLICY_TYPE_KEY = "organizations:PolicyType"
SERVICE_PRINCIPAL_KEY = "organizations:ServicePrincipal"
ANY = "*"

# Which request members name which kind of resource, per operation (the Service
# Authorization Reference's resource types for the action). Kinds: "account",
# "ou", "root", "policy", "handshake", and "node": whichever of account / OU /
# root / policy the id's shape says.
_MEMBERS: dict[str, tuple[tuple[str, str], ...]] = {
    "AttachPolicy": (("PolicyId", "policy"), ("TargetId", "node")),
    "DetachPolicy": (("PolicyId", "policy"), ("TargetId", "node")),
    "DescribePolicy": (("PolicyId", "policy"),),
    "UpdatePolicy": (("PolicyId", "policy"),),
    "DeletePolicy": (("PolicyId", "policy"),),
    "ListTargetsForPolicy": (("PolicyId", "policy"),),
    "ListPoliciesForTarget": (("TargetId", "node"),),
    "DescribeAccount": (("AccountId", "account"),),
    "RemoveAccountFromOrganization": (("AccountId", "account"),),
    "MoveAccount": (("AccountId", "account"), ("SourceParentId", "node"), ("DestinationParentId", "node")),
    "CreateOrganizationalUnit": (("ParentId", "node"),),
    "DescribeOrganizationalUnit": (("OrganizationalUnitId", "ou"),),
    "UpdateOrganizationalUnit": (("OrganizationalUnitId", "ou"),),
    "DeleteOrganizationalUnit": (("OrganizationalUnitId", "ou"),),
    "ListAccountsForParent": (("ParentId", "node"),),
    "ListChildren": (("ParentId", "node"),),
    "ListOrganizationalUnitsForParent": (("ParentId", "node"),),
    "ListParents": (("ChildId", "node"),),
    "EnablePolicyType": (("RootId", "root"),),
    "DisablePolicyType": (("RootId", "root"),),
    "TagResource": (("ResourceId", "node"),),
    "UntagResource": (("ResourceId", "node"),),
    "ListTagsForResource": (("ResourceId", "node"),),
    "AcceptHandshake": (("HandshakeId", "handshake"),),
    "DeclineHandshake": (("HandshakeId", "handshake"),),
    "CancelHandshake": (("HandshakeId", "handshake"),),
    "DescribeHandshake": (("HandshakeId", "handshake"),),
    "InviteAccountToOrganization": (("@target", "account"),),
}

# Request members that carry organizations:PolicyType directly.
_POLICY_TYPE_MEMBERS = ("Type", "PolicyType", "Filter")


# --- ids to ARNs ---------------------------------------------------------------------


def kind_of(resource_id: str) -> str | None:
    """Which kind of organization resource an id names, by its shape (None: not one)."""
    if len(resource_id) == 12 and resource_id.isdigit():
        return "account"
    for prefix, kind in (("ou-", "ou"), ("r-", "root"), ("p-", "policy"), ("h-", "handshake")):
        if resource_id.startswith(prefix) and len(resource_id) > len(prefix):
            return kind
    return None


def policy_arn(org: store.Org, policy_id: str, policy_type: str, aws_managed: bool) -> str:
    """A policy's ARN: AWS managed ones live under account ``aws``, without an organization."""
    folder = policy_type.lower()
    if aws_managed:
        return f"arn:aws:organizations::aws:policy/{folder}/{policy_id}"
    return org.arn("policy", f"{folder}/{policy_id}")


def _policy_row(conn: store.Conn, org: store.Org, policy_id: str) -> Any:
    return conn.execute(
        select(org_policies.c.policy_type, org_policies.c.aws_managed)
        .where(org_policies.c.org_id == org.org_id, org_policies.c.policy_id == policy_id)
    ).first()


def _located(conn: store.Conn, org: store.Org, kind: str, resource_id: str) -> tuple[str, str | None]:
    """(ARN or "*", the policy's type when the resource is a policy) of one id of the caller's organization."""
    found = kind_of(resource_id)
    if found is None or (kind != "node" and found != kind) or found == "handshake":
        return ANY, None
    if found == "policy":
        row = _policy_row(conn, org, resource_id)
        if row is None:
            return ANY, None
        return policy_arn(org, resource_id, row.policy_type, row.aws_managed), row.policy_type
    return org.arn(found, resource_id), None


def _handshake(conn: store.Conn, call: Call, handshake_id: str) -> str:
    """A handshake's ARN, for the two parties to it only (others learn nothing from a denial)."""
    row = conn.execute(
        select(org_handshakes.c.org_id, org_handshakes.c.target_account_id,
               org_organizations.c.management_account_id)
        .join(org_organizations, org_organizations.c.org_id == org_handshakes.c.org_id)
        .where(org_handshakes.c.handshake_id == handshake_id)
    ).first()
    if row is None or call.account_id not in (row.target_account_id, row.management_account_id):
        return ANY
    return f"arn:aws:organizations::{row.management_account_id}:handshake/{row.org_id}/invite/{handshake_id}"


def _member_value(params: Mapping[str, Any], member: str) -> str | None:
    """The id a member holds; ``@target`` is InviteAccountToOrganization's Target when it names an account."""
    if member == "@target":
        target = params.get("Target")
        if isinstance(target, Mapping) and target.get("Type") == "ACCOUNT":
            value = target.get("Id")
            return value if isinstance(value, str) else None
        return None
    value = params.get(member)
    return value if isinstance(value, str) and value else None


# --- the resolvers ---------------------------------------------------------------------


def requirements(call: Call, params: Mapping[str, Any]) -> Sequence[Requirement]:
    """The operation's action on the ARNs of the resources the request names (none: the catalog's "*")."""
    members = _MEMBERS.get(call.operation or "")
    if members is None:
        return ()
    resources: list[str] = []
    policy_type: str | None = None
    with call.gateway.db.read() as conn:
        org = store.org_of_account(conn, call.account_id or "")
        for member, kind in members:
            value = _member_value(params, member)
            if value is None:
                continue
            if kind == "handshake":
                resources.append(_handshake(conn, call, value))
                continue
            if org is None:
                return ()
            arn, found_type = _located(conn, org, kind, value)
            resources.append(arn)
            policy_type = policy_type or found_type
    if not resources or all(arn == ANY for arn in resources):
        return ()
    context = ((POLICY_TYPE_KEY, policy_type),) if policy_type else ()
    return (Requirement(f"organizations:{call.operation}", tuple(dict.fromkeys(resources)), context),)


def context(call: Call, params: Mapping[str, Any], action: str) -> Mapping[str, ContextValue]:
    """organizations:PolicyType and organizations:ServicePrincipal where the request states them."""
    keys: dict[str, ContextValue] = {}
    for member in _POLICY_TYPE_MEMBERS:
        value = params.get(member)
        if isinstance(value, str) and value:
            keys[POLICY_TYPE_KEY] = value
            break
    principal = params.get("ServicePrincipal")
    if isinstance(principal, str) and principal:
        keys[SERVICE_PRINCIPAL_KEY] = principal
    return keys


def _arn_parts(arn: str) -> tuple[str, str] | None:
    """(organization id, resource id) of an account, OU, root or policy ARN of an organization."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[4] == "aws":
        return None
    path = parts[5].split("/")
    if len(path) < 3 or path[0] not in ("account", "ou", "root", "policy") or not path[1].startswith("o-"):
        return None
    return path[1], path[-1]


def resource(call: Call, arn: str) -> ResourceFacts:
    """An organization resource's tags (aws:ResourceTag/*); its policy-free, same-account facts otherwise.

    ``account`` stays unset: Organizations has no resource policies, and a
    member or invited account's call is decided by its own identity policies.
    """
    found = _arn_parts(arn)
    if found is None:
        return ResourceFacts(arn)
    with call.gateway.db.read() as conn:
        row = conn.execute(
            select(org_tags.c.tags).where(org_tags.c.org_id == found[0], org_tags.c.resource_id == found[1])
        ).first()
    if row is None:
        return ResourceFacts(arn)
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in orjson.loads(row.tags)}
    return ResourceFacts(arn, tags=tags)


@on_gateway
def wire(gateway: Any) -> None:
    """Install Organizations' requirement, context and resource resolvers."""
    add_requirement_resolver("organizations", requirements)
    set_context_resolver("organizations", context)
    set_resource_resolver("organizations", resource)
