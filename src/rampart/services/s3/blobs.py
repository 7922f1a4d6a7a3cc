"""Object bytes on the local file system, encrypted in independently authenticated segments.

A blob is one file, ``data_dir/s3/<shard>/<blob id>``: an 8-byte magic, then
the plaintext cut into 64 KiB segments, each sealed with AES-256-GCM under a
key derived from the object's data key and the blob id (so the parts of a
multipart upload, which share a data key, never share a key and nonce). The
nonce is the segment index; the additional data binds the blob id, the index
and a last-segment flag, so segments cannot be swapped, moved between blobs,
or cut off at the end unnoticed. A ranged read decrypts only the segments it
touches.

Durability: a blob is written to a temporary file, fsynced, renamed into
place and its directory fsynced before the caller commits the database row
that makes it visible; a crash leaves at most an unreferenced file.

Inline blobs: a body of one segment (up to 64 KiB) may instead be sealed in
memory, in exactly the file's format (magic, one sealed segment, the same
key, nonce and additional data), and stored by the caller on the database
row that references it. Its PUT is then one commit (one WAL fsync) instead
of a file's create, write, fsync, rename and directory fsync, and it is
durable exactly when it becomes visible. Reads, ranges and tamper detection
go through the same code: only where the sealed bytes come from differs.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rampart.aws.errors import InternalFailure

SEGMENT = 64 * 1024
INLINE_MAX = SEGMENT  # the largest body ``write_blob(inline=True)`` keeps off the file system: one segment
TAG = 16
MAGIC = b"RMPS3B1\0"
_PIECE_SEGMENTS = 16  # a streamed response piece: 1 MiB
_PARALLEL_AFTER = 1 << 20  # bodies longer than this are hashed on a helper thread while they are encrypted
_QUEUED_BATCHES = 4  # batches of _PIECE_SEGMENTS segments waiting for the hashing thread, at most


def blob_root(data_dir: Path) -> Path:
    """Where S3 blobs live under the server's data directory."""
    return data_dir / "s3"


def blob_path(root: Path, blob_id: str) -> Path:
    """A blob's file: sharded by the first two hex digits of its id."""
    return root / blob_id[:2] / blob_id


def _blob_cipher(data_key: bytes, blob_id: str) -> AESGCM:
    return AESGCM(hmac.digest(data_key, b"rampart/s3/blob/" + blob_id.encode(), "sha256"))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(blob_id: str, index: int, last: bool) -> bytes:
    return blob_id.encode() + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


@dataclass(slots=True)
class PendingBlob:
    """A blob written and synced to a temporary file, not yet in place (``commit``) or dropped (``abort``).

    An inline blob has no file (``temp`` None): its ``sealed`` bytes become
    durable with the database row the caller stores them on.
    """

    root: Path
    blob_id: str
    temp: Path | None
    size: int
    sealed: bytes | None = None

    def ref(self) -> BlobRef:
        """The reference a version row stores (carrying the sealed bytes of an inline blob)."""
        return BlobRef(self.blob_id, self.size, self.sealed)

    def commit(self) -> None:
        """Rename into place and sync the directory: after this the blob survives a crash."""
        if self.temp is None:
            return  # inline: durable with the caller's commit
        final = blob_path(self.root, self.blob_id)
        try:
            os.replace(self.temp, final)
        except FileNotFoundError:  # the shard's first blob: make its directory (not a syscall per write)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.temp, final)
        _fsync_dir(final.parent)

    def abort(self) -> None:
        """Remove the temporary file (validation failed, or the database write did)."""
        if self.temp is not None:
            _unlink(self.temp)


