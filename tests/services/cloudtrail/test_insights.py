"""CloudTrail Insights end to end: learn a baseline, burst, Start/End records in LookupEvents and S3.

The baseline window is shortened through the environment (30 minutes, of
which 10 must have been counted) and the clock moves minute by minute; each
minute's calls are made a couple of seconds after the minute starts.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import all_records, make_bucket

ENV = {"RAMPART_INSIGHTS_BASELINE_MINUTES": "30", "RAMPART_INSIGHTS_MIN_BASELINE_MINUTES": "10",
       "RAMPART_INSIGHTS_LAG_SECONDS": "0", "RAMPART_INSIGHTS_EVERY_SECONDS": "30"}
BASELINE_MINUTES = 12


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its clock moves."""
    running = start_server(Path(tmp_path_factory.mktemp("insights")), extra_env=ENV)
    yield running
    running.stop()


def next_minute(srv: Server) -> None:
    """Move the clock to 2 s past the next minute and run the due jobs (the minute before gets analyzed).

    The job runs every 30 s here, so it is always due after a step, whenever the background runner last ran it.
    """
    now = dt.datetime.fromisoformat(srv.admin("GET", "clock").json()["now"])
    seconds = 62 - now.second - now.microsecond / 1e6
    assert srv.admin("POST", "clock/advance", json={"seconds": seconds}).status_code == 200
    answer = srv.admin("POST", "jobs/run")
    assert answer.status_code == 200, answer.text


def insight_records(ct: Any) -> list[dict[str, Any]]:
    """The account's Insights events as LookupEvents(EventCategory=insight) gives them, oldest first."""
    events = ct.lookup_events(EventCategory="insight", MaxResults=50)["Events"]
    return [json.loads(event["CloudTrailEvent"]) for event in reversed(events)]


def _details(record: dict[str, Any]) -> tuple[str, str, str]:
    found = record["insightDetails"]
    return found["eventName"], found["insightType"], found["state"]


def _denied_user(srv: Server, iam: Any) -> Any:
    """An IAM client for a user without any policy: every IAM call it makes is AccessDenied."""
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    return srv.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def _trail(ct: Any, bucket: str) -> str:
    arn = ct.create_trail(Name=f"t-{secrets.token_hex(4)}", S3BucketName=bucket)["TrailARN"]
    ct.start_logging(Name=arn)
    return arn


def test_call_and_error_rate_insights_start_and_end(srv: Server) -> None:
    watched_id, watched = srv.new_account("insights")
    quiet_id, quiet = srv.new_account("quiet")  # a trail without insight selectors: same calls, no Insights
    clients = {name: {svc: srv.client(svc, **creds) for svc in ("iam", "s3", "cloudtrail")}
               for name, creds in (("watched", watched), ("quiet", quiet))}
    next_minute(srv)
    mallory = {name: _denied_user(srv, c["iam"]) for name, c in clients.items()}
    ids = {"watched": watched_id, "quiet": quiet_id}
    buckets = {name: make_bucket(c["s3"], ids[name]) for name, c in clients.items()}
    next_minute(srv)  # no trail with Insights yet: nothing of this is counted
    arns = {name: _trail(c["cloudtrail"], buckets[name]) for name, c in clients.items()}
    selectors = [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]
    clients["watched"]["cloudtrail"].put_insight_selectors(TrailName=arns["watched"], InsightSelectors=selectors)
    next_minute(srv)  # the Insights scope starts with this minute (its CreateTrail, StartLogging ... calls)

    def normal_minute(index: int) -> None:
        for c in clients.values():
            c["iam"].create_user(UserName=f"u{index}")
            c["iam"].list_users()
        next_minute(srv)

    for index in range(BASELINE_MINUTES):
        normal_minute(index)
    for name, c in clients.items():  # the unusual minute
        for burst in range(10):
            c["iam"].create_user(UserName=f"burst{burst}")
        for _ in range(20):
            c["iam"].list_users()  # read-only: never an ApiCallRateInsight
        for _ in range(6):
            with pytest.raises(ClientError) as denied:
                mallory[name].list_users()
            assert denied.value.response["Error"]["Code"] == "AccessDenied"
    next_minute(srv)
    started = insight_records(clients["watched"]["cloudtrail"])
    assert sorted(_details(r) for r in started) == [("CreateUser", "ApiCallRateInsight", "Start"),
                                                    ("ListUsers", "ApiErrorRateInsight", "Start")]
    normal_minute(100)
    normal_minute(101)

    records = insight_records(clients["watched"]["cloudtrail"])
    assert sorted(_details(r) for r in records) == [
        ("CreateUser", "ApiCallRateInsight", "End"), ("CreateUser", "ApiCallRateInsight", "Start"),
        ("ListUsers", "ApiErrorRateInsight", "End"), ("ListUsers", "ApiErrorRateInsight", "Start")]
    assert insight_records(clients["quiet"]["cloudtrail"]) == []
    by = {_details(r): r for r in records}
    _check_call_rate(by, watched_id)
    _check_error_rate(by, watched_id)
    _check_delivered(srv, clients["watched"]["s3"], buckets["watched"], records)


