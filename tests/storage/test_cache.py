"""The hot-path TTL cache: expiry, LRU bound, and no stale puts after a discard."""

from __future__ import annotations

from rampart.storage.cache import TtlCache


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl() -> None:
    tick = FakeTime()
    cache: TtlCache[str, int] = TtlCache(2.0, monotonic=tick)
    cache.put("a", 1)
    tick.now += 1.9
    assert cache.get("a") == 1
    tick.now += 0.2
    assert cache.get("a") is None and len(cache) == 0


def test_least_recently_used_entry_is_evicted() -> None:
    cache: TtlCache[str, int] = TtlCache(60, max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_zero_ttl_disables_caching() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None


def test_put_after_a_discard_is_dropped() -> None:
    """A value loaded before a concurrent change must not land in the cache."""
    cache: TtlCache[str, int] = TtlCache(60)
    generation = cache.generation
    cache.discard("a")  # someone changed the key while we were reading
    cache.put("a", 1, generation)
    assert cache.get("a") is None
    cache.put("a", 2, cache.generation)
    assert cache.get("a") == 2
    cache.clear()
    assert cache.get("a") is None