def write_blob(
    root: Path, data_key: bytes, source: BinaryIO, observe: Sequence[Callable[[bytes], object]] = (),
    inline: bool = False,
) -> PendingBlob:
    """Encrypt ``source`` into a new blob's temporary file; each plaintext piece also goes to ``observe``.

    The observers are the hashes (MD5 for the ETag, the request's checksum),
    fed on the same single pass. The file is fsynced before returning. With
    ``inline``, a body of at most one segment (``INLINE_MAX``) is sealed in
    memory instead (``PendingBlob.sealed``): no file is written.
    """
    blob_id = uuid.uuid4().hex
    cipher = _blob_cipher(data_key, blob_id)
    current = _read_full(source, SEGMENT)
    following = _read_full(source, SEGMENT) if len(current) == SEGMENT else b""
    if inline and not following:
        for observer in observe:
            observer(current)
        sealed = MAGIC + cipher.encrypt(_nonce(0), current, _aad(blob_id, 0, True))
        return PendingBlob(root, blob_id, None, len(current), sealed)
    temp = root / "tmp" / f"{blob_id}.part"
    size = 0
    feed = _Feed(observe)
    try:
        with _create(temp) as out:
            out.write(MAGIC)
            index = 0
            while True:
                if index:
                    following = _read_full(source, SEGMENT) if len(current) == SEGMENT else b""
                last = not following
                feed(current)
                size += len(current)
                out.write(cipher.encrypt(_nonce(index), current, _aad(blob_id, index, last)))
                if last:
                    break
                current, index = following, index + 1
            feed.finish()
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        feed.abandon()
        _unlink(temp)
        raise
    return PendingBlob(root, blob_id, temp, size)


