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

import base64
import binascii
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rampart.aws.errors import AccessDenied, AwsError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3.errors import InvalidArgument, MalformedXML
from rampart.services.s3.facts import bucket_facts
from rampart.services.s3.store import (
    Bucket,
    delete_config,
    get_config,
    put_config,
    require_bucket,
)

DATA_KEY_BYTES = 32
SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
SSE_KMS_DSSE = "aws:kms:dsse"
KMS_ALGORITHMS = (SSE_KMS, SSE_KMS_DSSE)
ALGORITHMS = (SSE_S3, *KMS_ALGORITHMS)
ENCRYPTION_KIND = "encryption"
CONTEXT_MESSAGE = ("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string "
                   "holding JSON which represents a string-string map")


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
        if self.algorithm in KMS_ALGORITHMS:
            out["SSEKMSKeyId"] = self.kms_key_arn
            if self.bucket_key_enabled:
                out["BucketKeyEnabled"] = True
        return out


def _sse_s3_aad(bucket: str, key: str) -> bytes:
    return f"rampart/s3/sse-s3/{bucket}/{key}".encode()


@dataclass(frozen=True, slots=True)
class Request:
    """What a write asks for, after the bucket default fills in what the request leaves out."""

    algorithm: str
    kms_key_id: str | None = None
    bucket_key: bool = False
    context: dict[str, str] = field(default_factory=dict)


def _bad(message: str, name: str, value: Any) -> AwsError:
    return InvalidArgument(message, fields={"ArgumentName": name, "ArgumentValue": str(value)[:256]})


