"""Hostile input never answers HTTP 500: every S3 operation, through boto3 and as raw signed requests.

boto3 covers model-valid but hostile values (huge, unicode, traversal-like
keys, unknown ids, wrong accounts); raw requests (signed with botocore's
SigV4 signer, so they pass authentication) cover what an SDK never sends:
broken XML bodies, bad Range headers, negative paging numbers, bad
aws-chunked framing, oversized headers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import Server

HUGE = "x" * 5000
WEIRD_KEYS = ["../../etc/passwd", "%2e%2e/%2e%2e/x", "a/../../b", "..", ".", "/leading", "\u0000nul" + "x",
              "tab\tkey", "emoji-\U0001F600", "\ufeffbom", "a" * 1024]


def _status_and_code(call: Callable[[], Any]) -> tuple[int, str]:
    try:
        call()
    except ClientError as caught:
        return caught.response["ResponseMetadata"]["HTTPStatusCode"], caught.response["Error"].get("Code", "")
    return 200, ""


def _never_500(call: Callable[[], Any]) -> tuple[int, str]:
    status, code = _status_and_code(call)
    assert status < 500 or code == "NotImplemented", (status, code)
    assert code not in ("InternalFailure", "InternalError"), code
    return status, code


class _Signer(S3SigV4Auth):
    """botocore's S3 signer with the payload hash line chosen by the test (a streaming declaration)."""

    def __init__(self, credentials: Credentials, declared: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._declared = declared

    def payload(self, request: AWSRequest) -> str:
        return self._declared


def signed(server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
           payload_hash: str | None = None) -> httpx.Response:
    """A raw request signed with SigV4 as the server's root (``path`` may carry a query string)."""
    url = f"{server.endpoint}{path}"
    request = AWSRequest(method, url, data=body, headers=dict(headers or {}))
    _Signer(Credentials(server.access_key_id, server.secret_access_key),
            payload_hash or hashlib.sha256(body).hexdigest()).add_auth(request)
    sent = {name: value.encode("utf-8") for name, value in request.headers.items()}  # as a raw client would
    return httpx.request(method, url, content=body, headers=sent, timeout=30)


def assert_4xx(response: httpx.Response, code: str | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert b"<Code>" in response.content, response.text[:300]
    if code is not None:
        assert f"<Code>{code}</Code>" in response.text, response.text[:500]


# --- boto3: every operation with hostile-but-model-valid values ------------------------------------

def _boto_cases(b: str) -> list[tuple[str, Callable[[Any], Any]]]:
    missing = "rampart-missing-bucket-0000000000"
    return [
        ("get unknown bucket", lambda s3: s3.get_object(Bucket=missing, Key="k")),
        ("head huge key", lambda s3: s3.head_object(Bucket=b, Key=HUGE)),
        ("get huge key", lambda s3: s3.get_object(Bucket=b, Key=HUGE)),
        ("put huge key", lambda s3: s3.put_object(Bucket=b, Key=HUGE, Body=b"x")),
        ("get bad version", lambda s3: s3.get_object(Bucket=b, Key="k", VersionId="\u00e9" * 300)),
        ("delete bad version", lambda s3: s3.delete_object(Bucket=b, Key="k", VersionId="nope/../x")),
        ("tagging bad version", lambda s3: s3.get_object_tagging(Bucket=b, Key="k", VersionId="zz")),
        ("acl bad version", lambda s3: s3.get_object_acl(Bucket=b, Key="k", VersionId="zz")),
        ("put acl unknown key", lambda s3: s3.put_object_acl(Bucket=b, Key="nope", ACL="private")),
        ("copy from missing", lambda s3: s3.copy_object(Bucket=b, Key="c", CopySource=f"{missing}/k")),
        ("copy source no key", lambda s3: s3.copy_object(Bucket=b, Key="c", CopySource=b)),
        ("copy bad version", lambda s3: s3.copy_object(Bucket=b, Key="c", CopySource=f"{b}/k?versionId=%ff")),
        ("copy query junk", lambda s3: s3.copy_object(Bucket=b, Key="c", CopySource=f"{b}/k?x=1")),
        ("sse context not json", lambda s3: s3.put_object(Bucket=b, Key="e", Body=b"x", ServerSideEncryption="aws:kms",
                                                          SSEKMSEncryptionContext="bm90IGpzb24=")),
        ("sse context not b64", lambda s3: s3.put_object(Bucket=b, Key="e", Body=b"x", ServerSideEncryption="aws:kms",
                                                         SSEKMSEncryptionContext="%%%")),
        ("kms key other account", lambda s3: s3.put_object(
            Bucket=b, Key="e", Body=b"x", ServerSideEncryption="aws:kms",
            SSEKMSKeyId="arn:aws:kms:us-east-1:999999999999:key/00000000-0000-0000-0000-000000000000")),
        ("kms key garbage", lambda s3: s3.put_object(Bucket=b, Key="e", Body=b"x", ServerSideEncryption="aws:kms",
                                                     SSEKMSKeyId=HUGE)),
        ("tagging header junk", lambda s3: s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="a=%ff&&=&" + HUGE)),
        ("put tags too many", lambda s3: s3.put_object_tagging(
            Bucket=b, Key="k", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})),
        ("put tags huge", lambda s3: s3.put_object_tagging(
            Bucket=b, Key="k", Tagging={"TagSet": [{"Key": HUGE, "Value": HUGE}]})),
        ("bucket tags dup", lambda s3: s3.put_bucket_tagging(
            Bucket=b, Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})),
        ("policy not json", lambda s3: s3.put_bucket_policy(Bucket=b, Policy="{not json")),
        ("policy huge", lambda s3: s3.put_bucket_policy(Bucket=b, Policy='{"Statement":"' + HUGE * 10 + '"}')),
        ("policy wrong types", lambda s3: s3.put_bucket_policy(
            Bucket=b, Policy='{"Version":"2012-10-17","Statement":[{"Effect":1,"Principal":[],"Action":{},'
                             '"Resource":null}]}')),
        ("acl grant unknown email", lambda s3: s3.put_bucket_acl(Bucket=b, GrantRead='emailAddress="x@example.com"')),
        ("acl grant junk", lambda s3: s3.put_bucket_acl(Bucket=b, GrantRead="junk")),
        ("acl grant bad uri", lambda s3: s3.put_bucket_acl(Bucket=b, GrantRead='uri="http://evil/"')),
        ("acl body bad grantee", lambda s3: s3.put_bucket_acl(Bucket=b, AccessControlPolicy={
            "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "zz"}, "Permission": "READ"}],
            "Owner": {"ID": "zz"}})),
        ("lifecycle empty", lambda s3: s3.put_bucket_lifecycle_configuration(
            Bucket=b, LifecycleConfiguration={"Rules": []})),
        ("lifecycle bad days", lambda s3: s3.put_bucket_lifecycle_configuration(
            Bucket=b, LifecycleConfiguration={"Rules": [{"Status": "Enabled", "Filter": {"Prefix": ""},
                                                         "Expiration": {"Days": -5}}]})),
        ("cors empty", lambda s3: s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": []})),
        ("cors bad method", lambda s3: s3.put_bucket_cors(Bucket=b, CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["BREW"], "AllowedOrigins": ["*"]}]})),
        ("logging other bucket", lambda s3: s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": missing, "TargetPrefix": HUGE}})),
        ("ownership bad", lambda s3: s3.put_bucket_ownership_controls(
            Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "Mine"}]})),
        ("encryption bad alg", lambda s3: s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "rot13"}}]})),
        ("list huge prefix", lambda s3: s3.list_objects_v2(Bucket=b, Prefix=HUGE, Delimiter=HUGE)),
        ("list bad token", lambda s3: s3.list_objects_v2(Bucket=b, ContinuationToken="!!!not-a-token")),
        ("list b64 token junk", lambda s3: s3.list_objects_v2(Bucket=b, ContinuationToken="AAAA")),
        ("list max-keys 0", lambda s3: s3.list_objects(Bucket=b, MaxKeys=0, Marker="\U0010ffff")),
        ("versions bad marker", lambda s3: s3.list_object_versions(Bucket=b, KeyMarker="k", VersionIdMarker="zz")),
        ("versions id marker alone", lambda s3: s3.list_object_versions(Bucket=b, VersionIdMarker="zz")),
        ("delete objects empty", lambda s3: s3.delete_objects(Bucket=b, Delete={"Objects": []})),
        ("delete objects 1001", lambda s3: s3.delete_objects(
            Bucket=b, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})),
        ("upload part unknown id", lambda s3: s3.upload_part(Bucket=b, Key="k", UploadId="nope", PartNumber=1,
                                                             Body=b"x")),
        ("upload part huge id", lambda s3: s3.upload_part(Bucket=b, Key="k", UploadId=HUGE, PartNumber=1, Body=b"x")),
        ("list parts unknown id", lambda s3: s3.list_parts(Bucket=b, Key="k", UploadId="\u00e9")),
        ("complete unknown id", lambda s3: s3.complete_multipart_upload(
            Bucket=b, Key="k", UploadId="nope", MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]})),
        ("abort unknown id", lambda s3: s3.abort_multipart_upload(Bucket=b, Key="k", UploadId="nope")),
        ("part copy bad range", lambda s3: s3.upload_part_copy(
            Bucket=b, Key="k", UploadId="nope", PartNumber=1, CopySource=f"{b}/k", CopySourceRange="bytes=9-1")),
        ("uploads huge markers", lambda s3: s3.list_multipart_uploads(Bucket=b, KeyMarker=HUGE, UploadIdMarker=HUGE,
                                                                     Prefix=HUGE)),
        ("create bucket bad constraint", lambda s3: s3.create_bucket(
            Bucket="rampart-bad-constraint-x1", CreateBucketConfiguration={"LocationConstraint": "mars-1"})),
        ("get huge range", lambda s3: s3.get_object(Bucket=b, Key="k", Range="bytes=99999999999999999999-")),
        ("get junk range", lambda s3: s3.get_object(Bucket=b, Key="k", Range="bytes=--1,,")),
        ("get if-modified junk", lambda s3: s3.head_object(Bucket=b, Key="k", IfMatch="\u00e9" * 50)),
        ("metadata huge", lambda s3: s3.put_object(Bucket=b, Key="m", Body=b"x", Metadata={"big": "y" * 3000})),
    ]


