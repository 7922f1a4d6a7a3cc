"""LookupEvents through the front door: real boto3 clients against a real server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server
from tests.services.sts.core_helpers import (
    allow,
    client_from,
    role_trusting,
    trust,
    unique,
    user_keys,
)

EVERYTHING = allow("*")


@pytest.fixture(scope="module")
def ct_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own (its history is not shared with other modules' calls)."""
    running = start_server(tmp_path_factory.mktemp("ct-lookup"))
    yield running
    running.stop()


@pytest.fixture
def tenant(ct_server: Server) -> dict[str, str]:
    """A fresh account's root keys: a history of its own."""
    _, keys = ct_server.new_account("ct")
    return keys


def events(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of a lookup, followed through NextToken."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.lookup_events(**params)
        found.extend(page["Events"])
        if "NextToken" not in page:
            return found
        params["NextToken"] = page["NextToken"]


def by_key(client: Any, key: str, value: str) -> list[dict[str, Any]]:
    return events(client, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_calls_by_user_role_session_and_root_show_up(ct_server: Server, tenant: dict[str, str]) -> None:
    root_iam = ct_server.client("iam", **tenant)
    account = ct_server.client("sts", **tenant).get_caller_identity()["Account"]
    user, keys = user_keys(ct_server, EVERYTHING, root_keys=(tenant["aws_access_key_id"],
                                                            tenant["aws_secret_access_key"]))
    ct_server.client("iam", **keys).get_user()
    role = role_trusting(ct_server, trust({"AWS": f"arn:aws:iam::{account}:root"}), EVERYTHING,
                         root_keys=(tenant["aws_access_key_id"], tenant["aws_secret_access_key"]))
    session = ct_server.client("sts", **keys).assume_role(RoleArn=role["Arn"], RoleSessionName="night-shift")
    role_sts = client_from(ct_server, "sts", session["Credentials"])
    role_sts.get_caller_identity()
    root_iam.list_users()
    ct = ct_server.client("cloudtrail", **tenant)

    user_events = by_key(ct, "AccessKeyId", keys["aws_access_key_id"])
    assert {e["EventName"] for e in user_events} >= {"GetUser", "AssumeRole"}
    assert {e["Username"] for e in user_events} == {user}
    get_user = next(e for e in user_events if e["EventName"] == "GetUser")
    assert get_user["EventSource"] == "iam.amazonaws.com" and get_user["ReadOnly"] == "true"
    assert json.loads(get_user["CloudTrailEvent"])["eventName"] == "GetUser"

    session_key = session["Credentials"]["AccessKeyId"]
    role_events = by_key(ct, "AccessKeyId", session_key)
    assert [e["EventName"] for e in role_events] == ["GetCallerIdentity"]
    assert role_events[0]["Username"] == "night-shift"
    assert role_events[0]["AccessKeyId"] == session_key

    root_events = by_key(ct, "AccessKeyId", tenant["aws_access_key_id"])
    assert {"ListUsers", "CreateUser", "CreateRole"} <= {e["EventName"] for e in root_events}
    assert by_key(ct, "Username", user)  # the user name is an attribute of its own


def test_each_attribute_filters(ct_server: Server, tenant: dict[str, str]) -> None:
    iam = ct_server.client("iam", **tenant)
    name = unique("filter")
    iam.create_user(UserName=name)
    iam.get_user(UserName=name)
    ct_server.client("sts", **tenant).get_caller_identity()
    ct = ct_server.client("cloudtrail", **tenant)

    assert [e["EventName"] for e in by_key(ct, "EventName", "CreateUser")] == ["CreateUser"]
    assert {e["EventSource"] for e in by_key(ct, "EventSource", "sts.amazonaws.com")} == {"sts.amazonaws.com"}
    assert {e["ReadOnly"] for e in by_key(ct, "ReadOnly", "true")} == {"true"}
    writes = by_key(ct, "ReadOnly", "false")
    assert writes and {e["ReadOnly"] for e in writes} == {"false"}
    assert "CreateUser" in {e["EventName"] for e in writes}
    one = by_key(ct, "EventName", "GetUser")[0]
    assert [e["EventId"] for e in by_key(ct, "EventId", one["EventId"])] == [one["EventId"]]
    assert by_key(ct, "EventId", "00000000-0000-4000-8000-000000000000") == []
    assert by_key(ct, "EventName", "NoSuchCall") == []
    # Resources depend on the record builder; the lookups themselves must answer.
    assert isinstance(by_key(ct, "ResourceType", "AWS::IAM::User"), list)
    assert isinstance(by_key(ct, "ResourceName", name), list)


def test_accounts_and_regions_are_separate(ct_server: Server, tenant: dict[str, str]) -> None:
    ct_server.client("sts", region_name="eu-west-1", **tenant).get_caller_identity()
    ct_server.client("iam", **tenant).list_roles()
    home = ct_server.client("cloudtrail", **tenant)
    assert by_key(home, "EventSource", "sts.amazonaws.com") == []  # made in eu-west-1
    west = ct_server.client("cloudtrail", region_name="eu-west-1", **tenant)
    assert [e["EventName"] for e in by_key(west, "EventSource", "sts.amazonaws.com")] == ["GetCallerIdentity"]
    _, other = ct_server.new_account("ct-other")
    theirs = ct_server.client("cloudtrail", **other)
    assert by_key(theirs, "EventName", "ListRoles") == []


def test_paging_newest_first_without_gaps_or_repeats(ct_server: Server, tenant: dict[str, str]) -> None:
    sts = ct_server.client("sts", **tenant)
    for _ in range(7):
        sts.get_caller_identity()
    ct = ct_server.client("cloudtrail", **tenant)
    # Lookups are recorded too: page over an attribute that they do not match, so the set stands still.
    only = [{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]
    everything = events(ct, LookupAttributes=only)
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"MaxResults": 3, "LookupAttributes": only}
    while True:
        page = ct.lookup_events(**params)
        pages.append(page["Events"])
        assert len(page["Events"]) <= 3
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]
    paged = [e["EventId"] for page in pages for e in page]
    assert paged == [e["EventId"] for e in everything]
    assert len(paged) == len(set(paged))
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert len(paged) == 7
    assert "NextToken" not in ct.lookup_events(LookupAttributes=only)  # under 50: one page, no token


def test_time_range(ct_server: Server, tenant: dict[str, str]) -> None:
    sts = ct_server.client("sts", **tenant)
    sts.get_caller_identity()
    ct = ct_server.client("cloudtrail", **tenant)
    made = by_key(ct, "EventName", "GetCallerIdentity")[0]["EventTime"]
    second = dt.timedelta(seconds=1)
    assert events(ct, StartTime=made - second, EndTime=made + second)
    assert events(ct, StartTime=made + 5 * second) == []
    assert events(ct, EndTime=made - 3600 * second) == []
    assert events(ct, StartTime=made - 100 * 86400 * second)  # further back than 90 days: clamped, not refused
    with pytest.raises(ClientError) as excinfo:
        ct.lookup_events(StartTime=made, EndTime=made - second)
    assert error_code(excinfo) == "InvalidTimeRangeException"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "A"},
                               {"AttributeKey": "Username", "AttributeValue": "B"}]},
         "InvalidLookupAttributesException"),
        ({"EventCategory": "insight", "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "x"}]},
         "InvalidLookupAttributesException"),
        ({"NextToken": "garbage"}, "InvalidNextTokenException"),
        ({"NextToken": "WzEsMSwxLCJ4Il0="}, "InvalidNextTokenException"),
        ({"MaxResults": 51}, {"InvalidMaxResultsException", "ValidationException"}),
    ],
)
def test_errors(ct_server: Server, params: dict[str, Any], code: str | set[str]) -> None:
    with pytest.raises(ClientError) as excinfo:
        ct_server.client("cloudtrail").lookup_events(**params)
    assert error_code(excinfo) in ({code} if isinstance(code, str) else code)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_next_token_is_bound_to_its_query(ct_server: Server, tenant: dict[str, str]) -> None:
    sts = ct_server.client("sts", **tenant)
    for _ in range(3):
        sts.get_caller_identity()
    ct = ct_server.client("cloudtrail", **tenant)
    token = ct.lookup_events(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as excinfo:
        ct.lookup_events(MaxResults=1, NextToken=token,
                         LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}])
    assert error_code(excinfo) == "InvalidNextTokenException"
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    with pytest.raises(ClientError) as excinfo:
        ct.lookup_events(MaxResults=1, NextToken=flipped)
    assert error_code(excinfo) == "InvalidNextTokenException"
    _, other = ct_server.new_account("ct-thief")
    with pytest.raises(ClientError) as excinfo:
        ct_server.client("cloudtrail", **other).lookup_events(MaxResults=1, NextToken=token)
    assert error_code(excinfo) == "InvalidNextTokenException"


