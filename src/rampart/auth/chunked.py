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
import re
from dataclasses import dataclass

from rampart.aws.errors import AwsError, SignatureDoesNotMatch

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
_CRLF = b"\r\n"
_MAX_HEADER_LINE = 4096
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
        to_sign = "\n".join(
            (CHUNK_ALGORITHM, self.amz_date, self.scope, previous, EMPTY_SHA256, hashlib.sha256(chunk).hexdigest())
        )
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


def _bad_chunk_signature() -> SignatureDoesNotMatch:
    return SignatureDoesNotMatch(S3_SIGNATURE_MESSAGE)


class _Reader:
    """A cursor over the encoded body; every read is bounds-checked."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def line(self) -> bytes:
        end = self.data.find(_CRLF, self.pos, self.pos + _MAX_HEADER_LINE)
        if end < 0:
            raise incomplete_body()
        line = self.data[self.pos : end]
        self.pos = end + 2
        return line

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end + 2 > len(self.data) or self.data[end : end + 2] != _CRLF:
            raise incomplete_body()
        chunk = self.data[self.pos : end]
        self.pos = end + 2
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.data)


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
    """Decode an aws-chunked body; with a signer, verify every chunk and trailer signature.

    Without a signer (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) chunk signatures
    must be absent. The trailing checksum headers are returned unverified.
    """
    reader = _Reader(data)
    parts: list[bytes] = []
    previous = signer.seed_signature if signer else ""
    while True:
        size, signature = _chunk_header(reader.line())
        if (signature is None) != (signer is None):
            raise _bad_chunk_signature() if signer else incomplete_body()
        chunk = reader.take(size) if size else b""
        if signer is not None:
            previous = _verify_chunk(signer, previous, chunk, signature or "")
        if not size:
            break
        parts.append(chunk)
    trailers = _read_trailers(reader)
    if signer is not None:
        trailers = _verify_trailer_signature(signer, previous, trailers)
    return ChunkedPayload(b"".join(parts), tuple(trailers))


def _verify_chunk(signer: ChunkSigner, previous: str, chunk: bytes, given: str) -> str:
    expected = signer.chunk_signature(previous, chunk)
    if not hmac.compare_digest(expected, given):
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
    if not hmac.compare_digest(signer.trailer_signature(previous, canonical), given):
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
