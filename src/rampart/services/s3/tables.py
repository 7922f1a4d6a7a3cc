"""The S3 tables (as created by migrations 0008 and 0010).

Object keys compare byte-wise, as S3 lists them (UTF-8 binary order): SQLite's
default collation does that; PostgreSQL needs the "C" collation (``KEY_TYPE``).

Bucket names are one global namespace, as in AWS; everything else hangs off
the bucket. Bucket sub-resources (policy, ACL, public access block,
encryption, CORS, lifecycle, tagging, logging, ...) are one row each in
``s3_bucket_configs``, their document stored as the JSON of the operation's
input member, so a new sub-resource needs no migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

s3_buckets = Table(
    "s3_buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("region", String(32), nullable=False),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    # None until versioning is first configured; then "Enabled" or "Suspended".
    Column("versioning", String(16), nullable=True),
)

s3_bucket_configs = Table(
    "s3_bucket_configs",
    metadata,
    Column("bucket", String(63), ForeignKey("s3_buckets.name", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("document", Text(), nullable=False),
)

s3_account_configs = Table(
    "s3_account_configs",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("document", Text(), nullable=False),
)


# Object keys: up to 1024 bytes of UTF-8, ordered byte-wise on every backend.
KEY_TYPE = String(1024).with_variant(String(1024, collation="C"), "postgresql")

# Every version of every object (a never-versioned bucket has one per key, version "null").
s3_objects = Table(
    "s3_objects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
    Column("key", KEY_TYPE, nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("delete_marker", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("last_modified", UtcDateTime(timezone=True), nullable=False),
    Column("storage_class", String(32), nullable=False),
    Column("owner_id", String(12), nullable=False),
    Column("headers", Text(), nullable=True),  # JSON: ContentType, ContentEncoding, CacheControl, ...
    Column("metadata", Text(), nullable=True),  # JSON: user metadata (x-amz-meta-*)
    Column("checksum", Text(), nullable=True),  # JSON: {"algorithm", "value", "type"}
    Column("envelope", Text(), nullable=True),  # JSON: encryption.Envelope (None for delete markers)
    Column("blobs", Text(), nullable=True),  # JSON: [[blob id, size], ...] (several after multipart)
    Column("parts_count", Integer, nullable=True),
    Column("acl", Text(), nullable=True),  # JSON, owned by acl.py through store functions
    Column("tags", Text(), nullable=True),  # JSON: {"Key": "Value"}
    # Migration 0010: a small object's sealed blob (the blob file's exact bytes), stored with its row so its PUT
    # is one database commit; None when the bytes are in a blob file (or for delete markers).
    Column("inline_data", LargeBinary(), nullable=True),
    UniqueConstraint("bucket", "key", "version_id", name="uq_s3_objects_bucket_key_version"),
    Index("ix_s3_objects_bucket_key", "bucket", "key"),
)

# Every column but ``inline_data``: what listings read, so a page of 1000 small objects does not load their bytes.
OBJECT_METADATA_COLUMNS = tuple(c for c in s3_objects.c if c.name != "inline_data")

# Multipart uploads in progress.
s3_uploads = Table(
    "s3_uploads",
    metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
    Column("key", KEY_TYPE, nullable=False),
    Column("initiated_at", UtcDateTime(timezone=True), nullable=False),
    Column("initiator_arn", String(2048), nullable=True),
    Column("storage_class", String(32), nullable=False),
    Column("headers", Text(), nullable=True),
    Column("metadata", Text(), nullable=True),
    Column("envelope", Text(), nullable=False),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("checksum_type", String(16), nullable=True),
    Column("acl", Text(), nullable=True),
    Column("tags", Text(), nullable=True),
    Index("ix_s3_uploads_bucket_key", "bucket", "key"),
)

# Uploaded parts (each its own blob, encrypted under the upload's data key).
s3_parts = Table(
    "s3_parts",
    metadata,
    Column("upload_id", String(128), ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("etag", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("blob_id", String(64), nullable=False),
    Column("last_modified", UtcDateTime(timezone=True), nullable=False),
    Column("checksum", Text(), nullable=True),
)
