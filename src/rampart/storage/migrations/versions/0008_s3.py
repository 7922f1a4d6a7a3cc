"""S3: buckets, objects, versions, multipart uploads, bucket configuration.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the bucket tables (objects, versions and uploads follow below)."""
    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("versioning", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_s3_buckets"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_s3_buckets_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_s3_buckets_account_id", "s3_buckets", ["account_id"])
    op.create_table(
        "s3_bucket_configs",
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "kind", name="pk_s3_bucket_configs"),
        sa.ForeignKeyConstraint(
            ["bucket"], ["s3_buckets.name"], name="fk_s3_bucket_configs_bucket_s3_buckets", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "s3_account_configs",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "kind", name="pk_s3_account_configs"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_s3_account_configs_account_id_accounts",
            ondelete="CASCADE",
        ),
    )


    _create_object_tables()


def _key_type() -> sa.types.TypeEngine:
    """Object keys order byte-wise: PostgreSQL needs the C collation (SQLite's default does it)."""
    return sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def _create_object_tables() -> None:
    """Object versions, multipart uploads and their parts."""
    op.create_table(
        "s3_objects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", _key_type(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("delete_marker", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("last_modified", UtcDateTime(timezone=True), nullable=False),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(12), nullable=False),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("checksum", sa.Text(), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=True),
        sa.Column("blobs", sa.Text(), nullable=True),
        sa.Column("parts_count", sa.Integer(), nullable=True),
        sa.Column("acl", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_s3_objects"),
        sa.UniqueConstraint("bucket", "key", "version_id", name="uq_s3_objects_bucket_key_version"),
        sa.ForeignKeyConstraint(
            ["bucket"], ["s3_buckets.name"], name="fk_s3_objects_bucket_s3_buckets", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_s3_objects_bucket_key", "s3_objects", ["bucket", "key"])
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", _key_type(), nullable=False),
        sa.Column("initiated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("initiator_arn", sa.String(2048), nullable=True),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.Column("checksum_type", sa.String(16), nullable=True),
        sa.Column("acl", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("upload_id", name="pk_s3_uploads"),
        sa.ForeignKeyConstraint(
            ["bucket"], ["s3_buckets.name"], name="fk_s3_uploads_bucket_s3_buckets", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_s3_uploads_bucket_key", "s3_uploads", ["bucket", "key"])
    op.create_table(
        "s3_parts",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_id", sa.String(64), nullable=False),
        sa.Column("last_modified", UtcDateTime(timezone=True), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name="pk_s3_parts"),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["s3_uploads.upload_id"], name="fk_s3_parts_upload_id_s3_uploads", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("s3_parts", "s3_uploads", "s3_objects", "s3_account_configs", "s3_bucket_configs", "s3_buckets"):
        op.drop_table(table)
