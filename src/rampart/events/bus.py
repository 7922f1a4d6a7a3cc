"""The in-process event bus that carries call records to their consumers.

Publishing is a queue append so the request path stays cheap; one worker
thread delivers to subscribers in order, in batches (whatever accumulated
while it was busy) so a consumer can write many records at once. ``close``
drains the queue so that a graceful shutdown loses nothing that was published.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from rampart.events.records import CallRecord

Subscriber = Callable[[Sequence[CallRecord]], None]
log = logging.getLogger("rampart.events")

_STOP = object()
_MAX_BATCH = 1024


class EventBus:
    """Ordered, asynchronous fan-out of call records."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every batch of records published from now on."""
        self._subscribers.append(subscriber)

    def start(self) -> None:
        """Start the delivery thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rampart-event-bus", daemon=True)
            self._thread.start()

    def publish(self, record: CallRecord) -> None:
        """Queue a record for delivery; never blocks on subscribers."""
        with self._idle:
            self._pending += 1
        self._queue.put(record)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every published record was delivered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, then stop the thread."""
        if self._thread is None:
            return
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._deliver(batch)
            with self._idle:
                self._pending -= len(batch)
                self.delivered += len(batch)
                if self._pending == 0:
                    self._idle.notify_all()

    def _next_batch(self) -> tuple[list[CallRecord], bool]:
        """Block for one record, then take whatever else is already queued."""
        batch: list[CallRecord] = []
        item = self._queue.get()
        while item is not _STOP:
            assert isinstance(item, CallRecord)
            batch.append(item)
            if len(batch) >= _MAX_BATCH:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _deliver(self, batch: list[CallRecord]) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(batch)
            except Exception:  # noqa: BLE001 - one faulty consumer must not stop delivery to the others
                log.exception("event subscriber %r failed on a batch of %d", subscriber, len(batch))
