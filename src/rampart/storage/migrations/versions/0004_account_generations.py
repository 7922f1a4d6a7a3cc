"""Account generations: a counter per account that every permission-relevant change bumps.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``account_generations`` with a row for every existing account."""
    op.create_table(
        "account_generations",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_generations"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_account_generations_account_id_accounts",
            ondelete="CASCADE",
        ),
    )
    op.execute("INSERT INTO account_generations (account_id, generation) SELECT account_id, 0 FROM accounts")


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("account_generations")
