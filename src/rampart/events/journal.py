"""The call journal: every call record appended as one JSON line in the data dir.

It is the durable raw audit of what the gateway answered, and CloudTrail's
write-ahead log: the history process (``services/cloudtrail/history_process``)
reads it from its stored offset and turns its lines into events, so the
request path pays for one serialization and one ``write`` per batch, whether
auditing is on or off. Records are already redacted; a record's principal
object is journaled as the few fields CloudTrail's userIdentity reads (no
session secrets, no sealed state).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from rampart.events.records import CallRecord

# Times are written as ISO 8601 text and binary values as a marker: CloudTrail reads them back by
# the operation's model (events/trail_spelling.py), which knows a timestamp member from a string.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATACLASS
BINARY = "<binary>"
_RECORD_FIELDS = frozenset(field.name for field in dataclasses.fields(CallRecord))
# What CloudTrail's userIdentity reads of a principal and of its session (events/trail_identity.py).
_PRINCIPAL_FIELDS = ("kind", "account_id", "user_id", "arn", "name", "service")
_SESSION_FIELDS = ("kind", "account_id", "user_id", "name", "issuer_arn", "issuer_id", "issuer_name", "issued_at",
                   "mfa_authenticated", "source_identity", "federated_provider")


def principal_snapshot(principal: Any) -> dict[str, Any] | None:
    """The fields of a caller's principal that its CloudTrail identity needs, as plain JSON-able values."""
    if principal is None:
        return None
    snapshot = {name: getattr(principal, name, None) for name in _PRINCIPAL_FIELDS}
    session = getattr(principal, "session", None)
    if session is not None:
        snapshot["session"] = {name: getattr(session, name, None) for name in _SESSION_FIELDS}
    return snapshot


def _principal_of(snapshot: dict[str, Any] | None) -> SimpleNamespace | None:
    """A principal object for ``trail_identity`` from its journaled snapshot."""
    if snapshot is None:
        return None
    session = snapshot.get("session")
    if session is not None:
        issued = session.get("issued_at")
        session = SimpleNamespace(**{**session, "issued_at": dt.datetime.fromisoformat(issued) if issued else None})
    return SimpleNamespace(**{**snapshot, "session": session})


def _default(value: Any) -> Any:
    if isinstance(value, CallRecord):
        return {**value.__dict__, "principal": principal_snapshot(value.principal)}
    if isinstance(value, bytes | bytearray | memoryview):
        return BINARY
    raise TypeError(f"not serializable: {type(value).__name__}")


def record_from_line(line: bytes) -> CallRecord:
    """The call record a journal line holds (raises ValueError on a line that is not one)."""
    data = orjson.loads(line)
    if not isinstance(data, dict):
        raise ValueError("a journal line is not a JSON object")  # noqa: TRY004 - one error for every bad line
    values = {name: value for name, value in data.items() if name in _RECORD_FIELDS}
    try:
        values["event_time"] = dt.datetime.fromisoformat(values["event_time"])
        values["principal"] = _principal_of(values.get("principal"))
        return CallRecord(**values)
    except (KeyError, TypeError, AttributeError) as missing:
        raise ValueError(f"a journal line is not a call record: {missing!r}") from None


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

    def size(self) -> int:
        """The journal's length in bytes: every line written so far, by any process, ends at or before it."""
        return os.fstat(self._fd).st_size


def read_journal(path: Path) -> list[dict[str, Any]]:
    """All records in a journal file, oldest first."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
