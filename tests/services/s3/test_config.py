"""Bucket sub-resources through boto3 and the AWS CLI: policy validation, tagging, CORS, lifecycle, logging, encryption."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import unique


@pytest.fixture(scope="module")
def s3(server: Server) -> Any:
    """A root S3 client."""
    return server.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh bucket of the default account."""
    name = unique("f-cfg")
    s3.create_bucket(Bucket=name)
    return name


def error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _policy(bucket: str, **statement: Any) -> str:
    body = {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*", **statement}
    return json.dumps({"Version": "2012-10-17", "Statement": [body]})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Resource": "arn:aws:s3:::some-other-bucket/*"}, "Policy has invalid resource"),
        ({"Principal": {"AWS": "not-an-account"}}, "Invalid principal in policy"),
        ({"Action": "iam:CreateUser"}, "Policy has invalid action"),
        ({"Principal": None}, "Missing required field Principal"),
    ],
)
def test_malformed_policies(s3: Any, bucket: str, change: dict[str, Any], message: str) -> None:
    document = json.loads(_policy(bucket))
    for key, value in change.items():
        if value is None:
            document["Statement"][0].pop(key)
        else:
            document["Statement"][0][key] = value
    assert error(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))) == ("MalformedPolicy", message)
    assert error(lambda: s3.get_bucket_policy(Bucket=bucket))[0] == "NoSuchBucketPolicy"


def test_policy_round_trip_and_delete(s3: Any, bucket: str) -> None:
    text = _policy(bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=text, ConfirmRemoveSelfBucketAccess=False)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(text)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    assert error(lambda: s3.put_bucket_policy(Bucket=bucket, Policy="not json"))[0] == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket=bucket)
    assert error(lambda: s3.get_bucket_policy_status(Bucket=bucket))[0] == "NoSuchBucketPolicy"
    assert error(lambda: s3.get_bucket_policy(Bucket=unique("f-none")))[0] == "NoSuchBucket"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_cli_put_bucket_policy(server: Server, bucket: str, s3: Any, tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(_policy(bucket, Principal="*"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.access_key_id, "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    subprocess.run(["aws", "--endpoint-url", server.endpoint, "s3api", "put-bucket-policy", "--bucket", bucket,
                    "--policy", f"file://{policy_file}"], check=True, env=env, capture_output=True)
    out = subprocess.run(["aws", "--endpoint-url", server.endpoint, "s3api", "get-bucket-policy-status",
                          "--bucket", bucket], check=True, env=env, capture_output=True, text=True)
    assert json.loads(out.stdout)["PolicyStatus"]["IsPublic"] is True


def test_tagging(s3: Any, bucket: str) -> None:
    assert error(lambda: s3.get_bucket_tagging(Bucket=bucket))[0] == "NoSuchTagSet"
    tags = [{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "sec"}]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags
    assert error(lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]}))[0] \
        == "InvalidTag"
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags  # a refused change changes nothing
    s3.delete_bucket_tagging(Bucket=bucket)
    assert error(lambda: s3.get_bucket_tagging(Bucket=bucket))[0] == "NoSuchTagSet"


def test_cors(s3: Any, bucket: str) -> None:
    assert error(lambda: s3.get_bucket_cors(Bucket=bucket))[0] == "NoSuchCORSConfiguration"
    rules = [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://example.com"], "MaxAgeSeconds": 300}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    bad = [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]
    assert error(lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": bad})) == (
        "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is PATCH")
    s3.delete_bucket_cors(Bucket=bucket)
    assert error(lambda: s3.get_bucket_cors(Bucket=bucket))[0] == "NoSuchCORSConfiguration"


def test_lifecycle(s3: Any, bucket: str) -> None:
    assert error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))[0] == "NoSuchLifecycleConfiguration"
    rule = {"ID": "expire-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == [rule]
    twice = {"Rules": [rule, {**rule, "Filter": {"Prefix": "tmp/"}}]}
    assert error(lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=twice))[0] \
        == "InvalidArgument"
    s3.delete_bucket_lifecycle(Bucket=bucket)
    assert error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))[0] == "NoSuchLifecycleConfiguration"


def test_logging(s3: Any, bucket: str) -> None:
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    target = unique("f-logs")
    s3.create_bucket(Bucket=target)
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target,
                                                                                  "TargetPrefix": "access/"}})
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {"TargetBucket": target, "TargetPrefix": "access/"}
    missing = {"LoggingEnabled": {"TargetBucket": unique("f-gone"), "TargetPrefix": ""}}
    assert error(lambda: s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=missing))[0] \
        == "InvalidTargetBucketForLogging"
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)


def test_default_encryption(s3: Any, bucket: str) -> None:
    base = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert base["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"},
                      "BucketKeyEnabled": True}]}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=kms)
    found = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert found["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}
    assert found["BucketKeyEnabled"] is True
    wrong = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]}
    assert error(lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=wrong))[0] \
        == "InvalidArgument"
    s3.delete_bucket_encryption(Bucket=bucket)
    base = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert base["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_sse_request_members_are_checked(s3: Any, bucket: str) -> None:
    code, _ = error(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSEKMSKeyId="alias/none"))
    assert code == "InvalidArgument"
    code, message = error(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                                                SSEKMSEncryptionContext="bm90IGpzb24="))
    assert code == "InvalidArgument" and "x-amz-server-side-encryption-context" in message
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
