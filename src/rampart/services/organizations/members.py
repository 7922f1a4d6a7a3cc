"""Member accounts: created (a real Rampart account with an admin role), listed, moved, removed, leaving."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from rampart.accounts import generate_account_id
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store as iam_store
from rampart.services.organizations import settings, store
from rampart.services.organizations.errors import (
    AccountNotFound,
    ConstraintViolation,
    CreateAccountStatusNotFound,
    DestinationParentNotFound,
    DuplicateAccount,
    InvalidInput,
    MasterCannotLeave,
    ParentNotFound,
    SourceParentNotFound,
)
from rampart.services.organizations.orgs import attach_defaults
from rampart.services.organizations.tables import (
    org_accounts,
    org_attachments,
    org_create_status,
    org_tags,
    org_units,
)
from rampart.storage.schema import accounts, iam_attachments

DEFAULT_ROLE = "OrganizationAccountAccessRole"
RESERVED_ROLE_PREFIX = "AWSServiceRoleFor"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
_NOT_FOUND = "You specified an account that doesn't exist."


def account_output(org: store.Org, row: Any, status: str = "ACTIVE") -> dict[str, Any]:
    """The Account shape of one membership row (``status``: ACTIVE, PENDING_CLOSURE or SUSPENDED)."""
    return {
        "Id": row.account_id,
        "Arn": org.arn("account", row.account_id),
        "Email": row.email,
        "Name": row.name,
        "Status": status,
        "State": status,
        "JoinedMethod": row.joined_method,
        "JoinedTimestamp": row.joined_at,
    }


def accounts_output(conn: store.Conn, call: Call, org: store.Org, rows: Any) -> list[dict[str, Any]]:
    """The Account shapes of membership rows, each with its closure status."""
    found = settings.read(conn, org.org_id)
    return [account_output(org, r, settings.account_status(found, r.account_id, call.received_at)) for r in rows]


def member_row(conn: store.Conn, org: store.Org, account_id: str) -> Any:
    """The membership row of an account of ``org``, or AccountNotFoundException."""
    row = conn.execute(select(org_accounts).where(org_accounts.c.account_id == account_id,
                                                  org_accounts.c.org_id == org.org_id)).first()
    if row is None:
        raise AccountNotFound(_NOT_FOUND)
    return row


def parent_exists(conn: store.Conn, org: store.Org, parent_id: str) -> bool:
    """Whether ``parent_id`` is the root or an OU of ``org``."""
    if parent_id == org.root_id:
        return True
    return conn.execute(select(org_units.c.ou_id).where(org_units.c.ou_id == parent_id,
                                                        org_units.c.org_id == org.org_id)).first() is not None


# --- CreateAccount ---------------------------------------------------------------------------


def _trust_policy(management_account_id: str) -> str:
    return orjson.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{management_account_id}:root"},
        "Action": "sts:AssumeRole"}]}).decode()


def _rampart_name(session: store.Session, name: str, account_id: str) -> str:
    """Rampart account names are unique, AWS's are not: a taken name gets the account id appended."""
    taken = session.execute(select(accounts.c.account_id).where(accounts.c.name == name)).first()
    return name if taken is None else f"{name[:37]}-{account_id}"


def _unused_id(session: store.Session) -> str:
    while True:
        candidate = generate_account_id()
        if session.execute(select(accounts.c.account_id).where(accounts.c.account_id == candidate)).first() is None:
            return candidate


