"""Buckets through boto3: create (naming and region rules), delete, head, list, location, versioning, addressing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.s3.conftest import empty_bucket, unique_bucket


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Upper-case", "bad..dots", "-leading", "trailing-", "192.168.1.1", "xn--punycode",
     "name-s3alias", "under_score", "dot-.dash"],
)
def test_invalid_bucket_names_are_refused(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert _code(excinfo) == "InvalidBucketName"


def test_create_head_list_location_delete(s3: Any) -> None:
    name = unique_bucket()
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    listed = []
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 5}):
        listed += [b["Name"] for b in page["Buckets"]]
        owner = page["Owner"]
    assert name in listed
    assert len(owner["ID"]) == 64
    # us-east-1 answers 200 to the owner's repeated create (legacy behaviour).
    s3.create_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=name)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=name)
    assert _code(excinfo) == "NoSuchBucket"


def test_regional_bucket_and_location_rules(server: Server) -> None:
    eu = server.client("s3", region_name="eu-west-1")
    name = unique_bucket()
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket=name)  # no constraint on a regional endpoint
    assert _code(excinfo) == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert _code(excinfo) == "IllegalLocationConstraintException"
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    try:
        assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        with pytest.raises(ClientError) as excinfo:
            eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert _code(excinfo) == "BucketAlreadyOwnedByYou"
    finally:
        eu.delete_bucket(Bucket=name)
    us = server.client("s3")
    with pytest.raises(ClientError) as excinfo:
        us.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert _code(excinfo) == "InvalidLocationConstraint"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bucket_not_empty_counts_versions_and_markers(s3: Any) -> None:
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.delete_object(Bucket=name, Key="k")  # only a delete marker and an old version remain
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=name)
    assert _code(excinfo) == "BucketNotEmpty"
    empty_bucket(s3, name)


def test_versioning_configuration(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Off"})
    assert _code(excinfo) == "MalformedXML"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_virtual_hosted_addressing(server: Server, bucket: str) -> None:
    """``<bucket>.localhost:port``: signed by botocore, sent with the Host header to 127.0.0.1."""
    port = server.endpoint.rsplit(":", 1)[1]
    host = f"{bucket}.localhost:{port}"
    credentials = Credentials(server.access_key_id, server.secret_access_key)
    put = AWSRequest("PUT", f"http://{host}/hello.txt", data=b"virtual", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(put)
    answer = httpx.put(f"{server.endpoint}/hello.txt", content=b"virtual", headers={**dict(put.headers.items()), "Host": host})
    assert answer.status_code == 200, answer.text
    get = AWSRequest("GET", f"http://{host}/hello.txt", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(get)
    answer = httpx.get(f"{server.endpoint}/hello.txt", headers={**dict(get.headers.items()), "Host": host})
    assert answer.status_code == 200 and answer.content == b"virtual"


def test_virtual_hosted_boto3_when_localhost_subdomains_resolve(server: Server, bucket: str) -> None:
    """boto3's own virtual addressing against http://localhost:port (needs *.localhost to resolve)."""
    import socket

    try:
        socket.getaddrinfo(f"{bucket}.localhost", 80)
    except socket.gaierror:
        pytest.skip("*.localhost does not resolve on this machine")
    endpoint = server.endpoint.replace("127.0.0.1", "localhost")
    client = server.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "virtual"}))
    client.put_object(Bucket=bucket, Key="v.txt", Body=b"v")
    assert client.get_object(Bucket=bucket, Key="v.txt")["Body"].read() == b"v"
