"""Scheduled jobs: due by Rampart's clock, run once per due round, retried after a failure."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from rampart import jobs
from rampart.clock import Clock
from rampart.config import Settings
from rampart.storage.db import Database


@dataclass
class _Gateway:
    db: Database
    clock: Clock = field(default_factory=Clock)
    settings: Settings = field(default_factory=Settings)


@pytest.fixture
def gateway(any_db: Database) -> _Gateway:
    return _Gateway(any_db)


@pytest.fixture
def counting_job() -> Any:
    runs: list[dt.datetime] = []
    name = f"test.counting.{id(runs)}"
    jobs.job(name, every_seconds=60)(lambda _gateway, now: runs.append(now))
    yield name, runs
    jobs._jobs.pop(name)


def test_a_job_runs_when_first_seen_then_only_when_due(gateway: _Gateway, counting_job: Any) -> None:
    name, runs = counting_job
    assert name in jobs.run_due(gateway)
    assert name not in jobs.run_due(gateway)
    gateway.clock.advance(59)
    assert name not in jobs.run_due(gateway)
    gateway.clock.advance(2)
    assert name in jobs.run_due(gateway)
    assert len(runs) == 2


def test_a_failing_job_runs_again_after_the_retry_delay(gateway: _Gateway) -> None:
    attempts: list[int] = []

    def flaky(_gateway: Any, _now: dt.datetime) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk full")

    jobs.job("test.flaky", every_seconds=60)(flaky)
    try:
        assert "test.flaky" in jobs.run_due(gateway)
        assert "test.flaky" not in jobs.run_due(gateway)  # postponed by the failed round
        gateway.clock.advance(jobs.RETRY_AFTER.total_seconds() + 1)
        assert "test.flaky" in jobs.run_due(gateway)
        assert len(attempts) == 2
    finally:
        jobs._jobs.pop("test.flaky")


def test_a_failed_round_does_not_hold_up_a_waiting_caller(gateway: _Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin route waits for leased jobs; a round that already failed must not make it wait out the lease."""
    monkeypatch.setattr(jobs, "WAIT_FOR_LEASE_SECONDS", 3.0)

    def broken(_gateway: Any, _now: dt.datetime) -> None:
        raise OSError("disk full")

    jobs.job("test.broken", every_seconds=60)(broken)
    try:
        assert "test.broken" in jobs.run_due(gateway)
        started = time.monotonic()
        assert "test.broken" not in jobs.run_due(gateway, wait=True)
        assert time.monotonic() - started < 1.5
        gateway.clock.advance(jobs.RETRY_AFTER.total_seconds() + 1)
        assert "test.broken" in jobs.run_due(gateway, wait=True)
    finally:
        jobs._jobs.pop("test.broken")
