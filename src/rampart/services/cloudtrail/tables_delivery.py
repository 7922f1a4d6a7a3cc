"""The CloudTrail delivery table (as created by migration 0014).

``ct_log_files`` is the durable middle of delivery: the job first *takes*
events from the outbox into log file rows (one commit, so nothing is lost or
duplicated), then *uploads* each row to its trail's bucket. A row keeps its
gzip bytes until S3 has them, so a failed or interrupted PUT is retried with
the very same key and bytes. The digest work reads the delivered rows (key,
SHA-256 of the uncompressed JSON, oldest/newest event time) for its hourly
digest files.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

ct_log_files = Table(
    "ct_log_files",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("trail_arn", String(256), nullable=False),
    Column("account_id", String(12), nullable=False),  # the events' recipient account (the key path's)
    Column("region", String(32), nullable=False),
    Column("kind", String(8), nullable=False),  # log | insight
    Column("bucket", String(63), nullable=False),
    Column("s3_key", String(1024), nullable=False),
    Column("body", LargeBinary(), nullable=True),  # gzip bytes; NULL once delivered
    Column("sha256", String(64), nullable=False),  # hex SHA-256 of the uncompressed JSON
    Column("size", BigInteger(), nullable=False),  # bytes of the gzip object
    Column("oldest_event_time", UtcDateTime(timezone=True), nullable=False),
    Column("newest_event_time", UtcDateTime(timezone=True), nullable=False),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    Column("delivered_at", UtcDateTime(timezone=True), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("last_error", Text(), nullable=True),
    Index("ix_ct_log_files_trail_delivered", "trail_arn", "delivered_at"),
    Index("ix_ct_log_files_delivered_id", "delivered_at", "id"),
)
"""One CloudTrail log file: taken from the outbox, then PUT to the trail's bucket."""
