"""KMS: keys, key material, aliases, grants.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("key_spec", sa.String(32), nullable=False),
        sa.Column("key_usage", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("manager", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("deletion_date", UtcDateTime(timezone=True), nullable=True),
        sa.Column("pending_window_days", sa.Integer(), nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("rotation_days", sa.Integer(), nullable=True),
        sa.Column("next_rotation_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_keys"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_kms_keys_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_kms_keys_account_id", "kms_keys", ["account_id"])
    op.create_table(
        "kms_key_materials",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("rotation_type", sa.String(16), nullable=True),
        sa.Column("material", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_kms_key_materials"),
        sa.ForeignKeyConstraint(
            ["key_id"], ["kms_keys.key_id"], name="fk_kms_key_materials_key_id_kms_keys", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "kms_aliases",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", "name", name="pk_kms_aliases"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_kms_aliases_account_id_accounts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["kms_keys.key_id"], name="fk_kms_aliases_key_id_kms_keys", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_kms_aliases_key_id", "kms_aliases", ["key_id"])
    op.create_table(
        "kms_grants",
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("grantee", sa.String(256), nullable=False),
        sa.Column("retiring", sa.String(256), nullable=True),
        sa.Column("issuing_account", sa.String(256), nullable=False),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.Column("constraints", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", name="pk_kms_grants"),
        sa.ForeignKeyConstraint(
            ["key_id"], ["kms_keys.key_id"], name="fk_kms_grants_key_id_kms_keys", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("token_hash", name="uq_kms_grants_token_hash"),
    )
    op.create_index("ix_kms_grants_key_id", "kms_grants", ["key_id"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("kms_grants")
    op.drop_table("kms_aliases")
    op.drop_table("kms_key_materials")
    op.drop_table("kms_keys")
