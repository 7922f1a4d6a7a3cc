"""The trails table (as created by migration 0013).

One row per trail, keyed by its ARN (which carries account, home region and
name). Selectors, insight selectors, tags and the GetTrailStatus fields are
small JSON documents: they are read and written whole, never queried into.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

ct_trails = Table(
    "ct_trails",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("home_region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("bucket", String(63), nullable=False),
    Column("prefix", String(200), nullable=True),
    Column("sns_topic", String(256), nullable=True),
    Column("include_global", Boolean(), nullable=False),
    Column("multi_region", Boolean(), nullable=False),
    Column("organization", Boolean(), nullable=False),
    Column("kms_key_id", String(512), nullable=True),
    Column("validation", Boolean(), nullable=False),
    Column("cw_log_group", String(512), nullable=True),
    Column("cw_role", String(512), nullable=True),
    Column("logging", Boolean(), nullable=False),
    Column("logging_started_at", UtcDateTime(timezone=True), nullable=True),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    Column("selectors", Text(), nullable=True),  # JSON {"EventSelectors": [...]} | {"AdvancedEventSelectors": [...]}
    Column("insights", Text(), nullable=False),  # JSON list of InsightSelector
    Column("tags", Text(), nullable=False),  # JSON object Key -> Value
    Column("status", Text(), nullable=False),  # JSON object: GetTrailStatus members as strings
    UniqueConstraint("account_id", "home_region", "name", name="uq_ct_trails_account_region_name"),
)
