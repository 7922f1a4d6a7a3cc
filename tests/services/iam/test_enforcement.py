"""The policy engine decides every call: identity policies, groups, boundaries, denies, condition keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import allow, unique, user_with_keys

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The error a call answers (it must fail)."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def keys_for(server: Server, name: str) -> dict[str, str]:
    key = server.client("iam").create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_no_policy_means_denied_with_aws_message(server: Server) -> None:
    name, iam = user_with_keys(server)
    error = error_of(iam.create_user, UserName="bob")
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:iam::{ROOT_ACCOUNT}:user/{name} is not authorized to perform: iam:CreateUser "
        f"on resource: arn:aws:iam::{ROOT_ACCOUNT}:user/bob because no identity-based policy allows "
        "the iam:CreateUser action"
    )


def test_inline_policy_allows_only_what_it_names(server: Server) -> None:
    me = "arn:aws:iam::*:user/${aws:username}"
    name, iam = user_with_keys(server, policy=allow("iam:GetUser", me))
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    other = unique("other")
    server.client("iam").create_user(UserName=other)
    assert error_of(iam.get_user, UserName=other)["Code"] == "AccessDenied"


def test_json_protocol_services_answer_access_denied_exception(server: Server) -> None:
    _, iam = user_with_keys(server)
    creds = iam._request_signer._credentials  # noqa: SLF001 - reuse the user's keys for another service
    kms = server.client("kms", aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key)
    with pytest.raises(ClientError) as caught:
        kms.list_keys()
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "AccessDeniedException"
    assert "kms:ListKeys" in error["Message"]


def test_group_policy_grants_its_members(server: Server) -> None:
    root = server.client("iam")
    group = unique("readers")
    root.create_group(GroupName=group)
    root.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=json.dumps(allow("iam:ListUsers")))
    name, iam = user_with_keys(server)
    assert error_of(iam.list_users)["Code"] == "AccessDenied"
    root.add_user_to_group(GroupName=group, UserName=name)
    assert "Users" in iam.list_users()
    root.remove_user_from_group(GroupName=group, UserName=name)
    assert error_of(iam.list_users)["Code"] == "AccessDenied"


def test_boundary_restricts_administrator_access(server: Server) -> None:
    root = server.client("iam")
    boundary = root.create_policy(PolicyName=unique("boundary"), PolicyDocument=json.dumps(allow("iam:Get*")))
    name = unique("bounded")
    root.create_user(UserName=name, PermissionsBoundary=boundary["Policy"]["Arn"])
    root.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    iam = server.client("iam", **keys_for(server, name))
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    error = error_of(iam.list_users)
    assert error["Message"].endswith("because no permissions boundary allows the iam:ListUsers action")


def test_explicit_deny_beats_administrator_access(server: Server) -> None:
    root = server.client("iam")
    name = unique("admin")
    root.create_user(UserName=name)
    root.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}
    root.put_user_policy(UserName=name, PolicyName="no-users", PolicyDocument=json.dumps(deny))
    iam = server.client("iam", **keys_for(server, name))
    assert "Users" in iam.list_users()
    error = error_of(iam.create_user, UserName=unique("x"))
    assert error["Message"].endswith("with an explicit deny in an identity-based policy")


def test_policy_changes_take_effect_at_once(server: Server) -> None:
    name, iam = user_with_keys(server)
    root = server.client("iam")
    assert error_of(iam.list_groups)["Code"] == "AccessDenied"
    root.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(allow("iam:ListGroups")))
    assert "Groups" in iam.list_groups()
    root.delete_user_policy(UserName=name, PolicyName="p")
    assert error_of(iam.list_groups)["Code"] == "AccessDenied"


def test_deactivated_key_gets_invalid_client_token_id(server: Server) -> None:
    root = server.client("iam")
    name = unique("keyed")
    root.create_user(UserName=name)
    creds = keys_for(server, name)
    sts = server.client("sts", **creds)
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    root.update_access_key(UserName=name, AccessKeyId=creds["aws_access_key_id"], Status="Inactive")
    assert error_of(sts.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_principal_tag_and_request_tag_conditions(server: Server) -> None:
    """CreateUser with tags needs iam:TagUser too (AWS checks both), each under the tag conditions."""
    root = server.client("iam")
    name = unique("tagged")
    root.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:TagUser"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
                           "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}},
        ],
    }
    root.put_user_policy(UserName=name, PolicyName="tagging", PolicyDocument=json.dumps(policy))
    iam = server.client("iam", **keys_for(server, name))
    iam.create_user(UserName=unique("ok"), Tags=[{"Key": "team", "Value": "blue"}])
    assert error_of(iam.create_user, UserName=unique("no"), Tags=[{"Key": "team", "Value": "red"}])["Code"] == "AccessDenied"
    assert error_of(iam.create_user, UserName=unique("no"))["Code"] == "AccessDenied"


def test_resource_tag_condition(server: Server) -> None:
    root = server.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    blue, red = unique("blue"), unique("red")
    root.create_role(RoleName=blue, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "env", "Value": "dev"}])
    root.create_role(RoleName=red, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "env", "Value": "prod"}])
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
                                                      "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}]}
    _, iam = user_with_keys(server, policy=policy)
    assert iam.get_role(RoleName=blue)["Role"]["RoleName"] == blue
    assert error_of(iam.get_role, RoleName=red)["Code"] == "AccessDenied"


def test_source_ip_condition(server: Server) -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ]}
    _, iam = user_with_keys(server, policy=policy)
    assert "Roles" in iam.list_roles()
    assert error_of(iam.list_groups)["Code"] == "AccessDenied"


def test_path_qualified_user_arn_is_what_policies_match(server: Server) -> None:
    root = server.client("iam")
    name = unique("pathy")
    root.create_user(UserName=name, Path="/division/")
    arn = f"arn:aws:iam::{ROOT_ACCOUNT}:user/division/{name}"
    root.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(allow("iam:GetUser", arn)))
    iam = server.client("iam", **keys_for(server, name))
    assert iam.get_user(UserName=name)["User"]["Arn"] == arn
    assert server.client("sts", **keys_for(server, name)).get_caller_identity()["Arn"] == arn


def test_aws_cli_sees_allowed_and_denied_calls(server: Server, tmp_path: Path) -> None:
    name, _ = user_with_keys(server, policy=allow("iam:GetUser", "arn:aws:iam::*:user/${aws:username}"))
    creds = keys_for(server, name)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    cli = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "--output", "json"]
    ok = subprocess.run([*cli, "iam", "get-user", "--user-name", name], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["User"]["UserName"] == name
    denied = subprocess.run([*cli, "iam", "list-users"], env=env, capture_output=True, text=True)
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr and "iam:ListUsers" in denied.stderr


def test_allow_users_to_change_password_is_a_grant(server: Server) -> None:
    """The password policy's AllowUsersToChangePassword lets users change their own password, no policy needed."""
    root = server.client("iam")
    name = unique("pw")
    root.create_user(UserName=name)
    root.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    iam = server.client("iam", **keys_for(server, name))
    root.update_account_password_policy(MinimumPasswordLength=8, AllowUsersToChangePassword=False)
    try:
        denied = error_of(iam.change_password, OldPassword="Initial-Passw0rd!", NewPassword="Second-Passw0rd!")
        assert denied["Code"] == "AccessDenied"
        root.update_account_password_policy(MinimumPasswordLength=8, AllowUsersToChangePassword=True)
        iam.change_password(OldPassword="Initial-Passw0rd!", NewPassword="Second-Passw0rd!")
        other = unique("other")
        root.create_user(UserName=other)
        assert error_of(root.get_login_profile, UserName=other)["Code"] == "NoSuchEntity"
    finally:
        root.delete_account_password_policy()


