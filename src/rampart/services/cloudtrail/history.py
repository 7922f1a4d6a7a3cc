"""CloudTrail's event history: every call's event stored off the request path, durably.

The gateway journals every answered call (``events/journal.py``); the
history process (``history_process.py``) runs a ``HistoryTailer`` that reads
the journal from its cursor, turns lines into events and commits them with
the cursor's new offset, so the journal is the history's write-ahead log: a
crash of either process loses nothing and stores nothing twice.
``store_lines`` writes events, their resources and an outbox row each in the
transaction that moves the cursor, so delivery never misses an event the
history has. The retention job keeps 90 days of management and Insight
events and drops data events once delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from rampart import jobs
from rampart.events.journal import record_from_line
from rampart.events.records import CallRecord
from rampart.events.trail_record import TrailEvent, build_events
from rampart.services.cloudtrail.tables import (
    RESOURCE_NAME_MAX,
    ct_event_resources,
    ct_events,
    ct_journal_cursors,
    ct_outbox,
)

log = logging.getLogger("rampart.cloudtrail.history")

RETENTION = dt.timedelta(days=90)
HISTORY_CATEGORIES = ("Management", "Insight")  # what LookupEvents serves; data events only pass through
READ_BYTES = 1 << 20  # journal bytes per commit, at most (some hundreds of records: the write lock is held briefly)
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
DELETE_CHUNK = 5000


# --- storing -----------------------------------------------------------------------


def _event_row(event: TrailEvent, event_time: dt.datetime | str) -> dict[str, Any]:
    """The event's ``ct_events`` row; ``event_time`` as the driver takes it (SQLite: its text spelling)."""
    return {
        "event_id": event.event_id,
        "account_id": event.account_id,
        "region": event.region,
        "event_time": event_time,
        "event_source": event.event_source,
        "event_name": event.event_name,
        "read_only": event.read_only,
        "category": event.category,
        "username": event.username,
        "access_key_id": event.access_key_id,
        "error_code": event.error_code,
        "body": orjson.dumps(event.body, option=orjson.OPT_NAIVE_UTC).decode(),
    }


def _resource_rows(event: TrailEvent, seq: int, event_time: dt.datetime | str) -> list[dict[str, Any]]:
    """One row per distinct (type, name) of the event; names longer than the column are not indexed."""
    seen = {(kind, name) for kind, name in event.resources if kind and name and len(name) <= RESOURCE_NAME_MAX}
    return [
        {"seq": seq, "resource_type": kind, "resource_name": name, "account_id": event.account_id,
         "region": event.region, "category": event.category, "event_time": event_time}
        for kind, name in sorted(seen)
    ]


def append_events(db: Any, events: Sequence[TrailEvent]) -> None:
    """Store events, their resources and their outbox rows in one transaction (all or nothing).

    Raises IntegrityError when an event id is already stored (nothing is
    written then).
    """
    if not events:
        return
    with db.session() as session:
        _insert(session.connection(), events)




def _sqlite_time(moment: dt.datetime) -> str:
    """SQLAlchemy's own SQLite DATETIME spelling (the indexes order it as text), ten times faster than strftime."""
    return moment.astimezone(dt.UTC).isoformat(sep=" ", timespec="microseconds")[:26]


_EVENT_COLUMNS = ("event_id, account_id, region, event_time, event_source, event_name, read_only, category, "
                  "username, access_key_id, error_code, body")
_RESOURCE_COLUMNS = "seq, resource_type, resource_name, account_id, region, category, event_time"


def _insert_rows(table: str, columns: str) -> str:
    """An INSERT taking a row dict (``_event_row``, ``_resource_rows``) by column name."""
    names = [name.strip() for name in columns.split(",")]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + name for name in names)})"


_SQLITE_EVENTS = _insert_rows("ct_events", _EVENT_COLUMNS)
_SQLITE_RESOURCES = _insert_rows("ct_event_resources", _RESOURCE_COLUMNS)
_SQLITE_OUTBOX = "INSERT INTO ct_outbox (seq) SELECT seq FROM ct_events WHERE seq BETWEEN ? AND ?"


