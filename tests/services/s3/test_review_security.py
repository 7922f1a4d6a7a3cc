"""Hardening found in review: per-version object ACLs, ExpectedBucketOwner on every bucket and object call."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server
from tests.services.s3.test_access import anonymous, code_of, new_bucket, other, s3  # noqa: F401 - fixtures


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
