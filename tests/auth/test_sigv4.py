"""SigV4 verification against requests signed by botocore itself.

Each valid request is captured from a real botocore client (or signed with
botocore's signer classes), converted to an HttpRequest as the ASGI adapter
would, and must authenticate; changing any one signed thing must then be
rejected with AWS's exact error code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.auth import sigv4
from rampart.auth.sigv4 import Authenticated, SigningKeyRecord, authenticate
from rampart.aws.errors import AwsError, IncompleteSignature, InvalidClientTokenId, RequestExpired
from rampart.gateway.http import HttpRequest

SIGNED_AT = dt.datetime(2024, 5, 24, 12, 0, 0, tzinfo=dt.timezone.utc)
ENDPOINT = "http://localhost:4566"
AKID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
OTHER_AKID, OTHER_SECRET = "AKIAOTHEREXAMPLE0001", "otherSecretKey/EXAMPLEEXAMPLEEXAMPLE00"
TEMP_AKID, TEMP_SECRET, TEMP_TOKEN = "ASIATEMPEXAMPLE00001", "tempSecret/EXAMPLE", "FwoGZXIvYXdzEXAMPLETOKEN=="

RECORDS = {
    AKID: SigningKeyRecord(AKID, SECRET, "123456789012", "root"),
    OTHER_AKID: SigningKeyRecord(OTHER_AKID, OTHER_SECRET, "123456789012", "other"),
    TEMP_AKID: SigningKeyRecord(TEMP_AKID, TEMP_SECRET, "123456789012", "session", session_token=TEMP_TOKEN),
}


def lookup(access_key_id: str) -> SigningKeyRecord | None:
    return RECORDS.get(access_key_id)


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _raise_captured(request: Any, **_: Any) -> None:
    raise _Captured(request)


def _frozen(moment: dt.datetime) -> Any:
    return mock.patch("botocore.auth.get_current_datetime", return_value=moment.replace(tzinfo=None))


def to_http(method: str, url: str, headers: Any, body: Any) -> HttpRequest:
    """What the ASGI adapter builds: raw path and query, lower-case headers, Host added."""
    parts = urlsplit(url)
    if hasattr(body, "read"):
        body = body.read()
    elif isinstance(body, str):
        body = body.encode()
    lowered = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
    lowered.setdefault("host", parts.netloc)
    return HttpRequest(method=method, path=parts.path or "/", query=parts.query, headers=lowered, body=body or b"")


def client_request(service: str, operation: str, params: dict[str, Any], *, endpoint: str = ENDPOINT,
                   key: tuple[str, str] = (AKID, SECRET), token: str | None = None) -> HttpRequest:
    """The exact request a boto3 client sends, captured before it leaves."""
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=token,
        config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}),
    )
    client.meta.events.register("before-send", _raise_captured)
    with _frozen(SIGNED_AT), pytest.raises(_Captured) as caught:
        getattr(client, operation)(**params)
    sent = caught.value.request
    return to_http(sent.method, sent.url, sent.headers, sent.body)


def signed(method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
           service: str = "sts", signer: type = SigV4Auth, key: tuple[str, str] = (AKID, SECRET),
           at: dt.datetime = SIGNED_AT, **signer_kw: Any) -> HttpRequest:
    """Sign one request with a botocore signer class."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    with _frozen(at):
        signer(Credentials(*key), service, "us-east-1", **signer_kw).add_auth(request)
    return to_http(method, request.url, request.headers, request.body)


def verify(request: HttpRequest, *, s3: bool = False, now: dt.datetime = SIGNED_AT,
           anonymous: bool = False) -> Authenticated:
    return authenticate(request, lookup, now=now, s3_style=s3, allow_anonymous=anonymous)


def rejected(request: HttpRequest, *, s3: bool = False, now: dt.datetime = SIGNED_AT) -> AwsError:
    with pytest.raises(AwsError) as caught:
        verify(request, s3=s3, now=now)
    return caught.value


