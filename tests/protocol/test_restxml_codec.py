"""The rest-xml codec against botocore's own client serializer and parser.

For every operation of S3 and Route 53: random inputs serialized by botocore
must parse back equal; random outputs serialized by the codec must parse back
equal through botocore's client parser (plus the S3 customizations botocore
applies by event handler); every modeled error must reach the client with its
code, message, status and fields.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import pytest
from botocore.handlers import parse_get_bucket_location
from botocore.parsers import create_parser
from botocore.response import StreamingBody

from rampart.aws.errors import AccessDenied, AwsError, InternalFailure, SerializationError
from rampart.aws.models import OperationModel, ServiceModel, operation_model, service_model
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol import rest as binding
from rampart.protocol.restxml import CODEC, RestXmlCodec
from tests.protocol import shapegen

SERVICES = ("s3", "route53")
SEEDS = range(4)
OPERATIONS = [(svc, name) for svc in SERVICES for name in service_model(svc).operation_names]
_HOST_SAFE = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _op(service: str, name: str) -> OperationModel:
    return operation_model(service, name)


def _rng(*parts: object) -> random.Random:
    return random.Random(".".join(map(str, parts)))


def _aliases(shape: Any) -> set[str]:
    """Scalar members whose element name a flattened list member also uses.

    S3's deprecated notification shapes carry ``Event`` and ``Events`` on the
    same ``<Event>`` element: no XML reader can tell them apart, so tests keep
    only the list.
    """
    lists = {
        m.member.serialization.get("name") or m.serialization.get("name", n)
        for n, m in shape.members.items()
        if m.type_name == "list" and m.serialization.get("flattened")
    }
    return {
        n
        for n, m in shape.members.items()
        if m.type_name != "list" and not m.serialization.get("location") and m.serialization.get("name", n) in lists
    }


def strip_aliases(shape: Any, value: Any) -> Any:
    """Drop ambiguous alias members (see ``_aliases``) throughout a value."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        drop = _aliases(shape)
        return {
            k: strip_aliases(shape.members[k], v) for k, v in value.items() if k not in drop and k in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [strip_aliases(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: strip_aliases(shape.value, v) for k, v in value.items()}
    return value


# --- requests -------------------------------------------------------------------


def _client_ready(op: OperationModel, params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Adjust random inputs to what a real client can send distinctly."""
    for name, member in op.input_shape.members.items():
        if name not in params:
            continue
        if member.serialization.get("hostLabel"):  # botocore validates host labels
            params[name] = "".join(rng.choice(_HOST_SAFE) for _ in range(8))
    return params


def _expected_input(op: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """What the server can know: header names are case-insensitive, empty payloads absent."""
    expected = dict(params)
    payload = op.input_shape.serialization.get("payload")
    for name, member in op.input_shape.members.items():
        if name not in expected:
            continue
        if member.serialization.get("location") == "headers":
            expected[name] = {k.lower(): v for k, v in expected[name].items()}
        if name == payload and member.type_name in ("blob", "string") and not expected[name]:
            del expected[name]
    return expected


def _drop_client_added(op: OperationModel, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    """Content-Length is added by the HTTP layer even when the caller gave none."""
    for name, member in op.input_shape.members.items():
        wire = member.serialization.get("name", "").lower()
        if member.serialization.get("location") == "header" and wire == "content-length" and name not in params:
            parsed.pop(name, None)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_requests_parse_back_equal(service: str, name: str) -> None:
    op = _op(service, name)
    for seed in SEEDS:
        rng = _rng(service, name, "in", seed)
        params = shapegen.random_value(rng, op.input_shape) if op.input_shape else {}
        if op.input_shape is not None:
            params = strip_aliases(op.input_shape, _client_ready(op, params, rng))
        request = shapegen.botocore_request("rest-xml", op, params)
        parsed = CODEC.parse_request(request, op, shapegen.uri_params_of(op, params))
        if op.input_shape is None:
            assert parsed == {}
            continue
        _drop_client_added(op, params, parsed)
        assert shapegen.normalize(parsed) == shapegen.normalize(_expected_input(op, params)), (seed, request)


# --- responses -------------------------------------------------------------------


class _FakeHttpResponse:
    """Just enough of botocore's AWSResponse for its after-call handlers."""

    def __init__(self, body: bytes) -> None:
        self.raw = object()
        self.content = body


def client_parse(op: OperationModel, response: HttpResponse) -> dict[str, Any]:
    """Parse as a boto3 client does: streaming bodies, and S3's after-call fix-ups."""
    body: Any = response.body
    if op.has_streaming_output:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    parsed = shapegen.botocore_parse("rest-xml", op, HttpResponse(response.status, response.headers, body))
    if op.has_streaming_output:
        payload = op.output_shape.serialization["payload"]
        parsed[payload] = parsed[payload].read()
    if op.service_model.service_name == "s3" and op.name == "GetBucketLocation":
        parse_get_bucket_location(parsed, _FakeHttpResponse(response.body))
    return parsed


def _server_ready(op: OperationModel, output: dict[str, Any]) -> dict[str, Any]:
    for name, member in op.output_shape.members.items():
        if member.serialization.get("location") == "statusCode":
            output[name] = 200
    return output


def _expected_output(op: OperationModel, output: dict[str, Any]) -> dict[str, Any]:
    """A client always sees a raw payload, empty when the server sent none."""
    expected = dict(output)
    if op.output_shape is None:
        return expected
    payload = op.output_shape.serialization.get("payload")
    if payload is not None:
        kind = op.output_shape.members[payload].type_name
        if kind in ("blob", "string") and expected.get(payload) is None:
            expected[payload] = b"" if op.has_streaming_output or kind == "blob" else ""
    return expected


# Event streams (S3 SelectObjectContent) are not serialized by this codec yet.
RESPONSE_OPERATIONS = [(s, n) for s, n in OPERATIONS if not _op(s, n).has_event_stream_output]


@pytest.mark.parametrize(("service", "name"), RESPONSE_OPERATIONS)
def test_codec_responses_parse_back_equal_in_botocore(service: str, name: str) -> None:
    op = _op(service, name)
    for seed in SEEDS:
        rng = _rng(service, name, "out", seed)
        output = shapegen.random_value(rng, op.output_shape) if op.output_shape else {}
        if op.output_shape is not None:
            output = strip_aliases(op.output_shape, _server_ready(op, output))
        response = CODEC.serialize_response(op, output, request_id=f"req-{seed}")
        assert response.status == op.http.get("responseCode", 200)
        parsed = client_parse(op, response)
        assert parsed["ResponseMetadata"]["RequestId"] == f"req-{seed}"
        parsed.pop("ResponseMetadata")
        assert shapegen.normalize(strip_aliases(op.output_shape, parsed)) == shapegen.normalize(
            _expected_output(op, output)
        ), (seed, response)


# --- errors -------------------------------------------------------------------------


def _error_cases() -> list[tuple[str, str, str]]:
    cases = []
    for service, name in OPERATIONS:
        for shape in _op(service, name).error_shapes:
            cases.append((service, name, shape.name))
    return cases


def _parse_error(op: OperationModel, response: HttpResponse, error_shape: Any = None) -> dict[str, Any]:
    """Generic error parse, then the modeled-field parse botocore's client adds."""
    parsed = shapegen.botocore_parse("rest-xml", op, response)
    if error_shape is not None:
        response_dict = {"status_code": response.status, "headers": dict(response.headers), "body": response.body}
        parsed.update(create_parser("rest-xml").parse(response_dict, error_shape))
    return parsed


@pytest.mark.parametrize(("service", "name", "error_name"), _error_cases())
def test_modeled_errors_reach_the_client(service: str, name: str, error_name: str) -> None:
    op = _op(service, name)
    shape = op.service_model.shape_for(error_name)
    status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    fields = shapegen.random_value(_rng(service, name, error_name), shape)
    fields.pop("message", None)
    fields.pop("Message", None)
    error = AwsError("it went <wrong> & badly", code=error_name, status=status, fields=fields)
    response = CODEC.serialize_error(error, op.service_model, op, "rid-1")
    assert response.status == status
    if op.http["method"] == "HEAD":
        assert response.body == b""
        parsed = _parse_error(op, response)
        assert parsed["Error"]["Code"] == str(status)
        return
    parsed = _parse_error(op, response, shape)
    assert parsed["Error"]["Code"] == error_name
    assert parsed["Error"]["Message"] == "it went <wrong> & badly"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    modeled = {k: v for k, v in parsed.items() if k not in ("Error", "ResponseMetadata")}
    if "Message" in shape.members:  # the <Message> element doubles as the modeled member
        fields["Message"] = error.message
    assert shapegen.normalize(modeled) == shapegen.normalize(fields)


@pytest.mark.parametrize(
    ("service", "error", "code", "status"),
    [
        ("s3", AccessDenied("Access Denied"), "AccessDenied", 403),
        ("s3", InternalFailure("boom"), "InternalFailure", 500),
        ("route53", AccessDenied("nope"), "AccessDenied", 403),
        ("route53", AwsError("no zone", code="NoSuchHostedZone", status=404), "NoSuchHostedZone", 404),
    ],
)
def test_common_errors(service: str, error: AwsError, code: str, status: int) -> None:
    model = service_model(service)
    op = model.operation_model(model.operation_names[0])
    response = CODEC.serialize_error(error, model, None, "rid-2")
    assert response.status == status
    parsed = _parse_error(op, response)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message


def test_error_forms_match_aws() -> None:
    s3 = CODEC.serialize_error(AwsError("m", code="NoSuchBucket", status=404, fields={"BucketName": "b"}),
                               service_model("s3"), None, "r")
    assert s3.body.endswith(
        b"<Error><Code>NoSuchBucket</Code><Message>m</Message><BucketName>b</BucketName>"
        b"<RequestId>r</RequestId><HostId>r</HostId></Error>"
    )
    r53 = CODEC.serialize_error(InternalFailure("x"), service_model("route53"), None, "r")
    assert r53.body.endswith(
        b'<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Receiver</Type>'
        b"<Code>InternalFailure</Code><Message>x</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )


# --- fidelity details ------------------------------------------------------------------


def test_s3_body_uses_the_s3_namespace_and_iso_timestamps() -> None:
    op = _op("s3", "ListBuckets")
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    response = CODEC.serialize_response(op, {"Buckets": [{"Name": "b", "CreationDate": when}]}, "r")
    assert b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' in response.body
    assert b"<CreationDate>2024-05-06T07:08:09.000Z</CreationDate>" in response.body
    assert response.header("content-type") == "application/xml"


def test_headers_use_rfc822_and_metadata_prefix() -> None:
    op = _op("s3", "HeadObject")
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    response = CODEC.serialize_response(op, {"LastModified": when, "Metadata": {"color": "red"}}, "r")
    assert response.header("Last-Modified") == "Mon, 06 May 2024 07:08:09 GMT"
    assert response.header("x-amz-meta-color") == "red"
    assert response.body == b""


def test_get_bucket_location_is_a_bare_root() -> None:
    response = CODEC.serialize_response(_op("s3", "GetBucketLocation"), {"LocationConstraint": "eu-west-1"}, "r")
    assert response.body.endswith(
        b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>'
    )


def test_status_comes_from_the_model() -> None:
    assert CODEC.serialize_response(_op("route53", "CreateHostedZone"), {}, "r").status == 201
    assert CODEC.serialize_response(_op("s3", "DeleteObject"), {}, "r").status == 204
    assert CODEC.serialize_response(_op("s3", "DeleteBucket"), {}, "r").status == 204


def test_streaming_body_is_passed_raw() -> None:
    op = _op("s3", "PutObject")
    request = HttpRequest("PUT", "/b/k", headers={"host": "localhost"}, body=b"\x00\xffdata")
    parsed = CODEC.parse_request(request, op, {"Bucket": "b", "Key+": "dir/k"})
    assert parsed == {"Bucket": "b", "Key": "dir/k", "Body": b"\x00\xffdata"}
    get = CODEC.serialize_response(_op("s3", "GetObject"), {"Body": b"\x00\x01", "ContentType": "x/y"}, "r")
    assert get.body == b"\x00\x01"
    assert get.header("Content-Type") == "x/y"


def test_route53_root_with_namespace_parses() -> None:
    op = _op("route53", "ChangeResourceRecordSets")
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
        b"<ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.example.</Name>"
        b"<Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>1.2.3.4</Value>"
        b"</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>"
        b"</ChangeResourceRecordSetsRequest>"
    )
    request = HttpRequest("POST", "/2013-04-01/hostedzone/Z1/rrset", headers={"host": "h"}, body=body)
    parsed = CODEC.parse_request(request, op, {"Id": "Z1"})
    change = parsed["ChangeBatch"]["Changes"][0]
    assert parsed["HostedZoneId"] == "Z1"
    assert change["ResourceRecordSet"]["TTL"] == 60
    assert change["ResourceRecordSet"]["ResourceRecords"] == [{"Value": "1.2.3.4"}]


_XXE = (
    b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<CreateBucketConfiguration><LocationConstraint>&x;</LocationConstraint></CreateBucketConfiguration>"
)
_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<CreateBucketConfiguration><LocationConstraint>&c;</LocationConstraint></CreateBucketConfiguration>"
)


@pytest.mark.parametrize(
    ("service", "op_name", "uri", "body", "query", "headers", "code"),
    [
        ("s3", "CreateBucket", {"Bucket": "b"}, b"<CreateBucketConfiguration><Loc", "", {}, "MalformedXML"),
        ("s3", "CreateBucket", {"Bucket": "b"}, b"<Wrong/>", "", {}, "MalformedXML"),
        ("s3", "CreateBucket", {"Bucket": "b"}, _XXE, "", {}, "MalformedXML"),
        ("s3", "CreateBucket", {"Bucket": "b"}, _LAUGHS, "", {}, "MalformedXML"),
        ("s3", "CreateBucket", {"Bucket": "b"}, b"\xff\xfe<", "", {}, "MalformedXML"),
        (
            "s3",
            "PutBucketVersioning",
            {"Bucket": "b"},
            b"<VersioningConfiguration><MfaDelete>Enabled</MfaDelete><Status>x</Status>"
            b"<Bogus><X/></Bogus></VersioningConfiguration>",
            "versioning",
            {},
            None,
        ),
        (
            "s3",
            "PutPublicAccessBlock",
            {"Bucket": "b"},
            b"<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls>"
            b"</PublicAccessBlockConfiguration>",
            "publicAccessBlock",
            {},
            "MalformedXML",
        ),
        ("s3", "ListObjects", {"Bucket": "b"}, b"", "max-keys=ten", {}, "InvalidArgument"),
        ("s3", "GetObject", {"Bucket": "b", "Key+": "k"}, b"", "", {"if-modified-since": "soon"}, "InvalidArgument"),
        ("s3", "PutBucketPolicy", {"Bucket": "b"}, b"\xff\xfe", "policy", {}, "MalformedXML"),
        ("route53", "GetTrafficPolicy", {"Id": "i", "Version": "x"}, b"", "", {}, "InvalidInput"),
        ("route53", "CreateHostedZone", {}, b"<CreateHostedZoneRequest>", "", {}, "InvalidInput"),
    ],
)
def test_bad_input_is_an_aws_error(
    service: str, op_name: str, uri: dict[str, str], body: bytes, query: str, headers: dict[str, str], code: str | None
) -> None:
    op = _op(service, op_name)
    request = HttpRequest("PUT", "/", query=query, headers={"host": "h", **headers}, body=body)
    if code is None:
        CODEC.parse_request(request, op, uri)
        return
    with pytest.raises(SerializationError) as caught:
        CODEC.parse_request(request, op, uri)
    assert caught.value.code_for("rest-xml") == code
    assert caught.value.status == 400
    response = CODEC.serialize_error(caught.value, op.service_model, op, "r")
    assert _parse_error(op, response)["Error"]["Code"] == code


def test_header_lists_honour_quotes() -> None:
    assert binding.split_header_list('a, "b,c" ,"d\\"e"') == ["a", "b,c", 'd"e']
    assert binding.join_header_list(["a", "b,c", 'd"e']) == 'a,"b,c","d\\"e"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 06 May 2024 07:08:09 GMT", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),
        ("2024-05-06T07:08:09.5Z", dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=dt.timezone.utc)),
        ("2024-05-06T09:08:09+02:00", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),
        ("1714979289", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),
    ],
)
def test_timestamps_in_every_format(text: str, expected: dt.datetime) -> None:
    assert binding.parse_timestamp(text) == expected


