"""Routing: every operation botocore can send lands on exactly that operation."""

from __future__ import annotations

import functools
import random
import zlib
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.aws.errors import AwsError, UnknownOperation
from rampart.aws.models import SUPPORTED_SERVICES, service_model, wire_protocols
from rampart.gateway.http import HttpRequest
from rampart.protocol.routing import (
    InvalidAction,
    InvalidURI,
    MethodNotAllowed,
    MissingAction,
    Route,
    UnknownService,
    bucket_from_host,
    form_params,
    parse_form,
    route,
)
from rampart.protocol.rest_routes import match_rest
from tests.protocol import shapegen

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123abcd"
)

# Operations whose wire requests are identical by construction (the model gives
# both the same method, requestUri and required members): the router answers
# the first of each pair, the current name of a deprecated operation.
INDISTINGUISHABLE: dict[tuple[str, str], str] = {
    ("s3", "GetBucketLifecycle"): "GetBucketLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutBucketLifecycleConfiguration",
    ("s3", "GetBucketNotification"): "GetBucketNotificationConfiguration",
    ("s3", "PutBucketNotification"): "PutBucketNotificationConfiguration",
}

# ListDirectoryBuckets (S3 Express) and ListBuckets are both GET /; the router
# only tells them apart by a directory-bucket query parameter.
MAYBE_SAME: dict[tuple[str, str], str] = {("s3", "ListDirectoryBuckets"): "ListBuckets"}


def _request(service: str, protocol: str, op_name: str, seed: int, signed: bool = True) -> tuple[HttpRequest, dict]:
    model = service_model(service)
    op = model.operation_model(op_name)
    rng = random.Random(seed)
    params = shapegen.random_value(rng, op.input_shape) if op.input_shape is not None else {}
    for name, member in op.input_shape.members.items() if op.input_shape is not None else ():
        if member.serialization.get("hostLabel") or member.metadata.get("hostLabel"):
            params[name] = "route-1"  # botocore only accepts host-safe labels
    request = shapegen.botocore_request(protocol, op, params)
    if signed:
        request.headers["authorization"] = AUTH.format(model.signing_name)
    return request, params


def _check(service: str, protocol: str, op_name: str, request: HttpRequest, params: dict) -> str | None:
    """None when the request routes as expected, else a description of the mismatch."""
    try:
        got = route(request)
    except AwsError as exc:
        return f"{service}.{op_name} [{protocol}]: raised {exc!r}"
    expected = INDISTINGUISHABLE.get((service, op_name), op_name)
    allowed = {expected, MAYBE_SAME.get((service, op_name), expected)}
    if got.service.service_name != service or got.operation.name not in allowed or got.protocol != protocol:
        return f"{service}.{op_name} [{protocol}]: routed to {got.service.service_name}.{got.operation.name} {got.protocol}"
    if protocol.startswith("rest"):
        want = shapegen.uri_params_of(got.service.operation_model(op_name), params)
        if got.uri_params != want:
            return f"{service}.{op_name}: uri_params {got.uri_params} != {want}"
    elif got.uri_params:
        return f"{service}.{op_name}: unexpected uri_params {got.uri_params}"
    return None


@pytest.mark.parametrize("service", SUPPORTED_SERVICES)
def test_every_operation_routes_signed(service: str) -> None:
    model = service_model(service)
    failures = []
    for protocol in wire_protocols(model):
        for i, op_name in enumerate(model.operation_names):
            request, params = _request(service, protocol, op_name, seed=i)
            failure = _check(service, protocol, op_name, request, params)
            if failure:
                failures.append(failure)
    assert failures == []


@pytest.mark.parametrize("service", [s for s in SUPPORTED_SERVICES if service_model(s).metadata["protocol"] != "rest-json"])
def test_every_operation_routes_unsigned(service: str) -> None:
    """Without credentials the target, Action+Version or (S3) the URI still place the call."""
    model = service_model(service)
    failures = []
    for protocol in wire_protocols(model):
        if protocol == "rest-xml" and service != "s3":
            continue  # unsigned REST requests are S3's
        for i, op_name in enumerate(model.operation_names):
            request, params = _request(service, protocol, op_name, seed=1000 + i, signed=False)
            failure = _check(service, protocol, op_name, request, params)
            if failure:
                failures.append(failure)
    assert failures == []


