"""CloudTrail log file delivery: outbox -> log files -> the trail's S3 bucket.

One job round (``cloudtrail.delivery``, every RAMPART_TRAIL_DELIVERY_SECONDS)
works in two steps so that every event reaches every trail that selects it
exactly once, whatever crashes in between:

1. *take*: in one transaction per bounded batch, read outbox events in seq
   order, write them into ``ct_log_files`` rows (gzip JSON ``{"Records": [...]}``
   per trail, account, region and kind, under AWS's key layout) and delete
   the outbox rows taken. A crash before the commit loses nothing (the outbox
   still holds them), a crash after it duplicates nothing (they are gone).
2. *upload*: PUT every undelivered row to its bucket as
   ``cloudtrail.amazonaws.com`` through Rampart's own S3, so the bucket policy
   (and the KMS key policy with SSE-KMS) must allow CloudTrail as on AWS.
   Failures stay in the table and are retried every round; their S3 error
   code shows as the trail's LatestDeliveryError. A PUT that succeeded but
   was not yet marked is simply repeated: same key, same bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import os
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rampart import jobs
from rampart.aws.errors import AwsError
from rampart.events.trail_record import TrailEvent
from rampart.gateway.service_calls import ServicePrincipalRef, invoke_as_service
from rampart.services.cloudtrail import selectors as sel
from rampart.services.cloudtrail import trails as trails_module
from rampart.services.cloudtrail.tables import ct_events, ct_outbox
from rampart.services.cloudtrail.tables_delivery import ct_log_files
from rampart.services.s3.store import get_bucket

log = logging.getLogger("rampart.cloudtrail.delivery")

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
TAKE_BATCH = 1000  # outbox rows per take transaction
RECORDS_PER_FILE = 500  # AWS writes many records per file; a bound keeps files and rows small
UPLOAD_PAGE = 100  # undelivered rows read per query
UNIQUE_ALPHABET = string.ascii_letters + string.digits
CRASH_AFTER_TAKE = "RAMPART_TEST_CRASH_AFTER_TAKE"  # test mode only: os._exit after step 1's commit
CRASH_AFTER_PUT = "RAMPART_TEST_CRASH_AFTER_PUT"  # test mode only: os._exit after the first PUT
LOG, INSIGHT = "log", "insight"


# --- keys and bodies (pure) -------------------------------------------------------------


def log_file_key(
    *, prefix: str | None, account_id: str, region: str, kind: str, at: dt.datetime,
    org_id: str | None = None, unique: str | None = None,
) -> str:
    """The object key AWS uses for a log file delivered at ``at``.

    ``<prefix/>AWSLogs/[<org-id>/]<account>/CloudTrail[-Insight]/<region>/YYYY/MM/DD/
    <account>_CloudTrail[-Insight]_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz``;
    organization trails put every member account under the organization's id.
    """
    at = at.astimezone(dt.UTC)
    folder = "CloudTrail-Insight" if kind == INSIGHT else "CloudTrail"
    unique = unique or "".join(secrets.choice(UNIQUE_ALPHABET) for _ in range(16))
    head = f"{prefix.strip('/')}/" if prefix and prefix.strip("/") else ""
    owner = f"{org_id}/{account_id}" if org_id else account_id
    name = f"{account_id}_{folder}_{region}_{at:%Y%m%dT%H%MZ}_{unique}.json.gz"
    return f"{head}AWSLogs/{owner}/{folder}/{region}/{at:%Y/%m/%d}/{name}"


@dataclass(frozen=True, slots=True)
class LogFileBody:
    """A log file's bytes: gzip for S3, the hash of the uncompressed JSON for digests."""

    gzipped: bytes
    sha256: str


GZIP_LEVEL = 6


def log_file_body(records: Sequence[dict[str, Any]] | Sequence[bytes]) -> LogFileBody:
    """``{"Records": [...]}`` as compact JSON, gzipped; records may be dicts or their JSON bytes."""
    parts = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    raw = b'{"Records":[' + b",".join(parts) + b"]}"
    # mtime=0: the same records always give the same bytes (a retried PUT is identical). Level 6, gzip's
    # own default: files as small as level 9's (JSON records) for two thirds of the CPU.
    return LogFileBody(gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0), hashlib.sha256(raw).hexdigest())


