"""IAM roles: create, read, list, update, delete, trust policies, tags and permissions boundaries.

A role's trust policy is validated by the policy engine as a trust policy (a
Principal is required, a Resource is refused) and stored exactly as given.
Service-linked roles (``roles_linked``) are ordinary role rows flagged
``ServiceLinked`` in their data; only their description may be edited, every
other change answers UnmodifiableEntity as AWS does.

Subordinate state (inline policies, attachments, instance-profile membership)
lives in other tables keyed by the role's name, so deleting a role is refused
while any of it remains.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import PolicyType
from rampart.services.iam import store
from rampart.services.iam.boundaries import boundary_output, check_boundary
from rampart.services.iam.errors import (
    DeleteConflict,
    UnmodifiableEntity,
)
from rampart.services.iam.store import named
from rampart.storage.schema import (
    iam_attachments,
    iam_inline_policies,
    iam_instance_profile_roles,
)

Conn = Connection | Session
DEFAULT_MAX_SESSION_DURATION = 3600


# --- shared with profiles.py and roles_linked.py -----------------------------------------


def require_role(conn: Conn, account_id: str, name: str) -> store.Entity:
    """The role, or NoSuchEntity in AWS's words."""
    return store.require_entity(conn, account_id, store.ROLE, name)


def is_service_linked(role: store.Entity) -> bool:
    """True for a role created by CreateServiceLinkedRole (owned by its AWS service)."""
    return bool(role.data.get("ServiceLinked"))


def protected_message(role_name: str) -> str:
    """AWS's UnmodifiableEntity message for a service-linked (protected) role."""
    return f"Cannot perform the operation on the protected role '{role_name}' - this role is only modifiable by AWS"


def require_modifiable(role: store.Entity) -> None:
    """Refuse changes to a service-linked role (its trust, policies, boundary, deletion).

    Other IAM handlers that change a role (PutRolePolicy, AttachRolePolicy, ...)
    call this too, so the whole API protects these roles alike.
    """
    if is_service_linked(role):
        raise UnmodifiableEntity(protected_message(role.name))


def role_output(role: store.Entity, *, full: bool = True, last_used: bool = False) -> dict[str, Any]:
    """The Role shape.

    List operations (ListRoles, roles inside instance profiles) leave out the
    boundary, tags and RoleLastUsed (``full=False``), as AWS documents; GetRole
    adds RoleLastUsed (``last_used=True``), empty when the role was never used.
    """
    data = role.data
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.entity_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": store.encode_document(data.get("AssumeRolePolicyDocument", "")),
        "MaxSessionDuration": data.get("MaxSessionDuration", DEFAULT_MAX_SESSION_DURATION),
    }
    if data.get("Description"):
        out["Description"] = data["Description"]
    if data.get("MaxSigninSessionDuration"):
        out["MaxSigninSessionDuration"] = data["MaxSigninSessionDuration"]
    if full:
        out.update(boundary_output(role))
        if role.tags:
            out["Tags"] = [dict(t) for t in role.tags]
    if last_used:
        out["RoleLastUsed"] = _last_used(data.get("RoleLastUsed"))
    return out


def _last_used(recorded: dict[str, Any] | None) -> dict[str, Any]:
    """RoleLastUsed from the data column (LastUsedDate stored as ISO text)."""
    if not recorded:
        return {}
    out: dict[str, Any] = {}
    when = recorded.get("LastUsedDate")
    if isinstance(when, str):
        out["LastUsedDate"] = store.from_iso(when)
    elif isinstance(when, dt.datetime):
        out["LastUsedDate"] = when
    if recorded.get("Region"):
        out["Region"] = recorded["Region"]
    return out


def profiles_of_role(conn: Conn, account_id: str, role_name: str) -> list[str]:
    """Names of the instance profiles that contain the role."""
    rows = conn.execute(
        select(iam_instance_profile_roles.c.profile_name).where(
            iam_instance_profile_roles.c.account_id == account_id,
            named(iam_instance_profile_roles.c.role_name, role_name),
        )
    )
    return list(rows.scalars())


def _has_rows(conn: Conn, table: Any, account_id: str, role_name: str) -> bool:
    """Whether an owner-keyed table (inline policies, attachments) has rows for the role."""
    row = conn.execute(
        select(table.c.account_id)
        .where(table.c.account_id == account_id, table.c.owner_kind == store.ROLE, named(table.c.owner_name, role_name))
        .limit(1)
    ).first()
    return row is not None


def delete_conflict(conn: Conn, account_id: str, role_name: str) -> str | None:
    """Why the role cannot be deleted yet (AWS's DeleteConflict message), or None."""
    if _has_rows(conn, iam_attachments, account_id, role_name):
        return "Cannot delete entity, must detach all policies first."
    if _has_rows(conn, iam_inline_policies, account_id, role_name):
        return "Cannot delete entity, must delete policies first."
    if profiles_of_role(conn, account_id, role_name):
        return "Cannot delete entity, must remove roles from instance profile first."
    return None


def _description(value: Any) -> str | None:
    """A description as stored: an empty one clears it."""
    return str(value) if value else None


# --- create, read, list ------------------------------------------------------------------