@pytest.mark.parametrize("seed", range(3))
def test_s3_random_inputs_route_with_several_seeds(seed: int) -> None:
    """S3 has the most template collisions: try more random optional members."""
    model = service_model("s3")
    failures = []
    for op_name in model.operation_names:
        request, params = _request("s3", "rest-xml", op_name, seed=seed * 7919 + zlib.crc32(op_name.encode()) % 1000)
        failure = _check("s3", "rest-xml", op_name, request, params)
        if failure:
            failures.append(failure)
    assert failures == []


# ------------------------------------------------- real boto3 clients, signed


@functools.lru_cache(maxsize=None)
def _client(service: str, style: str = "auto") -> tuple[Any, list[HttpRequest]]:
    """A boto3 client whose requests are captured (and answered with an empty 200); built once."""
    seen: list[HttpRequest] = []
    config = {"s3": {"addressing_style": style}} if service == "s3" else {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen.append(_to_http(request))
        return AWSResponse(request.url, 200, {}, _Raw())

    client = boto3.session.Session().client(
        service,
        endpoint_url="http://localhost:4566",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
    )
    client.meta.events.register("before-send", capture)
    return client, seen


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b""


def _to_http(request: Any) -> HttpRequest:
    from urllib.parse import urlsplit

    parts = urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers.setdefault("host", parts.netloc)
    return HttpRequest(request.method, parts.path or "/", parts.query, headers, body)


def _captured_client(service: str, style: str = "auto") -> tuple[Any, list[HttpRequest]]:
    client, seen = _client(service, style)
    seen.clear()
    return client, seen


def _call(client: Any, seen: list[HttpRequest], method: str, **kwargs: Any) -> Route:
    try:
        getattr(client, method)(**kwargs)
    except Exception:  # noqa: BLE001 - the fake empty answer; only the request matters
        pass
    return route(seen[0])


S3_CALLS: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
    ("list_buckets", {}, "ListBuckets", {}),
    ("create_bucket", {"Bucket": "bkt"}, "CreateBucket", {"Bucket": "bkt"}),
    ("head_bucket", {"Bucket": "bkt"}, "HeadBucket", {"Bucket": "bkt"}),
    ("head_object", {"Bucket": "bkt", "Key": "k"}, "HeadObject", {"Bucket": "bkt", "Key": "k"}),
    ("get_object", {"Bucket": "bkt", "Key": "a/b c/ü%2F"}, "GetObject", {"Bucket": "bkt", "Key": "a/b c/ü%2F"}),
    ("get_object", {"Bucket": "bkt", "Key": "dir/"}, "GetObject", {"Bucket": "bkt", "Key": "dir/"}),
    ("put_object", {"Bucket": "bkt", "Key": "k", "Body": b"x"}, "PutObject", {"Bucket": "bkt", "Key": "k"}),
    ("delete_object", {"Bucket": "bkt", "Key": "k"}, "DeleteObject", {"Bucket": "bkt", "Key": "k"}),
    ("copy_object", {"Bucket": "bkt", "Key": "k", "CopySource": "src/k"}, "CopyObject", {"Bucket": "bkt", "Key": "k"}),
    ("list_objects", {"Bucket": "bkt"}, "ListObjects", {"Bucket": "bkt"}),
    ("list_objects_v2", {"Bucket": "bkt", "Prefix": "p"}, "ListObjectsV2", {"Bucket": "bkt"}),
    ("list_object_versions", {"Bucket": "bkt"}, "ListObjectVersions", {"Bucket": "bkt"}),
    ("delete_objects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "k"}]}}, "DeleteObjects", {"Bucket": "bkt"}),
    ("get_bucket_tagging", {"Bucket": "bkt"}, "GetBucketTagging", {"Bucket": "bkt"}),
    ("get_object_tagging", {"Bucket": "bkt", "Key": "k"}, "GetObjectTagging", {"Bucket": "bkt", "Key": "k"}),
    ("get_bucket_policy", {"Bucket": "bkt"}, "GetBucketPolicy", {"Bucket": "bkt"}),
    ("get_bucket_acl", {"Bucket": "bkt"}, "GetBucketAcl", {"Bucket": "bkt"}),
    ("get_object_acl", {"Bucket": "bkt", "Key": "k"}, "GetObjectAcl", {"Bucket": "bkt", "Key": "k"}),
    ("create_multipart_upload", {"Bucket": "bkt", "Key": "k"}, "CreateMultipartUpload", {"Bucket": "bkt", "Key": "k"}),
    ("upload_part", {"Bucket": "bkt", "Key": "k", "PartNumber": 1, "UploadId": "u", "Body": b"x"}, "UploadPart",
     {"Bucket": "bkt", "Key": "k"}),
    ("upload_part_copy", {"Bucket": "bkt", "Key": "k", "PartNumber": 1, "UploadId": "u", "CopySource": "s/k"},
     "UploadPartCopy", {"Bucket": "bkt", "Key": "k"}),
    ("list_parts", {"Bucket": "bkt", "Key": "k", "UploadId": "u"}, "ListParts", {"Bucket": "bkt", "Key": "k"}),
    ("complete_multipart_upload", {"Bucket": "bkt", "Key": "k", "UploadId": "u"}, "CompleteMultipartUpload",
     {"Bucket": "bkt", "Key": "k"}),
    ("abort_multipart_upload", {"Bucket": "bkt", "Key": "k", "UploadId": "u"}, "AbortMultipartUpload",
     {"Bucket": "bkt", "Key": "k"}),
    ("list_multipart_uploads", {"Bucket": "bkt"}, "ListMultipartUploads", {"Bucket": "bkt"}),
    ("get_bucket_analytics_configuration", {"Bucket": "bkt", "Id": "a"}, "GetBucketAnalyticsConfiguration",
     {"Bucket": "bkt"}),
    ("list_bucket_analytics_configurations", {"Bucket": "bkt"}, "ListBucketAnalyticsConfigurations", {"Bucket": "bkt"}),
    ("get_bucket_location", {"Bucket": "bkt"}, "GetBucketLocation", {"Bucket": "bkt"}),
    ("delete_bucket", {"Bucket": "bkt"}, "DeleteBucket", {"Bucket": "bkt"}),
]


@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize(("method", "kwargs", "op", "uri"), S3_CALLS, ids=[c[0] for c in S3_CALLS])
def test_boto3_s3_calls_route(style: str, method: str, kwargs: dict, op: str, uri: dict) -> None:
    client, seen = _captured_client("s3", style)
    got = _call(client, seen, method, **kwargs)
    if style == "virtual" and "Bucket" in kwargs and method != "get_bucket_location":  # botocore: path-style
        assert seen[0].host == "bkt.localhost"
    assert (got.service.service_name, got.operation.name, got.protocol) == ("s3", op, "rest-xml")
    assert got.uri_params == uri


@pytest.mark.parametrize(
    ("service", "method", "kwargs", "op", "protocol"),
    [
        ("sts", "get_caller_identity", {}, "GetCallerIdentity", "query"),
        ("iam", "list_users", {}, "ListUsers", "query"),
        ("kms", "list_keys", {}, "ListKeys", "json"),
        ("logs", "describe_log_groups", {}, "DescribeLogGroups", "json"),
        ("cloudtrail", "describe_trails", {}, "DescribeTrails", "json"),
        ("ec2", "describe_instances", {}, "DescribeInstances", "ec2"),
        ("sns", "list_topics", {}, "ListTopics", "query"),
        ("guardduty", "get_detector", {"DetectorId": "d 1/x"}, "GetDetector", "rest-json"),
        ("route53", "get_hosted_zone", {"Id": "Z123"}, "GetHostedZone", "rest-xml"),
        ("organizations", "describe_organization", {}, "DescribeOrganization", "json"),
    ],
)
def test_boto3_clients_route(service: str, method: str, kwargs: dict, op: str, protocol: str) -> None:
    client, seen = _captured_client(service)
    got = _call(client, seen, method, **kwargs)
    assert (got.service.service_name, got.operation.name, got.protocol) == (service, op, protocol)


def test_boto3_guardduty_label_is_decoded() -> None:
    client, seen = _captured_client("guardduty")
    got = _call(client, seen, "get_detector", DetectorId="d 1/x")
    assert got.uri_params == {"DetectorId": "d 1/x"}


@pytest.mark.parametrize("protocol", wire_protocols(service_model("cloudwatch")))
def test_cloudwatch_three_protocols_signed_with_monitoring(protocol: str) -> None:
    request, _ = _request("cloudwatch", protocol, "PutMetricData", seed=3)
    assert "/monitoring/aws4_request" in request.headers["authorization"]
    got = route(request)
    assert (got.service.service_name, got.operation.name, got.protocol) == ("cloudwatch", "PutMetricData", protocol)


def test_boto3_cloudwatch_default_protocol() -> None:
    client, seen = _captured_client("cloudwatch")
    got = _call(client, seen, "list_metrics")
    assert (got.service.service_name, got.operation.name) == ("cloudwatch", "ListMetrics")
    assert got.protocol in wire_protocols(service_model("cloudwatch"))


def test_sts_form_is_parsed_once_and_shared() -> None:
    request = HttpRequest(
        "POST", "/", "", {"content-type": "application/x-www-form-urlencoded; charset=utf-8",
                          "authorization": AUTH.format("sts")},
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    got = route(request)
    assert got.operation.name == "GetCallerIdentity"
    assert got.form is form_params(request)
    assert got.form == {"Action": ["GetCallerIdentity"], "Version": ["2011-06-15"]}


@pytest.mark.parametrize("body", [b"Action=GetCallerIdentity&Version=2011-06-15&X=\xff",
                                  b"Action=GetCallerIdentity&Version=2011-06-15&X=%FF"])
def test_a_form_body_that_is_not_utf8_routes_but_does_not_parse(body: bytes) -> None:
    from rampart.protocol.query import CODEC, MalformedQueryString

    request = HttpRequest(
        "POST", "/", "", {"content-type": "application/x-www-form-urlencoded", "authorization": AUTH.format("sts")}, body
    )
    got = route(request)
    assert got.operation.name == "GetCallerIdentity"
    with pytest.raises(MalformedQueryString):
        CODEC.parse_request(request, got.operation, {})


def test_router_and_codec_decode_the_body_once() -> None:
    from rampart.protocol import query

    request = HttpRequest(
        "POST", "/", "", {"content-type": "application/x-www-form-urlencoded", "authorization": AUTH.format("iam")},
        b"Action=CreateUser&UserName=a%20b",
    )
    got = route(request)
    pairs = query.body_pairs(request.body)
    assert query.decode_form(request) is pairs
    assert query.CODEC.parse_request(request, got.operation, {}) == {"UserName": "a b"}


def test_presigned_url_scope_names_the_service() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"
    )
    got = route(HttpRequest("GET", "/bkt/some/key", query, {"host": "localhost:4566"}))
    assert (got.operation.name, got.uri_params) == ("GetObject", {"Bucket": "bkt", "Key": "some/key"})


def test_unsigned_assume_role_with_web_identity_goes_to_sts() -> None:
    body = b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn&RoleSessionName=s&WebIdentityToken=t"
    got = route(HttpRequest("POST", "/", "", {"content-type": "application/x-www-form-urlencoded"}, body))
    assert (got.service.service_name, got.operation.name, got.protocol) == ("sts", "AssumeRoleWithWebIdentity", "query")


def test_query_action_in_query_string() -> None:
    got = route(HttpRequest("GET", "/", "Action=DescribeRegions&Version=2016-11-15", {"authorization": AUTH.format("ec2")}))
    assert (got.operation.name, got.protocol) == ("DescribeRegions", "ec2")


# ----------------------------------------------------------------- errors

_FORM = {"content-type": "application/x-www-form-urlencoded"}


def _signed(service: str, **headers: str) -> dict[str, str]:
    return {"authorization": AUTH.format(service), **headers}


@pytest.mark.parametrize(
    ("request_", "error", "status", "message_part"),
    [
        (HttpRequest("POST", "/", "", _signed("lambda")), UnknownService, 400, "lambda"),
        (HttpRequest("POST", "/", "", {"x-amz-target": "DynamoDB_20120810.ListTables"}), UnknownService, 400,
         "DynamoDB_20120810"),
        (HttpRequest("POST", "/", "", _signed("kms", **{"x-amz-target": "TrentService.Nope"})), UnknownOperation, 400,
         "TrentService.Nope"),
        (HttpRequest("POST", "/", "", _signed("kms", **{"x-amz-target": "Logs_20140328.ListKeys"})), UnknownOperation,
         400, "Logs_20140328.ListKeys"),
        (HttpRequest("POST", "/", "", _signed("kms")), UnknownOperation, 400, "X-Amz-Target"),
        (HttpRequest("POST", "/", "", {"content-type": "application/x-amz-json-1.1"}), UnknownOperation, 400,
         "X-Amz-Target"),
        (HttpRequest("POST", "/", "", _signed("monitoring", **{"content-type": "application/x-amz-json-1.0"})),
         UnknownOperation, 400, "X-Amz-Target"),
        (HttpRequest("POST", "/", "", _signed("iam", **_FORM), b"Action=Nope&Version=2010-05-08"), InvalidAction, 400,
         "Could not find operation Nope for version 2010-05-08"),
        (HttpRequest("POST", "/", "", _FORM, b"Action=Nope&Version=2010-05-08"), InvalidAction, 400,
         "Could not find operation Nope for version 2010-05-08"),
        (HttpRequest("POST", "/", "", _FORM, b"Action=Nope"), InvalidAction, 400, "Could not find operation Nope"),
        (HttpRequest("POST", "/", "", _signed("sts", **_FORM), b"Version=2011-06-15"), MissingAction, 400, "Action"),
        (HttpRequest("GET", "/", "", _signed("sts")), MissingAction, 400, "Action"),
        (HttpRequest("PATCH", "/bkt/key", "", {"host": "localhost"}), MethodNotAllowed, 405, "method"),
        (HttpRequest("POST", "/bkt/key", "", _signed("s3")), MethodNotAllowed, 405, "method"),
        (HttpRequest("GET", "//key", "", _signed("s3")), InvalidURI, 400, "URI"),
        (HttpRequest("GET", "/bkt/%FF%FE", "", _signed("s3")), InvalidURI, 400, "URI"),
        (HttpRequest("GET", "/nothing/here", "", _signed("route53")), UnknownOperation, 404, "/nothing/here"),
        (HttpRequest("PUT", "/detector", "", _signed("guardduty")), UnknownOperation, 404, "PUT /detector"),
        (HttpRequest("POST", "/service/Other/operation/ListMetrics", "", _signed("monitoring",
         **{"smithy-protocol": "rpc-v2-cbor"})), UnknownOperation, 400, "/service/Other"),
        (HttpRequest("POST", "/service/GraniteServiceVersion20100801/operation/Nope", "",
                     {"smithy-protocol": "rpc-v2-cbor"}), UnknownOperation, 400, "Nope"),
    ],
)
def test_errors(request_: HttpRequest, error: type[AwsError], status: int, message_part: str) -> None:
    with pytest.raises(error) as caught:
        route(request_)
    assert caught.value.status == status
    assert message_part in caught.value.message


def test_method_not_allowed_names_method_and_resource() -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        route(HttpRequest("POST", "/bkt/key", "", _signed("s3")))
    assert caught.value.fields == {"Method": "POST", "ResourceType": "OBJECT"}


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("localhost", None),
        ("127.0.0.1", None),
        ("[::1]", None),
        ("s3.amazonaws.com", None),
        ("s3.us-east-1.amazonaws.com", None),
        ("s3-us-west-2.amazonaws.com", None),
        ("rampart.example.com", None),
        ("", None),
        ("bkt.localhost", "bkt"),
        ("my.dotted.bkt.localhost", "my.dotted.bkt"),
        ("bkt.s3.amazonaws.com", "bkt"),
        ("bkt.s3.us-east-1.amazonaws.com", "bkt"),
        ("bkt.s3-us-west-2.amazonaws.com", "bkt"),
        ("my.bkt.s3.dualstack.eu-west-1.amazonaws.com", "my.bkt"),
        ("bkt.s3.localhost", "bkt"),
        ("BKT.LOCALHOST", "bkt"),
        ("10.0.0.1", None),
        ("1bkt.localhost", "1bkt"),
    ],
)
def test_bucket_from_host(host: str, bucket: str | None) -> None:
    assert bucket_from_host(host) == bucket