def kind_of(event: TrailEvent) -> str:
    """Insight events go to CloudTrail-Insight files, everything else to CloudTrail files."""
    return INSIGHT if event.category == "Insight" else LOG


# --- step 1: take -------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    """Events bound for one (trail, account, region, kind) file, in seq order: (JSON, eventTime)."""

    events: list[tuple[bytes, dt.datetime]] = field(default_factory=list)


class _OutboxRow(NamedTuple):
    """An outbox entry and its event's columns (``event_id`` None: the event is gone)."""

    taken: int
    event_id: str | None
    account_id: str
    region: str
    event_time: dt.datetime
    event_source: str
    event_name: str
    read_only: bool
    category: str
    username: str | None
    access_key_id: str | None
    error_code: str | None
    body: str | bytes


def _event_of(row: _OutboxRow, need_body: bool) -> tuple[TrailEvent, bytes]:
    """The TrailEvent a trail selects on, rebuilt from its history row, and its stored JSON.

    The JSON is parsed only where a selector may read it: data and Insight
    events (resources, insight type) and trails with advanced selectors;
    basic selectors decide a management event from its columns alone.
    """
    raw = row.body.encode() if isinstance(row.body, str) else bytes(row.body)
    body: dict[str, Any] = {}
    resources: tuple[tuple[str, str], ...] = ()
    if need_body or row.category != "Management":
        body = orjson.loads(raw)
        resources = tuple((r.get("type") or "", r.get("ARN") or "") for r in body.get("resources") or ()
                          if isinstance(r, dict))
    event = TrailEvent(row.event_id, row.account_id, row.region, row.event_time, row.event_source, row.event_name,
                       bool(row.read_only), row.category, row.username, row.access_key_id, resources,
                       row.error_code, body)
    return event, raw


@dataclass(frozen=True, slots=True)
class _Taker:
    """A trail and the span of event times it logged: from StartLogging to StopLogging (None: still on)."""

    trail: Any
    start: dt.datetime
    end: dt.datetime | None

    def takes(self, event: TrailEvent) -> bool:
        """Does this trail deliver this event? (only events recorded while it was logging)"""
        in_span = self.start <= event.event_time and (self.end is None or event.event_time <= self.end)
        return in_span and bool(self.trail.selects(event))


def _takers(conn: Any) -> list[_Taker]:
    """Every trail that may still take events: logging ones, and stopped ones for what came before the stop.

    A stopped trail's events recorded while it logged but not yet taken when it stopped are still
    delivered (as StopLogging promises); its StopLoggingTime in the trail status bounds them.
    """
    found = []
    for trail in trails_module.all_trails(conn):
        if trail.logging_started_at is None:
            continue
        if trail.logging:
            found.append(_Taker(trail, trail.logging_started_at, None))
            continue
        stopped = trails_module.status_of(conn, trail.arn).get("StopLoggingTime")
        end = dt.datetime.fromisoformat(stopped) if isinstance(stopped, str) else None
        if end is not None and end >= trail.logging_started_at:
            found.append(_Taker(trail, trail.logging_started_at, end))
    return found


def take(gateway: Any, now: dt.datetime) -> int:
    """Move every outbox event into log file rows; returns how many files were written."""
    written = 0
    while True:
        with gateway.db.session() as session:
            gateway.db.lock(session, "cloudtrail.delivery.take")
            count, more = _take_batch(session, now)
        written += count
        if not more:
            return written


_ROW_COLUMNS = [name for name in _OutboxRow._fields if name != "taken"]
_SQLITE_TAKE = (f"SELECT o.seq, {', '.join(f'e.{name}' for name in _ROW_COLUMNS)} FROM ct_outbox o "
                "LEFT JOIN ct_events e ON e.seq = o.seq ORDER BY o.seq LIMIT ?")
_SQLITE_UNTAKE = "DELETE FROM ct_outbox WHERE seq IN (SELECT value FROM json_each(?))"


