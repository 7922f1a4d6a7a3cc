"""Scheduled jobs: leases so each due job runs once across processes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``scheduled_jobs``: when each job runs next, and who holds it now."""
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("next_run_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_scheduled_jobs"),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("scheduled_jobs")
