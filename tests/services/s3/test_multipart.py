"""Multipart uploads: a 64 MiB upload_file, completion rules, abort, part listings, part copy."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_upload_file_64_mib_and_download(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = os.urandom(64 * MIB)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    s3.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    parts = [hashlib.md5(data[i:i + 8 * MIB]).digest() for i in range(0, len(data), 8 * MIB)]
    assert head["ETag"] == f'"{hashlib.md5(b"".join(parts)).hexdigest()}-8"'
    assert head["ContentLength"] == len(data)
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target), Config=config)  # ranged GETs across part blobs
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    middle = s3.get_object(Bucket=bucket, Key="big.bin", Range=f"bytes={8 * MIB - 10}-{8 * MIB + 9}")
    assert middle["Body"].read() == data[8 * MIB - 10: 8 * MIB + 10]


def _upload(s3: Any, bucket: str, key: str, sizes: list[int]) -> tuple[str, list[dict[str, Any]], bytes]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/x-parts")["UploadId"]
    parts = []
    blob = b""
    for number, size in enumerate(sizes, start=1):
        body = os.urandom(size)
        blob += body
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    return upload_id, parts, blob


def test_completion_rules(s3: Any, bucket: str) -> None:
    upload_id, parts, _ = _upload(s3, bucket, "k", [1024, 1024])
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert _code(excinfo) == "EntityTooSmall"
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": list(reversed(parts))})
    assert _code(excinfo) == "InvalidPartOrder"
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert _code(excinfo) == "InvalidPart"
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId="nope", MultipartUpload={"Parts": parts})
    assert _code(excinfo) == "NoSuchUpload"
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert _code(excinfo) == "InvalidArgument"
    # A single small part is fine: the last part may be small.
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                       MultipartUpload={"Parts": parts[:1]})
    assert done["ETag"].endswith('-1"')
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == 1024


def test_complete_with_selected_parts_and_replaced_part(s3: Any, bucket: str) -> None:
    upload_id, parts, blob = _upload(s3, bucket, "sel", [5 * MIB, 5 * MIB, 100])
    replacement = os.urandom(5 * MIB)
    parts[1]["ETag"] = s3.upload_part(Bucket=bucket, Key="sel", UploadId=upload_id, PartNumber=2,
                                      Body=replacement)["ETag"]
    listed = s3.list_parts(Bucket=bucket, Key="sel", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2] and listed["IsTruncated"]
    rest = s3.list_parts(Bucket=bucket, Key="sel", UploadId=upload_id, PartNumberMarker=listed["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]
    s3.complete_multipart_upload(Bucket=bucket, Key="sel", UploadId=upload_id, MultipartUpload={"Parts": parts})
    got = s3.get_object(Bucket=bucket, Key="sel")
    assert got["ContentType"] == "text/x-parts"
    assert got["Body"].read() == blob[: 5 * MIB] + replacement + blob[10 * MIB:]
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="sel", UploadId=upload_id)
    assert _code(excinfo) == "NoSuchUpload"


def test_abort_and_list_uploads(s3: Any, bucket: str) -> None:
    first = s3.create_multipart_upload(Bucket=bucket, Key="dir/one")["UploadId"]
    second = s3.create_multipart_upload(Bucket=bucket, Key="two")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="two", UploadId=second, PartNumber=1, Body=b"x" * 100)
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert sorted(u["UploadId"] for u in listed["Uploads"]) == sorted([first, second])
    rolled = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["dir/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["two"]
    s3.abort_multipart_upload(Bucket=bucket, Key="two", UploadId=second)
    with pytest.raises(ClientError) as excinfo:
        s3.abort_multipart_upload(Bucket=bucket, Key="two", UploadId=second)
    assert _code(excinfo) == "NoSuchUpload"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [first]


def test_upload_part_copy_with_range(s3: Any, bucket: str) -> None:
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    one = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                              CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    two = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=2,
                              CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=100-199")
    parts = [{"PartNumber": 1, "ETag": one["CopyPartResult"]["ETag"]},
             {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source[: 5 * MIB] + source[100:200]


def test_composite_checksum(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="cs", ChecksumAlgorithm="SHA256")["UploadId"]
    bodies = [os.urandom(5 * MIB), os.urandom(10)]
    parts = []
    for number, body in enumerate(bodies, start=1):
        answer = s3.upload_part(Bucket=bucket, Key="cs", UploadId=upload_id, PartNumber=number, Body=body,
                                ChecksumAlgorithm="SHA256")
        assert answer["ChecksumSHA256"]
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="cs", UploadId=upload_id, MultipartUpload={"Parts": parts})
    import base64

    raw = b"".join(hashlib.sha256(b).digest() for b in bodies)
    assert done["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(raw).digest()).decode() + "-2"
