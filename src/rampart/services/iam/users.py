"""IAM users: create, read, list, rename, delete, tags and permissions boundaries.

A user's subordinate state lives in other tables keyed by the user's name
(group memberships, inline policies, attachments, login profile, access keys,
MFA devices), so renaming a user moves all of it in the same transaction and
deleting one is refused while any of it remains, as AWS does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from rampart.aws.errors import ValidationError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.boundaries import boundary_output, check_boundary
from rampart.services.iam.errors import DeleteConflict
from rampart.services.iam.store import named
from rampart.storage.schema import (
    access_keys,
    accounts,
    iam_attachments,
    iam_group_members,
    iam_inline_policies,
    iam_login_profiles,
)

Conn = Connection | Session


# --- shared with groups.py and keys.py ------------------------------------------------


def calling_user_name(call: Call, params: dict[str, Any]) -> str | None:
    """The UserName parameter, else the calling IAM user's name; None for the root user.

    IAM operations that take an optional UserName act on the caller when it is
    omitted; credentials of anything but a user or root cannot do that.
    """
    name = params.get("UserName")
    if name:
        return str(name)
    principal = call.caller.principal
    kind = getattr(principal, "kind", None)
    if kind == "root":
        return None
    if kind == "user" and principal.name:
        return str(principal.name)
    raise ValidationError("Must specify userName when calling with non-User credentials")


def require_user(conn: Conn, account_id: str, name: str) -> store.Entity:
    """The user, or NoSuchEntity in AWS's words."""
    return store.require_entity(conn, account_id, store.USER, name)


_PASSWORD_LAST_USED = select(iam_login_profiles.c.last_used_at).where(
    iam_login_profiles.c.account_id == bindparam("account_id"),
    iam_login_profiles.c.user_name == bindparam("user_name"),
)


def password_last_used(conn: Conn, account_id: str, user_name: str) -> dt.datetime | None:
    """When the user's console password was last used (User.PasswordLastUsed), if ever.

    ``user_name`` is the stored spelling (``Entity.name``); rows keyed by user carry it exactly.
    """
    return conn.execute(_PASSWORD_LAST_USED, {"account_id": account_id, "user_name": user_name}).scalar()


def user_output(user: store.Entity, last_used: dt.datetime | None = None, *, full: bool = True) -> dict[str, Any]:
    """The User shape; list operations leave out boundary and tags (``full=False``) as AWS does."""
    out: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.entity_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }
    if last_used is not None:
        out["PasswordLastUsed"] = last_used
    if full:
        out.update(boundary_output(user))
        if user.tags:
            out["Tags"] = [dict(t) for t in user.tags]
    return out


def forget_user_keys(call: Call, session: Session, account_id: str, user_name: str) -> None:
    """Drop the user's cached key records now and after commit (their principal changed)."""
    accounts_store = call.gateway.accounts
    if accounts_store is None:
        return
    key_ids = session.execute(
        select(access_keys.c.access_key_id).where(
            access_keys.c.account_id == account_id,
            access_keys.c.principal_kind == "user",
            named(access_keys.c.user_name, user_name),
        )
    ).scalars().all()
    for key_id in key_ids:
        accounts_store.invalidate(key_id)

    def after_commit(_session: Session) -> None:
        for key_id in key_ids:
            accounts_store.invalidate(key_id)

    sa_event.listen(session, "after_commit", after_commit, once=True)



# --- handlers ---------------------------------------------------------------------------


