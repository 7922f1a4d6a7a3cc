"""Helpers of the delivery tests: a server whose clock they move, buckets CloudTrail may write, reading log files."""

from __future__ import annotations

import gzip
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from tests.conftest import Server

DELIVERY_SECONDS = 300
# The digest tests' servers: a digest every minute, delivery every half minute; a round is one digest window.
DIGEST_ENV = {"RAMPART_TRAIL_DIGEST_SECONDS": "60", "RAMPART_TRAIL_DELIVERY_SECONDS": "30"}
DIGEST_ROUND_SECONDS = 61
KEY = re.compile(
    r"^(?P<prefix>.*?)AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/(?P<folder>CloudTrail(?:-Insight)?)/"
    r"(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_(?P=folder)_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


def run_round(server: Server, seconds: float) -> dict[str, Any]:
    """Move the clock by ``seconds`` and run the due jobs (the route flushes records first); its answer.

    Test servers run no background jobs (RAMPART_BACKGROUND_JOBS=off), so the route's round is the
    one that runs, and it sees every call made before.
    """
    assert server.admin("POST", "clock/advance", json={"seconds": seconds}).status_code == 200
    answer = server.admin("POST", "jobs/run")
    assert answer.status_code == 200, answer.text
    return answer.json()


def deliver(server: Server) -> None:
    """Move the clock past one delivery interval and run the due jobs: delivery among them."""
    ran = run_round(server, DELIVERY_SECONDS + 1)["ran"]
    assert "cloudtrail.delivery" in ran, ran


def bucket_policy(bucket: str, account_id: str, prefix: str | None = None, org_id: str | None = None) -> str:
    """The bucket policy AWS documents for a trail's bucket (and an organization trail's path)."""
    head = f"{prefix}/" if prefix else ""
    resources = [f"arn:aws:s3:::{bucket}/{head}AWSLogs/{account_id}/*"]
    if org_id:
        resources.append(f"arn:aws:s3:::{bucket}/{head}AWSLogs/{org_id}/*")
    service = {"Service": "cloudtrail.amazonaws.com"}
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": service, "Action": "s3:PutObject",
         "Resource": resources, "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]})


def make_bucket(s3: Any, account_id: str, prefix: str | None = None, org_id: str | None = None) -> str:
    """A new bucket in us-east-1 whose policy lets CloudTrail deliver."""
    name = f"trail-{secrets.token_hex(6)}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=bucket_policy(name, account_id, prefix, org_id))
    return name


def log_files(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """Every object of the bucket: key -> its records (each must be a gzip ``{"Records": [...]}``)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            raw = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            document = orjson.loads(raw)
            assert set(document) == {"Records"}
            found[item["Key"]] = document["Records"]
    return found


def all_records(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """Every record delivered to the bucket, in file order."""
    return [record for records in log_files(s3, bucket).values() for record in records]


def event_ids(records: list[dict[str, Any]]) -> list[str]:
    """The eventIDs of the records (duplicates kept, so a test can count them)."""
    return [record["eventID"] for record in records]


def created_users(records: list[dict[str, Any]]) -> list[str]:
    """The user names of the CreateUser records, sorted (duplicates kept).

    Read from requestParameters whichever spelling the record builder gives (userName, UserName).
    """
    found = []
    for record in records:
        if record["eventName"] == "CreateUser":
            params = record.get("requestParameters") or {}
            found.append(params.get("userName") or params.get("UserName"))
    return sorted(found)


@dataclass(frozen=True)
class TrailOrganization:
    """A management account and a member in one all-features organization that trusts CloudTrail."""

    management: str
    management_creds: dict[str, str]
    member: str
    member_creds: dict[str, str]
    org_id: str


def trail_organization(server: Server, prefix: str) -> TrailOrganization:
    """New accounts ``<prefix>-mgmt`` and ``<prefix>-member``, organized, with CloudTrail's trusted access on."""
    management, management_creds = server.new_account(f"{prefix}-mgmt")
    member, member_creds = server.new_account(f"{prefix}-member")
    org = server.client("organizations", **management_creds)
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    handshake = org.invite_account_to_organization(Target={"Id": member, "Type": "ACCOUNT"})["Handshake"]
    server.client("organizations", **member_creds).accept_handshake(HandshakeId=handshake["Id"])
    org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    return TrailOrganization(management, management_creds, member, member_creds, org_id)
