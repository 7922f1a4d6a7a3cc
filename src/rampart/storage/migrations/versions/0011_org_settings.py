"""Organizations: per-organization settings (closed accounts, delegated administrators, trusted services).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``org_settings``: one JSON document per organization."""
    op.create_table(
        "org_settings",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_settings"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_organizations.org_id"], name="fk_org_settings_org_id_org_organizations",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("org_settings")
