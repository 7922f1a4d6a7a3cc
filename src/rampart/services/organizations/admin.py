"""Closing member accounts, delegated administrators and trusted service access (see ``settings``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.organizations import settings, store
from rampart.services.organizations.errors import (
    AccountAlreadyClosed,
    AccountAlreadyRegistered,
    AccountNotRegistered,
    ConstraintViolation,
    HandshakeConstraintViolation,
    InvalidInput,
)
from rampart.services.organizations.members import account_output, member_row
from rampart.services.organizations.orgs import email_of
from rampart.services.organizations.tables import org_accounts, org_organizations

CLOSE_WINDOW = dt.timedelta(days=30)
CLOSE_QUOTA_MIN, CLOSE_QUOTA_MAX = 10, 1000
_SERVICE_PRINCIPAL = re.compile(r"[\w+=,.@-]{1,128}")


def close_quota(member_count: int) -> int:
    """Accounts that may be closed in a rolling 30 days: 10% of the members, at least 10, at most 1000."""
    return max(CLOSE_QUOTA_MIN, min(CLOSE_QUOTA_MAX, member_count // 10))


def _require_all_features(org: store.Org) -> None:
    if org.feature_set != "ALL":
        raise ConstraintViolation("The organization does not have all features enabled.",
                                  "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")


@handler("organizations", "CloseAccount")
def close_account(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Close a member account: PENDING_CLOSURE, then SUSPENDED; from now on its principals are refused.

    The refusal is enforced by ``enforce`` (the account's organization levels
    gain a deny-everything SCP and RCP), so every service, every kind of
    credential (root keys, user keys, role sessions) and every cross-account
    request into the account is refused with one rule.
    """
    account_id = params["AccountId"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_all_features(org)
        member_row(session, org, account_id)
        if account_id == org.management_account_id:
            raise ConstraintViolation("You can't close the management account with this operation.",
                                      "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
        found = settings.read(session, org.org_id)
        if account_id in found.closed:
            raise AccountAlreadyClosed("You attempted to close an account that is already closed.")
        members = len(store.account_ids(session, org.org_id)) - 1
        recent = [a for a in found.closed if found.closed_at(a) > call.received_at - CLOSE_WINDOW]
        if len(recent) >= close_quota(members):
            raise ConstraintViolation("You have exceeded the number of accounts you can close in 30 days.",
                                      "CLOSE_ACCOUNT_QUOTA_EXCEEDED")
        found.closed[account_id] = call.received_at.isoformat()
        settings.write(session, org.org_id, found)
        store.changed(session, org.org_id, account_id)
    return {}


# --- trusted access -----------------------------------------------------------------------------


def _principal(params: dict[str, Any]) -> str:
    """The ServicePrincipal, which must look like a service's (``name.amazonaws.com``)."""
    value = params["ServicePrincipal"]
    if not _SERVICE_PRINCIPAL.fullmatch(value) or not value.endswith(".amazonaws.com"):
        raise InvalidInput("You specified an unrecognized service principal.", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    return value


@handler("organizations", "EnableAWSServiceAccess")
def enable_service_access(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Trust a service to work across the organization (enabling twice is not an error, as in AWS)."""
    principal = _principal(params)
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_all_features(org)
        found = settings.read(session, org.org_id)
        found.services.setdefault(principal, call.received_at.isoformat())
        settings.write(session, org.org_id, found)
    return {}


@handler("organizations", "DisableAWSServiceAccess")
def disable_service_access(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Stop trusting a service; its delegated administrators are deregistered with it, as AWS does."""
    principal = _principal(params)
    with store.writing(call) as session:
        org = store.management_org(session, call)
        found = settings.read(session, org.org_id)
        found.services.pop(principal, None)
        found.delegated.pop(principal, None)
        settings.write(session, org.org_id, found)
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "ListAWSServiceAccessForOrganization")
def list_service_access(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The services trusted by the organization."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        found = settings.read(conn, org.org_id)
    items = [{"ServicePrincipal": p, "DateEnabled": dt.datetime.fromisoformat(at)} for p, at in found.services.items()]
    return store.page(items, params, lambda i: i["ServicePrincipal"], "EnabledServicePrincipals")


# --- delegated administrators -------------------------------------------------------------------


@handler("organizations", "RegisterDelegatedAdministrator")
def register_delegated_administrator(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A member account administers a trusted service (Organizations itself needs no trusted access)."""
    principal, account_id = _principal(params), params["AccountId"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        member_row(session, org, account_id)
        if account_id == org.management_account_id:
            raise ConstraintViolation("You can't register the management account as a delegated administrator.",
                                      "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
        found = settings.read(session, org.org_id)
        if account_id in found.closed:
            raise ConstraintViolation("You can't register a suspended account as a delegated administrator.",
                                      "CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR")
        if principal != settings.ORGANIZATIONS_PRINCIPAL and principal not in found.services:
            raise ConstraintViolation("Trusted access is not enabled for that service.",
                                      "SERVICE_ACCESS_NOT_ENABLED")
        admins = found.delegated.setdefault(principal, {})
        if account_id in admins:
            raise AccountAlreadyRegistered("The provided account is already a delegated administrator "
                                           "for your organization.")
        admins[account_id] = call.received_at.isoformat()
        settings.write(session, org.org_id, found)
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "DeregisterDelegatedAdministrator")
def deregister_delegated_administrator(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Take a service's delegated administration away from an account."""
    principal, account_id = _principal(params), params["AccountId"]
    with store.writing(call) as session:
        org = store.management_org(session, call)
        member_row(session, org, account_id)
        found = settings.read(session, org.org_id)
        if account_id not in found.delegated.get(principal, {}):
            raise AccountNotRegistered("The provided account is not a registered delegated administrator "
                                       "for your organization.")
        del found.delegated[principal][account_id]
        settings.write(session, org.org_id, found)
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "ListDelegatedAdministrators")
def list_delegated_administrators(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every delegated administrator (of one service when ServicePrincipal is given), with its account's details."""
    wanted = _principal(params) if params.get("ServicePrincipal") else None
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        found = settings.read(conn, org.org_id)
        since: dict[str, str] = {}
        for service, admins in found.delegated.items():
            if wanted is None or service == wanted:
                for account_id, at in admins.items():
                    since[account_id] = min(at, since.get(account_id, at))
        items = []
        for account_id, at in since.items():
            row = member_row(conn, org, account_id)
            shape = account_output(org, row, settings.account_status(found, account_id, call.received_at))
            items.append({**shape, "DelegationEnabledDate": dt.datetime.fromisoformat(at)})
    return store.page(items, params, lambda i: i["Id"], "DelegatedAdministrators")


@handler("organizations", "ListDelegatedServicesForAccount")
def list_delegated_services(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The services an account is a delegated administrator for (AccountNotRegisteredException: none)."""
    account_id = params["AccountId"]
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        member_row(conn, org, account_id)
        services = settings.read(conn, org.org_id).services_of(account_id)
    if not services:
        raise AccountNotRegistered("The provided account is not a registered delegated administrator "
                                   "for your organization.")
    items = [{"ServicePrincipal": p, "DelegationEnabledDate": dt.datetime.fromisoformat(at)}
             for p, at in services.items()]
    return store.page(items, params, lambda i: i["ServicePrincipal"], "DelegatedServices")


# --- all features -------------------------------------------------------------------------------


@handler("organizations", "EnableAllFeatures")
def enable_all_features(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Move a CONSOLIDATED_BILLING organization to ALL features.

    AWS asks every invited member to approve first; Rampart's members are
    the operator's own accounts, so the approvals are taken as given and the
    ENABLE_ALL_FEATURES handshake is reported already ACCEPTED.
    """
    with store.writing(call) as session:
        org = store.management_org(session, call)
        if org.feature_set == "ALL":
            raise HandshakeConstraintViolation("The organization already has all features enabled.",
                                               "ORGANIZATION_ALREADY_HAS_ALL_FEATURES")
        session.execute(update(org_organizations).where(org_organizations.c.org_id == org.org_id)
                        .values(feature_set="ALL"))
        members = session.execute(select(org_accounts.c.account_id).where(
            org_accounts.c.org_id == org.org_id)).all()
        store.changed(session, org.org_id)
    handshake_id = store.new_handshake_id()
    return {"Handshake": {
        "Id": handshake_id,
        "Arn": org.arn("handshake", f"enable_all_features/{handshake_id}"),
        "Parties": [{"Id": org.org_id, "Type": "ORGANIZATION"}],
        "State": "ACCEPTED",
        "RequestedTimestamp": call.received_at,
        "ExpirationTimestamp": call.received_at + dt.timedelta(days=90),
        "Action": "ENABLE_ALL_FEATURES",
        "Resources": [{"Type": "ORGANIZATION", "Value": org.org_id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": email_of(org.management_account_id)},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": "ALL"}]},
            *({"Type": "ACCOUNT", "Value": r.account_id} for r in members)],
    }}
