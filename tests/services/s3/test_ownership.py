"""Object Ownership: who owns an object another account uploads, and what that means for access.

AWS's rules (S3 User Guide, "Controlling ownership of objects and disabling
ACLs"): BucketOwnerEnforced -> the bucket owner owns everything;
ObjectWriter -> the uploading account owns the object, and the bucket owner
may read it only when the object's ACL grants it (though it may always
delete it, and the bucket policy can still deny); BucketOwnerPreferred ->
the bucket owner owns objects uploaded with bucket-owner-full-control.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rampart.services.s3.acl import effective_owner, new_object_owner
from tests.conftest import Server
from tests.services.s3.conftest import empty_bucket, unique_bucket

BUCKET_OWNER, WRITER = "111111111111", "222222222222"


@pytest.mark.parametrize(("ownership", "writer", "canned", "expected"), [
    ("BucketOwnerEnforced", WRITER, None, BUCKET_OWNER),
    ("BucketOwnerEnforced", WRITER, "bucket-owner-full-control", BUCKET_OWNER),
    ("ObjectWriter", WRITER, None, WRITER),
    ("ObjectWriter", WRITER, "bucket-owner-full-control", WRITER),
    ("BucketOwnerPreferred", WRITER, None, WRITER),
    ("BucketOwnerPreferred", WRITER, "private", WRITER),
    ("BucketOwnerPreferred", WRITER, "bucket-owner-read", WRITER),
    ("BucketOwnerPreferred", WRITER, "bucket-owner-full-control", BUCKET_OWNER),
    ("ObjectWriter", None, None, BUCKET_OWNER),
    ("ObjectWriter", BUCKET_OWNER, None, BUCKET_OWNER),
])
def test_new_object_owner(ownership: str, writer: str | None, canned: str | None, expected: str) -> None:
    assert new_object_owner(ownership, writer, BUCKET_OWNER, canned) == expected


@pytest.mark.parametrize(("ownership", "stored", "expected"), [
    ("BucketOwnerEnforced", WRITER, BUCKET_OWNER),
    ("ObjectWriter", WRITER, WRITER),
    ("BucketOwnerPreferred", WRITER, WRITER),
    ("ObjectWriter", None, BUCKET_OWNER),
])
def test_effective_owner(ownership: str, stored: str | None, expected: str) -> None:
    assert effective_owner(ownership, BUCKET_OWNER, stored) == expected


def _client(server: Server, **keys: str) -> Any:
    return server.client("s3", config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}), **keys)


def code_of(call: Any) -> str:
    """The error code a call fails with (HEAD answers carry only the status)."""
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def owner_s3(server: Server) -> Any:
    """The bucket owner: the default account's root."""
    return _client(server)


@pytest.fixture(scope="module")
def writer_s3(server: Server, other_account: tuple[str, dict[str, str]]) -> Any:
    """The other account's root, which uploads into the owner's bucket."""
    return _client(server, **other_account[1])


@pytest.fixture(scope="module")
def ids(owner_s3: Any, writer_s3: Any) -> tuple[str, str]:
    """(bucket owner's, writer's) canonical user ids, as ListBuckets answers them."""
    return owner_s3.list_buckets()["Owner"]["ID"], writer_s3.list_buckets()["Owner"]["ID"]


