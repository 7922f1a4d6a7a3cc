"""The hourly sweep of files no object references: what a crash between writing and committing leaves.

A write makes its blob durable before the database row that references it
commits, and a delete removes the file after its commit; a crash in either
gap leaves an unreferenced file (never a half-visible object). This job
removes such files, and temporary files (spooled request bodies, half
written blobs), once they are older than ``GRACE``, so an upload in flight
in another server process is never touched. File ages are file-system
times, not Rampart's (movable) clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from rampart import jobs
from rampart.services.s3.blobs import blob_root
from rampart.services.s3.tables import s3_objects, s3_parts

log = logging.getLogger("rampart.s3")

GRACE_SECONDS = 3600.0


def _old_files(folder: Path, cutoff: float) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
            yield Path(entry.path)


def referenced_blobs(conn: Any) -> set[str]:
    """Every blob id a version or an uploaded part references."""
    found: set[str] = set()
    for (text,) in conn.execute(select(s3_objects.c.blobs).where(s3_objects.c.blobs.is_not(None))):
        found.update(blob_id for blob_id, _ in orjson.loads(text))
    found.update(conn.execute(select(s3_parts.c.blob_id)).scalars())
    return found


def sweep(data_dir: Path, conn: Any, now_s: float | None = None) -> list[Path]:
    """Remove old temporary files and old unreferenced blobs; returns what was removed."""
    cutoff = (now_s if now_s is not None else time.time()) - GRACE_SECONDS
    root = blob_root(data_dir)
    removed = [*_old_files(root / "tmp", cutoff), *_old_files(data_dir / "tmp", cutoff)]
    shards = [p for p in root.iterdir() if p.is_dir() and p.name != "tmp"] if root.exists() else []
    candidates = [f for shard in shards for f in _old_files(shard, cutoff)]
    if candidates:
        keep = referenced_blobs(conn)
        removed += [f for f in candidates if f.name not in keep]
    for path in removed:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return removed


@jobs.job("s3.sweep-unreferenced-files", every_seconds=3600)
def sweep_job(gateway: Any, now: dt.datetime) -> None:
    """The scheduled round of ``sweep``."""
    with gateway.db.read() as conn:
        removed = sweep(gateway.settings.data_dir, conn)
    if removed:
        log.info("s3 sweep removed %d unreferenced or temporary files", len(removed))
