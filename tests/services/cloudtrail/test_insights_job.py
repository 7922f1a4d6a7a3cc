"""The cloudtrail.insights job in process, on SQLite and PostgreSQL (upserts, cursor, replay safety)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail import history, insights
from rampart.services.cloudtrail.insights_model import (
    CALL_RATE,
    ERROR_RATE,
    Baseline,
    InsightKey,
    InsightRecord,
)
from rampart.services.cloudtrail.tables import ct_events
from rampart.services.cloudtrail.tables_insights import (
    ct_insight_active,
    ct_insight_counts,
    ct_insight_cursor,
)
from rampart.storage.db import Database
from tests.storage.pg import any_db, any_db_url, postgres_url  # noqa: F401 - fixtures

ACCOUNT = "111122223333"
T0 = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Watcher:
    """A logging trail with Insights that takes every event of ACCOUNT."""

    insight_types = (CALL_RATE, ERROR_RATE)
    logging = True

    def selects(self, event: TrailEvent) -> bool:
        return event.account_id == ACCOUNT


@pytest.fixture
def gateway(any_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # noqa: F811 - fixture
    monkeypatch.setenv("RAMPART_INSIGHTS_BASELINE_MINUTES", "30")
    monkeypatch.setenv("RAMPART_INSIGHTS_MIN_BASELINE_MINUTES", "10")
    monkeypatch.setenv("RAMPART_INSIGHTS_LAG_SECONDS", "0")
    watchers: list[Any] = []
    monkeypatch.setattr(insights, "all_trails", lambda _conn: list(watchers))
    yield SimpleNamespace(db=any_db, watchers=watchers)


def _calls(at: dt.datetime, count: int, name: str = "CreateUser", account: str = ACCOUNT) -> list[TrailEvent]:
    return [TrailEvent(str(uuid.uuid4()), account, "us-east-1", at + dt.timedelta(seconds=i),
                       "iam.amazonaws.com", name, False, "Management", "alice", None, (), None,
                       {"userIdentity": {"arn": f"arn:aws:iam::{account}:user/alice"}, "userAgent": "boto3"})
            for i in range(count)]


def _insight_bodies(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(select(ct_events.c.body).where(ct_events.c.category == "Insight").order_by(ct_events.c.seq))
        return [orjson.loads(body) for body in rows.scalars()]


def test_standing_by_only_moves_the_cursor(gateway: Any) -> None:
    history.append_events(gateway.db, _calls(T0, 3))
    insights.run_insights(gateway, T0 + MINUTE)
    with gateway.db.read() as conn:
        assert conn.execute(select(ct_insight_cursor.c.last_seq)).scalar() == 3
        assert conn.execute(select(func.count()).select_from(ct_insight_counts)).scalar() == 0


def test_burst_starts_and_ends_an_insight(gateway: Any) -> None:
    gateway.watchers.append(Watcher())
    insights.run_insights(gateway, T0)  # first round: the cursor starts at the newest event
    for minute in range(12):
        at = T0 + minute * MINUTE
        history.append_events(gateway.db, _calls(at + dt.timedelta(seconds=5), 2)
                              + _calls(at + dt.timedelta(seconds=5), 1, account="999988887777"))
        insights.run_insights(gateway, at + MINUTE + dt.timedelta(seconds=1))
    assert _insight_bodies(gateway.db) == []
    burst = T0 + 12 * MINUTE
    history.append_events(gateway.db, _calls(burst + dt.timedelta(seconds=5), 20))
    insights.run_insights(gateway, burst + MINUTE)
    history.append_events(gateway.db, _calls(burst + MINUTE + dt.timedelta(seconds=5), 2))
    insights.run_insights(gateway, burst + 2 * MINUTE)
    start, end = _insight_bodies(gateway.db)
    assert [start["insightDetails"]["state"], end["insightDetails"]["state"]] == ["Start", "End"]
    assert start["sharedEventID"] == end["sharedEventID"]
    statistics = start["insightDetails"]["insightContext"]["statistics"]
    assert statistics == {"baseline": {"average": 2.0}, "insight": {"average": 20.0},
                          "insightDuration": 1, "baselineDuration": 12}
    assert start["eventTime"] == "2026-11-29T12:12:00Z" and end["eventTime"] == "2026-11-29T12:13:00Z"
    with gateway.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(ct_insight_active)).scalar() == 0
        counted = conn.execute(select(func.sum(ct_insight_counts.c.calls))).scalar()
    assert counted == 12 * 2 + 20 + 2  # the other account's calls are nobody's to analyze


def test_a_round_repeated_after_a_crash_adds_no_duplicate(gateway: Any) -> None:
    key = InsightKey(ACCOUNT, "us-east-1", "iam.amazonaws.com", "CreateUser", CALL_RATE)
    record = InsightRecord(key, "Start", T0, key.shared_event_id(T0), Baseline(1.0, 0.0, 30), 9.0, 1)
    insights._record(gateway.db, [record])
    insights._record(gateway.db, [record])
    assert len(_insight_bodies(gateway.db)) == 1
