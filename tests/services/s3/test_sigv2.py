"""SigV2 against the server: boto3's default presigned URLs, signature_version="s3" clients, the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique

V2 = Config(signature_version="s3", retries={"max_attempts": 1}, s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def v2(server: Server) -> Any:
    """A client signing every request with SigV2 (Authorization: AWS AKID:signature)."""
    return server.client("s3", config=V2)


@pytest.fixture(scope="module")
def default_client(server: Server) -> Any:
    """A client as boto3 makes it by default (its presigned URLs are SigV2 in us-east-1)."""
    return server.client("s3", config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


@pytest.fixture
def bucket(default_client: Any) -> str:
    name = unique("sigv2")
    default_client.create_bucket(Bucket=name)
    default_client.put_object(Bucket=name, Key="dir/a b+c.txt", Body=b"hello v2")
    return name


def test_default_presigned_url_is_sigv2_and_works(default_client: Any, bucket: str) -> None:
    url = default_client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"AWSAccessKeyId", "Signature", "Expires"}
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b"hello v2"


def test_presigned_get_with_response_overrides(default_client: Any, bucket: str) -> None:
    url = default_client.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "dir/a b+c.txt", "ResponseContentType": "text/x-test"})
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/x-test"
    # The override is signed: changing it breaks the signature.
    tampered = httpx.get(url.replace("text%2Fx-test", "text%2Fhtml"), timeout=10)
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content


def test_presigned_put(default_client: Any, bucket: str) -> None:
    url = default_client.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "up", "ContentType": "text/plain"})
    answer = httpx.put(url, content=b"uploaded", headers={"content-type": "text/plain"}, timeout=10)
    assert answer.status_code == 200, answer.text
    got = default_client.get_object(Bucket=bucket, Key="up")
    assert got["Body"].read() == b"uploaded" and got["ContentType"] == "text/plain"


def test_tampered_and_expired_presigned_urls(default_client: Any, bucket: str) -> None:
    url = default_client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    other_key = httpx.get(url.replace("a%20b", "x%20b"), timeout=10)
    assert other_key.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in other_key.content
    short = default_client.generate_presigned_url("get_object", ExpiresIn=1,
                                                  Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    time.sleep(2.1)  # SigV2 expiry is in whole seconds of real time (the client signs with it)
    expired = httpx.get(short, timeout=10)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content and b"Request has expired" in expired.content
    assert b"<Expires>" in expired.content and b"<ServerTime>" in expired.content


def test_unknown_key_is_invalid_access_key_id(server: Server, bucket: str) -> None:
    stranger = server.client("s3", config=V2, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                             aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    url = stranger.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 403 and b"<Code>InvalidAccessKeyId</Code>" in answer.content


def test_header_signed_client_does_the_usual(v2: Any, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="k", Body=b"data", Metadata={"team": "red"}, ContentType="text/plain")
    got = v2.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"data" and got["Metadata"] == {"team": "red"}
    assert v2.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    keys = [o["Key"] for o in v2.list_objects_v2(Bucket=bucket, Prefix="k")["Contents"]]
    assert keys == ["k"]
    assert v2.get_object_acl(Bucket=bucket, Key="k")["Grants"]  # ?acl is a signed sub-resource
    upload = v2.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = v2.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p" * 10)
    v2.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert v2.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"p" * 10
    v2.delete_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as caught:
        v2.head_object(Bucket=bucket, Key="k")
    assert caught.value.response["Error"]["Code"] == "404"


def test_header_signed_wrong_secret(server: Server, bucket: str) -> None:
    wrong = server.client("s3", config=V2, aws_access_key_id=server.access_key_id,
                          aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as caught:
        wrong.get_object(Bucket=bucket, Key="dir/a b+c.txt")
    error = caught.value.response["Error"]
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSign"].endswith(f"/{bucket}/dir/a%20b%2Bc.txt")


def test_aws_cli_presign(server: Server, bucket: str) -> None:
    """``aws s3 presign`` (AWS CLI v1) gives a URL the server honours."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.access_key_id,
           "AWS_SECRET_ACCESS_KEY": server.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    made = subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "s3", "presign",
         f"s3://{bucket}/dir/a b+c.txt"],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )
    url = made.stdout.strip()
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b"hello v2"


def test_temporary_credentials_sign_v2(server: Server, bucket: str) -> None:
    """Session credentials: the token travels as x-amz-security-token (a header, or a query parameter)."""
    iam = server.client("iam")
    name = unique("v2user")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps(allow(["s3:GetObject", "sts:GetSessionToken"])))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    session = sts.get_session_token()["Credentials"]
    temporary = {"aws_access_key_id": session["AccessKeyId"], "aws_secret_access_key": session["SecretAccessKey"],
                 "aws_session_token": session["SessionToken"]}
    header_signed = server.client("s3", config=V2, **temporary)
    assert header_signed.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"hello v2"
    url = header_signed.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    assert "x-amz-security-token=" in url
    assert httpx.get(url, timeout=10).content == b"hello v2"
    parts = urlsplit(url)
    kept = "&".join(p for p in parts.query.split("&") if not p.startswith("x-amz-security-token="))
    stripped = httpx.get(urlunsplit(parts._replace(query=kept)), timeout=10)
    assert stripped.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in stripped.content  # signed
    tokenless = server.client("s3", config=V2, aws_access_key_id=session["AccessKeyId"],
                              aws_secret_access_key=session["SecretAccessKey"])
    unsigned_token = tokenless.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    answer = httpx.get(unsigned_token, timeout=10)
    assert answer.status_code == 400 and b"<Code>InvalidToken</Code>" in answer.content
    with pytest.raises(ClientError) as caught:  # the policy allows reads only
        header_signed.put_object(Bucket=bucket, Key="nope", Body=b"x")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("sub_resource", ["publicAccessBlock", "encryption", "ownershipControls"])
def test_presigned_url_cannot_be_turned_into_another_operation(default_client: Any, bucket: str,
                                                               sub_resource: str) -> None:
    """Sub-resources that pick the operation are signed: a DeleteBucket URL is not a DeletePublicAccessBlock one."""
    default_client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    default_client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    url = default_client.generate_presigned_url("delete_bucket", Params={"Bucket": bucket})
    parts = urlsplit(url)
    swapped = urlunsplit(parts._replace(query=f"{sub_resource}&{parts.query}"))
    answer = httpx.delete(swapped, timeout=10)
    assert answer.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer.content, answer.text
    assert default_client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert default_client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert default_client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
