"""Organizations: organizations, OUs, accounts, policies, handshakes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["org_id"], ["org_organizations.org_id"],
                                   name=f"fk_{table}_org_id_org_organizations", ondelete="CASCADE")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                   name=f"fk_{table}_account_id_accounts", ondelete="CASCADE")


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "org_organizations",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("management_account_id", sa.String(12), nullable=False),
        sa.Column("root_id", sa.String(34), nullable=False),
        sa.Column("feature_set", sa.String(32), nullable=False),
        sa.Column("policy_types", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_organizations"),
        sa.UniqueConstraint("management_account_id", name="uq_org_organizations_management_account_id"),
        sa.ForeignKeyConstraint(["management_account_id"], ["accounts.account_id"],
                                name="fk_org_organizations_management_account_id_accounts", ondelete="CASCADE"),
    )
    op.create_table(
        "org_accounts",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("parent_id", sa.String(100), nullable=False),
        sa.Column("email", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("joined_method", sa.String(16), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_org_accounts"),
        _account_fk("org_accounts"),
        _org_fk("org_accounts"),
    )
    op.create_index("ix_org_accounts_org_id", "org_accounts", ["org_id"])
    op.create_table(
        "org_units",
        sa.Column("ou_id", sa.String(68), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("parent_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("ou_id", name="pk_org_units"),
        _org_fk("org_units"),
    )
    op.create_index("ix_org_units_org_id", "org_units", ["org_id"])
    op.create_table(
        "org_policies",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("policy_id", sa.String(130), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(512), nullable=False),
        sa.Column("policy_type", sa.String(40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("aws_managed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "policy_id", name="pk_org_policies"),
        _org_fk("org_policies"),
    )
    op.create_table(
        "org_attachments",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("policy_id", sa.String(130), nullable=False),
        sa.Column("target_id", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "policy_id", "target_id", name="pk_org_attachments"),
        _org_fk("org_attachments"),
    )
    op.create_index("ix_org_attachments_target", "org_attachments", ["org_id", "target_id"])
    op.create_table(
        "org_handshakes",
        sa.Column("handshake_id", sa.String(34), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("target_account_id", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("handshake_id", name="pk_org_handshakes"),
        _org_fk("org_handshakes"),
    )
    op.create_index("ix_org_handshakes_target", "org_handshakes", ["target_account_id"])
    op.create_table(
        "org_create_status",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("account_name", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("failure_reason", sa.String(64), nullable=True),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_org_create_status"),
        _org_fk("org_create_status"),
    )
    op.create_table(
        "org_tags",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("resource_id", sa.String(130), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "resource_id", name="pk_org_tags"),
        _org_fk("org_tags"),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("org_tags")
    op.drop_table("org_create_status")
    op.drop_index("ix_org_handshakes_target", table_name="org_handshakes")
    op.drop_table("org_handshakes")
    op.drop_index("ix_org_attachments_target", table_name="org_attachments")
    op.drop_table("org_attachments")
    op.drop_table("org_policies")
    op.drop_index("ix_org_units_org_id", table_name="org_units")
    op.drop_table("org_units")
    op.drop_index("ix_org_accounts_org_id", table_name="org_accounts")
    op.drop_table("org_accounts")
    op.drop_table("org_organizations")
