"""S3's signature condition keys in bucket policies: s3:authType, s3:x-amz-content-sha256, s3:signatureAge,
s3:signatureversion (the policies are the S3 User Guide's own examples)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rampart.gateway.call import Caller
from rampart.services.s3.access import signature_keys
from tests.conftest import Server
from tests.services.iam.helpers import unique

V4 = Config(signature_version="s3v4", retries={"max_attempts": 1}, s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def s3(server: Server) -> Any:
    return server.client("s3", config=V4)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = unique("ckeys")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"payload")
    return name


def deny(bucket: str, action: str, condition: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": condition}]})


def code_of(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_deny_query_string_auth_blocks_presigned_urls_only(s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:GetObject",
                                                    {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"payload"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content
    # The same policy without the condition's value matching lets presigned URLs through.
    s3.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:GetObject",
                                                    {"StringEquals": {"s3:authType": "REST-HEADER"}}))
    assert httpx.get(url, timeout=10).content == b"payload"
    assert code_of(lambda: s3.get_object(Bucket=bucket, Key="k")) == "AccessDenied"


def _sent_content_sha256(client: Any) -> list[str]:
    """Record the x-amz-content-sha256 each request of ``client`` really carried."""
    seen: list[str] = []
    client.meta.events.register("before-send.s3.PutObject",
                                lambda request, **_: seen.append(request.headers.get("x-amz-content-sha256")))
    return seen


def test_deny_unsigned_payloads(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:PutObject",
                                                    {"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}}))
    unsigned = server.client("s3", config=V4.merge(Config(s3={"payload_signing_enabled": False})))
    unsigned_seen = _sent_content_sha256(unsigned)
    assert code_of(lambda: unsigned.put_object(Bucket=bucket, Key="u", Body=b"x")) == "AccessDenied"
    assert unsigned_seen[-1] in (b"UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD")
    signed_seen = _sent_content_sha256(s3)
    s3.put_object(Bucket=bucket, Key="s", Body=b"x")
    assert len(signed_seen[-1]) == 64  # a real hash
    assert code_of(lambda: s3.head_object(Bucket=bucket, Key="u")) == "404"


def test_deny_old_presigned_signatures(s3: Any, bucket: str) -> None:
    """The User Guide's "deny s3:signatureAge > 600000": a URL signed 11 minutes ago no longer works."""
    s3.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:GetObject",
                                                    {"NumericGreaterThan": {"s3:signatureAge": "600000"}}))
    fresh = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600)
    eleven_minutes_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    with mock.patch("botocore.auth.get_current_datetime", return_value=eleven_minutes_ago.replace(tzinfo=None)):
        old = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600)
    assert eleven_minutes_ago.strftime("%Y%m%dT%H%M") in old
    assert httpx.get(fresh, timeout=10).content == b"payload"
    answer = httpx.get(old, timeout=10)
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"payload"  # header auth has no age


def test_require_signature_version_4(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:GetObject",
                                                    {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}}))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"payload"
    v2 = server.client("s3", config=Config(signature_version="s3", retries={"max_attempts": 1},
                                           s3={"addressing_style": "path"}))
    assert code_of(lambda: v2.get_object(Bucket=bucket, Key="k")) == "AccessDenied"
    assert v2.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200  # only objects are denied


# (caller fields, expected keys) — what each kind of request puts in the context.
CALLERS = [
    ({"auth_type": "REST-HEADER", "signature_version": "AWS4-HMAC-SHA256", "content_sha256": "UNSIGNED-PAYLOAD"},
     {"s3:authType": "REST-HEADER", "s3:signatureversion": "AWS4-HMAC-SHA256",
      "s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}),
    ({"auth_type": "REST-QUERY-STRING", "signature_version": "AWS4-HMAC-SHA256", "signature_age_ms": 1500},
     {"s3:authType": "REST-QUERY-STRING", "s3:signatureversion": "AWS4-HMAC-SHA256", "s3:signatureAge": 1500}),
    ({"auth_type": "REST-QUERY-STRING", "signature_version": "AWS", "signature_age_ms": 0},
     {"s3:authType": "REST-QUERY-STRING", "s3:signatureversion": "AWS", "s3:signatureAge": 0}),
    ({"auth_type": "REST-HEADER", "signature_version": "AWS4-HMAC-SHA256", "secure": True, "tls_version": "TLSv1.3"},
     {"s3:authType": "REST-HEADER", "s3:signatureversion": "AWS4-HMAC-SHA256", "s3:TlsVersion": "1.3"}),
    ({"auth_type": "REST-HEADER", "signature_version": "AWS", "secure": False, "tls_version": "TLSv1.3"},
     {"s3:authType": "REST-HEADER", "s3:signatureversion": "AWS"}),
    ({}, {}),
]


@pytest.mark.parametrize(("fields", "expected"), CALLERS)
def test_signature_keys(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert signature_keys(Caller(**fields)) == expected
