"""Fixtures of the S3 service tests: clients on the session's server and fresh buckets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from tests.conftest import Server


def unique_bucket(prefix: str = "rampart-test") -> str:
    """A bucket name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def s3(server: Server) -> Any:
    """A root S3 client (path-style) on the session's server."""
    return server.client("s3", config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


def empty_bucket(s3: Any, name: str) -> None:
    """Delete every version, delete marker and upload, then the bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=name):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    """A new empty bucket, removed (with its contents) after the test."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)


@pytest.fixture(scope="module")
def other_account(server: Server) -> tuple[str, dict[str, str]]:
    """A second account on the same server: its id and its root credentials (client keyword arguments)."""
    return server.new_account("s3-other")