_CASE_NAMES = [name for name, _ in _boto_cases("b")]


@pytest.mark.parametrize("index", range(len(_CASE_NAMES)), ids=_CASE_NAMES)
def test_boto_hostile_values_answer_4xx(s3: Any, bucket: str, index: int) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    _, call = _boto_cases(bucket)[index]
    _never_500(lambda: call(s3))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"0123456789"


@pytest.mark.parametrize("key", WEIRD_KEYS, ids=repr)
def test_traversal_like_keys_are_plain_names(s3: Any, bucket: str, key: str) -> None:
    """Keys never reach the file system: each round-trips as itself and lists as itself."""
    status, _ = _status_and_code(lambda: s3.put_object(Bucket=bucket, Key=key, Body=key.encode()))
    if status != 200:
        assert 400 <= status < 500
        return
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == [key]


# --- raw requests: what an SDK never sends -------------------------------------------------------

_BAD_XML = [b"", b"<", b"not xml", b"<a><b></a>", b"\xff\xfe\x00<", (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e "
            b"SYSTEM 'file:///etc/passwd'>]><Delete>&e;</Delete>"),
            b"<Root>" + b"<a>" * 2000 + b"</a>" * 2000 + b"</Root>", b"<Tagging><TagSet><Tag><Key>k</Key>"]

