"""The botocore service models Rampart serves.

This module (and the rest of ``rampart.aws``) is the only importer of
``botocore.model``: everything else asks here for a service or operation.
"""

from __future__ import annotations

from functools import cache, lru_cache

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

__all__ = [
    "SUPPORTED_SERVICES",
    "OperationModel",
    "ServiceModel",
    "Shape",
    "StructureShape",
    "operation_model",
    "service_model",
    "supported_models",
    "wire_protocols",
]

# botocore service names Rampart answers for.
SUPPORTED_SERVICES: tuple[str, ...] = (
    "iam",
    "sts",
    "kms",
    "s3",
    "s3control",
    "cloudtrail",
    "logs",
    "cloudwatch",
    "config",
    "guardduty",
    "macie2",
    "inspector",
    "support",
    "route53",
    "budgets",
    "ce",
    "sns",
    "organizations",
    "ec2",
)

# Wire protocols a codec exists for, in the order a client would prefer them.
KNOWN_PROTOCOLS: tuple[str, ...] = (
    "smithy-rpc-v2-cbor",
    "json",
    "rest-json",
    "rest-xml",
    "query",
    "ec2",
)


@lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    """The model of one botocore service (loaded once per process)."""
    return _session().get_service_model(name)


def operation_model(service: str, operation: str) -> OperationModel:
    """An operation of a service; raises botocore's OperationNotFoundError."""
    return service_model(service).operation_model(operation)


def supported_models() -> list[ServiceModel]:
    """Models of every service Rampart serves."""
    return [service_model(name) for name in SUPPORTED_SERVICES]


def wire_protocols(model: ServiceModel) -> tuple[str, ...]:
    """Every protocol a service accepts: the model's ``protocols`` list or its single ``protocol``."""
    listed = model.metadata.get("protocols")
    if listed:
        return tuple(listed)
    return (model.metadata["protocol"],)


# Services whose IAM action prefix is not their signing name.
_ACTION_PREFIX_EXCEPTIONS = {"cloudwatch": "cloudwatch"}


@cache
def action_prefix(service: str) -> str:
    """The IAM action prefix of a service (``monitoring`` signs, ``cloudwatch:*`` acts)."""
    return _ACTION_PREFIX_EXCEPTIONS.get(service) or service_model(service).signing_name
