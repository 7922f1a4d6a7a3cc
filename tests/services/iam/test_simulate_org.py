"""The simulator in an organization: SimulatePrincipalPolicy applies the account's SCPs, SimulateCustomPolicy doesn't.

SimulatePrincipalPolicy evaluates the SCPs from the root through the OUs to
the simulated principal's account, as enforcement does, and reports
OrganizationsDecisionDetail for an account in an organization;
SimulateCustomPolicy only knows the SCPs given in
OrderedOrganizationPolicyInputList (AWS retrieves nothing for it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import unique
from tests.services.organizations.conftest import (  # noqa: F401 - fixtures
    Account,
    Organization,
    deny,
    new_account,
    organization,
)

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def member(organization: Organization, new_account) -> tuple[Organization, Account]:  # noqa: F811
    """A member account of a new org_ with SCPs enabled."""
    account: Account = new_account()
    organization.invite(account)
    organization.enable()
    return organization, account


def admin_arn(account: Account) -> tuple[str, Any]:
    """A new admin user's ARN in ``account``, and an IAM client signing as that user."""
    name, keys = account.admin_user(ADMIN)
    iam = account.client("iam")
    return iam.get_user(UserName=name)["User"]["Arn"], account.client("iam", **keys)


def simulate(account: Account, arn: str, action: str, **extra: Any) -> dict[str, Any]:
    """The one EvaluationResult of simulating ``action`` for ``arn``."""
    out = account.client("iam").simulate_principal_policy(PolicySourceArn=arn, ActionNames=[action], **extra)
    return out["EvaluationResults"][0]


def enforced(call: Any) -> bool:
    """Whether a real call gets past authorization."""
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response["Error"]
        return False
    return True


def test_an_scp_on_the_members_account_shows_in_the_simulation(member) -> None:
    org_, account = member
    arn, admin = admin_arn(account)
    allowed = simulate(account, arn, "iam:CreateUser")
    assert allowed["EvalDecision"] == "allowed"
    assert allowed["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    policy = org_.policy(deny("iam:CreateUser"))
    org_.org.attach_policy(PolicyId=policy, TargetId=account.account_id)
    denied = simulate(account, arn, "iam:CreateUser")
    assert denied["EvalDecision"] == "explicitDeny"
    assert denied["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert not enforced(lambda: admin.create_user(UserName=unique("u")))
    other = simulate(account, arn, "iam:ListUsers")
    assert other["EvalDecision"] == "allowed" and other["OrganizationsDecisionDetail"]["AllowedByOrganizations"]
    # PolicyType scp in PolicyExclusionList leaves the account's SCPs out.
    excluded = simulate(account, arn, "iam:CreateUser", PolicyExclusionList=[{"PolicyType": "scp"}])
    assert excluded["EvalDecision"] == "allowed"


def test_an_allow_list_scp_on_an_ou_limits_what_the_simulation_allows(member) -> None:
    org_, account = member
    arn, admin = admin_arn(account)  # made before the allow-list takes iam:CreateUser away
    ou = org_.org.create_organizational_unit(ParentId=org_.root_id, Name=unique("ou"))
    ou_id = ou["OrganizationalUnit"]["Id"]
    org_.org.move_account(AccountId=account.account_id, SourceParentId=org_.root_id,
                                  DestinationParentId=ou_id)
    only_reads = org_.policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "iam:Simulate*"], "Resource": "*"}]})
    org_.org.attach_policy(PolicyId=only_reads, TargetId=ou_id)
    org_.org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou_id)
    write = simulate(account, arn, "iam:CreateGroup")
    assert write["EvalDecision"] == "implicitDeny"
    assert write["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert not enforced(lambda: admin.create_group(GroupName=unique("g")))
    read = simulate(account, arn, "iam:ListGroups")
    assert read["EvalDecision"] == "allowed"
    assert enforced(lambda: admin.list_groups(MaxItems=1))


def test_the_management_account_is_never_bound(member) -> None:
    org_, account = member
    management_arn, _ = admin_arn(org_.management)
    member_arn, _ = admin_arn(account)
    org_.org.attach_policy(PolicyId=org_.policy(deny("iam:CreateUser")),
                                   TargetId=org_.root_id)
    result = simulate(org_.management, management_arn, "iam:CreateUser")
    assert result["EvalDecision"] == "allowed"
    assert result["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert simulate(account, member_arn, "iam:CreateUser")["EvalDecision"] == "explicitDeny"


def test_accounts_outside_any_organization_get_no_organizations_detail(new_account) -> None:  # noqa: F811
    loner: Account = new_account()
    arn, _ = admin_arn(loner)
    result = simulate(loner, arn, "iam:CreateUser")
    assert result["EvalDecision"] == "allowed"
    assert "OrganizationsDecisionDetail" not in result


def test_org_condition_keys_are_filled_in_as_enforcement_fills_them(member) -> None:
    org_, account = member
    arn, admin = admin_arn(account)
    scp = deny("iam:ListUsers", condition={"StringEquals": {"aws:PrincipalOrgID": org_.org_id}})
    org_.org.attach_policy(PolicyId=org_.policy(scp), TargetId=account.account_id)
    result = simulate(account, arn, "iam:ListUsers")
    assert result["EvalDecision"] == "explicitDeny"
    assert "aws:PrincipalOrgID" not in result["MissingContextValues"]
    assert not enforced(lambda: admin.list_users(MaxItems=1))
    entries = [{"ContextKeyName": "aws:PrincipalOrgID", "ContextKeyValues": ["o-0000000000"],
                "ContextKeyType": "string"}]
    assert simulate(account, arn, "iam:ListUsers", ContextEntries=entries)["EvalDecision"] == "allowed"


def test_simulate_custom_policy_applies_only_the_scps_it_is_given(member) -> None:
    org_, account = member
    scp = deny("iam:CreateUser")
    org_.org.attach_policy(PolicyId=org_.policy(scp), TargetId=account.account_id)
    iam = account.client("iam")
    admin_policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    plain = iam.simulate_custom_policy(PolicyInputList=[admin_policy], ActionNames=["iam:CreateUser"])
    result = plain["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert "OrganizationsDecisionDetail" not in result
    full_access = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    given = iam.simulate_custom_policy(
        PolicyInputList=[admin_policy], ActionNames=["iam:CreateUser"],
        OrderedOrganizationPolicyInputList=[{"ServiceControlPolicyInputList": [full_access, json.dumps(scp)]}],
    )["EvaluationResults"][0]
    assert given["EvalDecision"] == "explicitDeny"
    assert given["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
