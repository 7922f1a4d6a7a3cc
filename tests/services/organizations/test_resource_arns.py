"""IAM policies in the management account that name Organizations resources by ARN, as in AWS.

AttachPolicy is asked about the policy's ARN and the target's (root, OU or
account); AWS managed policies live under ``arn:aws:organizations::aws:``;
handshakes, OUs and accounts carry the organization id and the management
account; organizations:PolicyType and aws:ResourceTag/* are filled in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import Account, Organization, deny

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
FULL_ACCESS_ARN = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"


def limited(account: Account, statements: list[dict[str, Any]]) -> Any:
    """An organizations client of a new IAM user of ``account`` whose only policy is ``statements``."""
    iam = account.client("iam")
    name = unique("orgs-user")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return account.client("organizations", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"])


def denied(call: Any) -> str:
    """The AccessDeniedException message of a call that must be refused."""
    with pytest.raises(ClientError) as caught:
        call()
    code, message = error_of(caught)
    assert code == "AccessDeniedException", (code, message)
    return message


def new_ou(organization: Organization) -> dict[str, str]:
    """A new OU under the root (its Id and Arn)."""
    made = organization.org.create_organizational_unit(ParentId=organization.root_id, Name=unique("ou"))
    return made["OrganizationalUnit"]


def policy_arn(organization: Organization, policy_id: str) -> str:
    """A policy's ARN as Organizations reports it."""
    return organization.org.describe_policy(PolicyId=policy_id)["Policy"]["PolicySummary"]["Arn"]


def test_attach_policy_allowed_on_one_ou_and_one_policy_only(organization: Organization) -> None:
    organization.enable()
    mine, other = new_ou(organization), new_ou(organization)
    allowed_policy = organization.policy(deny("s3:DeleteBucket"))
    other_policy = organization.policy(deny("s3:PutObject"))
    allowed_arn = policy_arn(organization, allowed_policy)
    assert allowed_arn == (f"arn:aws:organizations::{organization.management.account_id}:policy/"
                           f"{organization.org_id}/service_control_policy/{allowed_policy}")
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": ["organizations:AttachPolicy", "organizations:DetachPolicy"],
        "Resource": [mine["Arn"], allowed_arn]}])
    org.attach_policy(PolicyId=allowed_policy, TargetId=mine["Id"])
    targets = organization.org.list_targets_for_policy(PolicyId=allowed_policy)["Targets"]
    assert [t["TargetId"] for t in targets] == [mine["Id"]]
    message = denied(lambda: org.attach_policy(PolicyId=allowed_policy, TargetId=other["Id"]))
    assert f"organizations:AttachPolicy on resource: {other['Arn']}" in message
    root_arn = organization.org.list_roots()["Roots"][0]["Arn"]
    message = denied(lambda: org.attach_policy(PolicyId=allowed_policy, TargetId=organization.root_id))
    assert f"on resource: {root_arn}" in message
    message = denied(lambda: org.attach_policy(PolicyId=other_policy, TargetId=mine["Id"]))
    assert f"on resource: {policy_arn(organization, other_policy)}" in message
    assert organization.org.list_targets_for_policy(PolicyId=other_policy)["Targets"] == []
    org.detach_policy(PolicyId=allowed_policy, TargetId=mine["Id"])
    assert organization.org.list_targets_for_policy(PolicyId=allowed_policy)["Targets"] == []


def test_a_wildcard_over_the_organizations_ous_and_policies(organization: Organization) -> None:
    organization.enable()
    ou = new_ou(organization)
    policy = organization.policy(deny("s3:DeleteBucket"))
    prefix = f"arn:aws:organizations::{organization.management.account_id}:"
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": "organizations:AttachPolicy",
        "Resource": [f"{prefix}ou/{organization.org_id}/*", f"{prefix}policy/{organization.org_id}/*"]}])
    org.attach_policy(PolicyId=policy, TargetId=ou["Id"])
    denied(lambda: org.attach_policy(PolicyId=policy, TargetId=organization.root_id))


def test_aws_managed_policies_have_the_aws_account_arn(organization: Organization) -> None:
    organization.enable()
    mine = organization.policy(deny("s3:DeleteBucket"))
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": "organizations:DescribePolicy", "Resource": FULL_ACCESS_ARN}])
    summary = org.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]["PolicySummary"]
    assert summary["Arn"] == FULL_ACCESS_ARN and summary["AwsManaged"] is True
    message = denied(lambda: org.describe_policy(PolicyId=mine))
    assert f"on resource: {policy_arn(organization, mine)}" in message


