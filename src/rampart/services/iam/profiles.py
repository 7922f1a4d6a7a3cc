"""IAM instance profiles: the containers that hand one role to EC2 instances.

A profile holds at most one role (AWS's InstanceSessionsPerInstanceProfile
quota); membership lives in ``iam_instance_profile_roles`` keyed by names, and
a profile with a role cannot be deleted. Roles inside a profile are shown in
the list shape of a role, trust policy URL-encoded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import DeleteConflict, LimitExceeded, NoSuchEntity
from rampart.services.iam.roles import Conn, profiles_of_role, require_role, role_output
from rampart.services.iam.store import named
from rampart.storage.schema import iam_instance_profile_roles

ROLES_PER_PROFILE = 1

_members = iam_instance_profile_roles.c


def require_profile(conn: Conn, account_id: str, name: str) -> store.Entity:
    """The instance profile, or NoSuchEntity in AWS's words."""
    return store.require_entity(conn, account_id, store.INSTANCE_PROFILE, name)


def profile_roles(conn: Conn, account_id: str, profile_name: str) -> list[store.Entity]:
    """The roles in a profile (a role row that has gone is skipped)."""
    names = conn.execute(
        select(_members.role_name).where(_members.account_id == account_id, named(_members.profile_name, profile_name))
    ).scalars()
    roles = (store.get_entity(conn, account_id, store.ROLE, name) for name in names)
    return sorted((r for r in roles if r is not None), key=lambda r: r.name.lower())


def profile_output(conn: Conn, profile: store.Entity, *, tags: bool = True) -> dict[str, Any]:
    """The InstanceProfile shape with its roles; list operations leave out tags (``tags=False``)."""
    out: dict[str, Any] = {
        "Path": profile.path,
        "InstanceProfileName": profile.name,
        "InstanceProfileId": profile.entity_id,
        "Arn": profile.arn,
        "CreateDate": profile.created_at,
        "Roles": [role_output(r, full=False) for r in profile_roles(conn, profile.account_id, profile.name)],
    }
    if tags and profile.tags:
        out["Tags"] = [dict(t) for t in profile.tags]
    return out


# --- create, read, list, delete ----------------------------------------------------------


@handler("iam", "CreateInstanceProfile")
def create_instance_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new, empty instance profile."""
    with call.gateway.db.session() as session:
        profile = store.insert_entity(
            session,
            call.account_id or "",
            store.INSTANCE_PROFILE,
            params["InstanceProfileName"],
            path=params.get("Path") or "/",
            tags=params.get("Tags") or (),
            created_at=call.received_at,
        )
        return {"InstanceProfile": profile_output(session, profile)}


@handler("iam", "GetInstanceProfile")
def get_instance_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The profile with its role and tags."""
    with call.gateway.db.read() as conn:
        profile = require_profile(conn, call.account_id or "", params["InstanceProfileName"])
        return {"InstanceProfile": profile_output(conn, profile)}


@handler("iam", "ListInstanceProfiles")
def list_instance_profiles(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Profiles under a path prefix, paged, each with its role (tags left out, as AWS lists them)."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        profiles = store.list_entities(conn, account_id, store.INSTANCE_PROFILE, params.get("PathPrefix") or "/")
        chunk, extra = store.page(profiles, params, key=lambda e: e.name.lower())
        return {"InstanceProfiles": [profile_output(conn, p, tags=False) for p in chunk], **extra}


@handler("iam", "DeleteInstanceProfile")
def delete_instance_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a profile once its role has been removed."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        profile = require_profile(session, account_id, params["InstanceProfileName"])
        if profile_roles(session, account_id, profile.name):
            raise DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
        session.execute(
            delete(iam_instance_profile_roles).where(
                _members.account_id == account_id, named(_members.profile_name, profile.name)
            )
        )
        store.delete_entity(session, profile)
    return {}


# --- membership -------------------------------------------------------------------------------


@handler("iam", "AddRoleToInstanceProfile")
def add_role_to_instance_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Put a role in a profile; a profile holds one role at most."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        profile = require_profile(session, account_id, params["InstanceProfileName"])
        role = require_role(session, account_id, params["RoleName"])
        if len(profile_roles(session, account_id, profile.name)) >= ROLES_PER_PROFILE:
            raise LimitExceeded(f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}")
        session.execute(
            insert(iam_instance_profile_roles).values(
                account_id=account_id, profile_name=profile.name, role_name=role.name
            )
        )
        store.changed(session, account_id)
    return {}


@handler("iam", "RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Take the role out of the profile."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        profile = require_profile(session, account_id, params["InstanceProfileName"])
        role = require_role(session, account_id, params["RoleName"])
        removed = session.execute(
            delete(iam_instance_profile_roles).where(
                _members.account_id == account_id,
                named(_members.profile_name, profile.name),
                named(_members.role_name, role.name),
            )
        )
        if not removed.rowcount:
            raise NoSuchEntity(f"The role with name {role.name} cannot be found in instance profile {profile.name}.")
        store.changed(session, account_id)
    return {}


@handler("iam", "ListInstanceProfilesForRole")
def list_instance_profiles_for_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The profiles that contain a role, paged."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        role = require_role(conn, account_id, params["RoleName"])
        names = profiles_of_role(conn, account_id, role.name)
        found = (store.get_entity(conn, account_id, store.INSTANCE_PROFILE, n) for n in names)
        profiles = sorted((p for p in found if p is not None), key=lambda p: p.name.lower())
        chunk, extra = store.page(profiles, params, key=lambda e: e.name.lower())
        return {"InstanceProfiles": [profile_output(conn, p, tags=False) for p in chunk], **extra}
