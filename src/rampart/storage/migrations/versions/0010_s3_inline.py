"""S3: small objects' sealed bytes inline on their version row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``s3_objects.inline_data`` (nullable: existing objects keep their blob files)."""
    with op.batch_alter_table("s3_objects") as batch:
        batch.add_column(sa.Column("inline_data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the column (inline objects lose their bytes: only for a database without any)."""
    with op.batch_alter_table("s3_objects") as batch:
        batch.drop_column("inline_data")
