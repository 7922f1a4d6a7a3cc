"""STS: temporary-credential sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rampart.storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``sts_sessions``: temporary access key id -> sealed session token."""
    op.create_table(
        "sts_sessions",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("session_token", sa.Text(), nullable=False),
        sa.Column("issued_at", rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_sts_sessions"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_sts_sessions_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_sts_sessions_expires_at", "sts_sessions", ["expires_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_sts_sessions_expires_at", table_name="sts_sessions")
    op.drop_table("sts_sessions")
