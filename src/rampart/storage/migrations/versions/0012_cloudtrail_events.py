"""CloudTrail event history: ct_events, ct_event_resources, ct_outbox.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rampart.storage.types import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Frozen copies of services/cloudtrail/tables.py's index lists (a migration never imports live code that may change).
_EVENT_INDEXES = (
    ("ix_ct_events_time", ("account_id", "region", "category", "event_time", "seq")),
    ("ix_ct_events_name", ("account_id", "region", "category", "event_name", "event_time", "seq")),
    ("ix_ct_events_source", ("account_id", "region", "category", "event_source", "event_time", "seq")),
    ("ix_ct_events_read_only", ("account_id", "region", "category", "read_only", "event_time", "seq")),
    ("ix_ct_events_username", ("account_id", "region", "category", "username", "event_time", "seq")),
    ("ix_ct_events_access_key", ("account_id", "region", "category", "access_key_id", "event_time", "seq")),
    ("ix_ct_events_retention", ("category", "event_time")),
)
_RESOURCE_INDEXES = (
    ("ix_ct_event_resources_type", ("account_id", "region", "category", "resource_type", "event_time", "seq")),
    ("ix_ct_event_resources_name", ("account_id", "region", "category", "resource_name", "event_time", "seq")),
)


def upgrade() -> None:
    """Create the events, their resources and the delivery outbox, with the lookup indexes."""
    op.create_table(
        "ct_events",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("event_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("access_key_id", sa.String(32), nullable=True),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ct_events"),
        sa.UniqueConstraint("event_id", name="uq_ct_events_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ct_event_resources",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_name", sa.String(2048), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("event_time", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", "resource_type", "resource_name", name="pk_ct_event_resources"),
    )
    op.create_table(
        "ct_outbox",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ct_outbox"),
    )
    for name, columns in _EVENT_INDEXES:
        op.create_index(name, "ct_events", list(columns))
    for name, columns in _RESOURCE_INDEXES:
        op.create_index(name, "ct_event_resources", list(columns))


def downgrade() -> None:
    """Drop the tables (their indexes go with them)."""
    op.drop_table("ct_outbox")
    op.drop_table("ct_event_resources")
    op.drop_table("ct_events")
