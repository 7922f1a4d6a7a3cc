"""aws-chunked payloads: AWS's published streaming example, tampering, trailers."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import zlib

import pytest

from rampart.auth import chunked, sigv4
from rampart.auth.chunked import ChunkSigner, decode_chunked, encode_chunked
from rampart.auth.failures import Failures
from rampart.auth.sigv4 import authenticate
from rampart.aws.errors import AwsError
from rampart.gateway.http import HttpRequest
from tests.auth.test_sigv4 import AKID, RECORDS, client_request, lookup

# AWS's worked example: "Signature Calculations for the Authorization Header: Transferring
# Payload in Multiple Chunks (Chunked Upload)" in the Amazon S3 API reference.
EXAMPLE_AT = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
EXAMPLE_OBJECT = b"a" * 66560


def example_body() -> bytes:
    return (
        f"10000;chunk-signature={CHUNK_SIGNATURES[0]}\r\n".encode() + b"a" * 65536 + b"\r\n"
        + f"400;chunk-signature={CHUNK_SIGNATURES[1]}\r\n".encode() + b"a" * 1024 + b"\r\n"
        + f"0;chunk-signature={CHUNK_SIGNATURES[2]}\r\n\r\n".encode()
    )


def example_request(body: bytes | None = None) -> HttpRequest:
    body = example_body() if body is None else body
    return HttpRequest(
        method="PUT",
        path="/examplebucket/chunkObject.txt",
        headers={
            "host": "s3.amazonaws.com",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "authorization": (
                f"AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws4_request,"
                "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                f"x-amz-decoded-content-length;x-amz-storage-class,Signature={SEED}"
            ),
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": "66560",
            "content-length": "66824",
        },
        body=body,
    )


def example_signer() -> ChunkSigner:
    key = sigv4.signing_key(RECORDS[AKID], "20130524", "us-east-1", "s3")
    return ChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", SEED)


def verify(request: HttpRequest) -> sigv4.Authenticated:
    return authenticate(request, lookup, now=EXAMPLE_AT, s3_style=True, allow_anonymous=False)


def test_published_example_seed_and_chunk_signatures() -> None:
    assert len(example_body()) == 66824
    signer = example_signer()
    previous = SEED
    for chunk, expected in zip((b"a" * 65536, b"a" * 1024, b""), CHUNK_SIGNATURES):
        previous = signer.chunk_signature(previous, chunk)
        assert previous == expected
    assert encode_chunked(EXAMPLE_OBJECT, 65536, signer) == example_body()


def test_published_example_authenticates_and_decodes() -> None:
    result = verify(example_request())
    assert result.body == EXAMPLE_OBJECT
    assert result.key is RECORDS[AKID] and result.service == "s3"


def _flip(body: bytes, index: int) -> bytes:
    changed = bytearray(body)
    changed[index] ^= 0x01
    return bytes(changed)


HEADER_LEN = len(f"10000;chunk-signature={CHUNK_SIGNATURES[0]}\r\n")
TAMPERING = {
    "first chunk data": (lambda b: _flip(b, HEADER_LEN + 10), "SignatureDoesNotMatch"),
    "second chunk data": (lambda b: _flip(b, len(b) - 100), "SignatureDoesNotMatch"),
    "chunk signature": (lambda b: b.replace(CHUNK_SIGNATURES[1][:8].encode(), b"00000000"), "SignatureDoesNotMatch"),
    "final signature": (lambda b: b.replace(CHUNK_SIGNATURES[2][:8].encode(), b"00000000"), "SignatureDoesNotMatch"),
    "dropped chunk": (lambda b: b[: HEADER_LEN + 65538] + b[-(len(CHUNK_SIGNATURES[2]) + 22):], "SignatureDoesNotMatch"),
    "truncated": (lambda b: b[:-200], "IncompleteBody"),
    "bad size": (lambda b: b"zz" + b[5:], "IncompleteBody"),
    "unsigned chunk": (lambda b: b.replace(f";chunk-signature={CHUNK_SIGNATURES[0]}".encode(), b""), "SignatureDoesNotMatch"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampered_chunked_body_is_rejected(name: str) -> None:
    mutate, code = TAMPERING[name]
    with pytest.raises(AwsError) as caught:
        verify(example_request(mutate(example_body())))
    assert caught.value.code == code


def test_decoded_length_is_checked() -> None:
    request = example_request()
    wrong = dataclasses.replace(request, headers={**request.headers, "x-amz-decoded-content-length": "66561"})
    with pytest.raises(AwsError) as caught:
        verify(wrong)
    assert caught.value.code == "SignatureDoesNotMatch"  # the header is signed
    with pytest.raises(AwsError) as caught:
        decode_and_check_length(b"a" * 10, declared="11")
    assert caught.value.code == "IncompleteBody"


def decode_and_check_length(data: bytes, declared: str) -> None:
    fail = Failures(True)
    request = HttpRequest("PUT", "/b/k", headers={"x-amz-decoded-content-length": declared})
    sigv4._check_decoded_length(request, chunked.ChunkedPayload(data), fail)


def test_signed_trailer_round_trip() -> None:
    signer = example_signer()
    checksum = base64.b64encode(zlib.crc32(EXAMPLE_OBJECT).to_bytes(4, "big")).decode()
    trailers = (("x-amz-checksum-crc32", checksum),)
    body = encode_chunked(EXAMPLE_OBJECT, 8192, signer, trailers)
    assert decode_chunked(body, signer) == chunked.ChunkedPayload(EXAMPLE_OBJECT, trailers)
    forged = body.replace(checksum.encode(), b"AAAAAA==")
    with pytest.raises(AwsError) as caught:
        decode_chunked(forged, signer)
    assert caught.value.code == "SignatureDoesNotMatch"


def test_boto3_streaming_unsigned_trailer_upload() -> None:
    data = bytes(range(256)) * 50
    request = client_request("s3", "put_object", {"Bucket": "bkt", "Key": "k", "Body": io.BytesIO(data)},
                             endpoint="https://localhost:4566")
    assert request.headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    result = authenticate(request, lookup, now=dt.datetime(2024, 5, 24, 12, tzinfo=dt.UTC),
                          s3_style=True, allow_anonymous=False)
    assert result.body == data
    (name, value), = result.trailers
    assert name == "x-amz-checksum-crc32"
    assert base64.b64decode(value) == zlib.crc32(data).to_bytes(4, "big")
    assert chunked.stored_content_encoding(request.headers.get("content-encoding")) is None
    assert chunked.stored_content_encoding("gzip,aws-chunked") == "gzip"


def test_unsigned_decoding_rejects_framing_errors() -> None:
    for broken in (b"5\r\nabc\r\n0\r\n\r\n", b"3\r\nabc", b"3;chunk-signature=00\r\nabc\r\n0\r\n\r\n", b"x:y"):
        with pytest.raises(AwsError):
            decode_chunked(broken)
    assert decode_chunked(b"3\r\nabc\r\n0\r\n\r\n").body == b"abc"


def test_non_ascii_chunk_signature_is_a_mismatch_not_a_crash() -> None:
    signer = example_signer()
    body = encode_chunked(EXAMPLE_OBJECT, 8192, signer)
    first = body.split(b"\r\n", 1)[0].split(b"=", 1)[1]
    with pytest.raises(AwsError) as caught:
        decode_chunked(body.replace(first, "é".encode() * 32, 1), signer)
    assert caught.value.code == "SignatureDoesNotMatch"


def test_non_ascii_trailer_signature_is_a_mismatch_not_a_crash() -> None:
    signer = example_signer()
    body = encode_chunked(EXAMPLE_OBJECT, 8192, signer, (("x-amz-checksum-crc32", "AAAAAA=="),))
    head, _, _ = body.rpartition(b"x-amz-trailer-signature:")
    with pytest.raises(AwsError) as caught:
        decode_chunked(head + "x-amz-trailer-signature:é\r\n\r\n".encode(), signer)
    assert caught.value.code == "SignatureDoesNotMatch"


def _unsigned_trailer_upload(trailers: tuple[tuple[str, str], ...], announced: str) -> HttpRequest:
    data = bytes(range(256)) * 4
    request = client_request("s3", "put_object", {"Bucket": "bkt", "Key": "k", "Body": io.BytesIO(data)},
                             endpoint="https://localhost:4566")
    assert request.headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    request.headers["x-amz-trailer"] = announced  # only tests what follows the signature check
    return dataclasses.replace(request, body=encode_chunked(data, 4096, None, trailers))


@pytest.mark.parametrize(
    ("trailers", "announced"),
    [
        ((("x-amz-acl", "public-read"),), "x-amz-acl"),  # not a checksum: would set an unsigned header
        ((("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-server-side-encryption", "AES256")), "x-amz-checksum-crc32"),
        ((("x-amz-checksum-sha256", "AAAA"),), "x-amz-checksum-crc32"),  # a checksum nobody announced
    ],
)
def test_trailers_are_only_announced_checksums(trailers: tuple[tuple[str, str], ...], announced: str) -> None:
    request = _unsigned_trailer_upload(trailers, announced)
    with pytest.raises(AwsError) as caught:
        sigv4._decode_payload(request, None, sigv4.STREAMING_UNSIGNED_TRAILER, b"", Failures(True))  # type: ignore[arg-type]
    assert caught.value.code == "MalformedTrailerError"
    good = _unsigned_trailer_upload((("x-amz-checksum-crc32", "AAAAAA=="),), "x-amz-checksum-crc32")
    assert sigv4._decode_payload(good, None, sigv4.STREAMING_UNSIGNED_TRAILER, b"", Failures(True)).trailers  # type: ignore[arg-type]