def _create(path: Path) -> BinaryIO:
    """A new file for writing; its directory is made only when missing (the first write)."""
    try:
        return open(path, "xb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "xb")


class _Feed:
    """Hands the plaintext to the observers (the ETag's MD5, the checksum) in order.

    The first ``_PARALLEL_AFTER`` bytes go inline. A longer body's hashing
    moves to a helper thread, fed 1 MiB batches through a bounded queue:
    MD5 (about 500 MB/s here, and the ETag needs it) then runs on the
    second core while this thread reads, encrypts and writes, instead of
    after them; memory stays at a few batches.
    """

    def __init__(self, observe: Sequence[Callable[[bytes], object]]) -> None:
        self._observe = observe
        self._seen = 0
        self._batch: list[bytes] = []
        self._queue: queue.Queue[list[bytes] | None] | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def __call__(self, piece: bytes) -> None:
        if not self._observe:
            return
        self._seen += len(piece)
        if self._thread is None and self._seen <= _PARALLEL_AFTER:
            for observer in self._observe:
                observer(piece)
            return
        if self._thread is None:
            self._queue = queue.Queue(maxsize=_QUEUED_BATCHES)
            self._thread = threading.Thread(target=self._run, name="s3-blob-hash", daemon=True)
            self._thread.start()
        self._batch.append(piece)
        if len(self._batch) >= _PIECE_SEGMENTS:
            self._hand_over()

    def _hand_over(self) -> None:
        assert self._queue is not None
        batch, self._batch = self._batch, []
        self._queue.put(batch)

    def _run(self) -> None:
        assert self._queue is not None
        while (batch := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # drain, so the writer never blocks on a full queue
            try:
                for piece in batch:
                    for observer in self._observe:
                        observer(piece)
            except Exception as caught:  # noqa: BLE001 - re-raised on the writer's thread by finish()
                self._failure = caught

    def finish(self) -> None:
        """Wait until every piece was observed; an observer's error is raised here."""
        if self._thread is None:
            return
        if self._batch:
            self._hand_over()
        assert self._queue is not None
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._failure is not None:
            raise self._failure

    def abandon(self) -> None:
        """Stop the helper thread after a failed write (its results are not wanted)."""
        if self._thread is not None and self._queue is not None:
            self._batch = []
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def _read_full(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: short only at the end of the stream (file objects may return less)."""
    data = source.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = source.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def delete_blobs(root: Path, blob_ids: Sequence[str]) -> None:
    """Remove blob files (after the database no longer references them); missing ones are fine."""
    for blob_id in blob_ids:
        _unlink(blob_path(root, blob_id))


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class BlobRef:
    """One stored piece of an object: a blob id and its plaintext size (multipart objects have several).

    ``sealed``: an inline blob's bytes (from its database row); None for a blob file.
    """

    blob_id: str
    size: int
    sealed: bytes | None = field(default=None, compare=False, repr=False)


def _segments(size: int) -> int:
    """How many segments a blob of ``size`` plaintext bytes has (an empty blob has one, empty)."""
    return max(1, -(-size // SEGMENT))


def read_range(root: Path, data_key: bytes, ref: BlobRef, start: int, end: int) -> Iterator[bytes]:
    """Plaintext bytes ``start..end`` (inclusive) of one blob, decrypting only the segments they touch.

    Pieces are at most ``_PIECE_SEGMENTS`` segments. A segment that fails
    authentication is an internal failure (tampered or corrupt storage):
    nothing unauthenticated is ever returned.
    """
    if end < start:
        return
    cipher = _blob_cipher(data_key, ref.blob_id)
    total = _segments(ref.size)
    first, last_index = start // SEGMENT, end // SEGMENT
    with _open_sealed(root, ref) as file:
        file.seek(len(MAGIC) + first * (SEGMENT + TAG))
        index = first
        while index <= last_index:
            count = min(_PIECE_SEGMENTS, last_index - index + 1)
            raw = memoryview(file.read(count * (SEGMENT + TAG)))  # segments are sliced without copies
            plain = []
            for offset in range(0, len(raw), SEGMENT + TAG):
                sealed = raw[offset : offset + SEGMENT + TAG]
                plain.append(_open_segment(cipher, ref.blob_id, index, index == total - 1, sealed))
                index += 1
            if len(plain) < count:
                raise InternalFailure("An object's stored data is truncated.")
            piece = b"".join(plain)
            base = (index - len(plain)) * SEGMENT
            yield piece[max(0, start - base) : end - base + 1]


def _open_sealed(root: Path, ref: BlobRef) -> BinaryIO:
    """The sealed bytes of a blob, as a file: the inline bytes of its row, or its blob file."""
    if ref.sealed is not None:
        return io.BytesIO(ref.sealed)
    try:
        return open(blob_path(root, ref.blob_id), "rb")  # the caller closes it
    except FileNotFoundError:
        raise InternalFailure("An object's stored data is missing.") from None


def _open_segment(cipher: AESGCM, blob_id: str, index: int, last: bool, sealed: bytes | memoryview) -> bytes:
    try:
        return cipher.decrypt(_nonce(index), sealed, _aad(blob_id, index, last))
    except InvalidTag:
        raise InternalFailure("An object's stored data failed its integrity check.") from None


def read_refs(root: Path, data_key: bytes, refs: Sequence[BlobRef], start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of an object stored as consecutive blobs."""
    offset = 0
    for ref in refs:
        lo, hi = max(start, offset), min(end, offset + ref.size - 1)
        if lo <= hi:
            yield from read_range(root, data_key, ref, lo - offset, hi - offset)
        offset += ref.size
        if offset > end:
            return


class ObjectStream:
    """A GetObject body: ``length`` bytes of an object, decrypted piece by piece as it is sent."""

    def __init__(self, root: Path, data_key: bytes, refs: Sequence[BlobRef], start: int, end: int) -> None:
        self.length = max(0, end - start + 1)
        self._pieces = read_refs(root, data_key, refs, start, end)

    def chunks(self) -> Iterator[bytes]:
        """The pieces, in order."""
        return self._pieces

    def close(self) -> None:
        """Close the open blob file, if the body was abandoned midway."""
        self._pieces.close()


def read_all(root: Path, data_key: bytes, refs: Sequence[BlobRef], start: int, end: int) -> bytes:
    """A (small) range in memory: cheaper than streaming for small objects."""
    return b"".join(read_refs(root, data_key, refs, start, end))


def md5_hex(data: bytes) -> str:
    """Hex MD5 (the ETag of a single-part object)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
