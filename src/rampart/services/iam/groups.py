"""IAM groups: create, read, list, rename, delete, and their members.

A group grants its members its policies; memberships, inline policies and
attachments are keyed by the group's name, so renaming moves them along and
deleting is refused while any remain, as AWS does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.authz import group_names
from rampart.services.iam.errors import DeleteConflict, LimitExceeded
from rampart.services.iam.store import named
from rampart.services.iam.users import (
    Conn,
    password_last_used,
    require_user,
    user_output,
)
from rampart.storage.schema import (
    iam_attachments,
    iam_group_members,
    iam_inline_policies,
)

GROUPS_PER_USER = 10


def group_output(group: store.Entity) -> dict[str, Any]:
    """The Group shape."""
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.entity_id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


def require_group(conn: Conn, account_id: str, name: str) -> store.Entity:
    """The group, or NoSuchEntity in AWS's words."""
    return store.require_entity(conn, account_id, store.GROUP, name)


def _member_rows(account_id: str, group: str) -> list[ColumnElement[bool]]:
    return [iam_group_members.c.account_id == account_id, named(iam_group_members.c.group_name, group)]


def _owned_rows(table: Any, account_id: str, group: str) -> list[ColumnElement[bool]]:
    return [table.c.account_id == account_id, table.c.owner_kind == store.GROUP, named(table.c.owner_name, group)]


def member_names(conn: Conn, account_id: str, group: str) -> list[str]:
    """The names of the group's members, as stored."""
    return list(conn.execute(select(iam_group_members.c.user_name).where(*_member_rows(account_id, group))).scalars())



# --- handlers ---------------------------------------------------------------------------


@handler("iam", "CreateGroup")
def create_group(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new, empty group."""
    with call.gateway.db.session() as s:
        group = store.insert_entity(
            s,
            call.account_id or "",
            store.GROUP,
            params["GroupName"],
            path=params.get("Path") or "/",
            created_at=call.received_at,
        )
    return {"Group": group_output(group)}


@handler("iam", "GetGroup")
def get_group(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The group and one page of its members."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        group = require_group(conn, account_id, params["GroupName"])
        names = member_names(conn, account_id, group.name)
        members = [store.get_entity(conn, account_id, store.USER, n) for n in names]
        users = sorted((u for u in members if u is not None), key=lambda u: u.name.lower())
        chunk, extra = store.page(users, params, key=lambda u: u.name.lower())
        shown = [user_output(u, password_last_used(conn, account_id, u.name), full=False) for u in chunk]
    return {"Group": group_output(group), "Users": shown, **extra}


@handler("iam", "ListGroups")
def list_groups(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Groups under a path prefix, one page at a time."""
    with call.gateway.db.read() as conn:
        groups = store.list_entities(conn, call.account_id or "", store.GROUP, params.get("PathPrefix") or "/")
    chunk, extra = store.page(groups, params, key=lambda g: g.name.lower())
    return {"Groups": [group_output(g) for g in chunk], **extra}


@handler("iam", "UpdateGroup")
def update_group(call: Call, params: dict[str, Any]) -> None:
    """Rename and/or move a group; members, inline policies and attachments follow."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        group = require_group(s, account_id, params["GroupName"])
        new_name, new_path = params.get("NewGroupName") or None, params.get("NewPath") or None
        updated = store.update_entity(s, group, name=new_name, path=new_path)
        if updated.name != group.name:
            _rename_references(s, account_id, group.name, updated.name)


def _rename_references(s: Session, account_id: str, old: str, new: str) -> None:
    s.execute(update(iam_group_members).where(*_member_rows(account_id, old)).values(group_name=new))
    for table in (iam_inline_policies, iam_attachments):
        s.execute(update(table).where(*_owned_rows(table, account_id, old)).values(owner_name=new))


@handler("iam", "DeleteGroup")
def delete_group(call: Call, params: dict[str, Any]) -> None:
    """Delete a group with no members and no policies (DeleteConflict otherwise)."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        group = require_group(s, account_id, params["GroupName"])
        problem = _delete_conflict(s, account_id, group.name)
        if problem is not None:
            raise DeleteConflict(f"Cannot delete entity, must {problem} first.")
        store.delete_entity(s, group)


def _delete_conflict(s: Session, account_id: str, name: str) -> str | None:
    """What must go before the group can be deleted, in AWS's words, or None."""
    if s.execute(select(iam_group_members.c.user_name).where(*_member_rows(account_id, name)).limit(1)).first():
        return "remove users from group"
    for table, words in ((iam_inline_policies, "delete policies"), (iam_attachments, "detach all policies")):
        if s.execute(select(table.c.account_id).where(*_owned_rows(table, account_id, name)).limit(1)).first():
            return words
    return None


@handler("iam", "AddUserToGroup")
def add_user_to_group(call: Call, params: dict[str, Any]) -> None:
    """Make a user a member (idempotent); a user may belong to at most 10 groups."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        group = require_group(s, account_id, params["GroupName"])
        user = require_user(s, account_id, params["UserName"])
        current = group_names(s, account_id, user.name)
        if group.name.lower() in {g.lower() for g in current}:
            return
        if len(current) >= GROUPS_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}")
        s.execute(insert(iam_group_members).values(account_id=account_id, group_name=group.name, user_name=user.name))
        store.changed(s, account_id)


@handler("iam", "RemoveUserFromGroup")
def remove_user_from_group(call: Call, params: dict[str, Any]) -> None:
    """End a membership; the user loses the group's policies at once."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        group = require_group(s, account_id, params["GroupName"])
        user = require_user(s, account_id, params["UserName"])
        s.execute(
            delete(iam_group_members).where(
                *_member_rows(account_id, group.name), named(iam_group_members.c.user_name, user.name)
            )
        )
        store.changed(s, account_id)


@handler("iam", "ListGroupsForUser")
def list_groups_for_user(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The groups a user belongs to, one page at a time."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        user = require_user(conn, account_id, params["UserName"])
        names = group_names(conn, account_id, user.name)
        found = [store.get_entity(conn, account_id, store.GROUP, n) for n in names]
    groups = sorted((g for g in found if g is not None), key=lambda g: g.name.lower())
    chunk, extra = store.page(groups, params, key=lambda g: g.name.lower())
    return {"Groups": [group_output(g) for g in chunk], **extra}

