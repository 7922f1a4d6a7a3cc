"""S3's additional checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256 (x-amz-checksum-*).

CRC32 comes from zlib (C speed). CRC32C and CRC64NVME have no C
implementation among Rampart's dependencies (botocore uses ``awscrt`` for
them when it is installed; it is not), so they are table-driven pure Python
here: correct, and slow (a few MB/s). Clients send them only when asked to.
Values travel base64-encoded, big-endian, as AWS sends them.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
# The input/output member holding each algorithm's value.
MEMBERS = {name: f"Checksum{name}" for name in ALGORITHMS}


def _table(poly: int, width: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc & ((1 << width) - 1))
    return table


_CRC32C_TABLE = _table(0x82F63B78, 32)
_CRC64NVME_TABLE = _table(0x9A6C9329AC4BC9B5, 64)


class _TableCrc:
    """A reflected CRC with all-ones init and final xor, fed incrementally."""

    def __init__(self, table: list[int], width: int) -> None:
        self._table = table
        self._mask = (1 << width) - 1
        self._width = width
        self._crc = self._mask

    def update(self, data: bytes) -> None:
        crc, table = self._crc, self._table
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ self._mask).to_bytes(self._width // 8, "big")


class _Crc32:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class Checksum:
    """One running checksum of an algorithm; ``update`` with data, ``value`` as S3 sends it (base64)."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._impl = _new(algorithm)

    def update(self, data: bytes) -> None:
        """Feed more bytes."""
        self._impl.update(data)

    def digest(self) -> bytes:
        """The raw checksum bytes."""
        return self._impl.digest()

    def value(self) -> str:
        """Base64 of the checksum (the header's form)."""
        return base64.b64encode(self.digest()).decode()


def _new(algorithm: str) -> _Crc32 | _TableCrc | hashlib._Hash:
    factories: dict[str, Callable[[], object]] = {
        "CRC32": _Crc32,
        "CRC32C": lambda: _TableCrc(_CRC32C_TABLE, 32),
        "CRC64NVME": lambda: _TableCrc(_CRC64NVME_TABLE, 64),
        "SHA1": lambda: hashlib.sha1(usedforsecurity=False),
        "SHA256": hashlib.sha256,
    }
    return factories[algorithm]()  # type: ignore[return-value]


def checksum_of(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data`` in one call."""
    running = Checksum(algorithm)
    running.update(data)
    return running.value()


def composite(algorithm: str, part_values: list[str]) -> str:
    """A multipart object's COMPOSITE checksum: the checksum of the parts' raw checksums, ``-N``."""
    raw = b"".join(base64.b64decode(v) for v in part_values)
    return f"{checksum_of(algorithm, raw)}-{len(part_values)}"
