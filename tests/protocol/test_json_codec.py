"""The json codec against botocore's own client serializer and parser.

The round-trip helpers here are shared by the rest-json and CBOR tests:
random valid inputs serialized by botocore must parse back equal, random
outputs serialized by the codec must parse back equal through botocore, and
every modeled error must come out with the code, message, status and fields
a boto3 client sees.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import orjson
import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel
from botocore.parsers import create_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.aws.errors import AccessDenied, AwsError, SerializationError, ValidationError
from rampart.aws.models import service_model
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.base import Codec
from rampart.protocol.jsonproto import CODEC, MAX_DEPTH
from tests.protocol.shapegen import botocore_parse, botocore_request, normalize, random_value, uri_params_of

SEEDS = range(3)
JSON_SERVICES = ("kms", "cloudtrail", "logs", "config", "inspector", "support", "budgets", "ce", "organizations")


# --- shared round-trip helpers ------------------------------------------------


def request_mismatches(codec: Codec, service: str, protocol: str, seeds: range = SEEDS) -> list[str]:
    """Operations whose botocore-serialized random inputs do not parse back equal."""
    model = service_model(service)
    problems: list[str] = []
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.input_shape is None:
            continue
        for seed in seeds:
            params = random_value(random.Random(f"{service}:{name}:{seed}"), op.input_shape)
            request = botocore_request(protocol, op, params)
            parsed = codec.parse_request(request, op, uri_params_of(op, params))
            if normalize(parsed) != normalize(params):
                problems.append(f"{name}[{seed}]: sent {normalize(params)!r} parsed {normalize(parsed)!r}")
    return problems


def response_mismatches(codec: Codec, service: str, protocol: str, seeds: range = SEEDS) -> list[str]:
    """Operations whose random outputs do not come back equal through botocore's parser."""
    model = service_model(service)
    problems: list[str] = []
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.output_shape is None or op.has_event_stream_output:
            continue
        for seed in seeds:
            output = random_value(random.Random(f"out:{service}:{name}:{seed}"), op.output_shape)
            response = codec.serialize_response(op, output, "req-1")
            parsed = botocore_parse(protocol, op, response)
            if normalize(parsed) != normalize(output):
                problems.append(f"{name}[{seed}]: sent {normalize(output)!r} parsed {normalize(parsed)!r}")
            if parsed["ResponseMetadata"].get("RequestId") != "req-1":
                problems.append(f"{name}: request id lost")
    return problems


def client_error(protocol: str, op: OperationModel, response: HttpResponse) -> dict[str, Any]:
    """What a boto3 client makes of an error response (Error plus modeled fields)."""
    parsed = botocore_parse(protocol, op, response)
    shape = op.service_model.shape_for_error_code(parsed["Error"]["Code"])
    if shape is not None:
        response_dict = {
            "status_code": response.status,
            "headers": HeadersDict(dict(response.headers)),
            "body": response.body,
            "context": {"operation_name": op.name},
        }
        parsed.update(create_parser(protocol).parse(response_dict, shape))
    return parsed


def _error_fields(rng: random.Random, shape: Any) -> dict[str, Any]:
    """Random fields of an error shape, without the message and ``__type`` members."""
    fields = random_value(rng, shape)
    for name, member in shape.members.items():
        if name.lower() == "message" or member.serialization.get("name") == "__type":
            fields.pop(name, None)
    return fields


def error_mismatches(codec: Codec, service: str, protocol: str) -> list[str]:
    """Modeled errors that a boto3 client would not see with the right code, message, status and fields."""
    model = service_model(service)
    op = model.operation_model(model.operation_names[0])
    problems: list[str] = []
    for shape in model.error_shapes:
        rng = random.Random(f"err:{service}:{shape.name}")
        status = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        fields = _error_fields(rng, shape)
        error = AwsError("it went wrong: é", code=shape.name, status=status, fields=fields)
        parsed = client_error(protocol, op, codec.serialize_error(error, model, op, "req-9"))
        seen = (parsed["Error"]["Code"], parsed["Error"]["Message"], parsed["ResponseMetadata"]["HTTPStatusCode"])
        if seen != (shape.error_code, error.message, status):
            problems.append(f"{shape.name}: {seen!r}")
        modeled = {k: v for k, v in parsed.items() if k in fields}
        if normalize(modeled) != normalize(fields):
            problems.append(f"{shape.name}: fields {normalize(fields)!r} came back {normalize(modeled)!r}")
    return problems


