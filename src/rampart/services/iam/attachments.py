"""Attaching managed policies (customer or AWS managed) to users, groups and roles.

An attachment is one ``iam_attachments`` row keyed by the owner's stored name
and the policy ARN. Attaching what is already attached succeeds quietly, as in
AWS. Every change tells the authorizer (``store.changed``) so the owner's
permissions take effect on the next call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import LimitExceeded, NoSuchEntity, PolicyNotAttachable
from rampart.services.iam.policies import (
    Conn,
    PolicyView,
    check_arn,
    find_policy,
    require_policy,
)
from rampart.services.iam.roles import require_modifiable
from rampart.storage.schema import iam_attachments

# AWS's default quota of managed policies per user, group and role.
MAX_ATTACHED = 10
_QUOTA = {store.USER: "PoliciesPerUser", store.GROUP: "PoliciesPerGroup", store.ROLE: "PoliciesPerRole"}
_OWNER_MEMBER = {store.USER: "UserName", store.GROUP: "GroupName", store.ROLE: "RoleName"}
_NOUN = {store.USER: "User", store.GROUP: "Group", store.ROLE: "Role"}


def attached_arns(conn: Conn, account_id: str, kind: str, owner: str) -> list[str]:
    """The policy ARNs attached to one user, group or role (its stored name)."""
    rows = conn.execute(
        select(iam_attachments.c.policy_arn).where(
            iam_attachments.c.account_id == account_id,
            iam_attachments.c.owner_kind == kind,
            iam_attachments.c.owner_name == owner,
        )
    ).all()
    return [row.policy_arn for row in rows]


def _attachable(conn: Conn, account_id: str, kind: str, arn: str) -> PolicyView:
    """The policy to attach, or AWS's refusal (missing, a service-linked or service-role policy)."""
    check_arn(arn)
    view = find_policy(conn, account_id, arn)
    if view is None or not view.attachable:
        raise NoSuchEntity(store.no_such_message(store.POLICY, arn))
    if view.entity is None and view.path.startswith("/service-role/") and kind != store.ROLE:
        raise PolicyNotAttachable(f"Cannot attach a Service Role Policy to a {_NOUN[kind]}.")
    return view


