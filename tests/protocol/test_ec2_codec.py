"""Round trips of the ec2 codec against botocore's own serializer and parser.

A fixed sample of ~80 EC2 operations (plus the ones Rampart leans on):
random inputs serialized by botocore parse back equal, random outputs
written by the codec are read back equal by botocore, errors keep code,
message and status.
"""

from __future__ import annotations

import random

import pytest

from rampart.aws.errors import AccessDenied, AwsError, ValidationError
from rampart.aws.models import service_model
from rampart.gateway.http import HttpRequest
from rampart.protocol.ec2 import CODEC
from rampart.protocol.query import InvalidParameterValue
from tests.protocol import shapegen

SEEDS = (1, 2, 3)
_ALWAYS = (
    "DescribeInstances",
    "RunInstances",
    "DescribeSecurityGroups",
    "AuthorizeSecurityGroupIngress",
    "CreateTags",
    "DescribeRegions",
    "DescribeVpcs",
    "CreateFlowLogs",
    "DescribeImages",
    "ModifyInstanceAttribute",
)


def _sample() -> list[str]:
    names = sorted(service_model("ec2").operation_names)
    picked = set(random.Random(20240601).sample(names, 72)) | set(_ALWAYS)
    return sorted(picked)


@pytest.mark.parametrize("operation", _sample())
def test_request_round_trip(operation: str) -> None:
    op = service_model("ec2").operation_model(operation)
    for seed in SEEDS:
        params = shapegen.random_value(random.Random(f"{operation}-{seed}"), op.input_shape)
        request = shapegen.botocore_request("ec2", op, params)
        parsed = CODEC.parse_request(request, op, {})
        assert shapegen.query_wire_equivalent(parsed) == shapegen.query_wire_equivalent(params), seed


@pytest.mark.parametrize("operation", _sample())
def test_response_round_trip(operation: str) -> None:
    op = service_model("ec2").operation_model(operation)
    for seed in SEEDS:
        output = {} if op.output_shape is None else shapegen.random_value(random.Random(seed), op.output_shape)
        response = CODEC.serialize_response(op, output, "req-1")
        assert response.status == 200
        assert response.header("content-type") == "text/xml"
        parsed = shapegen.botocore_parse("ec2", op, response)
        assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
        assert shapegen.normalize(parsed) == shapegen.normalize(output), seed


def test_response_uses_ec2_names() -> None:
    op = service_model("ec2").operation_model("DescribeRegions")
    output = {"Regions": [{"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com"}]}
    body = CODEC.serialize_response(op, output, "abc").body.decode()
    assert '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in body
    assert "<requestId>abc</requestId><regionInfo><item><regionName>us-east-1</regionName>" in body


def test_request_uses_ec2_names() -> None:
    op = service_model("ec2").operation_model("DescribeInstances")
    body = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2" \
        "&Filter.1.Name=tag%3AEnv&Filter.1.Value.1=prod&DryRun=true&MaxResults=10"
    request = HttpRequest(method="POST", path="/", body=body.encode())
    assert CODEC.parse_request(request, op, {}) == {
        "InstanceIds": ["i-1", "i-2"],
        "Filters": [{"Name": "tag:Env", "Values": ["prod"]}],
        "DryRun": True,
        "MaxResults": 10,
    }


def test_bad_value_is_invalid_parameter_value() -> None:
    op = service_model("ec2").operation_model("DescribeInstances")
    request = HttpRequest(method="POST", path="/", body=b"MaxResults=ten")
    with pytest.raises(InvalidParameterValue):
        CODEC.parse_request(request, op, {})


ERRORS = [
    (AccessDenied("denied"), "UnauthorizedOperation", 403),
    (ValidationError("bad"), "InvalidParameterValue", 400),
    (AwsError("The instance ID 'i-1' does not exist", code="InvalidInstanceID.NotFound"),
     "InvalidInstanceID.NotFound", 400),
    (AwsError("oops <&>", code="InternalError", status=500), "InternalError", 500),
]


@pytest.mark.parametrize(("error", "code", "status"), ERRORS)
def test_error_round_trip(error: AwsError, code: str, status: int) -> None:
    model = service_model("ec2")
    op = model.operation_model("DescribeInstances")
    response = CODEC.serialize_error(error, model, op, "req-9")
    assert response.status == status
    assert b"<Response><Errors><Error>" in response.body
    parsed = shapegen.botocore_parse("ec2", op, response)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"
