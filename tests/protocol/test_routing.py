"""Routing: every operation botocore can send lands on exactly that operation."""

from __future__ import annotations

import random
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
    route,
)
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
        if member.metadata.get("hostLabel"):
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
        request, params = _request("s3", "rest-xml", op_name, seed=seed * 7919 + hash(op_name) % 1000)
        failure = _check("s3", "rest-xml", op_name, request, params)
        if failure:
            failures.append(failure)
    assert failures == []
