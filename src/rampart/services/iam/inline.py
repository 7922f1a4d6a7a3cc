"""Inline policies: documents embedded in one user, group or role.

Rows of ``iam_inline_policies`` are keyed by the owner's stored name; a Put
replaces a same-named policy. Size quotas: AWS counts the *aggregate* of all
inline policies of an owner (user 2,048, group 5,120, role 10,240 characters,
whitespace not counted), and so does Rampart: each document is checked by
``store.check_document``, then the owner's total.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import PolicyType
from rampart.services.iam import store
from rampart.services.iam.errors import LimitExceeded, NoSuchEntity
from rampart.services.iam.policies import Conn
from rampart.services.iam.roles import require_modifiable
from rampart.storage.schema import iam_inline_policies

_OWNER_MEMBER = {store.USER: "UserName", store.GROUP: "GroupName", store.ROLE: "RoleName"}


def _document(conn: Conn, account: str, kind: str, owner: str, policy: str) -> str | None:
    row = conn.execute(
        select(iam_inline_policies.c.document).where(
            iam_inline_policies.c.account_id == account,
            iam_inline_policies.c.owner_kind == kind,
            iam_inline_policies.c.owner_name == owner,
            iam_inline_policies.c.policy_name == policy,
        )
    ).first()
    return row.document if row else None


def _not_found(kind: str, policy: str) -> NoSuchEntity:
    return NoSuchEntity(f"The {kind} policy with name {policy} cannot be found.")


def _check_aggregate_size(session: Session, account: str, kind: str, owner: str, policy: str, document: str) -> None:
    """IAM's quota is on the sum of an owner's inline policies (whitespace not counted), not on each one."""
    others = session.execute(
        select(iam_inline_policies.c.document).where(
            iam_inline_policies.c.account_id == account,
            iam_inline_policies.c.owner_kind == kind,
            iam_inline_policies.c.owner_name == owner,
            iam_inline_policies.c.policy_name != policy,
        )
    ).scalars()
    total = sum(store.document_size(text) for text in [*others, document])
    limit = store.SIZE_LIMITS[f"{kind}-inline"]
    if total > limit:
        raise LimitExceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} {owner}")


def put(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Create or replace an owner's inline policy after the engine and the size quota accept it."""
    document, policy = params["PolicyDocument"], params["PolicyName"]
    store.check_document(document, PolicyType.IDENTITY, f"{kind}-inline")
    account = call.account_id or ""
    with call.gateway.db.session() as session:
        owner = store.require_entity(session, account, kind, params[_OWNER_MEMBER[kind]])
        if kind == store.ROLE:
            require_modifiable(owner)
        _check_aggregate_size(session, account, kind, owner.name, policy, document)
        key = (
            iam_inline_policies.c.account_id == account,
            iam_inline_policies.c.owner_kind == kind,
            iam_inline_policies.c.owner_name == owner.name,
            iam_inline_policies.c.policy_name == policy,
        )
        if _document(session, account, kind, owner.name, policy) is None:
            session.execute(
                insert(iam_inline_policies).values(
                    account_id=account, owner_kind=kind, owner_name=owner.name, policy_name=policy, document=document
                )
            )
        else:
            session.execute(update(iam_inline_policies).where(*key).values(document=document))
        store.changed(session, account)
    return {}


def get(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """One inline policy, its document URL-encoded as IAM returns it."""
    account, policy = call.account_id or "", params["PolicyName"]
    with call.gateway.db.read() as conn:
        owner = store.require_entity(conn, account, kind, params[_OWNER_MEMBER[kind]])
        document = _document(conn, account, kind, owner.name, policy)
    if document is None:
        raise _not_found(kind, policy)
    return {_OWNER_MEMBER[kind]: owner.name, "PolicyName": policy, "PolicyDocument": store.encode_document(document)}


def remove(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Delete an inline policy; NoSuchEntity when the owner has none of that name."""
    account, policy = call.account_id or "", params["PolicyName"]
    with call.gateway.db.session() as session:
        owner = store.require_entity(session, account, kind, params[_OWNER_MEMBER[kind]])
        if kind == store.ROLE:
            require_modifiable(owner)
        gone = session.execute(
            delete(iam_inline_policies).where(
                iam_inline_policies.c.account_id == account,
                iam_inline_policies.c.owner_kind == kind,
                iam_inline_policies.c.owner_name == owner.name,
                iam_inline_policies.c.policy_name == policy,
            )
        )
        if not gone.rowcount:
            raise _not_found(kind, policy)
        store.changed(session, account)
    return {}


def names(call: Call, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The names of an owner's inline policies, in name order and pages."""
    account = call.account_id or ""
    with call.gateway.db.read() as conn:
        owner = store.require_entity(conn, account, kind, params[_OWNER_MEMBER[kind]])
        rows = conn.execute(
            select(iam_inline_policies.c.policy_name).where(
                iam_inline_policies.c.account_id == account,
                iam_inline_policies.c.owner_kind == kind,
                iam_inline_policies.c.owner_name == owner.name,
            )
        ).all()
    found = sorted(row.policy_name for row in rows)
    chunk, extra = store.page(found, params, key=lambda name: name)
    return {"PolicyNames": chunk, **extra}


@handler("iam", "PutUserPolicy")
def put_user_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Embed (or replace) a policy in a user."""
    return put(call, store.USER, params)


@handler("iam", "GetUserPolicy")
def get_user_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Read a user's inline policy."""
    return get(call, store.USER, params)


@handler("iam", "DeleteUserPolicy")
def delete_user_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove a user's inline policy."""
    return remove(call, store.USER, params)


@handler("iam", "ListUserPolicies")
def list_user_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Name a user's inline policies."""
    return names(call, store.USER, params)


@handler("iam", "PutGroupPolicy")
def put_group_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Embed (or replace) a policy in a group."""
    return put(call, store.GROUP, params)


@handler("iam", "GetGroupPolicy")
def get_group_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Read a group's inline policy."""
    return get(call, store.GROUP, params)


@handler("iam", "DeleteGroupPolicy")
def delete_group_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove a group's inline policy."""
    return remove(call, store.GROUP, params)


@handler("iam", "ListGroupPolicies")
def list_group_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Name a group's inline policies."""
    return names(call, store.GROUP, params)


@handler("iam", "PutRolePolicy")
def put_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Embed (or replace) a policy in a role."""
    return put(call, store.ROLE, params)


@handler("iam", "GetRolePolicy")
def get_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Read a role's inline policy."""
    return get(call, store.ROLE, params)


@handler("iam", "DeleteRolePolicy")
def delete_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove a role's inline policy."""
    return remove(call, store.ROLE, params)


@handler("iam", "ListRolePolicies")
def list_role_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Name a role's inline policies."""
    return names(call, store.ROLE, params)
