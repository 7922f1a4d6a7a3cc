"""CloudTrail Insights: per-minute call counts and insight state.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_API = ("account_id", "region", "event_source", "event_name")


def _api_columns() -> list[sa.Column]:
    return [
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
    ]


def upgrade() -> None:
    """Create the Insights counts, attributions, scopes, open insights and the job's cursor."""
    op.create_table(
        "ct_insight_counts",
        *_api_columns(),
        sa.Column("minute_start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_API, "minute_start", name="pk_ct_insight_counts"),
    )
    op.create_index("ix_ct_insight_counts_minute", "ct_insight_counts", ["minute_start"])
    op.create_table(
        "ct_insight_attributions",
        *_api_columns(),
        sa.Column("minute_start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("attribute", sa.String(32), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_API, "minute_start", "attribute", "value", name="pk_ct_insight_attributions"),
    )
    op.create_index("ix_ct_insight_attributions_minute", "ct_insight_attributions", ["minute_start"])
    op.create_table(
        "ct_insight_scopes",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("insight_type", sa.String(32), nullable=False),
        sa.Column("since", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", "insight_type", name="pk_ct_insight_scopes"),
    )
    op.create_table(
        "ct_insight_active",
        *_api_columns(),
        sa.Column("insight_type", sa.String(32), nullable=False),
        sa.Column("shared_event_id", sa.String(36), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("baseline_average", sa.Float(), nullable=False),
        sa.Column("baseline_stddev", sa.Float(), nullable=False),
        sa.Column("baseline_minutes", sa.Integer(), nullable=False),
        sa.Column("baseline_attributions", sa.Text(), nullable=False),
        sa.Column("insight_total", sa.Integer(), nullable=False),
        sa.Column("insight_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_API, "insight_type", name="pk_ct_insight_active"),
    )
    op.create_table(
        "ct_insight_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("analyzed_until", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_ct_insight_cursor"),
    )


def downgrade() -> None:
    """Drop the Insights tables."""
    for table in ("ct_insight_cursor", "ct_insight_active", "ct_insight_scopes"):
        op.drop_table(table)
    op.drop_index("ix_ct_insight_attributions_minute", table_name="ct_insight_attributions")
    op.drop_table("ct_insight_attributions")
    op.drop_index("ix_ct_insight_counts_minute", table_name="ct_insight_counts")
    op.drop_table("ct_insight_counts")
