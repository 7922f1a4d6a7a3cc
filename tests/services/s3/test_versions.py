"""Versioning: version ids, null versions, delete markers, reads by version, ListObjectVersions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _versioned(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def test_unversioned_bucket_overwrites_null_version(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [("null", True)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"2"


def test_versions_and_delete_markers(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchKey"
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker["VersionId"], True)]
    # Removing the marker brings the object back; removing a version for good.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", VersionId=v2)
    assert excinfo.value.response["Error"]["Code"] == "NoSuchVersion"


def test_suspended_versioning_writes_null(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"n1")["VersionId"] == "null"
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.delete_object(Bucket=bucket, Key="k")["VersionId"] == "null"  # a null delete marker replaces it
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [kept]
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == ["null"]


def test_list_object_versions_paging_with_markers(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    expected = []
    for key in ("a", "b", "c"):
        ids = [s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"] for _ in range(3)]
        expected += [(key, v) for v in reversed(ids)]
    seen = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert seen == expected
    listed = s3.list_object_versions(Bucket=bucket, Prefix="b")
    assert [v["Key"] for v in listed["Versions"]] == ["b"] * 3


def test_versioned_copy_source_version(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="s", Body=b"first")["VersionId"]
    s3.put_object(Bucket=bucket, Key="s", Body=b"second")
    copied = s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"first"


@pytest.mark.parametrize("versioned", [False, True])
def test_concurrent_writes_to_one_key_leave_one_latest(s3: Any, bucket: str, versioned: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    if versioned:
        _versioned(s3, bucket)
    bodies = [f"writer {i}".encode() for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda body: s3.put_object(Bucket=bucket, Key="hot", Body=body), bodies))
    listed = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sum(1 for v in listed if v["IsLatest"]) == 1
    assert len(listed) == (len(bodies) if versioned else 1)
    assert s3.get_object(Bucket=bucket, Key="hot")["Body"].read() in bodies
