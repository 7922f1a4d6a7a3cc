"""CloudTrail history: ct_journal_cursors (how far each call journal has been stored).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ct_journal_cursors``: one row per call journal the history process reads."""
    op.create_table(
        "ct_journal_cursors",
        sa.Column("journal_id", sa.String(64), nullable=False),
        sa.Column("journal_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("journal_id", name="pk_ct_journal_cursors"),
    )


def downgrade() -> None:
    """Drop the table (the next start reads each journal from its end)."""
    op.drop_table("ct_journal_cursors")
