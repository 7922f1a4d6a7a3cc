"""Organizational units: the tree between the root and the accounts, and walking it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.organizations import settings, store
from rampart.services.organizations.enforce import MAX_DEPTH, parent_chain
from rampart.services.organizations.errors import (
    ChildNotFound,
    ConstraintViolation,
    DuplicateOU,
    OUNotEmpty,
    OUNotFound,
)
from rampart.services.organizations.members import parent_exists, raise_parent_not_found
from rampart.services.organizations.orgs import attach_defaults
from rampart.services.organizations.tables import (
    org_accounts,
    org_attachments,
    org_tags,
    org_units,
)

_OU_NOT_FOUND = "We can't find an OU with the OrganizationalUnitId that you specified."


def ou_output(conn: store.Conn, org: store.Org, row: Any) -> dict[str, Any]:
    """The OrganizationalUnit shape (Path as aws:PrincipalOrgPaths writes it)."""
    chain = parent_chain(conn, org, row.ou_id)
    return {"Id": row.ou_id, "Arn": org.arn("ou", row.ou_id), "Name": row.name,
            "Path": "/".join([org.org_id, *chain]) + "/"}


def require_ou(conn: store.Conn, org: store.Org, ou_id: str) -> Any:
    """The OU row, or OrganizationalUnitNotFoundException."""
    row = conn.execute(select(org_units).where(org_units.c.ou_id == ou_id, org_units.c.org_id == org.org_id)).first()
    if row is None:
        raise OUNotFound(_OU_NOT_FOUND)
    return row


def _check_name_free(conn: store.Conn, org: store.Org, parent_id: str, name: str) -> None:
    taken = conn.execute(select(org_units.c.ou_id).where(
        org_units.c.org_id == org.org_id, org_units.c.parent_id == parent_id, org_units.c.name == name)).first()
    if taken is not None:
        raise DuplicateOU("An OU with the same name already exists.")


@handler("organizations", "CreateOrganizationalUnit")
def create_ou(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new OU under a root or OU, at most five levels deep; it gets the default policies."""
    parent_id, name = params["ParentId"], params["Name"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        if not parent_exists(session, org, parent_id):
            raise_parent_not_found()
        if len(parent_chain(session, org, parent_id)) > MAX_DEPTH:
            raise ConstraintViolation("You have reached the maximum depth of OUs in your organization.",
                                      "OU_DEPTH_LIMIT_EXCEEDED")
        _check_name_free(session, org, parent_id, name)
        ou_id = store.new_ou_id(org.root_id)
        session.execute(insert(org_units).values(ou_id=ou_id, org_id=org.org_id, parent_id=parent_id, name=name))
        attach_defaults(session, org, ou_id)
        if params.get("Tags"):
            store.write_tags(session, org, ou_id, params["Tags"])
        row = require_ou(session, org, ou_id)
        return {"OrganizationalUnit": ou_output(session, org, row)}


@handler("organizations", "UpdateOrganizationalUnit")
def update_ou(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Rename an OU (names are unique among siblings)."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_ou(session, org, params["OrganizationalUnitId"])
        name = params.get("Name")
        if name and name != row.name:
            _check_name_free(session, org, row.parent_id, name)
            session.execute(update(org_units).where(org_units.c.ou_id == row.ou_id).values(name=name))
            row = require_ou(session, org, row.ou_id)
        return {"OrganizationalUnit": ou_output(session, org, row)}


@handler("organizations", "DeleteOrganizationalUnit")
def delete_ou(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete an empty OU (no accounts, no child OUs)."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_ou(session, org, params["OrganizationalUnitId"])
        if _children(session, org, row.ou_id):
            raise OUNotEmpty("The specified OU is not empty. Move all accounts to another root or to other OUs, "
                             "remove all child OUs, and try the operation again.")
        session.execute(delete(org_attachments).where(org_attachments.c.org_id == org.org_id,
                                                      org_attachments.c.target_id == row.ou_id))
        session.execute(delete(org_tags).where(org_tags.c.org_id == org.org_id, org_tags.c.resource_id == row.ou_id))
        session.execute(delete(org_units).where(org_units.c.ou_id == row.ou_id))
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "DescribeOrganizationalUnit")
def describe_ou(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One OU."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        row = require_ou(conn, org, params["OrganizationalUnitId"])
        return {"OrganizationalUnit": ou_output(conn, org, row)}


@handler("organizations", "ListOrganizationalUnitsForParent")
def list_ous_for_parent(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The OUs directly under a root or OU."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        if not parent_exists(conn, org, params["ParentId"]):
            raise_parent_not_found()
        rows = conn.execute(select(org_units).where(org_units.c.org_id == org.org_id,
                                                    org_units.c.parent_id == params["ParentId"])).all()
        found = [ou_output(conn, org, r) for r in rows]
    return store.page(found, params, lambda o: o["Id"], "OrganizationalUnits")


def _children(conn: store.Conn, org: store.Org, parent_id: str) -> list[dict[str, str]]:
    units = conn.execute(select(org_units.c.ou_id).where(org_units.c.org_id == org.org_id,
                                                         org_units.c.parent_id == parent_id)).all()
    members = conn.execute(select(org_accounts.c.account_id).where(org_accounts.c.org_id == org.org_id,
                                                                   org_accounts.c.parent_id == parent_id)).all()
    return ([{"Id": r.ou_id, "Type": "ORGANIZATIONAL_UNIT"} for r in units]
            + [{"Id": r.account_id, "Type": "ACCOUNT"} for r in members])


@handler("organizations", "ListChildren")
def list_children(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The accounts or OUs directly under a root or OU."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        if not parent_exists(conn, org, params["ParentId"]):
            raise_parent_not_found()
        found = [c for c in _children(conn, org, params["ParentId"]) if c["Type"] == params["ChildType"]]
    return store.page(found, params, lambda c: c["Id"], "Children")


def parent_of(conn: store.Conn, org: store.Org, child_id: str) -> str | None:
    """The parent of an account or OU of ``org``, or None."""
    table, column = (org_units, org_units.c.ou_id) if child_id.startswith("ou-") else (org_accounts,
                                                                                     org_accounts.c.account_id)
    row = conn.execute(select(table.c.parent_id).where(column == child_id, table.c.org_id == org.org_id)).first()
    return row.parent_id if row is not None else None


@handler("organizations", "ListParents")
def list_parents(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The one parent (root or OU) of an account or OU."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        parent = parent_of(conn, org, params["ChildId"])
    if parent is None:
        raise ChildNotFound("We can't find an organizational unit (OU) or AWS account with the ChildId that "
                            "you specified.")
    kind = "ROOT" if parent == org.root_id else "ORGANIZATIONAL_UNIT"
    return store.page([{"Id": parent, "Type": kind}], params, lambda p: p["Id"], "Parents")
