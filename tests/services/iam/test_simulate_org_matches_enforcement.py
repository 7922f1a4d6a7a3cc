"""Property: in a member account under SCPs, SimulatePrincipalPolicy says what enforcement does.

Random identity policies of a member account's user are simulated and then
tried for real, under SCPs at three levels: an allow-list on the user's OU
(reads and one write), a Deny on the account scoped to one user's ARN, and a
Deny conditioned on the org keys. Every simulated decision must match, and
AllowedByOrganizations must be false whenever the SCPs alone refuse.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.iam.helpers import unique
from tests.services.organizations.conftest import (  # noqa: F401 - fixtures
    Account,
    Organization,
    deny,
    new_account,
    organization,
)

ACTIONS = ("iam:GetUser", "iam:ListUsers", "iam:GetGroup", "iam:ListGroups", "iam:TagUser")
ACTION_PATTERNS = (*ACTIONS, "iam:Get*", "iam:List*", "iam:*", "*")


def statement(targets: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """One Allow or Deny over a few actions and resources of the test's little universe."""
    return st.fixed_dictionaries({
        "Effect": st.sampled_from(["Allow", "Allow", "Deny"]),
        "Action": st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True),
        "Resource": st.lists(st.sampled_from(["*", *targets]), min_size=1, max_size=2, unique=True),
    })


def enforced(client: Any, action: str, user: str, group: str) -> bool:
    """Whether the real call gets past authorization."""
    calls = {
        "iam:GetUser": lambda: client.get_user(UserName=user),
        "iam:ListUsers": lambda: client.list_users(MaxItems=1),
        "iam:GetGroup": lambda: client.get_group(GroupName=group),
        "iam:ListGroups": lambda: client.list_groups(MaxItems=1),
        "iam:TagUser": lambda: client.tag_user(UserName=user, Tags=[{"Key": "k", "Value": "v"}]),
    }
    try:
        calls[action]()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response["Error"]
        return False
    return True


def govern(org_: Organization, member: Account, scoped_user_arn: str) -> str:
    """Put ``member`` in a new OU under an allow-list and two Denies; the OU's id."""
    org = org_.org
    ou = org.create_organizational_unit(ParentId=org_.root_id, Name=unique("ou"))["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=member.account_id, SourceParentId=org_.root_id, DestinationParentId=ou)
    allow_list = org_.policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "iam:Simulate*", "iam:TagUser", "iam:PutUserPolicy"],
        "Resource": "*"}]})
    org.attach_policy(PolicyId=allow_list, TargetId=ou)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)
    org.attach_policy(PolicyId=org_.policy(deny("iam:GetUser", scoped_user_arn)), TargetId=member.account_id)
    paths_deny = deny("iam:ListGroups", condition={
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{org_.org_id}/*/{ou}/*"]}})
    org.attach_policy(PolicyId=org_.policy(paths_deny), TargetId=member.account_id)
    return ou


def test_member_account_simulation_matches_enforcement(organization: Organization, new_account) -> None:  # noqa: F811
    org_: Organization = organization
    member: Account = new_account()
    org_.invite(member)
    org_.enable()
    root = member.client("iam")
    caller, target, group = unique("sim-caller"), unique("sim-target"), unique("sim-group")
    caller_arn = root.create_user(UserName=caller)["User"]["Arn"]
    target_arn = root.create_user(UserName=target)["User"]["Arn"]
    group_arn = root.create_group(GroupName=group)["Group"]["Arn"]
    key = root.create_access_key(UserName=caller)["AccessKey"]
    client = member.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    govern(org_, member, target_arn)
    resource_of = {"iam:GetUser": target_arn, "iam:GetGroup": group_arn, "iam:TagUser": target_arn}
    # The SCPs alone: GetUser on the target is denied at the account, ListGroups by the org-paths Deny.
    refused_by_scps = {"iam:GetUser", "iam:ListGroups"}
    other = target_arn.replace(target, "someone-else")

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(statement([target_arn, group_arn, caller_arn, other]), min_size=1, max_size=3))
    def check(statements: list[dict[str, Any]]) -> None:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        root.put_user_policy(UserName=caller, PolicyName="property", PolicyDocument=document)
        for action in ACTIONS:
            resource = resource_of.get(action, "*")
            result = root.simulate_principal_policy(
                PolicySourceArn=caller_arn, ActionNames=[action], ResourceArns=[resource]
            )["EvaluationResults"][0]
            assert (result["EvalDecision"] == "allowed") == enforced(client, action, target, group), (action, document)
            allowed_by_org = result["OrganizationsDecisionDetail"]["AllowedByOrganizations"]
            assert allowed_by_org == (action not in refused_by_scps), (action, result)

    check()
