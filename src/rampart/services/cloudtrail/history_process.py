"""CloudTrail's history writer: a process of its own beside each server process.

Storing an event costs tens of microseconds of Python and SQLite work. In
the server's process that work took turns with the requests for the GIL, and
auditing cost a fifth of the server's throughput; in a process of its own it
runs on another core and the request path pays nothing beyond the call
journal it writes anyway. The process tails the journal (``HistoryTailer``),
so it needs nothing from the server but the journal's path and the database.

- One writer per journal: each server process starts a history process, and
  they take turns on a lock file; the others wait as standbys (several
  ``--workers`` share one journal).
- ``HistoryProcess.flush`` makes readers see every call answered so far: it
  wakes the writer through a FIFO beside the journal (no waiting out its
  linger) and waits until the stored cursor passes the journal's length.
- The writer follows its server: it drains the journal and exits when the
  server stops it, or when its parent is gone (killed); the server starts a
  new one when it dies. The cursor moves in the events' own transaction, so
  none of this can lose or repeat an event.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rampart.events.journal import CallJournal
from rampart.services.cloudtrail import history

log = logging.getLogger("rampart.cloudtrail.history")

LINGER_SECONDS = 0.2  # between reads: larger commits under load, at most this late in the history when idle
RESTART_SECONDS = 1.0
# Below the server's priority: when the cores are busy, answering requests comes first and the history
# catches up from the journal when they are not (nothing is lost, LookupEvents waits for it).
NICENESS = 10
DATABASE_ENV = "RAMPART_HISTORY_DATABASE_URL"  # the URL travels in the environment, never on a command line


def _lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".history-lock")


def _nudge_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".history-nudge")


class Waker:
    """The writer's side of the nudge FIFO: sleep until nudged or the timeout passes."""

    def __init__(self, path: Path) -> None:
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)
        # Read-write: the FIFO always has a writer, so select never sees end-of-file between nudges.
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def wait(self, timeout: float) -> None:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._fd, 4096)

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._fd, b"!")


def nudge(path: Path) -> None:
    """Wake the writer now, if one is listening (never blocks)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as caught:  # ENXIO: no writer listening; ENOENT: none started yet
        if caught.errno not in (errno.ENXIO, errno.ENOENT):
            raise
        return
    try:
        with contextlib.suppress(BlockingIOError):  # full: it has been nudged already
            os.write(fd, b"!")
    finally:
        os.close(fd)


class HistoryProcess:
    """The server's handle on its history process: start, restart, flush, stop."""

    def __init__(self, db: Any, journal: CallJournal) -> None:
        self._db = db
        self._journal = journal
        self._id = history.journal_identity(journal.path)
        # A journal the database has not seen is stored from its current end (an upgrade: the lines
        # before were stored by the older in-process writer).
        self._stored = history.journal_cursor(db, self._id, journal.size())
        self._closing = False
        self._process = self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="rampart-history-supervisor", daemon=True)
        self._supervisor.start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything journaled so far is stored; False on timeout."""
        target = self._journal.size()
        if self._stored >= target:
            return True
        nudge(_nudge_path(self._journal.path))
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        delay = 0.001
        while True:
            self._stored = history.stored_offset(self._db, self._id)
            if self._stored >= target:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def close(self, timeout: float = 30.0) -> None:
        """Let the writer store everything journaled, then stop it (idempotent)."""
        if self._closing:
            return
        if not self.flush(timeout):
            log.error("the CloudTrail history process did not catch up within %.0f s", timeout)
        self._closing = True
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, DATABASE_ENV: self._db.url.render_as_string(hide_password=False)}
        command = [sys.executable, "-m", __name__, "--journal", str(self._journal.path), "--parent", str(os.getpid())]
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

    def _supervise(self) -> None:
        while True:
            code = self._process.wait()
            if self._closing:
                return
            log.error("the CloudTrail history process exited (%s); starting another", code)
            time.sleep(RESTART_SECONDS)
            if self._closing:
                return
            self._process = self._spawn()


# --- the process -------------------------------------------------------------------------


class _Stop:
    """Why the writer should stop: asked to (SIGTERM), or its server is gone."""

    def __init__(self, parent: int, waker: Waker) -> None:
        self._parent = parent
        self._waker = waker
        self.asked = False

    def ask(self, *_: Any) -> None:
        self.asked = True
        self._waker.wake()

    def __bool__(self) -> bool:
        return self.asked or os.getppid() != self._parent


def _take_lock(path: Path, stop: _Stop) -> int | None:
    """Hold the journal's writer lock (waiting as a standby while another holds it); None when told to stop."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    while not stop:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(LINGER_SECONDS)
    os.close(fd)
    return None


def run(db: Any, journal: Path, stop: _Stop, waker: Waker, linger: float = LINGER_SECONDS) -> None:
    """Store the journal's lines until told to stop, then store what is left."""
    lock = _take_lock(_lock_path(journal), stop)
    if lock is None:
        return
    tailer = history.HistoryTailer(db, journal, history.journal_identity(journal))
    try:
        while not stop:
            if not tailer.step():
                waker.wait(linger)
        tailer.drain()
    finally:
        tailer.close()
        os.close(lock)


def main(argv: list[str] | None = None) -> None:
    from rampart.storage.db import Database

    parser = argparse.ArgumentParser(prog="rampart-history", description=__doc__.splitlines()[0])
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    os.nice(NICENESS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = Database(os.environ[DATABASE_ENV])
    waker = Waker(_nudge_path(args.journal))
    stop = _Stop(args.parent, waker)
    signal.signal(signal.SIGTERM, stop.ask)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server stops us after draining
    try:
        run(db, args.journal, stop, waker)
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