# (method, sub-resource query) of the operations that take an XML body.
_XML_OPS = [("POST", "?delete"), ("PUT", "?tagging"), ("PUT", "?acl"), ("PUT", "?cors"), ("PUT", "?lifecycle"),
            ("PUT", "?logging"), ("PUT", "?versioning"), ("PUT", "?encryption"), ("PUT", "?publicAccessBlock"),
            ("PUT", "?ownershipControls"), ("PUT", "?policy")]
_OBJECT_XML_OPS = [("PUT", "k?tagging"), ("PUT", "k?acl")]


@pytest.mark.parametrize("body", _BAD_XML, ids=range(len(_BAD_XML)))
def test_broken_xml_bodies_answer_4xx(server: Server, bucket: str, body: bytes) -> None:
    for method, query in _XML_OPS:
        response = signed(server, method, f"/{bucket}{query}", body)
        assert 400 <= response.status_code < 500, (query, response.status_code, response.text[:300])
    for method, query in _OBJECT_XML_OPS:
        response = signed(server, method, f"/{bucket}/{query}", body)
        assert 400 <= response.status_code < 500, (query, response.status_code, response.text[:300])
    if body:
        assert_4xx(signed(server, "PUT", "/rampart-raw-" + bucket[-20:], body))  # CreateBucket's configuration


