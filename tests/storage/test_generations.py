"""Account generations: another process's change is noticed within one check interval, and only once."""

from __future__ import annotations

from rampart.clock import clock
from rampart.storage.db import Database
from rampart.storage.generations import (
    GenerationWatch,
    bump_generation,
    create_generation,
)
from rampart.storage.schema import accounts


class FakeTime:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bump_is_seen_once_after_the_interval(any_db: Database) -> None:
    with any_db.session() as session:
        session.execute(accounts.insert().values(account_id="111111111111", name="a", created_at=clock.now()))
        create_generation(session, "111111111111")
    time = FakeTime()
    watch = GenerationWatch(any_db, interval=0.1, monotonic=time)
    watch.prime("111111111111")
    with any_db.session() as session:  # "another process" changes the account; twice in one transaction
        bump_generation(session, "111111111111")
        bump_generation(session, "111111111111")
    assert not watch.changed("111111111111")  # not checked again within the interval
    time.now = 0.2
    assert watch.changed("111111111111")
    assert not watch.changed("111111111111")
    time.now = 0.4
    assert not watch.changed("111111111111")  # nothing new
