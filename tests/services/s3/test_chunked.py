"""aws-chunked uploads on the wire: signed chunks, unsigned chunks with a checksum trailer, tampering.

botocore sends aws-chunked only over HTTPS, so these build the requests as
an SDK does: botocore signs the headers (the seed signature), the chunks are
signed with the chained chunk signatures of SigV4 streaming.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import zlib
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from rampart.auth.chunked import ChunkSigner, encode_chunked
from tests.conftest import Server

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _signing_key(secret: str, date: str) -> bytes:
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(), "sha256")
    for part in ("us-east-1", "s3", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


class _DeclaredPayload(S3SigV4Auth):
    """botocore's signer, with the payload hash line set to a streaming declaration."""

    def __init__(self, credentials: Credentials, declared: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._declared = declared

    def payload(self, request: AWSRequest) -> str:
        return self._declared


def _signed_headers(server: Server, url: str, content_sha: str, extra: dict[str, str]) -> dict[str, str]:
    request = AWSRequest("PUT", url, headers=dict(extra))
    _DeclaredPayload(Credentials(server.access_key_id, server.secret_access_key), content_sha).add_auth(request)
    return dict(request.headers.items())


def _put_chunked(server: Server, bucket: str, key: str, body: bytes, *, tamper: bool = False) -> httpx.Response:
    url = f"{server.endpoint}/{bucket}/{key}"
    extra = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(body))}
    headers = _signed_headers(server, url, STREAMING, extra)
    amz_date = headers["X-Amz-Date"]
    seed = headers["Authorization"].rsplit("Signature=", 1)[1]
    signer = ChunkSigner(_signing_key(server.secret_access_key, amz_date[:8]), amz_date,
                         f"{amz_date[:8]}/us-east-1/s3/aws4_request", seed)
    encoded = bytearray(encode_chunked(body, 64 * 1024, signer))
    if tamper:
        encoded[len(encoded) // 2] ^= 0x01
    return httpx.put(url, content=bytes(encoded), headers=headers, timeout=60)


def test_signed_chunks_spooled_upload(server: Server, s3: Any, bucket: str) -> None:
    body = os.urandom(3 * 1024 * 1024 + 123)  # above the spooling threshold
    answer = _put_chunked(server, bucket, "signed", body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="signed")
    assert got["Body"].read() == body
    assert "ContentEncoding" not in got  # aws-chunked is transport only


def test_tampered_chunk_is_refused_and_nothing_stored(server: Server, s3: Any, bucket: str) -> None:
    answer = _put_chunked(server, bucket, "tampered", os.urandom(2 * 1024 * 1024), tamper=True)
    assert answer.status_code == 403 and b"SignatureDoesNotMatch" in answer.content
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("size", [1000, 2 * 1024 * 1024 + 5])
def test_unsigned_chunks_with_checksum_trailer(server: Server, s3: Any, bucket: str, size: int) -> None:
    body = os.urandom(size)
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    url = f"{server.endpoint}/{bucket}/trailer"
    extra = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(size),
             "X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Sdk-Checksum-Algorithm": "CRC32"}
    headers = _signed_headers(server, url, UNSIGNED_TRAILER, extra)
    answer = httpx.put(url, content=encode_chunked(body, 65536, None, (("x-amz-checksum-crc32", crc),)),
                       headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-amz-checksum-crc32"] == crc
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc and got["Body"].read() == body
    wrong = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    headers = _signed_headers(server, url + "2", UNSIGNED_TRAILER, extra)
    answer = httpx.put(url + "2", content=encode_chunked(body, 65536, None, (("x-amz-checksum-crc32", wrong),)),
                       headers=headers, timeout=60)
    assert answer.status_code == 400 and b"BadDigest" in answer.content
