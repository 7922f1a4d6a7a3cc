"""The policy simulator and context-key APIs through boto3, as root."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.iam.errors import InvalidInput
from rampart.services.iam.simulate_context import (
    context_keys,
    context_values,
    statement_positions,
)
from tests.services.iam.helpers import allow, unique

BUCKET = "arn:aws:s3:::sim-bucket"


@pytest.fixture(scope="module")
def iam(server: Any) -> Any:
    return server.client("iam")


def _user(iam: Any, policy: dict[str, Any] | None = None, name: str = "inline") -> dict[str, Any]:
    user = iam.create_user(UserName=unique("sim"))["User"]
    if policy is not None:
        iam.put_user_policy(UserName=user["UserName"], PolicyName=name, PolicyDocument=json.dumps(policy))
    return user


def _deny(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource}]}


def test_allowed_on_the_bucket_implicit_deny_elsewhere(iam: Any) -> None:
    user = _user(iam, allow("s3:GetObject", f"{BUCKET}/*"))
    out = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["s3:GetObject"],
        ResourceArns=[f"{BUCKET}/key", "arn:aws:s3:::other/key"],
    )
    [result] = out["EvaluationResults"]
    assert result["EvalActionName"] == "s3:GetObject"
    assert result["EvalDecision"] == "implicitDeny"  # the most restrictive over both resources
    assert result["EvalResourceName"] == "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    first, second = result["ResourceSpecificResults"]
    assert (first["EvalResourceName"], first["EvalResourceDecision"]) == (f"{BUCKET}/key", "allowed")
    assert (second["EvalResourceName"], second["EvalResourceDecision"]) == ("arn:aws:s3:::other/key", "implicitDeny")
    [statement] = first["MatchedStatements"]
    assert statement["SourcePolicyId"] == f"user_{user['UserName']}_inline"
    assert statement["SourcePolicyType"] == "IAM Policy"
    assert second["MatchedStatements"] == []
    assert result["EvalDecisionDetails"] == {}  # same account with named resources: present, empty


def test_star_resource_shape(iam: Any) -> None:
    user = _user(iam, allow("s3:ListAllMyBuckets"))
    [result] = iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=["s3:ListAllMyBuckets"])[
        "EvaluationResults"]
    assert result["EvalResourceName"] == "*"
    assert result["EvalDecision"] == "allowed"
    assert "ResourceSpecificResults" not in result and "EvalDecisionDetails" not in result
    assert "PermissionsBoundaryDecisionDetail" not in result
    assert result["MissingContextValues"] == []


def test_explicit_deny_names_the_statement(iam: Any) -> None:
    user = _user(iam, allow("s3:*"))
    iam.put_user_policy(UserName=user["UserName"], PolicyName="no-delete",
                        PolicyDocument=json.dumps(_deny("s3:DeleteBucket")))
    [result] = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["s3:DeleteBucket"], ResourceArns=[BUCKET])["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in result["MatchedStatements"]] == [f"user_{user['UserName']}_no-delete"]


def test_boundary_that_does_not_allow(iam: Any) -> None:
    user = _user(iam, allow("s3:GetObject"))
    out = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["s3:GetObject", "s3:ListBucket"],
        PermissionsBoundaryPolicyInputList=[json.dumps(allow("s3:ListBucket"))],
    )
    get, listing = out["EvaluationResults"]
    assert get["EvalDecision"] == "implicitDeny"
    assert get["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert listing["EvalDecision"] == "implicitDeny"  # the boundary allows, no identity policy does
    assert listing["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}


def test_attached_boundary_counts(iam: Any) -> None:
    policy = iam.create_policy(PolicyName=unique("bound"), PolicyDocument=json.dumps(allow("s3:ListBucket")))["Policy"]
    user = _user(iam, allow("s3:*"))
    iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=policy["Arn"])
    get, listing = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["s3:GetObject", "s3:ListBucket"])["EvaluationResults"]
    assert (get["EvalDecision"], listing["EvalDecision"]) == ("implicitDeny", "allowed")
    assert get["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is False


def test_missing_context_values(iam: Any) -> None:
    policy = allow("s3:GetObject")
    policy["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    user = _user(iam, policy)
    ask = dict(PolicySourceArn=user["Arn"], ActionNames=["s3:GetObject"])
    [without] = iam.simulate_principal_policy(**ask)["EvaluationResults"]
    assert without["EvalDecision"] == "implicitDeny"
    assert without["MissingContextValues"] == ["aws:SourceIp"]
    entry = {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}
    [inside] = iam.simulate_principal_policy(**ask, ContextEntries=[entry])["EvaluationResults"]
    assert (inside["EvalDecision"], inside["MissingContextValues"]) == ("allowed", [])
    entry["ContextKeyValues"] = ["192.168.0.1"]
    [outside] = iam.simulate_principal_policy(**ask, ContextEntries=[entry])["EvaluationResults"]
    assert (outside["EvalDecision"], outside["MissingContextValues"]) == ("implicitDeny", [])


def test_group_policies_count_for_a_user(iam: Any) -> None:
    group = unique("simgroup")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=json.dumps(allow("sqs:SendMessage")))
    user = _user(iam)
    ask = dict(PolicySourceArn=user["Arn"], ActionNames=["sqs:SendMessage"])
    assert iam.simulate_principal_policy(**ask)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    iam.add_user_to_group(GroupName=group, UserName=user["UserName"])
    [result] = iam.simulate_principal_policy(**ask)["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == f"group_{group}_g"
    group_arn = iam.get_group(GroupName=group)["Group"]["Arn"]
    [as_group] = iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["sqs:SendMessage"])[
        "EvaluationResults"]
    assert as_group["EvalDecision"] == "allowed"


def test_role_and_managed_policy(iam: Any) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=unique("simrole"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    get, put = iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"], ActionNames=["s3:GetObject", "s3:PutObject"])["EvaluationResults"]
    assert (get["EvalDecision"], put["EvalDecision"]) == ("allowed", "implicitDeny")
    assert get["MatchedStatements"][0]["SourcePolicyId"] == "ReadOnlyAccess"
    excluded = iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"], ActionNames=["s3:GetObject"],
        PolicyExclusionList=[{"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])["EvaluationResults"]
    assert excluded[0]["EvalDecision"] == "implicitDeny"


def test_custom_policy_with_positions_and_paging(iam: Any) -> None:
    document = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
                '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')
    entry = {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"],
             "ContextKeyType": "date"}
    out = iam.simulate_custom_policy(PolicyInputList=[document], ActionNames=["dynamodb:CreateBackup"],
                                     ContextEntries=[entry])
    [result] = out["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    # AWS CLI's published example for exactly this input.
    assert result["MatchedStatements"] == [{
        "SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "IAM Policy",
        "StartPosition": {"Line": 1, "Column": 38}, "EndPosition": {"Line": 1, "Column": 167}}]
    first = iam.simulate_custom_policy(PolicyInputList=[document], ActionNames=["dynamodb:A", "dynamodb:B", "s3:C"],
                                       MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    rest = iam.simulate_custom_policy(PolicyInputList=[document], ActionNames=["dynamodb:A", "dynamodb:B", "s3:C"],
                                      MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == ["s3:C"]
    assert rest["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_resource_policy_cross_account(iam: Any, server: Any) -> None:
    user = _user(iam, allow("s3:GetObject"))
    bucket_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "s3:GetObject", "Resource": "*"}]}
    [result] = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("s3:GetObject"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::theirs/key"], ResourcePolicy=json.dumps(bucket_policy),
        ResourceOwner="arn:aws:iam::210987654321:root", CallerArn=user["Arn"])["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    assert {m["SourcePolicyType"] for m in result["MatchedStatements"]} == {"IAM Policy", "Resource Policy"}
    [alone] = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("s3:PutObject"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::theirs/key"], ResourcePolicy=json.dumps(bucket_policy),
        ResourceOwner="210987654321", CallerArn=user["Arn"])["EvaluationResults"]
    assert alone["EvalDecision"] == "implicitDeny"
    assert alone["ResourceSpecificResults"][0]["EvalDecisionDetails"] == {
        "IAM Policy": "implicitDeny", "Resource Policy": "allowed"}


def test_organization_policies(iam: Any) -> None:
    scp = json.dumps(_deny("s3:DeleteBucket"))
    root_allows = json.dumps(allow("*"))
    delete, get = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("s3:*"))], ActionNames=["s3:DeleteBucket", "s3:GetObject"],
        OrderedOrganizationPolicyInputList=[{"ServiceControlPolicyInputList": [root_allows, scp]}],
    )["EvaluationResults"]
    assert delete["EvalDecision"] == "explicitDeny"
    assert delete["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert delete["MatchedStatements"] == []  # SCP statements are not reported
    assert get["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}


def test_errors(iam: Any, server: Any) -> None:
    with pytest.raises(ClientError) as bad:
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert bad.value.response["Error"]["Code"] == "InvalidInput"
    assert bad.value.response["Error"]["Message"] == "Syntax errors in policy."
    with pytest.raises(ClientError) as missing:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{server.account_id}:user/nobody-here",
                                      ActionNames=["s3:GetObject"])
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    assert missing.value.response["Error"]["Message"] == "The user with name nobody-here cannot be found."
    with pytest.raises(ClientError) as odd:
        iam.get_context_keys_for_principal_policy(PolicySourceArn="arn:aws:s3:::not-an-entity-arn")
    assert odd.value.response["Error"]["Code"] == "InvalidInput"
    with pytest.raises(ClientError) as typed:
        iam.simulate_custom_policy(
            PolicyInputList=[json.dumps(allow("s3:*"))], ActionNames=["s3:GetObject"],
            ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["nope"], "ContextKeyType": "ip"}])
    assert typed.value.response["Error"]["Code"] == "InvalidInput"


def test_context_keys_for_custom_policy(iam: Any) -> None:
    document = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
                '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
                '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}')
    second = allow("s3:*")
    second["Statement"][0]["Condition"] = {"StringEquals": {"aws:CURRENTTIME": "x", "s3:prefix": "home/"}}
    out = iam.get_context_keys_for_custom_policy(PolicyInputList=[document, json.dumps(second)])
    assert out["ContextKeyNames"] == ["aws:username", "aws:CurrentTime", "s3:prefix"]


def test_context_keys_for_principal_policy(iam: Any) -> None:
    policy = allow("s3:GetObject")
    policy["Statement"][0]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    user = _user(iam, policy)
    extra = allow("ec2:*")
    extra["Statement"][0]["Condition"] = {"StringEquals": {"ec2:Region": "us-east-1"}}
    out = iam.get_context_keys_for_principal_policy(PolicySourceArn=user["Arn"], PolicyInputList=[json.dumps(extra)])
    assert out["ContextKeyNames"] == ["aws:MultiFactorAuthPresent", "ec2:Region"]


# --- unit level ------------------------------------------------------------------------------


def test_positions_of_a_statement_list() -> None:
    document = '{\n    "Version": "2012-10-17",\n    "Statement": [\n        {\n            "Effect": "Allow",\n' \
               '            "Action": "s3:*",\n            "Resource": "*"\n        },\n        {"Effect": "Deny"}\n    ]\n}'
    (start, end), (start2, _) = statement_positions(document)  # type: ignore[misc]
    assert (start, end) == ({"Line": 3, "Column": 19}, {"Line": 8, "Column": 10})
    assert start2 == end
    assert statement_positions("not json") is None


def test_context_values_types() -> None:
    values = context_values([
        {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": ["TRUE"], "ContextKeyType": "boolean"},
        {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["a"], "ContextKeyType": "stringList"},
        {"ContextKeyName": "s3:max-keys", "ContextKeyValues": ["10"], "ContextKeyType": "numeric"},
    ])
    assert values == {"aws:MultiFactorAuthPresent": "true", "aws:TagKeys": ["a"], "s3:max-keys": "10"}
    with pytest.raises(InvalidInput):
        context_values([{"ContextKeyName": "s3:max-keys", "ContextKeyValues": ["ten"], "ContextKeyType": "numeric"}])
    assert context_keys(['{"Statement": {"Condition": {"Null": {"aws:TokenIssueTime": "true"}}}}']) == [
        "aws:TokenIssueTime"]
