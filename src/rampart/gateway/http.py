"""Transport-neutral HTTP request and response.

The pipeline works on these plain values so that it can be tested without
sockets; the ASGI app is only an adapter that builds an HttpRequest and writes
an HttpResponse.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    scheme: str = "http"

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

    def header(self, name: str) -> str | None:
        """First value of a header, matched case-insensitively."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None
