"""Round trips of the query codec against botocore's own serializer and parser.

Every operation of iam, sts, sns and cloudwatch (query variant): random
inputs serialized by botocore must parse back equal, random outputs written
by the codec must be read back equal by botocore, and errors must carry
their code, message and status.
"""

from __future__ import annotations

import datetime as dt
import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.model import ServiceModel
from hypothesis import given
from hypothesis import strategies as st

from rampart.aws.errors import AccessDenied, AwsError, SerializationError, ValidationError
from rampart.aws.models import service_model
from rampart.gateway.http import HttpRequest
from rampart.protocol.query import CODEC, InvalidParameterValue, MalformedQueryString, parse_timestamp
from rampart.protocol.xmlout import escape_text, format_timestamp
from tests.protocol import shapegen

SERVICES = ("iam", "sts", "sns", "cloudwatch")
SEEDS = (1, 2, 3)


def _operations() -> list[tuple[str, str]]:
    return [(name, op) for name in SERVICES for op in service_model(name).operation_names]


@pytest.mark.parametrize(("service", "operation"), _operations())
def test_request_round_trip(service: str, operation: str) -> None:
    op = service_model(service).operation_model(operation)
    if op.input_shape is None:
        pytest.skip("no input")
    for seed in SEEDS:
        params = shapegen.random_value(random.Random(f"{operation}-{seed}"), op.input_shape)
        request = shapegen.botocore_request("query", op, params)
        parsed = CODEC.parse_request(request, op, {})
        assert shapegen.query_wire_equivalent(parsed) == shapegen.query_wire_equivalent(params), seed


@pytest.mark.parametrize(("service", "operation"), _operations())
def test_response_round_trip(service: str, operation: str) -> None:
    op = service_model(service).operation_model(operation)
    for seed in SEEDS:
        output = {} if op.output_shape is None else shapegen.random_value(random.Random(seed), op.output_shape)
        response = CODEC.serialize_response(op, output, "req-1")
        assert response.status == 200
        assert response.header("content-type") == "text/xml"
        parsed = shapegen.botocore_parse("query", op, response)
        assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
        assert shapegen.normalize(parsed) == shapegen.normalize(output), seed


ERRORS = [
    (AccessDenied("User: x is not authorized"), "AccessDenied", 403, "Sender"),
    (ValidationError("1 validation error detected"), "ValidationError", 400, "Sender"),
    (SerializationError("bad"), "MalformedInput", 400, "Sender"),
    (AwsError("boom & <crash>", code="ServiceFailure", status=500), "ServiceFailure", 500, "Receiver"),
    (AwsError("no user", code="NoSuchEntity", status=404), "NoSuchEntity", 404, "Sender"),
]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("error", "code", "status", "fault"), ERRORS)
def test_error_round_trip(service: str, error: AwsError, code: str, status: int, fault: str) -> None:
    model = service_model(service)
    op = model.operation_model(model.operation_names[0])
    response = CODEC.serialize_error(error, model, op, "req-9")
    assert response.status == status
    parsed = shapegen.botocore_parse("query", op, response)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message
    assert parsed["Error"]["Type"] == fault
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"


def test_error_extra_fields_are_written() -> None:
    model = service_model("iam")
    error = AwsError("m", code="NoSuchEntity", status=404, fields={"Resource": "arn:x", "Count": 3, "Skip": None})
    response = CODEC.serialize_error(error, model, None, "r")
    parsed = shapegen.botocore_parse("query", model.operation_model("GetUser"), response)
    assert parsed["Error"]["Resource"] == "arn:x"
    assert parsed["Error"]["Count"] == "3"
    assert "Skip" not in parsed["Error"]


def _request(body: str = "", query: str = "", method: str = "POST") -> HttpRequest:
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    return HttpRequest(method=method, path="/", query=query, headers=headers, body=body.encode())


def test_get_query_string_and_body_merge() -> None:
    op = service_model("iam").operation_model("ListUsers")
    request = _request(body="MaxItems=5", query="Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa%2F")
    assert CODEC.parse_request(request, op, {}) == {"MaxItems": 5, "PathPrefix": "/a/"}
    get = _request(query="Action=ListUsers&Marker=m+n", method="GET")
    assert CODEC.parse_request(get, op, {}) == {"Marker": "m n"}


