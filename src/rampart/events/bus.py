"""The in-process event bus that carries call records to their consumers.

Publishing is one queue append so the request path stays cheap. One worker
thread delivers to subscribers in order, in batches. It wakes rarely on
purpose: after the first record of a batch it lingers a few milliseconds so
that the records published meanwhile ride along. Waking per record would make
the request thread and the delivery thread trade the GIL (and the CPU) on
every call, which costs more than the delivery itself. ``flush`` and
``close`` wait for everything published before them, so a graceful shutdown
loses nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from rampart.events.records import CallRecord

Subscriber = Callable[[Sequence[CallRecord]], None]
log = logging.getLogger("rampart.events")

_STOP = object()
_MAX_BATCH = 4096
LINGER_SECONDS = 0.005


class EventBus:
    """Ordered, asynchronous fan-out of call records.

    ``linger`` is how long the worker waits after a batch's first record for
    more to arrive (0: deliver as soon as the thread runs).
    """

    def __init__(self, linger: float = LINGER_SECONDS) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._thread: threading.Thread | None = None
        self._linger = linger
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
        self._queue.put(record)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record published so far was delivered; False on timeout.

        Without a running delivery thread nothing can be delivered: True only
        when nothing is waiting.
        """
        if self._thread is None:
            return self._queue.empty()
        marker = threading.Event()
        self._queue.put(marker)
        return marker.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, markers, stopping = self._next_batch()
            if batch:
                self._deliver(batch)
                self.delivered += len(batch)
            for marker in markers:
                marker.set()

    def _next_batch(self) -> tuple[list[CallRecord], list[threading.Event], bool]:
        """Block for one item, linger, then take whatever else is queued (up to a stop)."""
        batch: list[CallRecord] = []
        markers: list[threading.Event] = []
        item = self._queue.get()
        if self._linger and isinstance(item, CallRecord):
            time.sleep(self._linger)
        while True:
            if item is _STOP:
                return batch, markers, True
            if isinstance(item, threading.Event):
                markers.append(item)
            else:
                batch.append(item)  # type: ignore[arg-type]
            if len(batch) >= _MAX_BATCH:
                return batch, markers, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, markers, False

    def _deliver(self, batch: list[CallRecord]) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(batch)
            except Exception:  # noqa: BLE001 - one faulty consumer must not stop delivery to the others
                log.exception("event subscriber %r failed on a batch of %d", subscriber, len(batch))