def test_virtual_host_root_is_bucket_listing() -> None:
    got = route(HttpRequest("GET", "/", "list-type=2", {"host": "bkt.s3.us-east-1.amazonaws.com"}))
    assert (got.operation.name, got.uri_params) == ("ListObjectsV2", {"Bucket": "bkt"})


def test_x_id_names_the_operation() -> None:
    got = route(HttpRequest("GET", "/bkt/k", "uploadId=u&x-id=GetObject", _signed("s3")))
    assert got.operation.name == "GetObject"


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "host", "expected"),
    [
        ("s3", "GET", "/bkt/a%20b/c", {}, "localhost", ("GetObject", {"Bucket": "bkt", "Key": "a b/c"})),
        ("s3", "PUT", "/k", {"uploadId": ["u"], "partNumber": ["1"]}, "bkt.localhost",
         ("UploadPart", {"Bucket": "bkt", "Key": "k"})),
        ("route53", "GET", "/2013-04-01/hostedzone/Z1", {}, "localhost", ("GetHostedZone", {"Id": "Z1"})),
    ],
)
def test_match_rest_directly(service: str, method: str, path: str, query: dict, host: str, expected: tuple) -> None:
    request = HttpRequest(method, path, "", {"host": host})
    assert match_rest(service, request, query) == expected


