"""The ASGI adapter: bytes in, ``pipeline.handle``, bytes out.

The AWS API path is plain ASGI (no framework in the hot path); only the admin
routes under ``/_rampart/`` go through Starlette.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import suppress
from itertools import chain
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from rampart import jobs
from rampart.aws.errors import AwsError
from rampart.aws.models import supported_models, wire_protocols
from rampart.config import Settings
from rampart.events.journal import CallJournal
from rampart.gateway import registry
from rampart.gateway.admin import admin_app
from rampart.gateway.context import Gateway
from rampart.gateway.http import HttpRequest, HttpResponse, SpooledBody
from rampart.gateway.pipeline import body_limit, handle
from rampart.protocol import routing
from rampart.protocol.codecs import codec_for

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("rampart.gateway")

JOB_TICK_SECONDS = 1.0
# Bodies larger than this go to a temporary file under data_dir/tmp while they arrive.
SPOOL_THRESHOLD = 1 << 20
# A PUT (PutObject, UploadPart) may carry S3's largest single upload, 5 GiB, plus
# aws-chunked framing; other bodies keep the configured limit.
MAX_PUT_BODY = 5 * 1024**3 + 64 * 1024**2


class RequestTooLarge(AwsError):
    """The body exceeds the configured limit (RAMPART_MAX_BODY_BYTES)."""

    code = "RequestEntityTooLarge"
    status = 413


class RequestHeaderSectionTooLarge(AwsError):
    """The headers exceed the configured limit (RAMPART_MAX_HEADER_BYTES); S3's code for it."""

    code = "RequestHeaderSectionTooLarge"
    status = 400


class _BodyTooLarge(Exception):
    """Raised while reading a body that passes the limit."""


class _ClientGone(Exception):
    """Raised while reading a body when the client disconnects before its end."""


class RampartApp:
    """The ASGI application for one server process."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.admin = admin_app(gateway)
        self._history = _audit_writer(gateway)
        self._pump: asyncio.Task[None] | None = None
        self._jobs: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http" and scope["path"].startswith("/_rampart/"):
            await self.admin(scope, receive, send)
        elif kind == "http":
            await self._aws(scope, receive, send)

    async def _aws(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers, header_bytes = _headers_of(scope["headers"])
        request = _request_of(scope, headers)
        rejection = _oversized_headers(header_bytes, self.gateway.settings.max_header_bytes)
        limit = self.gateway.settings.max_body_bytes
        declared = _content_length(headers)
        if rejection is None and scope["method"] == "PUT" and limit and (declared is None or declared > limit):
            # Only an upload the headers prove signed may pass the configured limit (up to 5 GiB):
            # checked before a byte of the body is read, so forgers and anonymous callers cannot fill the disk.
            limit, rejection = await run_in_threadpool(body_limit, request, self.gateway, MAX_PUT_BODY)
        if rejection is None and limit and declared is not None and declared > limit:
            rejection = RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        if rejection is None:
            try:
                request.body = await _read_body(receive, limit, self.gateway.settings.data_dir / "tmp",
                                                _payload_hash_needed(headers))
            except _BodyTooLarge:
                rejection = RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
            except _ClientGone:
                return  # nobody to answer; a partial body must never reach a handler
        try:
            if isinstance(request.body, SpooledBody) or (scope["method"] == "PUT" and request.body):
                # An upload means file writes and fsyncs in the handler (S3 objects): in a worker
                # thread they overlap with other requests instead of stalling the loop.
                response = await run_in_threadpool(handle, request, self.gateway, rejection)
            else:
                # Inline, not in a thread: the pipeline is CPU-bound Python, and a hop to
                # a worker thread per request costs more than it ever overlaps.
                response = handle(request, self.gateway, rejection)
        finally:
            if isinstance(request.body, SpooledBody):
                request.body.discard()
        await _send(send, response, head=scope["method"] == "HEAD")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await run_in_threadpool(warm_up)
                # Records are delivered on this loop, not by a second thread (see events.bus).
                self._pump = asyncio.get_running_loop().create_task(self.gateway.bus.pump())
                if self.gateway.db is not None and self.gateway.settings.background_jobs:
                    self._jobs = asyncio.get_running_loop().create_task(_run_jobs_forever(self.gateway))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop_pump()
                self.gateway.bus.close()
                if self._history is not None:
                    self._history.close()  # stores what the bus just journaled
                else:
                    _skip_unaudited(self.gateway)
                if self.gateway.db is not None:
                    self.gateway.db.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _stop_pump(self) -> None:
        for task in (self._jobs, self._pump):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        self._pump = self._jobs = None


def _audit_writer(gateway: Gateway) -> Any:
    """CloudTrail's history process, fed by the call journal, when auditing is on (RAMPART_AUDIT)."""
    if gateway.db is None or gateway.journal is None or not gateway.settings.audit:
        _skip_unaudited(gateway)
        return None
    from rampart.services.cloudtrail.history_process import HistoryProcess

    if gateway.db.in_memory:
        raise RuntimeError("auditing (RAMPART_AUDIT) needs a database its history process can open too: "
                          "a SQLite file or PostgreSQL, or RAMPART_AUDIT=off")
    writer = HistoryProcess(gateway.db, gateway.journal)
    gateway.flushers.append(writer.flush)
    return writer


