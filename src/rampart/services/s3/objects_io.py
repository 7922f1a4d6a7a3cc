"""What the object operations share: request bodies in, validated and durable blobs, responses out.

A write is acknowledged only after its bytes are durable: ``store_body``
encrypts into a synced temporary file while hashing, checks Content-MD5 and
the x-amz-checksum-* value, and ``commit_version`` renames the blob into
place before the database transaction makes it visible. Blobs a change
orphaned are deleted after the commit; a crash in between leaves only
unreferenced files, never a half-visible object. Bodies of one segment (PutObject,
CopyObject) are sealed in memory and committed on the version row instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from rampart.auth.chunked import stored_content_encoding
from rampart.gateway.call import Call
from rampart.gateway.http import SpooledBody
from rampart.services.s3 import blobs, objects_store
from rampart.services.s3.blobs import BlobRef, PendingBlob
from rampart.services.s3.encryption import Envelope, open_envelope
from rampart.services.s3.errors import (
    BadDigest,
    InvalidDigest,
    InvalidRange,
    MetadataTooLarge,
    NoSuchKey,
    NoSuchVersion,
    NotModified,
    PreconditionFailed,
    invalid_argument,
)
from rampart.services.s3.objects_checksums import ALGORITHMS, Checksum
from rampart.services.s3.objects_store import NULL_VERSION, NewVersion, ObjectVersion
from rampart.services.s3.store import Bucket, Conn

INLINE_LIMIT = 1 << 20  # GET bodies up to this size are read at once; larger ones stream
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
_HEADER_MEMBERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl",
                   "WebsiteRedirectLocation")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def blob_root(call: Call) -> Any:
    """This server's blob directory."""
    return blobs.blob_root(call.gateway.settings.data_dir)


def body_stream(value: Any) -> BinaryIO:
    """The request's payload as a readable file, whatever the transport gave (bytes or a spooled file)."""
    if value is None:
        return io.BytesIO(b"")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(value))
    if isinstance(value, SpooledBody):
        return value.open()
    return value  # type: ignore[no-any-return]


@dataclass(slots=True)
class Stored:
    """A body written to a pending blob, with its MD5 (hex) and its checksum (if any)."""

    pending: PendingBlob
    md5: str
    checksum: dict[str, str] | None


def requested_checksum(params: dict[str, Any]) -> tuple[str, str | None] | None:
    """(algorithm, the value the client sent or None) for the request's checksum, if it asks for one."""
    for algorithm in ALGORITHMS:
        value = params.get(f"Checksum{algorithm}")
        if value:
            return algorithm, value
    algorithm = params.get("ChecksumAlgorithm")
    if algorithm:
        if algorithm not in ALGORITHMS:
            raise invalid_argument("Checksum algorithm provided is unsupported.", "x-amz-sdk-checksum-algorithm",
                                   algorithm)
        return algorithm, None
    return None


def _content_md5(params: dict[str, Any]) -> bytes | None:
    given = params.get("ContentMD5")
    if not given:
        return None
    try:
        digest = base64.b64decode(given, validate=True)
    except binascii.Error:
        raise InvalidDigest(given) from None
    if len(digest) != 16:
        raise InvalidDigest(given)
    return digest


def store_body(call: Call, data_key: bytes, source: BinaryIO, params: dict[str, Any], inline: bool = False) -> Stored:
    """Encrypt the body into a synced pending blob; Content-MD5 and checksums verified on the same pass.

    ``inline``: a body of one segment is sealed in memory, for the version row (objects; parts stay files).
    """
    expected_md5 = _content_md5(params)
    wanted = requested_checksum(params)
    md5 = hashlib.md5(usedforsecurity=False)
    observers: list[Any] = [md5.update]
    running = Checksum(wanted[0]) if wanted else None
    if running is not None:
        observers.append(running.update)
    try:
        pending = blobs.write_blob(blob_root(call), data_key, source, observers, inline)
    finally:
        source.close()
    try:
        if expected_md5 is not None and md5.digest() != expected_md5:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
        checksum = None
        if wanted is not None and running is not None:
            if wanted[1] is not None and wanted[1] != running.value():
                raise BadDigest(f"The {wanted[0]} you specified did not match the calculated checksum.")
            checksum = {"algorithm": wanted[0], "value": running.value(), "type": "FULL_OBJECT"}
    except BaseException:
        pending.abort()
        raise
    return Stored(pending, md5.hexdigest(), checksum)


