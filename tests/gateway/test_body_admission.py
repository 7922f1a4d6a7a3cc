"""Large bodies are admitted only after the headers prove a signature; partial bodies never reach a handler.

A server with a small RAMPART_MAX_BODY_BYTES (2 MiB): signed uploads may go
past it (up to S3's 5 GiB), forged and anonymous ones may not, and they are
answered from the headers alone, before the client sends any of the body.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.config import Config

from tests.conftest import Server, start_server

MIB = 1024 * 1024
LIMIT = 2 * MIB


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("rampart-admission"), {"RAMPART_MAX_BODY_BYTES": str(LIMIT)})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def s3(small_server: Server) -> Any:
    return small_server.client("s3", config=Config(retries={"max_attempts": 1}, signature_version="s3v4",
                                                   s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    name = f"admission-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _connect(server: Server) -> socket.socket:
    parts = urlsplit(server.endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    return sock


def _head(server: Server, target: str, length: int, extra: str = "") -> bytes:
    netloc = urlsplit(server.endpoint).netloc
    return (f"PUT {target} HTTP/1.1\r\nHost: {netloc}\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def _answer_without_body(server: Server, target: str, length: int, extra: str = "") -> tuple[int, bytes]:
    """Send only the request head; the server must answer without waiting for the body."""
    with _connect(server) as sock:
        sock.sendall(_head(server, target, length, extra))
        received = b""
        try:
            while not _complete(received):
                more = sock.recv(65536)
                if not more:
                    break
                received += more
        except TimeoutError:
            pytest.fail(f"no answer before the body was sent (got {received[:200]!r})")
    status = int(received.split(b" ", 2)[1])
    return status, received


def _complete(received: bytes) -> bool:
    """Whether a whole response (head and Content-Length bytes of body) has arrived."""
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _presigned_target(s3: Any, bucket: str, key: str) -> str:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _spool_files(server: Server) -> list[Path]:
    tmp = server.data_dir / "tmp"
    return sorted(tmp.glob("req-*")) if tmp.exists() else []


def test_forged_signature_is_refused_before_the_body(small_server: Server, s3: Any, bucket: str) -> None:
    target = _presigned_target(s3, bucket, "forged.bin")
    forged = target[:-4] + ("0000" if not target.endswith("0000") else "1111")
    status, answer = _answer_without_body(small_server, forged, 100 * MIB)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in answer, answer.decode()


def test_anonymous_upload_keeps_the_normal_limit(small_server: Server, bucket: str) -> None:
    status, answer = _answer_without_body(small_server, f"/{bucket}/anonymous.bin", 3 * MIB)
    assert status == 413
    assert b"RequestEntityTooLarge" in answer


def test_unknown_key_is_refused_before_the_body(small_server: Server, bucket: str) -> None:
    s3 = small_server.client("s3", aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40,
                             config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    status, answer = _answer_without_body(small_server, _presigned_target(s3, bucket, "nokey.bin"), 100 * MIB)
    assert status == 403
    assert b"InvalidAccessKeyId" in answer


def test_signed_upload_passes_the_configured_limit(small_server: Server, s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * (12 * 1024)  # 3 MiB, over the 2 MiB configured limit
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == body
    assert _spool_files(small_server) == []


def test_non_upload_put_keeps_the_normal_limit(small_server: Server, s3: Any, bucket: str) -> None:
    """PutBucketTagging takes no streamed body: a signed 3 MiB document is still over the limit."""
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "k" * 100, "Value": "v" * 200}] * 9000})
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_disconnect_mid_body_stores_nothing(small_server: Server, s3: Any, bucket: str) -> None:
    """A presigned (UNSIGNED-PAYLOAD) PUT cut off halfway: no truncated object, no spool file left."""
    target = _presigned_target(s3, bucket, "cut.bin")
    with _connect(small_server) as sock:
        sock.sendall(_head(small_server, target, 4 * MIB))
        sock.sendall(b"x" * (3 * MIB))
        time.sleep(0.5)
    time.sleep(1.0)
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="cut.bin")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert _spool_files(small_server) == []


def test_disconnect_mid_small_body_stores_nothing(small_server: Server, s3: Any, bucket: str) -> None:
    """The same below the spool threshold (the body gathered in memory)."""
    target = _presigned_target(s3, bucket, "cut-small.bin")
    with _connect(small_server) as sock:
        sock.sendall(_head(small_server, target, 1000))
        sock.sendall(b"x" * 400)
        time.sleep(0.5)
    time.sleep(1.0)
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="cut-small.bin")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
