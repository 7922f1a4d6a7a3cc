"""CallRecord -> CloudTrail event: AWS's record format, built off the request path.

The gateway only stores facts on the record (principal object, redacted
parameters, how the request was signed); everything CloudTrail-shaped is
built here, in the event pipeline's thread: userIdentity (``trail_identity``),
the read-only / data-event classes (``trail_classes``), CloudTrail's
spelling of parameters (``trail_spelling``) and the ``resources`` list.
A call on another account's resource becomes two events (``build_events``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rampart.events import trail_classes
from rampart.events.records import CallRecord
from rampart.events.trail_identity import (
    Identity,
    iso_seconds,
    owner_view,
    user_identity,
)
from rampart.events.trail_resources import lookup_pairs, resources_of
from rampart.events.trail_spelling import spell
from rampart.gateway.call import new_request_id

EVENT_VERSION = "1.11"


@dataclass(slots=True)
class TrailEvent:
    """One CloudTrail event and the fields its history is indexed and selected by.

    ``account_id`` is the recipient account (whose event history and trails
    get it); ``category`` is AWS's eventCategory: Management, Data or Insight;
    ``resources`` are (type, ARN) pairs, the record's ``resources`` list
    (LookupEvents' ResourceType and ResourceName); ``body`` is the whole
    record as AWS writes it, the JSON of LookupEvents' CloudTrailEvent and of
    the delivered log files.
    """

    event_id: str
    account_id: str
    region: str
    event_time: dt.datetime
    event_source: str
    event_name: str
    read_only: bool
    category: str
    username: str | None
    access_key_id: str | None
    resources: tuple[tuple[str, str], ...]
    error_code: str | None
    body: dict[str, Any]


def event_source(service: str) -> str:
    """The eventSource of a service's calls (``iam.amazonaws.com``)."""
    return trail_classes.event_source(service)


def build_event(record: CallRecord) -> TrailEvent | None:
    """The CloudTrail event of a call record in the caller's account; None for calls CloudTrail does not record.

    The recipient is the caller's account; for an anonymous caller the
    owner of the resource it touched (S3's bucket owner), and for the
    unsigned federation calls the account of the role asked for.
    """
    return _caller_event(record, None)


def build_events(record: CallRecord) -> list[TrailEvent]:
    """Every event of a call record: the caller's, then the resource owner's copy when another account owns it.

    AWS delivers a call on another account's resource (Encrypt with its KMS
    key, PutObject into its bucket, AssumeRole of its role) to both
    accounts: each copy has its own eventID and recipientAccountId, both
    carry the same sharedEventID, and the owner sees the caller only as
    another account (``owner_view``).
    """
    owner = _owner_copy_account(record)
    shared = new_request_id() if owner is not None else None
    caller = _caller_event(record, shared)
    if caller is None:
        return []
    if owner is None:
        return [caller]
    return [caller, _event(record, owner, owner_view(caller.body["userIdentity"]), None, shared)]


def _caller_event(record: CallRecord, shared_event_id: str | None) -> TrailEvent | None:
    if record.service is None or record.operation is None:
        return None
    recipient = _recipient(record)
    if recipient is None:
        return None
    identity = user_identity(record, record.resource_account)
    if identity is None:
        return None
    return _event(record, recipient, identity, record.access_key_id, shared_event_id)


def _event(record: CallRecord, recipient: str, identity: Identity, access_key_id: str | None,
           shared_event_id: str | None) -> TrailEvent:
    """One recipient's event; ``access_key_id`` is what its LookupEvents finds by AccessKeyId."""
    service, operation = str(record.service), str(record.operation)
    event_class = trail_classes.classify(service, operation)
    resources = resources_of(record, recipient)
    body = _body(record, service, operation, recipient, identity.element, event_class, resources, shared_event_id)
    pairs = lookup_pairs(record, recipient, resources)
    return TrailEvent(body["eventID"], recipient, body["awsRegion"], record.event_time.astimezone(dt.UTC),
                      body["eventSource"], operation, event_class.read_only, event_class.category,
                      identity.username, access_key_id, pairs, record.error_code, body)


def _owner_copy_account(record: CallRecord) -> str | None:
    """The account that gets its own copy of the call: the owner of the resource, when that is another account.

    Only signed callers of an account (an AWS service acting for a resource
    has no account of its own to copy from; anonymous calls already go to
    the owner). A call refused for lack of permission stays in the caller's
    account (KMS and STS document this), except S3's: the bucket owner
    still receives the full event.
    """
    owner, caller = record.resource_account, record.account_id
    if record.principal is None or caller is None or owner is None or owner == caller:
        return None
    if getattr(record.principal, "kind", None) == "service" or not _is_account(owner):
        return None
    if record.error_code in _DENIALS and record.service not in _DENIED_CALLS_REACH_OWNER:
        return None
    return owner


def _is_account(value: str) -> bool:
    return len(value) == 12 and value.isdigit()


_DENIALS = frozenset({"AccessDenied", "AccessDeniedException"})
_DENIED_CALLS_REACH_OWNER = frozenset({"s3"})


def _recipient(record: CallRecord) -> str | None:
    if record.account_id is not None:
        return record.account_id
    if record.principal is None and record.service == "sts" and record.operation in _FEDERATION_CALLS:
        role_arn = str((record.request_parameters or {}).get("RoleArn") or "")
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        return account if len(account) == 12 and account.isdigit() else None
    if record.principal is None:
        return record.resource_account  # anonymous: the resource owner's trail, if any resource was found
    return None


_FEDERATION_CALLS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


def _body(
    record: CallRecord, service: str, operation: str, recipient: str, identity: dict[str, Any],
    event_class: trail_classes.EventClass, resources: list[dict[str, str]], shared_event_id: str | None,
) -> dict[str, Any]:
    """The record in AWS's field order (readers diff these files; a stable order helps them)."""
    failed = record.error_code is not None
    show_response = not failed and (
        not event_class.read_only or trail_classes.logs_response_when_read_only(service, operation)
    )
    body: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": iso_seconds(record.event_time),
        "eventSource": event_source(service),
        "eventName": operation,
        "awsRegion": trail_classes.event_region(service, record.region),
        "sourceIPAddress": record.source_ip,
        "userAgent": record.user_agent,
    }
    if failed:
        body["errorCode"] = record.error_code
        body["errorMessage"] = record.error_message
    body["requestParameters"] = spell(service, operation, record.request_parameters, output=False) or None
    body["responseElements"] = (
        spell(service, operation, record.response_elements, output=True) or None if show_response else None
    )
    extra = _additional_event_data(record, service)
    if extra:
        body["additionalEventData"] = extra
    body["requestID"] = record.request_id
    body["eventID"] = new_request_id()  # a fresh UUID: one request may become several events
    body["readOnly"] = event_class.read_only
    if resources:
        body["resources"] = resources
    body["eventType"] = "AwsApiCall"
    body["managementEvent"] = event_class.management
    body["recipientAccountId"] = recipient
    if shared_event_id is not None:
        body["sharedEventID"] = shared_event_id
    body["eventCategory"] = event_class.category
    if record.tls_version:
        body["tlsDetails"] = {"tlsVersion": record.tls_version}
    return body


def _additional_event_data(record: CallRecord, service: str) -> dict[str, Any] | None:
    """S3's signing facts (SignatureVersion, AuthenticationMethod), as S3 writes them for every call."""
    if service != "s3" or record.signature_version is None:
        return None
    return {
        "SignatureVersion": "SigV2" if record.signature_version == "AWS" else "SigV4",
        "AuthenticationMethod": "QueryString" if record.auth_type == "REST-QUERY-STRING" else "AuthHeader",
    }
