"""The throughput paths: hashing on a helper thread for long bodies, the cached bucket facts, streamed GETs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from rampart.services.s3 import blobs
from tests.conftest import Server, start_server
from tests.services.s3.test_access import other  # noqa: F401 - the second-account fixture
from tests.storage.pg import any_db_url, postgres_url  # noqa: F401 - fixtures

KEY = bytes(range(32))


@pytest.mark.parametrize("size", [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5 * (1 << 20) + 12345])
def test_hashes_match_whichever_thread_computes_them(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    md5, sha1 = hashlib.md5(usedforsecurity=False), hashlib.sha1(usedforsecurity=False)
    threads: set[str] = set()

    def record(piece: bytes) -> None:
        threads.add(threading.current_thread().name)
        sha1.update(piece)

    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(data), [md5.update, record])
    pending.commit()
    assert md5.hexdigest() == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert sha1.hexdigest() == hashlib.sha1(data, usedforsecurity=False).hexdigest()
    assert ("s3-blob-hash" in threads) == (size > 1 << 20)  # longer bodies hash beside the writer
    assert blobs.read_all(tmp_path, KEY, [blobs.BlobRef(pending.blob_id, size)], 0, size - 1) == data


def test_failing_observer_on_the_helper_thread_fails_the_write(tmp_path: Path) -> None:
    seen = [0]

    def explode(piece: bytes) -> None:
        seen[0] += len(piece)
        if seen[0] > 2 << 20:
            raise ValueError("observer failed")

    with pytest.raises(ValueError, match="observer failed"):
        blobs.write_blob(tmp_path, KEY, io.BytesIO(os.urandom(4 << 20)), [explode])
    assert not list((tmp_path / "tmp").iterdir())  # the temporary file is gone
    assert not [t for t in threading.enumerate() if t.name == "s3-blob-hash"]


def _name() -> str:
    return f"perf-{uuid.uuid4().hex[:20]}"


def test_policy_change_applies_to_the_next_call(server: Server, s3: Any,
                                                other: tuple[str, dict[str, str]]) -> None:  # noqa: F811
    """The bucket's access facts are cached: a new policy (and its removal) must still count at once."""
    other_account, credentials = other
    s3_other = server.client("s3", **credentials)
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    with pytest.raises(ClientError):
        s3_other.get_object(Bucket=bucket, Key="k")  # caches the facts without a policy
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other_account}:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert s3_other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as denied:
        s3_other.get_object(Bucket=bucket, Key="k")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_versioning_and_deletion_seen_at_once(s3: Any) -> None:
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    assert "VersionId" not in s3.get_object(Bucket=bucket, Key="k")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"two" and got["VersionId"] != "null"
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_object(Bucket=bucket, Key="k")
    assert gone.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as gone:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert gone.value.response["Error"]["Code"] == "NoSuchBucket"


def test_default_encryption_change_applies_to_the_next_put(server: Server, s3: Any) -> None:
    kms = server.client("kms")
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    assert s3.put_object(Bucket=bucket, Key="a", Body=b"x")["ServerSideEncryption"] == "AES256"
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]})
    assert s3.put_object(Bucket=bucket, Key="b", Body=b"x")["ServerSideEncryption"] == "aws:kms"


def test_large_streamed_get_is_whole(s3: Any) -> None:
    """A body above the in-memory limit streams with one piece read ahead: every byte, in order."""
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(5 * (1 << 20) + 777)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data
    partial = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1048000-3145800")["Body"].read()
    assert partial == data[1048000:3145801]


class _Payload(S3SigV4Auth):
    """botocore's S3 signer with a chosen x-amz-content-sha256 value."""

    def __init__(self, credentials: Credentials, declared: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self.declared = declared

    def payload(self, request: AWSRequest) -> str:
        return self.declared


def _raw_put(server: Server, path: str, body: bytes, declared: str) -> httpx.Response:
    url = f"{server.endpoint}{path}"
    request = AWSRequest("PUT", url, data=body, headers={"Content-Length": str(len(body))})
    _Payload(Credentials(server.access_key_id, server.secret_access_key), declared).add_auth(request)
    return httpx.put(url, content=body, headers=dict(request.headers.items()), timeout=60)


def test_spooled_uploads_check_a_declared_hash_and_skip_an_unsigned_one(server: Server, s3: Any) -> None:
    """Bodies over 1 MiB are spooled; the SHA-256 is computed only when the client declared one, and checked."""
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(3 * (1 << 20) + 5)
    right = hashlib.sha256(body).hexdigest()
    wrong = hashlib.sha256(body + b"x").hexdigest()
    refused = _raw_put(server, f"/{bucket}/wrong", body, wrong)
    assert refused.status_code == 400 and b"XAmzContentSHA256Mismatch" in refused.content
    assert _raw_put(server, f"/{bucket}/right", body, right).status_code == 200
    assert _raw_put(server, f"/{bucket}/unsigned", body, "UNSIGNED-PAYLOAD").status_code == 200
    for key in ("right", "unsigned"):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="wrong")


def test_other_workers_see_a_bucket_policy_change_at_once(any_db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Two worker processes on one database: each caches bucket facts for up to 2 s, yet a policy put or
    deleted through one is enforced by both well within that (the account generation is bumped)."""
    running = start_server(tmp_path / "data", args=["--database-url", any_db_url, "--workers", "2"])
    try:
        s3 = running.client("s3", config=Config(retries={"max_attempts": 1}))
        iam = running.client("iam")
        user = f"perf-{uuid.uuid4().hex[:12]}"
        arn = iam.create_user(UserName=user)["User"]["Arn"]
        key = iam.create_access_key(UserName=user)["AccessKey"]
        reader = running.client("s3", aws_access_key_id=key["AccessKeyId"],
                                aws_secret_access_key=key["SecretAccessKey"],
                                config=Config(retries={"max_attempts": 1}, max_pool_connections=16))
        bucket = _name()
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"data")

        def outcome(_: int) -> str:
            try:
                return reader.get_object(Bucket=bucket, Key="k")["Body"].read().decode()
            except ClientError as caught:
                return str(caught.response["Error"]["Code"])

        def outcomes() -> set[str]:
            with ThreadPoolExecutor(max_workers=8) as pool:
                return set(pool.map(outcome, range(32)))

        assert outcomes() == {"AccessDenied"}  # both workers now hold facts without a policy
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn},
                                                          "Action": "s3:GetObject",
                                                          "Resource": f"arn:aws:s3:::{bucket}/*"}]}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        time.sleep(0.5)
        assert outcomes() == {"data"}
        s3.delete_bucket_policy(Bucket=bucket)
        time.sleep(0.5)
        assert outcomes() == {"AccessDenied"}
    finally:
        running.stop()