def _skip_unaudited(gateway: Gateway) -> None:
    """With auditing off, move the journal's history cursor to its end (at start and at a graceful stop),
    so calls answered while it was off never reach the history once it is on again."""
    if gateway.db is None or gateway.journal is None:
        return
    from rampart.services.cloudtrail import history

    history.skip_to(gateway.db, history.journal_identity(gateway.journal.path), gateway.journal.size())


async def _run_jobs_forever(gateway: Gateway) -> None:
    """Run due scheduled jobs about once a second, in a worker thread (they do I/O)."""
    while True:
        await asyncio.sleep(JOB_TICK_SECONDS)
        await run_in_threadpool(jobs.run_due, gateway)


def _oversized_headers(size: int, limit: int) -> AwsError | None:
    """The rejection for a header section of ``size`` bytes over the limit, else None."""
    if limit and size > limit:
        return RequestHeaderSectionTooLarge(
            f"Your request header section exceeds the maximum allowed size of {limit} bytes."
        )
    return None


def _headers_of(raw: list[tuple[bytes, bytes]]) -> tuple[dict[str, str], int]:
    """Headers by lower-case name, and the header section's size (name, value, 4 bytes of separators each).

    Fast path for what clients send: ASCII names and values (decoded as ASCII,
    which is cheaper than latin-1 and gives the same text), names already
    lower case (ASGI servers lower them), no repeats. Anything else takes the
    general path.
    """
    try:
        headers = {name.decode("ascii"): value.decode("ascii") for name, value in raw}
    except UnicodeDecodeError:
        return _joined_headers(raw), _section_size(raw)
    names = "".join(headers)
    if len(headers) != len(raw) or names != names.lower():
        return _joined_headers(raw), _section_size(raw)
    return headers, len(names) + len("".join(headers.values())) + 4 * len(raw)


def _section_size(raw: list[tuple[bytes, bytes]]) -> int:
    return sum(map(len, chain.from_iterable(raw))) + 4 * len(raw)


def _request_of(scope: Scope, headers: dict[str, str]) -> HttpRequest:
    client = scope.get("client")
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"")
    return HttpRequest(
        scope["method"],
        path.split("?", 1)[0] if "?" in path else path,
        query.decode("latin-1") if query else "",
        headers,
        b"",
        client[0] if client else "127.0.0.1",
        scope.get("scheme", "http"),
        dt.datetime.now(dt.UTC),
    )


