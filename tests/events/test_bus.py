"""The event bus: ordered, batched, drained on close, robust to a failing consumer."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from rampart.events.bus import EventBus
from rampart.events.journal import CallJournal, read_journal
from rampart.events.records import CallRecord


def _record(n: int) -> CallRecord:
    return CallRecord(
        request_id=f"r{n}", event_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), service="sts",
        operation="GetCallerIdentity", region="us-east-1", source_ip="127.0.0.1", user_agent="t",
        account_id="123456789012", principal_arn=None, principal_kind=None, principal_id=None,
        access_key_id=None, http_status=200, request_parameters={"Blob": b"\x00"},
    )


def test_close_delivers_everything_in_order_from_many_threads() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(lambda batch: seen.extend(r.request_id for r in batch))
    bus.start()

    def produce(base: int) -> None:
        for n in range(500):
            bus.publish(_record(base + n))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bus.close()
    assert len(seen) == 2000 and bus.delivered == 2000
    for k in range(4):
        mine = [int(r[1:]) for r in seen if k * 1000 <= int(r[1:]) < (k + 1) * 1000]
        assert mine == sorted(mine)


def test_a_failing_consumer_does_not_starve_the_others() -> None:
    bus = EventBus()
    got: list[int] = []

    def broken(batch: Sequence[CallRecord]) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda batch: got.append(len(batch)))
    bus.start()
    for n in range(10):
        bus.publish(_record(n))
    assert bus.flush(5)
    bus.close()
    assert sum(got) == 10


def test_records_published_close_together_arrive_in_one_batch() -> None:
    bus = EventBus(linger=0.05)
    sizes: list[int] = []
    bus.subscribe(lambda batch: sizes.append(len(batch)))
    bus.start()
    for n in range(100):
        bus.publish(_record(n))
    assert bus.flush(5)
    bus.close()
    assert sum(sizes) == 100 and len(sizes) <= 2  # the worker woke once or twice, not per record


def test_flush_waits_for_what_was_published_before_it() -> None:
    bus = EventBus(linger=0.01)
    seen: list[str] = []
    bus.subscribe(lambda batch: seen.extend(r.request_id for r in batch))
    bus.start()
    for round_ in range(3):
        bus.publish(_record(round_))
        assert bus.flush(5)
        assert seen == [f"r{n}" for n in range(round_ + 1)]
    bus.close()
    assert bus.flush(1)  # nothing pending after close


def test_flush_without_a_worker_reports_pending_records() -> None:
    bus = EventBus()
    assert bus.flush(0.01)
    bus.publish(_record(1))
    assert not bus.flush(0.01)
    bus.start()
    assert bus.flush(5) and bus.delivered == 1
    bus.close()


def test_journal_writes_one_json_line_per_record(tmp_path: Path) -> None:
    journal = CallJournal(tmp_path / "calls.jsonl")
    journal([_record(1), _record(2)])
    journal([_record(3)])
    rows = read_journal(tmp_path / "calls.jsonl")
    assert [r["request_id"] for r in rows] == ["r1", "r2", "r3"]
    assert rows[0]["request_parameters"] == {"Blob": "<binary>"}
    assert rows[0]["event_time"].startswith("2026-01-01T00:00:00")
    assert (tmp_path / "calls.jsonl").stat().st_mode & 0o777 == 0o600


def test_the_pump_delivers_on_the_event_loop_in_order_and_close_delivers_the_rest() -> None:
    import asyncio

    bus = EventBus(linger=0.001)
    seen: list[tuple[str, int]] = []
    bus.subscribe(lambda batch: seen.extend((r.request_id, threading.get_ident()) for r in batch))

    async def scenario() -> None:
        pump = asyncio.get_running_loop().create_task(bus.pump())
        for n in range(50):
            bus.publish(_record(n))
        await asyncio.sleep(0.05)
        assert len(seen) == 50
        assert bus.flush(1)  # on the pump's own thread: delivers at once instead of waiting
        bus.publish(_record(50))
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump

    asyncio.run(scenario())
    bus.close()  # the pump is gone: what is left is delivered here
    assert [r for r, _ in seen] == [f"r{n}" for n in range(51)]
    assert {thread for _, thread in seen} == {threading.get_ident()}
    assert bus.delivered == 51


def test_flush_from_another_thread_waits_for_the_pump() -> None:
    import asyncio

    bus = EventBus(linger=0.001)
    seen: list[str] = []
    bus.subscribe(lambda batch: seen.extend(r.request_id for r in batch))
    flushed: list[bool] = []

    async def scenario() -> None:
        pump = asyncio.get_running_loop().create_task(bus.pump())
        await asyncio.sleep(0)
        bus.publish(_record(1))
        waiter = threading.Thread(target=lambda: flushed.append(bus.flush(5) and seen == ["r1"]))
        waiter.start()
        while waiter.is_alive():
            await asyncio.sleep(0.001)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump

    asyncio.run(scenario())
    assert flushed == [True]


def test_a_bus_is_driven_one_way_only() -> None:
    import asyncio

    bus = EventBus()
    bus.start()

    async def pump() -> None:
        await bus.pump()

    with pytest.raises(RuntimeError):
        asyncio.run(pump())
    bus.close()