# --- requests real clients send -------------------------------------------------------------

ODD_KEY = "a b/c%d+é"
CLIENT_CASES = {
    "sts-query-post": ("sts", "get_caller_identity", {}, False),
    "kms-json": ("kms", "encrypt", {"KeyId": "alias/x", "Plaintext": b"secret"}, False),
    "route53-rest-xml": ("route53", "list_hosted_zones", {"MaxItems": "5"}, False),
    "route53-rest-xml-post": ("route53", "create_hosted_zone", {"Name": "ex.com", "CallerReference": "r"}, False),
    "iam-query-odd-chars": ("iam", "get_user", {"UserName": "a+b=c,d@e"}, False),
    "s3-put-odd-key": ("s3", "put_object", {"Bucket": "bkt", "Key": ODD_KEY, "Body": b"hello \x00 world"}, True),
    "s3-get-odd-key": ("s3", "get_object", {"Bucket": "bkt", "Key": ODD_KEY, "Range": "bytes=0-1"}, True),
    "s3-list-query": ("s3", "list_objects_v2", {"Bucket": "bkt", "Prefix": "a b/é~*", "MaxKeys": 3}, True),
    "s3-dot-segments": ("s3", "get_object", {"Bucket": "bkt", "Key": "x/../y//z/./w"}, True),
}


@pytest.fixture(scope="module")
def captured() -> dict[str, HttpRequest]:
    return {name: client_request(svc, op, params) for name, (svc, op, params, _) in CLIENT_CASES.items()}


@pytest.mark.parametrize("name", list(CLIENT_CASES))
def test_client_requests_authenticate(captured: dict[str, HttpRequest], name: str) -> None:
    service, _, _, s3 = CLIENT_CASES[name]
    request = captured[name]
    result = verify(request, s3=s3)
    assert result.key is RECORDS[AKID]
    assert (result.region, result.service, result.presigned) == ("us-east-1", service, False)
    assert result.signed_at == SIGNED_AT
    assert result.body == request.body


def _with_header(name: str, value: str) -> Callable[[HttpRequest], HttpRequest]:
    def change(request: HttpRequest) -> HttpRequest:
        return dataclasses.replace(request, headers={**request.headers, name: value})
    return change


def _auth(old: str, new: str) -> Callable[[HttpRequest], HttpRequest]:
    def change(request: HttpRequest) -> HttpRequest:
        value = request.headers["authorization"]
        assert old in value
        return dataclasses.replace(request, headers={**request.headers, "authorization": value.replace(old, new, 1)})
    return change


