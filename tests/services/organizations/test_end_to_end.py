"""End to end: account A's role trusts account B, B's user assumes it; the organization's policies decide.

An SCP on B's OU takes the role away from B's users; an SCP on A's OU limits
what the role session may do in A; the role created by CreateAccount lets the
management account in; a trust policy conditioned on aws:PrincipalOrgID lets
exactly the organization's principals in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import unique
from tests.services.organizations.conftest import Account, Organization, deny


def _session_client(server: Any, service: str, credentials: dict[str, Any]) -> Any:
    return server.client(service, aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"])


def _role(account: Account, trust_statement: dict[str, Any], policy_arn: str) -> str:
    iam = account.client("iam")
    name = unique("role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [trust_statement]}))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


@pytest.fixture
def two_members(organization: Organization, new_account) -> tuple[Organization, Account, Account, dict[str, str]]:
    """Members A and B (B in OU "B-OU"), SCPs enabled, and the ids of both OUs."""
    a, b = new_account(), new_account()
    organization.invite(a)
    organization.invite(b)
    organization.enable()
    org, root = organization.org, organization.root_id
    ous = {}
    for label, member in (("a", a), ("b", b)):
        ou = org.create_organizational_unit(ParentId=root, Name=f"{label}-ou")["OrganizationalUnit"]["Id"]
        org.move_account(AccountId=member.account_id, SourceParentId=root, DestinationParentId=ou)
        ous[label] = ou
    return organization, a, b, ous


def test_an_scp_on_bs_ou_takes_the_cross_account_role_away(two_members, server) -> None:
    organization, a, b, ous = two_members
    role_arn = _role(a, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"},
                         "Action": "sts:AssumeRole"}, "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    _, keys = b.admin_user()
    b_sts = b.client("sts", **keys)
    credentials = b_sts.assume_role(RoleArn=role_arn, RoleSessionName="visitor")["Credentials"]
    iam_in_a = _session_client(server, "iam", credentials)
    iam_in_a.list_roles()  # exactly what the role allows: read
    assert _code(lambda: iam_in_a.create_user(UserName=unique("no"))) == "AccessDenied"
    scp = organization.policy(deny("sts:AssumeRole"))
    organization.org.attach_policy(PolicyId=scp, TargetId=ous["b"])
    with pytest.raises(ClientError) as caught:
        b_sts.assume_role(RoleArn=role_arn, RoleSessionName="visitor")
    assert "service control policy" in caught.value.response["Error"]["Message"]
    organization.org.detach_policy(PolicyId=scp, TargetId=ous["b"])
    assert b_sts.assume_role(RoleArn=role_arn, RoleSessionName="visitor")["Credentials"]


def test_an_scp_on_as_ou_limits_the_role_session_in_a(two_members, server) -> None:
    organization, a, b, ous = two_members
    role_arn = _role(a, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"},
                         "Action": "sts:AssumeRole"}, "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    _, keys = b.admin_user()
    credentials = b.client("sts", **keys).assume_role(RoleArn=role_arn, RoleSessionName="visit")["Credentials"]
    iam_in_a = _session_client(server, "iam", credentials)
    iam_in_a.list_roles()
    organization.org.attach_policy(PolicyId=organization.policy(deny("iam:ListRoles")), TargetId=ous["a"])
    assert _code(iam_in_a.list_roles) == "AccessDenied"
    iam_in_a.list_users()


def test_trust_conditioned_on_principal_org_id(two_members, new_account) -> None:
    organization, a, b, _ = two_members
    outsider: Account = new_account()
    role_arn = _role(a, {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization.org_id}}},
                     "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    _, b_keys = b.admin_user()
    assert b.client("sts", **b_keys).assume_role(RoleArn=role_arn, RoleSessionName="insider")["Credentials"]
    _, outside_keys = outsider.admin_user()
    assert _code(lambda: outsider.client("sts", **outside_keys).assume_role(
        RoleArn=role_arn, RoleSessionName="outsider")) == "AccessDenied"


def test_the_management_account_enters_created_accounts_through_their_role(organization: Organization,
                                                                           server) -> None:
    made = organization.org.create_account(Email=f"{unique('e')}@example.com",
                                           AccountName="Created")["CreateAccountStatus"]
    role_arn = f"arn:aws:iam::{made['AccountId']}:role/OrganizationAccountAccessRole"
    _, keys = organization.management.admin_user()
    credentials = organization.management.client("sts", **keys).assume_role(
        RoleArn=role_arn, RoleSessionName="admin")["Credentials"]
    inside = _session_client(server, "iam", credentials)
    role = inside.get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{organization.management.account_id}:root"
    attached = inside.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AdministratorAccess"]
    inside.create_user(UserName=unique("made-inside"))  # administrator in the new account
    assert _session_client(server, "sts", credentials).get_caller_identity()["Account"] == made["AccountId"]
    # Once SCPs are on, the new account's principals (this session too) are bound by them.
    organization.enable()
    organization.org.attach_policy(PolicyId=organization.policy(deny("iam:CreateUser")), TargetId=made["AccountId"])
    assert _code(lambda: inside.create_user(UserName=unique("blocked"))) == "AccessDenied"
    custom = organization.org.create_account(Email=f"{unique('e')}@example.com", AccountName="Custom",
                                             RoleName="Breakglass")["CreateAccountStatus"]
    assert organization.management.client("sts", **keys).assume_role(
        RoleArn=f"arn:aws:iam::{custom['AccountId']}:role/Breakglass", RoleSessionName="glass")["Credentials"]