def _outbox_rows(session: Session) -> list[_OutboxRow]:
    """The next TAKE_BATCH outbox entries, oldest first (on SQLite straight from the driver: a row each event)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        query = (
            select(ct_outbox.c.seq, *[ct_events.c[name] for name in _ROW_COLUMNS])
            .select_from(ct_outbox.outerjoin(ct_events, ct_events.c.seq == ct_outbox.c.seq))
            .order_by(ct_outbox.c.seq)
            .limit(TAKE_BATCH)
            .with_for_update(skip_locked=True, of=ct_outbox)
        )
        return [_OutboxRow(*row) for row in session.execute(query)]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    return [
        _OutboxRow(*row[:4], _sqlite_time(row[4]), *row[5:]) if row[1] is not None else _OutboxRow(row[0], *row[1:])
        for row in cursor.execute(_SQLITE_TAKE, (TAKE_BATCH,))
    ]


def _sqlite_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _untake(session: Session, taken: list[int]) -> None:
    """Delete the taken outbox entries (on SQLite in one statement, the ids as one JSON array)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(_SQLITE_UNTAKE, (orjson.dumps(taken).decode(),))
        return
    for start in range(0, len(taken), 500):
        session.execute(delete(ct_outbox).where(ct_outbox.c.seq.in_(taken[start:start + 500])))


def _take_batch(session: Session, now: dt.datetime) -> tuple[int, bool]:
    """One bounded batch in the caller's transaction: files written, and whether more may wait."""
    rows = _outbox_rows(session)
    if not rows:
        return 0, False
    takers = _takers(session.connection())
    need_body = any(sel.is_advanced(taker.trail.selectors) for taker in takers)
    groups: dict[tuple[str, str, str, str], _Pending] = {}
    for row in rows if takers else ():
        if row.event_id is None:
            continue  # the event itself is gone (retention): nothing left to deliver
        event, raw = _event_of(row, need_body)
        for taker in takers:
            if taker.takes(event):
                key = (taker.trail.arn, event.account_id, event.region, kind_of(event))
                groups.setdefault(key, _Pending()).events.append((raw, event.event_time))
    by_arn = {taker.trail.arn: taker.trail for taker in takers}
    written = 0
    for (arn, account_id, region, kind), pending in groups.items():
        written += _write_files(session, by_arn[arn], account_id, region, kind, pending, now)
    _untake(session, [row.taken for row in rows])
    return written, len(rows) == TAKE_BATCH


def _write_files(
    session: Session, trail: Any, account_id: str, region: str, kind: str, pending: _Pending, now: dt.datetime,
) -> int:
    """Insert the group's files (``RECORDS_PER_FILE`` records each); returns how many."""
    org_id = trails_module.log_org_id(trail)
    rows = []
    for start in range(0, len(pending.events), RECORDS_PER_FILE):
        chunk = pending.events[start:start + RECORDS_PER_FILE]
        body = log_file_body([raw for raw, _ in chunk])
        times = [when for _, when in chunk]
        rows.append({
            "trail_arn": trail.arn, "account_id": account_id, "region": region, "kind": kind,
            "bucket": trail.bucket,
            "s3_key": log_file_key(prefix=trail.prefix, account_id=account_id, region=region, kind=kind,
                                   at=now, org_id=org_id),
            "body": body.gzipped, "sha256": body.sha256, "size": len(body.gzipped),
            "oldest_event_time": min(times), "newest_event_time": max(times),
            "created_at": now, "delivered_at": None, "attempts": 0, "last_error": None,
        })
    session.execute(ct_log_files.insert(), rows)
    return len(rows)


# --- step 2: upload -----------------------------------------------------------------------


@dataclass(slots=True)
class _Outcome:
    """One round's result for one trail, noted in its GetTrailStatus once."""

    delivered_at: dt.datetime | None = None
    error: str | None = None


def upload(gateway: Any, now: dt.datetime) -> int:
    """PUT every undelivered log file; returns how many reached S3 this round."""
    with gateway.db.read() as conn:
        trails = {t.arn: t for t in trails_module.all_trails(conn)}
    _drop_orphans(gateway, trails)
    outcomes: dict[str, _Outcome] = {}
    delivered, after = 0, 0
    while True:
        with gateway.db.read() as conn:
            page = conn.execute(
                select(ct_log_files).where(ct_log_files.c.delivered_at.is_(None), ct_log_files.c.id > after)
                .order_by(ct_log_files.c.id).limit(UPLOAD_PAGE)
            ).all()
        if not page:
            break
        for row in page:
            after = row.id
            trail = trails.get(row.trail_arn)
            outcome = outcomes.setdefault(row.trail_arn, _Outcome())
            if trail is None or outcome.error is not None:
                continue  # a trail whose bucket refused this round is tried again next round
            delivered += _upload_one(gateway, trail, row, outcome)
    _note(gateway, outcomes, now)
    return delivered


