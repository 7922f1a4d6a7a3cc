"""Requests as boto3 would send them, signed with SigV4, as HttpRequests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

from rampart.aws.models import service_model, wire_protocols
from rampart.gateway.http import HttpRequest

ENDPOINT = "http://localhost:4566"


def signed_request(
    service: str,
    operation: str,
    params: dict[str, Any],
    key_id: str,
    secret: str,
    *,
    region: str = "us-east-1",
    protocol: str | None = None,
    token: str | None = None,
) -> HttpRequest:
    """Serialize with botocore's client serializer and sign like a boto3 client."""
    model = service_model(service)
    op = model.operation_model(operation)
    request_dict = create_serializer(protocol or wire_protocols(model)[0], include_validation=False).serialize_to_request(
        params, op
    )
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    aws_request = AWSRequest(
        method=request_dict["method"], url=request_dict["url"], data=request_dict["body"], headers=request_dict["headers"]
    )
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(key_id, secret, token), model.signing_name, region).add_auth(aws_request)
    prepared = aws_request.prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()}
    headers.setdefault("host", parts.netloc)
    return HttpRequest(method=prepared.method, path=parts.path or "/", query=parts.query, headers=headers, body=body)
