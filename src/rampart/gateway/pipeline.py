"""The request pipeline: one readable function from HttpRequest to HttpResponse.

route -> authenticate -> parse -> validate -> authorize -> dispatch ->
serialize -> record. Every request, whatever fails, produces a call record
(the ``finally`` below) and an answer in its service's protocol.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from rampart.auth.sigv4 import Authenticated, authenticate, verify_before_body
from rampart.aws.errors import (
    AwsError,
    ExpiredToken,
    InternalFailure,
    NotImplementedOperation,
)
from rampart.aws.models import OperationModel, service_model
from rampart.events.records import CallRecord, json_safe, redact
from rampart.gateway import registry
from rampart.gateway.authorize import authorize
from rampart.gateway.call import Call, Caller
from rampart.gateway.context import Gateway
from rampart.gateway.http import HttpRequest, HttpResponse, SpooledBody
from rampart.protocol.codecs import codec_for, fallback_protocol
from rampart.protocol.routing import Route, route
from rampart.protocol.validate import validate

log = logging.getLogger("rampart.gateway")

# Services whose clients may send unsigned requests (public objects, presigned
# by policy); the others answer MissingAuthenticationToken.
_ANONYMOUS_SERVICES = frozenset({"s3"})
# STS operations AWS accepts without a signature: the token is the credential.
_UNSIGNED_OPERATIONS = frozenset({("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")})


def handle(request: HttpRequest, gateway: Gateway, rejection: AwsError | None = None) -> HttpResponse:
    """Answer one request; never raises.

    ``rejection`` is an error the transport already decided on (a body over
    the limit): the request is still routed, so the error comes in the
    service's protocol, and recorded.
    """
    call = Call(gateway, gateway.clock.now())  # positional: keyword arguments make any class call slower
    call.region = gateway.settings.region
    call.caller.source_ip = request.client_ip
    call.caller.user_agent = request.headers.get("user-agent", "")
    call.caller.secure = request.scheme == "https"
    found: Route | None = None
    params: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    error: AwsError | None = None
    response: HttpResponse | None = None
    try:
        if rejection is not None:
            found = _route_if_possible(call, request)
            raise rejection
        request = _small_body_in_memory(request)
        found = _route(call, request)
        request = _authenticate(call, request, found)
        request = _body_for_operation(call, request, found)
        params = _parse(request, found)
        validate(found.operation.input_shape, params)
        call.params = params
        authorize(call, params)
        output = dispatch(call, params)
        response = codec_for(found.protocol).serialize_response(found.operation, output, call.request_id)
    except AwsError as caught:
        error = caught
    except Exception:  # the one place a bug becomes a 500 without a stack trace
        log.exception("internal failure in %s:%s (request %s)", call.service, call.operation, call.request_id)
        error = InternalFailure("We encountered an internal error. Please try again.")
    finally:
        if error is not None:
            response = _error_response(call, request, found, error)
        assert response is not None
        gateway.bus.publish(record_of(call, found.operation if found else None, params, output, error, response.status))
    return response


def body_limit(request: HttpRequest, gateway: Gateway, upload_limit: int) -> tuple[int, AwsError | None]:
    """Before a body larger than the configured limit is read: the limit this request earns, or its refusal.

    Only a streaming upload (PutObject, UploadPart) whose signature the
    headers already prove (``verify_before_body``) may send up to
    ``upload_limit``; anonymous uploads, requests whose signature covers
    the body's own hash and every other operation keep
    ``settings.max_body_bytes``. A bad signature is refused here, so an
    unauthenticated client cannot make the server spool gigabytes to disk.
    """
    normal = gateway.settings.max_body_bytes
    call = Call(gateway, gateway.clock.now())
    try:
        found = _route(call, request)
    except AwsError:
        return normal, None  # the pipeline answers the routing error after the (bounded) body
    if not found.operation.has_streaming_input:
        return normal, None
    service = call.service or ""
    try:
        verified = verify_before_body(
            request,
            gateway.lookup_key,
            now=dt.datetime.now(dt.UTC),
            s3_style=service == "s3",
            allow_anonymous=service in _ANONYMOUS_SERVICES or (service, call.operation) in _UNSIGNED_OPERATIONS,
        )
    except AwsError as refused:
        return normal, refused
    return (upload_limit if verified else normal), None


def _route(call: Call, request: HttpRequest) -> Route:
    found = route(request)
    call.service = found.service.service_name
    call.operation = found.operation.name
    call.protocol = found.protocol
    return found


def _small_body_in_memory(request: HttpRequest) -> HttpRequest:
    """Only PUT bodies (object uploads) stay spooled through routing; the rest are read back.

    The transport spools every large body before it knows the operation, and
    the app's limit for non-PUT bodies is the configured one, so these fit.
    """
    if isinstance(request.body, SpooledBody) and request.method != "PUT":
        return replace(request, body=request.body.read_all())
    return request


def _body_for_operation(call: Call, request: HttpRequest, found: Route) -> HttpRequest:
    """A spooled body reaches only streaming-input operations; others get bytes, within the limit."""
    body = request.body
    if not isinstance(body, SpooledBody) or found.operation.has_streaming_input:
        return request
    limit = call.gateway.settings.max_body_bytes
    if limit and body.size > limit:
        from rampart.gateway.app import RequestTooLarge

        raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
    return replace(request, body=body.read_all())


def _route_if_possible(call: Call, request: HttpRequest) -> Route | None:
    """Routing for a request already rejected: only to answer in its protocol."""
    try:
        return _route(call, request)
    except AwsError:
        return None


def _authenticate(call: Call, request: HttpRequest, found: Route) -> HttpRequest:
    """Verify the signature and fill the caller; returns the request with its decoded body."""
    service = call.service or ""
    # Clients sign with real time, not the test clock; checked against the head's arrival.
    now = request.arrived_at or dt.datetime.now(dt.UTC)
    try:
        result = authenticate(
            request,
            call.gateway.lookup_key,
            now=now,
            s3_style=service == "s3",
            allow_anonymous=service in _ANONYMOUS_SERVICES or (service, call.operation) in _UNSIGNED_OPERATIONS,
        )
    except ExpiredToken as expired:
        _note_expired_caller(call, expired)
        raise
    if result.region:
        call.region = result.region
    if result.key is not None:
        call.caller.account_id = result.key.account_id
        call.caller.principal = result.key.principal
        call.caller.access_key_id = result.key.access_key_id
        call.caller.session_token = result.session_token
        _note_signature(call.caller, request, result, now)
        if call.gateway.accounts is not None:
            call.gateway.accounts.note_key_use(result.key.access_key_id, service, call.region, call.received_at)
    if result.body is not request.body:
        request = replace(request, body=result.body)
    if result.trailers:  # aws-chunked trailing checksums bind like the headers they stand for
        request = replace(request, headers={**request.headers, **dict(result.trailers)})
    return request


def _note_expired_caller(call: Call, expired: ExpiredToken) -> None:
    """Who sent a request refused only because its session expired: CloudTrail records it in their account.

    ExpiredToken comes after the signature and the token itself were
    verified, so the key's holder did sign it (``expired.key``).
    """
    key = expired.key
    if key is not None:
        call.caller.account_id = key.account_id
        call.caller.principal = key.principal
        call.caller.access_key_id = key.access_key_id


def _note_signature(caller: Caller, request: HttpRequest, result: Authenticated, now: dt.datetime) -> None:
    """How the request was signed, for the condition keys that ask (s3:authType, s3:signatureAge ...)."""
    caller.auth_type = "REST-QUERY-STRING" if result.presigned else "REST-HEADER"
    caller.signature_version = result.signature_version
    caller.content_sha256 = request.headers.get("x-amz-content-sha256")
    if result.presigned:
        signed_at = result.signed_at
        caller.signature_age_ms = 0 if signed_at is None else max(0, int((now - signed_at).total_seconds() * 1000))


def _parse(request: HttpRequest, found: Route) -> dict[str, Any]:
    return codec_for(found.protocol).parse_request(request, found.operation, found.uri_params)


def dispatch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Run the authorized call's handler (also for calls Rampart's services make, ``service_calls``)."""
    if not call.authorized:
        raise RuntimeError(f"{call.service}:{call.operation} reached dispatch without authorization")
    function = registry.lookup(call.service or "", call.operation or "")
    if function is None:
        raise NotImplementedOperation(
            f"The operation {call.operation} of service {call.service} is not implemented by Rampart."
        )
    return function(call, params) or {}


