"""The organization itself, its root, and the policy types enabled on the root."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.organizations import settings, store
from rampart.services.organizations.errors import (
    AlreadyInOrganization,
    ConstraintViolation,
    OrganizationNotEmpty,
    PolicyTypeAlreadyEnabled,
    PolicyTypeNotEnabled,
    RootNotFound,
)
from rampart.services.organizations.tables import (
    org_accounts,
    org_attachments,
    org_organizations,
    org_policies,
    org_units,
)

FULL_ACCESS = {
    store.SCP: ("p-FullAWSAccess", "FullAWSAccess", "Allows access to every operation",
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'),
    store.RCP: ("p-RCPFullAWSAccess", "RCPFullAWSAccess", "Allows access to every operation",
                ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*",'
                '"Resource":"*"}]}')),
}


def email_of(account_id: str) -> str:
    """Rampart accounts have no e-mail address: a stable one under a reserved domain stands in."""
    return f"aws+{account_id}@rampart.invalid"


def organization_output(org: store.Org) -> dict[str, Any]:
    """The Organization shape."""
    return {
        "Id": org.org_id,
        "Arn": org.org_arn,
        "FeatureSet": org.feature_set,
        "MasterAccountArn": org.arn("account", org.management_account_id),
        "MasterAccountId": org.management_account_id,
        "MasterAccountEmail": email_of(org.management_account_id),
        "AvailablePolicyTypes": policy_types_output(org),
    }


def policy_types_output(org: store.Org) -> list[dict[str, str]]:
    """The root's enabled policy types."""
    return [{"Type": kind, "Status": "ENABLED"} for kind in org.policy_types]


def root_output(org: store.Org) -> dict[str, Any]:
    """The Root shape."""
    return {"Id": org.root_id, "Arn": org.arn("root", org.root_id), "Name": "Root",
            "PolicyTypes": policy_types_output(org)}


@handler("organizations", "CreateOrganization")
def create_organization(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's account becomes the management account of a new organization."""
    account_id = call.account_id or ""
    feature_set = params.get("FeatureSet") or "ALL"
    with store.writing(call) as session:
        if store.org_of_account(session, account_id) is not None:
            raise AlreadyInOrganization("The AWS account is already a member of an organization.")
        org = store.Org(store.new_org_id(), account_id, store.new_root_id(), feature_set, ())
        session.execute(insert(org_organizations).values(
            org_id=org.org_id, management_account_id=account_id, root_id=org.root_id,
            feature_set=feature_set, policy_types="[]", created_at=call.received_at))
        session.execute(insert(org_accounts).values(
            account_id=account_id, org_id=org.org_id, parent_id=org.root_id, email=email_of(account_id),
            name=_account_name(call, account_id), joined_method="CREATED", joined_at=call.received_at))
        for kind, (policy_id, name, description, content) in FULL_ACCESS.items():
            session.execute(insert(org_policies).values(
                org_id=org.org_id, policy_id=policy_id, name=name, description=description,
                policy_type=kind, content=content, aws_managed=True))
        store.changed(session, org.org_id, account_id)
    return {"Organization": organization_output(org)}


def _account_name(call: Call, account_id: str) -> str:
    accounts = call.gateway.accounts
    found = accounts.get_account(account_id) if accounts is not None else None
    return found.name if found is not None else account_id


@handler("organizations", "DescribeOrganization")
def describe_organization(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Any account of the organization may read it."""
    with call.gateway.db.read() as conn:
        org = store.member_org(conn, call)
    return {"Organization": organization_output(org)}


@handler("organizations", "DeleteOrganization")
def delete_organization(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Only an organization with no member accounts left can be deleted."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        if len(store.account_ids(session, org.org_id)) > 1:
            raise OrganizationNotEmpty(
                "The organization isn't empty. To delete an organization, you must first remove all accounts "
                "except the management account.")
        store.changed(session, org.org_id)
        session.execute(delete(org_organizations).where(org_organizations.c.org_id == org.org_id))
    return {}


@handler("organizations", "ListRoots")
def list_roots(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The organization's one root."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
    return store.page([root_output(org)], params, lambda r: r["Id"], "Roots")


def _require_root(org: store.Org, root_id: str) -> None:
    if root_id != org.root_id:
        raise RootNotFound("We can't find a root with the RootId that you specified.")


def _set_types(session: store.Session, org: store.Org, types: tuple[str, ...]) -> store.Org:
    session.execute(update(org_organizations).where(org_organizations.c.org_id == org.org_id)
                    .values(policy_types=orjson.dumps(list(types)).decode()))
    return store.Org(org.org_id, org.management_account_id, org.root_id, org.feature_set, types)


def all_targets(session: store.Session, org: store.Org) -> list[str]:
    """The root, every OU and every account of the organization."""
    units = session.execute(select(org_units.c.ou_id).where(org_units.c.org_id == org.org_id)).all()
    return [org.root_id, *(row.ou_id for row in units), *store.account_ids(session, org.org_id)]


@handler("organizations", "EnablePolicyType")
def enable_policy_type(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Enable SCPs or RCPs: the type's full-access policy is attached to every root, OU and account."""
    kind = store.check_policy_type(params["PolicyType"])
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_root(org, params["RootId"])
        if org.feature_set != "ALL":
            raise ConstraintViolation("The organization does not have all features enabled.",
                                      "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")
        if kind in org.policy_types:
            raise PolicyTypeAlreadyEnabled("The specified policy type is already enabled.")
        org = _set_types(session, org, (*org.policy_types, kind))
        policy_id = FULL_ACCESS[kind][0]
        session.execute(insert(org_attachments), [
            {"org_id": org.org_id, "policy_id": policy_id, "target_id": target}
            for target in all_targets(session, org)])
        store.changed(session, org.org_id)
    return {"Root": root_output(org)}


@handler("organizations", "DisablePolicyType")
def disable_policy_type(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Disable a type: every policy of that type is detached from every target."""
    kind = store.check_policy_type(params["PolicyType"])
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_root(org, params["RootId"])
        if kind not in org.policy_types:
            raise PolicyTypeNotEnabled("This operation can be performed only for enabled policy types.")
        org = _set_types(session, org, tuple(t for t in org.policy_types if t != kind))
        of_type = select(org_policies.c.policy_id).where(org_policies.c.org_id == org.org_id,
                                                          org_policies.c.policy_type == kind)
        session.execute(delete(org_attachments).where(org_attachments.c.org_id == org.org_id,
                                                      org_attachments.c.policy_id.in_(of_type)))
        store.changed(session, org.org_id)
    return {"Root": root_output(org)}


def attach_defaults(session: store.Session, org: store.Org, target: str) -> None:
    """A new OU or account gets the full-access policy of each enabled type, as AWS does."""
    for kind in org.policy_types:
        session.execute(insert(org_attachments).values(org_id=org.org_id, policy_id=FULL_ACCESS[kind][0],
                                                       target_id=target))
