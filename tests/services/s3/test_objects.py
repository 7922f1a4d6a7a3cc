"""Objects through boto3: bodies, metadata, ranges, conditionals, digests and checksums, copy, delete, tagging."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_head_with_headers_and_metadata(s3: Any, bucket: str) -> None:
    body = os.urandom(200_000)
    s3.put_object(Bucket=bucket, Key="dir/file.bin", Body=body, ContentType="application/x-test",
                  CacheControl="max-age=60", ContentDisposition="attachment", Metadata={"Owner-Team": "Red"})
    got = s3.get_object(Bucket=bucket, Key="dir/file.bin")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert (got["ContentType"], got["CacheControl"], got["ContentDisposition"]) == (
        "application/x-test", "max-age=60", "attachment")
    assert got["Metadata"] == {"owner-team": "Red"}
    assert got["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="dir/file.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == got["ETag"]
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    s3.put_object(Bucket=bucket, Key="exp", Body=b"e", Expires=expires, ContentLanguage="fr")
    head = s3.head_object(Bucket=bucket, Key="exp")
    assert (head["Expires"], head["ContentLanguage"], head["ContentType"]) == (expires, "fr", "binary/octet-stream")
    assert "VersionId" not in head


def test_missing_key_and_bucket(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="nope")
    assert _error(excinfo) == ("NoSuchKey", 404)
    assert excinfo.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="nope")
    assert _error(excinfo)[1] == 404
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket + "-missing", Key="k", Body=b"x")
    assert _error(excinfo) == ("NoSuchBucket", 404)


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-9", slice(0, 10), "bytes 0-9/300000"),
        ("bytes=299990-", slice(299990, 300000), "bytes 299990-299999/300000"),
        ("bytes=-5", slice(299995, 300000), "bytes 299995-299999/300000"),
        ("bytes=65530-65545", slice(65530, 65546), "bytes 65530-65545/300000"),  # across a segment edge
        ("bytes=100-999999", slice(100, 300000), "bytes 100-299999/300000"),
    ],
)
def test_ranges(s3: Any, bucket: str, header: str, expected: slice, content_range: str) -> None:
    body = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == content_range
    assert got["Body"].read() == body[expected]


def test_unsatisfiable_range(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert _error(excinfo) == ("InvalidRange", 416)
    # An unparseable range is ignored: the whole object, 200.
    whole = s3.get_object(Bucket=bucket, Key="r", Range="lines=1-2")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200 and whole["Body"].read() == b"0123456789"


def test_conditional_reads(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert _error(excinfo) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _error(excinfo)[1] == 304
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert _error(excinfo)[1] == 304
    assert s3.head_object(Bucket=bucket, Key="c", IfModifiedSince=past)["ETag"] == etag
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert _error(excinfo) == ("PreconditionFailed", 412)


def test_conditional_writes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="w", Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="w", Body=b"two", IfNoneMatch="*")
    assert _error(excinfo) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="w")["Body"].read() == b"one"


def test_content_md5(s3: Any, bucket: str) -> None:
    body = b"checked body"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=body, ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="m2", Body=body, ContentMD5=wrong)
    assert _error(excinfo) == ("BadDigest", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="m2", Body=body, ContentMD5="not-base64!")
    assert _error(excinfo) == ("InvalidDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="m2")  # nothing was stored by the failed writes


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_checksums_stored_and_returned(s3: Any, bucket: str, algorithm: str) -> None:
    body = os.urandom(5000)
    put = s3.put_object(Bucket=bucket, Key=f"k-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key=f"k-{algorithm}", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == value
    assert got["Body"].read() == body  # botocore validates the checksum while reading
    if algorithm == "CRC32":
        assert value == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    if algorithm == "SHA256":
        assert value == base64.b64encode(hashlib.sha256(body).digest()).decode()


@pytest.mark.parametrize(
    ("algorithm", "check_value"),
    [("CRC32C", "e3069283"), ("CRC64NVME", "ae8b14860a799888")],  # the CRC catalogue's check values
)
def test_crc32c_and_crc64nvme_check_values(s3: Any, bucket: str, algorithm: str, check_value: str) -> None:
    """botocore needs awscrt to compute these, so the client sends the catalogue's value for b"123456789"."""
    value = base64.b64encode(bytes.fromhex(check_value)).decode()
    s3.put_object(Bucket=bucket, Key=algorithm, Body=b"123456789", **{f"Checksum{algorithm}": value})
    head = s3.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value
    wrong = base64.b64encode(bytes(len(bytes.fromhex(check_value)))).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key=algorithm + "-bad", Body=b"123456789", **{f"Checksum{algorithm}": wrong})
    assert _error(excinfo) == ("BadDigest", 400)


def test_wrong_checksum_is_bad_digest(s3: Any, bucket: str) -> None:
    wrong = base64.b64encode((12345).to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"payload", ChecksumCRC32=wrong)
    assert _error(excinfo) == ("BadDigest", 400)
    assert excinfo.value.response["Error"]["Message"] == "The CRC32 you specified did not match the calculated checksum."


def test_copy_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/plain", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"copy me", "text/plain", {"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   ContentType="text/x-new", Metadata={"b": "2"})
    replaced = s3.head_object(Bucket=bucket, Key="dst2")
    assert (replaced["ContentType"], replaced["Metadata"]) == ("text/x-new", {"b": "2"})
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert _error(excinfo) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst3", CopySource={"Bucket": bucket, "Key": "src"},
                       CopySourceIfMatch='"nope"')
    assert _error(excinfo) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst3", CopySource={"Bucket": bucket, "Key": "missing"})
    assert _error(excinfo) == ("NoSuchKey", 404)


def test_delete_objects_quiet_and_verbose(s3: Any, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    verbose = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d/0"}, {"Key": "d/1"}]})
    assert sorted(d["Key"] for d in verbose["Deleted"]) == ["d/0", "d/1"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d/2"}, {"Key": "absent"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert left == ["d/3", "d/4"]


def test_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="team=red&tier=1")
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("team", "red"), ("tier", "1")]
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "only", "Value": "one"}]
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"}
                                                                          for i in range(11)]})
    assert _error(excinfo) == ("InvalidTag", 400)
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_tagging(Bucket=bucket, Key="absent")
    assert _error(excinfo) == ("NoSuchKey", 404)


def test_empty_object_and_unicode_key(s3: Any, bucket: str) -> None:
    key = "ünïcode/key with spaces+plus?&=.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"")
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"" and got["ContentLength"] == 0
    assert got["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