def user_context(raw: Any) -> dict[str, str]:
    """SSEKMSEncryptionContext: base64 of a JSON object of strings, else InvalidArgument."""
    if raw in (None, ""):
        return {}
    try:
        value = orjson.loads(base64.b64decode(str(raw), validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad(CONTEXT_MESSAGE, "x-amz-server-side-encryption-context", raw)
    return value


def requested(rule_of: Callable[[], Mapping[str, Any]], params: Mapping[str, Any]) -> Request:
    """The encryption a write gets: the request's SSE members, else the bucket default (SSE-S3 when none).

    ``rule_of`` answers the bucket's default rule (``default_rule``), asked only when needed.
    """
    algorithm = params.get("ServerSideEncryption")
    key_id = params.get("SSEKMSKeyId")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise _bad("The encryption method specified is not supported", "x-amz-server-side-encryption", algorithm)
    if (key_id or params.get("SSEKMSEncryptionContext")) and algorithm not in KMS_ALGORITHMS:
        raise _bad("Server Side Encryption with AWS KMS managed key requires HTTP header "
                   "x-amz-server-side-encryption : aws:kms", "x-amz-server-side-encryption-aws-kms-key-id", key_id)
    context = user_context(params.get("SSEKMSEncryptionContext"))
    if algorithm is None:
        rule = rule_of()
        by_default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        algorithm = by_default.get("SSEAlgorithm") or SSE_S3
        key_id = by_default.get("KMSMasterKeyID") if algorithm in KMS_ALGORITHMS else None
        bucket_key = bool(rule.get("BucketKeyEnabled"))
    else:
        bucket_key = bool(params.get("BucketKeyEnabled"))
        if algorithm in KMS_ALGORITHMS and not key_id:
            # The bucket default's key is used when the request asks for SSE-KMS without naming one.
            by_default = rule_of().get("ApplyServerSideEncryptionByDefault") or {}
            key_id = by_default.get("KMSMasterKeyID") if by_default.get("SSEAlgorithm") in KMS_ALGORITHMS else None
    if algorithm == SSE_S3:
        return Request(SSE_S3)
    return Request(algorithm, key_id, bucket_key, context)


def default_rule(found: Any) -> Mapping[str, Any]:
    """The default encryption rule of a stored encryption document ({} when only the SSE-S3 base level applies)."""
    rules = found.get("Rules") if isinstance(found, Mapping) else None
    return rules[0] if rules and isinstance(rules[0], Mapping) else {}


def kms_context(bucket: Bucket, key: str, user: Mapping[str, str], bucket_key: bool) -> dict[str, str]:
    """The KMS encryption context S3 uses: the object's ARN (the bucket's with bucket keys) plus the caller's pairs."""
    arn = bucket.arn if bucket_key else f"{bucket.arn}/{key}"
    return {**user, "aws:s3:arn": arn}


def via_service(call: Call) -> str:
    """kms:ViaService of S3's calls to KMS in this region."""
    return f"s3.{call.region}.amazonaws.com"


def _kms_api() -> Any:
    try:
        return importlib.import_module("rampart.services.kms.api")
    except ImportError:
        raise AwsError("SSE-KMS needs the KMS service, which this server does not have.",
                       code="NotImplemented", status=501) from None


def kms_failure(caught: AwsError) -> AwsError:
    """A KMS error as S3 answers it: denial is S3's AccessDenied; others keep KMS's code, prefixed."""
    if caught.code in ("AccessDeniedException", "AccessDenied"):
        return AccessDenied(caught.message or "Access Denied")
    return AwsError(caught.message, code=f"KMS.{caught.code}", status=400)


def choose_envelope(call: Call, bucket: Bucket, key: str, params: dict[str, Any]) -> tuple[bytes, Envelope]:
    """A fresh data key and its envelope for writing ``key`` into ``bucket``.

    ``params`` are the operation's input (ServerSideEncryption, SSEKMSKeyId,
    SSEKMSEncryptionContext, BucketKeyEnabled of PutObject, CopyObject and
    CreateMultipartUpload); without them the bucket's default encryption
    applies. SSE-KMS asks KMS for the data key as the caller, so the caller
    needs kms:GenerateDataKey on the key.
    """
    def rule_of() -> Mapping[str, Any]:
        facts = bucket_facts(call, bucket.name)
        return default_rule(facts.document(ENCRYPTION_KIND) if facts is not None else None)

    wanted = requested(rule_of, params)
    if wanted.algorithm == SSE_S3:
        data_key = os.urandom(DATA_KEY_BYTES)
        wrapped = call.gateway.accounts.master_key.encrypt(data_key, _sse_s3_aad(bucket.name, key))
        return data_key, Envelope(SSE_S3, wrapped)
    context = kms_context(bucket, key, wanted.context, wanted.bucket_key)
    try:
        made = _kms_api().generate_data_key_for(call, wanted.kms_key_id, context, via_service(call))
    except AwsError as caught:
        raise kms_failure(caught) from None
    return made.plaintext, Envelope(wanted.algorithm, made.ciphertext_blob, made.key_arn, wanted.bucket_key, context)


def open_envelope(call: Call, bucket: Bucket, key: str, envelope: Envelope) -> bytes:
    """The data key of a stored object, for reading it (SSE-KMS: asks KMS as the caller, who needs kms:Decrypt)."""
    if envelope.algorithm not in KMS_ALGORITHMS:
        return call.gateway.accounts.master_key.decrypt(envelope.wrapped_key, _sse_s3_aad(bucket.name, key))
    try:
        return _kms_api().decrypt_data_key_for(call, envelope.wrapped_key, dict(envelope.context), via_service(call))
    except AwsError as caught:
        raise kms_failure(caught) from None


# --- default bucket encryption ------------------------------------------------------

_BASE_LEVEL = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": SSE_S3}, "BucketKeyEnabled": False}]}


def check_encryption_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A ServerSideEncryptionConfiguration as S3 accepts it: one rule, a known algorithm, a key only for KMS."""
    rules = config.get("Rules") or []
    by_default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if len(rules) == 1 else {}
    algorithm = by_default.get("SSEAlgorithm")
    if algorithm not in ALGORITHMS:
        raise MalformedXML()
    if by_default.get("KMSMasterKeyID") and algorithm not in KMS_ALGORITHMS:
        raise _bad("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                   "ApplyServerSideEncryptionByDefault", "KMSMasterKeyID")
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(by_default),
                            "BucketKeyEnabled": bool(rules[0].get("BucketKeyEnabled"))}
    return {"Rules": [rule]}


@handler("s3", "PutBucketEncryption")
def put_bucket_encryption(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set the default encryption of new objects."""
    config = check_encryption_config(params.get("ServerSideEncryptionConfiguration") or {})
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        put_config(session, bucket.name, ENCRYPTION_KIND, config)
    return {}


@handler("s3", "GetBucketEncryption")
def get_bucket_encryption(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The default encryption; SSE-S3 when none was set (every bucket has that base level since 2023)."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        found = get_config(conn, bucket.name, ENCRYPTION_KIND)
    return {"ServerSideEncryptionConfiguration": found or _BASE_LEVEL}


@handler("s3", "DeleteBucketEncryption")
def delete_bucket_encryption(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Back to the SSE-S3 base level."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        delete_config(session, bucket.name, ENCRYPTION_KIND)
    return {}
