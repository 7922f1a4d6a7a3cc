"""The call journal: every call record appended as one JSON line in the data dir.

It is the durable raw audit of what the gateway answered (CloudTrail builds
its event history on the same records). Records are already redacted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from rampart.events.records import CallRecord

# Dataclasses pass through ``_default``: a record's principal object (which may hold a
# session's sealed state) is not journaled, only its ARN, kind and ids, which the record has.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATACLASS


def _default(value: Any) -> Any:
    if isinstance(value, CallRecord):
        return {**value.__dict__, "principal": None}
    if isinstance(value, bytes):
        return "<binary>"
    raise TypeError(f"not serializable: {type(value).__name__}")


class CallJournal:
    """An append-only JSON-lines file; one ``write`` per batch keeps lines whole."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, batch: Sequence[CallRecord]) -> None:
        lines = b"".join([orjson.dumps(record, default=_default, option=_OPTIONS) for record in batch])
        view = memoryview(lines)
        while view:
            view = view[os.write(self._fd, view) :]


def read_journal(path: Path) -> list[dict[str, Any]]:
    """All records in a journal file, oldest first."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
