"""S3's SigV2: the API reference's RESTAuthentication examples, then the verifier's decisions.

The examples (S3 API reference, "Signing and authenticating REST requests")
use the documentation's example key; each gives the request, the string to
sign and the signature AWS published for it.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from rampart.auth.sigv2 import canonical_resource, request_string_to_sign, sign
from rampart.auth.sigv4 import SigningKeyRecord, authenticate
from rampart.aws.errors import AwsError
from rampart.gateway.http import HttpRequest

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TEMP_AKID, TEMP_SECRET, TEMP_TOKEN = "ASIAEXAMPLETEMPKEY01", "temporary/secret/for/tests/only", "token-abc"
KEYS = {
    AKID: SigningKeyRecord(AKID, SECRET, "123456789012", "root"),
    TEMP_AKID: SigningKeyRecord(TEMP_AKID, TEMP_SECRET, "123456789012", "session", session_token=TEMP_TOKEN),
}


def lookup(access_key_id: str) -> SigningKeyRecord | None:
    return KEYS.get(access_key_id)


# (name, method, host, path, query, headers, string to sign, AWS's signature)
EXAMPLES = [
    ("object GET", "GET", "johnsmith.s3.amazonaws.com", "/photos/puppy.jpg", "",
     {"date": "Tue, 27 Mar 2007 19:36:42 +0000"},
     "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
    ("object PUT", "PUT", "johnsmith.s3.amazonaws.com", "/photos/puppy.jpg", "",
     {"content-type": "image/jpeg", "content-length": "94328", "date": "Tue, 27 Mar 2007 21:15:45 +0000"},
     "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
     "MyyxeRY7whkBe+bq8fHCL/2kKUg="),
    ("list (no sub-resource signed)", "GET", "johnsmith.s3.amazonaws.com", "/",
     "prefix=photos&max-keys=50&marker=puppy",
     {"user-agent": "Mozilla/5.0", "date": "Tue, 27 Mar 2007 19:42:41 +0000"},
     "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/", "htDYFYduRNen8P9ZfE/s9SuKy0U="),
    ("fetch ACL (sub-resource)", "GET", "johnsmith.s3.amazonaws.com", "/", "acl",
     {"date": "Tue, 27 Mar 2007 19:44:46 +0000"},
     "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl", "c2WLPFtWHVgbEmeEG93a4cG37dM="),
    ("upload with x-amz headers", "PUT", "static.johnsmith.net.s3.amazonaws.com", "/db-backup.dat.gz", "",
     {"user-agent": "curl/7.15.5", "date": "Tue, 27 Mar 2007 21:06:08 +0000", "x-amz-acl": "public-read",
      "content-type": "application/x-download", "content-md5": "4gJE4saaMU4BqNR0kLY+lw==",
      "x-amz-meta-reviewedby": "joe@johnsmith.net,jane@johnsmith.net", "x-amz-meta-filechecksum": "0x02661779",
      "x-amz-meta-checksumalgorithm": "crc32", "content-disposition": "attachment; filename=database.dat",
      "content-encoding": "gzip", "content-length": "5913339"},
     ("PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n"
     "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n"
     "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz"),
     "ilyl83RwaSoYIEdixDQcA4OnAnc="),
    ("list all my buckets", "GET", "s3.amazonaws.com", "/", "",
     {"date": "Wed, 28 Mar 2007 01:29:59 +0000"},
     "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/", "qGdzdERIC03wnaRNKh6OqZehG9s="),
    ("unicode keys (path as sent)", "GET", "s3.amazonaws.com", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", "",
     {"date": "Wed, 28 Mar 2007 01:49:49 +0000"},
     "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
     "DNEZGsoieTZ92F3bUfSPQcbGmlM="),
]


@pytest.mark.parametrize(("name", "method", "host", "path", "query", "headers", "text", "signature"), EXAMPLES,
                         ids=[e[0] for e in EXAMPLES])
def test_documented_examples(name: str, method: str, host: str, path: str, query: str, headers: dict[str, str],
                             text: str, signature: str) -> None:
    request = HttpRequest(method, path, query, {"host": host, **headers})
    assert request_string_to_sign(request, request.headers, headers["date"]) == text
    assert sign(SECRET, text) == signature
    # And the verifier accepts the request as AWS's example signed it, at its own time.
    signed = HttpRequest(method, path, query, {**request.headers, "authorization": f"AWS {AKID}:{signature}"})
    when = dt.datetime.strptime(headers["date"], "%a, %d %b %Y %H:%M:%S %z")
    result = authenticate(signed, lookup, now=when, s3_style=True, allow_anonymous=False)
    assert result.key is KEYS[AKID]
    assert result.signature_version == "AWS"
    assert not result.presigned


def test_documented_delete_with_x_amz_date() -> None:
    """The reference's DELETE example signs x-amz-date's value in the date slot (x-amz-date wins over Date)."""
    headers = {"host": "s3.amazonaws.com", "user-agent": "dotnet", "date": "Tue, 27 Mar 2007 21:20:27 +0000",
               "x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000",
               "authorization": f"AWS {AKID}:lx3byBScXR6KzyMaifNkardMwNk="}
    request = HttpRequest("DELETE", "/johnsmith/photos/puppy.jpg", "", headers)
    when = dt.datetime(2007, 3, 27, 21, 20, 26, tzinfo=dt.UTC)
    assert authenticate(request, lookup, now=when, s3_style=True, allow_anonymous=False).key is KEYS[AKID]


def test_documented_query_string_example() -> None:
    """?AWSAccessKeyId=&Expires=1175139620&Signature=: valid until Expires, then "Request has expired"."""
    query = f"AWSAccessKeyId={AKID}&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
    request = HttpRequest("GET", "/photos/puppy.jpg", query, {"host": "johnsmith.s3.amazonaws.com"})
    before = dt.datetime.fromtimestamp(1175139620 - 60, dt.UTC)
    result = authenticate(request, lookup, now=before, s3_style=True, allow_anonymous=False)
    assert result.presigned and result.signature_version == "AWS" and result.signed_at is None
    after = dt.datetime.fromtimestamp(1175139621, dt.UTC)
    with pytest.raises(AwsError) as caught:
        authenticate(request, lookup, now=after, s3_style=True, allow_anonymous=False)
    assert (caught.value.code, caught.value.status, caught.value.message) == ("AccessDenied", 403,
                                                                             "Request has expired")
    assert caught.value.fields["Expires"] == "2007-03-29T03:40:20Z"


# (sub-resource query, canonical resource) for /bucket/key
RESOURCES = [
    ("", "/b/k"),
    ("versionId=3%2F4&acl", "/b/k?acl&versionId=3/4"),
    ("uploadId=u1&partNumber=2", "/b/k?partNumber=2&uploadId=u1"),
    ("response-content-type=text%2Fplain&x-id=GetObject", "/b/k?response-content-type=text/plain"),
    ("tagging=", "/b/k?tagging="),
    ("prefix=a&delimiter=%2F", "/b/k"),
]


@pytest.mark.parametrize(("query", "expected"), RESOURCES)
def test_canonical_resource_signs_only_sub_resources(query: str, expected: str) -> None:
    assert canonical_resource("/b/k", query, None) == expected
    assert canonical_resource("/k", query, "b") == expected  # virtual-hosted: the bucket comes first


def _header_signed(method: str, path: str, headers: dict[str, str], secret: str = SECRET, akid: str = AKID,
                   now: dt.datetime | None = None) -> HttpRequest:
    moment = now or dt.datetime.now(dt.UTC)
    base = {"host": "127.0.0.1:9000", "date": format_datetime(moment, usegmt=True), **headers}
    request = HttpRequest(method, path, "", base)
    signature = sign(secret, request_string_to_sign(request, base, base["date"]))
    return HttpRequest(method, path, "", {**base, "authorization": f"AWS {akid}:{signature}"})


def _failure(request: HttpRequest, now: dt.datetime | None = None) -> AwsError:
    with pytest.raises(AwsError) as caught:
        authenticate(request, lookup, now=now or dt.datetime.now(dt.UTC), s3_style=True, allow_anonymous=False)
    return caught.value


def test_header_signature_checks() -> None:
    now = dt.datetime.now(dt.UTC)
    good = _header_signed("GET", "/b/k", {"x-amz-meta-a": "1"}, now=now)
    assert authenticate(good, lookup, now=now, s3_style=True, allow_anonymous=False).key is KEYS[AKID]
    tampered = HttpRequest("GET", "/b/other", "", good.headers)
    error = _failure(tampered, now)
    assert error.code == "SignatureDoesNotMatch" and error.status == 403
    assert error.fields["StringToSign"].endswith("/b/other")
    assert error.fields["AWSAccessKeyId"] == AKID
    assert _failure(_header_signed("GET", "/b/k", {}, secret="wrong"), now).code == "SignatureDoesNotMatch"
    assert _failure(_header_signed("GET", "/b/k", {}, akid="AKIANOSUCHKEY0000000"), now).code == "InvalidAccessKeyId"
    old = now - dt.timedelta(minutes=16)
    assert _failure(_header_signed("GET", "/b/k", {}, now=old), now).code == "RequestTimeTooSkewed"
    no_date = HttpRequest("GET", "/b/k", "", {"host": "h", "authorization": f"AWS {AKID}:abc="})
    assert (_failure(no_date).code, _failure(no_date).message) == (
        "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    malformed = HttpRequest("GET", "/b/k", "", {"host": "h", "date": good.headers["date"], "authorization": "AWS x"})
    assert _failure(malformed).code == "InvalidArgument"


def test_session_token_must_match() -> None:
    now = dt.datetime.now(dt.UTC)
    good = _header_signed("GET", "/b/k", {"x-amz-security-token": TEMP_TOKEN}, TEMP_SECRET, TEMP_AKID, now)
    assert authenticate(good, lookup, now=now, s3_style=True, allow_anonymous=False).session_token == TEMP_TOKEN
    wrong = _header_signed("GET", "/b/k", {"x-amz-security-token": "nope"}, TEMP_SECRET, TEMP_AKID, now)
    assert _failure(wrong, now).code == "InvalidToken"
    missing = _header_signed("GET", "/b/k", {}, TEMP_SECRET, TEMP_AKID, now)
    assert _failure(missing, now).code == "InvalidToken"


QUERY_FAILURES = [
    ("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc", "AccessDenied"),  # no Expires
    ("Signature=abc&Expires=99999999999", "AccessDenied"),  # no key id
    ("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&Expires=soon", "AccessDenied"),
    ("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&Expires=%C2%B2", "AccessDenied"),  # "²": isdigit, not int
    ("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&Expires=99999999999", "SignatureDoesNotMatch"),
    ("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&Expires=9999999999&X-Amz-Algorithm=AWS4-HMAC-SHA256",
     "InvalidArgument"),
]


@pytest.mark.parametrize(("query", "code"), QUERY_FAILURES)
def test_query_failures(query: str, code: str) -> None:
    assert _failure(HttpRequest("GET", "/b/k", query, {"host": "h"})).code == code


def test_query_and_header_together_is_refused() -> None:
    query = f"AWSAccessKeyId={AKID}&Expires=9999999999&Signature=abc"
    request = HttpRequest("GET", "/b/k", query, {"host": "h", "authorization": f"AWS {AKID}:abc"})
    assert _failure(request).code == "InvalidArgument"


def test_other_services_do_not_speak_sigv2() -> None:
    request = _header_signed("GET", "/", {})
    with pytest.raises(AwsError) as caught:
        authenticate(request, lookup, now=dt.datetime.now(dt.UTC), s3_style=False, allow_anonymous=False)
    assert caught.value.code == "IncompleteSignature"


def test_bucket_path_signed_with_or_without_trailing_slash() -> None:
    """botocore signs ``/bucket/`` for the path ``/bucket``; the reference's rule read literally gives ``/bucket``."""
    now = dt.datetime.now(dt.UTC)
    date = format_datetime(now, usegmt=True)
    for resource in ("/bucket/", "/bucket"):
        text = f"HEAD\n\n\n{date}\n{resource}"
        headers = {"host": "127.0.0.1:9000", "date": date, "authorization": f"AWS {AKID}:{sign(SECRET, text)}"}
        request = HttpRequest("HEAD", "/bucket", "", headers)
        assert authenticate(request, lookup, now=now, s3_style=True, allow_anonymous=False).key is KEYS[AKID]
    text = f"HEAD\n\n\n{date}\n/other/"
    headers = {"host": "127.0.0.1:9000", "date": date, "authorization": f"AWS {AKID}:{sign(SECRET, text)}"}
    assert _failure(HttpRequest("HEAD", "/bucket", "", headers), now).code == "SignatureDoesNotMatch"
