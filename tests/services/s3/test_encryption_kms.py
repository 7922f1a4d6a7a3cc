"""SSE-KMS: the data key comes from KMS as the caller, so reading needs kms:Decrypt."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import unique


def _user_s3(server: Server, policy: dict[str, Any]) -> Any:
    iam = server.client("iam")
    name = unique("kmsuser")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def test_sse_kms_object_needs_kms_decrypt(server: Server) -> None:
    s3 = server.client("s3")
    kms = server.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    bucket = unique("f-kms")
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="secret", Body=b"classified", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key_arn)
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
    objects = f"arn:aws:s3:::{bucket}/*"
    reader = _user_s3(server, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}]})
    no_kms = _user_s3(server, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}]})
    assert reader.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"classified"
    with pytest.raises(ClientError) as caught:
        no_kms.get_object(Bucket=bucket, Key="secret")["Body"].read()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_bucket_default_kms_applies_to_plain_puts(server: Server) -> None:
    s3 = server.client("s3")
    bucket = unique("f-kmsdef")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"]
    assert put.get("BucketKeyEnabled") is True
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
