"""CloudTrail Insights: learn each API's call and error rates, emit Start/End events when they depart.

The ``cloudtrail.insights`` job runs every minute in three steps:

1. count: the management events added to ``ct_events`` since its cursor (a
   seq range on the primary key) are counted per API and minute into
   ``ct_insight_counts`` (and per user, user agent and error code into
   ``ct_insight_attributions``) when a logging trail with insight selectors
   takes them: write calls for ApiCallRateInsight, calls with an errorCode for
   ApiErrorRateInsight. Each batch commits with its cursor: counted once.
2. analyze: every complete minute since the last analyzed one is compared with
   each API's baseline (``insights_model``); a departure opens an insight (a
   Start record), the first minute back to normal closes it (an End record
   with the same sharedEventID).
3. record: the records go into the history through ``history.append_events``
   (category Insight), so LookupEvents(EventCategory=insight) shows them and
   delivery writes them to the trails that select them. Their IDs are derived
   from the insight, so a round repeated after a crash adds nothing twice.

With no trail asking for Insights the job only moves its cursor to the newest
event: one primary-key lookup a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rampart import jobs
from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail import history
from rampart.services.cloudtrail.insights_model import (
    CALL_RATE,
    ERROR_RATE,
    NO_ERROR,
    Baseline,
    InsightConfig,
    InsightKey,
    InsightRecord,
    attributions,
    baseline_attributions,
    ends,
    starts,
)
from rampart.services.cloudtrail.tables import ct_events
from rampart.services.cloudtrail.tables_insights import (
    ATTRIBUTE_VALUE_MAX,
    ct_insight_active,
    ct_insight_attributions,
    ct_insight_counts,
    ct_insight_cursor,
    ct_insight_scopes,
)
from rampart.services.cloudtrail.trails import Trail, all_trails

log = logging.getLogger("rampart.cloudtrail.insights")

CURSOR = "insights"
BATCH = 5000
MAX_BATCHES_PER_ROUND = 40  # a large backlog is counted over several rounds, never in one long transaction
MINUTE = dt.timedelta(minutes=1)
_COLUMN = {CALL_RATE: "calls", ERROR_RATE: "errors"}

ApiKey = tuple[str, str, str, str]  # account, region, eventSource, eventName


def minute_of(moment: dt.datetime) -> dt.datetime:
    """The start of the minute a moment falls in (UTC)."""
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


@jobs.job("cloudtrail.insights", lambda _settings: InsightConfig.from_env().every_seconds)
def run_insights(gateway: Any, now: dt.datetime) -> None:
    """One round: count the new events, analyze the complete minutes, record the insights."""
    with gateway.db.read() as conn:
        watchers = [trail for trail in all_trails(conn) if trail.insight_types and trail.logging]
    if not watchers:
        _stand_by(gateway.db)
        return
    config = InsightConfig.from_env()
    for _ in range(MAX_BATCHES_PER_ROUND):
        if not _count_batch(gateway.db, watchers):
            break
    _analyze(gateway.db, config, now)
    _forget_old_counts(gateway.db, now - (config.baseline_minutes + 60) * MINUTE)


# ---- standing by ---------------------------------------------------------------------------------


def _stand_by(db: Any) -> None:
    """No trail wants Insights: skip to the newest event, forget scopes and open insights (nobody watches)."""
    with db.session() as session:
        newest = session.execute(select(func.max(ct_events.c.seq))).scalar() or 0
        row = _cursor(session)
        if row is not None and row.last_seq == newest and row.analyzed_until is None:
            return
        _save_cursor(session, last_seq=newest, analyzed_until=None)
        session.execute(delete(ct_insight_scopes))
        session.execute(delete(ct_insight_active))


def _cursor(session: Session) -> Any:
    return session.execute(select(ct_insight_cursor).where(ct_insight_cursor.c.name == CURSOR)).one_or_none()


def _save_cursor(session: Session, **values: Any) -> None:
    """Update the cursor row, creating it the first time."""
    done = session.execute(update(ct_insight_cursor).where(ct_insight_cursor.c.name == CURSOR).values(**values))
    if done.rowcount == 0:
        values.setdefault("last_seq", 0)
        session.execute(insert(ct_insight_cursor).values(name=CURSOR, **values))


# ---- counting ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """Counts of one batch, added to the tables in one statement per table."""

    counts: defaultdict[tuple[Any, ...], list[int]]
    attributions: defaultdict[tuple[Any, ...], list[int]]
    scopes: dict[tuple[str, str, str], dt.datetime]

    @classmethod
    def empty(cls) -> _Tally:
        return cls(defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]), {})

    def add(self, event: TrailEvent, minute: dt.datetime, calls: int, errors: int) -> None:
        api = (event.account_id, event.region, event.event_source, event.event_name)
        total = self.counts[(*api, minute)]
        total[0] += calls
        total[1] += errors
        for attribute, value in _attribution_values(event):
            pair = self.attributions[(*api, minute, attribute, value)]
            pair[0] += calls
            pair[1] += errors

    def watch(self, event: TrailEvent, minute: dt.datetime, kinds: Iterable[str]) -> None:
        """Note that the event's account and region are analyzed for these insight types since ``minute``."""
        for kind in kinds:
            scope = (event.account_id, event.region, kind)
            if scope not in self.scopes or minute < self.scopes[scope]:
                self.scopes[scope] = minute