@handler("iam", "CreateRole")
def create_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new role; the trust policy is validated by the engine, the boundary must exist."""
    account_id = call.account_id or ""
    document = params["AssumeRolePolicyDocument"]
    store.check_document(document, PolicyType.TRUST, "trust")
    data: dict[str, Any] = {
        "AssumeRolePolicyDocument": document,
        "MaxSessionDuration": params.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_DURATION,
    }
    if _description(params.get("Description")):
        data["Description"] = params["Description"]
    if params.get("MaxSigninSessionDuration"):
        data["MaxSigninSessionDuration"] = params["MaxSigninSessionDuration"]
    with call.gateway.db.session() as session:
        if params.get("PermissionsBoundary"):
            data["PermissionsBoundary"] = check_boundary(session, account_id, params["PermissionsBoundary"], "Customer Role")
        role = store.insert_entity(
            session,
            account_id,
            store.ROLE,
            params["RoleName"],
            path=params.get("Path") or "/",
            data=data,
            tags=params.get("Tags") or (),
            created_at=call.received_at,
        )
    return {"Role": role_output(role)}


@handler("iam", "GetRole")
def get_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The role with its trust policy (URL-encoded), boundary, tags and last use."""
    with call.gateway.db.read() as conn:
        role = require_role(conn, call.account_id or "", params["RoleName"])
    return {"Role": role_output(role, last_used=True)}


@handler("iam", "ListRoles")
def list_roles(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Roles under a path prefix, paged; without boundary, tags and last use, as AWS lists them."""
    with call.gateway.db.read() as conn:
        roles = store.list_entities(conn, call.account_id or "", store.ROLE, params.get("PathPrefix") or "/")
    chunk, extra = store.page(roles, params, key=lambda e: e.name.lower())
    return {"Roles": [role_output(r, full=False) for r in chunk], **extra}


# --- update --------------------------------------------------------------------------------


@handler("iam", "UpdateRole")
def update_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Change the description or session limits; a service-linked role allows the description only."""
    with call.gateway.db.session() as session:
        role = require_role(session, call.account_id or "", params["RoleName"])
        limits = ("MaxSessionDuration", "MaxSigninSessionDuration", "ResetMaxSigninSessionDuration")
        if any(params.get(k) is not None for k in limits):
            require_modifiable(role)
        data = dict(role.data)
        if "Description" in params:
            _set_description(data, params["Description"])
        if params.get("MaxSessionDuration") is not None:
            data["MaxSessionDuration"] = params["MaxSessionDuration"]
        if params.get("MaxSigninSessionDuration") is not None:
            data["MaxSigninSessionDuration"] = params["MaxSigninSessionDuration"]
        if params.get("ResetMaxSigninSessionDuration"):
            data.pop("MaxSigninSessionDuration", None)
        store.update_entity(session, role, data=data)
    return {}


def _set_description(data: dict[str, Any], value: Any) -> None:
    """Store a new description, or clear it when empty."""
    description = _description(value)
    if description is None:
        data.pop("Description", None)
    else:
        data["Description"] = description


@handler("iam", "UpdateRoleDescription")
def update_role_description(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The older way to change only the description; answers the updated role."""
    with call.gateway.db.session() as session:
        role = require_role(session, call.account_id or "", params["RoleName"])
        data = dict(role.data)
        _set_description(data, params.get("Description"))
        role = store.update_entity(session, role, data=data)
    return {"Role": role_output(role, last_used=True)}


@handler("iam", "UpdateAssumeRolePolicy")
def update_assume_role_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the trust policy (validated as a trust policy); refused for service-linked roles."""
    document = params["PolicyDocument"]
    with call.gateway.db.session() as session:
        role = require_role(session, call.account_id or "", params["RoleName"])
        require_modifiable(role)
        store.check_document(document, PolicyType.TRUST, "trust")
        store.update_entity(session, role, data={**role.data, "AssumeRolePolicyDocument": document})
    return {}


# --- delete ----------------------------------------------------------------------------------


@handler("iam", "DeleteRole")
def delete_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a role once it has no policies and is in no instance profile."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        role = require_role(session, account_id, params["RoleName"])
        require_modifiable(role)
        conflict = delete_conflict(session, account_id, role.name)
        if conflict is not None:
            raise DeleteConflict(conflict)
        store.delete_entity(session, role)
    return {}


# --- permissions boundary --------------------------------------------------------------------


@handler("iam", "PutRolePermissionsBoundary")
def put_role_permissions_boundary(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set or replace the boundary (an existing managed policy) that caps the role's permissions."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        role = require_role(session, account_id, params["RoleName"])
        require_modifiable(role)
        arn = check_boundary(session, account_id, params["PermissionsBoundary"], "Customer Role")
        store.update_entity(session, role, data={**role.data, "PermissionsBoundary": arn})
    return {}


@handler("iam", "DeleteRolePermissionsBoundary")
def delete_role_permissions_boundary(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the role's boundary (a role without one is left as it is)."""
    with call.gateway.db.session() as session:
        role = require_role(session, call.account_id or "", params["RoleName"])
        require_modifiable(role)
        if "PermissionsBoundary" in role.data:
            data = {k: v for k, v in role.data.items() if k != "PermissionsBoundary"}
            store.update_entity(session, role, data=data)
    return {}