def test_iam_condition_keys_enforce_delegated_administration(server: Server) -> None:
    """The boundary-enforcement pattern: iam:PermissionsBoundary and iam:PolicyARN come from the request and state."""
    root = server.client("iam")
    boundary = root.create_policy(PolicyName=unique("limit"), PolicyDocument=json.dumps(allow("s3:*")))["Policy"]["Arn"]
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:PutUserPermissionsBoundary"], "Resource": "*",
         "Condition": with_boundary},
        {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
         "Condition": {**with_boundary, "ArnEquals": {"iam:PolicyARN": read_only}}},
    ]}
    _, delegate = user_with_keys(server, policy=policy)
    assert error_of(delegate.create_user, UserName=unique("free"))["Code"] == "AccessDenied"
    bounded = unique("bounded")
    delegate.create_user(UserName=bounded, PermissionsBoundary=boundary)
    delegate.attach_user_policy(UserName=bounded, PolicyArn=read_only)
    assert error_of(delegate.attach_user_policy, UserName=bounded, PolicyArn=ADMIN)["Code"] == "AccessDenied"
    unbounded = unique("unbounded")
    root.create_user(UserName=unbounded)
    assert error_of(delegate.attach_user_policy, UserName=unbounded, PolicyArn=read_only)["Code"] == "AccessDenied"