def test_empty_list_and_sparse_indices() -> None:
    op = service_model("iam").operation_model("CreateUser")
    assert CODEC.parse_request(_request("UserName=u&Tags="), op, {}) == {"UserName": "u", "Tags": []}
    body = "UserName=u&Tags.member.3.Key=c&Tags.member.3.Value=3&Tags.member.1.Key=a&Tags.member.1.Value=1"
    parsed = CODEC.parse_request(_request(body), op, {})
    assert parsed["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "c", "Value": "3"}]


def test_map_entries_and_custom_names() -> None:
    op = service_model("sns").operation_model("Publish")
    body = (
        "Message=hi&MessageAttributes.entry.1.Name=k&MessageAttributes.entry.1.Value.DataType=String"
        "&MessageAttributes.entry.1.Value.StringValue=v&MessageAttributes.entry.2.Name=b"
        "&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AAE%3D"
    )
    parsed = CODEC.parse_request(_request(body), op, {})
    assert parsed["MessageAttributes"] == {
        "k": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }


BAD_VALUES = [
    ("iam", "ListUsers", "MaxItems=abc", InvalidParameterValue),
    ("iam", "ListUsers", "MaxItems=1_0", InvalidParameterValue),
    ("sts", "AssumeRole", "RoleArn=a&RoleSessionName=s&DurationSeconds=1.5", InvalidParameterValue),
    ("cloudwatch", "PutMetricData", "Namespace=n&MetricData.member.1.Value=x", InvalidParameterValue),
    ("cloudwatch", "PutMetricData", "Namespace=n&MetricData.member.1.Timestamp=yesterday", InvalidParameterValue),
    ("cloudwatch", "DescribeAlarms", "ActionPrefix=a&ChildrenOfAlarmName=c&MaxRecords=-", InvalidParameterValue),
    ("sns", "Publish", "Message=m&MessageAttributes.entry.1.Name=k&MessageAttributes.entry.1.Value.BinaryValue=*",
     InvalidParameterValue),
    ("iam", "CreateUser", "UserName=u&Tags.member.x.Key=a", MalformedQueryString),
    ("iam", "CreateUser", "UserName=%FF", MalformedQueryString),
    ("cloudwatch", "PutMetricAlarm", "AlarmName=a&ActionsEnabled=yes", InvalidParameterValue),
]


@pytest.mark.parametrize(("service", "operation", "body", "error"), BAD_VALUES)
def test_undecodable_values_raise_aws_errors(service: str, operation: str, body: str, error: type) -> None:
    op = service_model(service).operation_model(operation)
    with pytest.raises(error) as caught:
        CODEC.parse_request(_request(body), op, {})
    assert isinstance(caught.value, AwsError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020-01-02T03:04:05Z", dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
        ("2020-01-02T03:04:05.250Z", dt.datetime(2020, 1, 2, 3, 4, 5, 250000, tzinfo=dt.timezone.utc)),
        ("2020-01-02T05:04:05+02:00", dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
        ("2020-01-02", dt.datetime(2020, 1, 2, tzinfo=dt.timezone.utc)),
        ("1577934245", dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
        ("1577934245.5", dt.datetime(2020, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone.utc)),
    ],
)
def test_timestamp_formats(raw: str, expected: dt.datetime) -> None:
    assert parse_timestamp(raw) == expected


def test_timestamp_output_formats() -> None:
    moment = dt.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)
    assert format_timestamp(moment) == "2020-01-02T03:04:05.678Z"
    assert format_timestamp(moment.replace(microsecond=0)) == "2020-01-02T03:04:05Z"
    assert format_timestamp(dt.datetime(2020, 1, 2)) == "2020-01-02T00:00:00Z"
    assert format_timestamp(1577934245, "unixTimestamp") == "1577934245"
    assert format_timestamp(moment.replace(microsecond=0), "rfc822") == "Thu, 02 Jan 2020 03:04:05 GMT"


def test_control_characters_never_break_the_xml() -> None:
    op = service_model("sts").operation_model("GetCallerIdentity")
    response = CODEC.serialize_response(op, {"UserId": "a\x00b\x1fc\rd\ne\tf\ud800"}, "r")
    parsed = shapegen.botocore_parse("query", op, response)
    assert parsed["UserId"] == "abc\rd\ne\tf"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_escape_text_round_trips_through_an_xml_parser(text: str) -> None:
    legal = "".join(c for c in text if c in "\t\n\r" or ("\x20" <= c and c not in "\ufffe\uffff"))
    root = ET.fromstring(f"<a>{escape_text(text)}</a>".encode())
    assert (root.text or "") == legal


_FUZZ_KEYS = st.sampled_from(
    ["UserName", "Tags", "member", "entry", "1", "0", "x", "", "²", "Key", "Value", "MaxItems", "MetricData",
     "Timestamp", "Dimensions", "Values", "Counts", "StorageResolution", "MessageAttributes", "Name", "BinaryValue"]
)
_FUZZ_PAIR = st.tuples(st.lists(_FUZZ_KEYS, min_size=1, max_size=6).map(".".join), st.text(max_size=8))


@pytest.mark.parametrize(
    ("service", "operation"), [("iam", "CreateUser"), ("cloudwatch", "PutMetricData"), ("sns", "Publish")]
)
@given(pairs=st.lists(_FUZZ_PAIR, max_size=12))
def test_arbitrary_parameters_give_aws_errors_only(service: str, operation: str, pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import urlencode

    op = service_model(service).operation_model(operation)
    try:
        CODEC.parse_request(_request(urlencode(pairs)), op, {})
    except AwsError:
        pass


# --- traits none of the served query services use, on a synthetic model ---

_SYNTHETIC = {
    "metadata": {
        "protocol": "query",
        "apiVersion": "2020-01-01",
        "xmlNamespace": "https://example.com/doc/2020-01-01/",
        "serviceId": "Example",
        "endpointPrefix": "example",
    },
    "operations": {
        "Op": {
            "name": "Op",
            "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "Shapes"},
            "output": {"shape": "Shapes", "resultWrapper": "OpResult"},
        }
    },
    "shapes": {
        "Shapes": {
            "type": "structure",
            "members": {
                "Flat": {"shape": "FlatList"},
                "Named": {"shape": "NamedFlatList"},
                "Wrapped": {"shape": "WrappedList", "locationName": "Wrap"},
                "FlatMap": {"shape": "FlatMap"},
                "When": {"shape": "Epoch"},
                "Ratio": {"shape": "Double"},
            },
        },
        "FlatList": {"type": "list", "member": {"shape": "String"}, "flattened": True},
        "NamedFlatList": {"type": "list", "member": {"shape": "String", "locationName": "Item"}, "flattened": True},
        "WrappedList": {"type": "list", "member": {"shape": "String", "locationName": "Thing"}},
        "FlatMap": {
            "type": "map",
            "key": {"shape": "String", "locationName": "K"},
            "value": {"shape": "String", "locationName": "V"},
            "flattened": True,
        },
        "Epoch": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
        "Double": {"type": "double"},
        "String": {"type": "string"},
    },
}


def test_flattened_and_renamed_traits_round_trip() -> None:
    op = ServiceModel(_SYNTHETIC, "example").operation_model("Op")
    value = {
        "Flat": ["a", "b"],
        "Named": ["c"],
        "Wrapped": ["d", "e"],
        "FlatMap": {"k1": "v1", "k2": "v2"},
        "When": dt.datetime(2021, 5, 6, tzinfo=dt.timezone.utc),
        "Ratio": float("inf"),
    }
    request = shapegen.botocore_request("query", op, value)
    assert b"Item.1=c" in request.body and b"Wrap.Thing.2=e" in request.body
    assert CODEC.parse_request(request, op, {}) == value
    response = CODEC.serialize_response(op, value, "r")
    assert b"<Item>c</Item>" in response.body and b"<When>1620259200</When>" in response.body
    assert shapegen.normalize(shapegen.botocore_parse("query", op, response)) == value


class _Raw:
    """Just enough of urllib3's response for botocore's AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self._body


def test_boto3_client_end_to_end() -> None:
    """A real boto3 client: request parsed by the codec, answer and modeled error read back."""
    import boto3
    from botocore.awsrequest import AWSResponse

    model = service_model("iam")
    client = boto3.client(
        "iam", region_name="us-east-1", endpoint_url="http://localhost:1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        http = HttpRequest(method=request.method, path="/", body=body)
        action = dict(pair.split("=", 1) for pair in body.decode().split("&"))["Action"]
        op = model.operation_model(action)
        params = CODEC.parse_request(http, op, {})
        if params["UserName"] == "ghost":
            error = AwsError("The user with name ghost cannot be found.", code="NoSuchEntity", status=404)
            response = CODEC.serialize_error(error, model, op, "rid-2")
        else:
            user = {"Path": "/", "UserName": params["UserName"], "UserId": "AIDA1", "Arn": "arn:aws:iam::1:user/x",
                    "CreateDate": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}
            response = CODEC.serialize_response(op, {"User": user}, "rid-1")
        return AWSResponse(request.url, response.status, dict(response.headers), _Raw(response.body))

    client.meta.events.register("before-send.iam", answer)
    got = client.get_user(UserName="alice")
    assert got["User"]["UserName"] == "alice"
    assert got["User"]["CreateDate"] == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert got["ResponseMetadata"]["RequestId"] == "rid-1"
    with pytest.raises(client.exceptions.NoSuchEntityException) as caught:
        client.get_user(UserName="ghost")
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