def test_broken_complete_multipart_bodies(server: Server, s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    bodies = [*_BAD_XML, b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>",
              (b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</ETag></Part>"
               b"</CompleteMultipartUpload>"),
              b"<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>",
              b"<CompleteMultipartUpload><Part><PartNumber>99999999999999999999999</PartNumber><ETag>" + part.encode()
              + b"</ETag></Part></CompleteMultipartUpload>"]
    for body in bodies:
        assert_4xx(signed(server, "POST", f"/{bucket}/m?uploadId={upload}", body))
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)["Parts"]] == [1]


@pytest.mark.parametrize("value", ["bytes=5-1", "bytes=abc", "bytes=-", "bytes=1-2,3-4", "bytes=-0", "items=0-1",
                                   "bytes=" + "9" * 400, "bytes=10-", "bytes=\u00e9", ""])
def test_bad_range_headers(server: Server, s3: Any, bucket: str, value: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    for method in ("GET", "HEAD"):
        response = signed(server, method, f"/{bucket}/r", headers={"Range": value})
        assert response.status_code in (200, 206, 403, 416), (value, response.status_code, response.text[:300])


@pytest.mark.parametrize("query", ["max-keys=-1", "max-keys=abc", "max-keys=99999999999999999999",
                                   "list-type=2&max-keys=-5", "list-type=2&continuation-token=%00", "list-type=2&start-after=%00",
                                   "versions&max-keys=-1", "versions&version-id-marker=x", "uploads&max-uploads=-1",
                                   "uploads&max-uploads=x", "encoding-type=x", "list-type=3", "prefix=%ff%fe"])
def test_bad_listing_queries(server: Server, bucket: str, query: str) -> None:
    response = signed(server, "GET", f"/{bucket}?{query}")
    assert response.status_code < 500, (query, response.status_code, response.text[:300])


@pytest.mark.parametrize("query", ["max-parts=-1", "max-parts=0", "max-parts=x", "part-number-marker=-1",
                                   "part-number-marker=x", "max-parts=99999999999999999999"])
def test_bad_list_parts_queries(server: Server, s3: Any, bucket: str, query: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    response = signed(server, "GET", f"/{bucket}/m?uploadId={upload}&{query}")
    assert response.status_code < 500, (query, response.status_code, response.text[:300])


@pytest.mark.parametrize("number", ["0", "-1", "x", "10001", "99999999999999999999", ""])
def test_bad_part_numbers(server: Server, s3: Any, bucket: str, number: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    assert_4xx(signed(server, "PUT", f"/{bucket}/m?uploadId={upload}&partNumber={number}", b"x"))


@pytest.mark.parametrize("headers", [
    {"Content-MD5": "not base64"}, {"Content-MD5": "AAAA"}, {"x-amz-checksum-crc32": "!!"},
    {"x-amz-checksum-sha256": "AAAA"}, {"x-amz-sdk-checksum-algorithm": "ROT13"}, {"If-None-Match": "etag"},
    {"x-amz-meta-" + "a" * 3000: "v"}, {"x-amz-meta-big": "v" * 9000}, {"x-amz-storage-class": "\u00e9"},
    {"x-amz-object-lock-mode": "FOREVER"}, {"x-amz-acl": "x", "x-amz-grant-read": "y"},
    {"x-amz-grant-read": 'id="' + "z" * 500 + '"'}, {"Expires": "not a date"}, {"x-amz-tagging": "%"},
    {"x-amz-server-side-encryption-customer-algorithm": "AES256"}, {"x-amz-website-redirect-location": "x" * 3000},
    {"Content-Encoding": "aws-chunked"}, {"x-amz-decoded-content-length": "-1", "Content-Encoding": "aws-chunked"},
], ids=repr)
def test_bad_put_headers(server: Server, bucket: str, headers: dict[str, str]) -> None:
    response = signed(server, "PUT", f"/{bucket}/h", b"payload", headers=headers)
    assert response.status_code < 500, (headers, response.status_code, response.text[:300])


@pytest.mark.parametrize("headers", [
    {"If-Modified-Since": "yesterday"}, {"If-Unmodified-Since": "\u00e9"}, {"If-Match": ""},
    {"x-amz-checksum-mode": "MAYBE"}, {"x-amz-expected-bucket-owner": "x"},
    {"x-amz-server-side-encryption-customer-key": "AAAA"},
], ids=repr)
def test_bad_get_headers(server: Server, s3: Any, bucket: str, headers: dict[str, str]) -> None:
    s3.put_object(Bucket=bucket, Key="g", Body=b"0123456789")
    for method in ("GET", "HEAD"):
        response = signed(server, method, f"/{bucket}/g", headers=headers)
        assert response.status_code < 500, (headers, response.status_code, response.text[:300])


@pytest.mark.parametrize("source", ["", "/", "%", "%ff%fe", "b", "/b/", "b/k?versionId=", "b/k?versionId",
                                    "\u00e9/\u00e9", "a" * 3000])
def test_bad_copy_sources(server: Server, bucket: str, source: str) -> None:
    for target in (f"/{bucket}/c", ):
        response = signed(server, "PUT", target, headers={"x-amz-copy-source": source})
        assert_4xx(response)


_CHUNKED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


@pytest.mark.parametrize("body", [b"", b"zz\r\n", b"5\r\nab\r\n", b"-1\r\n\r\n", b"ffffffffffffffffffff\r\n",
                                  b"3;chunk-signature=x\r\nabc\r\n0\r\n\r\n", b"3\r\nabc0\r\n\r\n",
                                  b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:!!\r\n\r\n"], ids=repr)
def test_bad_chunked_framing(server: Server, bucket: str, body: bytes) -> None:
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "3",
               "x-amz-trailer": "x-amz-checksum-crc32"}
    response = signed(server, "PUT", f"/{bucket}/c", body, headers=headers, payload_hash=_CHUNKED)
    assert_4xx(response)


@pytest.mark.parametrize(("query", "name"), [("max-parts=-1", "max-parts"),
                                             ("part-number-marker=-1", "part-number-marker")])
def test_negative_list_parts_numbers_are_invalid_argument(server: Server, s3: Any, bucket: str, query: str,
                                                          name: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"x")
    response = signed(server, "GET", f"/{bucket}/m?uploadId={upload}&{query}")
    assert_4xx(response, "InvalidArgument")
    assert f"<ArgumentName>{name}</ArgumentName>" in response.text


def test_negative_max_uploads_is_invalid_argument(server: Server, s3: Any, bucket: str) -> None:
    s3.create_multipart_upload(Bucket=bucket, Key="m")
    response = signed(server, "GET", f"/{bucket}?uploads&max-uploads=-1")
    assert_4xx(response, "InvalidArgument")
    assert "<ArgumentName>max-uploads</ArgumentName>" in response.text


def test_user_metadata_over_2_kb_is_metadata_too_large(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    big = {"k": "v" * 2048}  # 1 + 2048 bytes: one over
    calls = [lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata=big),
             lambda: s3.copy_object(Bucket=bucket, Key="m", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                                    Metadata=big),
             lambda: s3.create_multipart_upload(Bucket=bucket, Key="m", Metadata=big)]
    for call in calls:
        status, code = _status_and_code(call)
        assert (status, code) == (400, "MetadataTooLarge"), calls.index(call)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="m")
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"k": "v" * 2047})  # exactly 2 KB is fine
