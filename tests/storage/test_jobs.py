"""Scheduled jobs: due by Rampart's clock, run once per due round, retried after a failure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from rampart import jobs
from rampart.clock import Clock
from rampart.storage.db import Database


@dataclass
class _Gateway:
    db: Database
    clock: Clock = field(default_factory=Clock)


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


def test_a_failing_job_keeps_its_lease_and_runs_again_after_it(gateway: _Gateway) -> None:
    attempts: list[int] = []

    def flaky(_gateway: Any, _now: dt.datetime) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk full")

    jobs.job("test.flaky", every_seconds=60)(flaky)
    try:
        assert "test.flaky" in jobs.run_due(gateway)
        assert "test.flaky" not in jobs.run_due(gateway)  # leased by the failed round
        gateway.clock.advance(jobs.LEASE.total_seconds() + 1)
        assert "test.flaky" in jobs.run_due(gateway)
        assert len(attempts) == 2
    finally:
        jobs._jobs.pop("test.flaky")
