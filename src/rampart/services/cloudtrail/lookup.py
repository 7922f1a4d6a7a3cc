"""LookupEvents: the last 90 days of an account's management (or Insight) events in one region.

Every query is one index range scan: the lookup indexes (see ``tables``)
lead with (account, region, category, attribute) and end with
(event_time, seq), so rows come out newest first and a page stops after
MaxResults + 1 rows. The NextToken (``tokens``) carries the position of the
page's last event, bound to the query; anything else is InvalidNextTokenException.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select, tuple_

from rampart.gateway import registry
from rampart.gateway.call import Call
from rampart.services.cloudtrail import tokens
from rampart.services.cloudtrail.errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
)
from rampart.services.cloudtrail.history import RETENTION
from rampart.services.cloudtrail.tables import ct_event_resources, ct_events

DEFAULT_MAX_RESULTS = 50
EVENT_COLUMNS = {
    "EventName": "event_name",
    "EventSource": "event_source",
    "Username": "username",
    "AccessKeyId": "access_key_id",
    "ReadOnly": "read_only",
}
RESOURCE_COLUMNS = {"ResourceType": "resource_type", "ResourceName": "resource_name"}
INSIGHT_KEYS = frozenset({"EventId", "EventName", "EventSource"})
_TOKEN_VERSION = 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Query:
    """One LookupEvents question, already checked; ``key``/``value`` is the lookup attribute, if any."""

    account_id: str
    region: str
    category: str
    key: str | None
    value: str | None
    start: dt.datetime | None
    end: dt.datetime | None

    def scope(self) -> list[Any]:
        """What a NextToken must have been issued for: every input but the page size."""
        return ["LookupEvents", _TOKEN_VERSION, self.account_id, self.region, self.category, self.key, self.value,
                self.start.isoformat() if self.start else None, self.end.isoformat() if self.end else None]


Position = tuple[dt.datetime, int]


# --- input ---------------------------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_query(params: dict[str, Any], account_id: str, region: str) -> Query:
    """The question LookupEvents' input asks, or the AWS error for input it refuses."""
    category = params.get("EventCategory")
    if category is not None and category != "insight":
        raise InvalidEventCategoryException(f"Event category {category} is not valid.")
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute.")
    key = value = None
    if attributes:
        key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
        if category == "insight" and key not in INSIGHT_KEYS:
            raise InvalidLookupAttributesException(
                f"Lookup attribute {key} is not supported for Insights events; use EventId, EventName or EventSource."
            )
    start, end = _aware(params.get("StartTime")), _aware(params.get("EndTime"))
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException("Start time must be less than or equal to end time.")
    return Query(account_id, region, "Insight" if category == "insight" else "Management", key, value, start, end)


def max_results(params: dict[str, Any]) -> int:
    """MaxResults, 1 to 50, 50 when absent."""
    value = params.get("MaxResults")
    if value is None:
        return DEFAULT_MAX_RESULTS
    if not 1 <= value <= DEFAULT_MAX_RESULTS:
        raise InvalidMaxResultsException(f"Value {value} for MaxResults is invalid. It must be between 1 and 50.")
    return int(value)


# --- tokens --------------------------------------------------------------------------


