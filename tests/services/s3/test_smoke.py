"""First end-to-end check: put, get, list, delete."""

from __future__ import annotations

from typing import Any


def test_put_get_list_delete(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello world", Metadata={"Colour": "blue"})
    got = s3.get_object(Bucket=bucket, Key="a/b.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ETag"] == put["ETag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    assert got["Metadata"] == {"colour": "blue"}
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["a/b.txt"]
    s3.delete_object(Bucket=bucket, Key="a/b.txt")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
