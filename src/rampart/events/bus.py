"""The in-process event bus that carries call records to their consumers.

Publishing is one queue append so the request path stays cheap. Delivery is
in order and in batches, driven one of two ways:

- ``pump()``: a task on the server's event loop delivers what accumulated
  every few milliseconds, on the loop's own thread. This is what the ASGI app
  uses: a second Python thread would trade the GIL with the request thread
  several times per batch, and those switches (futexes, cold caches) cost the
  server about a tenth of its CPU under load, more than the delivery itself.
  Subscribers therefore run on the event loop: they must be quick (append to
  a file, put on their own queue), never block on the network.
- ``start()``: a worker thread, for programs without an event loop (tools,
  tests). It lingers after a batch's first record so the ones published
  meanwhile ride along, instead of waking per record.

``flush`` and ``close`` wait for everything published before them, so a
graceful shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence

from rampart.events.records import CallRecord

Subscriber = Callable[[Sequence[CallRecord]], None]
log = logging.getLogger("rampart.events")

_STOP = object()
_MAX_BATCH = 4096
LINGER_SECONDS = 0.005


class EventBus:
    """Ordered, batched fan-out of call records.

    ``linger`` is how long delivery waits for more records: the pump's period,
    and the worker thread's wait after a batch's first record (0: deliver as
    soon as it runs).
    """

    def __init__(self, linger: float = LINGER_SECONDS) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._thread: threading.Thread | None = None
        self._pump_thread: int | None = None  # ident of the thread running pump(), while it runs
        self._hurry = threading.Event()
        self._linger = linger
        self.delivered = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every batch of records published from now on."""
        self._subscribers.append(subscriber)

    def publish(self, record: CallRecord) -> None:
        """Queue a record for delivery; never blocks on subscribers."""
        self._queue.put(record)

    # --- driving delivery ----------------------------------------------------------

    def start(self) -> None:
        """Deliver from a worker thread (idempotent); not while ``pump`` runs."""
        if self._pump_thread is not None:
            raise RuntimeError("the event bus is already delivered by pump()")
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rampart-event-bus", daemon=True)
            self._thread.start()

    async def pump(self) -> None:
        """Deliver on this event loop every ``linger`` seconds until cancelled (the server's mode).

        Cancelling stops the pump without delivering what is queued: ``close``
        (or ``deliver_pending``) does that at shutdown.
        """
        if self._thread is not None:
            raise RuntimeError("the event bus is already delivered by its worker thread")
        self._pump_thread = threading.get_ident()
        try:
            while True:
                await asyncio.sleep(self._linger)
                self.deliver_pending()
        finally:
            self._pump_thread = None

    def deliver_pending(self) -> int:
        """Deliver everything queued now, on the calling thread; returns how many records.

        For whoever drives delivery (``pump``, ``close``); never call it while
        the worker thread runs.
        """
        count = 0
        while True:
            batch, markers, _ = self._drain()
            if batch:
                self._deliver(batch)
                self.delivered += len(batch)
                count += len(batch)
            for marker in markers:
                marker.set()
            if not batch and not markers:
                return count

    # --- waiting -------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record published so far was delivered; False on timeout.

        With nothing driving delivery, True only when nothing is waiting; on
        the pump's own thread, delivers right away (waiting there would
        deadlock the loop).
        """
        if self._thread is None and (self._pump_thread is None or self._pump_thread == threading.get_ident()):
            if self._pump_thread is not None:
                self.deliver_pending()
            return self._queue.empty()
        marker = threading.Event()
        self._queue.put(marker)
        self._hurry.set()
        return marker.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, then stop the worker thread (if any).

        Without a worker thread, delivers on the calling thread: call it after
        the pump was cancelled.
        """
        if self._thread is None:
            self.deliver_pending()
            return
        self._queue.put(_STOP)
        self._hurry.set()
        self._thread.join(timeout)
        self._thread = None

    # --- the worker thread ---------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if self._linger and isinstance(first, CallRecord):
                self._hurry.wait(self._linger)  # flush and close cut the wait short
            self._hurry.clear()
            batch, markers, stopping = self._drain(first)
            if batch:
                self._deliver(batch)
                self.delivered += len(batch)
            for marker in markers:
                marker.set()

    def _drain(self, first: object = None) -> tuple[list[CallRecord], list[threading.Event], bool]:
        """``first`` (if given) and whatever else is queued now, up to a stop or a full batch."""
        batch: list[CallRecord] = []
        markers: list[threading.Event] = []
        item = first
        while True:
            if item is _STOP:
                return batch, markers, True
            if isinstance(item, threading.Event):
                markers.append(item)
            elif item is not None:
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
            except Exception:  # one faulty consumer must not stop delivery to the others
                log.exception("event subscriber %r failed on a batch of %d", subscriber, len(batch))
