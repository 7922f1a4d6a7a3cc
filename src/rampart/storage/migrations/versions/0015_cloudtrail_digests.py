"""CloudTrail digests: ct_signing_keys, ct_digest_chains.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the signing key and digest chain tables."""
    op.create_table(
        "ct_signing_keys",
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("public_der", sa.LargeBinary(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("valid_from", UtcDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_ct_signing_keys"),
    )
    op.create_index("ix_ct_signing_keys_region", "ct_signing_keys", ["region"])
    op.create_table(
        "ct_digest_chains",
        sa.Column("trail_arn", sa.String(256), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("s3_key", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("hash_value", sa.String(64), nullable=False),
        sa.Column("end_time", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("trail_arn", "account_id", "region", name="pk_ct_digest_chains"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("ct_digest_chains")
    op.drop_index("ix_ct_signing_keys_region", table_name="ct_signing_keys")
    op.drop_table("ct_signing_keys")
