"""The ASGI adapter's header decoding: the fast path must agree with the general one."""

from __future__ import annotations

import pytest

from rampart.gateway.app import _headers_of, _joined_headers

CASES = [
    [],
    [(b"host", b"localhost:4566"), (b"x-amz-date", b"20240524T120000Z")],
    [(b"x-amz-meta-a", b"1"), (b"x-amz-meta-a", b"2")],  # repeated: joined with ","
    [(b"Host", b"x")],  # a server that did not lower the names
    [(b"x-note", b"caf\xe9")],  # latin-1, not ASCII
    [(b"k", b""), (b"", b"v")],
    [(b"\xe9", b"v")],
]


@pytest.mark.parametrize("raw", CASES)
def test_fast_path_equals_the_general_decoding(raw: list[tuple[bytes, bytes]]) -> None:
    headers, size = _headers_of(raw)
    assert headers == _joined_headers(raw)
    assert size == sum(len(name) + len(value) + 4 for name, value in raw)


def test_repeated_and_mixed_case_headers() -> None:
    headers, _ = _headers_of([(b"X-A", b"1"), (b"x-a", b"2")])
    assert headers == {"x-a": "1,2"}
