"""Scheduled jobs: time-based work that runs by the clock, never by sleeping.

Key deletion windows, key rotation, trail delivery and digests, periodic rules:
each is a job registered at import time with how often it is due. A job runs
when ``run_due`` finds it due by Rampart's clock (which tests move through the
admin API), under a lease in the database so that with several server
processes each due run happens once. The server calls ``run_due`` about once
a second in the background; in test mode ``POST /_rampart/jobs/run`` runs the
due jobs at once and answers when they have finished.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

log = logging.getLogger("rampart.jobs")

LEASE = dt.timedelta(minutes=5)  # a run that outlives its lease is taken to have crashed
WAIT_FOR_LEASE_SECONDS = 30.0
RETRY_AFTER = LEASE  # a failed round is tried again this much later (by Rampart's clock)

scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("next_run_at", UtcDateTime(timezone=True), nullable=False),
    Column("lease_until", UtcDateTime(timezone=True), nullable=True),
)

JobFunction = Callable[[Any, dt.datetime], None]
Interval = float | Callable[[Any], float]
"""Seconds between runs, or a function of the server's Settings giving them (RAMPART_TRAIL_DELIVERY_SECONDS)."""


@dataclass(frozen=True, slots=True)
class Job:
    """A named piece of periodic work; ``run(gateway, now)`` does one round of it."""

    name: str
    every_seconds: Interval
    run: JobFunction

    def every(self, settings: Any) -> dt.timedelta:
        """The interval under these settings."""
        seconds = self.every_seconds(settings) if callable(self.every_seconds) else self.every_seconds
        return dt.timedelta(seconds=seconds)


_jobs: dict[str, Job] = {}


def job(name: str, every_seconds: Interval) -> Callable[[JobFunction], JobFunction]:
    """Register ``function(gateway, now)`` to run every ``every_seconds`` of Rampart's clock.

    A job must be idempotent over its own state: after a crash its lease runs
    out and the round runs again.
    """

    def register(function: JobFunction) -> JobFunction:
        _jobs[name] = Job(name, every_seconds, function)
        return function

    return register


def registered() -> list[Job]:
    """Every registered job, by name."""
    return [_jobs[name] for name in sorted(_jobs)]


def run_due(gateway: Any, *, wait: bool = False) -> list[str]:
    """Run every job that is due now; returns the names of those that ran here.

    With ``wait``, a due job whose lease another process (or the background
    runner) holds is waited for, so that the caller knows all work due by now
    is done when this returns; without it such a job is skipped.
    """
    ran: list[str] = []
    for found in registered():
        now = gateway.clock.now()
        if _acquire(gateway.db, found, now, wait=wait):
            _run_leased(gateway, found, now)
            ran.append(found.name)
    return ran


def _run_leased(gateway: Any, found: Job, now: dt.datetime) -> None:
    """One round under the lease; the next run is scheduled only when the round succeeded."""
    next_run_at = now + found.every(gateway.settings)
    try:
        found.run(gateway, now)
    except Exception:  # one failing job must not stop the others; it is retried
        log.exception("scheduled job %s failed; it runs again in %s", found.name, RETRY_AFTER)
        # The lease is released, not left to run out: a waiting caller (the admin route) would
        # otherwise sit out WAIT_FOR_LEASE_SECONDS on a run that is already over.
        next_run_at = now + RETRY_AFTER
    with gateway.db.session() as session:
        session.execute(
            update(scheduled_jobs)
            .where(scheduled_jobs.c.name == found.name)
            .values(next_run_at=next_run_at, lease_until=None)
        )


def _acquire(db: Any, found: Job, now: dt.datetime, *, wait: bool) -> bool:
    """Take the job's lease when it is due and free; True when this caller runs it."""
    deadline = time.monotonic() + WAIT_FOR_LEASE_SECONDS
    while True:
        state = _state(db, found, now)
        if state == "due":
            return True
        if state == "not-due" or not wait or time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _state(db: Any, found: Job, now: dt.datetime) -> str:
    """'due' (and leased to us), 'leased' (someone else runs it) or 'not-due'."""
    table = scheduled_jobs
    with db.session() as session:
        row = session.execute(select(table).where(table.c.name == found.name)).one_or_none()
        if row is None:
            try:
                with session.begin_nested():
                    session.execute(insert(table).values(name=found.name, next_run_at=now, lease_until=now + LEASE))
                return "due"
            except IntegrityError:
                return "leased"
        if row.next_run_at > now:
            return "not-due"
        if row.lease_until is not None and row.lease_until > now:
            return "leased"
        same_lease = table.c.lease_until.is_(None) if row.lease_until is None else table.c.lease_until == row.lease_until
        taken = session.execute(
            update(table).where(table.c.name == found.name, same_lease).values(lease_until=now + LEASE)
        )
        return "due" if taken.rowcount == 1 else "leased"

