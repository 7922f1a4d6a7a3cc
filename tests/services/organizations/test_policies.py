"""SCPs and RCPs as objects: create, validate, attach, detach, the default full-access policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of
from tests.services.organizations.conftest import Account, Organization, deny

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"


def _attached(organization: Organization, target: str, kind: str = SCP) -> set[str]:
    return {p["Id"] for p in organization.org.list_policies_for_target(TargetId=target, Filter=kind)["Policies"]}


def test_enabling_scps_attaches_full_aws_access_everywhere(organization: Organization, new_account) -> None:
    org, root = organization.org, organization.root_id
    member: Account = new_account()
    organization.invite(member)
    ou = org.create_organizational_unit(ParentId=root, Name="Before")["OrganizationalUnit"]["Id"]
    policy = organization.policy(deny("iam:CreateUser"))
    with pytest.raises(ClientError) as caught:
        org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    assert error_of(caught)[0] == "PolicyTypeNotEnabledException"
    enabled = org.enable_policy_type(RootId=root, PolicyType=SCP)["Root"]
    assert enabled["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    with pytest.raises(ClientError) as caught:
        org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert error_of(caught)[0] == "PolicyTypeAlreadyEnabledException"
    for target in (root, ou, member.account_id, organization.management.account_id):
        assert _attached(organization, target) == {"p-FullAWSAccess"}
    later = org.create_organizational_unit(ParentId=root, Name="After")["OrganizationalUnit"]["Id"]
    assert _attached(organization, later) == {"p-FullAWSAccess"}
    full = org.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]
    assert full["PolicySummary"]["AwsManaged"] is True
    assert full["PolicySummary"]["Arn"] == "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    assert json.loads(full["Content"])["Statement"][0]["Action"] == "*"
    targets = {t["TargetId"]: t["Type"] for t in org.list_targets_for_policy(PolicyId="p-FullAWSAccess")["Targets"]}
    assert targets[root] == "ROOT" and targets[ou] == "ORGANIZATIONAL_UNIT" and targets[member.account_id] == "ACCOUNT"
    # Disabling detaches every SCP; enabling again starts from FullAWSAccess.
    org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    assert org.disable_policy_type(RootId=root, PolicyType=SCP)["Root"]["PolicyTypes"] == []
    assert org.list_targets_for_policy(PolicyId=policy)["Targets"] == []
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert _attached(organization, member.account_id) == {"p-FullAWSAccess"}


def test_policy_crud_and_attachment_rules(organization: Organization, new_account) -> None:
    org = organization.org
    member: Account = new_account()
    organization.invite(member)
    organization.enable()
    made = org.create_policy(Name="NoUsers", Description="d", Type=SCP,
                             Content=json.dumps(deny("iam:CreateUser")))["Policy"]
    summary = made["PolicySummary"]
    assert summary["Arn"] == (f"arn:aws:organizations::{organization.management.account_id}:policy/"
                              f"{organization.org_id}/service_control_policy/{summary['Id']}")
    assert summary["AwsManaged"] is False
    with pytest.raises(ClientError) as caught:
        org.create_policy(Name="NoUsers", Description="d", Type=SCP, Content=json.dumps(deny("iam:CreateUser")))
    assert error_of(caught)[0] == "DuplicatePolicyException"
    names = {p["Name"] for p in org.list_policies(Filter=SCP)["Policies"]}
    assert {"NoUsers", "FullAWSAccess"} <= names
    org.attach_policy(PolicyId=summary["Id"], TargetId=member.account_id)
    with pytest.raises(ClientError) as caught:
        org.attach_policy(PolicyId=summary["Id"], TargetId=member.account_id)
    assert error_of(caught)[0] == "DuplicatePolicyAttachmentException"
    with pytest.raises(ClientError) as caught:
        org.attach_policy(PolicyId=summary["Id"], TargetId="ou-zzzz-zzzzzzzz")
    assert error_of(caught)[0] == "TargetNotFoundException"
    with pytest.raises(ClientError) as caught:
        org.delete_policy(PolicyId=summary["Id"])
    assert error_of(caught)[0] == "PolicyInUseException"
    updated = org.update_policy(PolicyId=summary["Id"], Name="NoUsersOrGroups",
                                Content=json.dumps(deny(["iam:CreateUser", "iam:CreateGroup"])))["Policy"]
    assert updated["PolicySummary"]["Name"] == "NoUsersOrGroups"
    assert "iam:CreateGroup" in org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
    with pytest.raises(ClientError) as caught:
        org.update_policy(PolicyId="p-FullAWSAccess", Name="Mine")
    assert caught.value.response["Reason"] == "IMMUTABLE_POLICY"
    org.detach_policy(PolicyId=summary["Id"], TargetId=member.account_id)
    with pytest.raises(ClientError) as caught:
        org.detach_policy(PolicyId=summary["Id"], TargetId=member.account_id)
    assert error_of(caught)[0] == "PolicyNotAttachedException"
    # Every target keeps at least one SCP, as AWS insists.
    with pytest.raises(ClientError) as caught:
        org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member.account_id)
    assert caught.value.response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    org.delete_policy(PolicyId=summary["Id"])
    with pytest.raises(ClientError) as caught:
        org.describe_policy(PolicyId=summary["Id"])
    assert error_of(caught)[0] == "PolicyNotFoundException"


def test_at_most_five_scps_per_target(organization: Organization) -> None:
    organization.enable()
    org, root = organization.org, organization.root_id
    for i in range(4):
        org.attach_policy(PolicyId=organization.policy(deny(f"iam:Tag{i}")), TargetId=root)
    with pytest.raises(ClientError) as caught:
        org.attach_policy(PolicyId=organization.policy(deny("iam:Tag5")), TargetId=root)
    assert caught.value.response["Reason"] == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"


@pytest.mark.parametrize(("kind", "document"), [
    (SCP, {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]}),
    (SCP, {"Version": "2012-10-17", "Statement": []}),
    (RCP, {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
    (SCP, {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam", "Resource": "*"}]}),
])
def test_malformed_documents_are_refused(organization: Organization, kind: str, document: dict) -> None:
    with pytest.raises(ClientError) as caught:
        organization.org.create_policy(Name="bad", Description="d", Type=kind, Content=json.dumps(document))
    assert error_of(caught)[0] == "MalformedPolicyDocumentException"
    names = {p["Name"] for p in organization.org.list_policies(Filter=kind)["Policies"]}
    assert "bad" not in names


def test_oversized_policy_is_a_constraint_violation(organization: Organization) -> None:
    actions = [f"iam:Action{i:05d}" for i in range(400)]
    with pytest.raises(ClientError) as caught:
        organization.org.create_policy(Name="big", Description="d", Type=SCP, Content=json.dumps(deny(actions)))
    assert caught.value.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"


def test_rcps_start_from_rcp_full_aws_access_which_stays(organization: Organization, new_account) -> None:
    org = organization.org
    member: Account = new_account()
    organization.invite(member)
    organization.enable(RCP)
    assert _attached(organization, member.account_id, RCP) == {"p-RCPFullAWSAccess"}
    with pytest.raises(ClientError) as caught:
        org.detach_policy(PolicyId="p-RCPFullAWSAccess", TargetId=member.account_id)
    assert caught.value.response["Reason"] == "NON_DETACHABLE_POLICY"