def encode_token(query: Query, position: Position) -> str:
    """The opaque NextToken for the page after ``position`` of ``query``."""
    time, seq = position
    return tokens.seal(query.scope(), [(time - _EPOCH) // dt.timedelta(microseconds=1), seq])


def decode_token(query: Query, token: str) -> Position:
    """The position a token stands for; InvalidNextTokenException unless it was issued for this query."""
    invalid = InvalidNextTokenException("Invalid NextToken.")
    found = tokens.unseal(query.scope(), token)
    if found is None or len(found) != 2 or not all(type(value) is int for value in found):
        raise invalid
    micros, seq = found
    try:
        return _EPOCH + dt.timedelta(microseconds=micros), seq
    except OverflowError as exc:
        raise invalid from exc


# --- querying ------------------------------------------------------------------------


def _scope(table: Any, query: Query, now: dt.datetime, after: Position | None) -> list[Any]:
    """The conditions every lookup shares: account, region, category, the time window, the page position."""
    conditions = [table.c.account_id == query.account_id, table.c.region == query.region,
                  table.c.category == query.category, table.c.event_time >= _window_start(query, now)]
    if query.end is not None:
        conditions.append(table.c.event_time <= query.end)
    if after is not None:
        conditions.append(tuple_(table.c.event_time, table.c.seq) < tuple_(*after))
    return conditions


def _window_start(query: Query, now: dt.datetime) -> dt.datetime:
    """The oldest time asked about: StartTime, but never more than 90 days back."""
    oldest = now - RETENTION
    return oldest if query.start is None else max(query.start, oldest)


def _newest_first(table: Any, conditions: list[Any], limit: int) -> Select[Any]:
    return (select(table.c.seq, table.c.event_time).where(*conditions)
            .order_by(table.c.event_time.desc(), table.c.seq.desc()).limit(limit))


def _event_positions(connection: Connection, query: Query, now: dt.datetime, after: Position | None,
                     limit: int) -> list[Position]:
    conditions = _scope(ct_events, query, now, after)
    if query.key == "EventId":
        conditions.append(ct_events.c.event_id == query.value)
    elif query.key == "ReadOnly":
        flag = (query.value or "").lower()
        if flag not in ("true", "false"):
            return []
        conditions.append(ct_events.c.read_only == (flag == "true"))
    elif query.key is not None:
        conditions.append(ct_events.c[EVENT_COLUMNS[query.key]] == query.value)
    return [(row.event_time, row.seq) for row in connection.execute(_newest_first(ct_events, conditions, limit))]


def _resource_positions(connection: Connection, query: Query, now: dt.datetime, after: Position | None,
                        limit: int) -> list[Position]:
    """Events with a matching resource; an event with several matches appears once (they are adjacent)."""
    column = ct_event_resources.c[RESOURCE_COLUMNS[query.key or ""]]
    found: list[Position] = []
    while len(found) < limit:
        fetch = (limit - len(found)) * 2
        conditions = [*_scope(ct_event_resources, query, now, after), column == query.value]
        rows = connection.execute(_newest_first(ct_event_resources, conditions, fetch)).all()
        for row in rows:
            if not found or found[-1][1] != row.seq:
                found.append((row.event_time, row.seq))
        if len(rows) < fetch:
            break
        after = found[-1]
    return found[:limit]


def find_events(connection: Connection, query: Query, now: dt.datetime, after: Position | None,
                limit: int) -> tuple[list[dict[str, Any]], Position | None]:
    """One page of events (newest first) and the position to continue after, None when no more."""
    positions = (_resource_positions if query.key in RESOURCE_COLUMNS else _event_positions)(
        connection, query, now, after, limit + 1)
    more = len(positions) > limit
    positions = positions[:limit]
    seqs = [seq for _, seq in positions]
    if not seqs:
        return [], None
    rows = {row.seq: row for row in connection.execute(select(ct_events).where(ct_events.c.seq.in_(seqs)))}
    resources: dict[int, list[dict[str, str]]] = {}
    resource_rows = connection.execute(
        select(ct_event_resources.c.seq, ct_event_resources.c.resource_type, ct_event_resources.c.resource_name)
        .where(ct_event_resources.c.seq.in_(seqs))
    )
    for seq, kind, name in resource_rows:
        resources.setdefault(seq, []).append({"ResourceType": kind, "ResourceName": name})
    events = [_event_out(rows[seq], resources.get(seq, [])) for seq in seqs if seq in rows]
    return events, (positions[-1] if more else None)


def _event_out(row: Any, resources: list[dict[str, str]]) -> dict[str, Any]:
    out = {
        "EventId": row.event_id, "EventName": row.event_name, "ReadOnly": "true" if row.read_only else "false",
        "AccessKeyId": row.access_key_id, "EventTime": row.event_time, "EventSource": row.event_source,
        "Username": row.username, "Resources": resources, "CloudTrailEvent": row.body,
    }
    return {key: value for key, value in out.items() if value is not None}


@registry.handler("cloudtrail", "LookupEvents")
def lookup_events(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """LookupEvents over the caller's account and the call's region, after every earlier call is stored."""
    query = parse_query(params, call.account_id or "", call.region)
    limit = max_results(params)
    after = decode_token(query, params["NextToken"]) if params.get("NextToken") else None
    call.gateway.flush_records()  # a client sees its own calls at once (cheap when the writer is idle)
    with call.gateway.db.read() as connection:
        events, last = find_events(connection, query, call.gateway.clock.now(), after, limit)
    out: dict[str, Any] = {"Events": events}
    if last is not None:
        out["NextToken"] = encode_token(query, last)
    return out