def _check_call_rate(by: dict[tuple[str, str, str], dict[str, Any]], account_id: str) -> None:
    start, end = by[("CreateUser", "ApiCallRateInsight", "Start")], by[("CreateUser", "ApiCallRateInsight", "End")]
    baseline_minutes = BASELINE_MINUTES + 1  # the scope's first minute had no CreateUser
    for record in (start, end):
        assert record["eventType"] == "AwsCloudTrailInsight" and record["eventCategory"] == "Insight"
        assert record["recipientAccountId"] == account_id and record["awsRegion"] == "us-east-1"
        assert record["insightDetails"]["eventSource"] == "iam.amazonaws.com"
        statistics = record["insightDetails"]["insightContext"]["statistics"]
        assert statistics["baseline"] == {"average": round(BASELINE_MINUTES / baseline_minutes, 10)}
        assert statistics["insight"] == {"average": 10.0}
        assert statistics["baselineDuration"] == baseline_minutes and statistics["insightDuration"] == 1
    assert start["sharedEventID"] == end["sharedEventID"] and start["eventID"] != end["eventID"]
    start_time = dt.datetime.fromisoformat(start["eventTime"])
    end_time = dt.datetime.fromisoformat(end["eventTime"])
    assert end_time - start_time == dt.timedelta(minutes=1) and start_time.second == 0
    attributions = {a["attribute"]: a for a in start["insightDetails"]["insightContext"]["attributions"]}
    assert attributions["userIdentityArn"]["insight"] == [{"value": f"arn:aws:iam::{account_id}:root", "average": 10.0}]
    assert attributions["errorCode"]["insight"] == [{"value": "null", "average": 10.0}]
    assert attributions["errorCode"]["baseline"] == [{"value": "null",
                                                     "average": round(BASELINE_MINUTES / baseline_minutes, 10)}]
    assert attributions["userAgent"]["insight"][0]["average"] == 10.0


def _check_error_rate(by: dict[tuple[str, str, str], dict[str, Any]], account_id: str) -> None:
    start, end = by[("ListUsers", "ApiErrorRateInsight", "Start")], by[("ListUsers", "ApiErrorRateInsight", "End")]
    assert start["sharedEventID"] == end["sharedEventID"]
    statistics = start["insightDetails"]["insightContext"]["statistics"]
    assert statistics["baseline"] == {"average": 0.0} and statistics["insight"] == {"average": 6.0}
    attributions = {a["attribute"]: a for a in start["insightDetails"]["insightContext"]["attributions"]}
    assert attributions["errorCode"]["insight"] == [{"value": "AccessDenied", "average": 6.0}]
    assert attributions["errorCode"]["baseline"] == []
    assert attributions["userIdentityArn"]["insight"] == [
        {"value": f"arn:aws:iam::{account_id}:user/mallory", "average": 6.0}]


def _check_delivered(srv: Server, s3: Any, bucket: str, records: list[dict[str, Any]]) -> None:
    """The trail with Insights gets them in CloudTrail-Insight files."""
    srv.admin("POST", "clock/advance", json={"seconds": 301})
    assert srv.admin("POST", "jobs/run").status_code == 200
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any("/CloudTrail-Insight/" in key for key in keys), keys
    delivered = [r for r in all_records(s3, bucket) if r.get("eventType") == "AwsCloudTrailInsight"]
    assert sorted(r["eventID"] for r in delivered) == sorted(r["eventID"] for r in records)
