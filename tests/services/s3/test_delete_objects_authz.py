"""DeleteObjects is authorized key by key: denied keys come back in Errors, the others are deleted.

S3 answers 200 for a Multi-Object Delete whatever the caller may delete;
each key it may not delete is an Errors entry (AccessDenied, "Access
Denied") and stays in the bucket. The gateway leaves s3:DeleteObject and
s3:DeleteObjectVersion to the handler (``defer_to_handler``); these tests
show the handler asks them, per key, through a real boto3 client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.gateway import authorize
from rampart.services.s3 import objects_delete
from tests.conftest import Server
from tests.services.iam.helpers import allow, unique
from tests.services.s3.conftest import unique_bucket

DENIED = {"Code": "AccessDenied", "Message": "Access Denied"}


def user_s3(server: Server, policy: dict[str, Any] | None, credentials: dict[str, str] | None = None) -> tuple[str, Any]:
    """A new IAM user (in the account of ``credentials``, default the main one): its ARN and an S3 client as it."""
    iam = server.client("iam", **(credentials or {}))
    name = unique("delobj")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    return arn, client


def put(s3: Any, bucket: str, *keys: str) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")


def exists(s3: Any, bucket: str, key: str) -> bool:
    """Whether the key has a current version (root's view)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return False
        raise
    return True


def errors_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The Errors entries without the fields that vary (sorted by key)."""
    return sorted(({k: v for k, v in e.items() if k in ("Key", "VersionId", "Code", "Message")}
                   for e in answer.get("Errors", [])), key=lambda e: (e["Key"], e.get("VersionId", "")))


def deleted_keys(answer: dict[str, Any]) -> list[str]:
    return sorted(item["Key"] for item in answer.get("Deleted", []))


def prefix_policy(bucket: str, prefix: str, actions: tuple[str, ...] = ("s3:DeleteObject",)) -> dict[str, Any]:
    return allow(list(actions), f"arn:aws:s3:::{bucket}/{prefix}*")


def test_a_key_outside_the_allowed_prefix_is_reported_and_kept(server: Server, s3: Any, bucket: str) -> None:
    put(s3, bucket, "a/1", "b/1")
    _, client = user_s3(server, prefix_policy(bucket, "a/"))
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a/1"}, {"Key": "b/1"}]})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert deleted_keys(answer) == ["a/1"]
    assert errors_of(answer) == [{"Key": "b/1", **DENIED}]
    assert not exists(s3, bucket, "a/1")
    assert exists(s3, bucket, "b/1")


def test_quiet_mode_lists_only_the_denied_keys(server: Server, s3: Any, bucket: str) -> None:
    put(s3, bucket, "a/1", "a/2", "b/1")
    _, client = user_s3(server, prefix_policy(bucket, "a/"))
    objects = [{"Key": "a/1"}, {"Key": "b/1"}, {"Key": "a/2"}]
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    assert "Deleted" not in answer
    assert errors_of(answer) == [{"Key": "b/1", **DENIED}]
    assert [exists(s3, bucket, k) for k in ("a/1", "a/2", "b/1")] == [False, False, True]


def test_a_caller_who_may_delete_nothing_still_gets_200_with_every_key_in_errors(
    server: Server, s3: Any, bucket: str
) -> None:
    put(s3, bucket, "k/1", "k/2")
    _, client = user_s3(server, allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k/1"}, {"Key": "k/2"}]})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Deleted" not in answer
    assert errors_of(answer) == [{"Key": "k/1", **DENIED}, {"Key": "k/2", **DENIED}]
    assert exists(s3, bucket, "k/1") and exists(s3, bucket, "k/2")


def test_a_bucket_policy_deny_on_one_key(server: Server, s3: Any, bucket: str) -> None:
    put(s3, bucket, "open", "guarded")
    arn, client = user_s3(server, allow("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*"))
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": arn}, "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/guarded"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    try:
        answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "guarded"}, {"Key": "open"}]})
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
    assert deleted_keys(answer) == ["open"]
    assert errors_of(answer) == [{"Key": "guarded", **DENIED}]
    assert exists(s3, bucket, "guarded") and not exists(s3, bucket, "open")


def test_a_version_id_needs_delete_object_version(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v/1", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v/1", Body=b"two")
    _, client = user_s3(server, prefix_policy(bucket, "v/"))
    objects = [{"Key": "v/1", "VersionId": first}, {"Key": "v/1"}]
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert errors_of(answer) == [{"Key": "v/1", "VersionId": first, **DENIED}]
    assert [(d["Key"], d.get("DeleteMarker")) for d in answer["Deleted"]] == [("v/1", True)]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="v/")
    assert first in [v["VersionId"] for v in versions["Versions"]]

    _, versioned = user_s3(server, prefix_policy(bucket, "v/", ("s3:DeleteObjectVersion",)))
    answer = versioned.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v/1", "VersionId": first}]})
    assert "Errors" not in answer
    assert answer["Deleted"] == [{"Key": "v/1", "VersionId": first}]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="v/")
    assert first not in [v["VersionId"] for v in versions.get("Versions", [])]


def test_the_version_id_is_a_condition_key_per_key(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="c", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="c", Body=b"two")["VersionId"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:DeleteObjectVersion", "Resource": f"arn:aws:s3:::{bucket}/c",
        "Condition": {"StringEquals": {"s3:VersionId": first}}}]}
    _, client = user_s3(server, policy)
    objects = [{"Key": "c", "VersionId": first}, {"Key": "c", "VersionId": second}]
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert answer["Deleted"] == [{"Key": "c", "VersionId": first}]
    assert errors_of(answer) == [{"Key": "c", "VersionId": second, **DENIED}]


def test_another_accounts_user_without_a_bucket_grant_gets_every_key_in_errors(
    server: Server, s3: Any, bucket: str, other_account: tuple[str, dict[str, str]]
) -> None:
    put(s3, bucket, "x/1", "y/1")
    _, keys = other_account
    arn, client = user_s3(server, allow("s3:*", "*"), keys)
    objects = [{"Key": "x/1"}, {"Key": "y/1"}]
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert errors_of(answer) == [{"Key": "x/1", **DENIED}, {"Key": "y/1", **DENIED}]
    assert exists(s3, bucket, "x/1") and exists(s3, bucket, "y/1")

    # A bucket policy that grants the user one prefix lets exactly those keys go.
    grant = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/x/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(grant))
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert deleted_keys(answer) == ["x/1"]
    assert errors_of(answer) == [{"Key": "y/1", **DENIED}]
    assert not exists(s3, bucket, "x/1") and exists(s3, bucket, "y/1")


def test_another_accounts_root_is_refused_per_key(
    server: Server, s3: Any, bucket: str, other_account: tuple[str, dict[str, str]]
) -> None:
    put(s3, bucket, "r/1")
    _, keys = other_account
    client = server.client("s3", **keys)
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "r/1"}]})
    assert errors_of(answer) == [{"Key": "r/1", **DENIED}]
    assert exists(s3, bucket, "r/1")


def test_an_absent_bucket_is_still_no_such_bucket(server: Server) -> None:
    _, client = user_s3(server, None)
    with pytest.raises(ClientError) as caught:
        client.delete_objects(Bucket=unique_bucket(), Delete={"Objects": [{"Key": "k"}]})
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_another_expected_bucket_owner_refuses_the_whole_request(server: Server, s3: Any, bucket: str) -> None:
    put(s3, bucket, "e/1")
    with pytest.raises(ClientError) as caught:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "e/1"}]}, ExpectedBucketOwner="111122223333")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert exists(s3, bucket, "e/1")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "e/1"}]}, ExpectedBucketOwner=server.account_id)
    assert deleted_keys(answer) == ["e/1"]


def test_the_same_key_twice_is_answered_twice(server: Server, s3: Any, bucket: str) -> None:
    put(s3, bucket, "b/dup", "a/dup")
    _, client = user_s3(server, prefix_policy(bucket, "a/"))
    objects = [{"Key": "b/dup"}, {"Key": "a/dup"}, {"Key": "b/dup"}]
    answer = client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert errors_of(answer) == [{"Key": "b/dup", **DENIED}, {"Key": "b/dup", **DENIED}]
    assert deleted_keys(answer) == ["a/dup"]


# --- the declaration: only the declaring handler gets the per-key actions -------------


def _stand_in(call: Any, params: dict[str, Any]) -> dict[str, Any]:
    return {}


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("s3", "DeleteObjects", frozenset({"s3:DeleteObject", "s3:DeleteObjectVersion"})),
        ("s3", "DeleteObject", frozenset()),
        ("s3", "PutObject", frozenset()),
        ("iam", "DeleteUser", frozenset()),
        (None, None, frozenset()),
    ],
)
def test_deferred_actions(service: str | None, operation: str | None, expected: frozenset[str]) -> None:
    assert authorize.deferred_actions(service, operation) == expected


def test_a_declaration_by_another_function_defers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were DeleteObjects' handler replaced, the gateway would ask every key again (fail closed)."""
    declared = authorize.DEFERRED_TO_HANDLER[("s3", "DeleteObjects")]
    assert declared[1] is objects_delete.delete_objects
    monkeypatch.setitem(authorize._deferred, ("s3", "DeleteObjects"), (declared[0], _stand_in))
    assert authorize.deferred_actions("s3", "DeleteObjects") == frozenset()