def _insert(connection: Connection, events: Sequence[TrailEvent]) -> None:
    if connection.dialect.name == "sqlite":
        _insert_sqlite(connection, events)
        return
    statement = insert(ct_events).returning(ct_events.c.seq, sort_by_parameter_order=True)
    seqs = connection.execute(statement, [_event_row(event, event.event_time) for event in events]).scalars().all()
    resources = [row for event, seq in zip(events, seqs, strict=True)
                 for row in _resource_rows(event, seq, event.event_time)]
    if resources:
        connection.execute(insert(ct_event_resources), resources)
    connection.execute(insert(ct_outbox), [{"seq": seq} for seq in seqs])


def _insert_sqlite(connection: Connection, events: Sequence[TrailEvent]) -> None:
    """The history's hot path on SQLite: the driver's ``executemany``, no per-row SQLAlchemy work.

    In the history process nothing contends for the GIL, so ``executemany``
    is the cheapest way in: a batch sent as one JSON array for SQLite to
    unpack (``json_each``) made ``json_extract`` parse each row's text, body
    included, once per column (85 against 71 CPU-µs an event, all the history
    process's work included). One transaction holds
    the database's only write lock, so the batch's rowids are consecutive
    and end at ``last_insert_rowid()``.
    """
    try:
        _executemany_sqlite(connection.connection.dbapi_connection.cursor(), events)  # type: ignore[union-attr]
    except sqlite3.Error as caught:  # as SQLAlchemy would raise it: callers retry or skip duplicates on those
        raise DBAPIError.instance(_SQLITE_EVENTS, None, caught, sqlite3.Error) from caught


def _executemany_sqlite(cursor: sqlite3.Cursor, events: Sequence[TrailEvent]) -> None:
    times = [_sqlite_time(event.event_time) for event in events]
    cursor.executemany(_SQLITE_EVENTS, [_event_row(event, when) for event, when in zip(events, times, strict=True)])
    last = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
    first = last - len(events) + 1
    resources = [row for seq, (event, when) in enumerate(zip(events, times, strict=True), first) if event.resources
                 for row in _resource_rows(event, seq, when)]
    if resources:
        cursor.executemany(_SQLITE_RESOURCES, resources)
    cursor.execute(_SQLITE_OUTBOX, (first, last))


# --- the journal cursor ----------------------------------------------------------------


class CursorMoved(Exception):
    """Another reader stored these journal lines first (a history process orphaned by a crash): re-read the cursor."""


def journal_cursor(db: Any, journal_id: str, start: int) -> int:
    """The journal's stored offset; a journal new to this database starts at ``start``."""
    for _attempt in range(2):  # a second server process may create the row at the same moment
        try:
            with db.session() as session:
                connection = session.connection()
                found = connection.execute(
                    select(ct_journal_cursors.c.journal_offset).where(ct_journal_cursors.c.journal_id == journal_id)
                ).scalar_one_or_none()
                if found is not None:
                    return int(found)
                connection.execute(insert(ct_journal_cursors).values(journal_id=journal_id, journal_offset=start))
                return start
        except IntegrityError:
            continue
    raise RuntimeError(f"cannot create the cursor of journal {journal_id}")


def stored_offset(db: Any, journal_id: str) -> int:
    """How far the history has stored the journal (0 before its cursor exists)."""
    with db.read() as connection:
        found = connection.execute(
            select(ct_journal_cursors.c.journal_offset).where(ct_journal_cursors.c.journal_id == journal_id)
        ).scalar_one_or_none()
    return int(found or 0)


def skip_to(db: Any, journal_id: str, offset: int) -> None:
    """Move the cursor to ``offset`` without storing what lies before it (auditing switched off)."""
    journal_cursor(db, journal_id, offset)
    with db.session() as session:
        session.execute(update(ct_journal_cursors).where(ct_journal_cursors.c.journal_id == journal_id)
                        .values(journal_offset=offset))


def store_lines(db: Any, journal_id: str, start: int, end: int, events: Sequence[TrailEvent]) -> None:
    """Store the events of the journal bytes ``start:end`` and move the cursor past them, in one transaction.

    The cursor moves only from ``start``: lines are stored exactly once even
    if two readers ever race (CursorMoved, nothing written, for the loser).
    """
    with db.session() as session:
        connection = session.connection()
        moved = connection.execute(
            update(ct_journal_cursors)
            .where(ct_journal_cursors.c.journal_id == journal_id, ct_journal_cursors.c.journal_offset == start)
            .values(journal_offset=end)
        ).rowcount
        if moved != 1:
            raise CursorMoved(journal_id)
        if events:
            _insert(connection, events)


