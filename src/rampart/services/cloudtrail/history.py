"""CloudTrail's event history: every call's event stored off the request path, durably.

The gateway publishes a CallRecord per answered call on the event bus; the
``HistoryWriter`` subscribed to it only queues each batch (the bus delivers on
the server's event loop), and its own thread turns records into events and
appends whatever accumulated in one transaction (group commit: the busier the
server, the larger and cheaper each commit). ``append_events`` stores events,
their resources and an outbox row each in one transaction, so delivery never
misses an event the history has. The retention job keeps 90 days of
management and Insight events and drops data events once delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, exists, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from rampart import jobs
from rampart.events.records import CallRecord
from rampart.events.trail_record import TrailEvent, build_events
from rampart.services.cloudtrail.tables import (
    RESOURCE_NAME_MAX,
    ct_event_resources,
    ct_events,
    ct_outbox,
)

log = logging.getLogger("rampart.cloudtrail.history")

RETENTION = dt.timedelta(days=90)
HISTORY_CATEGORIES = ("Management", "Insight")  # what LookupEvents serves; data events only pass through
MAX_BATCH = 5000  # records per commit, at most
LINGER_SECONDS = 0.2  # after a batch arrives, wait this long for more (fewer, larger commits; flush cuts it short)
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
DELETE_CHUNK = 5000
_STOP = object()


# --- storing -----------------------------------------------------------------------


def _event_row(event: TrailEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "account_id": event.account_id,
        "region": event.region,
        "event_time": event.event_time,
        "event_source": event.event_source,
        "event_name": event.event_name,
        "read_only": event.read_only,
        "category": event.category,
        "username": event.username,
        "access_key_id": event.access_key_id,
        "error_code": event.error_code,
        "body": orjson.dumps(event.body, option=orjson.OPT_NAIVE_UTC).decode(),
    }


def _resource_rows(event: TrailEvent, seq: int) -> list[dict[str, Any]]:
    """One row per distinct (type, name) of the event; names longer than the column are not indexed."""
    seen = {(kind, name) for kind, name in event.resources if kind and name and len(name) <= RESOURCE_NAME_MAX}
    return [
        {"seq": seq, "resource_type": kind, "resource_name": name, "account_id": event.account_id,
         "region": event.region, "category": event.category, "event_time": event.event_time}
        for kind, name in sorted(seen)
    ]


def append_events(db: Any, events: Sequence[TrailEvent]) -> None:
    """Store events, their resources and their outbox rows in one transaction (all or nothing).

    Raises IntegrityError when an event id is already stored (nothing is
    written then); ``HistoryWriter`` skips such duplicates and retries.
    """
    if not events:
        return
    with db.session() as session:
        _insert(session.connection(), events)


_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's own SQLite DATETIME spelling: the indexes order it as text
_EVENT_COLUMNS = ("event_id, account_id, region, event_time, event_source, event_name, read_only, category, "
                  "username, access_key_id, error_code, body")
_RESOURCE_COLUMNS = "seq, resource_type, resource_name, account_id, region, category, event_time"


def _from_json_rows(table: str, columns: str) -> str:
    """One INSERT for a whole batch, sent as one JSON array of rows that SQLite unpacks itself (``json_each``)."""
    count = len(columns.split(","))
    values = ", ".join(f"json_extract(value, '$[{index}]')" for index in range(count))
    return f"INSERT INTO {table} ({columns}) SELECT {values} FROM json_each(?) ORDER BY key"


_SQLITE_EVENTS = _from_json_rows("ct_events", _EVENT_COLUMNS)
_SQLITE_RESOURCES = _from_json_rows("ct_event_resources", _RESOURCE_COLUMNS)
_SQLITE_OUTBOX = "INSERT INTO ct_outbox (seq) SELECT seq FROM ct_events WHERE seq BETWEEN ? AND ?"


def _insert(connection: Connection, events: Sequence[TrailEvent]) -> None:
    if connection.dialect.name == "sqlite":
        _insert_sqlite(connection, events)
        return
    statement = insert(ct_events).returning(ct_events.c.seq, sort_by_parameter_order=True)
    seqs = connection.execute(statement, [_event_row(event) for event in events]).scalars().all()
    resources = [row for event, seq in zip(events, seqs, strict=True) for row in _resource_rows(event, seq)]
    if resources:
        connection.execute(insert(ct_event_resources), resources)
    connection.execute(insert(ct_outbox), [{"seq": seq} for seq in seqs])


def _insert_sqlite(connection: Connection, events: Sequence[TrailEvent]) -> None:
    """The writer's hot path on SQLite: DB-API ``executemany``, no per-row SQLAlchemy work.

    The history writer holds the GIL for every Python step it takes, and the
    request thread waits for it; SQLite's own work (the index updates) runs
    with the GIL released — but ``executemany`` gives the GIL up and takes it
    back around every row, and each time it must wait for the busy request
    thread to let go: that hand-off, not SQLite, was most of auditing's cost.
    So each table gets one statement per batch: the rows travel as one JSON
    array that SQLite unpacks (``json_each``), the body as a JSON object it
    stores as compact text. One transaction holds the database's only write
    lock, so the batch's rowids are consecutive and end at ``last_insert_rowid()``.
    """
    try:
        _executemany_sqlite(connection.connection.dbapi_connection.cursor(), events)  # type: ignore[union-attr]
    except sqlite3.Error as caught:  # as SQLAlchemy would raise it: callers retry or skip duplicates on those
        raise DBAPIError.instance(_SQLITE_EVENTS, None, caught, sqlite3.Error) from caught


def _executemany_sqlite(cursor: sqlite3.Cursor, events: Sequence[TrailEvent]) -> None:
    rows = [
        (e.event_id, e.account_id, e.region, e.event_time.astimezone(dt.UTC).strftime(_SQLITE_TIME), e.event_source,
         e.event_name, e.read_only, e.category, e.username, e.access_key_id, e.error_code, e.body)
        for e in events
    ]
    cursor.execute(_SQLITE_EVENTS, (orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC).decode(),))
    last = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
    first = last - len(events) + 1
    resources = [
        (row["seq"], row["resource_type"], row["resource_name"], row["account_id"], row["region"], row["category"],
         row["event_time"].astimezone(dt.UTC).strftime(_SQLITE_TIME))
        for seq, event in enumerate(events, first) if event.resources
        for row in _resource_rows(event, seq)
    ]
    if resources:
        cursor.execute(_SQLITE_RESOURCES, (orjson.dumps(resources).decode(),))
    cursor.execute(_SQLITE_OUTBOX, (first, last))


def _unique(events: Iterable[TrailEvent]) -> list[TrailEvent]:
    """The events with repeated event ids dropped (the first one stays)."""
    found: dict[str, TrailEvent] = {}
    for event in events:
        found.setdefault(event.event_id, event)
    return list(found.values())


def append_new_events(db: Any, events: Sequence[TrailEvent]) -> int:
    """Like ``append_events``, but events whose id is already stored are skipped; returns how many were new.

    A retried batch (a commit that succeeded although its caller saw an
    error) must not fail forever on its own earlier success.
    """
    fresh = _unique(events)
    try:
        append_events(db, fresh)
        return len(fresh)
    except IntegrityError:
        ids = [event.event_id for event in fresh]
        with db.read() as connection:
            stored = set(connection.execute(select(ct_events.c.event_id).where(ct_events.c.event_id.in_(ids))).scalars())
        fresh = [event for event in fresh if event.event_id not in stored]
        log.warning("skipped %d events already in the history", len(ids) - len(fresh))
        append_events(db, fresh)
        return len(fresh)


# --- the writer ----------------------------------------------------------------------


class HistoryWriter:
    """The event bus subscriber that stores every call's event, off the request path.

    ``__call__`` only queues (it runs on the event loop); one thread builds
    events and commits them. A commit that fails is retried with backoff,
    never dropped; ``flush`` waits until everything handed over so far is
    committed (at once when idle, so readers may call it on every lookup);
    ``close`` commits what is left and stops the thread.
    """

    def __init__(self, gateway: Any, *, max_batch: int = MAX_BATCH, linger: float = LINGER_SECONDS) -> None:
        self._db = gateway.db
        self._max_batch = max_batch
        self._linger = linger
        self._hurry = threading.Event()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = threading.Condition()
        self._handed = 0  # records queued; written by the bus's delivering thread only
        self._committed = 0  # records committed (or found unrecordable); under _done
        self.stored = 0  # events stored, for tests and benchmarks
        self._thread: threading.Thread | None = threading.Thread(
            target=self._run, name="rampart-cloudtrail-history", daemon=True
        )
        self._thread.start()

    def __call__(self, batch: Sequence[CallRecord]) -> None:
        self._handed += len(batch)
        self._queue.put(list(batch))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every record handed over so far is committed; False on timeout."""
        target = self._handed
        if self._committed >= target:
            return True
        self._hurry.set()
        with self._done:
            return self._done.wait_for(lambda: self._committed >= target, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything handed over, then stop the thread (idempotent)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._hurry.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("CloudTrail history writer did not finish within %.0f s; %d records not yet committed",
                      timeout, self._handed - self._committed)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is not _STOP and self._linger:
                # Each commit costs a sync and GIL hand-offs with the request thread: fewer, larger ones are cheaper.
                self._hurry.wait(self._linger)
            self._hurry.clear()
            records, stopping = self._take(first)
            if records:
                self._write(records)
            with self._done:
                self._committed += len(records)
                self._done.notify_all()

    def _take(self, first: Any) -> tuple[list[CallRecord], bool]:
        """``first`` and whatever else is queued now (up to a batch's worth or a stop)."""
        records: list[CallRecord] = []
        item = first
        while True:
            if item is _STOP:
                return records, True
            records.extend(item)
            if len(records) >= self._max_batch:
                return records, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return records, False

    def _write(self, records: list[CallRecord]) -> None:
        """Build and commit; on a database error wait and retry the same events, logging each failure."""
        events = _build_all(records)
        delay = RETRY_FIRST_SECONDS
        while events:
            try:
                self.stored += append_new_events(self._db, events)
                return
            except SQLAlchemyError:
                log.exception("storing %d CloudTrail events failed; retrying in %.1f s", len(events), delay)
                time.sleep(delay)  # the writer's own thread: backing off here delays no request
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            except (TypeError, ValueError):  # an event orjson refuses: store the others, never stop the thread
                log.exception("a CloudTrail event of this batch cannot be serialized; storing the others")
                kept = [event for event in events if _serializable(event)]
                if len(kept) == len(events):  # not a serialization problem after all: do not loop on it
                    log.error("dropped %d CloudTrail events: storing them failed", len(events))
                    return
                events = kept


def _serializable(event: TrailEvent) -> bool:
    try:
        orjson.dumps(event.body, option=orjson.OPT_NAIVE_UTC)
    except TypeError:
        log.error("dropped CloudTrail event %s (%s): its record cannot be serialized", event.event_id,
                  event.event_name)
        return False
    return True


def _build_all(records: list[CallRecord]) -> list[TrailEvent]:
    events: list[TrailEvent] = []
    for record in records:
        try:
            built = build_events(record)
        except Exception:  # deliberate: a builder bug on one record must not stop the history
            log.exception("no CloudTrail event for request %s (%s:%s): the builder failed",
                          record.request_id, record.service, record.operation)
            continue
        events.extend(built)
    return events


# --- retention -----------------------------------------------------------------------


def delete_expired(db: Any, now: dt.datetime, chunk: int = DELETE_CHUNK) -> int:
    """Delete history older than 90 days and delivered data events; returns how many events went.

    Events still in the outbox stay whatever their age: delivery owes them
    to a trail. Deletes go in chunks so no transaction holds the write lock
    for long.
    """
    undelivered = exists().where(ct_outbox.c.seq == ct_events.c.seq)
    expired = ct_events.c.category.in_(HISTORY_CATEGORIES) & (ct_events.c.event_time < now - RETENTION)
    removed = 0
    for condition in (expired, ct_events.c.category == "Data"):
        while True:
            with db.session() as session:
                seqs = session.execute(
                    select(ct_events.c.seq).where(condition, ~undelivered).limit(chunk)
                ).scalars().all()
                if seqs:
                    session.execute(delete(ct_event_resources).where(ct_event_resources.c.seq.in_(seqs)))
                    session.execute(delete(ct_events).where(ct_events.c.seq.in_(seqs)))
            removed += len(seqs)
            if len(seqs) < chunk:
                break
    return removed


@jobs.job("cloudtrail-history-retention", 24 * 3600)
def _retention(gateway: Any, now: dt.datetime) -> None:
    """Daily: trim the event history to AWS's 90 days."""
    removed = delete_expired(gateway.db, now)
    if removed:
        log.info("CloudTrail history retention removed %d events", removed)