HOSTILE_VALUES = ["' OR 1=1 --", "%", "_", "\\", "名前", "a" * 2000, "\u0000x", "true ", "TRUE", "null"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_attribute_values_never_fail_the_server(ct_server: Server, value: str) -> None:
    ct = ct_server.client("cloudtrail")
    for key in ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
                "AccessKeyId"):
        try:
            found = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"]
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (key, exc.response)
            continue
        if key == "ReadOnly":
            assert {e["ReadOnly"] for e in found} <= {"true"}
        else:
            assert found == [], (key, value)


@pytest.mark.parametrize("token", ["", "====", "!!!", "A" * 5000, "WzEsIDFlOTk5LCAxLCAieCJd", "bnVsbA==",
                                   "W10=", "eyJhIjoxfQ==", "\u00e9"])
def test_hostile_tokens_are_refused_cleanly(ct_server: Server, token: str) -> None:
    try:
        ct_server.client("cloudtrail").lookup_events(NextToken=token)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400, exc.response


def test_federated_user_calls_name_their_issuing_user(ct_server: Server, tenant: dict[str, str]) -> None:
    user, keys = user_keys(ct_server, EVERYTHING, root_keys=(tenant["aws_access_key_id"],
                                                            tenant["aws_secret_access_key"]))
    account = ct_server.client("sts", **keys).get_caller_identity()["Account"]
    user_id = ct_server.client("iam", **tenant).get_user(UserName=user)["User"]["UserId"]
    token = ct_server.client("sts", **keys).get_federation_token(Name="bob", Policy=json.dumps(EVERYTHING))
    client_from(ct_server, "sts", token["Credentials"]).get_caller_identity()
    ct = ct_server.client("cloudtrail", **tenant)

    found = by_key(ct, "AccessKeyId", token["Credentials"]["AccessKeyId"])
    assert [(e["EventName"], e["Username"]) for e in found] == [("GetCallerIdentity", "bob")]
    identity = json.loads(found[0]["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "FederatedUser" and identity["principalId"] == f"{account}:bob"
    assert identity["arn"] == f"arn:aws:sts::{account}:federated-user/bob"
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "IAMUser", "principalId": user_id, "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account, "userName": user}
    assert [e["EventName"] for e in by_key(ct, "Username", "bob")] == ["GetCallerIdentity"]
