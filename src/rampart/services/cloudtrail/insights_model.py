"""CloudTrail Insights, the pure part: baselines, when an insight starts and ends, its record.

No I/O here, so the statistics are table-tested on their own; ``insights``
feeds them the per-minute counts it keeps and stores what they decide.

The model: an API's per-minute count (write calls for ApiCallRateInsight,
calls with an errorCode for ApiErrorRateInsight) over the baseline window
(AWS: the 7 days before; minutes without calls count as 0) gives an average
and a standard deviation. A minute starts an insight when its count is well
above the baseline (``start_sigmas`` deviations, at least ``min_excess`` more
calls and ``min_ratio`` times the average); the insight ends at the first
minute back near the baseline (``end_sigmas`` / ``end_excess``). The
deviation is never taken below sqrt(average), the Poisson noise of a count,
so a perfectly steady API is not flagged for one extra call. While an insight
is open its baseline stays the one frozen at its start: AWS's baselineDuration
always ends where the insight began.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rampart.events.trail_record import TrailEvent

CALL_RATE = "ApiCallRateInsight"
ERROR_RATE = "ApiErrorRateInsight"
INSIGHT_TYPES = (CALL_RATE, ERROR_RATE)
ATTRIBUTES = ("userIdentityArn", "userAgent", "errorCode")
TOP_VALUES = 5  # AWS lists at most five values per attribute, highest average first
NO_ERROR = "null"  # AWS's errorCode attribution value for calls that succeeded
EVENT_VERSION = "1.08"
_NAMESPACE = uuid.UUID("6f1c9d3e-2b1a-4c55-9f0e-5a4e1c2d7b90")  # for deterministic, replay-safe event IDs


DEFAULT_BASELINE_MINUTES = 7 * 24 * 60
DEFAULT_MIN_BASELINE_MINUTES = 36 * 60
DEFAULT_LAG_SECONDS = 30
DEFAULT_EVERY_SECONDS = 60


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True, slots=True)
class InsightConfig:
    """How Insights learn and decide; the windows come from ``RAMPART_INSIGHTS_*`` (tests shorten them).

    ``baseline_minutes`` (RAMPART_INSIGHTS_BASELINE_MINUTES, AWS: 7 days) is
    the window a baseline is averaged over; ``min_baseline_minutes``
    (RAMPART_INSIGHTS_MIN_BASELINE_MINUTES, default 36 hours, AWS's "up to 36
    hours" before the first Insights) how much of it must have been counted
    before anything is detected; ``lag_seconds`` (RAMPART_INSIGHTS_LAG_SECONDS)
    how long after a minute ends it is analyzed, so its late-written events
    are in; ``every_seconds`` (RAMPART_INSIGHTS_EVERY_SECONDS, default 60) how
    often the job runs: a round analyzes every minute completed since the last,
    so tests that step the clock a minute at a time run it more often than
    that to never miss a round by a few milliseconds.
    """

    baseline_minutes: int = DEFAULT_BASELINE_MINUTES
    min_baseline_minutes: int = DEFAULT_MIN_BASELINE_MINUTES
    lag_seconds: int = DEFAULT_LAG_SECONDS
    every_seconds: int = DEFAULT_EVERY_SECONDS
    start_sigmas: float = 4.0
    min_excess: float = 3.0
    min_ratio: float = 1.5
    end_sigmas: float = 2.0
    end_excess: float = 1.0
    max_catch_up_minutes: int = 180  # after a long outage only the latest minutes are analyzed

    @classmethod
    def from_env(cls) -> InsightConfig:
        """The defaults, with the windows the environment sets."""
        baseline = max(1, _env_int("RAMPART_INSIGHTS_BASELINE_MINUTES", DEFAULT_BASELINE_MINUTES))
        minimum = _env_int("RAMPART_INSIGHTS_MIN_BASELINE_MINUTES", min(DEFAULT_MIN_BASELINE_MINUTES, baseline))
        lag = max(0, _env_int("RAMPART_INSIGHTS_LAG_SECONDS", DEFAULT_LAG_SECONDS))
        every = max(1, _env_int("RAMPART_INSIGHTS_EVERY_SECONDS", DEFAULT_EVERY_SECONDS))
        return cls(baseline_minutes=baseline, min_baseline_minutes=max(1, min(minimum, baseline)), lag_seconds=lag,
                   every_seconds=every)


@dataclass(frozen=True, slots=True)
class Baseline:
    """An API's normal per-minute count: average and deviation over ``minutes`` minutes."""

    average: float
    stddev: float
    minutes: int

    @classmethod
    def of(cls, total: float, total_squares: float, minutes: int) -> Baseline:
        """From the sum and sum of squares of the non-zero minutes (zero minutes add nothing to either)."""
        if minutes <= 0:
            return cls(0.0, 0.0, 0)
        average = total / minutes
        variance = max(total_squares / minutes - average * average, 0.0)
        return cls(average, math.sqrt(variance), minutes)

    @property
    def noise(self) -> float:
        """The deviation used for decisions: never below a count's Poisson noise, sqrt(average)."""
        return max(self.stddev, math.sqrt(self.average))


def starts(config: InsightConfig, baseline: Baseline, count: int) -> bool:
    """Whether a minute with ``count`` calls departs from the baseline enough to start an insight."""
    if baseline.minutes < config.min_baseline_minutes:
        return False
    excess = max(config.start_sigmas * baseline.noise, config.min_excess)
    return count >= baseline.average + excess and count >= config.min_ratio * baseline.average


def ends(config: InsightConfig, baseline: Baseline, count: int) -> bool:
    """Whether a minute with ``count`` calls is back near the baseline, ending an open insight."""
    return count <= baseline.average + max(config.end_sigmas * baseline.noise, config.end_excess)


def top_values(counts: Mapping[str, int], minutes: int) -> list[dict[str, Any]]:
    """AWS's attribution list: the highest per-minute averages, ties by value, at most five."""
    if minutes <= 0:
        return []
    ranked = sorted(((-count, value) for value, count in counts.items() if count > 0))[:TOP_VALUES]
    return [{"value": value, "average": round_average(-negative / minutes)} for negative, value in ranked]


def round_average(value: float) -> float:
    """Averages as AWS prints them: up to ten decimals."""
    return round(value, 10)


def attributions(insight: Mapping[str, Mapping[str, int]], insight_minutes: int,
                 baseline: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """insightContext.attributions: per attribute, the insight's top values against the baseline's."""
    return [{"attribute": name, "insight": top_values(insight.get(name, {}), insight_minutes),
             "baseline": baseline.get(name, [])} for name in ATTRIBUTES]


def baseline_attributions(counts: Mapping[str, Mapping[str, int]], minutes: int) -> dict[str, list[dict[str, Any]]]:
    """The baseline side of the attributions, frozen when an insight starts."""
    return {name: top_values(counts.get(name, {}), minutes) for name in ATTRIBUTES}


@dataclass(frozen=True, slots=True)
class InsightKey:
    """Which insight: the account and region analyzed, the API, the insight type."""

    account_id: str
    region: str
    event_source: str
    event_name: str
    insight_type: str

    def shared_event_id(self, started_at: dt.datetime) -> str:
        """The sharedEventID of the insight starting at that minute (the same for its Start and End)."""
        return str(uuid.uuid5(_NAMESPACE, "|".join((*self._parts(), started_at.isoformat()))))

    def event_id(self, shared_event_id: str, state: str) -> str:
        """A Start or End record's eventID: derived, so a round run again after a crash adds no duplicate."""
        return str(uuid.uuid5(_NAMESPACE, f"{shared_event_id}|{state}"))

    def _parts(self) -> tuple[str, ...]:
        return (self.account_id, self.region, self.event_source, self.event_name, self.insight_type)


@dataclass(frozen=True, slots=True)
class InsightRecord:
    """What one Start or End record says."""

    key: InsightKey
    state: str  # Start | End
    event_time: dt.datetime
    shared_event_id: str
    baseline: Baseline
    insight_average: float
    insight_minutes: int
    attributions: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The record exactly as CloudTrail writes an Insights event for a trail."""
        statistics = {
            "baseline": {"average": round_average(self.baseline.average)},
            "insight": {"average": round_average(self.insight_average)},
            "insightDuration": self.insight_minutes,
            "baselineDuration": self.baseline.minutes,
        }
        return {
            "eventVersion": EVENT_VERSION,
            "eventTime": self.event_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "awsRegion": self.key.region,
            "eventID": self.key.event_id(self.shared_event_id, self.state),
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": self.key.account_id,
            "sharedEventID": self.shared_event_id,
            "insightDetails": {
                "state": self.state,
                "eventSource": self.key.event_source,
                "eventName": self.key.event_name,
                "insightType": self.key.insight_type,
                "insightContext": {"statistics": statistics, "attributions": self.attributions},
            },
            "eventCategory": "Insight",
        }

    def trail_event(self) -> TrailEvent:
        """The record as a history event (category Insight, filed under the API it is about)."""
        body = self.body()
        return TrailEvent(body["eventID"], self.key.account_id, self.key.region, self.event_time,
                          self.key.event_source, self.key.event_name, False, "Insight", None, None, (), None, body)