def _make_account(call: Call, session: store.Session, org: store.Org, params: dict[str, Any]) -> str:
    """The account, its access role (AdministratorAccess, trusting the management account), its membership."""
    account_id = _unused_id(session)
    call.gateway.accounts.create_account(_rampart_name(session, params["AccountName"], account_id),
                                         account_id=account_id, session=session)
    role_name = params.get("RoleName") or DEFAULT_ROLE
    iam_store.insert_entity(session, account_id, iam_store.ROLE, role_name, created_at=call.received_at,
                            data={"AssumeRolePolicyDocument": _trust_policy(org.management_account_id),
                                  "MaxSessionDuration": 3600})
    session.execute(insert(iam_attachments).values(account_id=account_id, owner_kind=iam_store.ROLE,
                                                   owner_name=role_name, policy_arn=ADMIN_POLICY))
    session.execute(insert(org_accounts).values(
        account_id=account_id, org_id=org.org_id, parent_id=org.root_id, email=params["Email"],
        name=params["AccountName"], joined_method="CREATED", joined_at=call.received_at))
    attach_defaults(session, org, account_id)
    if params.get("Tags"):
        store.write_tags(session, org, account_id, params["Tags"])
    return account_id


def status_output(row: Any) -> dict[str, Any]:
    """The CreateAccountStatus shape."""
    out = {"Id": row.request_id, "AccountName": row.account_name, "State": row.state,
           "RequestedTimestamp": row.requested_at}
    if row.completed_at is not None:
        out["CompletedTimestamp"] = row.completed_at
    if row.account_id:
        out["AccountId"] = row.account_id
    if row.failure_reason:
        out["FailureReason"] = row.failure_reason
    return out


def check_create_account(params: dict[str, Any]) -> None:
    """The role name must be an IAM role name outside AWS's reserved ``AWSServiceRoleFor`` prefix."""
    role = params.get("RoleName")
    if role is not None and (not iam_store_name_ok(role) or role.startswith(RESERVED_ROLE_PREFIX)):
        raise InvalidInput("You provided a role name that isn't valid.", "INVALID_ROLE_NAME")


@handler("organizations", "CreateAccount")
def create_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Asynchronous in AWS; here the account exists when the call returns (State SUCCEEDED)."""
    check_create_account(params)
    request_id = store.new_create_request_id()
    with store.writing(call) as session:
        org = store.management_org(session, call)
        email_taken = session.execute(select(org_accounts.c.account_id).where(
            org_accounts.c.email == params["Email"])).first()
        account_id, failure = None, None
        if email_taken is not None:
            failure = "EMAIL_ALREADY_EXISTS"
        else:
            account_id = _make_account(call, session, org, params)
        session.execute(insert(org_create_status).values(
            request_id=request_id, org_id=org.org_id, account_name=params["AccountName"],
            state="FAILED" if failure else "SUCCEEDED", account_id=account_id, failure_reason=failure,
            requested_at=call.received_at, completed_at=call.received_at))
        store.changed(session, org.org_id)
        row = session.execute(select(org_create_status).where(org_create_status.c.request_id == request_id)).one()
    return {"CreateAccountStatus": status_output(row)}


def iam_store_name_ok(name: str) -> bool:
    """IAM's role-name rule: 1-64 of letters, digits and +=,.@-_ ."""
    return 0 < len(name) <= 64 and all(c.isalnum() and c.isascii() or c in "+=,.@-_" for c in name)


@handler("organizations", "DescribeCreateAccountStatus")
def describe_create_account_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One CreateAccount request of the caller's organization."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        row = conn.execute(select(org_create_status).where(
            org_create_status.c.request_id == params["CreateAccountRequestId"],
            org_create_status.c.org_id == org.org_id)).first()
    if row is None:
        raise CreateAccountStatusNotFound("We can't find an create account request with the "
                                          "CreateAccountRequestId that you specified.")
    return {"CreateAccountStatus": status_output(row)}


@handler("organizations", "ListCreateAccountStatus")
def list_create_account_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The organization's CreateAccount requests, filtered by State when asked."""
    states = params.get("States")
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        rows = conn.execute(select(org_create_status).where(org_create_status.c.org_id == org.org_id)).all()
    found = [status_output(r) for r in rows if not states or r.state in states]
    return store.page(found, params, lambda s: s["Id"], "CreateAccountStatuses")


# --- reading ---------------------------------------------------------------------------------


