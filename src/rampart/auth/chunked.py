"""aws-chunked payload decoding, with SigV4 chunk-signature verification.

S3 clients upload large or streamed bodies as ``Content-Encoding: aws-chunked``:
``hex-size[;chunk-signature=sig]\\r\\n<data>\\r\\n`` repeated, a zero-size final
chunk, then optional trailing headers (checksums). With
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` every chunk is signed, each signature
chaining on the previous one starting from the request's own (seed) signature,
so a single altered byte anywhere is caught. See AWS's "Signature Calculations
for the Authorization Header: Transferring Payload in Multiple Chunks".
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from rampart.aws.errors import AwsError, SignatureDoesNotMatch

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
_CRLF = b"\r\n"
_MAX_HEADER_LINE = 4096
_READ_SIZE = 1 << 20
_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")

S3_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@dataclass(frozen=True, slots=True)
class ChunkSigner:
    """What chunk signatures chain from: the derived key, the request's date, scope and seed signature."""

    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str

    def chunk_signature(self, previous: str, chunk: bytes) -> str:
        """The signature a chunk must carry, given the previous signature."""
        return self.chunk_signature_of_hash(previous, hashlib.sha256(chunk).hexdigest())

    def chunk_signature_of_hash(self, previous: str, chunk_hash: str) -> str:
        """The signature of a chunk whose SHA-256 (hex) was computed while streaming it."""
        to_sign = f"{CHUNK_ALGORITHM}\n{self.amz_date}\n{self.scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_hash}"
        return hmac.digest(self.signing_key, to_sign.encode("utf-8", "surrogateescape"), "sha256").hex()

    def trailer_signature(self, previous: str, canonical_trailers: bytes) -> str:
        """The signature the trailing headers must carry (``-TRAILER`` variants)."""
        to_sign = "\n".join(
            (TRAILER_ALGORITHM, self.amz_date, self.scope, previous, hashlib.sha256(canonical_trailers).hexdigest())
        )
        return hmac.digest(self.signing_key, to_sign.encode("utf-8", "surrogateescape"), "sha256").hex()


@dataclass(frozen=True, slots=True)
class ChunkedPayload:
    """The decoded object bytes and the trailing headers (lower-case names, in order)."""

    body: bytes
    trailers: tuple[tuple[str, str], ...] = ()


def incomplete_body(message: str = "The request body terminated unexpectedly") -> AwsError:
    """Framing errors: S3 answers IncompleteBody (400) for a body that does not parse."""
    return AwsError(message, code="IncompleteBody", status=400)


def malformed_trailer() -> AwsError:
    """S3's answer to trailing headers outside the schema (not a checksum, or not announced in x-amz-trailer)."""
    return AwsError(
        "The request contained trailing data that was not well-formed or did not conform to our published schema.",
        code="MalformedTrailerError",
        status=400,
    )


