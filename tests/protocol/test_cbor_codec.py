"""The smithy-rpc-v2-cbor codec (CloudWatch) against botocore's serializer and parser."""

from __future__ import annotations

import datetime as dt
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.aws.errors import AwsError, SerializationError
from rampart.aws.models import service_model
from rampart.gateway.http import HttpRequest
from rampart.protocol.cbor import CODEC
from rampart.protocol.jsonproto import MAX_DEPTH
from tests.protocol.test_json_codec import (
    common_error_codes,
    error_mismatches,
    request_mismatches,
    response_mismatches,
)

PROTOCOL = "smithy-rpc-v2-cbor"
UTC = dt.timezone.utc
WHEN = dt.datetime(2024, 2, 29, 12, 30, 5, tzinfo=UTC)


def test_requests_round_trip() -> None:
    assert request_mismatches(CODEC, "cloudwatch", PROTOCOL, range(5)) == []


def test_responses_round_trip() -> None:
    assert response_mismatches(CODEC, "cloudwatch", PROTOCOL, range(5)) == []


def test_modeled_errors_round_trip() -> None:
    assert error_mismatches(CODEC, "cloudwatch", PROTOCOL) == []


def test_common_errors_use_query_codes() -> None:
    assert common_error_codes(CODEC, "cloudwatch", PROTOCOL) == {
        "AccessDenied": "AccessDenied",
        "ValidationError": "ValidationError",
        "SerializationError": "MalformedInput",
    }


def test_error_wire_format() -> None:
    model = service_model("cloudwatch")
    error = AwsError("missing", code="ResourceNotFound", status=404)
    response = CODEC.serialize_error(error, model, None, "r")
    assert response.status == 404
    assert response.header("content-type") == "application/cbor"
    assert response.header("smithy-protocol") == "rpc-v2-cbor"
    assert response.header("x-amzn-query-error") == "ResourceNotFound;Sender"
    assert cbor2.loads(response.body) == {"__type": "ResourceNotFound", "message": "missing"}


def test_response_wire_format() -> None:
    op = service_model("cloudwatch").operation_model("GetMetricData")
    output = {"MetricDataResults": [{"Id": "m", "Timestamps": [WHEN], "Values": [1.5]}]}
    response = CODEC.serialize_response(op, output, "r")
    assert response.status == 200
    assert response.header("smithy-protocol") == "rpc-v2-cbor"
    assert response.header("content-type") == "application/cbor"
    assert b"\xc1" in response.body  # tag 1, epoch timestamp
    assert cbor2.loads(response.body) == output


def _put(tree: Any) -> dict[str, Any]:
    op = service_model("cloudwatch").operation_model("PutMetricData")
    request = HttpRequest("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", body=tree)
    return CODEC.parse_request(request, op, {})


def test_timestamps_and_blobs() -> None:
    body = cbor2.dumps(
        {"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": WHEN, "Value": 2}]},
        datetime_as_timestamp=True,
    )
    parsed = _put(body)
    assert parsed["MetricData"][0]["Timestamp"] == WHEN and parsed["MetricData"][0]["Value"] == 2.0
    plain_epoch = cbor2.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": 1709209805}]})
    assert _put(plain_epoch)["MetricData"][0]["Timestamp"] == WHEN
    assert _put(b"") == {}


@pytest.mark.parametrize(
    "body",
    [
        b"\xa1",
        b"\xff",
        cbor2.dumps([1, 2]),
        cbor2.dumps("text"),
        cbor2.dumps({"Namespace": 5}),
        cbor2.dumps({"Namespace": b"bytes"}),
        cbor2.dumps({"MetricData": {"not": "a list"}}),
        cbor2.dumps({"MetricData": [{"Timestamp": "yesterday"}]}),
        cbor2.dumps({"MetricData": [{"Value": "1"}]}),
        cbor2.dumps({"MetricData": [{"Value": 1e400}], "Namespace": "n"}) + b"\x00",
        cbor2.dumps({"MetricData": [{"StorageResolution": 1.5}]}),
        cbor2.dumps({"StrictEntityValidation": 1}),
        cbor2.dumps({1: "int key", "MetricData": [{"Dimensions": [{2: "x"}]}]}),
        bytes.fromhex("c1781a32303234"),  # tag 1 around a truncated string
        bytes.fromhex("a1694e616d657370616365c1f97e00"),  # Namespace = tag 1(NaN)
    ],
)
def test_bad_bodies_are_serialization_errors(body: bytes) -> None:
    with pytest.raises(SerializationError):
        _put(body)


def test_deep_nesting_is_refused() -> None:
    tree: Any = {"MetricName": "m"}
    for _ in range(MAX_DEPTH + 5):
        tree = [tree]
    with pytest.raises(SerializationError):
        _put(cbor2.dumps({"MetricData": tree}))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash(body: bytes) -> None:
    try:
        _put(body)
    except AwsError:
        pass


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5)
    | st.binary(max_size=5) | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["Namespace", "MetricData", "StrictEntityValidation", "EntityMetricData"]), cbor_values, max_size=3))
def test_fuzzed_trees_never_crash(tree: dict[str, Any]) -> None:
    try:
        _put(cbor2.dumps(tree, datetime_as_timestamp=True))
    except AwsError:
        pass
