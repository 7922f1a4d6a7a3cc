"""The S3 tables (as created by migration 0008).

Bucket names are one global namespace, as in AWS; everything else hangs off
the bucket. Bucket sub-resources (policy, ACL, public access block,
encryption, CORS, lifecycle, tagging, logging, ...) are one row each in
``s3_bucket_configs``, their document stored as the JSON of the operation's
input member, so a new sub-resource needs no migration.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text

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