def test_passing_a_role_to_a_service_needs_iam_pass_role(server: Server) -> None:
    """CreateTrail with a CloudWatch Logs role needs iam:PassRole on it, for cloudtrail.amazonaws.com."""
    role = f"arn:aws:iam::{ROOT_ACCOUNT}:role/{unique('trail-logs')}"
    trail = {"Name": unique("trail"), "S3BucketName": "logs", "CloudWatchLogsRoleArn": role,
             "CloudWatchLogsLogGroupArn": f"arn:aws:logs:us-east-1:{ROOT_ACCOUNT}:log-group:trail:*"}
    pass_role = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role,
                 "Condition": {"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}}}
    create = {"Effect": "Allow", "Action": "cloudtrail:CreateTrail", "Resource": "*"}
    root = server.client("iam")
    name, _ = user_with_keys(server, policy={"Version": "2012-10-17", "Statement": [create]})
    creds = keys_for(server, name)
    cloudtrail = server.client("cloudtrail", **creds)
    denied = error_of(cloudtrail.create_trail, **trail)
    assert "iam:PassRole" in denied["Message"] and role in denied["Message"]
    wrong_service = {**pass_role, "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    root.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [create, wrong_service]}))
    assert "iam:PassRole" in error_of(cloudtrail.create_trail, **trail)["Message"]
    root.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [create, pass_role]}))
    # Authorized now: whatever the operation itself answers, it is not AccessDenied.
    try:
        cloudtrail.create_trail(**trail)
    except ClientError as after:
        assert after.response["Error"]["Code"] != "AccessDeniedException", after.response["Error"]["Message"]


def test_launching_with_an_instance_profile_passes_its_role(server: Server) -> None:
    """RunInstances names only the profile; IAM knows its role, and the caller needs iam:PassRole on it."""
    root = server.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = root.create_role(RoleName=unique("web"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    profile = unique("web-profile")
    root.create_instance_profile(InstanceProfileName=profile)
    root.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])
    run = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
    name, _ = user_with_keys(server, policy={"Version": "2012-10-17", "Statement": [run]})
    ec2 = server.client("ec2", **keys_for(server, name))
    launch = {"ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 1, "IamInstanceProfile": {"Name": profile}}
    denied = error_of(ec2.run_instances, **launch)
    assert "iam:PassRole" in denied["Message"] and role["Arn"] in denied["Message"]
    pass_role = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role["Arn"],
                 "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    root.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [run, pass_role]}))
    try:
        ec2.run_instances(**launch)
    except ClientError as after:  # whatever EC2 itself answers, authorization passed
        assert after.response["Error"]["Code"] != "UnauthorizedOperation", after.response["Error"]["Message"]
