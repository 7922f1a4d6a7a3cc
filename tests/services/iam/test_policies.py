"""Customer managed policies, versions, tags and attachments, through boto3 as root."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique


def _doc(action: str = "s3:GetObject") -> str:
    return json.dumps(allow(action))


def _create(iam: Any, **extra: Any) -> dict[str, Any]:
    return iam.create_policy(PolicyName=unique("pol"), PolicyDocument=_doc(), **extra)["Policy"]


def _code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_create_get_delete(server: Server) -> None:
    iam = server.client("iam")
    name = unique("pol")
    created = iam.create_policy(
        PolicyName=name, Path="/team/", PolicyDocument=_doc(), Description="for tests", Tags=[{"Key": "k", "Value": "v"}]
    )["Policy"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:policy/team/{name}"
    assert created["PolicyId"].startswith("ANPA") and created["DefaultVersionId"] == "v1"
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert got["Description"] == "for tests" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["AttachmentCount"] == 0 and got["IsAttachable"] is True
    with pytest.raises(ClientError) as dup:
        iam.create_policy(PolicyName=name.upper(), PolicyDocument=_doc())
    assert _code(dup)[0] == "EntityAlreadyExists"
    version = iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(_doc()) and version["IsDefaultVersion"] is True
    iam.delete_policy(PolicyArn=created["Arn"])
    with pytest.raises(ClientError) as gone:
        iam.get_policy(PolicyArn=created["Arn"])
    assert _code(gone) == ("NoSuchEntity", f"Policy {created['Arn']} was not found.")


def test_malformed_and_oversize_documents(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as bad:
        iam.create_policy(PolicyName=unique("pol"), PolicyDocument='{"Statement": [{"Effect": "Allow"}]}')
    code, message = _code(bad)
    assert code == "MalformedPolicyDocument" and message
    huge = json.dumps(allow([f"s3:GetObject{i:05d}" for i in range(400)]))
    with pytest.raises(ClientError) as big:
        iam.create_policy(PolicyName=unique("pol"), PolicyDocument=huge)
    assert _code(big) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")


def test_versions_limit_default_switch_and_delete_rules(server: Server) -> None:
    iam = server.client("iam")
    arn = _create(iam)["Arn"]
    for i in range(2, 6):
        made = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(f"s3:Get{i}"), SetAsDefault=(i == 3))
        assert made["PolicyVersion"]["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as limit:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc())
    assert _code(limit) == (
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    )
    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in listed] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in listed] == [False, False, True, False, False]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    with pytest.raises(ClientError) as default:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert _code(default) == ("DeleteConflict", "Cannot delete the default version of a policy.")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v5")["PolicyVersion"]["IsDefaultVersion"] is True
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc())["PolicyVersion"]["VersionId"] == "v6"
    with pytest.raises(ClientError) as missing:
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert _code(missing)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as versions:
        iam.delete_policy(PolicyArn=arn)
    assert _code(versions) == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's non-default versions.",
    )
    for version in ("v2", "v3", "v4", "v6"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.delete_policy(PolicyArn=arn)


def test_tags(server: Server) -> None:
    iam = server.client("iam")
    arn = _create(iam, Tags=[{"Key": "a", "Value": "1"}])["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "b", "Value": "3"}]


def test_list_policies_local_scope_paging_and_path(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{unique('p')}/"
    arns = {_create(iam, Path=path)["Arn"] for _ in range(5)}
    pages = iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=path, PaginationConfig={"PageSize": 2})
    seen = [p["Arn"] for page in pages for p in page["Policies"]]
    assert set(seen) == arns and len(seen) == 5
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and "Description" not in first["Policies"][0]


def test_attach_detach_counts_and_listing(server: Server) -> None:
    iam = server.client("iam")
    policy = _create(iam)
    arn = policy["Arn"]
    user, group, role = unique("u"), unique("g"), unique("r")
    iam.create_user(UserName=user, Path="/ops/")
    iam.create_group(GroupName=group)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # attaching twice is quietly accepted
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == [
        {"PolicyName": policy["PolicyName"], "PolicyArn": arn}
    ]
    assert iam.list_attached_user_policies(UserName=user, PathPrefix="/nope/")["AttachedPolicies"] == []
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    only_users = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User", PathPrefix="/ops/")
    assert only_users["PolicyGroups"] == [] and len(only_users["PolicyUsers"]) == 1
    assert iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User", PathPrefix="/dev/")["PolicyUsers"] == []
    local = {p["Arn"] for p in iam.list_policies(Scope="Local", OnlyAttached=True, MaxItems=1000)["Policies"]}
    assert arn in local
    with pytest.raises(ClientError) as attached:
        iam.delete_policy(PolicyArn=arn)
    assert _code(attached) == ("DeleteConflict", "Cannot delete a policy attached to entities.")
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError) as not_attached:
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert _code(not_attached)[0] == "NoSuchEntity"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.delete_policy(PolicyArn=arn)


def test_attach_errors_and_quota(server: Server) -> None:
    iam = server.client("iam")
    user = unique("u")
    iam.create_user(UserName=user)
    missing = f"arn:aws:iam::{server.account_id}:policy/{unique('none')}"
    with pytest.raises(ClientError) as absent:
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    assert _code(absent) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    with pytest.raises(ClientError) as no_user:
        iam.attach_user_policy(UserName=unique("ghost"), PolicyArn=_create(iam)["Arn"])
    assert _code(no_user)[0] == "NoSuchEntity"
    for _ in range(10):
        iam.attach_user_policy(UserName=user, PolicyArn=_create(iam)["Arn"])
    with pytest.raises(ClientError) as quota:
        iam.attach_user_policy(UserName=user, PolicyArn=_create(iam)["Arn"])
    assert _code(quota) == ("LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 10")
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=user, PaginationConfig={"PageSize": 3})
    assert len([p for page in pages for p in page["AttachedPolicies"]]) == 10


def test_attached_managed_policy_grants_and_version_switch_takes_effect(server: Server) -> None:
    iam = server.client("iam")
    user = unique("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    arn = iam.create_policy(PolicyName=unique("pol"), PolicyDocument=json.dumps(allow("iam:ListUsers")))["Policy"]["Arn"]
    with pytest.raises(ClientError) as denied:
        as_user.list_users()
    assert _code(denied)[0] == "AccessDenied"
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    as_user.list_users()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("iam:GetUser")), SetAsDefault=True)
    with pytest.raises(ClientError) as switched:
        as_user.list_users()
    assert _code(switched)[0] == "AccessDenied"


def test_invalid_arn(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as bad:
        iam.get_policy(PolicyArn="not-an-arn-but-long-enough")
    assert _code(bad) == ("InvalidInput", "ARN not-an-arn-but-long-enough is not valid.")


def test_permissions_boundary_usage(server: Server) -> None:
    iam = server.client("iam")
    arn = _create(iam)["Arn"]
    user = unique("u")
    iam.create_user(UserName=user, PermissionsBoundary=arn)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PermissionsBoundaryUsageCount"] == 1 and policy["AttachmentCount"] == 0
    bounded = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in bounded["PolicyUsers"]] == [user]
    assert iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")["PolicyUsers"] == []
    used = iam.list_policies(Scope="Local", OnlyAttached=True, PolicyUsageFilter="PermissionsBoundary", MaxItems=1000)
    assert arn in {p["Arn"] for p in used["Policies"]}
    attached = iam.list_policies(Scope="Local", OnlyAttached=True, PolicyUsageFilter="PermissionsPolicy", MaxItems=1000)
    assert arn not in {p["Arn"] for p in attached["Policies"]}


def test_unknown_policy_answers(server: Server) -> None:
    iam = server.client("iam")
    missing = f"arn:aws:iam::{server.account_id}:policy/{unique('none')}"
    for call in (
        lambda: iam.list_entities_for_policy(PolicyArn=missing),
        lambda: iam.list_policy_versions(PolicyArn=missing),
        lambda: iam.get_policy_version(PolicyArn=missing, VersionId="v1"),
        lambda: iam.create_policy_version(PolicyArn=missing, PolicyDocument=_doc()),
        lambda: iam.list_policy_tags(PolicyArn=missing),
        lambda: iam.delete_policy(PolicyArn=missing),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert _code(error) == ("NoSuchEntity", f"Policy {missing} was not found.")
    with pytest.raises(ClientError) as marker:
        iam.list_policies(Scope="Local", Marker="!!not-a-marker!!")
    assert _code(marker)[0] == "InvalidInput"