def test_codec_is_the_protocol_contract() -> None:
    assert isinstance(CODEC, RestXmlCodec)
    assert CODEC.protocol == "rest-xml"


# --- traits S3 and Route 53 do not use, on a small synthetic model -----------------

_SYNTHETIC = {
    "version": "2.0",
    "metadata": {
        "protocol": "rest-xml",
        "apiVersion": "2020-01-01",
        "serviceId": "Synthetic",
        "endpointPrefix": "synthetic",
        "signatureVersion": "v4",
    },
    "operations": {
        "Put": {
            "name": "Put",
            "http": {"method": "POST", "requestUri": "/things/{Id}?fixed", "responseCode": 201},
            "input": {"shape": "PutInput", "locationName": "PutRequest", "xmlNamespace": {"uri": "urn:synthetic"}},
            "output": {"shape": "PutOutput"},
        }
    },
    "shapes": {
        "PutInput": {
            "type": "structure",
            "required": ["Id"],
            "members": {
                "Id": {"shape": "Int", "location": "uri", "locationName": "Id"},
                "Extra": {"shape": "QueryMap", "location": "querystring"},
                "Doc": {"shape": "JsonStr", "location": "header", "locationName": "x-doc"},
                "When": {"shape": "Ts", "location": "header", "locationName": "x-when", "timestampFormat": "unixTimestamp"},
                "Nums": {"shape": "IntList", "location": "header", "locationName": "x-nums"},
                "Tags": {"shape": "TagMap"},
                "Flat": {"shape": "TagMap", "flattened": True, "locationName": "Pair"},
                "Ratio": {"shape": "Dbl"},
                "Raw": {"shape": "Blob"},
                "At": {"shape": "Ts", "timestampFormat": "rfc822"},
            },
        },
        "PutOutput": {
            "type": "structure",
            "members": {
                "Code": {"shape": "Int", "location": "statusCode"},
                "Doc": {"shape": "JsonStr", "location": "header", "locationName": "x-doc"},
                "Nums": {"shape": "IntList", "location": "header", "locationName": "x-nums"},
                "Tags": {"shape": "TagMap"},
                "Flat": {"shape": "TagMap", "flattened": True, "locationName": "Pair"},
                "Ratio": {"shape": "Dbl"},
                "Raw": {"shape": "Blob"},
                "Items": {"shape": "ItemList"},
            },
        },
        "QueryMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "StrList"}},
        "TagMap": {"type": "map", "key": {"shape": "Str", "locationName": "K"}, "value": {"shape": "Str", "locationName": "V"}},
        "StrList": {"type": "list", "member": {"shape": "Str"}},
        "IntList": {"type": "list", "member": {"shape": "Int"}},
        "ItemList": {"type": "list", "member": {"shape": "Item", "locationName": "Item"}},
        "Item": {"type": "structure", "members": {"When": {"shape": "Ts"}, "Ok": {"shape": "Bool"}}},
        "JsonStr": {"type": "string", "jsonvalue": True},
        "Str": {"type": "string"},
        "Int": {"type": "integer", "min": 1, "max": 1000},
        "Dbl": {"type": "double"},
        "Bool": {"type": "boolean"},
        "Blob": {"type": "blob"},
        "Ts": {"type": "timestamp"},
    },
}


def _synthetic_op() -> OperationModel:
    return ServiceModel(_SYNTHETIC, service_name="synthetic").operation_model("Put")


@pytest.mark.parametrize("seed", range(8))
def test_synthetic_traits_round_trip(seed: int) -> None:
    op = _synthetic_op()
    rng = _rng("synthetic", seed)
    params = shapegen.random_value(rng, op.input_shape)
    request = shapegen.botocore_request("rest-xml", op, params)
    parsed = CODEC.parse_request(request, op, shapegen.uri_params_of(op, params))
    assert shapegen.normalize(parsed) == shapegen.normalize(params)
    output = shapegen.random_value(rng, op.output_shape)
    output["Code"] = 202 if seed % 2 else None
    response = CODEC.serialize_response(op, output, "r")
    assert response.status == (202 if seed % 2 else 201)
    parsed_out = client_parse(op, response)
    parsed_out.pop("ResponseMetadata")
    assert shapegen.normalize(parsed_out) == shapegen.normalize({**output, "Code": response.status})