@handler("iam", "CreateUser")
def create_user(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new user; the boundary, if given, must be an existing managed policy."""
    account_id = call.account_id or ""
    data: dict[str, Any] = {}
    with call.gateway.db.session() as s:
        if params.get("PermissionsBoundary"):
            data["PermissionsBoundary"] = check_boundary(s, account_id, params["PermissionsBoundary"], "User")
        user = store.insert_entity(
            s,
            account_id,
            store.USER,
            params["UserName"],
            path=params.get("Path") or "/",
            data=data,
            tags=params.get("Tags") or (),
            created_at=call.received_at,
        )
    return {"User": user_output(user)}


@handler("iam", "GetUser")
def get_user(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A user, or the caller itself when no name is given (root answers as the account)."""
    account_id = call.account_id or ""
    name = calling_user_name(call, params)
    with call.gateway.db.read() as conn:
        if name is None:
            return {"User": _root_user(conn, account_id)}
        user = require_user(conn, account_id, name)
        return {"User": user_output(user, password_last_used(conn, account_id, user.name))}


def _root_user(conn: Connection, account_id: str) -> dict[str, Any]:
    """The root user as GetUser shows it: account id as UserId, the root ARN, no name or path."""
    created = conn.execute(select(accounts.c.created_at).where(accounts.c.account_id == account_id)).scalar()
    out: dict[str, Any] = {"UserId": account_id, "Arn": f"arn:aws:iam::{account_id}:root"}
    if created is not None:
        out["CreateDate"] = created
    return out


@handler("iam", "ListUsers")
def list_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Users under a path prefix, one page at a time (no tags or boundary, as AWS lists them)."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        users = store.list_entities(conn, account_id, store.USER, params.get("PathPrefix") or "/")
        chunk, extra = store.page(users, params, key=lambda e: e.name.lower())
        used = _passwords_last_used(conn, account_id, [u.name for u in chunk])
    return {"Users": [user_output(u, used.get(u.name), full=False) for u in chunk], **extra}


def _passwords_last_used(conn: Connection, account_id: str, names: list[str]) -> dict[str, dt.datetime]:
    if not names:
        return {}
    rows = conn.execute(
        select(iam_login_profiles.c.user_name, iam_login_profiles.c.last_used_at).where(
            iam_login_profiles.c.account_id == account_id,
            func.lower(iam_login_profiles.c.user_name).in_([n.lower() for n in names]),
            iam_login_profiles.c.last_used_at.is_not(None),
        )
    ).all()
    by_name = {r.user_name.lower(): r.last_used_at for r in rows}
    return {n: by_name[n.lower()] for n in names if n.lower() in by_name}


@handler("iam", "UpdateUser")
def update_user(call: Call, params: dict[str, Any]) -> None:
    """Rename and/or move a user; everything keyed by its name follows the new name."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = require_user(s, account_id, params["UserName"])
        new_name = params.get("NewUserName") or None
        updated = store.update_entity(s, user, name=new_name, path=params.get("NewPath") or None)
        forget_user_keys(call, s, account_id, user.name)
        if updated.name != user.name:
            _rename_references(s, account_id, user.name, updated.name)


def _user_rows(table: Any, account_id: str, name: str) -> list[ColumnElement[bool]]:
    """The WHERE clauses that select one user's rows of a table keyed by user."""
    if table is access_keys:
        return [table.c.account_id == account_id, table.c.principal_kind == "user", named(table.c.user_name, name)]
    if table in (iam_inline_policies, iam_attachments):
        return [table.c.account_id == account_id, table.c.owner_kind == store.USER, named(table.c.owner_name, name)]
    return [table.c.account_id == account_id, named(table.c.user_name, name)]


def _rename_references(s: Session, account_id: str, old: str, new: str) -> None:
    """Point memberships, policies, attachments, login profile, keys and MFA devices at ``new``."""
    for table in (iam_group_members, iam_login_profiles, access_keys):
        s.execute(update(table).where(*_user_rows(table, account_id, old)).values(user_name=new))
    for table in (iam_inline_policies, iam_attachments):
        s.execute(update(table).where(*_user_rows(table, account_id, old)).values(owner_name=new))
    for kind in (store.MFA, *(kind for kind, _ in _CREDENTIAL_BLOCKERS)):
        for owned in _owned_by(s, account_id, kind, old):
            store.update_entity(s, owned, data={**owned.data, "UserName": new})


def _owned_by(conn: Conn, account_id: str, kind: str, user_name: str) -> list[store.Entity]:
    """Entities of one kind that belong to the user through ``data.UserName`` (MFA devices, certificates, ...)."""
    entities = store.list_entities(conn, account_id, kind)
    return [e for e in entities if str(e.data.get("UserName") or "").lower() == user_name.lower()]


@handler("iam", "DeleteUser")
def delete_user(call: Call, params: dict[str, Any]) -> None:
    """Delete a user that has nothing left attached to it (DeleteConflict otherwise)."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = require_user(s, account_id, params["UserName"])
        problem = _delete_conflict(s, account_id, user.name)
        if problem is not None:
            raise DeleteConflict(f"Cannot delete entity, must {problem} first.")
        store.delete_entity(s, user)


# What must go before a user can be deleted, in the order checked, with AWS's words.
_DELETE_BLOCKERS = (
    (iam_login_profiles, "delete login profile"),
    (access_keys, "delete access keys"),
    (iam_group_members, "remove users from group"),
    (iam_inline_policies, "delete policies"),
    (iam_attachments, "detach all policies"),
)


def _delete_conflict(s: Session, account_id: str, name: str) -> str | None:
    """What must go before the user can be deleted, in AWS's words, or None."""
    for table, words in _DELETE_BLOCKERS:
        if s.execute(select(table.c.account_id).where(*_user_rows(table, account_id, name)).limit(1)).first():
            return words
    for kind, words in ((store.MFA, "delete MFA device"), *_CREDENTIAL_BLOCKERS):
        if _owned_by(s, account_id, kind, name):
            return words
    return None


# Credentials kept as iam_entities rows with data.UserName (certificates.py, ssh_keys.py,
# service_credentials.py), with the words AWS answers (SSH keys: its generic wording).
_CREDENTIAL_BLOCKERS = (
    ("signing-certificate", "delete certificates"),
    ("ssh-public-key", "remove referenced objects"),
    ("service-credential", "remove referenced objects"),
)


@handler("iam", "PutUserPermissionsBoundary")
def put_user_permissions_boundary(call: Call, params: dict[str, Any]) -> None:
    """Set or replace the managed policy that caps what the user's policies can grant."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = require_user(s, account_id, params["UserName"])
        arn = check_boundary(s, account_id, params["PermissionsBoundary"], "User")
        store.update_entity(s, user, data={**user.data, "PermissionsBoundary": arn})


@handler("iam", "DeleteUserPermissionsBoundary")
def delete_user_permissions_boundary(call: Call, params: dict[str, Any]) -> None:
    """Remove the user's boundary (its policies then apply in full)."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = require_user(s, account_id, params["UserName"])
        data = {k: v for k, v in user.data.items() if k != "PermissionsBoundary"}
        store.update_entity(s, user, data=data)