# --------------------------------------------------------------------- fuzz

_HEADER_NAMES = st.sampled_from(
    ["authorization", "x-amz-target", "content-type", "smithy-protocol", "host", "x-amz-copy-source", "x-other"]
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from([
        AUTH.format("s3"), AUTH.format("monitoring"), AUTH.format("sts"), AUTH.format("nope"), "Credential=/",
        "Credential=a/b/c/d/aws4_request", "TrentService.ListKeys", "GraniteServiceVersion20100801.ListMetrics",
        "rpc-v2-cbor", "application/x-www-form-urlencoded", "application/x-amz-json-1.1", "bkt.localhost:1",
        "[::1]:80", "1.2.3.4", "bkt.s3.", ".", "s3-", "",
    ]),
)
_PATHS = st.one_of(
    st.text(max_size=60).map(lambda s: "/" + s),
    st.sampled_from(["/", "//", "/service/GraniteServiceVersion20100801/operation/ListMetrics", "/%FF", "/b/%",
                     "/2013-04-01/hostedzone/Z1/rrset/", "/detector/x/filter", "/b/k%2F%C3"]),
)
_QUERIES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["Action=ListUsers", "Action=&Version=", "X-Amz-Credential=a%2Fb", "x-id=GetObject",
                     "list-type=2", "uploads", "uploadId=1&partNumber=x", "Action=GetCallerIdentity&x=" + "a" * 5000]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "get", "X" * 30]),
    path=_PATHS,
    query=_QUERIES,
    headers=st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=5),
    body=st.one_of(st.binary(max_size=80), st.sampled_from([b"Action=ListUsers", b"Action=\xff\xfe", b"Version=1"])),
)
def test_fuzz_only_aws_errors(method: str, path: str, query: str, headers: dict, body: bytes) -> None:
    try:
        got = route(HttpRequest(method, path, query, headers, body))
    except AwsError:
        return
    assert got.service.service_name in SUPPORTED_SERVICES
    assert got.operation.name in got.service.operation_names


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab=&%+2Fé;x0"), max_size=30))
def test_parse_form_matches_parse_qs(text: str) -> None:
    from urllib.parse import parse_qs

    assert parse_form(text) == parse_qs(text, keep_blank_values=True, errors="replace")