def attach(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Attach a managed policy to an owner, within the per-owner quota."""
    arn = params["PolicyArn"]
    account = call.account_id or ""
    with call.gateway.db.session() as session:
        owner = store.require_entity(session, account, kind, params[_OWNER_MEMBER[kind]])
        if kind == store.ROLE:
            require_modifiable(owner)
        _attachable(session, account, kind, arn)
        current = attached_arns(session, account, kind, owner.name)
        if arn in current:
            return {}
        if len(current) >= MAX_ATTACHED:
            raise LimitExceeded(f"Cannot exceed quota for {_QUOTA[kind]}: {MAX_ATTACHED}")
        session.execute(
            insert(iam_attachments).values(account_id=account, owner_kind=kind, owner_name=owner.name, policy_arn=arn)
        )
        store.changed(session, account)
    return {}


def detach(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Detach a managed policy; NoSuchEntity when it is not attached to that owner."""
    arn = params["PolicyArn"]
    account = call.account_id or ""
    with call.gateway.db.session() as session:
        owner = store.require_entity(session, account, kind, params[_OWNER_MEMBER[kind]])
        if kind == store.ROLE:
            require_modifiable(owner)
        check_arn(arn)
        if arn not in attached_arns(session, account, kind, owner.name):
            raise NoSuchEntity(f"Policy {arn} was not found.")
        _remove(session, account, kind, owner.name, arn)
    return {}


def _remove(session: Session, account: str, kind: str, owner: str, arn: str) -> None:
    session.execute(
        delete(iam_attachments).where(
            iam_attachments.c.account_id == account,
            iam_attachments.c.owner_kind == kind,
            iam_attachments.c.owner_name == owner,
            iam_attachments.c.policy_arn == arn,
        )
    )
    store.changed(session, account)


def _policy_name_path(arn: str) -> tuple[str, str]:
    """Name and path from a policy ARN (``...:policy/a/b/Name`` -> ``Name``, ``/a/b/``)."""
    resource = arn.split(":policy", 1)[1]
    path, name = resource.rsplit("/", 1)
    return name, path + "/"


def _attached_key(item: tuple[str, str]) -> str:
    """Paging key: policy name (case folded), then ARN; the space sorts before any name character."""
    return f"{item[0].lower()} {item[1]}"


def list_attached(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """An owner's attached managed policies under a path prefix, in name order and pages."""
    prefix = params.get("PathPrefix") or "/"
    account = call.account_id or ""
    with call.gateway.db.read() as conn:
        owner = store.require_entity(conn, account, kind, params[_OWNER_MEMBER[kind]])
        arns = attached_arns(conn, account, kind, owner.name)
    named = [(*_policy_name_path(arn), arn) for arn in arns]
    items = sorted(((n, a) for n, p, a in named if p.startswith(prefix)), key=_attached_key)
    chunk, extra = store.page(items, params, key=_attached_key)
    return {"AttachedPolicies": [{"PolicyName": n, "PolicyArn": a} for n, a in chunk], **extra}


@handler("iam", "AttachUserPolicy")
def attach_user_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Grant a user a managed policy's permissions."""
    return attach(call, store.USER, params)


@handler("iam", "DetachUserPolicy")
def detach_user_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Take a managed policy's permissions from a user."""
    return detach(call, store.USER, params)


@handler("iam", "ListAttachedUserPolicies")
def list_attached_user_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The managed policies attached to a user."""
    return list_attached(call, store.USER, params)


@handler("iam", "AttachGroupPolicy")
def attach_group_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Grant a group a managed policy's permissions."""
    return attach(call, store.GROUP, params)


@handler("iam", "DetachGroupPolicy")
def detach_group_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Take a managed policy's permissions from a group."""
    return detach(call, store.GROUP, params)


@handler("iam", "ListAttachedGroupPolicies")
def list_attached_group_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The managed policies attached to a group."""
    return list_attached(call, store.GROUP, params)


@handler("iam", "AttachRolePolicy")
def attach_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Grant a role a managed policy's permissions."""
    return attach(call, store.ROLE, params)


@handler("iam", "DetachRolePolicy")
def detach_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Take a managed policy's permissions from a role."""
    return detach(call, store.ROLE, params)


@handler("iam", "ListAttachedRolePolicies")
def list_attached_role_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The managed policies attached to a role."""
    return list_attached(call, store.ROLE, params)



# --- ListEntitiesForPolicy ------------------------------------------------------------------

_FILTER_KIND = {"User": store.USER, "Group": store.GROUP, "Role": store.ROLE}
_OUTPUT = {
    store.USER: ("PolicyUsers", "UserName", "UserId"),
    store.GROUP: ("PolicyGroups", "GroupName", "GroupId"),
    store.ROLE: ("PolicyRoles", "RoleName", "RoleId"),
}


def _users_of(conn: Conn, account: str, arn: str, kinds: list[str], usage: str | None) -> list[store.Entity]:
    """Users, groups and roles that use the policy as permissions policy and/or boundary."""
    found: dict[tuple[str, str], store.Entity] = {}
    for kind in kinds:
        if usage != "PermissionsBoundary":
            rows = conn.execute(
                select(iam_attachments.c.owner_name).where(
                    iam_attachments.c.account_id == account,
                    iam_attachments.c.owner_kind == kind,
                    iam_attachments.c.policy_arn == arn,
                )
            ).all()
            for row in rows:
                entity = store.get_entity(conn, account, kind, row.owner_name)
                if entity is not None:
                    found[(kind, entity.name)] = entity
        if usage != "PermissionsPolicy" and kind in (store.USER, store.ROLE):
            for entity in store.list_entities(conn, account, kind):
                if entity.data.get("PermissionsBoundary") == arn:
                    found[(kind, entity.name)] = entity
    return list(found.values())


def _entity_key(entity: store.Entity) -> str:
    """Paging key: kind, then name (case folded)."""
    return f"{entity.kind} {entity.name.lower()}"


@handler("iam", "ListEntitiesForPolicy")
def list_entities_for_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Who uses a managed policy: users, groups and roles, filtered by kind, path and usage."""
    arn = params["PolicyArn"]
    account = call.account_id or ""
    chosen = _FILTER_KIND.get(params.get("EntityFilter") or "")
    kinds = [chosen] if chosen else [store.USER, store.GROUP, store.ROLE]
    prefix = params.get("PathPrefix") or "/"
    with call.gateway.db.read() as conn:
        require_policy(conn, account, arn)
        entities = _users_of(conn, account, arn, kinds, params.get("PolicyUsageFilter"))
    kept = sorted((e for e in entities if e.path.startswith(prefix)), key=_entity_key)
    chunk, extra = store.page(kept, params, key=_entity_key)
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    for entity in chunk:
        member, name_key, id_key = _OUTPUT[entity.kind]
        out[member].append({name_key: entity.name, id_key: entity.entity_id})
    return {**out, **extra}