def test_move_account_needs_the_account_and_both_parents(organization: Organization, new_account) -> None:
    member: Account = new_account()
    organization.invite(member)
    source_arn = organization.org.list_roots()["Roots"][0]["Arn"]
    allowed_ou, other_ou = new_ou(organization), new_ou(organization)
    account_arn = organization.org.describe_account(AccountId=member.account_id)["Account"]["Arn"]
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": "organizations:MoveAccount",
        "Resource": [account_arn, source_arn, allowed_ou["Arn"]]}])
    message = denied(lambda: org.move_account(AccountId=member.account_id, SourceParentId=organization.root_id,
                                              DestinationParentId=other_ou["Id"]))
    assert f"on resource: {other_ou['Arn']}" in message
    org.move_account(AccountId=member.account_id, SourceParentId=organization.root_id,
                     DestinationParentId=allowed_ou["Id"])
    parents = organization.org.list_parents(ChildId=member.account_id)["Parents"]
    assert parents == [{"Id": allowed_ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    # Moving back out of the OU names that OU as the source, which the policy allows, and the root.
    org.move_account(AccountId=member.account_id, SourceParentId=allowed_ou["Id"],
                     DestinationParentId=organization.root_id)


def test_policy_type_condition_key(organization: Organization) -> None:
    organization.enable()
    organization.enable(RCP)
    scp = organization.policy(deny("s3:DeleteBucket"))
    rcp = organization.policy(deny("s3:DeleteBucket", principal=True), RCP)
    only_scps = {"StringEquals": {"organizations:PolicyType": SCP}}
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": ["organizations:CreatePolicy", "organizations:DescribePolicy"],
        "Resource": "*", "Condition": only_scps}])
    content = json.dumps(deny("s3:DeleteBucket"))
    made = org.create_policy(Name=unique("p"), Description="d", Type=SCP, Content=content)
    assert made["Policy"]["PolicySummary"]["Type"] == SCP
    denied(lambda: org.create_policy(Name=unique("p"), Description="d", Type=RCP,
                                     Content=json.dumps(deny("s3:DeleteBucket", principal=True))))
    # DescribePolicy names no type: the stored policy's type is the key's value.
    assert org.describe_policy(PolicyId=scp)["Policy"]["PolicySummary"]["Id"] == scp
    message = denied(lambda: org.describe_policy(PolicyId=rcp))
    assert "resource_control_policy" in message


def test_handshakes_are_named_by_their_organizations_arn(organization: Organization, new_account) -> None:
    invited: Account = new_account()
    handshake = organization.org.invite_account_to_organization(
        Target={"Id": invited.account_id, "Type": "ACCOUNT"})["Handshake"]
    assert handshake["Arn"] == (f"arn:aws:organizations::{organization.management.account_id}:handshake/"
                                f"{organization.org_id}/invite/{handshake['Id']}")
    wrong_org = limited(invited, [{
        "Effect": "Allow", "Action": "organizations:AcceptHandshake",
        "Resource": f"arn:aws:organizations::{organization.management.account_id}:handshake/o-0000000000/*"}])
    message = denied(lambda: wrong_org.accept_handshake(HandshakeId=handshake["Id"]))
    assert f"on resource: {handshake['Arn']}" in message
    right_org = limited(invited, [{
        "Effect": "Allow", "Action": "organizations:AcceptHandshake",
        "Resource": f"arn:aws:organizations::{organization.management.account_id}:handshake/"
                    f"{organization.org_id}/invite/*"}])
    accepted = right_org.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    ids = {a["Id"] for a in organization.org.list_accounts()["Accounts"]}
    assert invited.account_id in ids


def test_resource_tags_of_ous(organization: Organization) -> None:
    tagged, untagged = new_ou(organization), new_ou(organization)
    organization.org.tag_resource(ResourceId=tagged["Id"], Tags=[{"Key": "team", "Value": "blue"}])
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": "organizations:DescribeOrganizationalUnit", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}}])
    assert org.describe_organizational_unit(OrganizationalUnitId=tagged["Id"])["OrganizationalUnit"]["Id"] == (
        tagged["Id"])
    message = denied(lambda: org.describe_organizational_unit(OrganizationalUnitId=untagged["Id"]))
    assert f"on resource: {untagged['Arn']}" in message


def test_unknown_policy_ids_stay_star_and_fail_closed(organization: Organization) -> None:
    organization.enable()
    ou = new_ou(organization)
    prefix = f"arn:aws:organizations::{organization.management.account_id}:"
    org = limited(organization.management, [{
        "Effect": "Allow", "Action": "organizations:AttachPolicy",
        "Resource": [ou["Arn"], f"{prefix}policy/{organization.org_id}/*"]}])
    message = denied(lambda: org.attach_policy(PolicyId="p-doesnotexist", TargetId=ou["Id"]))
    assert "organizations:AttachPolicy" in message
    with pytest.raises(ClientError) as caught:
        organization.org.attach_policy(PolicyId="p-doesnotexist", TargetId=ou["Id"])
    assert error_of(caught)[0] == "PolicyNotFoundException"
