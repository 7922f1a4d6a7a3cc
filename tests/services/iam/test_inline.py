"""Inline policies of users, groups and roles, through boto3 as root."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _owner(iam: Any, kind: str) -> dict[str, str]:
    name = unique(kind[0])
    if kind == "user":
        iam.create_user(UserName=name)
        return {"UserName": name}
    if kind == "group":
        iam.create_group(GroupName=name)
        return {"GroupName": name}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    return {"RoleName": name}


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_inline_roundtrip(server: Server, kind: str) -> None:
    iam = server.client("iam")
    noun = kind.capitalize()
    owner = _owner(iam, kind)
    put = getattr(iam, f"put_{kind}_policy")
    get = getattr(iam, f"get_{kind}_policy")
    listing = getattr(iam, f"list_{kind}_policies")
    remove = getattr(iam, f"delete_{kind}_policy")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/a b+c?"}]}
    put(**owner, PolicyName="one", PolicyDocument=json.dumps(document, indent=2))
    put(**owner, PolicyName="two", PolicyDocument=json.dumps(allow("s3:ListBucket")))
    got = get(**owner, PolicyName="one")
    assert got["PolicyDocument"] == document and got[f"{noun}Name"] == owner[f"{noun}Name"]
    put(**owner, PolicyName="one", PolicyDocument=json.dumps(allow("s3:PutObject")))
    assert get(**owner, PolicyName="one")["PolicyDocument"] == allow("s3:PutObject")
    assert listing(**owner)["PolicyNames"] == ["one", "two"]
    first = listing(**owner, MaxItems=1)
    assert first["PolicyNames"] == ["one"] and first["IsTruncated"] is True
    assert listing(**owner, Marker=first["Marker"])["PolicyNames"] == ["two"]
    remove(**owner, PolicyName="one")
    with pytest.raises(ClientError) as gone:
        get(**owner, PolicyName="one")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    assert gone.value.response["Error"]["Message"] == f"The {kind} policy with name one cannot be found."
    with pytest.raises(ClientError) as again:
        remove(**owner, PolicyName="one")
    assert again.value.response["Error"]["Code"] == "NoSuchEntity"


def test_owner_must_exist(server: Server) -> None:
    iam = server.client("iam")
    ghost = unique("ghost")
    with pytest.raises(ClientError) as missing:
        iam.put_user_policy(UserName=ghost, PolicyName="p", PolicyDocument=json.dumps(allow("s3:*")))
    assert missing.value.response["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": f"The user with name {ghost} cannot be found.",
    }


def test_malformed_and_size_limits(server: Server) -> None:
    iam = server.client("iam")
    user = _owner(iam, "user")
    with pytest.raises(ClientError) as bad:
        iam.put_user_policy(**user, PolicyName="p", PolicyDocument='{"Version": "2012-10-17", "Statement": {"Effect": "Maybe"}}')
    assert bad.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert bad.value.response["Error"]["Message"]
    over_user = json.dumps(allow([f"s3:GetObject{i:05d}" for i in range(120)]))  # ~2.4k characters
    with pytest.raises(ClientError) as big:
        iam.put_user_policy(**user, PolicyName="p", PolicyDocument=over_user)
    assert big.value.response["Error"]["Code"] == "LimitExceeded"
    role = _owner(iam, "role")
    iam.put_role_policy(**role, PolicyName="p", PolicyDocument=over_user)  # roles allow 10,240


def test_inline_policy_grants_and_revokes(server: Server) -> None:
    iam = server.client("iam")
    user = _owner(iam, "user")
    key = iam.create_access_key(**user)["AccessKey"]
    as_user = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    iam.put_user_policy(**user, PolicyName="list", PolicyDocument=json.dumps(allow("iam:ListUsers")))
    as_user.list_users()
    iam.delete_user_policy(**user, PolicyName="list")
    with pytest.raises(ClientError) as denied:
        as_user.list_users()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_inline_size_quota_is_on_the_owners_total(server: Server) -> None:
    """Two inline policies of ~1,200 characters each pass alone but not together (user quota: 2,048)."""
    iam = server.client("iam")
    name = unique("sized")
    iam.create_user(UserName=name)
    actions = [f"s3:GetObject{i:04d}" for i in range(60)]
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    assert 1000 < len(big.replace(" ", "")) < 2048
    iam.put_user_policy(UserName=name, PolicyName="one", PolicyDocument=big)
    iam.put_user_policy(UserName=name, PolicyName="one", PolicyDocument=big)  # replacing does not double-count
    with pytest.raises(ClientError) as caught:
        iam.put_user_policy(UserName=name, PolicyName="two", PolicyDocument=big)
    assert caught.value.response["Error"]["Code"] == "LimitExceeded"
    assert caught.value.response["Error"]["Message"] == f"Maximum policy size of 2048 bytes exceeded for user {name}"
