"""Call records: what the gateway knows about each call, for CloudTrail and the watchers.

Members whose model shape carries the ``sensitive`` trait are replaced before a
record leaves the pipeline, so secrets never reach logs or trails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rampart.aws.models import Shape

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


@dataclass
class CallRecord:
    """One answered request, successful or not.

    Deliberately not ``slots``: orjson serializes a dataclass from its
    ``__dict__`` four times faster than through slot descriptors, and the
    journal serializes every record.
    """

    request_id: str
    event_time: dt.datetime
    service: str | None
    operation: str | None
    region: str
    source_ip: str
    user_agent: str
    account_id: str | None
    principal_arn: str | None
    principal_kind: str | None
    principal_id: str | None
    access_key_id: str | None
    http_status: int
    request_parameters: dict[str, Any] | None = None
    response_elements: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    principal: Any = None  # the caller's principal object (session, service principal ...): CloudTrail's userIdentity
    # How the request was signed (CloudTrail's additionalEventData / tlsDetails): REST-HEADER or
    # REST-QUERY-STRING, AWS4-HMAC-SHA256 or AWS (SigV2), TLSv1.2 / TLSv1.3 when known.
    auth_type: str | None = None
    signature_version: str | None = None
    tls_version: str | None = None
    # The account owning the first resource the authorizer looked up (S3 buckets ...): where an
    # anonymous caller's event is recorded, and the bucket's accountId in ``resources``.
    resource_account: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Shapes that carry a credential although the model does not mark them
# sensitive: a KMS grant token lets its holder use the grant at once.
SECRET_SHAPES = frozenset({"GrantTokenType"})


def _is_secret(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive")) or shape.name in SECRET_SHAPES


@cache
def _has_sensitive(shape: Shape) -> bool:
    """Whether a shape or anything inside it is sensitive (memoized per shape)."""
    return _scan(shape, set())


def _scan(shape: Shape, seen: set[str]) -> bool:
    if _is_secret(shape):
        return True
    if shape.name in seen:
        return False
    seen.add(shape.name)
    kind = shape.type_name
    if kind == "structure":
        return any(_scan(member, seen) for member in shape.members.values())
    if kind == "list":
        return _scan(shape.member, seen)
    if kind == "map":
        return _scan(shape.key, seen) or _scan(shape.value, seen)
    return False


def redact(shape: Shape | None, value: Any) -> Any:
    """A copy of ``value`` with every sensitive member replaced by HIDDEN."""
    if shape is None or value is None:
        return value
    if _is_secret(shape):
        return HIDDEN
    if not _has_sensitive(shape):
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: redact(members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [redact(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: redact(shape.value, v) for k, v in value.items()}
    return value


_INT64 = 2**63


def json_safe(value: Any) -> Any:
    """``value`` with integers outside the signed 64-bit range as strings (their decimal text).

    Parameters that failed validation are recorded as the client sent them,
    and JSON allows integers of any size: orjson (the journal, the event
    history, delivered log files) refuses those, so one such request would
    otherwise cost the records batched with it.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value
