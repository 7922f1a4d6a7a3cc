"""Account generations: how one server process learns that another changed an account's permissions.

Every process caches what it needs on each request (signing keys, compiled
policy sets). A change made here drops the cache at once; a change made by
another worker process bumps the account's generation in the same
transaction, and ``GenerationWatch`` notices it within ``interval`` seconds
(one primary-key read per account per interval, not per request).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from rampart.storage.db import Database
from rampart.storage.schema import account_generations

CHECK_INTERVAL_SECONDS = 0.1
_BUMPED = "rampart.bumped_accounts"

_READ = select(account_generations.c.generation).where(account_generations.c.account_id == bindparam("account_id"))


def create_generation(session: Session | Connection, account_id: str) -> None:
    """The counter of a new account (made with the account, so bumps never race an insert)."""
    session.execute(insert(account_generations).values(account_id=account_id, generation=0))


def bump_generation(session: Session, account_id: str) -> None:
    """Record, in the caller's transaction, that the account's permissions changed (once per transaction)."""
    bumped: set[str] = session.info.setdefault(_BUMPED, set())
    if account_id in bumped:
        return
    bumped.add(account_id)
    session.execute(
        update(account_generations)
        .where(account_generations.c.account_id == account_id)
        .values(generation=account_generations.c.generation + 1)
    )


class GenerationWatch:
    """Tells whether an account changed since this process last looked (at most every ``interval`` s)."""

    def __init__(self, db: Database, interval: float = CHECK_INTERVAL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.interval = interval
        self._monotonic = monotonic
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def prime(self, account_id: str) -> None:
        """Start watching an account whose state was just read (its generation now is the baseline)."""
        if account_id not in self._seen:
            self.changed(account_id)

    def changed(self, account_id: str) -> bool:
        """True once when the account's generation moved since the last check."""
        now = self._monotonic()
        seen = self._seen.get(account_id)
        if seen is not None and now - seen[0] < self.interval:
            return False
        with self.db.read_one() as conn:
            generation = conn.execute(_READ, {"account_id": account_id}).scalar() or 0
        with self._lock:
            self._seen[account_id] = (now, generation)
        return seen is not None and seen[1] != generation
