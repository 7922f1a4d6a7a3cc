"""Transport-neutral HTTP request and response.

The pipeline works on these plain values so that it can be tested without
sockets; the ASGI app is only an adapter that builds an HttpRequest and writes
an HttpResponse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(slots=True)
class HttpRequest:
    """One request as it arrived on the wire.

    ``path`` is the raw, still percent-encoded path (what SigV4 canonicalizes);
    ``query`` is the raw query string without the leading ``?``; ``headers``
    has lower-case names, repeated headers joined with ``,``.
    """

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | SpooledBody = b""
    client_ip: str = "127.0.0.1"
    scheme: str = "http"
    # Real (not test-clock) time the head arrived: signatures are checked against it, so an
    # upload that takes longer than the 15-minute skew window is not refused at its end.
    arrived_at: dt.datetime | None = None

    @property
    def host(self) -> str:
        """The Host header without its port."""
        host = self.headers.get("host", "")
        if host.startswith("["):
            return host[: host.find("]") + 1]
        return host.rsplit(":", 1)[0] if ":" in host else host


@dataclass(slots=True)
class HttpResponse:
    """What the pipeline answers; ``headers`` keep order and may repeat."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: StreamBody | None = None

    def header(self, name: str) -> str | None:
        """First value of a header, matched case-insensitively."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


class SpooledBody:
    """A request body kept in a temporary file instead of memory (large uploads).

    The transport writes it while receiving, hashing SHA-256 on the way, so
    SigV4's payload check needs no second read. Whoever created it deletes
    the file when the request is done (``discard``).
    """

    __slots__ = ("_sha256", "derived", "path", "size")

    def __init__(self, path: Path, size: int = 0, sha256: str | None = None) -> None:
        self.path = path
        self.size = size
        self._sha256 = sha256
        self.derived: list[SpooledBody] = []  # files made from this one (the decoded aws-chunked body)

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the whole body (computed once, on demand if not while receiving)."""
        if self._sha256 is None:
            digest = hashlib.sha256()
            with self.open() as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def open(self) -> BinaryIO:
        """A fresh reader positioned at the start."""
        return open(self.path, "rb")

    def read_all(self) -> bytes:
        """The whole body in memory (only for bodies known to be small enough)."""
        return self.path.read_bytes()

    def discard(self) -> None:
        """Delete the file and those derived from it; idempotent."""
        for other in self.derived:
            other.discard()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class StreamBody(Protocol):
    """A response body sent in pieces (GetObject): ``length`` bytes from ``chunks()``, then ``close()``."""

    length: int

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes, in order, in pieces of a bounded size."""
        ...

    def close(self) -> None:
        """Release files; called once the body was sent or abandoned."""
        ...