def _same_signature(expected: str, given: str) -> bool:
    """Constant-time compare as bytes: ``compare_digest`` raises TypeError on non-ASCII text (a 500)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def _bad_chunk_signature() -> SignatureDoesNotMatch:
    return SignatureDoesNotMatch(S3_SIGNATURE_MESSAGE)


class _Reader:
    """A buffered cursor over the encoded body stream; every read is bounds-checked."""

    __slots__ = ("buffer", "pos", "source")

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.buffer = b""
        self.pos = 0

    def _fill(self, wanted: int) -> bool:
        """Make at least ``wanted`` unread bytes available; False at the end of the stream."""
        while len(self.buffer) - self.pos < wanted:
            more = self.source.read(max(_READ_SIZE, wanted))
            if not more:
                return False
            self.buffer = self.buffer[self.pos :] + more
            self.pos = 0
        return True

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(_CRLF, self.pos, self.pos + _MAX_HEADER_LINE)
            if end >= 0:
                break
            if len(self.buffer) - self.pos >= _MAX_HEADER_LINE or not self._fill(len(self.buffer) - self.pos + 1):
                raise incomplete_body()
        line = self.buffer[self.pos : end]
        self.pos = end + 2
        return line

    def take(self, size: int, consume: Callable[[bytes], None]) -> None:
        """Pass ``size`` bytes to ``consume`` in bounded pieces, then expect CRLF."""
        left = size
        while left:
            if not self._fill(1):
                raise incomplete_body()
            piece = self.buffer[self.pos : self.pos + min(left, _READ_SIZE)]
            self.pos += len(piece)
            left -= len(piece)
            consume(piece)
        if not self._fill(2) or self.buffer[self.pos : self.pos + 2] != _CRLF:
            raise incomplete_body()
        self.pos += 2

    def at_end(self) -> bool:
        return not self._fill(1)


def _chunk_header(line: bytes) -> tuple[int, str | None]:
    """Parse ``hex-size[;chunk-signature=sig]``."""
    size_part, _, ext = line.partition(b";")
    size_part = size_part.strip()
    if not _HEX_SIZE.fullmatch(size_part):
        raise incomplete_body()
    size = int(size_part, 16)
    signature = None
    if ext:
        name, _, value = ext.partition(b"=")
        if name.strip() != b"chunk-signature":
            raise incomplete_body()
        signature = value.strip().decode("ascii", "replace")
    return size, signature


def _read_trailers(reader: _Reader) -> list[tuple[str, str]]:
    """Trailing ``name:value`` lines up to the blank line (or the end of the body)."""
    trailers: list[tuple[str, str]] = []
    while not reader.at_end():
        line = reader.line()
        if not line:
            break
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise incomplete_body()
        trailers.append((name.strip().lower(), value.strip()))
    return trailers


def decode_chunked(data: bytes, signer: ChunkSigner | None = None) -> ChunkedPayload:
    """Decode an aws-chunked body held in memory (see ``decode_chunked_stream``)."""
    parts: list[bytes] = []
    trailers = decode_chunked_stream(io.BytesIO(data), parts.append, signer)
    return ChunkedPayload(b"".join(parts), trailers)


def decode_chunked_stream(
    source: BinaryIO, sink: Callable[[bytes], None], signer: ChunkSigner | None = None
) -> tuple[tuple[str, str], ...]:
    """Decode an aws-chunked stream into ``sink``; with a signer, verify every chunk and trailer signature.

    Memory stays bounded whatever a chunk's declared size: data goes to the
    sink in pieces while its hash accumulates. Without a signer
    (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) chunk signatures must be absent.
    Returns the trailing headers, their checksums unverified. A chunk whose
    signature fails has already reached the sink: the caller discards the
    whole output on any error.
    """
    reader = _Reader(source)
    previous = signer.seed_signature if signer else ""
    while True:
        size, signature = _chunk_header(reader.line())
        if (signature is None) != (signer is None):
            raise _bad_chunk_signature() if signer else incomplete_body()
        digest = hashlib.sha256()
        if size:
            if signer is None:
                reader.take(size, sink)
            else:
                reader.take(size, _hashing(digest, sink))
        if signer is not None:
            previous = _verify_chunk(signer, previous, digest.hexdigest(), signature or "")
        if not size:
            break
    trailers = _read_trailers(reader)
    if signer is not None:
        trailers = _verify_trailer_signature(signer, previous, trailers)
    return tuple(trailers)


def _hashing(digest: hashlib._Hash, sink: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """A sink that also feeds the chunk's running SHA-256 (its signature covers the hash)."""

    def consume(piece: bytes) -> None:
        digest.update(piece)
        sink(piece)

    return consume


def _verify_chunk(signer: ChunkSigner, previous: str, chunk_hash: str, given: str) -> str:
    expected = signer.chunk_signature_of_hash(previous, chunk_hash)
    if not _same_signature(expected, given):
        raise _bad_chunk_signature()
    return expected


def _verify_trailer_signature(
    signer: ChunkSigner, previous: str, trailers: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Signed trailers end with ``x-amz-trailer-signature``; no trailers means no signature."""
    if not trailers:
        return trailers
    name, given = trailers[-1]
    if name != "x-amz-trailer-signature":
        raise _bad_chunk_signature()
    rest = trailers[:-1]
    canonical = "".join(f"{key}:{value}\n" for key, value in rest).encode()
    if not _same_signature(signer.trailer_signature(previous, canonical), given):
        raise _bad_chunk_signature()
    return rest


def encode_chunked(
    body: bytes,
    chunk_size: int,
    signer: ChunkSigner | None = None,
    trailers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Encode a body as aws-chunked (what clients send): used by tests and tools.

    With a signer every chunk (and, if any, the trailers) is signed as SigV4
    streaming requires; without one the chunks carry no signature.
    """
    out = bytearray()
    previous = signer.seed_signature if signer else ""
    pieces = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)] + [b""]
    for piece in pieces:
        ext = b""
        if signer is not None:
            previous = signer.chunk_signature(previous, piece)
            ext = b";chunk-signature=" + previous.encode()
        out += b"%x%s\r\n" % (len(piece), ext)
        if piece:
            out += piece + _CRLF
    for name, value in trailers:
        out += f"{name}:{value}\r\n".encode()
    if signer is not None and trailers:
        canonical = "".join(f"{k}:{v}\n" for k, v in trailers).encode()
        out += f"x-amz-trailer-signature:{signer.trailer_signature(previous, canonical)}\r\n".encode()
    out += _CRLF
    return bytes(out)


def stored_content_encoding(content_encoding: str | None) -> str | None:
    """The Content-Encoding to keep with an object: ``aws-chunked`` is transport only."""
    if not content_encoding:
        return None
    kept = [p.strip() for p in content_encoding.split(",") if p.strip() and p.strip().lower() != "aws-chunked"]
    return ", ".join(kept) or None