def _attribution_values(event: TrailEvent) -> Iterable[tuple[str, str]]:
    """The (attribute, value) pairs an event counts under: who, with what tool, with what error."""
    identity = event.body.get("userIdentity") or {}
    arn = identity.get("arn") if isinstance(identity, dict) else None
    agent = event.body.get("userAgent")
    for attribute, value in (("userIdentityArn", arn), ("userAgent", agent), ("errorCode", event.error_code or NO_ERROR)):
        if isinstance(value, str) and value:
            yield attribute, value[:ATTRIBUTE_VALUE_MAX]


def _count_batch(db: Any, watchers: Sequence[Trail]) -> bool:
    """Count the next batch of new events; True when there may be more."""
    with db.session() as session:
        row = _cursor(session)
        last = 0 if row is None else row.last_seq
        if row is None:  # first round with watchers and no cursor yet: start at the newest event
            last = session.execute(select(func.max(ct_events.c.seq))).scalar() or 0
            _save_cursor(session, last_seq=last)
            return False
        rows = session.execute(
            select(ct_events).where(ct_events.c.seq > last).order_by(ct_events.c.seq).limit(BATCH)
        ).all()
        if not rows:
            return False
        tally = _Tally.empty()
        for found in rows:
            if found.category == "Management":
                _count_event(tally, _event_of(found), watchers)
        _store_tally(session, tally)
        _save_cursor(session, last_seq=rows[-1].seq)
        return len(rows) == BATCH


def _event_of(found: Any) -> TrailEvent:
    """A ct_events row back as the TrailEvent trails select on."""
    return TrailEvent(found.event_id, found.account_id, found.region, found.event_time, found.event_source,
                      found.event_name, found.read_only, found.category, found.username, found.access_key_id, (),
                      found.error_code, orjson.loads(found.body))


def _count_event(tally: _Tally, event: TrailEvent, watchers: Sequence[Trail]) -> None:
    """Count an event for each insight type of the logging trails that take it.

    Every watched event, counted or not, marks its account and region as
    analyzed from its minute on: the minutes before an API's first error are
    part of its error-rate baseline (zero errors), not unknown.
    """
    kinds = {kind for trail in watchers if trail.selects(event) for kind in trail.insight_types}
    if not kinds:
        return
    minute = minute_of(event.event_time)
    tally.watch(event, minute, kinds)
    calls = not event.read_only and CALL_RATE in kinds
    errors = bool(event.error_code) and ERROR_RATE in kinds
    if calls or errors:
        tally.add(event, minute, int(calls), int(errors))


