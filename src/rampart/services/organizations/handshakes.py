"""Invitations: the management account invites an account; that account's own principals accept or decline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.organizations import settings, store
from rampart.services.organizations.errors import (
    AccountNotFound,
    DuplicateAccount,
    DuplicateHandshake,
    HandshakeAlreadyInState,
    HandshakeConstraintViolation,
    HandshakeNotFound,
    InvalidHandshakeTransition,
    InvalidInput,
)
from rampart.services.organizations.orgs import attach_defaults, email_of
from rampart.services.organizations.tables import (
    org_accounts,
    org_handshakes,
    org_organizations,
)
from rampart.storage.schema import accounts

EXPIRES_AFTER = dt.timedelta(days=15)
_NOT_FOUND = "We can't find a handshake with the HandshakeId that you specified."
_FINAL = {"AcceptHandshake": "ACCEPTED", "DeclineHandshake": "DECLINED", "CancelHandshake": "CANCELED"}


def _org_by_id(conn: store.Conn, org_id: str) -> store.Org | None:
    row = conn.execute(select(org_organizations).where(org_organizations.c.org_id == org_id)).first()
    return store._org_of(row) if row is not None else None


def state_of(row: Any, now: dt.datetime) -> str:
    """The stored state, or EXPIRED for an open handshake past its expiry."""
    if row.state == "OPEN" and now >= row.expires_at:
        return "EXPIRED"
    return row.state


def handshake_output(org: store.Org, row: Any, now: dt.datetime) -> dict[str, Any]:
    """The Handshake shape of an INVITE."""
    details = orjson.loads(row.notes)
    resources = [
        {"Type": "ORGANIZATION", "Value": org.org_id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": email_of(org.management_account_id)},
            {"Type": "MASTER_NAME", "Value": details.get("master_name", org.management_account_id)},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": org.feature_set}]},
        {"Type": "ACCOUNT", "Value": row.target_account_id},
    ]
    if details.get("notes"):
        resources.append({"Type": "NOTES", "Value": details["notes"]})
    return {
        "Id": row.handshake_id,
        "Arn": org.arn("handshake", f"invite/{row.handshake_id}"),
        "Parties": [{"Id": org.org_id, "Type": "ORGANIZATION"}, {"Id": row.target_account_id, "Type": "ACCOUNT"}],
        "State": state_of(row, now),
        "RequestedTimestamp": row.requested_at,
        "ExpirationTimestamp": row.expires_at,
        "Action": "INVITE",
        "Resources": resources,
    }


def _target_account(conn: store.Conn, target: dict[str, Any]) -> str:
    """The invited account's id from an ACCOUNT target (or the e-mail Rampart gives each account)."""
    value, kind = str(target.get("Id", "")), target.get("Type")
    if kind == "EMAIL" and value.startswith("aws+") and value.endswith("@rampart.invalid"):
        value, kind = value[4:-len("@rampart.invalid")], "ACCOUNT"
    if kind != "ACCOUNT":
        raise InvalidInput("You provided a value that does not match the required pattern.",
                           "INVALID_PARTY_TYPE_TARGET")
    exists = conn.execute(select(accounts.c.account_id).where(accounts.c.account_id == value)).first()
    if not value.isdigit() or exists is None:
        raise AccountNotFound("You specified an account that doesn't exist.")
    return value


@handler("organizations", "InviteAccountToOrganization")
def invite_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An OPEN invitation, valid 15 days, that only the invited account can accept."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        account_id = _target_account(session, params["Target"])
        member = session.execute(select(org_accounts.c.org_id).where(org_accounts.c.account_id == account_id)).first()
        if member is not None and member.org_id == org.org_id:
            raise DuplicateAccount("That account is already present in the specified destination.")
        pending = session.execute(select(org_handshakes).where(
            org_handshakes.c.org_id == org.org_id, org_handshakes.c.target_account_id == account_id,
            org_handshakes.c.state == "OPEN")).all()
        if any(state_of(row, call.received_at) == "OPEN" for row in pending):
            raise DuplicateHandshake("A handshake with the same action and target already exists.")
        handshake_id = store.new_handshake_id()
        notes = orjson.dumps({"notes": params.get("Notes") or "", "master_name": _name(session, call)}).decode()
        session.execute(insert(org_handshakes).values(
            handshake_id=handshake_id, org_id=org.org_id, target_account_id=account_id, state="OPEN",
            requested_at=call.received_at, expires_at=call.received_at + EXPIRES_AFTER, notes=notes))
        row = _row(session, handshake_id)
    return {"Handshake": handshake_output(org, row, call.received_at)}


