"""CloudTrail delivery: ct_log_files (filled by the delivery work).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ct_log_files``: log files taken from the outbox, until (and after) S3 has them."""
    op.create_table(
        "ct_log_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("trail_arn", sa.String(256), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("s3_key", sa.String(1024), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("oldest_event_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("newest_event_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ct_log_files"),
    )
    op.create_index("ix_ct_log_files_trail_delivered", "ct_log_files", ["trail_arn", "delivered_at"])
    op.create_index("ix_ct_log_files_delivered_id", "ct_log_files", ["delivered_at", "id"])


def downgrade() -> None:
    """Drop the table (undelivered log files are lost: only for a database without any)."""
    op.drop_index("ix_ct_log_files_delivered_id", table_name="ct_log_files")
    op.drop_index("ix_ct_log_files_trail_delivered", table_name="ct_log_files")
    op.drop_table("ct_log_files")
