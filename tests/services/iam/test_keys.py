"""IAM access keys through a real boto3 client: quota, status, deletion, last use, rotation."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique


def sts_for(server: Server, key: dict[str, str]) -> Any:
    """An STS client signing with ``key`` (GetCallerIdentity needs no permission)."""
    return server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def test_create_list_and_quota(iam: Any, server: Server) -> None:
    user = unique("k")
    iam.create_user(UserName=user)
    first = iam.create_access_key(UserName=user)["AccessKey"]
    assert first["AccessKeyId"].startswith("AKIA") and len(first["AccessKeyId"]) == 20
    assert len(first["SecretAccessKey"]) == 40 and first["Status"] == "Active" and first["UserName"] == user
    second = iam.create_access_key(UserName=user)["AccessKey"]
    with pytest.raises(ClientError) as excinfo:
        iam.create_access_key(UserName=user)
    assert error_of(excinfo) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [first["AccessKeyId"], second["AccessKeyId"]]
    assert all("SecretAccessKey" not in k for k in listed)
    page = iam.list_access_keys(UserName=user, MaxItems=1)
    assert page["IsTruncated"] is True
    rest = iam.list_access_keys(UserName=user, Marker=page["Marker"])["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in rest] == [second["AccessKeyId"]]
    with pytest.raises(ClientError) as excinfo:
        iam.create_access_key(UserName="ghost-" + user)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_root_lists_its_own_keys(iam: Any, server: Server) -> None:
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert server.access_key_id in [k["AccessKeyId"] for k in keys]


def test_inactive_key_stops_at_once_and_comes_back(iam: Any, server: Server) -> None:
    user = unique("flip")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = sts_for(server, key)
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{user}")
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with pytest.raises(ClientError) as excinfo:
        sts.get_caller_identity()
    assert error_of(excinfo)[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Account"] == server.account_id


def test_deleted_key_stops_at_once(iam: Any, server: Server) -> None:
    user = unique("gone")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = sts_for(server, key)
    sts.get_caller_identity()
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as excinfo:
        sts.get_caller_identity()
    assert error_of(excinfo)[0] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as excinfo:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    assert error_of(excinfo) == ("NoSuchEntity", f"The Access Key with id {key['AccessKeyId']} cannot be found.")


def test_key_of_another_user_is_not_found(iam: Any) -> None:
    owner, other = unique("own"), unique("oth")
    iam.create_user(UserName=owner)
    iam.create_user(UserName=other)
    key = iam.create_access_key(UserName=owner)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as excinfo:
        iam.update_access_key(UserName=other, AccessKeyId=key, Status="Inactive")
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_last_used(iam: Any, server: Server) -> None:
    user = unique("used")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    fresh = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert fresh["UserName"] == user
    assert fresh["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    client = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError):
        client.list_users()  # denied (no policy), but the key still signed an IAM call
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("iam", "us-east-1")
    assert used["LastUsedDate"] is not None


def test_rotation_workflow(iam: Any, server: Server) -> None:
    """The AWS docs' rotation: create a second key, switch to it, deactivate the first, delete it."""
    user = unique("rot")
    iam.create_user(UserName=user)
    old = iam.create_access_key(UserName=user)["AccessKey"]
    new = iam.create_access_key(UserName=user)["AccessKey"]
    assert sts_for(server, new).get_caller_identity()["Arn"].endswith(f":user/{user}")
    iam.update_access_key(UserName=user, AccessKeyId=old["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError):
        sts_for(server, old).get_caller_identity()
    assert sts_for(server, new).get_caller_identity()["Account"] == server.account_id
    last = iam.get_access_key_last_used(AccessKeyId=new["AccessKeyId"])["AccessKeyLastUsed"]
    assert last["ServiceName"] == "sts"
    iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
    remaining = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in remaining] == [(new["AccessKeyId"], "Active")]
    iam.create_access_key(UserName=user)  # room for the next rotation
