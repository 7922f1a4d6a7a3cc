"""The sweep removes old unreferenced blobs and temporary files, and nothing an object still needs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rampart.services.s3.blobs import blob_root
from rampart.services.s3.objects_sweep import GRACE_SECONDS, sweep
from rampart.storage.db import Database
from tests.conftest import Server


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_keeps_referenced_and_recent_files(server: Server, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="kept", Body=b"still needed")
    root = blob_root(server.data_dir)
    live = [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]
    for path in live:
        _age(path, 2 * GRACE_SECONDS)
    shard = root / "ff"
    shard.mkdir(parents=True, exist_ok=True)
    orphan, fresh_orphan = shard / ("f" * 32), shard / ("f" * 31 + "e")
    orphan.write_bytes(b"x")
    fresh_orphan.write_bytes(b"x")
    _age(orphan, 2 * GRACE_SECONDS)
    spool = server.data_dir / "tmp" / "req-crashed"
    spool.parent.mkdir(exist_ok=True)
    spool.write_bytes(b"x")
    _age(spool, 2 * GRACE_SECONDS)
    db = Database(f"sqlite:///{server.data_dir / 'rampart.db'}")
    try:
        with db.read() as conn:
            removed = sweep(server.data_dir, conn)
    finally:
        db.dispose()
    assert set(removed) >= {orphan, spool}
    assert not orphan.exists() and not spool.exists() and fresh_orphan.exists()
    assert all(p.exists() for p in live)
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"still needed"
    fresh_orphan.unlink()
