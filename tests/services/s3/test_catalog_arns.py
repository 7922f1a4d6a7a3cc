"""The catalog asks the engine about the right S3 actions and ARNs for every data-path operation."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.aws.catalog import requirements

B = {"Bucket": "bkt"}
K = {"Bucket": "bkt", "Key": "a/b"}
BUCKET_ARN = ("arn:aws:s3:::bkt",)
OBJECT_ARN = ("arn:aws:s3:::bkt/a/b",)


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("CreateBucket", B, [("s3:CreateBucket", BUCKET_ARN)]),
        ("DeleteBucket", B, [("s3:DeleteBucket", BUCKET_ARN)]),
        ("HeadBucket", B, [("s3:ListBucket", BUCKET_ARN)]),
        ("ListBuckets", {}, [("s3:ListAllMyBuckets", ("*",))]),
        ("GetBucketLocation", B, [("s3:GetBucketLocation", BUCKET_ARN)]),
        ("PutBucketVersioning", B, [("s3:PutBucketVersioning", BUCKET_ARN)]),
        ("PutObject", K, [("s3:PutObject", OBJECT_ARN)]),
        ("GetObject", K, [("s3:GetObject", OBJECT_ARN)]),
        ("GetObject", {**K, "VersionId": "v"}, [("s3:GetObjectVersion", OBJECT_ARN)]),
        ("HeadObject", K, [("s3:GetObject", OBJECT_ARN)]),
        ("DeleteObject", K, [("s3:DeleteObject", OBJECT_ARN)]),
        ("DeleteObject", {**K, "VersionId": "v"}, [("s3:DeleteObjectVersion", OBJECT_ARN)]),
        ("DeleteObjects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y", "VersionId": "v"}]}},
         [("s3:DeleteObject", ("arn:aws:s3:::bkt/x",)), ("s3:DeleteObjectVersion", ("arn:aws:s3:::bkt/y",))]),
        ("CopyObject", {**K, "CopySource": "src/k?versionId=v2"},
         [("s3:PutObject", OBJECT_ARN), ("s3:GetObjectVersion", ("arn:aws:s3:::src/k",))]),
        ("ListObjectsV2", B, [("s3:ListBucket", BUCKET_ARN)]),
        ("ListObjectVersions", B, [("s3:ListBucketVersions", BUCKET_ARN)]),
        ("CreateMultipartUpload", K, [("s3:PutObject", OBJECT_ARN)]),
        ("UploadPart", K, [("s3:PutObject", OBJECT_ARN)]),
        ("UploadPartCopy", {**K, "CopySource": "src/k"},
         [("s3:PutObject", OBJECT_ARN), ("s3:GetObject", ("arn:aws:s3:::src/k",))]),
        ("CompleteMultipartUpload", K, [("s3:PutObject", OBJECT_ARN)]),
        ("AbortMultipartUpload", K, [("s3:AbortMultipartUpload", OBJECT_ARN)]),
        ("ListParts", K, [("s3:ListMultipartUploadParts", OBJECT_ARN)]),
        ("ListMultipartUploads", B, [("s3:ListBucketMultipartUploads", BUCKET_ARN)]),
        ("PutObjectTagging", K, [("s3:PutObjectTagging", OBJECT_ARN)]),
        ("GetObjectTagging", {**K, "VersionId": "v"}, [("s3:GetObjectVersionTagging", OBJECT_ARN)]),
    ],
)
def test_requirements(operation: str, params: dict[str, Any], expected: list[tuple[str, tuple[str, ...]]]) -> None:
    found = [(r.action, tuple(r.resources)) for r in requirements("s3", operation, params, "123456789012", "us-east-1")]
    assert found == expected