def _store_tally(session: Session, tally: _Tally) -> None:
    """Add the batch's counts to the stored ones (upserts), and note new scopes."""
    api = ["account_id", "region", "event_source", "event_name", "minute_start"]
    _add_counts(session, ct_insight_counts, api,
                [dict(zip(api, key, strict=True), calls=v[0], errors=v[1]) for key, v in tally.counts.items()])
    keys = [*api, "attribute", "value"]
    _add_counts(session, ct_insight_attributions, keys,
                [dict(zip(keys, key, strict=True), calls=v[0], errors=v[1]) for key, v in tally.attributions.items()])
    for (account, region, kind), since in tally.scopes.items():
        statement = _dialect_insert(session, ct_insight_scopes).values(
            account_id=account, region=region, insight_type=kind, since=since)
        session.execute(statement.on_conflict_do_nothing(index_elements=["account_id", "region", "insight_type"]))


def _dialect_insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT: both SQLite and PostgreSQL have it, each in its own dialect module."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _add_counts(session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={"calls": table.c.calls + statement.excluded.calls, "errors": table.c.errors + statement.excluded.errors},
    )
    session.execute(statement, rows)


# ---- analysis ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    """An open insight while minutes are analyzed."""

    shared_event_id: str
    started_at: dt.datetime
    baseline: Baseline
    baseline_attributions: dict[str, list[dict[str, Any]]]
    total: int
    minutes: int


def _analyze(db: Any, config: InsightConfig, now: dt.datetime) -> None:
    """Analyze every complete minute since the last round; record the Start and End events found."""
    end = minute_of(now - dt.timedelta(seconds=config.lag_seconds))
    with db.read() as conn:
        row = conn.execute(select(ct_insight_cursor).where(ct_insight_cursor.c.name == CURSOR)).one_or_none()
        if row is None:
            return
        first = end if row.analyzed_until is None else max(row.analyzed_until, end - config.max_catch_up_minutes * MINUTE)
        scopes = {(s.account_id, s.region, s.insight_type): s.since for s in conn.execute(select(ct_insight_scopes))}
        active = _load_active(conn)
        records: list[InsightRecord] = []
        minute = first
        while minute < end:
            records += _analyze_minute(conn, config, minute, scopes, active)
            minute += MINUTE
    _record(db, records)
    with db.session() as session:
        session.execute(delete(ct_insight_active))
        if active:
            session.execute(insert(ct_insight_active), [_active_row(key, found) for key, found in active.items()])
        _save_cursor(session, analyzed_until=end)


def _analyze_minute(conn: Connection, config: InsightConfig, minute: dt.datetime,
                    scopes: dict[tuple[str, str, str], dt.datetime], active: dict[InsightKey, _Open]) -> list[InsightRecord]:
    """The records one minute gives: Ends of open insights back to normal, Starts of new departures."""
    counts = {(r.account_id, r.region, r.event_source, r.event_name): (r.calls, r.errors)
              for r in conn.execute(select(ct_insight_counts).where(ct_insight_counts.c.minute_start == minute))}
    records: list[InsightRecord] = []
    for key in list(active):
        count = _count_for(counts, key)
        found = active[key]
        if ends(config, found.baseline, count):
            records.append(_end_record(conn, key, found, minute))
            del active[key]
        else:
            found.total += count
            found.minutes += 1
    for api, pair in counts.items():
        for kind, count in ((CALL_RATE, pair[0]), (ERROR_RATE, pair[1])):
            key = InsightKey(*api, kind)
            since = scopes.get((api[0], api[1], kind))
            if count <= 0 or key in active or since is None or minute - since < config.min_baseline_minutes * MINUTE:
                continue
            started = _maybe_start(conn, config, key, minute, since, count)
            if started is not None:
                active[key], record = started
                records.append(record)
    return records


def _count_for(counts: dict[ApiKey, tuple[int, int]], key: InsightKey) -> int:
    pair = counts.get((key.account_id, key.region, key.event_source, key.event_name), (0, 0))
    return pair[0] if key.insight_type == CALL_RATE else pair[1]


def _api_filter(table: Any, key: InsightKey) -> list[Any]:
    return [table.c.account_id == key.account_id, table.c.region == key.region,
            table.c.event_source == key.event_source, table.c.event_name == key.event_name]


