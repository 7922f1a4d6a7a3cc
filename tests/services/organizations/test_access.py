"""Who may call Organizations: the management account, members, and accounts outside any organization."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of
from tests.services.organizations.conftest import Account, Organization


def test_accounts_outside_any_organization_get_not_in_use(new_account) -> None:
    loner: Account = new_account()
    org = loner.client("organizations")
    for call in (org.describe_organization, org.list_accounts, org.list_roots, org.leave_organization):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == ("AWSOrganizationsNotInUseException",
                                    "Your account is not a member of an organization.")


def test_members_may_read_the_organization_but_not_manage_it(organization: Organization, new_account) -> None:
    member: Account = new_account()
    organization.invite(member)
    theirs = member.client("organizations")
    assert theirs.describe_organization()["Organization"]["MasterAccountId"] == organization.management.account_id
    attempts = [
        lambda: theirs.list_accounts(),
        lambda: theirs.create_account(Email="x@example.com", AccountName="x"),
        lambda: theirs.create_organizational_unit(ParentId=organization.root_id, Name="mine"),
        lambda: theirs.enable_policy_type(RootId=organization.root_id, PolicyType="SERVICE_CONTROL_POLICY"),
        lambda: theirs.remove_account_from_organization(AccountId=organization.management.account_id),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as caught:
            attempt()
        assert error_of(caught) == ("AccessDeniedException", "You don't have permissions to access this resource.")
    assert {a["Id"] for a in organization.org.list_accounts()["Accounts"]} == {
        organization.management.account_id, member.account_id}


def test_iam_users_need_organizations_permissions(organization: Organization) -> None:
    _, keys = organization.management.admin_user("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    limited = organization.management.client("organizations", **keys)
    with pytest.raises(ClientError) as caught:
        limited.describe_organization()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "organizations:DescribeOrganization" in error_of(caught)[1]
    _, admin_keys = organization.management.admin_user()
    admin = organization.management.client("organizations", **admin_keys)
    assert admin.describe_organization()["Organization"]["Id"] == organization.org_id
