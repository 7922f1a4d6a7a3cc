"""Authentication errors: each protocol's spelling and status, and which error each failure gives."""

from __future__ import annotations

import datetime as dt

import pytest

from rampart.auth.failures import MAX_SKEW, Failures
from rampart.aws.errors import (
    AwsError,
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)

PROTOCOLS = ("query", "rest-xml", "ec2", "json", "rest-json", "smithy-rpc-v2-cbor")

# class, then the code per protocol in PROTOCOLS' order
SPELLINGS = [
    (InvalidClientTokenId, ("InvalidClientTokenId",) * 3 + ("UnrecognizedClientException",) * 3),
    (SignatureDoesNotMatch, ("SignatureDoesNotMatch",) * 3 + ("InvalidSignatureException",) * 3),
    (IncompleteSignature, ("IncompleteSignature",) * 3 + ("IncompleteSignatureException",) * 3),
    (MissingAuthenticationToken, ("MissingAuthenticationToken",) * 3 + ("MissingAuthenticationTokenException",) * 3),
    (RequestExpired, ("SignatureDoesNotMatch", "SignatureDoesNotMatch", "RequestExpired")
     + ("InvalidSignatureException",) * 3),
]


@pytest.mark.parametrize(("cls", "codes"), SPELLINGS, ids=[c.__name__ for c, _ in SPELLINGS])
def test_codes_per_protocol(cls: type[AwsError], codes: tuple[str, ...]) -> None:
    error = cls("m")
    assert {p: error.code_for(p) for p in PROTOCOLS} == dict(zip(PROTOCOLS, codes))
    assert error.code == cls.code  # the class's own name, used by pipeline-level checks


@pytest.mark.parametrize("cls", [c for c, _ in SPELLINGS], ids=[c.__name__ for c, _ in SPELLINGS])
def test_status_per_protocol(cls: type[AwsError]) -> None:
    """JSON-protocol services answer authentication failures with 400; the others with 403."""
    error = cls("m")
    assert {p: error.status_for(p) for p in PROTOCOLS} == {p: 400 if p == "json" else 403 for p in PROTOCOLS}
    assert error.status == 403


def test_explicit_code_and_status_win() -> None:
    error = SignatureDoesNotMatch("m", code="Custom", status=401)
    assert (error.code_for("json"), error.status_for("json")) == ("Custom", 401)
    assert AwsError("m", status=418).status_for("json") == 418


NOW = dt.datetime(2024, 5, 24, 12, tzinfo=dt.timezone.utc)
STAMP = "20240524T120000Z"
# Failures method, arguments, then the class of the non-S3 error
NON_S3 = [
    ("missing_authentication", (), MissingAuthenticationToken),
    ("missing_equal_sign", ("Credential", "AWS4-HMAC-SHA256 Credential"), IncompleteSignature),
    ("header_incomplete", (["Signature"], False, "AWS4-HMAC-SHA256"), IncompleteSignature),
    ("query_incomplete", (["X-Amz-Date"],), IncompleteSignature),
    ("unsupported_algorithm", ("AWS4-ECDSA-P256-SHA256", None), IncompleteSignature),
    ("bad_expires", ("X-Amz-Expires should be a number",), IncompleteSignature),
    ("bad_credential", ("a/b",), IncompleteSignature),
    ("bad_terminator", ("aws5_request", "k/d/r/s/aws5_request"), SignatureDoesNotMatch),
    ("bad_date", ("2024",), IncompleteSignature),
    ("scope_date_mismatch", ("20240523", STAMP), SignatureDoesNotMatch),
    ("not_yet_valid", (STAMP, NOW - 2 * MAX_SKEW), RequestExpired),
    ("expired", (STAMP, NOW + 2 * MAX_SKEW), RequestExpired),
    ("host_not_signed", (), SignatureDoesNotMatch),
    ("unknown_key", ("AKIANOTKNOWN",), InvalidClientTokenId),
    ("bad_token", (), InvalidClientTokenId),
    ("signature_mismatch", ("AKID", "sig", "canonical", "to sign"), SignatureDoesNotMatch),
    ("invalid_content_sha256", ("nothex",), SignatureDoesNotMatch),
    ("content_sha256_mismatch", ("a" * 64, "b" * 64), SignatureDoesNotMatch),
]


@pytest.mark.parametrize(("method", "args", "cls"), NON_S3, ids=[m for m, _, _ in NON_S3])
def test_non_s3_failures_use_the_shared_classes(method: str, args: tuple[object, ...], cls: type) -> None:
    error = getattr(Failures(s3_style=False), method)(*args)
    assert type(error) is cls and error.message