def _name(conn: store.Conn, call: Call) -> str:
    row = conn.execute(select(accounts.c.name).where(accounts.c.account_id == call.account_id)).first()
    return row.name if row is not None else call.account_id or ""


def _row(conn: store.Conn, handshake_id: str) -> Any:
    row = conn.execute(select(org_handshakes).where(org_handshakes.c.handshake_id == handshake_id)).first()
    if row is None:
        raise HandshakeNotFound(_NOT_FOUND)
    return row


def _visible(conn: store.Conn, call: Call, handshake_id: str) -> tuple[store.Org, Any]:
    """A handshake the caller is a party to (the invited account or the inviting management account)."""
    row = _row(conn, handshake_id)
    org = _org_by_id(conn, row.org_id)
    if org is None or call.account_id not in (row.target_account_id, org.management_account_id):
        raise HandshakeNotFound(_NOT_FOUND)
    return org, row


def _transition(call: Call, params: dict[str, Any], party: str) -> dict[str, Any]:
    """Move an OPEN handshake to its final state; ``party`` is who may: the target or the organization."""
    final = _FINAL[call.operation or ""]
    with store.writing(call) as session:
        org, row = _visible(session, call, params["HandshakeId"])
        allowed = row.target_account_id if party == "target" else org.management_account_id
        if call.account_id != allowed:
            raise InvalidHandshakeTransition("You can't perform the operation on the handshake in its current "
                                             "state.")
        current = state_of(row, call.received_at)
        if current == final:
            raise HandshakeAlreadyInState(f"The handshake is already in the requested state: {final}.")
        if current != "OPEN":
            raise InvalidHandshakeTransition("You can't perform the operation on the handshake in its current "
                                             "state.")
        if final == "ACCEPTED":
            _join(call, session, org, row.target_account_id)
        session.execute(update(org_handshakes).where(org_handshakes.c.handshake_id == row.handshake_id)
                        .values(state=final))
        row = _row(session, row.handshake_id)
    return {"Handshake": handshake_output(org, row, call.received_at)}


def _join(call: Call, session: store.Session, org: store.Org, account_id: str) -> None:
    """The invited account becomes a member under the root, with the default policies."""
    if store.org_of_account(session, account_id) is not None:
        raise HandshakeConstraintViolation("The account is already a member of an organization.",
                                           "ALREADY_IN_AN_ORGANIZATION")
    session.execute(insert(org_accounts).values(
        account_id=account_id, org_id=org.org_id, parent_id=org.root_id, email=email_of(account_id),
        name=_name(session, call), joined_method="INVITED", joined_at=call.received_at))
    attach_defaults(session, org, account_id)
    store.changed(session, org.org_id, account_id)


@handler("organizations", "AcceptHandshake")
def accept_handshake(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The invited account joins the organization."""
    return _transition(call, params, "target")


@handler("organizations", "DeclineHandshake")
def decline_handshake(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The invited account says no."""
    return _transition(call, params, "target")


@handler("organizations", "CancelHandshake")
def cancel_handshake(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The inviting organization withdraws the invitation."""
    return _transition(call, params, "organization")


@handler("organizations", "DescribeHandshake")
def describe_handshake(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A handshake the caller is a party to."""
    with call.gateway.db.read() as conn:
        org, row = _visible(conn, call, params["HandshakeId"])
    return {"Handshake": handshake_output(org, row, call.received_at)}


def _listed(conn: store.Conn, rows: list[Any], call: Call, params: dict[str, Any]) -> dict[str, Any]:
    wanted = (params.get("Filter") or {}).get("ActionType")
    found = []
    for row in rows:
        org = _org_by_id(conn, row.org_id)
        if org is not None and wanted in (None, "INVITE"):
            found.append(handshake_output(org, row, call.received_at))
    return store.page(found, params, lambda h: h["Id"], "Handshakes")


@handler("organizations", "ListHandshakesForAccount")
def list_handshakes_for_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Invitations addressed to the caller's account (any account may ask)."""
    with call.gateway.db.read() as conn:
        rows = conn.execute(select(org_handshakes).where(
            org_handshakes.c.target_account_id == call.account_id)).all()
        return _listed(conn, list(rows), call, params)


@handler("organizations", "ListHandshakesForOrganization")
def list_handshakes_for_organization(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Invitations the organization sent."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        rows = conn.execute(select(org_handshakes).where(org_handshakes.c.org_id == org.org_id)).all()
        return _listed(conn, list(rows), call, params)
