"""SCPs and RCPs enforced on every request, and the org condition keys, through boto3.

Each test builds its own organization of fresh accounts: a member account's
admin user (and its root) is bound by the SCPs from the root through its OUs
to the account; the management account never is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import Account, Organization, deny

RCP = "RESOURCE_CONTROL_POLICY"


def _create_user(iam: Any) -> str:
    name = unique("u")
    iam.create_user(UserName=name)
    return name


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    code, message = error_of(caught)
    assert code in ("AccessDenied", "AccessDeniedException")
    return message


@pytest.fixture
def member_setup(organization: Organization, new_account) -> tuple[Organization, Account, Any]:
    """An organization with SCPs enabled, a member account, and an admin IAM client of that member."""
    member: Account = new_account()
    organization.invite(member)
    organization.enable()
    _, keys = member.admin_user()
    return organization, member, member.client("iam", **keys)


def test_an_scp_on_the_account_blocks_its_admin_and_detaching_restores(member_setup) -> None:
    organization, member, admin = member_setup
    _create_user(admin)  # FullAWSAccess alone: the admin's own policy decides
    policy = organization.policy(deny("iam:CreateUser"))
    organization.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    message = _denied(lambda: _create_user(admin))
    assert "iam:CreateUser" in message and "with an explicit deny in a service control policy" in message
    admin.list_users()  # only what the SCP names is taken away
    organization.org.detach_policy(PolicyId=policy, TargetId=member.account_id)
    _create_user(admin)


def test_scps_bind_the_member_accounts_root_user_too(member_setup) -> None:
    organization, member, _ = member_setup
    root_iam = member.client("iam")
    _create_user(root_iam)
    policy = organization.policy(deny("iam:CreateUser"))
    organization.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    message = _denied(lambda: _create_user(root_iam))
    assert f"arn:aws:iam::{member.account_id}:root" in message
    root_iam.list_users()


def test_an_scp_on_an_ou_reaches_accounts_below_and_moving_out_escapes(member_setup) -> None:
    organization, member, admin = member_setup
    org, root = organization.org, organization.root_id
    parent = org.create_organizational_unit(ParentId=root, Name="Locked")["OrganizationalUnit"]["Id"]
    child = org.create_organizational_unit(ParentId=parent, Name="Inner")["OrganizationalUnit"]["Id"]
    org.attach_policy(PolicyId=organization.policy(deny("iam:CreateUser")), TargetId=parent)
    _create_user(admin)
    org.move_account(AccountId=member.account_id, SourceParentId=root, DestinationParentId=child)
    _denied(lambda: _create_user(admin))
    org.move_account(AccountId=member.account_id, SourceParentId=child, DestinationParentId=root)
    _create_user(admin)


def test_every_level_must_allow_replacing_full_access_with_an_allow_list(member_setup) -> None:
    organization, member, admin = member_setup
    org = organization.org
    read_only = organization.policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"}]})
    org.attach_policy(PolicyId=read_only, TargetId=member.account_id)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member.account_id)
    admin.list_users()
    message = _denied(lambda: _create_user(admin))
    assert "because no service control policy allows the iam:CreateUser action" in message
    # The same allow list at the root while the account keeps FullAWSAccess: still limited.
    org.attach_policy(PolicyId="p-FullAWSAccess", TargetId=member.account_id)
    _create_user(admin)
    org.attach_policy(PolicyId=read_only, TargetId=organization.root_id)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=organization.root_id)
    _denied(lambda: _create_user(admin))


def test_the_management_account_is_never_restricted(member_setup) -> None:
    organization, _, _ = member_setup
    management = organization.management
    _, keys = management.admin_user()
    admin = management.client("iam", **keys)
    organization.org.attach_policy(PolicyId=organization.policy(deny("*")), TargetId=management.account_id)
    organization.org.attach_policy(PolicyId=organization.policy(deny("*")), TargetId=organization.root_id)
    _create_user(admin)
    _create_user(management.client("iam"))


def test_an_scp_can_forbid_leaving_the_organization(member_setup) -> None:
    organization, member, _ = member_setup
    organization.org.attach_policy(PolicyId=organization.policy(deny("organizations:LeaveOrganization")),
                                   TargetId=member.account_id)
    _denied(lambda: member.client("organizations").leave_organization())
    assert member.client("organizations").describe_organization()["Organization"]["Id"] == organization.org_id


def test_changes_to_a_policy_apply_to_the_next_request(member_setup) -> None:
    organization, member, admin = member_setup
    policy = organization.policy(deny("iam:CreateGroup"))
    organization.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    _create_user(admin)
    organization.org.update_policy(PolicyId=policy, Content=json.dumps(deny("iam:CreateUser")))
    _denied(lambda: _create_user(admin))


def test_leaving_or_removal_lifts_the_scps(member_setup) -> None:
    organization, member, admin = member_setup
    organization.org.attach_policy(PolicyId=organization.policy(deny("iam:CreateUser")), TargetId=member.account_id)
    _denied(lambda: _create_user(admin))
    organization.org.remove_account_from_organization(AccountId=member.account_id)
    _create_user(admin)


def test_principal_org_id_and_paths_in_identity_policies(member_setup) -> None:
    organization, member, _ = member_setup
    org_id = organization.org_id
    iam = member.client("iam")
    name = unique("conditional")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}},
            {"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*",
             "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{org_id}/*/ou-*"}}},
            {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceOrgID": org_id}}},
        ]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = member.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    user.list_users()
    user.list_roles()
    _denied(user.list_groups)  # the account sits at the root: no OU in its path yet
    ou = organization.org.create_organizational_unit(ParentId=organization.root_id, Name="P")["OrganizationalUnit"]
    organization.org.move_account(AccountId=member.account_id, SourceParentId=organization.root_id,
                                  DestinationParentId=ou["Id"])
    user.list_groups()
    organization.org.remove_account_from_organization(AccountId=member.account_id)
    _denied(user.list_users)  # outside any organization the key is absent


def test_rcp_denies_assuming_member_roles_from_outside_the_organization(organization: Organization,
                                                                          new_account) -> None:
    member, outsider = new_account(), new_account()
    organization.invite(member)
    organization.enable(RCP)
    role = unique("shared")
    member.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                "Action": "sts:AssumeRole"}]}))
    role_arn = f"arn:aws:iam::{member.account_id}:role/{role}"
    _, keys = outsider.admin_user()
    outside_sts = outsider.client("sts", **keys)
    before = _assume_role_outcome(outside_sts, role_arn)
    assert "resource control policy" not in before
    rcp = organization.policy(deny("sts:AssumeRole", condition={
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": organization.org_id}}, principal=True), RCP)
    organization.org.attach_policy(PolicyId=rcp, TargetId=member.account_id)
    after = _assume_role_outcome(outside_sts, role_arn)
    assert "with an explicit deny in a resource control policy" in after
    # A principal inside the organization is not caught by the RCP.
    insider = new_account()
    organization.invite(insider)
    _, insider_keys = insider.admin_user()
    inside = _assume_role_outcome(insider.client("sts", **insider_keys), role_arn)
    assert "resource control policy" not in inside


def _assume_role_outcome(sts: Any, role_arn: str) -> str:
    """The error message of an AssumeRole attempt ('' if it succeeded)."""
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="session")
    except ClientError as caught:
        return caught.response["Error"]["Message"]
    return ""


def test_rcps_do_not_restrict_the_management_accounts_resources(organization: Organization, new_account) -> None:
    organization.enable(RCP)
    rcp = organization.policy(deny("iam:*", principal=True), RCP)
    organization.org.attach_policy(PolicyId=rcp, TargetId=organization.root_id)
    _, keys = organization.management.admin_user()
    _create_user(organization.management.client("iam", **keys))


def test_rcps_restrict_a_members_own_principals_on_its_resources(organization: Organization, new_account) -> None:
    member: Account = new_account()
    organization.invite(member)
    organization.enable(RCP)
    _, keys = member.admin_user()
    admin = member.client("iam", **keys)
    _create_user(admin)
    rcp = organization.policy(deny("iam:CreateUser", principal=True), RCP)
    organization.org.attach_policy(PolicyId=rcp, TargetId=member.account_id)
    assert "resource control policy" in _denied(lambda: _create_user(admin))
    assert "resource control policy" in _denied(lambda: _create_user(member.client("iam")))
    organization.org.detach_policy(PolicyId=rcp, TargetId=member.account_id)
    _create_user(admin)


def test_scps_apply_to_every_service_call_of_a_member(member_setup) -> None:
    organization, member, _ = member_setup
    _, keys = member.admin_user()
    sts = member.client("sts", **keys)
    organization.org.attach_policy(PolicyId=organization.policy(deny("*")), TargetId=member.account_id)
    # GetCallerIdentity needs no permission, so no SCP can take it away.
    assert sts.get_caller_identity()["Account"] == member.account_id
    _denied(lambda: member.client("iam", **keys).list_users())