def journal_identity(journal: Path) -> str:
    """The journal's id for its cursor: a random id kept beside it (made by whichever process needs it first).

    The id file appears whole or not at all (written aside, then linked into
    place), so a second process starting at the same moment reads the
    winner's id, never an empty file.
    """
    marker = journal.with_name(journal.name + ".id")
    if not marker.exists():
        draft = marker.with_name(f"{marker.name}.{uuid.uuid4().hex}")
        draft.write_text(uuid.uuid4().hex)
        try:
            os.link(draft, marker)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return marker.read_text().strip()


# --- the tailer ---------------------------------------------------------------------------


class HistoryTailer:
    """Turns a call journal's new lines into stored events, from the journal's cursor on.

    Each ``step`` reads the complete lines past the cursor (one read's worth
    at most), builds their events and commits them with the cursor's new
    offset: a crash anywhere loses nothing and stores nothing twice. A failed
    commit is retried with backoff, never skipped; a line that is not a
    record, or whose event cannot be built, is logged and passed over.
    """

    def __init__(self, db: Any, journal: Path, journal_id: str, *, read_bytes: int = READ_BYTES) -> None:
        self._db = db
        self._journal = journal
        self._id = journal_id
        self._read_bytes = read_bytes
        self._fd: int | None = None
        self.offset = journal_cursor(db, journal_id, 0)
        self.stored = 0  # events stored, for tests and benchmarks

    def step(self) -> bool:
        """Store the next lines; True when a whole read was used (more is probably waiting)."""
        chunk, full = self._read()
        if chunk:
            events = _build_all(_records_of(chunk))
            self._commit(self.offset + len(chunk), events)
        return full

    def drain(self) -> None:
        """Store everything the journal holds now."""
        while self.step():
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read(self) -> tuple[bytes, bool]:
        """The complete lines past the cursor (a line longer than one read is read whole) and whether more wait."""
        if self._fd is None:
            try:
                self._fd = os.open(self._journal, os.O_RDONLY)
            except FileNotFoundError:
                return b"", False
        size = os.fstat(self._fd).st_size
        if size < self.offset:  # a new, shorter journal in the old one's place: its lines are all new
            log.warning("call journal %s is shorter than its cursor (%d < %d): reading it from the start",
                        self._journal, size, self.offset)
            self._commit(0, [])
        want = self._read_bytes
        while True:
            data = os.pread(self._fd, min(want, size - self.offset), self.offset)
            end = data.rfind(b"\n") + 1
            if end or self.offset + len(data) >= size:
                return data[:end], self.offset + end < size and len(data) >= self._read_bytes
            want *= 2

    def _commit(self, end: int, events: list[TrailEvent]) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                store_lines(self._db, self._id, self.offset, end, events)
                self.offset = end
                self.stored += len(events)
                return
            except CursorMoved:
                self.offset = stored_offset(self._db, self._id)
                log.warning("journal %s was stored up to %d by another reader; going on from there", self._id,
                            self.offset)
                return
            except SQLAlchemyError:
                log.exception("storing %d CloudTrail events failed; retrying in %.1f s", len(events), delay)
                time.sleep(delay)  # the history process's own time: backing off here delays no request
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            except (TypeError, ValueError):  # an event orjson refuses: store the others
                log.exception("a CloudTrail event of this batch cannot be serialized; storing the others")
                kept = [event for event in events if _serializable(event)]
                if len(kept) == len(events):  # not a serialization problem after all: do not loop on it
                    log.error("dropped %d CloudTrail events: storing them failed", len(events))
                    kept = []
                events = kept


def _records_of(chunk: bytes) -> list[CallRecord]:
    records: list[CallRecord] = []
    for line in chunk.splitlines():
        if not line:
            continue
        try:
            records.append(record_from_line(line))
        except (ValueError, KeyError, TypeError):
            log.error("skipped a call journal line that is not a call record: %.200r", line)
    return records


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
