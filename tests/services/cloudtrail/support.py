"""Helpers for CloudTrail tests: a bucket with the bucket policy AWS documents for trails."""

from __future__ import annotations

import json
from typing import Any


def trail_bucket_policy(bucket: str, account_id: str, prefix: str | None = None,
                        trail_name: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """AWS's documented policy: cloudtrail.amazonaws.com may GetBucketAcl and PutObject under
    ``<prefix/>AWSLogs/<account>/*`` with bucket-owner-full-control (and, with ``trail_name``, only for that
    trail through aws:SourceArn)."""
    source: dict[str, Any] = {}
    if trail_name:
        source = {"StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{region}:{account_id}:trail/{trail_name}"}}
    path = f"{prefix}/AWSLogs/{account_id}/*" if prefix else f"AWSLogs/{account_id}/*"
    acl_check: dict[str, Any] = {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
                                 "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                 "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}"}
    write: dict[str, Any] = {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
                             "Principal": {"Service": "cloudtrail.amazonaws.com"},
                             "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/{path}",
                             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                                            **source.get("StringEquals", {})}}}
    if source:
        acl_check["Condition"] = source
    return {"Version": "2012-10-17", "Statement": [acl_check, write]}


def trail_bucket(s3_client: Any, account_id: str, name: str, prefix: str | None = None,
                 trail_name: str | None = None) -> str:
    """Create bucket ``name`` (us-east-1) with the documented CloudTrail bucket policy; returns the name."""
    s3_client.create_bucket(Bucket=name)
    policy = trail_bucket_policy(name, account_id, prefix, trail_name)
    s3_client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name