def common_error_codes(codec: Codec, service: str, protocol: str) -> dict[str, str]:
    """The code a client sees for each common error."""
    model = service_model(service)
    op = model.operation_model(model.operation_names[0])
    seen = {}
    for error in (AccessDenied("no"), ValidationError("bad"), SerializationError("broken")):
        parsed = client_error(protocol, op, codec.serialize_error(error, model, op, "r"))
        assert parsed["Error"]["Message"] == error.message
        wire = "query" if model.is_query_compatible else protocol
        assert parsed["ResponseMetadata"]["HTTPStatusCode"] == error.status_for(wire)
        seen[type(error).__name__] = parsed["Error"]["Code"]
    return seen


# --- json codec ----------------------------------------------------------------


@pytest.mark.parametrize("service", [*JSON_SERVICES, "cloudwatch"])
def test_requests_round_trip(service: str) -> None:
    assert request_mismatches(CODEC, service, "json") == []


@pytest.mark.parametrize("service", [*JSON_SERVICES, "cloudwatch"])
def test_responses_round_trip(service: str) -> None:
    assert response_mismatches(CODEC, service, "json") == []


@pytest.mark.parametrize("service", [*JSON_SERVICES, "cloudwatch"])
def test_modeled_errors_round_trip(service: str) -> None:
    assert error_mismatches(CODEC, service, "json") == []


def test_common_errors_use_json_spelling() -> None:
    assert common_error_codes(CODEC, "kms", "json") == {
        "AccessDenied": "AccessDeniedException",
        "ValidationError": "ValidationException",
        "SerializationError": "SerializationException",
    }


def test_query_compatible_errors_carry_query_code() -> None:
    assert common_error_codes(CODEC, "cloudwatch", "json") == {
        "AccessDenied": "AccessDenied",
        "ValidationError": "ValidationError",
        "SerializationError": "MalformedInput",
    }
    model = service_model("cloudwatch")
    response = CODEC.serialize_error(AwsError("gone", code="DashboardNotFoundError", status=404), model, None, "r")
    assert response.header("x-amzn-query-error") == "ResourceNotFound;Sender"
    assert orjson.loads(response.body) == {"__type": "DashboardNotFoundError", "message": "gone"}


def test_content_type_follows_json_version() -> None:
    kms = service_model("kms").operation_model("ListKeys")
    cloudwatch = service_model("cloudwatch").operation_model("ListDashboards")
    assert CODEC.serialize_response(kms, {}, "r").header("content-type") == "application/x-amz-json-1.1"
    assert CODEC.serialize_response(cloudwatch, {}, "r").header("content-type") == "application/x-amz-json-1.0"
    error = CODEC.serialize_error(ValidationError("x"), kms.service_model, kms, "r")
    assert error.status == 400 and error.header("x-amzn-ErrorType") == "ValidationException"
    assert error.header("x-amzn-query-error") is None


def _kms(op: str, body: bytes) -> dict[str, Any]:
    operation = service_model("kms").operation_model(op)
    return CODEC.parse_request(HttpRequest("POST", "/", body=body), operation, {})


def test_empty_body_is_empty_input() -> None:
    assert _kms("ListKeys", b"") == {}
    assert _kms("ListKeys", b"  ") == {}
    assert _kms("ListKeys", b"null") == {}


def test_types_are_converted() -> None:
    parsed = _kms("Encrypt", b'{"KeyId": "k", "Plaintext": "aGk=", "EncryptionContext": {"a": "b"}, "Unknown": 1}')
    assert parsed == {"KeyId": "k", "Plaintext": b"hi", "EncryptionContext": {"a": "b"}}


def test_nulls_stay_in_lists_and_maps_for_validation() -> None:
    """A null structure member is absent; a null list element or map value is kept, and validation refuses it."""
    parsed = _kms("Encrypt", b'{"KeyId": "k", "Plaintext": null, "EncryptionContext": {"a": null}, "GrantTokens": [null]}')
    assert parsed == {"KeyId": "k", "EncryptionContext": {"a": None}, "GrantTokens": [None]}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (1700000000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)),
        (1700000000.5, dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.timezone.utc)),
        ("2023-11-14T22:13:20Z", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)),
        ("2023-11-14T23:13:20.250+01:00", dt.datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=dt.timezone.utc)),
        ("Tue, 14 Nov 2023 22:13:20 GMT", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)),
        ("1700000000", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)),
    ],
)
def test_timestamps_in_any_format(raw: Any, expected: dt.datetime) -> None:
    body = orjson.dumps({"StartTime": raw})
    operation = service_model("cloudtrail").operation_model("LookupEvents")
    parsed = CODEC.parse_request(HttpRequest("POST", "/", body=body), operation, {})
    assert parsed["StartTime"] == expected and parsed["StartTime"].tzinfo is not None