def commit_version(call: Call, bucket: Bucket, new: NewVersion, pending: list[PendingBlob]) -> str:
    """Make blobs durable, then the version visible; returns its version id.

    An inline blob's bytes are on the version row: durable and visible in the same commit.
    """
    for blob in pending:
        blob.commit()
    try:
        with call.gateway.db.session() as session:
            version_id, orphans = objects_store.write_version(session, bucket, new)
    except BaseException:
        blobs.delete_blobs(blob_root(call), [b.blob_id for b in pending if b.temp is not None])
        raise
    blobs.delete_blobs(blob_root(call), orphans)
    return version_id


def content_headers(params: dict[str, Any]) -> dict[str, Any]:
    """The content headers stored with an object (aws-chunked is transport, not content)."""
    out = {name: params[name] for name in _HEADER_MEMBERS if params.get(name) is not None}
    if "ContentEncoding" in out:
        encoding = stored_content_encoding(out["ContentEncoding"])
        if encoding is None:
            del out["ContentEncoding"]
        else:
            out["ContentEncoding"] = encoding
    out.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
    if params.get("Expires") is not None:
        out["Expires"] = params["Expires"].isoformat() if hasattr(params["Expires"], "isoformat") else str(
            params["Expires"])
    return out


MAX_METADATA_BYTES = 2048


def user_metadata(params: dict[str, Any]) -> dict[str, str]:
    """x-amz-meta-* (keys lower-cased, as S3 keeps them); over 2 KB is MetadataTooLarge.

    S3 measures the sum of the UTF-8 bytes of every key and value (User
    Guide, "Working with object metadata").
    """
    found = {k.lower(): v for k, v in (params.get("Metadata") or {}).items()}
    size = sum(len(k.encode("utf-8", "surrogateescape")) + len(str(v).encode("utf-8", "surrogateescape"))
               for k, v in found.items())
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge("Your metadata headers exceed the maximum allowed metadata size.",
                               fields={"Size": size, "MaxSizeAllowed": MAX_METADATA_BYTES})
    return found


def quoted(etag: str) -> str:
    """An ETag as it travels: in double quotes."""
    return f'"{etag}"'


def _etag_matches(condition: str, etag: str) -> bool:
    tags = [t.strip().strip('"') for t in condition.split(",")]
    return "*" in tags or etag in tags


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def check_conditions(version: ObjectVersion, params: dict[str, Any], prefix: str = "") -> None:
    """If-Match / If-None-Match / If-(Un)Modified-Since, with S3's precedence.

    ``prefix`` "CopySource" checks the copy-source forms, which fail with 412
    where a GET's If-None-Match / If-Modified-Since answer 304.
    """
    modified = _second(version.last_modified)
    if_match = params.get(f"{prefix}IfMatch")
    if_none = params.get(f"{prefix}IfNoneMatch")
    since = params.get(f"{prefix}IfModifiedSince")
    unmodified = params.get(f"{prefix}IfUnmodifiedSince")
    if if_match is not None and not _etag_matches(if_match, version.etag):
        raise PreconditionFailed("If-Match")
    if if_match is None and unmodified is not None and modified > unmodified:
        raise PreconditionFailed("If-Unmodified-Since")
    not_modified = NotModified if not prefix else (lambda: PreconditionFailed("If-None-Match"))
    if if_none is not None and _etag_matches(if_none, version.etag):
        raise not_modified()
    if if_none is None and since is not None and modified <= since:
        raise not_modified()


