"""Pure parts of the data path: segmented blob encryption, range parsing, checksums, streamed aws-chunked."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from rampart.auth.chunked import ChunkSigner, decode_chunked_stream, encode_chunked
from rampart.aws.errors import AwsError, InternalFailure
from rampart.services.s3 import blobs
from rampart.services.s3.blobs import SEGMENT, TAG, BlobRef
from rampart.services.s3.errors import InvalidRange
from rampart.services.s3.objects_checksums import checksum_of, composite
from rampart.services.s3.objects_io import parse_range

KEY = bytes(range(32))


def _stored(root: Path, data: bytes) -> BlobRef:
    pending = blobs.write_blob(root, KEY, io.BytesIO(data))
    pending.commit()
    return BlobRef(pending.blob_id, pending.size)


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 20 * SEGMENT + 7])
def test_blob_roundtrip_and_every_range(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    ref = _stored(tmp_path, data)
    on_disk = blobs.blob_path(tmp_path, ref.blob_id).read_bytes()
    assert data[:64] not in on_disk or size < 16  # stored encrypted
    assert blobs.read_all(tmp_path, KEY, [ref], 0, size - 1) == data
    for start, end in [(0, 0), (SEGMENT - 1, SEGMENT), (size // 2, size - 1), (size - 1, size - 1)]:
        if 0 <= start <= end < size:
            assert blobs.read_all(tmp_path, KEY, [ref], start, end) == data[start:end + 1]


def test_ranges_across_several_blobs(tmp_path: Path) -> None:
    parts = [os.urandom(n) for n in (SEGMENT + 5, 10, 2 * SEGMENT)]
    refs = [_stored(tmp_path, p) for p in parts]
    whole = b"".join(parts)
    for start, end in [(0, len(whole) - 1), (SEGMENT, SEGMENT + 20), (SEGMENT + 4, SEGMENT + 15)]:
        assert blobs.read_all(tmp_path, KEY, refs, start, end) == whole[start:end + 1]


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap", "wrong_key"])
def test_tampering_is_detected(tmp_path: Path, damage: str) -> None:
    ref = _stored(tmp_path, os.urandom(3 * SEGMENT))
    path = blobs.blob_path(tmp_path, ref.blob_id)
    raw = bytearray(path.read_bytes())
    key = KEY
    head, seg = len(blobs.MAGIC), SEGMENT + TAG
    if damage == "flip":
        raw[head + 10] ^= 1
    elif damage == "truncate":
        raw = raw[: head + 2 * seg]
    elif damage == "swap":
        raw[head: head + seg], raw[head + seg: head + 2 * seg] = raw[head + seg: head + 2 * seg], raw[head: head + seg]
    else:
        key = bytes(32)
    path.write_bytes(bytes(raw))
    with pytest.raises(InternalFailure):
        blobs.read_all(tmp_path, key, [ref], 0, ref.size - 1)


def test_aborted_blob_leaves_nothing(tmp_path: Path) -> None:
    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(b"data"))
    pending.abort()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("bytes=4-2", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("items=0-1", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=0-", 0), ("bytes=-0", 10)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(InvalidRange):
        parse_range(header, size)


def test_checksum_vectors() -> None:
    assert checksum_of("CRC32", b"123456789") == "y/Q5Jg=="
    assert checksum_of("CRC32C", b"123456789") == "4waSgw=="
    assert checksum_of("CRC64NVME", b"123456789") == "rosUhgp5mIg="
    assert composite("SHA256", [checksum_of("SHA256", b"a"), checksum_of("SHA256", b"b")]).endswith("-2")


def test_streamed_chunk_decoding_bounds_memory_and_verifies() -> None:
    signer = ChunkSigner(KEY, "20260101T000000Z", "20260101/us-east-1/s3/aws4_request", "0" * 64)
    body = os.urandom(5 * 1024 * 1024 + 3)
    encoded = encode_chunked(body, 2 * 1024 * 1024, signer, (("x-amz-checksum-crc32", "AAAAAA=="),))
    pieces: list[bytes] = []
    trailers = decode_chunked_stream(io.BytesIO(encoded), pieces.append, signer)
    assert b"".join(pieces) == body and trailers == (("x-amz-checksum-crc32", "AAAAAA=="),)
    assert max(map(len, pieces)) <= 1024 * 1024  # a 2 MiB chunk reaches the sink in bounded pieces
    damaged = bytearray(encoded)
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises(AwsError):
        decode_chunked_stream(io.BytesIO(bytes(damaged)), lambda piece: None, signer)