def _error_response(call: Call, request: HttpRequest, found: Route | None, error: AwsError) -> HttpResponse:
    protocol = found.protocol if found else fallback_protocol(request)
    service = found.service if found else service_model("s3" if protocol == "rest-xml" else "sts")
    operation = found.operation if found else None
    response = codec_for(protocol).serialize_error(error, service, operation, call.request_id)
    if request.method == "HEAD":
        response.body = b""
    return response


def record_of(
    call: Call,
    operation: OperationModel | None,
    params: dict[str, Any] | None,
    output: dict[str, Any] | None,
    error: AwsError | None,
    status: int,
) -> CallRecord:
    """The call record of an answered call (also of calls Rampart's services make, ``service_calls``)."""
    caller = call.caller
    principal = caller.principal
    return CallRecord(  # positional, in field order (keyword arguments cost 3x here)
        call.request_id,
        call.received_at,
        call.service,
        call.operation,
        call.region,
        caller.source_ip,
        caller.user_agent,
        caller.account_id,
        getattr(principal, "arn", None),
        getattr(principal, "kind", None),
        getattr(principal, "user_id", None),
        caller.access_key_id,
        status,
        _recordable(operation, params if call.params is not None else json_safe(params), output=False),
        _recordable(operation, output, output=True),
        error.code_for(call.protocol or "query") if error else None,
        error.message if error else None,
        principal,
        caller.auth_type,
        caller.signature_version,
        caller.tls_version,
        call.resource_account,
    )


def _recordable(operation: OperationModel | None, values: dict[str, Any] | None, *, output: bool) -> Any:
    """Redacted parameters, without streamed payloads (object bodies are data, not metadata)."""
    if operation is None or values is None:
        return None
    if not values:
        return values  # nothing to redact or drop
    shape = operation.output_shape if output else operation.input_shape
    streaming = operation.has_streaming_output if output else operation.has_streaming_input
    if streaming and shape is not None:
        payload = shape.serialization.get("payload")
        values = {k: v for k, v in values.items() if k != payload}
    return redact(shape, values)