def _drop_orphans(gateway: Any, trails: dict[str, Any]) -> None:
    """Undelivered files of deleted trails (or of an earlier trail of the same ARN) are dropped."""
    with gateway.db.session() as session:
        pending = session.execute(
            select(ct_log_files.c.id, ct_log_files.c.trail_arn, ct_log_files.c.created_at)
            .where(ct_log_files.c.delivered_at.is_(None))
        ).all()
        gone = [row.id for row in pending
                if row.trail_arn not in trails or row.created_at < trails[row.trail_arn].created_at]
        for start in range(0, len(gone), 500):
            session.execute(delete(ct_log_files).where(ct_log_files.c.id.in_(gone[start:start + 500])))


def _put_params(trail: Any, row: Any) -> dict[str, Any]:
    """PutObject's input for a log file, as CloudTrail writes it."""
    params: dict[str, Any] = {
        "Bucket": row.bucket, "Key": row.s3_key, "Body": bytes(row.body),
        "ACL": "bucket-owner-full-control", "ContentType": "application/json", "ContentEncoding": "gzip",
    }
    if trail.kms_key_id:
        params["ServerSideEncryption"] = "aws:kms"
        params["SSEKMSKeyId"] = trail.kms_key_id
    return params


def _upload_one(gateway: Any, trail: Any, row: Any, outcome: _Outcome) -> int:
    """PUT one file as cloudtrail.amazonaws.com and record the result; 1 when delivered."""
    with gateway.db.read() as conn:
        bucket = get_bucket(conn, row.bucket)
    principal = ServicePrincipalRef(CLOUDTRAIL_PRINCIPAL, source_arn=trail.arn, source_account=trail.account_id)
    try:
        invoke_as_service(gateway, principal, "s3", "PutObject", _put_params(trail, row),
                          region=bucket.region if bucket else trail.home_region, account_id=trail.account_id)
    except AwsError as error:
        outcome.error = error.code
        with gateway.db.session() as session:
            session.execute(update(ct_log_files).where(ct_log_files.c.id == row.id).values(
                attempts=ct_log_files.c.attempts + 1, last_error=f"{error.code}: {error.message}"[:2000]))
        log.info("trail %s: log file %s not delivered (%s)", trail.arn, row.s3_key, error.code)
        return 0
    _test_crash(gateway, CRASH_AFTER_PUT)
    at = gateway.clock.now()
    with gateway.db.session() as session:
        session.execute(update(ct_log_files).where(ct_log_files.c.id == row.id).values(
            delivered_at=at, body=None, attempts=ct_log_files.c.attempts + 1, last_error=None))
    outcome.delivered_at = at
    return 1


def _note(gateway: Any, outcomes: dict[str, _Outcome], now: dt.datetime) -> None:
    """Each trail's GetTrailStatus: the latest delivery, or the S3 error that stopped it."""
    with gateway.db.session() as session:
        for arn, outcome in outcomes.items():
            if outcome.delivered_at is None and outcome.error is None:
                continue
            fields: dict[str, Any] = {"LatestDeliveryAttemptTime": _status_time(now)}
            if outcome.delivered_at is not None:
                fields["LatestDeliveryTime"] = outcome.delivered_at
            if outcome.error is None:
                fields["LatestDeliveryAttemptSucceeded"] = _status_time(now)
                fields["LatestDeliveryError"] = None
            else:
                fields["LatestDeliveryError"] = outcome.error
            trails_module.note_status(session, arn, **fields)


def _status_time(at: dt.datetime) -> str:
    """The string form of GetTrailStatus' *AttemptTime fields (``2015-01-01T00:00:00Z``)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _test_crash(gateway: Any, variable: str) -> None:
    """Die like a SIGKILL at a chosen point (test mode only), to prove delivery survives it."""
    if gateway.settings.test_mode and os.environ.get(variable) == "1":
        log.warning("test crash hook %s: exiting now", variable)
        os._exit(86)


# --- the job ------------------------------------------------------------------------------


@jobs.job("cloudtrail.delivery", lambda settings: settings.trail_delivery_seconds)
def deliver(gateway: Any, now: dt.datetime) -> None:
    """One delivery round: take the outbox into log files, then PUT what S3 does not have yet."""
    if take(gateway, now):
        _test_crash(gateway, CRASH_AFTER_TAKE)
    upload(gateway, now)