def _flip_body(request: HttpRequest) -> HttpRequest:
    body = bytearray(request.body)
    body[len(body) // 2] ^= 0x01
    return dataclasses.replace(request, body=bytes(body))


def _flip_signature(request: HttpRequest) -> HttpRequest:
    value = request.headers["authorization"]
    last = "0" if value[-1] != "0" else "1"
    return dataclasses.replace(request, headers={**request.headers, "authorization": value[:-1] + last})


def _non_ascii_signature(request: HttpRequest) -> HttpRequest:
    value = request.headers["authorization"]
    return dataclasses.replace(request, headers={**request.headers, "authorization": value[:-1] + "\u00e9"})


def _drop_header(name: str) -> Callable[[HttpRequest], HttpRequest]:
    def change(request: HttpRequest) -> HttpRequest:
        return dataclasses.replace(request, headers={k: v for k, v in request.headers.items() if k != name})
    return change


def _replace(field: str, old: str, new: str) -> Callable[[HttpRequest], HttpRequest]:
    def change(request: HttpRequest) -> HttpRequest:
        value = getattr(request, field)
        assert old in value, value
        return dataclasses.replace(request, **{field: value.replace(old, new, 1)})
    return change


@pytest.mark.parametrize("respell", [
    lambda v: v.replace(", ", ","),  # no spaces: still the fast parser's spelling
    lambda v: v.replace(", ", " ,  "),  # odd spacing: the general parser
    lambda v: "  " + v + " ",
    lambda v: v.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   "),
])
def test_header_spellings_that_aws_accepts_verify(captured: dict[str, HttpRequest],
                                                   respell: Callable[[str], str]) -> None:
    request = captured["sts-query-post"]
    value = respell(request.headers["authorization"])
    assert verify(dataclasses.replace(request, headers={**request.headers, "authorization": value})).key is not None


# (case, mutation, expected code)
TAMPERING = [
    ("sts-query-post", _with_header("content-type", "application/x-www-form-urlencoded"), "SignatureDoesNotMatch"),
    ("sts-query-post", _flip_body, "SignatureDoesNotMatch"),
    ("sts-query-post", _with_header("x-amz-date", "20240524T120001Z"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("/us-east-1/", "/us-west-2/"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("/sts/", "/iam/"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth(AKID, "AKIANOTAKNOWNKEY0000"), "InvalidClientTokenId"),
    ("sts-query-post", _auth(AKID, OTHER_AKID), "SignatureDoesNotMatch"),
    ("sts-query-post", _flip_signature, "SignatureDoesNotMatch"),
    ("sts-query-post", _non_ascii_signature, "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("content-type;host", "host"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("content-type;host;", "content-type;"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("SignedHeaders=", "SignedHeaders=content-length;"), "SignatureDoesNotMatch"),
    ("sts-query-post", _replace("path", "/", "/x"), "SignatureDoesNotMatch"),
    ("sts-query-post", _replace("query", "", "a=b"), "SignatureDoesNotMatch"),
    ("sts-query-post", _with_header("host", "evil.example:4566"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("Signature=", "Sig="), "IncompleteSignature"),
    ("sts-query-post", _auth(", SignedHeaders=", ", SignedHeaders "), "IncompleteSignature"),
    ("sts-query-post", _auth("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 "), "IncompleteSignature"),
    ("sts-query-post", _auth("/aws4_request", "/aws5_request"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("/20240524/", "/20240523/"), "SignatureDoesNotMatch"),
    ("sts-query-post", _auth("/us-east-1/", "/"), "IncompleteSignature"),
    ("sts-query-post", _drop_header("x-amz-date"), "IncompleteSignature"),
    ("sts-query-post", _with_header("x-amz-date", "2024-05-24T12:00:00Z"), "IncompleteSignature"),
    ("sts-query-post", _with_header("x-amz-security-token", "unexpected"), "InvalidClientTokenId"),
    ("kms-json", _flip_body, "SignatureDoesNotMatch"),
    ("kms-json", _with_header("x-amz-target", "TrentService.Decrypt"), "SignatureDoesNotMatch"),
    ("kms-json", _with_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD"), "SignatureDoesNotMatch"),
    ("route53-rest-xml", _replace("query", "maxitems=5", "maxitems=6"), "SignatureDoesNotMatch"),
    ("route53-rest-xml", _replace("query", "maxitems=5", "maxitems=5&maxitems=5"), "SignatureDoesNotMatch"),
    ("route53-rest-xml", _replace("path", "hostedzone", "hostedzones"), "SignatureDoesNotMatch"),
    ("route53-rest-xml-post", _flip_body, "SignatureDoesNotMatch"),
    ("iam-query-odd-chars", _flip_body, "SignatureDoesNotMatch"),
    ("s3-put-odd-key", _flip_body, "XAmzContentSHA256Mismatch"),
    ("s3-put-odd-key", _replace("path", "%20", "+"), "SignatureDoesNotMatch"),
    ("s3-put-odd-key", _with_header("x-amz-content-sha256", "0" * 64), "SignatureDoesNotMatch"),
    ("s3-put-odd-key", _with_header("x-amz-content-sha256", "nonsense"), "InvalidArgument"),
    ("s3-put-odd-key", _drop_header("x-amz-content-sha256"), "InvalidRequest"),
    ("s3-put-odd-key", _with_header("x-amz-meta-evil", "1"), "AccessDenied"),
    ("s3-put-odd-key", _auth(AKID, "AKIANOTAKNOWNKEY0000"), "InvalidAccessKeyId"),
    ("s3-put-odd-key", _auth(", SignedHeaders=host;", ", SignedHeaders="), "AccessDenied"),
    ("s3-put-odd-key", _auth("Signature=", "Sig="), "AuthorizationHeaderMalformed"),
    ("s3-put-odd-key", _auth("/20240524/", "/20240523/"), "AuthorizationHeaderMalformed"),
    ("s3-put-odd-key", _auth("AWS4-HMAC-SHA256 ", "AWS4-ECDSA-P256-SHA256 "), "InvalidArgument"),
    ("s3-put-odd-key", _drop_header("x-amz-date"), "AccessDenied"),
    ("s3-get-odd-key", _with_header("range", "bytes=0-2"), "SignatureDoesNotMatch"),
    ("s3-get-odd-key", _flip_signature, "SignatureDoesNotMatch"),
    ("s3-get-odd-key", _replace("path", "/bkt/", "/bkt2/"), "SignatureDoesNotMatch"),
    ("s3-list-query", _replace("query", "max-keys=3", "max-keys=4"), "SignatureDoesNotMatch"),
    ("s3-list-query", _replace("query", "prefix=a%20b", "prefix=a+b"), "SignatureDoesNotMatch"),
    ("s3-dot-segments", _replace("path", "/./", "/"), "SignatureDoesNotMatch"),
]


@pytest.mark.parametrize(("name", "mutate", "code"), TAMPERING, ids=[f"{n}-{c}-{i}" for i, (n, _, c) in enumerate(TAMPERING)])
def test_any_single_change_is_rejected(captured: dict[str, HttpRequest], name: str,
                                       mutate: Callable[[HttpRequest], HttpRequest], code: str) -> None:
    s3 = CLIENT_CASES[name][3]
    error = rejected(mutate(captured[name]), s3=s3)
    assert error.code == code, error
    assert error.status in (400, 403, 411)


def test_equivalent_s3_path_encodings_verify(captured: dict[str, HttpRequest]) -> None:
    # S3 canonicalizes the decoded key: '+' and '%2B' in a path name the same key.
    assert verify(_replace("path", "%2B", "+")(captured["s3-put-odd-key"]), s3=True).key is not None


def test_signature_mismatch_messages(captured: dict[str, HttpRequest]) -> None:
    error = rejected(_flip_signature(captured["sts-query-post"]))
    assert error.message.startswith(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String"
    )
    assert error.code_for("query") == "SignatureDoesNotMatch"
    assert error.code_for("json") == "InvalidSignatureException"
    s3_error = rejected(_flip_signature(captured["s3-get-odd-key"]), s3=True)
    assert s3_error.message == (
        "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )
    assert s3_error.fields["AWSAccessKeyId"] == AKID
    assert s3_error.fields["CanonicalRequest"].startswith("GET\n/bkt/a%20b/c%25d%2B%C3%A9\n")
    assert s3_error.status == 403


def test_unknown_key_messages(captured: dict[str, HttpRequest]) -> None:
    error = rejected(_auth(AKID, "AKIANOTAKNOWNKEY0000")(captured["kms-json"]))
    assert isinstance(error, InvalidClientTokenId)
    assert error.message == "The security token included in the request is invalid."
    assert error.code_for("json") == "UnrecognizedClientException"
    s3_error = rejected(_auth(AKID, "AKIANOTAKNOWNKEY0000")(captured["s3-get-odd-key"]), s3=True)
    assert s3_error.message == "The AWS Access Key Id you provided does not exist in our records."
    assert s3_error.fields == {"AWSAccessKeyId": "AKIANOTAKNOWNKEY0000"}


def test_incomplete_signature_message(captured: dict[str, HttpRequest]) -> None:
    request = _with_header("authorization", "Basic dXNlcjpwYXNz")(captured["sts-query-post"])
    request = _drop_header("x-amz-date")(request)
    error = rejected(request)
    assert isinstance(error, IncompleteSignature)
    assert error.message == (
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
        "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
        "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic dXNlcjpwYXNz"
    )


# --- the clock ----------------------------------------------------------------------------------

SKEW_CASES = [
    (dt.timedelta(minutes=14, seconds=59), False, None),
    (dt.timedelta(minutes=-14, seconds=-59), False, None),
    (dt.timedelta(minutes=15, seconds=1), False, "RequestExpired"),
    (dt.timedelta(minutes=-15, seconds=-1), False, "RequestExpired"),
    (dt.timedelta(minutes=15, seconds=1), True, "RequestTimeTooSkewed"),
    (dt.timedelta(minutes=-15, seconds=-1), True, "RequestTimeTooSkewed"),
]


@pytest.mark.parametrize(("offset", "s3", "code"), SKEW_CASES)
def test_clock_skew_window(captured: dict[str, HttpRequest], offset: dt.timedelta, s3: bool, code: str | None) -> None:
    request = captured["s3-get-odd-key" if s3 else "sts-query-post"]
    if code is None:
        assert verify(request, s3=s3, now=SIGNED_AT + offset).key is not None
        return
    assert rejected(request, s3=s3, now=SIGNED_AT + offset).code == code


def test_expired_signature_is_spelled_as_aws_does(captured: dict[str, HttpRequest]) -> None:
    error = rejected(captured["sts-query-post"], now=SIGNED_AT + dt.timedelta(minutes=30))
    assert isinstance(error, RequestExpired)
    assert error.message == (
        "Signature expired: 20240524T120000Z is now earlier than 20240524T121500Z (20240524T123000Z - 15 min.)"
    )
    assert error.code_for("query") == "SignatureDoesNotMatch"
    assert error.code_for("json") == "InvalidSignatureException"
    early = rejected(captured["sts-query-post"], now=SIGNED_AT - dt.timedelta(minutes=30))
    assert early.message.startswith("Signature not yet current: 20240524T120000Z is still later than 20240524T114500Z")
    skewed = rejected(captured["s3-get-odd-key"], s3=True, now=SIGNED_AT + dt.timedelta(hours=1))
    assert skewed.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_date_header_instead_of_x_amz_date() -> None:
    stamp = "Fri, 24 May 2024 12:00:00 GMT"
    request = signed("GET", f"{ENDPOINT}/?Action=GetCallerIdentity&Version=2011-06-15", headers={"Date": stamp})
    assert "x-amz-date" not in request.headers and request.headers["date"].startswith("Fri, 24 May 2024 12:00:00")
    assert verify(request).signed_at == SIGNED_AT
    changed = _with_header("date", "Fri, 24 May 2024 12:00:00 GMT")(request)  # same instant, other text
    assert rejected(changed).code == "SignatureDoesNotMatch"


# --- anonymous and session credentials -------------------------------------------------------------


def test_no_authentication() -> None:
    request = HttpRequest("GET", "/bkt/key", headers={"host": "localhost"})
    assert verify(request, s3=True, anonymous=True) == Authenticated(None, None, None, None, False, b"", None)
    error = rejected(HttpRequest("POST", "/", headers={"host": "localhost"}, body=b"Action=GetCallerIdentity"))
    assert (error.code, error.message) == ("MissingAuthenticationToken", "Request is missing Authentication Token")
    assert error.code_for("json") == "MissingAuthenticationTokenException"
    assert rejected(request, s3=True).code == "AccessDenied"


def test_session_token_must_match() -> None:
    params = ("sts", "get_caller_identity", {})
    good = client_request(*params, key=(TEMP_AKID, TEMP_SECRET), token=TEMP_TOKEN)
    result = verify(good)
    assert result.key is RECORDS[TEMP_AKID] and result.session_token == TEMP_TOKEN
    wrong = client_request(*params, key=(TEMP_AKID, TEMP_SECRET), token=TEMP_TOKEN + "x")
    assert rejected(wrong).code == "InvalidClientTokenId"
    missing = client_request(*params, key=(TEMP_AKID, TEMP_SECRET))
    assert rejected(missing).code == "InvalidClientTokenId"
    s3_wrong = client_request("s3", "head_bucket", {"Bucket": "b"}, key=(TEMP_AKID, TEMP_SECRET), token="nope")
    assert rejected(s3_wrong, s3=True).code == "InvalidToken"


# --- presigned URLs --------------------------------------------------------------------------------


def presigned_s3(method: str = "get_object", expires: int = 3600, **params: Any) -> HttpRequest:
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id=AKID, aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    with _frozen(SIGNED_AT):
        url = client.generate_presigned_url(method, Params=params or {"Bucket": "bkt", "Key": ODD_KEY}, ExpiresIn=expires)
    return to_http("PUT" if method == "put_object" else "GET", url, {}, b"")


def test_presigned_s3_url() -> None:
    request = presigned_s3()
    assert "X-Amz-Signature=" in request.query
    result = verify(request, s3=True, now=SIGNED_AT + dt.timedelta(minutes=59))
    assert result.presigned and result.key is RECORDS[AKID]
    put = presigned_s3("put_object", Bucket="bkt", Key="k")
    assert verify(dataclasses.replace(put, body=b"any body at all"), s3=True).body == b"any body at all"


PRESIGN_TAMPERING = [
    (_replace("query", "X-Amz-Expires=3600", "X-Amz-Expires=7200"), "SignatureDoesNotMatch"),
    (_replace("path", "/bkt/", "/other/"), "SignatureDoesNotMatch"),
    (_replace("query", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"), "AuthorizationQueryParametersError"),
    (_replace("query", "X-Amz-Expires=3600", "X-Amz-Expires=604801"), "AuthorizationQueryParametersError"),
    (_replace("query", "X-Amz-Expires=3600", "X-Amz-Expires=soon"), "AuthorizationQueryParametersError"),
    (_replace("query", "X-Amz-Expires=3600&", ""), "AuthorizationQueryParametersError"),
    (_replace("query", "X-Amz-Date=20240524", "X-Amz-Date=20240523"), "AuthorizationQueryParametersError"),
    (_replace("query", AKID, "AKIANOTAKNOWNKEY0000"), "InvalidAccessKeyId"),
    (_with_header("authorization", "AWS4-HMAC-SHA256 Credential=x"), "InvalidArgument"),
]


@pytest.mark.parametrize(("mutate", "code"), PRESIGN_TAMPERING)
def test_presigned_s3_tampering(mutate: Callable[[HttpRequest], HttpRequest], code: str) -> None:
    assert rejected(mutate(presigned_s3()), s3=True).code == code


def test_presigned_s3_expiry() -> None:
    request = presigned_s3(expires=60)
    assert verify(request, s3=True, now=SIGNED_AT + dt.timedelta(seconds=60)).presigned
    error = rejected(request, s3=True, now=SIGNED_AT + dt.timedelta(seconds=61))
    assert (error.code, error.message, error.status) == ("AccessDenied", "Request has expired", 403)
    assert error.fields["X-Amz-Expires"] == "60" and error.fields["Expires"] == "2024-05-24T12:01:00Z"
    week = presigned_s3(expires=604800)
    assert verify(week, s3=True, now=SIGNED_AT + dt.timedelta(days=6, hours=23)).presigned
    assert rejected(week, s3=True, now=SIGNED_AT + dt.timedelta(days=7, seconds=1)).message == "Request has expired"


def test_presigned_sts_url() -> None:
    url = f"{ENDPOINT}/?Action=GetCallerIdentity&Version=2011-06-15"
    request = signed("GET", url, signer=SigV4QueryAuth, expires=900)
    result = verify(request, now=SIGNED_AT + dt.timedelta(minutes=10))
    assert result.presigned and result.service == "sts"
    assert rejected(request, now=SIGNED_AT + dt.timedelta(minutes=16)).code == "RequestExpired"
    long_lived = signed("GET", url, signer=SigV4QueryAuth, expires=3600)
    assert rejected(long_lived, now=SIGNED_AT + dt.timedelta(minutes=16)).code == "RequestExpired"
    assert rejected(_replace("query", "GetCallerIdentity", "GetSessionToken")(request)).code == "SignatureDoesNotMatch"
    missing = _replace("query", "X-Amz-SignedHeaders=host&", "")(request)
    assert rejected(missing).message == (
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."
    )


def test_presigned_with_session_token() -> None:
    request = signed("GET", f"{ENDPOINT}/?Action=GetCallerIdentity&Version=2011-06-15", signer=SigV4QueryAuth,
                     key=(TEMP_AKID, TEMP_SECRET, TEMP_TOKEN))  # type: ignore[arg-type]
    assert verify(request).session_token == TEMP_TOKEN


# --- canonicalization agrees with botocore -----------------------------------------------------------

_SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#\x00"), min_size=0, max_size=8)
_PATHS = st.lists(st.one_of(_SEGMENT, st.sampled_from([".", "..", ""])), min_size=1, max_size=5).map("/".join)
_PARAMS = st.lists(st.tuples(st.text(min_size=1, max_size=6), st.text(max_size=8)), max_size=4)


def _url(path: str, params: list[tuple[str, str]]) -> str:
    from botocore.utils import percent_encode, percent_encode_sequence

    encoded = "/" + "/".join(percent_encode(seg, safe="~") for seg in path.split("/"))
    return f"{ENDPOINT}{encoded}" + (f"?{percent_encode_sequence(params)}" if params else "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=64), path=_PATHS, params=_PARAMS, s3=st.booleans(), data=st.data())
def test_botocore_signed_requests_always_verify(body: bytes, path: str, params: list[tuple[str, str]], s3: bool,
                                                data: st.DataObject) -> None:
    request = signed("PUT", _url(path, params), body=body, service="s3" if s3 else "logs",
                     signer=S3SigV4Auth if s3 else SigV4Auth, headers={"X-Amz-Meta-Note": " a  b "})
    assert verify(request, s3=s3).body == body
    if body:
        index = data.draw(st.integers(0, len(body) - 1))
        flip = data.draw(st.integers(1, 255))
        changed = bytearray(body)
        changed[index] ^= flip
        assert rejected(dataclasses.replace(request, body=bytes(changed)), s3=s3).code in (
            "SignatureDoesNotMatch", "XAmzContentSHA256Mismatch"
        )


@settings(max_examples=40, deadline=None)
@given(path=_PATHS, params=_PARAMS, s3=st.booleans())
def test_presigned_random_requests_verify(path: str, params: list[tuple[str, str]], s3: bool) -> None:
    signer = S3SigV4QueryAuth if s3 else SigV4QueryAuth
    request = signed("GET", _url(path, params), service="s3" if s3 else "sts", signer=signer, expires=300)
    assert verify(request, s3=s3).presigned


@settings(max_examples=60, deadline=None)
@given(path=_PATHS, params=_PARAMS, s3=st.booleans())
def test_canonical_request_equals_botocore(path: str, params: list[tuple[str, str]], s3: bool) -> None:
    url = _url(path, params)
    aws = AWSRequest(method="GET", url=url, headers={"X-Amz-Date": "20240524T120000Z", "Host": "localhost:4566"})
    aws.context["timestamp"] = "20240524T120000Z"
    signer = (S3SigV4Auth if s3 else SigV4Auth)(Credentials(AKID, SECRET), "s3" if s3 else "sts", "us-east-1")
    if s3:
        aws.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    expected = signer.canonical_request(aws)
    request = to_http("GET", url, aws.headers, b"")
    claims = sigv4._Signed(AKID, "20240524", "us-east-1", "sts", sigv4.signed_header_list(expected.split("\n")[-2]),
                           "", "20240524T120000Z", False, None, None, sigv4.query_pairs(request.query),
                           "20240524/us-east-1/sts/aws4_request")
    payload = "UNSIGNED-PAYLOAD" if s3 else sigv4.hashlib.sha256(b"").hexdigest()
    assert sigv4.canonical_request(request, claims, payload, s3) == expected


def test_signing_keys_are_cached(captured: dict[str, HttpRequest]) -> None:
    sigv4._derived_key.cache_clear()
    for _ in range(3):
        verify(captured["sts-query-post"])
    info = sigv4._derived_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_secret_never_in_repr() -> None:
    assert SECRET not in repr(RECORDS[AKID])


# --- hostile input only ever yields AWS errors ------------------------------------------------------

_JUNK = st.text(alphabet=st.sampled_from(list("AWS4-HMAC-SHA256 Credential=/,;SignedHeaders=Signature=0aé\udcff2024T Z%+&")),
                max_size=80)
_AUTH = st.one_of(
    _JUNK,
    st.builds(lambda c, h, s: f"AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={h}, Signature={s}", _JUNK, _JUNK, _JUNK),
)
_DATES = st.one_of(st.none(), _JUNK, st.sampled_from(["20240524T120000Z", "20241324T120000Z", "20240524T126000Z",
                                                     "２０２４0524T120000Z", "Fri, 24 May 2024 12:00:00 GMT", "Fri, 99"]))
_QUERIES = st.one_of(
    _JUNK,
    st.builds(lambda c, d, e, h: f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={c}&X-Amz-Date={d}"
              f"&X-Amz-Expires={e}&X-Amz-SignedHeaders={h}&X-Amz-Signature=00", _JUNK, _JUNK, _JUNK, _JUNK),
)


@settings(max_examples=300, deadline=None)
@given(auth=st.one_of(st.none(), _AUTH), date=_DATES, query=_QUERIES, s3=st.booleans(),
       sha=st.sampled_from([None, "UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x", "0" * 64]),
       body=st.binary(max_size=40), path=st.one_of(st.just("/b/k"), _JUNK.map(lambda p: "/" + p)))
def test_hostile_requests_only_raise_aws_errors(auth: str | None, date: str | None, query: str, s3: bool,
                                                sha: str | None, body: bytes, path: str) -> None:
    headers = {"host": "localhost:4566"}
    for name, value in (("authorization", auth), ("x-amz-date", date), ("x-amz-content-sha256", sha)):
        if value is not None:
            headers[name] = value
    request = HttpRequest("PUT", path, query=query, headers=headers, body=body)
    try:
        authenticate(request, lookup, now=SIGNED_AT, s3_style=s3, allow_anonymous=True)
    except AwsError as error:
        assert 400 <= error.status < 500


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=200), signed_chunks=st.booleans())
def test_hostile_chunked_bodies_only_raise_aws_errors(body: bytes, signed_chunks: bool) -> None:
    from rampart.auth.chunked import ChunkSigner, decode_chunked

    signer = ChunkSigner(b"k" * 32, "20240524T120000Z", "20240524/us-east-1/s3/aws4_request", "0" * 64)
    try:
        decode_chunked(body, signer if signed_chunks else None)
    except AwsError as error:
        assert error.status == 400 or error.code == "SignatureDoesNotMatch"
