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


def downgrade() -> None:
    """Drop the tables."""
    for table in ("s3_account_configs", "s3_bucket_configs", "s3_buckets"):
        op.drop_table(table)
