"""Calls that Rampart's own services make on a customer's behalf, as AWS's service principals.

CloudTrail delivering a log file is ``cloudtrail.amazonaws.com`` calling
S3 PutObject (and KMS, through SSE-KMS): the bucket policy and the key policy
must allow that service principal, with aws:SourceArn / aws:SourceAccount
naming the trail, exactly as AWS requires. Such a call goes through the same
authorize and dispatch steps as a client's, and is recorded like one (an
``AWSService`` identity in CloudTrail), so nothing a service does on an
account's resources escapes their policies or the audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rampart.aws.errors import AwsError, InternalFailure
from rampart.aws.models import service_model, wire_protocols
from rampart.gateway.authorize import ItemAuthorizer, authorize
from rampart.gateway.call import Call
from rampart.gateway.context import Gateway
from rampart.gateway.pipeline import dispatch, record_of


@dataclass(frozen=True, slots=True)
class ServicePrincipalRef:
    """An AWS service principal as a call's ``Caller.principal``.

    ``source_arn`` / ``source_account`` are the resource on whose behalf the
    service acts (the trail) and its account: they become aws:SourceArn and
    aws:SourceAccount, the keys AWS documents against the confused deputy.
    """

    service: str
    source_arn: str | None = None
    source_account: str | None = None
    kind: str = "service"
    user_id: str | None = None
    name: str | None = None

    @property
    def arn(self) -> str:
        """Policies name a service principal by its service name."""
        return self.service


def _service_call(
    gateway: Gateway, principal: ServicePrincipalRef, service: str, operation: str, params: dict[str, Any],
    region: str, account_id: str | None,
) -> Call:
    call = Call(gateway, gateway.clock.now())
    call.service, call.operation, call.region = service, operation, region
    call.protocol = wire_protocols(service_model(service))[0]
    call.caller.principal = principal
    call.caller.account_id = account_id
    call.caller.source_ip = principal.service
    call.caller.user_agent = principal.service
    call.caller.secure = True
    call.params = params
    return call


def service_allowed(
    gateway: Gateway,
    principal: ServicePrincipalRef,
    service: str,
    operation: str,
    params: dict[str, Any],
    action: str,
    resource_arn: str,
    *,
    region: str,
    account_id: str | None = None,
) -> bool:
    """Would ``principal`` be allowed ``action`` on ``resource_arn`` in such a call? (no call is made)

    CreateTrail asks this of the bucket policy before it accepts a bucket, as AWS does.
    """
    call = _service_call(gateway, principal, service, operation, params, region, account_id)
    return ItemAuthorizer(call, params).allowed(action, resource_arn)


def invoke_as_service(
    gateway: Gateway,
    principal: ServicePrincipalRef,
    service: str,
    operation: str,
    params: dict[str, Any],
    *,
    region: str,
    account_id: str | None = None,
) -> dict[str, Any]:
    """Authorize and run one operation as ``principal``; raises the AwsError a client would get.

    ``account_id`` is the account the call acts for (the owner of objects it
    writes); the call is published on the event bus like any other.
    """
    call = _service_call(gateway, principal, service, operation, params, region, account_id)
    operation_model = service_model(service).operation_model(operation)
    output: dict[str, Any] | None = None
    error: AwsError | None = None
    try:
        authorize(call, params)
        output = dispatch(call, params)
        return output
    except AwsError as caught:
        error = caught
        raise
    except Exception:
        error = InternalFailure("We encountered an internal error. Please try again.")
        raise
    finally:
        gateway.bus.publish(record_of(call, operation_model, params, output, error, error.status if error else 200))
