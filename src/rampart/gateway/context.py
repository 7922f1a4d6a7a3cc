"""The Gateway: the long-lived things every call needs (settings, clock, bus, stores)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rampart.clock import Clock, clock
from rampart.config import Settings
from rampart.events.bus import EventBus
from rampart.events.journal import CallJournal

KeyLookup = Callable[[str], Any]


@dataclass(slots=True)
class Gateway:
    """Shared state of one server process.

    ``lookup_key`` returns the SigV4 signing record for an access key id (or
    None); ``db`` and ``accounts`` are the storage objects when the server runs
    on a database (tests of the pure pipeline may leave them None).
    """

    settings: Settings
    lookup_key: KeyLookup
    bus: EventBus = field(default_factory=EventBus)
    clock: Clock = clock
    db: Any = None
    accounts: Any = None
    journal: CallJournal | None = None  # the call journal (events/journal.py): every answered call, CloudTrail's source
    # Called (in order, after the bus is flushed) before test-mode job runs and by readers that
    # must see every call answered so far: CloudTrail's history process registers its flush here.
    flushers: list[Callable[[], None]] = field(default_factory=list)

    def flush_records(self) -> None:
        """Wait until every call answered so far has reached its consumers (and their stores)."""
        self.bus.flush(timeout=30)
        for flush in self.flushers:
            flush()
