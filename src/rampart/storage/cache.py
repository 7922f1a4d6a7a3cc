"""A small thread-safe LRU cache whose entries expire, for hot-path lookups."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Keeps up to ``max_entries`` values for ``ttl`` seconds each.

    Per-request lookups (access keys on every signed request) would otherwise
    cost a database round trip and a decryption each time; the short TTL bounds
    how long another process's change (a key deactivated by a different worker)
    can go unseen, and ``discard`` makes this process's own changes immediate.
    A ``ttl`` of 0 disables caching.
    """

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Bumped by every discard/clear; read it before loading a value to ``put``."""
        return self._generation

    def get(self, key: K) -> V | None:
        """The cached value, or None when absent or expired.

        Lock-free on a hit (it runs on every signed request): single
        OrderedDict operations are atomic under the GIL, and a hit racing a
        ``discard`` is no different from a hit just before it.
        """
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            with self._lock:
                if entries.get(key) is entry:
                    del entries[key]
            return None
        try:
            entries.move_to_end(key)
        except KeyError:  # discarded or evicted meanwhile: still a valid answer for this call
            pass
        return entry[1]

    def put(self, key: K, value: V, generation: int | None = None) -> None:
        """Remember ``value`` for ``ttl`` seconds (evicting the least recently used).

        With ``generation`` (read before the value was loaded), the value is
        dropped if anything was discarded meanwhile: it may predate the change.
        """
        if self.ttl <= 0:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._entries[key] = (self._monotonic() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget one entry (after the value changed)."""
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