def _shared_bucket(owner_s3: Any, writer_id: str, ownership: str, deny_get: bool = False) -> str:
    """A bucket of the owner with the given Object Ownership whose policy lets the writer account in."""
    name = unique_bucket("own")
    owner_s3.create_bucket(Bucket=name, ObjectOwnership=ownership)
    writer = {"AWS": f"arn:aws:iam::{writer_id}:root"}
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": writer, "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{name}"},
        {"Effect": "Allow", "Principal": writer,
         "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectAcl", "s3:PutObjectAcl", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{name}/*"},
    ]
    if deny_get:
        statements.append({"Effect": "Deny", "Principal": writer, "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{name}/denied/*"})
    owner_s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return name


@pytest.fixture
def cleanup(owner_s3: Any) -> Any:
    made: list[str] = []
    yield made
    for name in made:
        owner_s3.delete_bucket_policy(Bucket=name)
        empty_bucket(owner_s3, name)


def _listed_owner(s3: Any, bucket: str, key: str) -> tuple[str, str]:
    """The Owner ID ListObjects and ListObjectsV2 (FetchOwner) give ``key``."""
    v1 = [o for o in s3.list_objects(Bucket=bucket, Prefix=key)["Contents"] if o["Key"] == key]
    v2 = [o for o in s3.list_objects_v2(Bucket=bucket, Prefix=key, FetchOwner=True)["Contents"] if o["Key"] == key]
    return v1[0]["Owner"]["ID"], v2[0]["Owner"]["ID"]


def test_object_writer_without_grant(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                                     other_account: tuple[str, dict[str, str]], cleanup: list[str]) -> None:
    owner_id, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "ObjectWriter", deny_get=True)
    cleanup.append(bucket)
    writer_s3.put_object(Bucket=bucket, Key="theirs", Body=b"writer's data")
    # The writer owns it: its ACL names the writer, the bucket owner gets nothing.
    acl = writer_s3.get_object_acl(Bucket=bucket, Key="theirs")
    assert acl["Owner"]["ID"] == writer_id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [(writer_id, "FULL_CONTROL")]
    assert writer_s3.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"writer's data"
    assert _listed_owner(owner_s3, bucket, "theirs") == (writer_id, writer_id)
    versions = owner_s3.list_object_versions(Bucket=bucket, Prefix="theirs")["Versions"]
    assert [v["Owner"]["ID"] for v in versions] == [writer_id]
    # The bucket owner cannot read it, its ACL, or copy it onto itself.
    assert code_of(lambda: owner_s3.get_object(Bucket=bucket, Key="theirs")) == "AccessDenied"
    assert code_of(lambda: owner_s3.head_object(Bucket=bucket, Key="theirs")) == "403"
    assert code_of(lambda: owner_s3.get_object_acl(Bucket=bucket, Key="theirs")) == "AccessDenied"
    assert code_of(lambda: owner_s3.copy_object(Bucket=bucket, Key="theirs", CopySource=f"{bucket}/theirs",
                                                MetadataDirective="REPLACE")) == "AccessDenied"
    assert code_of(lambda: owner_s3.copy_object(Bucket=bucket, Key="mine",
                                                CopySource=f"{bucket}/theirs")) == "AccessDenied"
    # The bucket owner's own objects stay its own.
    owner_s3.put_object(Bucket=bucket, Key="mine", Body=b"owner's")
    assert owner_s3.get_object_acl(Bucket=bucket, Key="mine")["Owner"]["ID"] == owner_id
    assert _listed_owner(owner_s3, bucket, "mine") == (owner_id, owner_id)
    # The bucket policy still denies, even on the writer's own object.
    writer_s3.put_object(Bucket=bucket, Key="denied/x", Body=b"x")
    assert code_of(lambda: writer_s3.get_object(Bucket=bucket, Key="denied/x")) == "AccessDenied"
    # The bucket owner may always delete.
    owner_s3.delete_object(Bucket=bucket, Key="theirs")
    assert code_of(lambda: writer_s3.get_object(Bucket=bucket, Key="theirs")) == "NoSuchKey"


def test_object_writer_with_bucket_owner_full_control(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                                                      other_account: tuple[str, dict[str, str]],
                                                      cleanup: list[str]) -> None:
    owner_id, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "ObjectWriter")
    cleanup.append(bucket)
    writer_s3.put_object(Bucket=bucket, Key="granted", Body=b"shared", ACL="bucket-owner-full-control")
    assert owner_s3.get_object(Bucket=bucket, Key="granted")["Body"].read() == b"shared"
    acl = owner_s3.get_object_acl(Bucket=bucket, Key="granted")
    assert acl["Owner"]["ID"] == writer_id
    assert {(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]} == {
        (writer_id, "FULL_CONTROL"), (owner_id, "FULL_CONTROL")}
    assert _listed_owner(owner_s3, bucket, "granted") == (writer_id, writer_id)
    # Taking the grant away (the writer owns the ACL) locks the bucket owner out again.
    writer_s3.put_object_acl(Bucket=bucket, Key="granted", ACL="private")
    assert code_of(lambda: owner_s3.get_object(Bucket=bucket, Key="granted")) == "AccessDenied"
    assert writer_s3.get_object_acl(Bucket=bucket, Key="granted")["Owner"]["ID"] == writer_id


def test_object_writer_multipart(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                                 other_account: tuple[str, dict[str, str]], cleanup: list[str]) -> None:
    _, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "ObjectWriter")
    cleanup.append(bucket)
    upload = writer_s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    part = writer_s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"p" * 100)
    writer_s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert writer_s3.get_object_acl(Bucket=bucket, Key="big")["Owner"]["ID"] == writer_id
    assert code_of(lambda: owner_s3.get_object(Bucket=bucket, Key="big")) == "AccessDenied"
    # DeleteObjects is the bucket owner's too, whoever owns the keys.
    deleted = owner_s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "big"}]})
    assert [d["Key"] for d in deleted.get("Deleted", [])] == ["big"] and not deleted.get("Errors")
    assert code_of(lambda: writer_s3.get_object(Bucket=bucket, Key="big")) == "NoSuchKey"


def test_bucket_owner_preferred(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                                other_account: tuple[str, dict[str, str]], cleanup: list[str]) -> None:
    owner_id, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "BucketOwnerPreferred")
    cleanup.append(bucket)
    writer_s3.put_object(Bucket=bucket, Key="preferred", Body=b"p", ACL="bucket-owner-full-control")
    acl = owner_s3.get_object_acl(Bucket=bucket, Key="preferred")
    assert acl["Owner"]["ID"] == owner_id
    assert owner_s3.get_object(Bucket=bucket, Key="preferred")["Body"].read() == b"p"
    assert _listed_owner(owner_s3, bucket, "preferred") == (owner_id, owner_id)
    # Without bucket-owner-full-control the writer keeps it.
    writer_s3.put_object(Bucket=bucket, Key="kept", Body=b"k")
    assert writer_s3.get_object_acl(Bucket=bucket, Key="kept")["Owner"]["ID"] == writer_id
    assert code_of(lambda: owner_s3.get_object(Bucket=bucket, Key="kept")) == "AccessDenied"


def test_bucket_owner_enforced(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                               other_account: tuple[str, dict[str, str]], cleanup: list[str]) -> None:
    owner_id, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "BucketOwnerEnforced")
    cleanup.append(bucket)
    writer_s3.put_object(Bucket=bucket, Key="plain", Body=b"1")
    writer_s3.put_object(Bucket=bucket, Key="bofc", Body=b"2", ACL="bucket-owner-full-control")
    for key, body in (("plain", b"1"), ("bofc", b"2")):
        assert owner_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        assert owner_s3.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"] == owner_id
        assert _listed_owner(owner_s3, bucket, key) == (owner_id, owner_id)
    assert writer_id != owner_id


def test_switching_to_enforced_takes_ownership(owner_s3: Any, writer_s3: Any, ids: tuple[str, str],
                                               other_account: tuple[str, dict[str, str]], cleanup: list[str]) -> None:
    owner_id, writer_id = ids
    bucket = _shared_bucket(owner_s3, other_account[0], "ObjectWriter")
    cleanup.append(bucket)
    writer_s3.put_object(Bucket=bucket, Key="old", Body=b"old")
    assert code_of(lambda: owner_s3.get_object(Bucket=bucket, Key="old")) == "AccessDenied"
    owner_s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert owner_s3.get_object(Bucket=bucket, Key="old")["Body"].read() == b"old"
    assert owner_s3.get_object_acl(Bucket=bucket, Key="old")["Owner"]["ID"] == owner_id
    assert _listed_owner(owner_s3, bucket, "old") == (owner_id, owner_id)
    # Back to ObjectWriter: the recorded writer owns it again.
    owner_s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert writer_s3.get_object_acl(Bucket=bucket, Key="old")["Owner"]["ID"] == writer_id
