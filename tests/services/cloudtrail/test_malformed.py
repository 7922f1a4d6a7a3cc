"""Hostile input to every CloudTrail operation: always an AWS 4xx error, never a 500, nothing changed.

Each operation is driven through boto3 with names, ARNs, selectors, tags,
times and tokens that pass the client's own checks but are wrong in every
other way (huge, unicode, control characters, other accounts, regions and
partitions, malformed ARNs), and through raw signed requests with values of
the wrong JSON type, which boto3 would refuse to send. Afterwards the trail
the test made is exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.cloudtrail.support import trail_bucket
from tests.services.hostile import assert_all_4xx, never_5xx, raw_json_call

OTHER = "000000000000"
HOSTILE_NAMES = [
    "t" * 129,
    "t" * 4000,
    "tr",
    "",
    "трейл",
    "trail🔑",
    "trail\u0000x",
    "trail\nname",
    "trail\x7f",
    "-trail",
    "trail-",
    "tr..ail",
    "tr_-ail",
    "192.168.0.1",
    "' OR 1=1 --",
    "../../etc/passwd",
    "*",
    f"never-made-{uuid.uuid4().hex[:8]}",
    f"arn:aws:cloudtrail:us-east-1:{ROOT_ACCOUNT}:trail/never-made",
    f"arn:aws:cloudtrail:us-east-1:{OTHER}:trail/other",
    f"arn:aws:cloudtrail:eu-west-3:{ROOT_ACCOUNT}:trail/elsewhere",
    f"arn:aws-cn:cloudtrail:cn-north-1:{ROOT_ACCOUNT}:trail/china",
    f"arn:aws-us-gov:cloudtrail:us-gov-west-1:{ROOT_ACCOUNT}:trail/gov",
    f"arn:aws:cloudtrail:us-east-1:{ROOT_ACCOUNT}:trail/",
    f"arn:aws:cloudtrail:us-east-1:{ROOT_ACCOUNT}:trail/" + "x" * 3000,
    f"arn:aws:cloudtrail:us-east-1:{ROOT_ACCOUNT}:trail/a\u0000b",
    f"arn:aws:cloudtrail:us-east-1:{ROOT_ACCOUNT}:eventdatastore/x",
    "arn:aws:cloudtrail:us-east-1:12:trail/x",
    "arn:aws:cloudtrail:::trail/x",
    "arn:aws:cloudtrail",
    "arn:",
    "arn:aws:s3:::some-bucket",
    "arn:aws:iam::123456789012:root",
]


@pytest.fixture(scope="module")
def trail(server: Server) -> dict[str, Any]:
    """One trail of the root account with tags, selectors and Insights; its state as GetTrail etc. answer it."""
    ct, s3 = server.client("cloudtrail"), server.client("s3")
    bucket = trail_bucket(s3, ROOT_ACCOUNT, f"malformed-{secrets.token_hex(5)}")
    name = f"malformed-{secrets.token_hex(4)}"
    arn = ct.create_trail(Name=name, S3BucketName=bucket, TagsList=[{"Key": "k", "Value": "v"}])["TrailARN"]
    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    ct.put_insight_selectors(TrailName=name, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    return {"name": name, "arn": arn, "bucket": bucket, "state": _state(ct, arn)}


def _state(ct: Any, arn: str) -> dict[str, Any]:
    """Everything the API says about a trail (the unchanged-after-hostile-input check)."""
    return {"trail": ct.get_trail(Name=arn)["Trail"],
            "selectors": {k: v for k, v in ct.get_event_selectors(TrailName=arn).items() if k != "ResponseMetadata"},
            "insights": ct.get_insight_selectors(TrailName=arn)["InsightSelectors"],
            "tags": ct.list_tags(ResourceIdList=[arn])["ResourceTagList"],
            "logging": ct.get_trail_status(Name=arn)["IsLogging"],
            "trails": sorted(t["TrailARN"] for t in ct.list_trails()["Trails"])}


def _unchanged(server: Server, trail: dict[str, Any]) -> None:
    assert _state(server.client("cloudtrail"), trail["arn"]) == trail["state"]


# ---- names and ARNs everywhere a trail is named ------------------------------------------------------

_NAMED: dict[str, tuple[str, dict[str, Any]]] = {
    "get_trail": ("Name", {}),
    "update_trail": ("Name", {"EnableLogFileValidation": True}),
    "delete_trail": ("Name", {}),
    "start_logging": ("Name", {}),
    "stop_logging": ("Name", {}),
    "get_trail_status": ("Name", {}),
    "get_event_selectors": ("TrailName", {}),
    "put_event_selectors": ("TrailName", {"EventSelectors": [{"ReadWriteType": "All"}]}),
    "get_insight_selectors": ("TrailName", {}),
    "put_insight_selectors": ("TrailName", {"InsightSelectors": [{"InsightType": "ApiErrorRateInsight"}]}),
    "add_tags": ("ResourceId", {"TagsList": [{"Key": "evil", "Value": "x"}]}),
    "remove_tags": ("ResourceId", {"TagsList": [{"Key": "k"}]}),
}


@pytest.mark.parametrize("operation", sorted(_NAMED))
def test_hostile_trail_names(server: Server, trail: dict[str, Any], operation: str) -> None:
    ct = server.client("cloudtrail")
    member, extra = _NAMED[operation]
    method = getattr(ct, operation)
    assert_all_4xx([lambda name=name: method(**{member: name}, **extra) for name in HOSTILE_NAMES], HOSTILE_NAMES)
    _unchanged(server, trail)


def test_hostile_names_in_lists(server: Server, trail: dict[str, Any]) -> None:
    """ListTags fails on any unknown ARN; DescribeTrails leaves unknown names out (as AWS does)."""
    ct = server.client("cloudtrail")
    assert_all_4xx([lambda name=name: ct.list_tags(ResourceIdList=[trail["arn"], name]) for name in HOSTILE_NAMES],
                    HOSTILE_NAMES)
    for names in (HOSTILE_NAMES, [], [trail["arn"]] * 1000, ["x" * 10000], [f"n{i}" for i in range(1000)]):
        try:
            found = ct.describe_trails(trailNameList=names)["trailList"]
        except ClientError as caught:
            assert caught.response["ResponseMetadata"]["HTTPStatusCode"] == 400, caught.response
            continue
        assert all(t["TrailARN"] == trail["arn"] or t["Name"] in names for t in found)
    _unchanged(server, trail)


def test_hostile_create_trail(server: Server, trail: dict[str, Any]) -> None:
    ct = server.client("cloudtrail")
    bucket = trail["bucket"]
    fresh = f"hostile-{secrets.token_hex(4)}"
    cases: dict[str, dict[str, Any]] = {
        **{f"name {name[:40]}": {"Name": name, "S3BucketName": bucket} for name in HOSTILE_NAMES
           if not name.startswith("never-made")},
        "existing": {"Name": trail["name"], "S3BucketName": bucket},
        "bucket missing": {"Name": fresh, "S3BucketName": f"nope-{uuid.uuid4().hex}"},
        "bucket huge": {"Name": fresh, "S3BucketName": "b" * 5000},
        "bucket unicode": {"Name": fresh, "S3BucketName": "бакет🔑"},
        "bucket control": {"Name": fresh, "S3BucketName": "a\u0000b"},
        "bucket empty": {"Name": fresh, "S3BucketName": ""},
        "bucket arn": {"Name": fresh, "S3BucketName": f"arn:aws:s3:::{bucket}"},
        "prefix huge": {"Name": fresh, "S3BucketName": bucket, "S3KeyPrefix": "p" * 5000},
        "prefix slash": {"Name": fresh, "S3BucketName": bucket, "S3KeyPrefix": "/abs"},
        "prefix double": {"Name": fresh, "S3BucketName": bucket, "S3KeyPrefix": "a//b"},
        "prefix other": {"Name": fresh, "S3BucketName": bucket, "S3KeyPrefix": "not-allowed"},
        "prefix control": {"Name": fresh, "S3BucketName": bucket, "S3KeyPrefix": "a\u0000b"},
        "kms huge": {"Name": fresh, "S3BucketName": bucket, "KmsKeyId": "k" * 5000},
        "kms unicode": {"Name": fresh, "S3BucketName": bucket, "KmsKeyId": "ключ🔑"},
        "kms other account": {"Name": fresh, "S3BucketName": bucket,
                              "KmsKeyId": f"arn:aws:kms:us-east-1:{OTHER}:key/{uuid.uuid4()}"},
        "kms other partition": {"Name": fresh, "S3BucketName": bucket,
                                "KmsKeyId": f"arn:aws-cn:kms:cn-north-1:{ROOT_ACCOUNT}:key/{uuid.uuid4()}"},
        "kms alias missing": {"Name": fresh, "S3BucketName": bucket, "KmsKeyId": "alias/nope-nope"},
        "kms malformed arn": {"Name": fresh, "S3BucketName": bucket, "KmsKeyId": "arn:aws:kms:::key/"},
        "kms s3 arn": {"Name": fresh, "S3BucketName": bucket, "KmsKeyId": f"arn:aws:s3:::{bucket}"},
        "multi without global": {"Name": fresh, "S3BucketName": bucket, "IsMultiRegionTrail": True,
                                 "IncludeGlobalServiceEvents": False},
        "organization": {"Name": fresh, "S3BucketName": bucket, "IsOrganizationTrail": True},
        "tags 51": {"Name": fresh, "S3BucketName": bucket, "TagsList": [{"Key": f"k{i}"} for i in range(51)]},
        "tags 1000": {"Name": fresh, "S3BucketName": bucket,
                      "TagsList": [{"Key": f"k{i}", "Value": "v"} for i in range(1000)]},
        "tag key aws": {"Name": fresh, "S3BucketName": bucket, "TagsList": [{"Key": "aws:x", "Value": "v"}]},
        "tag key huge": {"Name": fresh, "S3BucketName": bucket, "TagsList": [{"Key": "k" * 129}]},
        "tag value huge": {"Name": fresh, "S3BucketName": bucket, "TagsList": [{"Key": "k", "Value": "v" * 257}]},
    }
    assert_all_4xx([lambda p=p: ct.create_trail(**p) for p in cases.values()], list(cases))
    _unchanged(server, trail)


def test_hostile_update_trail(server: Server, trail: dict[str, Any]) -> None:
    ct = server.client("cloudtrail")
    name = trail["name"]
    cases: dict[str, dict[str, Any]] = {
        "bucket missing": {"S3BucketName": f"nope-{uuid.uuid4().hex}"},
        "bucket huge": {"S3BucketName": "b" * 5000},
        "bucket unicode": {"S3BucketName": "бакет"},
        "prefix huge": {"S3KeyPrefix": "p" * 5000},
        "prefix slash": {"S3KeyPrefix": "/abs"},
        "prefix other": {"S3KeyPrefix": "not-allowed"},
        "kms huge": {"KmsKeyId": "k" * 5000},
        "kms other account": {"KmsKeyId": f"arn:aws:kms:us-east-1:{OTHER}:key/{uuid.uuid4()}"},
        "kms control": {"KmsKeyId": "\u0000\u0001"},
        "multi without global": {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
        "organization": {"IsOrganizationTrail": True},
    }
    assert_all_4xx([lambda p=p: ct.update_trail(Name=name, **p) for p in cases.values()], list(cases))
    other_region = server.client("cloudtrail", region_name="eu-west-3")
    assert_all_4xx([lambda: other_region.update_trail(Name=trail["arn"], EnableLogFileValidation=True),
                     lambda: other_region.delete_trail(Name=trail["arn"]),
                     lambda: other_region.start_logging(Name=trail["arn"])])
    _unchanged(server, trail)


# ---- selectors -----------------------------------------------------------------------------------


def _deep_advanced(depth_values: int) -> list[dict[str, Any]]:
    return [{"Name": "x", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::b/{i}" for i in range(depth_values)]}]}]


_BAD_BASIC: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "six": [{"ReadWriteType": "All"}] * 6,
    "1000": [{"ReadWriteType": "All"}] * 1000,
    "data type unknown": [{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}],
    "data type huge": [{"DataResources": [{"Type": "T" * 5000, "Values": ["arn:aws:s3"]}]}],
    "data type missing": [{"DataResources": [{"Values": ["arn:aws:s3"]}]}],
    "data values empty": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": []}]}],
    "data values missing": [{"DataResources": [{"Type": "AWS::S3::Object"}]}],
    "data value unicode": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::бакет/"]}]}],
    "data value control": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b\u0000/"]}]}],
    "data value other partition": [{"DataResources": [{"Type": "AWS::S3::Object",
                                                       "Values": ["arn:aws-cn:s3:::bucket/"]}]}],
    "data value lambda malformed": [{"DataResources": [{"Type": "AWS::Lambda::Function",
                                                        "Values": ["arn:aws:lambda:x"]}]}],
    "data values 251": [{"DataResources": [{"Type": "AWS::S3::Object",
                                            "Values": [f"arn:aws:s3:::bucket-{i}/" for i in range(251)]}]}],
    "data values 1000": [{"DataResources": [{"Type": "AWS::S3::Object",
                                             "Values": [f"arn:aws:s3:::bucket-{i}/" for i in range(1000)]}]}],
    "exclude unknown": [{"ExcludeManagementEventSources": ["iam.amazonaws.com"]}],
    "exclude huge": [{"ExcludeManagementEventSources": ["x" * 5000]}],
    "exclude 1000": [{"ExcludeManagementEventSources": ["kms.amazonaws.com"] * 999 + ["s3.amazonaws.com"]}],
}

_BAD_ADVANCED: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "six": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}] * 6,
    "unknown field": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                          {"Field": "x" * 1000, "Equals": ["y"]}]}],
    "unicode field": [{"FieldSelectors": [{"Field": "полеé", "Equals": ["Management"]}]}],
    "no category": [{"FieldSelectors": [{"Field": "eventName", "Equals": ["x"]}]}],
    "category twice": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                           {"Field": "eventCategory", "Equals": ["Management"]}]}],
    "category two values": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management", "Data"]}]}],
    "category unknown": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight\u0000"]}]}],
    "category startswith": [{"FieldSelectors": [{"Field": "eventCategory", "StartsWith": ["Man"]}]}],
    "field no operator": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                              {"Field": "readOnly"}]}],
    "readonly odd": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                         {"Field": "readOnly", "Equals": ["maybe"]}]}],
    "management eventName": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                 {"Field": "eventName", "Equals": ["x"]}]}],
    "management source": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                              {"Field": "eventSource", "Equals": ["iam.amazonaws.com"]}]}],
    "data no type": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}],
    "data odd type": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                          {"Field": "resources.type", "Equals": ["AWS::S3::Object\n"]}]}],
    "data huge type": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                           {"Field": "resources.type", "Equals": ["AWS::" + "S" * 5000 + "::X"]}]}],
    "network no source": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["NetworkActivity"]}]}],
    "501 values": _deep_advanced(501),
    "1000 values": _deep_advanced(1000),
}


def test_hostile_event_selectors(server: Server, trail: dict[str, Any]) -> None:
    ct = server.client("cloudtrail")
    name = trail["name"]
    calls = [lambda s=s: ct.put_event_selectors(TrailName=name, EventSelectors=s) for s in _BAD_BASIC.values()]
    calls += [lambda s=s: ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=s)
              for s in _BAD_ADVANCED.values()]
    calls += [lambda: ct.put_event_selectors(TrailName=name),
              lambda: ct.put_event_selectors(TrailName=name, EventSelectors=[{}], AdvancedEventSelectors=[
                  {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}])]
    assert_all_4xx(calls, [f"basic {k}" for k in _BAD_BASIC] + [f"advanced {k}" for k in _BAD_ADVANCED]
                    + ["neither", "both"])
    _unchanged(server, trail)


def test_odd_but_valid_advanced_values_round_trip(server: Server) -> None:
    """Unicode, control characters and very long values in a field selector are stored and answered as given."""
    ct, s3 = server.client("cloudtrail"), server.client("s3")
    bucket = trail_bucket(s3, ROOT_ACCOUNT, f"odd-{secrets.token_hex(5)}")
    name = f"odd-{secrets.token_hex(4)}"
    ct.create_trail(Name=name, S3BucketName=bucket)
    odd = ["ключ🔑", "a\u0000b", "x" * 2000, "' OR 1=1 --"]
    chosen = [{"Name": "odd", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": odd}, {"Field": "eventName", "NotEquals": odd}]}]
    try:
        assert ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=chosen)["AdvancedEventSelectors"] == chosen
        assert ct.get_event_selectors(TrailName=name)["AdvancedEventSelectors"] == chosen
    finally:
        ct.delete_trail(Name=name)


def test_hostile_insight_selectors(server: Server, trail: dict[str, Any]) -> None:
    ct = server.client("cloudtrail")
    name = trail["name"]
    cases: list[list[dict[str, Any]]] = [
        [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiCallRateInsight"}],
        [{"InsightType": "ApiCallRateInsight"}] * 1000,
        [{}],
        [{"InsightType": "ApiCallRateInsight", "EventCategories": ["Management"]}],
    ]
    calls = [lambda c=c: ct.put_insight_selectors(TrailName=name, InsightSelectors=c) for c in cases]
    calls += [lambda: ct.put_insight_selectors(InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]),
              lambda: ct.put_insight_selectors(TrailName=name, EventDataStore="x" * 300,
                                               InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]),
              lambda: ct.get_insight_selectors(),
              lambda: ct.get_insight_selectors(EventDataStore="arn:aws:cloudtrail:us-east-1:1:eventdatastore/x")]
    assert_all_4xx(calls)
    _unchanged(server, trail)


def test_hostile_tags(server: Server, trail: dict[str, Any]) -> None:
    ct = server.client("cloudtrail")
    arn = trail["arn"]
    cases: dict[str, list[dict[str, Any]]] = {
        "51": [{"Key": f"k{i}", "Value": "v"} for i in range(51)],
        "1000": [{"Key": f"k{i}", "Value": "v"} for i in range(1000)],
        "aws": [{"Key": "aws:cloudtrail", "Value": "v"}],
        "AWS": [{"Key": "AWS:x", "Value": "v"}],
        "huge key": [{"Key": "k" * 5000, "Value": "v"}],
        "huge value": [{"Key": "k", "Value": "v" * 5000}],
    }
    assert_all_4xx([lambda c=c: ct.add_tags(ResourceId=arn, TagsList=c) for c in cases.values()], list(cases))
    for odd in ([], [{"Key": "never"}], [{"Key": "k", "Value": "not-the-value"}], [{"Key": "\u0000"}]):
        never_5xx(lambda odd=odd: ct.remove_tags(ResourceId=arn, TagsList=odd), client_may_refuse=True)
    assert_all_4xx([lambda: ct.list_tags(ResourceIdList=[arn] + [f"{arn}-{i}" for i in range(1000)])])
    _unchanged(server, trail)


# ---- LookupEvents and ListPublicKeys ---------------------------------------------------------------


def test_hostile_lookup_events(server: Server) -> None:
    ct = server.client("cloudtrail")
    now = dt.datetime.now(dt.UTC)
    cases: dict[str, dict[str, Any]] = {
        "two attributes": {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x"},
                                                {"AttributeKey": "Username", "AttributeValue": "y"}]},
        "1000 attributes": {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x"}] * 1000},
        "insight username": {"EventCategory": "insight",
                             "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "x"}]},
        "start after end": {"StartTime": now, "EndTime": now - dt.timedelta(days=1)},
        "max 51": {"MaxResults": 51},
        "max huge": {"MaxResults": 2**31 - 1},
    }
    tokens = ["!!!", "ключ", "=" * 10, "A", "\u0000" * 4, "t" * 5000, "eyJhIjoxfQ==",
              "WzEsMCwwLCJ4Il0AAAAAAAAAAAAA", uuid.uuid4().hex]
    cases.update({f"token {t[:20]!r}": {"NextToken": t} for t in tokens})
    assert_all_4xx([lambda p=p: ct.lookup_events(**p) for p in cases.values()], list(cases))


def test_odd_lookup_values_answer_empty(server: Server) -> None:
    """Any string is a valid attribute value: odd ones just match nothing; odd times are fine."""
    ct = server.client("cloudtrail")
    odd = ["x" * 5000, "ключ🔑", "a\u0000b", "' OR 1=1 --", "%", "_", "*"]
    keys = ["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
            "AccessKeyId"]
    for key in keys:
        for value in odd:
            try:
                out = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
            except ClientError as caught:
                assert caught.response["ResponseMetadata"]["HTTPStatusCode"] == 400, (key, value, caught.response)
                continue
            assert out["Events"] == [], (key, value)
    for start, end in ((dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(1970, 1, 2, tzinfo=dt.UTC)),
                       (dt.datetime(9999, 1, 1, tzinfo=dt.UTC), None),
                       (None, dt.datetime(1, 1, 2, tzinfo=dt.UTC))):
        params = {k: v for k, v in (("StartTime", start), ("EndTime", end)) if v is not None}
        never_5xx(lambda params=params: ct.lookup_events(**params), client_may_refuse=True)


def test_hostile_list_public_keys(server: Server) -> None:
    ct = server.client("cloudtrail")
    now = dt.datetime.now(dt.UTC)
    assert_all_4xx([lambda: ct.list_public_keys(StartTime=now, EndTime=now - dt.timedelta(days=1)),
                     lambda: ct.list_public_keys(NextToken="x"),
                     lambda: ct.list_public_keys(NextToken="t" * 5000)])
    for start, end in ((dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 1, 1, tzinfo=dt.UTC)),
                       (dt.datetime(9999, 1, 1, tzinfo=dt.UTC), None)):
        params = {k: v for k, v in (("StartTime", start), ("EndTime", end)) if v is not None}
        never_5xx(lambda params=params: ct.list_public_keys(**params), client_may_refuse=True)


# ---- wrong JSON types through raw signed requests ----------------------------------------------------

def raw_call(server: Server, operation: str, body: bytes) -> httpx.Response:
    """A SigV4-signed CloudTrail JSON request with any body at all (boto3 would refuse wrong types)."""
    return raw_json_call(server.endpoint, "cloudtrail", operation, body, server.access_key_id, server.secret_access_key)


_WRONG_TYPES: list[tuple[str, Any]] = [
    ("CreateTrail", {"Name": 5, "S3BucketName": "b"}),
    ("CreateTrail", {"Name": ["a"], "S3BucketName": {"x": 1}}),
    ("CreateTrail", {"Name": "abc", "S3BucketName": "b", "IsMultiRegionTrail": "yes"}),
    ("CreateTrail", {"Name": "abc", "S3BucketName": "b", "TagsList": {"Key": "k"}}),
    ("CreateTrail", {"Name": "abc", "S3BucketName": "b", "TagsList": [5]}),
    ("CreateTrail", {"Name": "abc", "S3BucketName": "b", "TagsList": [{"Key": None}]}),
    ("CreateTrail", {"Name": None, "S3BucketName": None}),
    ("UpdateTrail", {"Name": {"$ne": 1}}),
    ("DeleteTrail", {"Name": 1.5}),
    ("DeleteTrail", {}),
    ("GetTrail", {"Name": True}),
    ("DescribeTrails", {"trailNameList": "abc"}),
    ("DescribeTrails", {"trailNameList": [1, 2, None]}),
    ("DescribeTrails", {"includeShadowTrails": "no"}),
    ("ListTrails", {"NextToken": 5}),
    ("StartLogging", {"Name": []}),
    ("StopLogging", {"Name": {}}),
    ("GetTrailStatus", {"Name": 10**40}),
    ("PutEventSelectors", {"TrailName": "abc", "EventSelectors": {"ReadWriteType": "All"}}),
    ("PutEventSelectors", {"TrailName": "abc", "EventSelectors": [1, 2]}),
    ("PutEventSelectors", {"TrailName": "abc", "EventSelectors": [{"DataResources": "x"}]}),
    ("PutEventSelectors", {"TrailName": "abc", "EventSelectors": [{"DataResources": [{"Values": "arn"}]}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [{"FieldSelectors": "x"}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": "Management"}]}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": [["Management"]]}]}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [
        {"FieldSelectors": [{"Field": ["eventCategory"], "Equals": ["Management"]}]}]}),
    ("GetEventSelectors", {"TrailName": None}),
    ("PutInsightSelectors", {"TrailName": "abc", "InsightSelectors": "ApiCallRateInsight"}),
    ("PutInsightSelectors", {"TrailName": "abc", "InsightSelectors": [["ApiCallRateInsight"]]}),
    ("GetInsightSelectors", {"TrailName": 5}),
    ("AddTags", {"ResourceId": "abc", "TagsList": [{"Key": {"a": 1}}]}),
    ("AddTags", {"ResourceId": "abc", "TagsList": [{"Key": "", "Value": "v"}]}),
    ("CreateTrail", {"Name": "abc", "S3BucketName": "b", "TagsList": [{"Key": "", "Value": "v"}]}),
    ("RemoveTags", {"ResourceId": ["abc"]}),
    ("ListTags", {"ResourceIdList": "arn"}),
    ("ListTags", {"ResourceIdList": [None]}),
    ("LookupEvents", {"LookupAttributes": {"AttributeKey": "EventName"}}),
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "Nope", "AttributeValue": "x"}]}),
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": 5}]}),
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "EventName"}]}),
    ("LookupEvents", {"LookupAttributes": [{}]}),
    ("LookupEvents", {"StartTime": "yesterday"}),
    ("LookupEvents", {"StartTime": 1e300}),
    ("LookupEvents", {"StartTime": -1e18}),
    ("LookupEvents", {"EndTime": "NaN"}),
    ("LookupEvents", {"MaxResults": "10"}),
    ("LookupEvents", {"MaxResults": 0}),
    ("LookupEvents", {"MaxResults": -1}),
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [{"FieldSelectors": []}]}),
    ("PutEventSelectors", {"TrailName": "abc", "AdvancedEventSelectors": [
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": []}]}]}),
    ("LookupEvents", {"MaxResults": 1.5}),
    ("LookupEvents", {"MaxResults": 10**40}),
    ("LookupEvents", {"NextToken": 5}),
    ("LookupEvents", {"EventCategory": "management"}),
    ("ListPublicKeys", {"StartTime": "now"}),
    ("ListPublicKeys", {"StartTime": 1e300}),
    ("ListPublicKeys", {"EndTime": -1e18}),
]


def _rawproblem(server: Server, operation: str, body: bytes, ok_allowed: bool = False) -> str | None:
    answer = raw_call(server, operation, body)
    if ok_allowed and answer.status_code == 200:
        return None
    if not 400 <= answer.status_code < 500:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"
    code = str(answer.json().get("__type", ""))
    if "InternalFailure" in code or "InternalError" in code:
        return f"HTTP {answer.status_code} {code}"
    return None


def test_wrong_json_types(server: Server, trail: dict[str, Any]) -> None:
    problems = [(operation, params, found) for operation, params in _WRONG_TYPES
                if (found := _rawproblem(server, operation, json.dumps(params).encode())) is not None]
    assert not problems, "\n".join(f"{o} {str(p)[:80]}: {f}" for o, p, f in problems)
    _unchanged(server, trail)


def test_broken_json_bodies(server: Server, trail: dict[str, Any]) -> None:
    """Bodies that are no JSON object (LookupEvents, whose members are all optional, may answer some)."""
    bodies = [b"", b"{", b"[]", b"null", b"5", b'"x"', b"\xff\xfe", b'{"Name": "\\ud800"}', b"{" * 10000 + b"}" * 10000,
              b'{"Name": "abc", "Name": "abd"}', json.dumps({"Name": "x" * 1_000_000}).encode()]
    problems = [(operation, body[:40], found) for operation in ("CreateTrail", "GetTrail", "PutEventSelectors",
                                                                 "LookupEvents", "AddTags")
                for body in bodies
                if (found := _rawproblem(server, operation, body, ok_allowed=operation == "LookupEvents")) is not None]
    assert not problems, "\n".join(f"{o} {b!r}: {f}" for o, b, f in problems)
    _unchanged(server, trail)


# ---- property-based: arbitrary model-valid values never get a 5xx -------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300)
_NAMES = st.one_of(_TEXT, st.sampled_from(HOSTILE_NAMES),
                   st.builds(lambda p, r, a, n: f"arn:{p}:cloudtrail:{r}:{a}:trail/{n}",
                             st.sampled_from(["aws", "aws-cn", "", "x"]), st.sampled_from(["us-east-1", "x", ""]),
                             st.from_regex(r"\A[0-9]{12}\Z"), _TEXT))
_FIELD = st.fixed_dictionaries({"Field": st.one_of(st.sampled_from(["eventCategory", "resources.type",
                                                                     "resources.ARN", "readOnly", "eventName"]),
                                                    _TEXT)},
                               optional={op: st.lists(_TEXT, max_size=3) for op in
                                         ("Equals", "StartsWith", "NotEquals", "EndsWith")})
_ADVANCED = st.lists(st.fixed_dictionaries({"FieldSelectors": st.lists(_FIELD, max_size=4)},
                                           optional={"Name": _TEXT}), max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES, value=_TEXT, advanced=_ADVANCED, token=_TEXT)
def test_fuzzed_calls(server: Server, trail: dict[str, Any], name: str, value: str,
                      advanced: list[dict[str, Any]], token: str) -> None:
    ct = server.client("cloudtrail")
    never_5xx(lambda: ct.get_trail(Name=name), client_may_refuse=True)
    never_5xx(lambda: ct.get_trail_status(Name=name), client_may_refuse=True)
    never_5xx(lambda: ct.describe_trails(trailNameList=[name, value]), client_may_refuse=True)
    never_5xx(lambda: ct.list_tags(ResourceIdList=[name]), client_may_refuse=True)
    never_5xx(lambda: ct.add_tags(ResourceId=name, TagsList=[{"Key": value, "Value": token}]), client_may_refuse=True)
    never_5xx(lambda: ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced), client_may_refuse=True)
    never_5xx(lambda: ct.put_event_selectors(TrailName=trail["name"] + "-not", AdvancedEventSelectors=advanced), client_may_refuse=True)
    never_5xx(lambda: ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": value}],
                                        NextToken=token or None) if token else ct.lookup_events(MaxResults=1), client_may_refuse=True)
    never_5xx(lambda: ct.create_trail(Name=name, S3BucketName=value or "x", S3KeyPrefix=token or None)
               if token else None, client_may_refuse=True)


def test_huge_integers_do_not_stop_the_history(server: Server) -> None:
    """A value orjson cannot write (an integer beyond 64 bits) does not stop the recording of that or later calls.

    Before the fix such a request killed the history writer thread: nothing was
    recorded afterwards and every LookupEvents waited for it in vain.
    """
    marker = f"huge-{secrets.token_hex(4)}"
    assert raw_call(server, "LookupEvents", json.dumps({"MaxResults": 10**40}).encode()).status_code == 400
    assert raw_call(server, "GetTrailStatus", json.dumps({"Name": 10**40}).encode()).status_code == 400
    assert raw_call(server, "GetTrailStatus", json.dumps({"Name": marker}).encode()).status_code == 400
    ct = server.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetTrailStatus"}],
                              MaxResults=10)["Events"]
    names = [(json.loads(e["CloudTrailEvent"]).get("requestParameters") or {}).get("name") for e in events]
    assert names[:2] == [marker, names[1]] and len(names) >= 2, names  # both recorded, the later one first
