"""The event history store: append_events, the writer, retention, indexes, durability across restarts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from rampart.accounts import PrincipalRef
from rampart.events.journal import CallJournal
from rampart.events.records import CallRecord
from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail import history
from rampart.services.cloudtrail.history import (
    HistoryTailer,
    append_events,
    delete_expired,
    journal_identity,
    skip_to,
    stored_offset,
)
from rampart.services.cloudtrail.lookup import Query, find_events
from rampart.services.cloudtrail.tables import ct_event_resources, ct_events, ct_outbox
from rampart.storage.db import Database
from tests.conftest import start_server
from tests.storage.pg import postgres_url, sqlite_url_in  # noqa: F401 - postgres_url is a fixture

ACCOUNT = "111122223333"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on each backend (PostgreSQL when RAMPART_TEST_POSTGRES_URL is set)."""
    url = sqlite_url_in(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def event(name: str = "GetUser", *, when: dt.datetime = NOW, category: str = "Management", region: str = "us-east-1",
          user: str = "alice", resources: tuple[tuple[str, str], ...] = (), account: str = ACCOUNT) -> TrailEvent:
    event_id = str(uuid.uuid4())
    return TrailEvent(event_id, account, region, when, "iam.amazonaws.com", name, name.startswith("Get"), category,
                      user, "AKIAEXAMPLE000000001", resources, None, {"eventID": event_id, "eventName": name})


def query(key: str | None = None, value: str | None = None, **overrides: Any) -> Query:
    base: dict[str, Any] = {"account_id": ACCOUNT, "region": "us-east-1", "category": "Management",
                            "key": key, "value": value, "start": None, "end": None}
    return Query(**{**base, **overrides})


def names(db: Database, q: Query, limit: int = 50) -> list[str]:
    with db.read() as connection:
        found, _ = find_events(connection, q, NOW, None, limit)
    return [e["EventName"] for e in found]


def count(db: Database, table: Any) -> int:
    with db.read() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_append_stores_events_resources_and_outbox_in_one_go(any_db: Database) -> None:
    stored = [event("CreateUser", resources=(("AWS::IAM::User", "bob"), ("AWS::IAM::User", "bob"))),
              event("GetUser", when=NOW + dt.timedelta(seconds=1))]
    append_events(any_db, stored)
    assert count(any_db, ct_events) == 2
    assert count(any_db, ct_outbox) == 2
    assert count(any_db, ct_event_resources) == 1  # repeated (type, name) pairs are one row
    assert names(any_db, query()) == ["GetUser", "CreateUser"]  # newest first
    with any_db.read() as connection:
        found, _ = find_events(connection, query("ResourceName", "bob"), NOW, None, 50)
    assert found[0]["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "bob"}]
    assert found[0]["CloudTrailEvent"].startswith("{")


def test_a_duplicate_event_id_fails_the_whole_batch(any_db: Database) -> None:
    first = event("CreateUser")
    append_events(any_db, [first])
    second = event("DeleteUser")
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        append_events(any_db, [second, first])
    assert count(any_db, ct_events) == 1  # all or nothing
    assert names(any_db, query()) == ["CreateUser"]


def test_each_attribute_and_the_scope(any_db: Database) -> None:
    append_events(any_db, [
        event("GetUser", user="alice", resources=(("AWS::IAM::User", "bob"),)),
        event("CreateRole", user="carol", resources=(("AWS::IAM::Role", "ops"), ("AWS::IAM::Policy", "p"))),
        event("PutObject", category="Data"),
        event("RateAnomaly", category="Insight"),
        event("ListUsers", region="eu-west-1"),
        event("ListRoles", account="999988887777"),
    ])
    assert sorted(names(any_db, query())) == ["CreateRole", "GetUser"]
    assert names(any_db, query(category="Insight")) == ["RateAnomaly"]
    assert names(any_db, query("EventName", "CreateRole")) == ["CreateRole"]
    assert names(any_db, query("Username", "alice")) == ["GetUser"]
    assert names(any_db, query("ReadOnly", "true")) == ["GetUser"]
    assert names(any_db, query("ReadOnly", "FALSE")) == ["CreateRole"]
    assert names(any_db, query("ReadOnly", "maybe")) == []
    assert names(any_db, query("ResourceType", "AWS::IAM::Role")) == ["CreateRole"]
    assert names(any_db, query("ResourceName", "bob")) == ["GetUser"]
    assert sorted(names(any_db, query("EventSource", "iam.amazonaws.com"))) == ["CreateRole", "GetUser"]
    assert len(names(any_db, query("AccessKeyId", "AKIAEXAMPLE000000001"))) == 2
    assert names(any_db, query(region="eu-west-1")) == ["ListUsers"]


def test_an_event_with_many_matching_resources_is_listed_once(any_db: Database) -> None:
    many = tuple(("AWS::S3::Object", f"arn:aws:s3:::b/{n}") for n in range(30))
    append_events(any_db, [event("DeleteObjects", resources=many)] +
                  [event(f"Other{n}", when=NOW - dt.timedelta(seconds=n + 1), resources=many[:1]) for n in range(5)])
    found = names(any_db, query("ResourceType", "AWS::S3::Object"), limit=3)
    assert found == ["DeleteObjects", "Other0", "Other1"]
    assert len(names(any_db, query("ResourceType", "AWS::S3::Object"))) == 6


def test_retention_keeps_90_days_and_undelivered_events(any_db: Database) -> None:
    old, fresh = NOW - dt.timedelta(days=91), NOW - dt.timedelta(days=89)
    append_events(any_db, [event("Old", when=old, resources=(("AWS::IAM::User", "x"),)), event("Fresh", when=fresh),
                           event("OldPending", when=old), event("DataDone", category="Data"),
                           event("DataPending", category="Data")])
    with any_db.session() as session:  # delivery took everything but the two pending ones
        pending = select(ct_events.c.seq).where(ct_events.c.event_name.in_(["OldPending", "DataPending"]))
        session.execute(ct_outbox.delete().where(ct_outbox.c.seq.not_in(pending)))
    assert delete_expired(any_db, NOW, chunk=1) == 2
    with any_db.read() as connection:
        left = set(connection.execute(select(ct_events.c.event_name)).scalars())
    assert left == {"Fresh", "OldPending", "DataPending"}
    assert count(any_db, ct_event_resources) == 0
    assert names(any_db, query()) == ["Fresh"]  # the window hides what retention must keep for delivery


def test_lookups_are_index_scans_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.migrate()
    append_events(db, [event(resources=(("AWS::IAM::User", "bob"),))])
    for key, value in [(None, None), ("EventName", "GetUser"), ("Username", "a"), ("ReadOnly", "true"),
                       ("EventSource", "s"), ("AccessKeyId", "k"), ("EventId", "e"), ("ResourceType", "t"),
                       ("ResourceName", "n")]:
        plan = _sqlite_plan(db, query(key, value))
        assert "USING" in plan and "INDEX" in plan, (key, plan)
        assert "TEMP B-TREE" not in plan, (key, plan)  # the index gives the order: no sort
        assert "SCAN ct_events" not in plan.replace("SCAN ct_events USING", ""), (key, plan)
    db.dispose()


def _sqlite_plan(db: Database, q: Query) -> str:
    captured: list[str] = []
    with db.read() as connection:
        original = connection.execute

        def explain(statement: Any, *args: Any, **kwargs: Any) -> Any:
            compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
            rows = original(text(f"EXPLAIN QUERY PLAN {compiled}"))
            captured.append(" | ".join(str(row[-1]) for row in rows))
            return original(statement, *args, **kwargs)

        connection.execute = explain  # type: ignore[method-assign]
        find_events(connection, q, NOW, None, 50)
    return captured[0]


@pytest.mark.postgres
def test_lookups_can_use_the_indexes_on_postgres(postgres_url: str) -> None:  # noqa: F811
    db = Database(postgres_url)
    db.migrate()
    append_events(db, [event(resources=(("AWS::IAM::User", "bob"),))])
    with db.read() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_sort = off"))
        for column in ("event_name", "username", "event_source", "access_key_id"):
            plan = "\n".join(connection.execute(text(
                f"EXPLAIN SELECT seq FROM ct_events WHERE account_id = 'a' AND region = 'r' AND category = 'c' "
                f"AND {column} = 'x' AND event_time >= now() ORDER BY event_time DESC, seq DESC LIMIT 51"
            )).scalars())
            assert "Index" in plan and "Sort" not in plan, plan
    db.dispose()


# --- the writer ----------------------------------------------------------------------


ALICE = PrincipalRef(ACCOUNT, "user", "alice", f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAEXAMPLE")


def record(operation: str = "GetUser", account: str | None = ACCOUNT) -> CallRecord:
    return CallRecord(str(uuid.uuid4()), NOW, "iam", operation, "us-east-1", "127.0.0.1", "test", account,
                      ALICE.arn, "user", "AIDAEXAMPLE", "AKIAEXAMPLE000000001", 200,
                      principal=ALICE if account else None)


class FlakyDb:
    """A database whose next ``failures`` write transactions fail, as a locked or restarting one would."""

    def __init__(self, db: Database, failures: int = 0) -> None:
        self._db = db
        self.failures = failures

    @contextmanager
    def session(self) -> Iterator[Any]:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        with self._db.session() as session:
            yield session

    def read(self) -> Any:
        return self._db.read()


def journal_of(path: Path, *batches: list[CallRecord]) -> CallJournal:
    journal = CallJournal(path)
    for batch in batches:
        journal(batch)
    return journal


def test_tailer_stores_each_journal_line_once(any_db: Database, tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "calls.jsonl", [record() for _ in range(10)], [record(account=None)])
    tailer = HistoryTailer(any_db, journal.path, "j1", read_bytes=2000)  # a few lines per read
    tailer.drain()
    assert count(any_db, ct_events) == 10 and tailer.stored == 10
    assert tailer.offset == journal.size() == stored_offset(any_db, "j1")
    journal([record("CreateUser")])
    again = HistoryTailer(any_db, journal.path, "j1")  # a restarted process goes on from the cursor
    again.drain()
    assert count(any_db, ct_events) == 11 and again.stored == 1


def test_two_tailers_racing_store_nothing_twice(any_db: Database, tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "calls.jsonl", [record() for _ in range(5)])
    first, second = (HistoryTailer(any_db, journal.path, "j1") for _ in range(2))
    first.drain()
    second.drain()  # its commit finds the cursor moved: it goes on from there
    assert count(any_db, ct_events) == 5 and second.stored == 0 and second.offset == journal.size()


def test_tailer_retries_a_failed_commit_and_logs_it(any_db: Database, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(history, "RETRY_FIRST_SECONDS", 0.01)
    flaky = FlakyDb(any_db)
    journal = journal_of(tmp_path / "calls.jsonl", [record() for _ in range(4)])
    tailer = HistoryTailer(flaky, journal.path, "j1")
    flaky.failures = 3
    tailer.drain()
    assert count(any_db, ct_events) == 4
    assert sum("retrying" in message for message in caplog.messages) == 3


def test_tailer_passes_over_lines_it_cannot_use(any_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    real = history.build_events

    def picky(found: CallRecord) -> list[TrailEvent]:
        if found.operation == "Broken":
            raise KeyError("boom")
        return real(found)

    monkeypatch.setattr(history, "build_events", picky)
    journal = journal_of(tmp_path / "calls.jsonl", [record(), record("Broken")])
    with journal.path.open("ab") as raw:
        raw.write(b'{"not": "a record"}\n[1, 2]\n')
    journal([record()])
    HistoryTailer(any_db, journal.path, "j1").drain()
    assert count(any_db, ct_events) == 2
    assert any("builder failed" in message for message in caplog.messages)
    assert sum("not a call record" in message for message in caplog.messages) == 2


def test_a_replaced_journal_is_read_from_its_start(any_db: Database, tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "calls.jsonl", [record() for _ in range(3)])
    HistoryTailer(any_db, journal.path, "j1").drain()
    journal.path.unlink()
    journal_of(journal.path, [record("CreateUser")])
    HistoryTailer(any_db, journal.path, "j1").drain()
    assert count(any_db, ct_events) == 4


def test_skip_to_stores_nothing_before_the_offset(any_db: Database, tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "calls.jsonl", [record() for _ in range(3)])
    skip_to(any_db, "j1", journal.size())
    journal([record("CreateUser")])
    HistoryTailer(any_db, journal.path, "j1").drain()
    assert count(any_db, ct_events) == 1


# --- through the server ----------------------------------------------------------------


def test_history_survives_a_restart_and_the_window_follows_the_clock(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        server.client("iam").create_user(UserName="durable")
        event_ids = {e["EventId"] for e in server.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])["Events"]}
        assert len(event_ids) == 1
        for _ in range(20):  # still queued at shutdown: a graceful stop commits them
            server.client("sts").get_caller_identity()
    finally:
        server.stop()
    server = start_server(tmp_path / "data")
    try:
        ct = server.client("cloudtrail")
        again = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
        assert {e["EventId"] for e in again["Events"]} == event_ids
        calls = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}])
        assert len(calls["Events"]) == 20
        server.admin("POST", "clock/advance", json={"seconds": 91 * 86400}).raise_for_status()
        server.admin("POST", "jobs/run").raise_for_status()
        assert ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                   "AttributeValue": "CreateUser"}])["Events"] == []
    finally:
        server.stop()


def test_audit_off_records_no_history_even_once_it_is_on_again(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", extra_env={"RAMPART_AUDIT": "off"})
    try:
        server.client("sts").get_caller_identity()
        assert server.client("cloudtrail").lookup_events()["Events"] == []
    finally:
        server.stop()
    server = start_server(tmp_path / "data")
    try:
        ct = server.client("cloudtrail")
        assert ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                  "AttributeValue": "GetCallerIdentity"}])["Events"] == []
        server.client("sts").get_caller_identity()
        assert len(ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                      "AttributeValue": "GetCallerIdentity"}])["Events"]) == 1
    finally:
        server.stop()


def test_processes_starting_together_agree_on_the_journal_id(tmp_path: Path) -> None:
    journal = tmp_path / "calls.jsonl"
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: journal_identity(journal), range(64)))
    assert len(ids) == 1 and len(ids.pop()) == 32
    assert [path.name for path in tmp_path.iterdir()] == ["calls.jsonl.id"]
