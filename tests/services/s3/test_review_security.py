"""Hardening found in review: per-version object ACLs, ExpectedBucketOwner on every bucket and object call."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server
from tests.services.s3.test_access import anonymous, code_of, new_bucket


def _versioned_object_writer_bucket(s3: Any) -> str:
    bucket = new_bucket(s3)
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_public_acl_of_latest_version_does_not_open_older_versions(server: Server, s3: Any) -> None:
    bucket = _versioned_object_writer_bucket(s3)
    secret = s3.put_object(Bucket=bucket, Key="doc", Body=b"old secret")["VersionId"]
    public = s3.put_object(Bucket=bucket, Key="doc", Body=b"new public", ACL="public-read")["VersionId"]
    anon = anonymous(server)
    assert anon.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"new public"
    assert anon.get_object(Bucket=bucket, Key="doc", VersionId=public)["Body"].read() == b"new public"
    assert code_of(lambda: anon.get_object(Bucket=bucket, Key="doc", VersionId=secret)) == "AccessDenied"
    assert code_of(lambda: anon.get_object_acl(Bucket=bucket, Key="doc", VersionId=secret)) == "AccessDenied"


def test_public_acl_of_an_older_version_is_that_versions_own(server: Server, s3: Any) -> None:
    bucket = _versioned_object_writer_bucket(s3)
    shared = s3.put_object(Bucket=bucket, Key="doc", Body=b"shared", ACL="public-read")["VersionId"]
    s3.put_object(Bucket=bucket, Key="doc", Body=b"private now")
    anon = anonymous(server)
    assert code_of(lambda: anon.get_object(Bucket=bucket, Key="doc")) == "AccessDenied"
    assert anon.get_object(Bucket=bucket, Key="doc", VersionId=shared)["Body"].read() == b"shared"


def test_expected_bucket_owner_is_checked_by_object_operations(s3: Any,
                                                               other_account: tuple[str, dict[str, str]]) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["DisplayName"]
    wrong = other_account[0]
    calls = [
        lambda who: s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=who),
        lambda who: s3.head_object(Bucket=bucket, Key="k", ExpectedBucketOwner=who),
        lambda who: s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ExpectedBucketOwner=who),
        lambda who: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=who),
        lambda who: s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=who),
        lambda who: s3.copy_object(Bucket=bucket, Key="k3", CopySource=f"{bucket}/k", ExpectedSourceBucketOwner=who),
        lambda who: s3.delete_object(Bucket=bucket, Key="k", ExpectedBucketOwner=who),
    ]
    for call in calls:
        assert code_of(lambda call=call: call(wrong)) in ("AccessDenied", "403")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # the refused delete changed nothing
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="k2")
    for call in calls:
        call(owner)


def test_for_all_values_condition_is_public_for_block_public_access(server: Server, s3: Any) -> None:
    """ForAllValues on a key an anonymous caller lacks is true: such a policy is public, and blocked as such."""
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="doc", Body=b"words")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    anon = anonymous(server)
    assert anon.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"words"  # the engine: vacuously true
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert code_of(lambda: anon.get_object(Bucket=bucket, Key="doc")) == "AccessDenied"
    s3.delete_bucket_policy(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert code_of(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=policy)) == "AccessDenied"
