"""Accounts are isolated: B never sees A's events or trails, and writes to A's bucket only if A's policy says so.

B naming A's trail ARN gets CloudTrailARNInvalidException (before any permission is asked), as from AWS.

Also: a user without cloudtrail:LookupEvents is denied the event history.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.cloudtrail.delivery_support import make_bucket


@pytest.fixture(scope="module")
def tenants(server: Server) -> dict[str, Any]:
    """Account A with a bucket, a tagged trail and a marked call; account B with clients."""
    a_id, a = server.new_account("iso-a")
    b_id, b = server.new_account("iso-b")
    marker = f"secret-user-{secrets.token_hex(4)}"
    a_ct = server.client("cloudtrail", **a)
    bucket = make_bucket(server.client("s3", **a), a_id)
    name = f"a-trail-{secrets.token_hex(3)}"
    arn = a_ct.create_trail(Name=name, S3BucketName=bucket, TagsList=[{"Key": "owner", "Value": "a"}])["TrailARN"]
    server.client("iam", **a).create_user(UserName=marker)
    a_event = a_ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                    "AttributeValue": "CreateUser"}])["Events"][0]
    return {"a_id": a_id, "a": a, "b_id": b_id, "b": b, "marker": marker, "bucket": bucket, "name": name,
            "arn": arn, "a_event": a_event}


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400 or \
        caught.value.response["Error"]["Code"] == "AccessDeniedException", caught.value.response
    return caught.value.response["Error"]["Code"]


def test_b_never_sees_a_events(server: Server, tenants: dict[str, Any]) -> None:
    ct = server.client("cloudtrail", **tenants["b"])
    by_key = {"EventId": tenants["a_event"]["EventId"], "Username": tenants["marker"],
              "ResourceName": tenants["marker"], "AccessKeyId": tenants["a"]["aws_access_key_id"]}
    for key, value in by_key.items():
        assert ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"] == [], key
    events = [event for page in ct.get_paginator("lookup_events").paginate() for event in page["Events"]]
    bodies = [json.loads(event["CloudTrailEvent"]) for event in events]
    assert events and all(body["recipientAccountId"] == tenants["b_id"] for body in bodies)
    assert tenants["a_event"]["EventId"] not in {event["EventId"] for event in events}
    assert "CreateUser" not in {event["EventName"] for event in events}


def test_b_never_sees_a_trails(server: Server, tenants: dict[str, Any]) -> None:
    ct = server.client("cloudtrail", **tenants["b"])
    arn, name = tenants["arn"], tenants["name"]
    assert ct.list_trails()["Trails"] == []
    assert ct.describe_trails(trailNameList=[arn, name])["trailList"] == []
    assert ct.describe_trails()["trailList"] == []
    for call in (lambda: ct.get_trail(Name=arn), lambda: ct.get_trail_status(Name=arn),
                 lambda: ct.get_event_selectors(TrailName=arn), lambda: ct.get_insight_selectors(TrailName=arn),
                 lambda: ct.list_tags(ResourceIdList=[arn]), lambda: ct.add_tags(ResourceId=arn, TagsList=[
                     {"Key": "evil", "Value": "b"}]), lambda: ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "owner"}]),
                 lambda: ct.update_trail(Name=arn, S3KeyPrefix="x"), lambda: ct.delete_trail(Name=arn),
                 lambda: ct.stop_logging(Name=arn), lambda: ct.start_logging(Name=arn),
                 lambda: ct.put_event_selectors(TrailName=arn, EventSelectors=[{"ReadWriteType": "ReadOnly"}]),
                 lambda: ct.get_trail(Name=arn + "-never-made")):  # the same answer whether A's trail exists or not
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"] == {
            "Code": "CloudTrailARNInvalidException",
            "Message": f"AccountID in ARN is wrong, you can only access resources with AccountID {tenants['b_id']}."}
    for call in (lambda: ct.get_trail(Name=name), lambda: ct.get_trail_status(Name=name)):
        assert _code(call) == "TrailNotFoundException"
    a_ct = server.client("cloudtrail", **tenants["a"])
    assert a_ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "owner", "Value": "a"}]
    assert a_ct.get_event_selectors(TrailName=arn)["EventSelectors"][0]["ReadWriteType"] == "All"


def test_b_cannot_point_a_trail_at_a_bucket_unless_a_allows_its_trail(server: Server,
                                                                      tenants: dict[str, Any]) -> None:
    """A's documented policy names AWSLogs/<A>/ only; B is let in by A for B's trail only (aws:SourceArn)."""
    b_ct, a_s3 = server.client("cloudtrail", **tenants["b"]), server.client("s3", **tenants["a"])
    b_id, bucket = tenants["b_id"], tenants["bucket"]
    name = f"b-trail-{secrets.token_hex(3)}"
    assert _code(lambda: b_ct.create_trail(Name=name, S3BucketName=bucket)) == "InsufficientS3BucketPolicyException"
    b_trail = f"arn:aws:cloudtrail:us-east-1:{b_id}:trail/{name}"
    policy = json.loads(a_s3.get_bucket_policy(Bucket=bucket)["Policy"])
    service = {"Service": "cloudtrail.amazonaws.com"}
    policy["Statement"] += [
        {"Sid": "BAcl", "Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"StringEquals": {"aws:SourceArn": b_trail}}},
        {"Sid": "BWrite", "Effect": "Allow", "Principal": service, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{b_id}/*",
         "Condition": {"StringEquals": {"aws:SourceArn": b_trail, "s3:x-amz-acl": "bucket-owner-full-control"}}}]
    a_s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    other = f"b-other-{secrets.token_hex(3)}"
    assert _code(lambda: b_ct.create_trail(Name=other, S3BucketName=bucket)) == \
        "InsufficientS3BucketPolicyException"  # another trail of B: its SourceArn is not the allowed one
    assert b_ct.create_trail(Name=name, S3BucketName=bucket)["TrailARN"] == b_trail
    assert [t["TrailARN"] for t in server.client("cloudtrail", **tenants["a"]).list_trails()["Trails"]] == \
        [tenants["arn"]]
    b_ct.delete_trail(Name=name)


def test_a_user_without_lookup_events_is_denied(server: Server, tenants: dict[str, Any]) -> None:
    iam = server.client("iam", **tenants["a"])
    user = f"nolookup-{secrets.token_hex(3)}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="trails-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["cloudtrail:DescribeTrails", "cloudtrail:GetTrail"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    ct = server.client("cloudtrail", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert ct.describe_trails()["trailList"]  # the user's own rights work
    with pytest.raises(ClientError) as caught:
        ct.lookup_events()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"user/{user}" in caught.value.response["Error"]["Message"]
