"""Shared checks for the hostile-input tests: every bad request gets an AWS 4xx error, never a 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ParamValidationError

from rampart.aws.models import service_model

# Error codes that are server failures whatever their status says.
SERVER_FAILURES = frozenset({"InternalFailure", "InternalError", "ServiceUnavailable", "KMSInternalException"})


def problem(call: Callable[[], Any]) -> tuple[str | None, str]:
    """Run a call that must fail with an AWS 4xx error: (what is wrong or None, the error code)."""
    try:
        out = call()
    except ClientError as caught:
        response = caught.response
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        code = response["Error"]["Code"]
        if not 400 <= status < 500 or code in SERVER_FAILURES:
            return f"HTTP {status} {code}: {response['Error'].get('Message')}", code
        return None, code
    except ParamValidationError as refused:  # not model-valid: the test itself is wrong
        return f"the client refused it: {str(refused)[:200]}", ""
    return f"succeeded: {str(out)[:200]}", ""


def assert_4xx(call: Callable[[], Any]) -> str:
    """Run a client call that must fail with an AWS 4xx error; returns the error code."""
    found, code = problem(call)
    assert found is None, found
    return code


def assert_all_4xx(calls: list[Callable[[], Any]], labels: list[Any] | None = None) -> None:
    """Every call fails with a 4xx AWS error; names all that do not (by label or position), not just the first."""
    names = labels if labels is not None else list(range(len(calls)))
    problems = [(name, found) for name, call in zip(names, calls, strict=True)
                if (found := problem(call)[0]) is not None]
    assert not problems, "\n".join(f"{str(name)[:60]!r}: {found[:200]}" for name, found in problems)


def never_5xx(call: Callable[[], Any], *, client_may_refuse: bool = False) -> None:
    """Success or an AWS 4xx error; a 5xx fails. ``client_may_refuse``: a generated value the client
    itself will not send is the generator's fault, not the server's (skipped)."""
    try:
        call()
    except ClientError as caught:
        status = caught.response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500 and caught.response["Error"]["Code"] not in SERVER_FAILURES, caught.response
    except ParamValidationError:
        if not client_may_refuse:
            raise


def raw_call(endpoint: str, service: str, body: bytes, headers: dict[str, str], key_id: str,
             secret: str) -> httpx.Response:
    """A SigV4-signed ``POST /`` with any body at all (what an SDK would refuse to send)."""
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key_id, secret), service_model(service).signing_name, "us-east-1").add_auth(request)
    prepared = request.prepare()
    return httpx.post(prepared.url, content=body, headers=dict(prepared.headers), timeout=30)


def raw_json_call(endpoint: str, service: str, operation: str, body: bytes, key_id: str, secret: str) -> httpx.Response:
    """A signed call of a JSON-protocol service with any body (boto3 refuses wrong types and nulls)."""
    metadata = service_model(service).metadata
    return raw_call(endpoint, service, body, {
        "Content-Type": f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}",
        "X-Amz-Target": f"{metadata['targetPrefix']}.{operation}"}, key_id, secret)
