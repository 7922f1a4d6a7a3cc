"""The one clock every part of Rampart reads, movable in test mode.

Session expiry, TOTP windows, digests and scheduled jobs all ask ``now()``
so that tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading


class Clock:
    """Wall-clock time plus an offset that the admin API can advance."""

    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """Current time, timezone-aware UTC."""
        return dt.datetime.now(dt.UTC) + self._offset

    def advance(self, seconds: float) -> dt.datetime:
        """Move time forward (tests only); returns the new now."""
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)
        return self.now()


clock = Clock()
