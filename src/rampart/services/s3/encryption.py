"""Server-side encryption of objects: which key protects an object, and getting it back.

Every object is stored encrypted (as AWS does since 2023: SSE-S3 unless the
request or the bucket's default asks for SSE-KMS). Each object (or each
multipart upload) gets its own random 256-bit data key; the blob store
encrypts the bytes with it (``blobs``), and the object row keeps only the
data key *wrapped*, in an ``Envelope``:

- ``AES256`` (SSE-S3): wrapped under a key derived from the server's master
  key, bound to the bucket and key as additional data;
- ``aws:kms`` (SSE-KMS): a KMS data key, generated and decrypted through KMS
  for the caller, so the caller needs kms:GenerateDataKey to write and
  kms:Decrypt to read, checked against the key policy.

``choose_envelope`` decides for a write (request headers, then the bucket's
default encryption); ``open_envelope`` unwraps for a read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rampart.gateway.call import Call
from rampart.services.s3.store import Bucket

DATA_KEY_BYTES = 32
SSE_S3 = "AES256"
SSE_KMS = "aws:kms"


@dataclass(frozen=True, slots=True)
class Envelope:
    """How an object's data key is protected; stored with the object (JSON-able via ``to_json``)."""

    algorithm: str  # AES256 | aws:kms
    wrapped_key: bytes
    kms_key_arn: str | None = None
    bucket_key_enabled: bool = False
    context: dict[str, str] = field(default_factory=dict)  # the KMS encryption context used

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "algorithm": self.algorithm,
            "wrapped_key": self.wrapped_key.hex(),
            "kms_key_arn": self.kms_key_arn,
            "bucket_key_enabled": self.bucket_key_enabled,
            "context": self.context,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Envelope:
        """Back from the stored form."""
        return cls(
            value["algorithm"],
            bytes.fromhex(value["wrapped_key"]),
            value.get("kms_key_arn"),
            bool(value.get("bucket_key_enabled")),
            dict(value.get("context") or {}),
        )

    def response_headers(self) -> dict[str, Any]:
        """The output members S3 answers with (ServerSideEncryption, SSEKMSKeyId, BucketKeyEnabled)."""
        out: dict[str, Any] = {"ServerSideEncryption": self.algorithm}
        if self.algorithm == SSE_KMS:
            out["SSEKMSKeyId"] = self.kms_key_arn
            if self.bucket_key_enabled:
                out["BucketKeyEnabled"] = True
        return out


def _sse_s3_aad(bucket: str, key: str) -> bytes:
    return f"rampart/s3/sse-s3/{bucket}/{key}".encode()


def choose_envelope(call: Call, bucket: Bucket, key: str, params: dict[str, Any]) -> tuple[bytes, Envelope]:
    """A fresh data key and its envelope for writing ``key`` into ``bucket``.

    ``params`` are the operation's input (ServerSideEncryption, SSEKMSKeyId,
    SSEKMSEncryptionContext, BucketKeyEnabled of PutObject, CopyObject and
    CreateMultipartUpload). SSE-KMS and the bucket default come later; for
    now every object is SSE-S3.
    """
    data_key = os.urandom(DATA_KEY_BYTES)
    wrapped = call.gateway.accounts.master_key.encrypt(data_key, _sse_s3_aad(bucket.name, key))
    return data_key, Envelope(SSE_S3, wrapped)


def open_envelope(call: Call, bucket: Bucket, key: str, envelope: Envelope) -> bytes:
    """The data key of a stored object, for reading it (SSE-KMS: asks KMS as the caller)."""
    return call.gateway.accounts.master_key.decrypt(envelope.wrapped_key, _sse_s3_aad(bucket.name, key))
