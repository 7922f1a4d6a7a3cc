"""ListObjects, ListObjectsV2: prefix, delimiter and CommonPrefixes, paging, StartAfter, encoding-type=url."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEYS = ["a.txt", "b/1", "b/2", "b/c/3", "c", "d/x/1", "d/y/2", "e+f g", "é/1", "z"]


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def _all_v2(s3: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str], int]:
    keys: list[str] = []
    prefixes: list[str] = []
    pages = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes, pages


def test_v2_lists_in_byte_order(s3: Any, filled: str) -> None:
    keys, prefixes, _ = _all_v2(s3, filled)
    assert keys == sorted(KEYS, key=lambda k: k.encode()) and prefixes == []


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_v2_delimiter_and_paging(s3: Any, filled: str, page_size: int) -> None:
    keys, prefixes, pages = _all_v2(s3, filled, Delimiter="/", PaginationConfig={"PageSize": page_size})
    assert keys == ["a.txt", "c", "e+f g", "z"]
    assert prefixes == ["b/", "d/", "é/"]
    assert pages == -(-7 // page_size)


def test_v2_prefix_with_delimiter(s3: Any, filled: str) -> None:
    keys, prefixes, _ = _all_v2(s3, filled, Prefix="b/", Delimiter="/")
    assert (keys, prefixes) == (["b/1", "b/2"], ["b/c/"])
    keys, prefixes, _ = _all_v2(s3, filled, Prefix="d/", Delimiter="/", PaginationConfig={"PageSize": 1})
    assert (keys, prefixes) == ([], ["d/x/", "d/y/"])


def test_v2_start_after_max_keys_and_key_count(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, StartAfter="b/2", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["b/c/3", "c"]
    assert page["IsTruncated"] and page["KeyCount"] == 2 and page["StartAfter"] == "b/2"
    rest = s3.list_objects_v2(Bucket=filled, ContinuationToken=page["NextContinuationToken"])
    assert rest["Contents"][0]["Key"] == "d/x/1"
    empty = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert empty["KeyCount"] == 0 and not empty["IsTruncated"]


def test_v2_encoding_type_url(s3: Any, filled: str) -> None:
    """Asked for explicitly, keys come encoded (botocore decodes only when it added the parameter itself)."""
    page = s3.list_objects_v2(Bucket=filled, EncodingType="url", Prefix="e")
    assert [o["Key"] for o in page["Contents"]] == ["e%2Bf%20g"]
    assert page["EncodingType"] == "url"


def test_bad_continuation_token(s3: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=filled, ContinuationToken="***")
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgument"


def test_v1_marker_paging(s3: Any, filled: str) -> None:
    keys: list[str] = []
    prefixes: list[str] = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=filled, Delimiter="/",
                                                         PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert all("Owner" in o for o in page.get("Contents", []))
    assert keys == ["a.txt", "c", "e+f g", "z"] and prefixes == ["b/", "d/", "é/"]
    page = s3.list_objects(Bucket=filled, Marker="c")
    assert page["Contents"][0]["Key"] == "d/x/1"
