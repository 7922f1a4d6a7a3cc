"""CloudTrail trails: ct_trails.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ct_trails."""
    op.create_table(
        "ct_trails",
        sa.Column("arn", sa.String(512), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("home_region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("prefix", sa.String(200), nullable=True),
        sa.Column("sns_topic", sa.String(256), nullable=True),
        sa.Column("include_global", sa.Boolean(), nullable=False),
        sa.Column("multi_region", sa.Boolean(), nullable=False),
        sa.Column("organization", sa.Boolean(), nullable=False),
        sa.Column("kms_key_id", sa.String(512), nullable=True),
        sa.Column("validation", sa.Boolean(), nullable=False),
        sa.Column("cw_log_group", sa.String(512), nullable=True),
        sa.Column("cw_role", sa.String(512), nullable=True),
        sa.Column("logging", sa.Boolean(), nullable=False),
        sa.Column("logging_started_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("selectors", sa.Text(), nullable=True),
        sa.Column("insights", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_ct_trails"),
        sa.UniqueConstraint("account_id", "home_region", "name", name="uq_ct_trails_account_region_name"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_ct_trails_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_ct_trails_account_id", "ct_trails", ["account_id"])


def downgrade() -> None:
    """Drop ct_trails."""
    op.drop_index("ix_ct_trails_account_id", table_name="ct_trails")
    op.drop_table("ct_trails")
