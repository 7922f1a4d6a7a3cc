"""CloudTrail Insights tables (as created by migration 0016).

Insights compare each API's per-minute call and error counts with a baseline
learned over days. Rescanning days of ``ct_events`` every minute would cost
the history's size, so the job keeps its own per-minute counts
(``ct_insight_counts``, and per user, user agent and error code in
``ct_insight_attributions`` for the records' attributions), filled once from
the events added since its cursor (``ct_insight_cursor``). A baseline is then
an index range over one API's rows. ``ct_insight_scopes`` remembers since when
an (account, region, insight type) has been counted: no baseline before that.
``ct_insight_active`` holds the open Insights (a Start emitted, no End yet)
with the baseline frozen at their start, as AWS reports it on the End event.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

ATTRIBUTE_VALUE_MAX = 512  # long user agents are cut: they are attribution labels, not evidence


def _api_columns() -> list[Column]:
    """The (account, region, API) key every Insights table starts with."""
    return [
        Column("account_id", String(12), primary_key=True),
        Column("region", String(32), primary_key=True),
        Column("event_source", String(128), primary_key=True),
        Column("event_name", String(128), primary_key=True),
    ]


ct_insight_counts = Table(
    "ct_insight_counts",
    metadata,
    *_api_columns(),
    Column("minute_start", UtcDateTime(timezone=True), primary_key=True),
    Column("calls", Integer(), nullable=False),  # write management calls (ApiCallRateInsight)
    Column("errors", Integer(), nullable=False),  # management calls with an errorCode (ApiErrorRateInsight)
)
Index("ix_ct_insight_counts_minute", ct_insight_counts.c.minute_start)

ct_insight_attributions = Table(
    "ct_insight_attributions",
    metadata,
    *_api_columns(),
    Column("minute_start", UtcDateTime(timezone=True), primary_key=True),
    Column("attribute", String(32), primary_key=True),  # userIdentityArn | userAgent | errorCode
    Column("value", String(ATTRIBUTE_VALUE_MAX), primary_key=True),
    Column("calls", Integer(), nullable=False),
    Column("errors", Integer(), nullable=False),
)
Index("ix_ct_insight_attributions_minute", ct_insight_attributions.c.minute_start)

ct_insight_scopes = Table(
    "ct_insight_scopes",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("insight_type", String(32), primary_key=True),
    Column("since", UtcDateTime(timezone=True), nullable=False),  # first counted minute
)

ct_insight_active = Table(
    "ct_insight_active",
    metadata,
    *_api_columns(),
    Column("insight_type", String(32), primary_key=True),
    Column("shared_event_id", String(36), nullable=False),
    Column("started_at", UtcDateTime(timezone=True), nullable=False),  # first unusual minute
    Column("baseline_average", Float(), nullable=False),
    Column("baseline_stddev", Float(), nullable=False),
    Column("baseline_minutes", Integer(), nullable=False),
    Column("baseline_attributions", Text(), nullable=False),  # JSON, as the Start record gave it
    Column("insight_total", Integer(), nullable=False),  # calls or errors over the unusual minutes so far
    Column("insight_minutes", Integer(), nullable=False),
)

ct_insight_cursor = Table(
    "ct_insight_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigInteger(), nullable=False),  # ct_events.seq counted up to
    Column("analyzed_until", UtcDateTime(timezone=True), nullable=True),  # minutes before it are analyzed
)
