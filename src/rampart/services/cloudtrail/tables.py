"""The CloudTrail event history tables (as created by migration 0012).

``ct_events`` holds every recorded event (management, data and Insight): the
history LookupEvents reads and the source trail delivery writes log files
from. ``ct_outbox`` lists the events not yet delivered; a row is inserted in
the same transaction as its event and removed only by delivery, so a crash
between recording and delivering loses nothing. ``ct_event_resources`` makes
ResourceType and ResourceName lookups index range scans.

Every lookup index leads with (account_id, region, category) and ends with
(event_time, seq): an equality on the attribute then yields rows already in
LookupEvents' order (newest first), so a page costs its own size, not the
history's.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

# A rowid on SQLite (INTEGER PRIMARY KEY), a bigint identity elsewhere.
SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")
RESOURCE_NAME_MAX = 2048

ct_events = Table(
    "ct_events",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("account_id", String(12), nullable=False),  # the recipient account
    Column("region", String(32), nullable=False),
    Column("event_time", UtcDateTime(timezone=True), nullable=False),
    Column("event_source", String(128), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("read_only", Boolean(), nullable=False),
    Column("category", String(16), nullable=False),  # Management | Data | Insight
    Column("username", String(256), nullable=True),
    Column("access_key_id", String(32), nullable=True),
    Column("error_code", String(128), nullable=True),
    Column("body", Text(), nullable=False),  # the record's compact JSON
    # AUTOINCREMENT: a seq is never handed out twice, even after the newest rows were deleted.
    sqlite_autoincrement=True,
)

ct_event_resources = Table(
    "ct_event_resources",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
    Column("resource_type", String(128), primary_key=True),
    Column("resource_name", String(RESOURCE_NAME_MAX), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("category", String(16), nullable=False),  # the event's, so lookups skip data events in the index
    Column("event_time", UtcDateTime(timezone=True), nullable=False),
)

ct_outbox = Table(
    "ct_outbox",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
)

# (name, columns) of each index; the migration creates the same list.
EVENT_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ix_ct_events_time", ("account_id", "region", "category", "event_time", "seq")),
    ("ix_ct_events_name", ("account_id", "region", "category", "event_name", "event_time", "seq")),
    ("ix_ct_events_source", ("account_id", "region", "category", "event_source", "event_time", "seq")),
    ("ix_ct_events_read_only", ("account_id", "region", "category", "read_only", "event_time", "seq")),
    ("ix_ct_events_username", ("account_id", "region", "category", "username", "event_time", "seq")),
    ("ix_ct_events_access_key", ("account_id", "region", "category", "access_key_id", "event_time", "seq")),
    ("ix_ct_events_retention", ("category", "event_time")),
)
RESOURCE_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ix_ct_event_resources_type", ("account_id", "region", "category", "resource_type", "event_time", "seq")),
    ("ix_ct_event_resources_name", ("account_id", "region", "category", "resource_name", "event_time", "seq")),
)

for _name, _columns in EVENT_INDEXES:
    Index(_name, *(ct_events.c[column] for column in _columns))
for _name, _columns in RESOURCE_INDEXES:
    Index(_name, *(ct_event_resources.c[column] for column in _columns))

# How far the history has read each call journal (migration 0017): the byte offset of the first
# line not yet stored, moved in the same transaction as the events of the lines before it.
ct_journal_cursors = Table(
    "ct_journal_cursors",
    metadata,
    Column("journal_id", String(64), primary_key=True),
    Column("journal_offset", BigInteger(), nullable=False),
)
