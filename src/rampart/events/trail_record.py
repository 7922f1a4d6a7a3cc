"""CallRecord -> CloudTrail event: AWS's record format, built off the request path.

(Contract written first; the full builder — every userIdentity form,
requestParameters in CloudTrail's spelling, readOnly and data/management
classification, resources — replaces ``build_event``'s first version.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rampart.events.records import CallRecord

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
    return f"{service}.amazonaws.com"


def build_event(record: CallRecord) -> TrailEvent | None:
    """The CloudTrail event of a call record; None for calls CloudTrail does not record (no account known)."""
    if record.account_id is None or record.service is None or record.operation is None:
        return None
    time = record.event_time.astimezone(dt.UTC)
    read_only = record.operation.startswith(("Get", "List", "Describe", "Head", "Lookup"))
    body: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"type": "IAMUser" if record.principal_kind == "user" else "Root",
                         "principalId": record.principal_id, "arn": record.principal_arn,
                         "accountId": record.account_id, "accessKeyId": record.access_key_id},
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source(record.service),
        "eventName": record.operation,
        "awsRegion": record.region,
        "sourceIPAddress": record.source_ip,
        "userAgent": record.user_agent,
        "requestParameters": record.request_parameters,
        "responseElements": None if read_only else record.response_elements,
        "requestID": record.request_id,
        "eventID": record.request_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": record.account_id,
        "eventCategory": "Management",
    }
    if record.error_code:
        body["errorCode"] = record.error_code
        body["errorMessage"] = record.error_message
    username = record.principal_arn.rsplit("/", 1)[-1] if record.principal_arn else None
    return TrailEvent(record.request_id, record.account_id, record.region, time, body["eventSource"],
                      record.operation, read_only, "Management", username, record.access_key_id, (),
                      record.error_code, body)
