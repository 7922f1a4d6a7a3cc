"""SSE-KMS: the data key comes from KMS as the caller, so reading needs kms:Decrypt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server
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


def test_objects_under_a_deleted_key_are_gone_for_good(tmp_path: Path) -> None:
    """Issue 6: once a key's deletion window has passed, what S3 encrypted under it cannot be read again.

    On a server of its own: the test moves the clock by a week.
    """
    own = start_server(tmp_path / "data")
    try:
        s3, kms = own.client("s3"), own.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        s3.create_bucket(Bucket="doomed")
        s3.put_object(Bucket="doomed", Key="k", Body=b"payload", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
        s3.put_object(Bucket="doomed", Key="plain", Body=b"sse-s3")
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        with pytest.raises(ClientError) as pending:
            s3.get_object(Bucket="doomed", Key="k")
        assert pending.value.response["Error"]["Code"] in {"KMS.KMSInvalidStateException", "KMSInvalidStateException"}
        kms.cancel_key_deletion(KeyId=key_id)
        kms.enable_key(KeyId=key_id)
        assert s3.get_object(Bucket="doomed", Key="k")["Body"].read() == b"payload"
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        assert own.admin("POST", "clock/advance", json={"seconds": 7 * 86400 + 60}).status_code == 200
        assert own.admin("POST", "jobs/run").status_code == 200
        with pytest.raises(ClientError) as gone:
            s3.get_object(Bucket="doomed", Key="k")
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] in {400, 403, 404}
        assert s3.get_object(Bucket="doomed", Key="plain")["Body"].read() == b"sse-s3"
    finally:
        own.stop()