def _maybe_start(conn: Connection, config: InsightConfig, key: InsightKey, minute: dt.datetime,
                 since: dt.datetime, count: int) -> tuple[_Open, InsightRecord] | None:
    """An insight starting at this minute, with its Start record, when the count departs from the baseline."""
    begin = max(minute - config.baseline_minutes * MINUTE, since)
    column = getattr(ct_insight_counts.c, _COLUMN[key.insight_type])
    total, squares = conn.execute(
        select(func.coalesce(func.sum(column), 0), func.coalesce(func.sum(column * column), 0))
        .where(*_api_filter(ct_insight_counts, key), ct_insight_counts.c.minute_start >= begin,
               ct_insight_counts.c.minute_start < minute)
    ).one()
    baseline = Baseline.of(float(total), float(squares), int((minute - begin) / MINUTE))
    if not starts(config, baseline, count):
        return None
    shared = key.shared_event_id(minute)
    frozen = baseline_attributions(_attribution_sums(conn, key, begin, minute), baseline.minutes)
    insight = attributions(_attribution_sums(conn, key, minute, minute + MINUTE), 1, frozen)
    record = InsightRecord(key, "Start", minute, shared, baseline, float(count), 1, insight)
    return _Open(shared, minute, baseline, frozen, count, 1), record


def _end_record(conn: Connection, key: InsightKey, found: _Open, minute: dt.datetime) -> InsightRecord:
    """The End record of an insight whose last unusual minute was the one before ``minute``."""
    insight = attributions(_attribution_sums(conn, key, found.started_at, minute), found.minutes,
                           found.baseline_attributions)
    return InsightRecord(key, "End", minute, found.shared_event_id, found.baseline, found.total / found.minutes,
                         found.minutes, insight)


def _attribution_sums(conn: Connection, key: InsightKey, begin: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
    """Per attribute and value, the calls (or errors) of the API over [begin, end)."""
    table = ct_insight_attributions
    column = getattr(table.c, _COLUMN[key.insight_type])
    rows = conn.execute(
        select(table.c.attribute, table.c.value, func.sum(column))
        .where(*_api_filter(table, key), table.c.minute_start >= begin, table.c.minute_start < end)
        .group_by(table.c.attribute, table.c.value)
    )
    sums: dict[str, dict[str, int]] = defaultdict(dict)
    for attribute, value, total in rows:
        if total:
            sums[attribute][value] = int(total)
    return sums


def _load_active(conn: Connection) -> dict[InsightKey, _Open]:
    found: dict[InsightKey, _Open] = {}
    for row in conn.execute(select(ct_insight_active)):
        key = InsightKey(row.account_id, row.region, row.event_source, row.event_name, row.insight_type)
        found[key] = _Open(row.shared_event_id, row.started_at,
                           Baseline(row.baseline_average, row.baseline_stddev, row.baseline_minutes),
                           orjson.loads(row.baseline_attributions), row.insight_total, row.insight_minutes)
    return found


def _active_row(key: InsightKey, found: _Open) -> dict[str, Any]:
    return {"account_id": key.account_id, "region": key.region, "event_source": key.event_source,
            "event_name": key.event_name, "insight_type": key.insight_type,
            "shared_event_id": found.shared_event_id, "started_at": found.started_at,
            "baseline_average": found.baseline.average, "baseline_stddev": found.baseline.stddev,
            "baseline_minutes": found.baseline.minutes,
            "baseline_attributions": orjson.dumps(found.baseline_attributions).decode(),
            "insight_total": found.total, "insight_minutes": found.minutes}


def _record(db: Any, records: Sequence[InsightRecord]) -> None:
    """Append the records to the history, leaving out any a crashed round already appended."""
    if not records:
        return
    events = [record.trail_event() for record in records]
    with db.read() as conn:
        present = set(conn.execute(
            select(ct_events.c.event_id).where(ct_events.c.event_id.in_([e.event_id for e in events]))).scalars())
    fresh = [event for event in events if event.event_id not in present]
    if fresh:
        history.append_events(db, fresh)
        log.info("cloudtrail insights: %d Insights event(s) recorded", len(fresh))


def _forget_old_counts(db: Any, cutoff: dt.datetime) -> None:
    """Counts older than any baseline window are of no further use."""
    with db.session() as session:
        session.execute(delete(ct_insight_counts).where(ct_insight_counts.c.minute_start < cutoff))
        session.execute(delete(ct_insight_attributions).where(ct_insight_attributions.c.minute_start < cutoff))