@handler("organizations", "ListAccounts")
def list_accounts(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every account of the organization, the management account included."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        rows = conn.execute(select(org_accounts).where(org_accounts.c.org_id == org.org_id)).all()
        found = accounts_output(conn, call, org, rows)
    return store.page(found, params, lambda a: a["Id"], "Accounts")


@handler("organizations", "DescribeAccount")
def describe_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One account of the organization."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        row = member_row(conn, org, params["AccountId"])
        return {"Account": accounts_output(conn, call, org, [row])[0]}


@handler("organizations", "ListAccountsForParent")
def list_accounts_for_parent(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The accounts directly under a root or OU."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        if not parent_exists(conn, org, params["ParentId"]):
            raise_parent_not_found()
        rows = conn.execute(select(org_accounts).where(org_accounts.c.org_id == org.org_id,
                                                       org_accounts.c.parent_id == params["ParentId"])).all()
        found = accounts_output(conn, call, org, rows)
    return store.page(found, params, lambda a: a["Id"], "Accounts")


def raise_parent_not_found() -> None:
    """AWS's ParentNotFoundException."""
    raise ParentNotFound("We can't find a root or OU with the ParentId that you specified.")


# --- moving and leaving ----------------------------------------------------------------------


@handler("organizations", "MoveAccount")
def move_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Move an account from its parent to another root or OU; the new path's SCPs apply at once."""
    account_id, source, destination = params["AccountId"], params["SourceParentId"], params["DestinationParentId"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = member_row(session, org, account_id)
        if not parent_exists(session, org, source):
            raise SourceParentNotFound("We can't find a source root or OU with the ParentId that you specified.")
        if not parent_exists(session, org, destination):
            raise DestinationParentNotFound(
                "We can't find a destination root or OU with the ParentId that you specified.")
        if row.parent_id != source:
            raise AccountNotFound(_NOT_FOUND)
        if source == destination:
            raise DuplicateAccount("That account is already present in the specified destination.")
        session.execute(update(org_accounts).where(org_accounts.c.account_id == account_id)
                        .values(parent_id=destination))
        store.changed(session, org.org_id)
    return {}


def _remove_member(session: store.Session, org: store.Org, account_id: str) -> None:
    """Drop the membership, the account's attachments and tags; the account itself lives on.

    A delegated administrator must be deregistered first (as AWS requires). A
    closed account stays: its closure is recorded with the organization, and
    letting it go would give its credentials back.
    """
    found = settings.read(session, org.org_id)
    if found.services_of(account_id):
        raise ConstraintViolation("You can't remove a delegated administrator from the organization. "
                                  "Deregister it first.", "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    if account_id in found.closed:
        raise ConstraintViolation("You can't remove a closed account from the organization.",
                                  "ACCOUNT_CANNOT_LEAVE_ORGANIZATION")
    store.changed(session, org.org_id, account_id)
    session.execute(delete(org_attachments).where(org_attachments.c.org_id == org.org_id,
                                                  org_attachments.c.target_id == account_id))
    session.execute(delete(org_tags).where(org_tags.c.org_id == org.org_id, org_tags.c.resource_id == account_id))
    session.execute(delete(org_accounts).where(org_accounts.c.account_id == account_id))


@handler("organizations", "RemoveAccountFromOrganization")
def remove_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The management account removes a member (never itself)."""
    account_id = params["AccountId"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        member_row(session, org, account_id)
        if account_id == org.management_account_id:
            raise ConstraintViolation("You can't remove the management account from an organization.",
                                      "ACCOUNT_CANNOT_LEAVE_ORGANIZATION")
        _remove_member(session, org, account_id)
    return {}


@handler("organizations", "LeaveOrganization")
def leave_organization(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A member leaves on its own (SCPs permitting: the authorizer has already asked)."""
    account_id = call.account_id or ""
    with store.writing(call) as session:
        org = store.member_org(session, call)
        if account_id == org.management_account_id:
            raise MasterCannotLeave("You can't remove the management account from an organization. "
                                    "If you want the management account to become a member account in another "
                                    "organization, you must first delete the current organization.")
        _remove_member(session, org, account_id)
    return {}
