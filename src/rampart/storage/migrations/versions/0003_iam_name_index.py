"""IAM: index entities by case-folded name (IAM finds names without regard to case).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the expression index on (account_id, kind, lower(name))."""
    op.create_index(
        "ix_iam_entities_name_folded", "iam_entities", ["account_id", "kind", sa.text("lower(name)")]
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_iam_entities_name_folded", table_name="iam_entities")