def parse_range(text: str | None, size: int) -> tuple[int, int] | None:
    """A Range header as (start, end) inclusive; None when absent or not a single byte range (S3 then
    sends the whole object); InvalidRange when it starts past the end."""
    if not text:
        return None
    match = _RANGE.fullmatch(text.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # a suffix: the last N bytes
        count = int(last)
        if count == 0:
            raise InvalidRange(text, size)
        return max(0, size - count), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise InvalidRange(text, size)
    return start, min(end, size - 1)


def find_version(conn: Conn, bucket: str, key: str, version_id: str | None) -> ObjectVersion:
    """The version a read names (latest when no id), delete markers included; 404 errors as S3's."""
    if version_id:
        found = objects_store.get_version(conn, bucket, key, version_id)
        if found is None:
            if version_id != NULL_VERSION and len(version_id) != 32:
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            raise NoSuchVersion(key, version_id)
        return found
    found = objects_store.get_latest(conn, bucket, key)
    if found is None:
        raise NoSuchKey(key)
    return found


def data_key_of(call: Call, bucket: Bucket, version: ObjectVersion) -> bytes:
    """The version's data key, unwrapped for this caller."""
    assert version.envelope is not None
    return open_envelope(call, bucket, version.key, version.envelope)


class ReadStream(io.RawIOBase):
    """A decrypted object (or range) as a readable file: the source of a copy."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()
        super().close()


def version_reader(call: Call, bucket: Bucket, version: ObjectVersion, start: int = 0,
                   end: int | None = None) -> ReadStream:
    """A reader over a stored version's plaintext (``start..end`` inclusive)."""
    last = version.size - 1 if end is None else end
    return ReadStream(blobs.read_refs(blob_root(call), data_key_of(call, bucket, version), version.blobs, start, last))


class GetBody:
    """GetObject's payload: bytes in hand (small objects) or a stream; ``status`` 206 for a range."""

    def __init__(self, length: int, data: bytes | None = None, stream: blobs.ObjectStream | None = None,
                 status: int | None = None) -> None:
        self.length = length
        self.data = data
        self.status = status
        self._stream = stream

    def chunks(self) -> Iterator[bytes]:
        """The body's pieces."""
        if self._stream is not None:
            return self._stream.chunks()
        return iter((self.data or b"",))

    def close(self) -> None:
        """Release the blob file."""
        if self._stream is not None:
            self._stream.close()


def read_body(call: Call, bucket: Bucket, version: ObjectVersion, start: int, end: int,
              status: int | None) -> GetBody:
    """The body for bytes ``start..end`` of a version: in memory when small, else streamed."""
    key = data_key_of(call, bucket, version)
    root = blob_root(call)
    length = max(0, end - start + 1)
    if length <= INLINE_LIMIT:
        return GetBody(length, blobs.read_all(root, key, version.blobs, start, end), status=status)
    return GetBody(length, stream=blobs.ObjectStream(root, key, version.blobs, start, end), status=status)


def version_output(bucket: Bucket, version: ObjectVersion, params: dict[str, Any]) -> dict[str, Any]:
    """The members GetObject and HeadObject answer about a version."""
    out: dict[str, Any] = {
        "ETag": quoted(version.etag),
        "LastModified": version.last_modified,
        "ContentLength": version.size,
        "AcceptRanges": "bytes",
    }
    for name, value in version.headers.items():
        out[name] = dt.datetime.fromisoformat(value) if name == "Expires" else value
    if version.metadata:
        out["Metadata"] = dict(version.metadata)
    if version.version_id != NULL_VERSION or bucket.versioning:
        out["VersionId"] = version.version_id
    if version.storage_class != objects_store.STANDARD:
        out["StorageClass"] = version.storage_class
    if version.envelope is not None:
        out.update(version.envelope.response_headers())
    if version.tags:
        out["TagCount"] = len(version.tags)
    if params.get("ChecksumMode") == "ENABLED" and version.checksum:
        out.update(checksum_output(version.checksum))
    return out


def checksum_output(checksum: dict[str, str]) -> dict[str, Any]:
    """ChecksumXXX and ChecksumType members for a stored checksum."""
    return {f"Checksum{checksum['algorithm']}": checksum["value"], "ChecksumType": checksum.get("type", "FULL_OBJECT")}


def envelope_output(envelope: Envelope) -> dict[str, Any]:
    """ServerSideEncryption and friends for a write's answer."""
    return envelope.response_headers()


__all__ = ["BlobRef", "GetBody", "Stored", "body_stream", "check_conditions", "commit_version", "content_headers",
           "find_version", "parse_range", "read_body", "store_body", "user_metadata", "version_output",
           "version_reader"]
