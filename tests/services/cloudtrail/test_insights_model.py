"""CloudTrail Insights statistics, decisions and record format (pure, table-driven)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.services.cloudtrail.insights_model import (
    CALL_RATE,
    Baseline,
    InsightConfig,
    InsightKey,
    InsightRecord,
    attributions,
    ends,
    starts,
    top_values,
)

CONFIG = InsightConfig(baseline_minutes=60, min_baseline_minutes=10)
T0 = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def series_baseline(counts: list[int]) -> Baseline:
    """A baseline the way the job builds it: sums of the non-zero minutes, over all minutes."""
    return Baseline.of(float(sum(counts)), float(sum(c * c for c in counts)), len(counts))


@pytest.mark.parametrize(("counts", "average", "stddev"), [
    ([1] * 30, 1.0, 0.0),
    ([0, 2] * 10, 1.0, 1.0),
    ([0] * 59 + [60], 1.0, math.sqrt(59.0)),
    ([], 0.0, 0.0),
    ([0] * 10, 0.0, 0.0),
    ([3, 5], 4.0, 1.0),
])
def test_baseline_average_and_deviation(counts: list[int], average: float, stddev: float) -> None:
    found = series_baseline(counts)
    assert found.average == pytest.approx(average)
    assert found.stddev == pytest.approx(stddev)
    assert found.minutes == len(counts)


@pytest.mark.parametrize(("counts", "now", "expected"), [
    ([1] * 30, 10, True),  # steady 1/min, then 10
    ([1] * 30, 4, False),  # 1 + max(4 * 1, 3) = 5 needed
    ([1] * 30, 5, True),
    ([0] * 30, 3, True),  # a never-called API: three calls in a minute are unusual
    ([0] * 30, 2, False),
    ([1] * 5, 50, False),  # not enough baseline yet (min 10 minutes)
    ([100] * 30, 150, True),  # 4 * sqrt(100) above would be 140: the 1.5x ratio sets the bar
    ([100] * 30, 149, False),
    ([0, 20] * 15, 30, False),  # bursty API: its own deviation (10) sets the bar at 50
    ([0, 20] * 15, 50, True),
])
def test_start_threshold(counts: list[int], now: int, expected: bool) -> None:
    assert starts(CONFIG, series_baseline(counts), now) is expected


@pytest.mark.parametrize(("counts", "now", "expected"), [
    ([1] * 30, 1, True),
    ([1] * 30, 3, True),  # 1 + max(2 * 1, 1)
    ([1] * 30, 4, False),
    ([0] * 30, 0, True),
    ([0] * 30, 1, True),
    ([0] * 30, 2, False),
    ([100] * 30, 120, True),
    ([100] * 30, 121, False),
])
def test_end_threshold(counts: list[int], now: int, expected: bool) -> None:
    assert ends(CONFIG, series_baseline(counts), now) is expected


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=10, max_size=200), st.integers(0, 5000))
def test_a_start_is_never_also_an_end(counts: list[int], now: int) -> None:
    """Hysteresis: a count unusual enough to start an insight never counts as back to normal."""
    baseline = series_baseline(counts)
    assert not (starts(CONFIG, baseline, now) and ends(CONFIG, baseline, now))


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=300))
def test_deviation_is_never_negative_or_nan(counts: list[int]) -> None:
    found = series_baseline(counts)
    assert found.stddev >= 0 and not math.isnan(found.stddev)


@pytest.mark.parametrize(("counts", "minutes", "expected"), [
    ({"a": 6, "b": 3}, 3, [{"value": "a", "average": 2.0}, {"value": "b", "average": 1.0}]),
    ({"b": 1, "a": 1}, 1, [{"value": "a", "average": 1.0}, {"value": "b", "average": 1.0}]),
    ({str(i): i for i in range(1, 9)}, 1, [{"value": str(i), "average": float(i)} for i in (8, 7, 6, 5, 4)]),
    ({"a": 1}, 3, [{"value": "a", "average": 0.3333333333}]),
    ({"a": 0}, 1, []),
    ({"a": 5}, 0, []),
])
def test_top_values(counts: dict[str, int], minutes: int, expected: list[dict[str, object]]) -> None:
    assert top_values(counts, minutes) == expected


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert InsightConfig.from_env().baseline_minutes == 10080
    assert InsightConfig.from_env().min_baseline_minutes == 2160
    monkeypatch.setenv("RAMPART_INSIGHTS_BASELINE_MINUTES", "30")
    monkeypatch.setenv("RAMPART_INSIGHTS_LAG_SECONDS", "0")
    config = InsightConfig.from_env()
    assert (config.baseline_minutes, config.min_baseline_minutes, config.lag_seconds) == (30, 30, 0)
    assert config.every_seconds == 60
    monkeypatch.setenv("RAMPART_INSIGHTS_MIN_BASELINE_MINUTES", "12")
    assert InsightConfig.from_env().min_baseline_minutes == 12


def test_record_format_and_ids() -> None:
    key = InsightKey("111122223333", "us-east-1", "iam.amazonaws.com", "CreateUser", CALL_RATE)
    shared = key.shared_event_id(T0)
    assert shared == key.shared_event_id(T0) != key.shared_event_id(T0 + dt.timedelta(minutes=1))
    baseline = Baseline(1.0, 0.0, 30)
    insight = attributions({"errorCode": {"null": 10}}, 1, {"errorCode": [{"value": "null", "average": 1.0}]})
    start = InsightRecord(key, "Start", T0, shared, baseline, 10.0, 1, insight)
    body = start.body()
    assert body == {
        "eventVersion": "1.08",
        "eventTime": "2026-11-29T12:00:00Z",
        "awsRegion": "us-east-1",
        "eventID": key.event_id(shared, "Start"),
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": "111122223333",
        "sharedEventID": shared,
        "insightDetails": {
            "state": "Start", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "insightType": "ApiCallRateInsight",
            "insightContext": {
                "statistics": {"baseline": {"average": 1.0}, "insight": {"average": 10.0},
                               "insightDuration": 1, "baselineDuration": 30},
                "attributions": [
                    {"attribute": "userIdentityArn", "insight": [], "baseline": []},
                    {"attribute": "userAgent", "insight": [], "baseline": []},
                    {"attribute": "errorCode", "insight": [{"value": "null", "average": 10.0}],
                     "baseline": [{"value": "null", "average": 1.0}]},
                ],
            },
        },
        "eventCategory": "Insight",
    }
    end = InsightRecord(key, "End", T0 + dt.timedelta(minutes=2), shared, baseline, 9.5, 2)
    assert end.body()["eventID"] != body["eventID"] and end.body()["sharedEventID"] == shared
    event = start.trail_event()
    assert (event.category, event.event_name, event.event_source, event.event_id) == (
        "Insight", "CreateUser", "iam.amazonaws.com", body["eventID"])