def test_output_timestamps_are_epoch_seconds() -> None:
    op = service_model("kms").operation_model("DescribeKey")
    when = dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.timezone.utc)
    body = orjson.loads(CODEC.serialize_response(op, {"KeyMetadata": {"KeyId": "k", "CreationDate": when}}, "r").body)
    assert body == {"KeyMetadata": {"KeyId": "k", "CreationDate": 1700000000.5}}


BAD_BODIES = [
    b"{",
    b"\xff\xfe",
    b"[1, 2]",
    b'"text"',
    b'{"KeyId": 5}',
    b'{"KeyId": "k", "Plaintext": "not base64!"}',
    b'{"KeyId": "k", "EncryptionContext": ["a"]}',
    b'{"KeyId": "k", "EncryptionContext": {"a": 1}}',
    b'{"KeyId": "k", "GrantTokens": "tok"}',
    b'{"KeyId": {"nested": true}}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_are_serialization_errors(body: bytes) -> None:
    with pytest.raises(SerializationError):
        _kms("Encrypt", body)


@pytest.mark.parametrize(
    "op, body",
    [
        ("ListKeys", b'{"Limit": "ten"}'),
        ("ListKeys", b'{"Limit": 1.5}'),
        ("ListKeys", b'{"Limit": true}'),
        ("CreateKey", b'{"BypassPolicyLockoutSafetyCheck": "yes"}'),
        ("ScheduleKeyDeletion", b'{"KeyId": "k", "PendingWindowInDays": 1e400}'),
    ],
)
def test_wrong_scalar_types(op: str, body: bytes) -> None:
    with pytest.raises(SerializationError):
        _kms(op, body)


def test_bad_timestamps() -> None:
    operation = service_model("cloudtrail").operation_model("LookupEvents")
    for raw in ("yesterday", 1e30, True, [1]):
        with pytest.raises(SerializationError):
            CODEC.parse_request(HttpRequest("POST", "/", body=orjson.dumps({"StartTime": raw})), operation, {})


def test_deep_recursive_input_is_refused() -> None:
    operation = service_model("ce").operation_model("GetCostAndUsage")
    expression: dict[str, Any] = {"Dimensions": {"Key": "SERVICE", "Values": ["x"]}}
    for _ in range(MAX_DEPTH):
        expression = {"Not": expression}
    body = orjson.dumps({"TimePeriod": {"Start": "a", "End": "b"}, "Granularity": "DAILY", "Filter": expression})
    with pytest.raises(SerializationError):
        CODEC.parse_request(HttpRequest("POST", "/", body=body), operation, {})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_FUZZ_OPS = [("kms", "Encrypt"), ("cloudtrail", "LookupEvents"), ("ce", "GetCostAndUsage"), ("logs", "PutLogEvents")]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_FUZZ_OPS), st.dictionaries(st.sampled_from(["KeyId", "Plaintext", "StartTime", "Filter", "LookupAttributes", "logEvents", "EncryptionContext", "MaxResults"]), json_values, max_size=4))
def test_fuzzed_bodies_never_crash(target: tuple[str, str], tree: dict[str, Any]) -> None:
    operation = service_model(target[0]).operation_model(target[1])
    try:
        CODEC.parse_request(HttpRequest("POST", "/", body=orjson.dumps(tree)), operation, {})
    except AwsError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash(body: bytes) -> None:
    try:
        _kms("Encrypt", body)
    except AwsError:
        pass


@pytest.mark.parametrize(
    "output",
    [
        {"Keys": "not a list"},
        {"Keys": [{"KeyId": "k"}], "Truncated": True, "NextMarker": b"\xff"},
        {"Keys": [5]},
        {"Keys": [], "Truncated": True, "NextMarker": None, "Unknown": object()},
    ],
)
def test_outputs_that_do_not_fit_are_internal_failures(output: dict[str, Any]) -> None:
    from rampart.aws.errors import InternalFailure

    op = service_model("kms").operation_model("ListKeys")
    try:
        CODEC.serialize_response(op, output, "r")
    except InternalFailure:
        pass
