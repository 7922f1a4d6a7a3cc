"""The rest-json codec: GuardDuty and Macie round trips, plus a synthetic model
that exercises every REST binding (uri, querystring, header, headers,
statusCode, payload) against botocore's serializer and parser."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import orjson
import pytest
from botocore.model import ServiceModel
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.aws.errors import AwsError, SerializationError
from rampart.aws.models import service_model
from rampart.gateway.http import HttpRequest
from rampart.protocol.rest import InvalidBoundValue, join_header_list, split_header_list
from rampart.protocol.restjson import CODEC
from tests.protocol.shapegen import botocore_parse, botocore_request, normalize, random_value, uri_params_of
from tests.protocol.test_json_codec import (
    client_error,
    common_error_codes,
    error_mismatches,
    request_mismatches,
    response_mismatches,
)

SERVICES = ("guardduty", "macie2")
UTC = dt.timezone.utc


@pytest.mark.parametrize("service", SERVICES)
def test_requests_round_trip(service: str) -> None:
    assert request_mismatches(CODEC, service, "rest-json") == []


@pytest.mark.parametrize("service", SERVICES)
def test_responses_round_trip(service: str) -> None:
    assert response_mismatches(CODEC, service, "rest-json") == []


@pytest.mark.parametrize("service", SERVICES)
def test_modeled_errors_round_trip(service: str) -> None:
    assert error_mismatches(CODEC, service, "rest-json") == []


def test_common_errors() -> None:
    assert common_error_codes(CODEC, "guardduty", "rest-json") == {
        "AccessDenied": "AccessDeniedException",
        "ValidationError": "ValidationException",
        "SerializationError": "SerializationException",
    }


def test_error_wire_format() -> None:
    model = service_model("guardduty")
    response = CODEC.serialize_error(AwsError("nope", code="BadRequestException", status=400), model, None, "r")
    assert response.header("x-amzn-ErrorType") == "BadRequestException"
    assert orjson.loads(response.body) == {"message": "nope", "__type": "BadRequestException"}


def test_response_code_from_model() -> None:
    op = service_model("guardduty").operation_model("ArchiveFindings")
    assert CODEC.serialize_response(op, {}, "r").status == int(op.http.get("responseCode", 200))
    no_content = [
        o for o in map(service_model("macie2").operation_model, service_model("macie2").operation_names)
        if o.http.get("responseCode") == 204
    ]
    assert no_content and CODEC.serialize_response(no_content[0], {}, "r").status == 204


def test_uri_and_query_are_typed() -> None:
    op = service_model("guardduty").operation_model("ListDetectors")
    parsed = CODEC.parse_request(HttpRequest("GET", "/detector", query="maxResults=7&nextToken=a%20b"), op, {})
    assert parsed == {"MaxResults": 7, "NextToken": "a b"}
    with pytest.raises(SerializationError):
        CODEC.parse_request(HttpRequest("GET", "/detector", query="maxResults=seven"), op, {})


# --- a synthetic model with every binding -------------------------------------

_SHAPES: dict[str, Any] = {
    "S": {"type": "string"},
    "I": {"type": "integer"},
    "B": {"type": "boolean"},
    "D": {"type": "double"},
    "T": {"type": "timestamp"},
    "Blob": {"type": "blob"},
    "SList": {"type": "list", "member": {"shape": "S"}},
    "TList": {"type": "list", "member": {"shape": "T"}},
    "IList": {"type": "list", "member": {"shape": "I"}},
    "SMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
    "SListMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "SList"}},
    "Json": {"type": "string", "jsonvalue": True},
    "Inner": {"type": "structure", "members": {"Name": {"shape": "S", "locationName": "name"}, "When": {"shape": "T"}}},
    "BindIn": {
        "type": "structure",
        "required": ["Id", "Flag"],
        "members": {
            "Id": {"shape": "I", "location": "uri", "locationName": "Id"},
            "Flag": {"shape": "B", "location": "uri", "locationName": "Flag"},
            "Names": {"shape": "SList", "location": "querystring", "locationName": "name"},
            "Since": {"shape": "T", "location": "querystring", "locationName": "since"},
            "Ratio": {"shape": "D", "location": "querystring", "locationName": "ratio"},
            "Extra": {"shape": "SMap", "location": "querystring"},
            "Modified": {"shape": "T", "location": "header", "locationName": "X-Modified"},
            "Epoch": {"shape": "T", "location": "header", "locationName": "X-Epoch", "timestampFormat": "unixTimestamp"},
            "Doc": {"shape": "Json", "location": "header", "locationName": "X-Doc"},
            "Tags": {"shape": "SList", "location": "header", "locationName": "X-Tags"},
            "Count": {"shape": "I", "location": "header", "locationName": "X-Count"},
            "Dates": {"shape": "TList", "location": "header", "locationName": "X-Dates"},
            "Body": {"shape": "Inner", "locationName": "body"},
            "Data": {"shape": "Blob"},
        },
    },
    "MultiIn": {
        "type": "structure",
        "members": {
            "Pairs": {"shape": "SListMap", "location": "querystring"},
            "Ids": {"shape": "IList", "location": "querystring", "locationName": "id"},
        },
    },
    "BlobIn": {
        "type": "structure",
        "members": {"Content": {"shape": "Blob"}, "Kind": {"shape": "S", "location": "header", "locationName": "X-Kind"}},
        "payload": "Content",
    },
    "StructIn": {"type": "structure", "members": {"Inner": {"shape": "Inner"}}, "payload": "Inner"},
    "BindOut": {
        "type": "structure",
        "members": {
            "Status": {"shape": "I", "location": "statusCode"},
            "Modified": {"shape": "T", "location": "header", "locationName": "X-Modified"},
            "Doc": {"shape": "Json", "location": "header", "locationName": "X-Doc"},
            "Tags": {"shape": "SList", "location": "header", "locationName": "X-Tags"},
            "Count": {"shape": "I", "location": "header", "locationName": "X-Count"},
            "Body": {"shape": "Inner", "locationName": "body"},
            "Stamp": {"shape": "T", "timestampFormat": "iso8601"},
        },
    },
    "StructOut": {"type": "structure", "members": {"Inner": {"shape": "Inner"}}, "payload": "Inner"},
    "Oops": {
        "type": "structure",
        "members": {
            "Message": {"shape": "S", "locationName": "message"},
            "RetryAfter": {"shape": "I", "location": "header", "locationName": "Retry-After"},
            "Reason": {"shape": "S"},
        },
        "error": {"httpStatusCode": 429},
        "exception": True,
    },
}

_MODEL = {
    "metadata": {
        "apiVersion": "2024-01-01",
        "endpointPrefix": "synthetic",
        "protocol": "rest-json",
        "serviceId": "Synthetic",
        "signatureVersion": "v4",
    },
    "operations": {
        "Bind": {
            "name": "Bind",
            "http": {"method": "POST", "requestUri": "/things/{Id}/{Flag}", "responseCode": 201},
            "input": {"shape": "BindIn"},
            "output": {"shape": "BindOut"},
            "errors": [{"shape": "Oops"}],
        },
        "Multi": {"name": "Multi", "http": {"method": "GET", "requestUri": "/multi?list"}, "input": {"shape": "MultiIn"}},
        "PutBlob": {"name": "PutBlob", "http": {"method": "PUT", "requestUri": "/blob"}, "input": {"shape": "BlobIn"}},
        "PutStruct": {
            "name": "PutStruct",
            "http": {"method": "PUT", "requestUri": "/struct"},
            "input": {"shape": "StructIn"},
            "output": {"shape": "StructOut"},
        },
    },
    "shapes": _SHAPES,
}

SYNTHETIC = ServiceModel(_MODEL, "synthetic")
WHEN = dt.datetime(2024, 2, 29, 12, 30, 5, tzinfo=UTC)


def _round_trip(op_name: str, params: dict[str, Any]) -> dict[str, Any]:
    op = SYNTHETIC.operation_model(op_name)
    request = botocore_request("rest-json", op, params)
    return CODEC.parse_request(request, op, uri_params_of(op, params))


def test_every_request_binding() -> None:
    params = {
        "Id": 42,
        "Flag": True,
        "Names": ["a b", "c&d", "é"],
        "Since": WHEN,
        "Ratio": 0.25,
        "Extra": {"color": "red", "size": "xl"},
        "Modified": WHEN,
        "Epoch": WHEN,
        "Doc": {"policy": [1, "two", None]},
        "Tags": ["plain", "with,comma", 'with "quote"'],
        "Count": -3,
        "Dates": [WHEN, WHEN + dt.timedelta(days=1)],
        "Body": {"Name": "n", "When": WHEN},
        "Data": b"\x00\xff",
    }
    uri_params = {"Id": "42", "Flag": "true"}
    op = SYNTHETIC.operation_model("Bind")
    parsed = CODEC.parse_request(botocore_request("rest-json", op, params), op, uri_params)
    assert parsed == params


def test_query_map_of_lists_and_static_query_keys() -> None:
    params = {"Pairs": {"a": ["1", "2"], "b": ["3"]}, "Ids": [1, 2, 3]}
    assert _round_trip("Multi", params) == params


def test_blob_and_structure_payloads() -> None:
    assert _round_trip("PutBlob", {"Content": b"\x01raw\xff", "Kind": "k"}) == {"Content": b"\x01raw\xff", "Kind": "k"}
    assert _round_trip("PutBlob", {}) == {}
    assert _round_trip("PutStruct", {"Inner": {"Name": "x", "When": WHEN}}) == {"Inner": {"Name": "x", "When": WHEN}}
    # botocore sends "{}" for an absent structure payload: an empty structure.
    assert _round_trip("PutStruct", {}) in ({}, {"Inner": {}})


@pytest.mark.parametrize("seed", range(20))
def test_synthetic_random_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    for name in ("Bind", "Multi", "PutStruct"):
        op = SYNTHETIC.operation_model(name)
        params = random_value(rng, op.input_shape)
        assert normalize(_round_trip(name, params)) == normalize(params)


def test_every_response_binding() -> None:
    op = SYNTHETIC.operation_model("Bind")
    output = {
        "Modified": WHEN,
        "Doc": {"a": [1, 2]},
        "Tags": ["x", "y"],
        "Count": 9,
        "Body": {"Name": "n", "When": WHEN},
        "Stamp": WHEN,
        "NotInShape": "ignored",
    }
    response = CODEC.serialize_response(op, output, "r")
    assert response.status == 201
    assert orjson.loads(response.body)["Stamp"] == "2024-02-29T12:30:05Z"
    parsed = botocore_parse("rest-json", op, response)
    output.pop("NotInShape")
    assert normalize(parsed) == {**output, "Status": 201}
    assert CODEC.serialize_response(op, {"Status": 202}, "r").status == 202


def test_structure_payload_response() -> None:
    op = SYNTHETIC.operation_model("PutStruct")
    response = CODEC.serialize_response(op, {"Inner": {"Name": "x", "When": WHEN}}, "r")
    assert orjson.loads(response.body) == {"name": "x", "When": int(WHEN.timestamp())}
    assert normalize(botocore_parse("rest-json", op, response)) == {"Inner": {"Name": "x", "When": WHEN}}


def test_error_with_header_fields() -> None:
    op = SYNTHETIC.operation_model("Bind")
    error = AwsError("slow down", code="Oops", status=429, fields={"RetryAfter": 30, "Reason": "busy"})
    response = CODEC.serialize_error(error, SYNTHETIC, op, "r")
    assert response.header("Retry-After") == "30"
    parsed = client_error("rest-json", op, response)
    assert parsed["Error"] == {"Code": "Oops", "Message": "slow down"}
    assert parsed["RetryAfter"] == 30 and parsed["Reason"] == "busy" and parsed["Message"] == "slow down"


@pytest.mark.parametrize(
    "uri, query, headers, body",
    [
        ({"Id": "x", "Flag": "true"}, "", {}, b""),
        ({"Id": "1", "Flag": "maybe"}, "", {}, b""),
        ({"Id": "1", "Flag": "true"}, "since=never", {}, b""),
        ({"Id": "1", "Flag": "true"}, "ratio=abc", {}, b""),
        ({"Id": "1", "Flag": "true"}, "", {"x-modified": "someday"}, b""),
        ({"Id": "1", "Flag": "true"}, "", {"x-doc": "!!notbase64"}, b""),
        ({"Id": "1", "Flag": "true"}, "", {"x-doc": "bm90IGpzb24="}, b""),
        ({"Id": "1", "Flag": "true"}, "", {"x-count": "1.5"}, b""),
        ({"Id": "1", "Flag": "true"}, "", {"x-tags": 'a,"unterminated'}, b""),
        ({"Id": "1", "Flag": "true"}, "", {}, b"{"),
        ({"Id": "1", "Flag": "true"}, "", {}, b'{"body": "flat"}'),
        ({"Id": "1", "Flag": "true"}, "", {}, b'{"Data": 12}'),
    ],
)
def test_bad_bound_values(uri: dict[str, str], query: str, headers: dict[str, str], body: bytes) -> None:
    op = SYNTHETIC.operation_model("Bind")
    with pytest.raises(SerializationError):
        CODEC.parse_request(HttpRequest("POST", "/things", query=query, headers=headers, body=body), op, uri)


@pytest.mark.parametrize(
    "text, items",
    [
        ("a,b", ["a", "b"]),
        (" a , b ", ["a", "b"]),
        ('"x,y", z', ["x,y", "z"]),
        ('"say \\"hi\\""', ['say "hi"']),
        ("", [""]),
    ],
)
def test_split_header_list(text: str, items: list[str]) -> None:
    assert split_header_list(text) == items


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=48), st.text(max_size=20), st.text(max_size=20))
def test_fuzzed_requests_never_crash(body: bytes, query: str, header: str) -> None:
    op = SYNTHETIC.operation_model("Bind")
    request = HttpRequest("POST", "/", query=query, headers={"x-tags": header, "x-modified": header}, body=body)
    try:
        CODEC.parse_request(request, op, {"Id": "1", "Flag": header})
    except AwsError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",))).map(str.strip), min_size=1, max_size=5))
def test_header_lists_round_trip(items: list[str]) -> None:
    assert split_header_list(join_header_list(items)) == items


@pytest.mark.parametrize(
    "uri, query, headers, wire, text",
    [
        ({"Id": "x", "Flag": "true"}, "", {}, "Id", "x"),
        ({"Id": "1", "Flag": "true"}, "since=never&since=later", {}, "since", "never,later"),
        ({"Id": "1", "Flag": "true"}, "", {"x-count": "1.5"}, "x-count", "1.5"),
        ({"Id": "1", "Flag": "true"}, "", {"x-dates": "Mon, 06 May 2024 07:08:09 GMT,soon"}, "x-dates",
         "Mon, 06 May 2024 07:08:09 GMT,soon"),
    ],
)
def test_bad_bound_values_name_the_argument(
    uri: dict[str, str], query: str, headers: dict[str, str], wire: str, text: str
) -> None:
    """rest-xml answers S3's InvalidArgument from these; rest-json a SerializationException."""
    op = SYNTHETIC.operation_model("Bind")
    with pytest.raises(InvalidBoundValue) as caught:
        CODEC.parse_request(HttpRequest("POST", "/things", query=query, headers=headers), op, uri)
    assert (caught.value.name, caught.value.text) == (wire, text)
    assert caught.value.code_for("rest-json") == "SerializationException"