def _joined_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined with ``,`` (RFC 9110's list form)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _content_length(headers: dict[str, str]) -> int | None:
    """The declared Content-Length (None: absent or not a number; the server's parser checks it)."""
    value = headers.get("content-length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


async def _receive_body(receive: Receive) -> tuple[bytes, bool]:
    """The next piece of the body and whether more follows; a disconnect is never an end of body."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ClientGone
    return message.get("body", b""), message.get("more_body", False)


def _payload_hash_needed(headers: dict[str, str]) -> bool:
    """Whether SigV4 will compare the body's SHA-256: not when the client declared UNSIGNED-PAYLOAD or
    a STREAMING-* form (anything but a hex digest). A spooled body hashes itself later on demand
    (``SpooledBody.sha256``) if this guess was wrong, so it only saves work, never skips a check."""
    declared = headers.get("x-amz-content-sha256")
    return declared is None or len(declared.strip()) == 64


async def _read_body(receive: Receive, limit: int, spool_dir: Path, hash_payload: bool = True) -> bytes | SpooledBody:
    body, more = await _receive_body(receive)
    if limit and len(body) > limit:
        raise _BodyTooLarge
    if not more:  # the whole body in one message: nothing to join
        return body
    return await _read_more(receive, limit, body, spool_dir, hash_payload)


async def _read_more(receive: Receive, limit: int, first: bytes, spool_dir: Path,
                     hash_payload: bool = True) -> bytes | SpooledBody:
    chunks: list[bytes] = [first]
    size = len(first)
    while True:
        chunk, more = await _receive_body(receive)
        size += len(chunk)
        if limit and size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)
        if size > SPOOL_THRESHOLD:
            return await _spool(receive, limit, chunks, size, spool_dir, hash_payload)


class _NoDigest:
    """Stands in for the SHA-256 when nobody will ask for it (UNSIGNED-PAYLOAD uploads)."""

    def update(self, _data: bytes) -> None:
        return None


async def _spool(receive: Receive, limit: int, chunks: list[bytes], size: int, spool_dir: Path,
                 hash_payload: bool = True) -> SpooledBody:
    """Write the rest of a large body to a temporary file, hashing it on the way (when SigV4 will need it).

    Each chunk is written as it arrives (a page-cache write of one socket
    read), so memory stays at one chunk whatever the body's size.
    """
    spool_dir.mkdir(parents=True, exist_ok=True)
    spooled = SpooledBody(spool_dir / f"req-{uuid.uuid4().hex}")
    digest: Any = hashlib.sha256() if hash_payload else _NoDigest()
    try:
        # Plain writes on the loop, on purpose: each is one socket read into the page cache
        # (microseconds), cheaper than a hop to a worker thread per chunk.
        with open(spooled.path, "wb", buffering=0) as file:  # noqa: ASYNC230
            for chunk in chunks:
                digest.update(chunk)
                file.write(chunk)
            chunks.clear()
            more = True
            while more:
                chunk, more = await _receive_body(receive)
                size += len(chunk)
                if limit and size > limit:
                    raise _BodyTooLarge
                digest.update(chunk)
                file.write(chunk)
    except BaseException:
        spooled.discard()
        raise
    spooled.size = size
    if hash_payload:
        spooled._sha256 = digest.hexdigest()
    return spooled


async def _send(send: Send, response: HttpResponse, head: bool) -> None:
    headers = []
    sized = False
    stream = response.stream
    for name, value in response.headers:
        encoded = name.encode("latin-1")
        sized = sized or encoded.lower() == b"content-length"
        headers.append((encoded, value.encode("latin-1")))
    if not sized:
        length = stream.length if stream is not None else len(response.body)
        headers.append((b"content-length", b"%d" % length))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if stream is None or head:
        if stream is not None:
            stream.close()
        await send({"type": "http.response.body", "body": b"" if head else response.body})
        return
    await _send_stream(send, stream)


async def _send_stream(send: Send, stream: Any) -> None:
    """A streamed body: each piece read (and decrypted) in a worker thread while the previous one is sent.

    One piece is prepared ahead, never more (memory stays at two pieces), and
    only one ``next`` runs at a time (the generator is never entered twice).
    """
    pieces = stream.chunks()
    ahead: asyncio.Future[Any] | None = asyncio.ensure_future(run_in_threadpool(next, pieces, None))
    try:
        while ahead is not None:
            piece = await ahead
            ahead = None
            if piece is None:
                break
            ahead = asyncio.ensure_future(run_in_threadpool(next, pieces, None))
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        if ahead is not None:  # the client went away mid-body: let the read finish before closing
            with suppress(Exception):
                await asyncio.shield(ahead)
        await run_in_threadpool(stream.close)


def warm_up() -> None:
    """Load every served model, codec and routing index before the first request, not during it.

    Then everything loaded so far (the botocore models are hundreds of
    thousands of objects) moves out of the garbage collector's sight: it
    lives as long as the process, and each full collection would otherwise
    walk all of it again, a cost every request shares.
    """
    routing.warm_up()
    for model in supported_models():
        for protocol in wire_protocols(model):
            codec_for(protocol)
        for name in model.operation_names:
            model.operation_model(name)
    gc.collect()
    gc.freeze()


def build_gateway(settings: Settings) -> Gateway:
    """Open storage, load the master key and the account store for one process."""
    from rampart.accounts import AccountStore
    from rampart.secrets import MasterKey
    from rampart.storage.db import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    accounts = AccountStore(db, MasterKey.load(settings))
    accounts.bootstrap_default(settings)
    journal = CallJournal(settings.data_dir / "calls.jsonl")
    gateway = Gateway(settings=settings, lookup_key=accounts.lookup_signing_key, db=db, accounts=accounts,
                      journal=journal)
    gateway.bus.subscribe(journal)
    registry.wire_services(gateway)
    return gateway


def create_app(settings: Settings | None = None) -> RampartApp:
    """The ASGI app factory ``rampart serve`` and uvicorn call."""
    registry.load_services()
    return RampartApp(build_gateway(settings or Settings.from_env()))
